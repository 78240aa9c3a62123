import FerryWDT

/// When a fault fires.
public enum WDTFaultRule: Sendable, Hashable {
    /// Never.
    case never
    /// On every Nth eligible request (N ≥ 1).
    case every(Int)
    /// With this probability per eligible request, drawn from the sandbox's seeded generator.
    case probability(Double)
    /// Only on the Nth eligible request (N ≥ 1): exactly one fault.
    case once(at: Int)
}

/// Faults the sandbox injects, to prove the client survives them.
public struct WDTSandboxFaults: Sendable, Hashable {
    /// Answers with the gateway's frequency-limit error (retryable).
    public var frequencyLimit: WDTFaultRule
    /// Answers HTTP 500 (retryable).
    public var serverError: WDTFaultRule
    /// Before serving a page, edits the earliest order of the request's window so that it moves to the
    /// window's end: forward paging would then skip one order.
    public var modifyBetweenPages: WDTFaultRule
    /// Restricts `modifyBetweenPages` to requests whose window overlaps this range (`nil`: every window), so
    /// that one window never settles while the others do.
    public var modifyBetweenPagesWithin: ClosedRange<WDTTime>?
    /// A page lists one of its orders twice (as a joined query can), `total_count` unchanged.
    public var duplicateRows: WDTFaultRule
    /// Once, when page 0 of a window after the first window served is asked for: edits the earliest order
    /// of that first window so that it moves into the asked window, as if someone edited it while the
    /// extract ran. The order has then been received in both windows.
    public var moveAcrossWindows: Bool
    /// Delay added to every response, in milliseconds.
    public var latencyMilliseconds: Int
    /// Offset of the sandbox's clock (its `Date` header and timestamp check) from the real one, in seconds.
    public var clockOffsetSeconds: Int
    /// Answers HTTP 429 with `Retry-After: banSeconds` (retryable).
    public var tooManyRequests: WDTFaultRule
    /// How long a ban lasts: the `Retry-After` of a 429, and the "This ban will last for N more seconds"
    /// of the Qimen gateway's call-limit answer. Requests that arrive before it ends are counted as
    /// `banViolations` (and answered normally).
    public var banSeconds: Int
    /// Every gateway error repeats the request's parameters (`sign` included) in its message, as a gateway
    /// with debugging on does. A client must not pass such text on as it is.
    public var echoRequests = false

    /// Creates a fault plan; by default nothing goes wrong.
    public init(
        frequencyLimit: WDTFaultRule = .never, serverError: WDTFaultRule = .never,
        modifyBetweenPages: WDTFaultRule = .never, duplicateRows: WDTFaultRule = .never, latencyMilliseconds: Int = 0,
        clockOffsetSeconds: Int = 0, tooManyRequests: WDTFaultRule = .never, banSeconds: Int = 1,
        moveAcrossWindows: Bool = false, modifyBetweenPagesWithin: ClosedRange<WDTTime>? = nil
    ) {
        self.frequencyLimit = frequencyLimit
        self.serverError = serverError
        self.modifyBetweenPages = modifyBetweenPages
        self.duplicateRows = duplicateRows
        self.latencyMilliseconds = latencyMilliseconds
        self.clockOffsetSeconds = clockOffsetSeconds
        self.tooManyRequests = tooManyRequests
        self.banSeconds = banSeconds
        self.moveAcrossWindows = moveAcrossWindows
        self.modifyBetweenPagesWithin = modifyBetweenPagesWithin
    }

    /// Every fault on at once: frequency limits every 7th request, HTTP 500 every 11th, an order edited
    /// before every 13th page, a repeated row on every 9th page, 5 ms latency.
    public static let all = WDTSandboxFaults(
        frequencyLimit: .every(7), serverError: .every(11), modifyBetweenPages: .every(13), duplicateRows: .every(9),
        latencyMilliseconds: 5)
}

/// The credentials the sandbox accepts.
public struct WDTSandboxCredentials: Sendable, Hashable {
    /// The seller account (`sid`).
    public var sid: String
    /// The app key (Qimen `app_key`, open API `appkey`).
    public var appKey: String
    /// The app secret both signatures use.
    public var appSecret: String
    /// WDT's app on Qimen (`target_app_key`).
    public var targetAppKey: String

