/// Everything the Kingdee client and `ferry load` need, resolved from `ferry.yaml` by the command line.
///
/// A plain value: FerryKingdee never reads `ferry.yaml` or the environment itself. The secrets
/// (`appSecret`, `password`) are only held in memory and sent to Kingdee; they never appear in a file
/// or a message.
public struct KingdeeTargetConfig: Sendable {
    /// How Ferry authenticates (`target.auth`).
    public enum AuthMode: String, Sendable, CaseIterable {
        /// The SDK's signed headers on every request (`X-Api-Signature`, `X-Kd-Signature`); the default.
        case signature
        /// `AuthService.LoginByAppSecret`, then the session cookie.
        case appsecret
        /// `AuthService.ValidateUser` with a password, then the session cookie.
        case password
    }

    /// What Ferry does with the bills a BatchSave saved (`target.after_save`).
    public enum AfterSave: String, Sendable, CaseIterable, Comparable {
        /// Nothing: the bills stay created (FDocumentStatus A); the default.
        case none
        /// Submit them (A → B) with one `Submit` call per batch.
        case submit
        /// Submit, then audit them (B → C) with one `Audit` call per batch: only audited bills move stock.
        case audit

        /// Orders the steps: `none` < `submit` < `audit`.
        public static func < (lhs: Self, rhs: Self) -> Bool {
            (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
        }
    }

    /// The K/3 Cloud site, such as `https://erp.example.com/k3cloud/` (`target.url`).
    public var url: String
    /// The authentication mode.
    public var auth: AuthMode
    /// 账套 id (`target.acct_id`).
    public var acctID: String
    /// The integration user (`target.username`).
    public var username: String
    /// App id from 第三方系统登录授权 (signature and appsecret modes).
    public var appID: String
    /// App secret (signature and appsecret modes). Secret.
    public var appSecret: String
    /// Password (password mode only). Secret.
    public var password: String
    /// Language id; 2052 is Simplified Chinese.
    public var lcid: Int
    /// Organisation number for `X-Kd-Appdata` (`target.org_number`, default 0 as in the SDK).
    public var orgNumber: String
    /// Models per BatchSave request (`target.batch_size`).
    public var batchSize: Int
    /// `BatchCount` sent with BatchSave (`target.batch_count`), or `nil` to leave it out.
    public var batchCount: Int?
    /// Requests in flight at once (`target.concurrency`).
    public var concurrency: Int
    /// Per-request timeout in seconds (`target.timeout_seconds`).
    public var timeoutSeconds: Double
    /// Accept any TLS certificate (`target.insecure_tls`). Off unless written explicitly.
    public var insecureTLS: Bool
    /// How many times a retryable failure is retried within one run (`target.max_retries`).
    public var maxRetries: Int
    /// The first retry delay in seconds; it doubles per attempt up to 30 s (`target.retry_delay_seconds`).
    public var retryDelaySeconds: Double
    /// After a request got no answer (a timeout, a lost connection, a 5xx), how long to wait before asking
    /// Kingdee a second time about documents the first ExecuteBillQuery did not find, and only then sending
    /// them again (`target.in_doubt_recheck_seconds`, default 10; 0 asks once). Kingdee goes on with a
    /// request whose client gave up, and a bill it is still saving is not visible yet: sending it again
    /// meanwhile can save it twice. The same wait comes before asking again about bills a Submit or Audit
    /// whose answer was lost had not yet moved past the step, before the step is sent again.
    public var inDoubtRecheckSeconds: Double
    /// The Model field naming a bill's organisation (`target.existence_check_org_field`, default
    /// `FStockOrgId`, the stock organisation of STK_MISCELLANEOUS). When Ferry asks Kingdee whether an
    /// in-doubt document was saved, a bill with its FBillNo counts only if this field's `FNumber` matches
    /// the payload's: a number another organisation uses is not taken for this document's bill. Empty:
    /// FBillNo alone. A payload without the field is matched by FBillNo alone; a document whose payload is
    /// gone, by the organisation the journal recorded when it was sent (`LoadJournal.Entry.organization`).
    public var existenceCheckOrgField: String
    /// What is done with saved bills after BatchSave (`target.after_save`, default `none`).
    public var afterSave: AfterSave = .none
    /// `InterationFlags` sent with Audit (`target.audit_interaction_flags`, default empty: none sent), such
    /// as `STK_InvCheckResult` to accept Kingdee's negative-stock prompt.
    public var auditInteractionFlags: String = ""

    /// Creates a configuration; the defaults are those of `ferry init`.
    public init(
        url: String, auth: AuthMode = .signature, acctID: String, username: String, appID: String = "",
        appSecret: String = "", password: String = "", lcid: Int = 2052, orgNumber: String = "0",
        batchSize: Int = 50, batchCount: Int? = nil, concurrency: Int = 4, timeoutSeconds: Double = 30,
        insecureTLS: Bool = false, maxRetries: Int = 3, retryDelaySeconds: Double = 1, inDoubtRecheckSeconds: Double = 10,
        existenceCheckOrgField: String = "FStockOrgId"
    ) {
        self.inDoubtRecheckSeconds = inDoubtRecheckSeconds
        self.existenceCheckOrgField = existenceCheckOrgField
        self.url = url
        self.auth = auth
        self.acctID = acctID
        self.username = username
        self.appID = appID
        self.appSecret = appSecret
        self.password = password
        self.lcid = lcid
        self.orgNumber = orgNumber
        self.batchSize = batchSize
        self.batchCount = batchCount
        self.concurrency = concurrency
        self.timeoutSeconds = timeoutSeconds
        self.insecureTLS = insecureTLS
        self.maxRetries = maxRetries
        self.retryDelaySeconds = retryDelaySeconds
    }

    /// The identity used for signature headers.
    public var signatureIdentity: KingdeeSignature.Identity {
        KingdeeSignature.Identity(
            acctID: acctID, username: username, appID: appID, appSecret: appSecret, lcid: lcid, orgNumber: orgNumber)
    }

    /// The secret values in use, for "never print this" checks.
    public var secrets: [String] {
        [appSecret, password].filter { !$0.isEmpty }
    }
}
