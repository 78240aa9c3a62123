/// Which of WDT's two gateways Ferry talks to (`source.api` in `ferry.yaml`).
public enum WDTTransport: String, Sendable, Hashable, CaseIterable {
    /// Taobao Qimen custom API (`/router/qm`), signed with the Qimen app secret (uppercase MD5).
    case qimen = "wdt-qimen"
    /// WDT's own open API (`/openapi2/stockin_order_query.php`), signed with the classic WDT sign.
    case openAPI = "wdt-openapi"
}

/// How the classic WDT sign counts the length of a value (`source.chinese_length`).
///
/// The official PHP SDK counts characters (`iconv_strlen(…, 'UTF-8')`) and the official Java SDK counts
/// UTF-16 units (`String.length()`, the same as characters for Chinese text), so `.characters` is the
/// default. Some third-party clients of WDT's sibling gateways count UTF-8 bytes; `.bytes` is there for
/// a tenant that behaves that way. ASCII values give the same length either way.
public enum WDTLengthCounting: String, Sendable, Hashable, CaseIterable {
    /// Unicode characters (extended grapheme clusters are not used: one Unicode scalar is one character).
    case characters
    /// UTF-8 bytes.
    case bytes
}

/// Everything the WDT client and the extract need, resolved from `ferry.yaml` by the command line.
///
/// A plain value: FerryWDT never reads `ferry.yaml` or the environment itself.
public struct WDTSourceConfig: Sendable {
    /// The gateway (`source.api`).
    public var transport: WDTTransport
    /// The endpoint URL (`source.url`): the Qimen router or the open API PHP endpoint.
    public var url: String
    /// The WDT seller account (`source.sid`).
    public var sid: String
    /// The app key (`source.app_key`): the Qimen app key, or the WDT `appkey` for the open API.
    public var appKey: String
    /// The app secret (`source.app_secret`). Never written to a file, a log or an error.
    public var appSecret: String
    /// WDT's app on Qimen (`source.target_app_key`); Qimen only.
    public var targetAppKey: String
    /// The Qimen method (`source.method`, default `wdt.stockin.order.query`).
    public var method: String
    /// Requests per second across all requests (`source.requests_per_second`, default 1; fractions allowed).
    public var requestsPerSecond: Double
    /// Documents per page (`source.page_size`, default 100, at most 100).
    public var pageSize: Int
    /// Longest window in days (`source.window_days`, default 30, at most 30).
    public var windowDays: Int
    /// Look-back subtracted from the cursor when the range starts from `state.json` (`source.lookback_minutes`).
    public var lookbackMinutes: Int
    /// How far behind the current time the range must end (`source.lag_seconds`, default 60).
    public var lagSeconds: Int
    /// Timeout of one request in seconds (`source.timeout_seconds`, default 30).
    public var timeoutSeconds: Double
    /// Retries of one request after a retryable failure (`source.max_retries`, default 5).
    public var maxRetries: Int
    /// First backoff delay in seconds; doubled on each retry, with jitter (`source.retry_delay_seconds`, default 1).
    public var retryDelaySeconds: Double
    /// Where extraction starts when there is no cursor and no `--since` (`source.start`).
    public var start: WDTTime?
    /// A window reporting more documents than this is split in halves (`source.max_window_documents`).
    public var maxWindowDocuments: Int
    /// How the open API sign counts value lengths (`source.chinese_length`).
    public var lengthCounting: WDTLengthCounting
    /// Business parameters sent with every request, such as `order_type=6` (from the scheme's `<source>`).
    public var fixedParameters: [String: String]
    /// Passes over a window, in all, before an inconsistent one is marked incomplete (`source.max_window_passes`).
    public var maxWindowAttempts: Int

    /// Creates a configuration; every tunable has the documented default.
    public init(
        transport: WDTTransport = .qimen,
        url: String,
        sid: String,
        appKey: String,
        appSecret: String,
        targetAppKey: String = "",
        method: String = "wdt.stockin.order.query",
        requestsPerSecond: Double = 1,
        pageSize: Int = 100,
        windowDays: Int = 30,
        lookbackMinutes: Int = 10,
        lagSeconds: Int = 60,
        timeoutSeconds: Double = 30,
        maxRetries: Int = 5,
        retryDelaySeconds: Double = 1,
        start: WDTTime? = nil,
        maxWindowDocuments: Int = 5000,
        lengthCounting: WDTLengthCounting = .characters,
        fixedParameters: [String: String] = [:],
        maxWindowAttempts: Int = 6
    ) {
        self.transport = transport
        self.url = url
        self.sid = sid
        self.appKey = appKey
        self.appSecret = appSecret
        self.targetAppKey = targetAppKey
        self.method = method
        self.requestsPerSecond = requestsPerSecond
        self.pageSize = pageSize
        self.windowDays = windowDays
        self.lookbackMinutes = lookbackMinutes
        self.lagSeconds = lagSeconds
        self.timeoutSeconds = timeoutSeconds
        self.maxRetries = maxRetries
        self.retryDelaySeconds = retryDelaySeconds
        self.start = start
        self.maxWindowDocuments = maxWindowDocuments
        self.lengthCounting = lengthCounting
        self.fixedParameters = fixedParameters
        self.maxWindowAttempts = maxWindowAttempts
    }

    /// The parameter names that carry credentials or signatures and never reach a file or a log.
    public static let privateParameterNames: Set<String> = [
        "sign", "app_secret", "appsecret", "app_key", "appkey", "target_app_key", "sid", "timestamp",
    ]
}