    /// Creates credentials; the defaults are the demo ones.
    public init(
        sid: String = "ferry-demo", appKey: String = "ferry-demo-app", appSecret: String = "ferry-sandbox-secret-8c1e",
        targetAppKey: String = "wdt-demo-target"
    ) {
        self.sid = sid
        self.appKey = appKey
        self.appSecret = appSecret
        self.targetAppKey = targetAppKey
    }
}

/// Everything the WDT sandbox needs: credentials, the data set, WDT's rules, faults and a rate limit.
public struct WDTSandboxConfiguration: Sendable {
    /// Accepted credentials.
    public var credentials: WDTSandboxCredentials
    /// Seed of the data set.
    public var seed: UInt64
    /// Orders in the data set (all statuses).
    public var orderCount: Int
    /// Earliest `modified` time.
    public var periodStart: WDTTime
    /// Days the `modified` times spread over.
    public var periodDays: Int
    /// Faults to inject.
    public var faults: WDTSandboxFaults
    /// Requests per second the sandbox tolerates; faster requests count as `rateViolations`. `nil`: no limit.
    /// Measured with a token bucket refilled 10% faster than this, holding `rateBurst` tokens, and a request
    /// may arrive a quarter of an interval early, so network jitter is not counted; a client that is
    /// steadily faster is.
    public var rateLimit: Double?
    /// Tokens the rate bucket holds (default 2: one request delayed in the network may be followed closely
    /// by the next without counting as a violation).
    public var rateBurst: Int
    /// Whether requests over the rate are answered with the frequency-limit error (else only counted).
    public var rejectOverRate: Bool
    /// How the open-API sign counts value lengths (must match the client's `source.chinese_length`).
    public var lengthCounting: WDTLengthCounting
    /// Largest accepted difference between a request's timestamp and the sandbox clock, in seconds.
    public var maxTimestampSkewSeconds: Int

    /// Creates a configuration; defaults: demo credentials, 500 orders over 90 days from 2026-01-01, no faults.
    public init(
        credentials: WDTSandboxCredentials = WDTSandboxCredentials(),
        seed: UInt64 = 20_261_129,
        orderCount: Int = 500,
        periodStart: WDTTime = WDTTime("2026-01-01 00:00:00")!,
        periodDays: Int = 90,
        faults: WDTSandboxFaults = WDTSandboxFaults(),
        rateLimit: Double? = nil,
        rateBurst: Int = 2,
        rejectOverRate: Bool = false,
        lengthCounting: WDTLengthCounting = .characters,
        maxTimestampSkewSeconds: Int = 300
    ) {
        self.credentials = credentials
        self.seed = seed
        self.orderCount = orderCount
        self.periodStart = periodStart
        self.periodDays = periodDays
        self.faults = faults
        self.rateLimit = rateLimit
        self.rateBurst = rateBurst
        self.rejectOverRate = rejectOverRate
        self.lengthCounting = lengthCounting
        self.maxTimestampSkewSeconds = maxTimestampSkewSeconds
    }
}

/// What the sandbox has seen so far.
public struct WDTSandboxCounters: Sendable, Hashable {
    /// Every request received.
    public var requests = 0
    /// Pages served successfully.
    public var pagesServed = 0
    /// Requests that came faster than `rateLimit`.
    public var rateViolations = 0
    /// Frequency-limit errors injected.
    public var frequencyLimitFaults = 0
    /// HTTP 500 answers injected.
    public var serverErrorFaults = 0
    /// HTTP 429 answers injected.
    public var tooManyRequestsFaults = 0
    /// Requests that arrived while a ban the sandbox announced (429 `Retry-After`, or the gateway's
    /// "ban will last for N more seconds") was still running.
    public var banViolations = 0
    /// Orders edited between page requests.
    public var modifications = 0
    /// Orders moved from the first window served into a later one (`moveAcrossWindows`): their `stockin_no`.
    public var movedAcrossWindows: [String] = []
    /// Pages that listed an order twice.
    public var duplicatedRows = 0
    /// Requests refused for a bad signature.
    public var signatureFailures = 0
    /// Requests refused for any other reason (credentials, timestamp, parameters).
    public var rejections = 0

    /// All injected faults.
    public var faultsInjected: Int {
        frequencyLimitFaults + serverErrorFaults + tooManyRequestsFaults + modifications + duplicatedRows
            + movedAcrossWindows.count
    }
}
