import FerryCore
import Foundation

/// The base data a sandbox knows. BatchSave checks every model against it (`IsVerifyBaseDataField`).
///
/// Change it while the server runs (`KingdeeSandboxServer.updateMasterData`) to show "a material Kingdee
/// does not know" and then "fixed in Kingdee, `ferry load --retry-failed`".
public struct KingdeeSandboxMasterData: Sendable, Hashable {
    /// 物料编码 (FMATERIALID.FNumber).
    public var materials: Set<String>
    /// 仓库编码 (FSTOCKID.FNumber).
    public var stocks: Set<String>
    /// 组织编码 (FStockOrgId, FOwnerIdHead, FOWNERID, FKEEPERID).
    public var organizations: Set<String>
    /// 单据类型 (FBillTypeID.FNUMBER).
    public var billTypes: Set<String>
    /// 库存状态 (FSTOCKSTATUSID.FNumber).
    public var stockStatuses: Set<String>

    /// Creates master data.
    public init(
        materials: Set<String>, stocks: Set<String>, organizations: Set<String>, billTypes: Set<String>,
        stockStatuses: Set<String>
    ) {
        self.materials = materials
        self.stocks = stocks
        self.organizations = organizations
        self.billTypes = billTypes
        self.stockStatuses = stockStatuses
    }

    /// A small standard set: materials `1.01.001`–`1.01.010`, `1.02.001`–`1.02.005`, stocks `CK001`–`CK005`,
    /// organisations `100` and `101`, bill type `QTRKD01_SYS`, stock statuses `KCZT01_SYS` and `KCZT02_SYS`.
    public static let standard = KingdeeSandboxMasterData(
        materials: Set((1...10).map { "1.01.\(pad3($0))" } + (1...5).map { "1.02.\(pad3($0))" }),
        stocks: Set((1...5).map { "CK\(pad3($0))" }),
        organizations: ["100", "101"],
        billTypes: ["QTRKD01_SYS"],
        stockStatuses: ["KCZT01_SYS", "KCZT02_SYS"])

    static func pad3(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 3 - s.count)) + s
    }
}

/// Faults the sandbox injects, deterministic by request count.
///
/// "Every N" counts in arrival order; 0 turns a fault off. Session loss and the call limit count every
/// authenticated DynamicFormService call (Save, BatchSave, ExecuteBillQuery, Submit, Audit); HTTP 500, the
/// slow save and the dropped connection count save calls (Save, BatchSave) only; the lost Submit/Audit
/// answer counts Submit and Audit calls.
public struct KingdeeSandboxFaults: Sendable, Hashable {
    /// How long after it was received every DynamicFormService call is processed (reading and parsing the
    /// request count towards it).
    public var latency: Duration
    /// Every N-th save call answers HTTP 500 without saving anything.
    public var http500Every: Int
    /// Every N-th save call saves its bills, then closes the connection without an answer (a lost answer).
    public var dropAfterCommitEvery: Int
    /// Every N-th call all sessions expire and the call answers MsgCode 1 (会话信息已丢失，请重新登录).
    public var sessionLossEvery: Int
    /// Every N-th call answers MsgCode 14 (调用限制) without doing anything.
    public var callLimitEvery: Int
    /// Save calls (1-based, in arrival order) answered with HTTP 500, in addition to `http500Every`.
    public var http500At: Set<Int> = []
    /// Save calls (1-based) whose connection is dropped after the bills were committed, in addition to
    /// `dropAfterCommitEvery`.
    public var dropAfterCommitAt: Set<Int> = []
    /// Save calls (1-based) that save their bills and then send their answer's head at once and its body
    /// one byte every `trickleInterval` (a server or proxy trickling a large answer).
    public var trickleAfterCommitAt: Set<Int> = []
    /// The wait between two bytes of a trickled answer.
    public var trickleInterval: Duration = .milliseconds(200)
    /// Save calls (1-based) that save their bills and then answer a refusal of the whole call that names
    /// no document (`执行超时，事务已中止`, MsgCode 0), as a server-side timeout after a commit can.
    public var timeoutAfterCommitAt: Set<Int> = []
    /// Give the error of a refusal of the whole call (call limit, timeout after a commit, an error naming no
    /// document) `DIndex: 0` instead of none, as Kingdee's answers do: `DIndex` is an integer there, 0 when
    /// no model is meant (`Errors:[{"FieldName":null,"Message":"会话信息已丢失，请重新登录","DIndex":0}]`).
    public var wholeCallErrorsAtDIndexZero = false
    /// Every N-th save call waits `slowSaveDelay` before saving (longer than the client's timeout: the
    /// client gives up, then the bills are saved anyway).
    public var slowSaveEvery: Int
    /// The wait of a slow save call.
    public var slowSaveDelay: Duration
    /// A BatchSave containing one of these bill numbers fails as a whole with an error that names no
    /// document (no DIndex), as Kingdee does on internal exceptions; nothing in it is saved.
    public var unattributedErrorBills: Set<String>
    /// Report every success with the DIndex of the next model in its sub-batch (wrapping), so DIndex and
    /// Number disagree: a client must not trust DIndex alone.
    public var shiftSuccessDIndex: Bool
    /// Added to every success's DIndex: a server answering DIndex values that no batch has (a client must
    /// neither trust nor crash on them).
    public var successDIndexOffset = 0
    /// With BatchCount, answer the sub-batches in reverse order (they run in parallel on a real server).
    public var reverseSubBatches: Bool
    /// Save every bill under a number of the sandbox's own (`QTRK` and its id) instead of the FBillNo sent,
    /// as a bill type whose numbering rule (编码规则) does not allow manual numbers does.
    public var renumberBills: Bool
    /// Refuse every ExecuteBillQuery with `您没有该功能的操作权限` (MsgCode 2), as Kingdee does for an
    /// integration user that may save bills but not query them.
    public var queryWithoutPermission = false
    /// The save call (1-based) at which the integration user's credentials stop working, as when its
    /// 第三方系统登录授权 is disabled or its password changed mid-load: from that call on every session
    /// ends, every signature and login is refused, and every call answers MsgCode 1. 0: never.
    public var revokeCredentialsAtSave = 0
    /// Answer every injected HTTP 500 and every refused login with an error page that repeats the request
    /// (headers and body: the session cookie, the signatures, the password or app secret), as a server
    /// showing debugging error pages does. A client must not pass such text on as it is.
    public var echoRequests = false
    /// Bills (by number) whose Audit meets Kingdee's negative-stock prompt (更新库存时出现可以忽略的异常数据，
    /// 是否继续？): refused unless the Audit's `InterationFlags` has `STK_InvCheckResult`.
    public var negativeStockBills: Set<String> = []
    /// Every N-th saved bill (by FID) meets the negative-stock prompt on Audit, as `negativeStockBills`.
    public var negativeStockEvery = 0
    /// Submit and Audit calls (1-based, counted together in arrival order) that do their work, then close
    /// the connection without an answer (a lost answer).
    public var dropStepAnswerAt: Set<Int> = []
    /// Every N-th Submit or Audit call does its work, then closes the connection without an answer.
    public var dropStepAnswerEvery = 0
    /// Submit and Audit calls (1-based, counted with `dropStepAnswerAt`) that close the connection without
    /// an answer at once and do their work `lateStepWorkDelay` later, as Kingdee goes on with a call whose
    /// answer was lost: asked right away, the bills are not past the step yet.
    public var lateStepWorkAt: Set<Int> = []
    /// How long after losing its answer a `lateStepWorkAt` call does its work.
    public var lateStepWorkDelay: Duration = .milliseconds(300)
    /// Hold the first Submit (or Audit) call, before or after doing its work, until the test calls
    /// `KingdeeSandboxStore.releaseHeldSteps()` (after killing the client waiting for it): a step in flight
    /// at a deterministic moment. The held call, once released, closes its connection without an answer
    /// (held before its work: without doing it, as a request that died with its client; or, with
    /// `answerOnRelease`, doing it and answering).
    public var holdFirstStep: StepHold?

    /// Which step call `holdFirstStep` holds, and when.
    public struct StepHold: Sendable, Hashable {
        /// Hold the first Audit call (else the first Submit call).
        public var audit: Bool
        /// Hold it once the step is done (Kingdee did it, the answer never came), else before doing it.
        public var afterWork: Bool

        /// Held before its work: once released, do the work and answer as usual (instead of closing the
        /// connection), e.g. after the test changed a bill meanwhile.
        public var answerOnRelease = false

        /// Creates a hold.
        public init(audit: Bool, afterWork: Bool, answerOnRelease: Bool = false) {
            self.audit = audit
            self.afterWork = afterWork
            self.answerOnRelease = answerOnRelease
        }
    }

    /// Creates faults; all off by default.
    public init(
        latency: Duration = .zero, http500Every: Int = 0, dropAfterCommitEvery: Int = 0, sessionLossEvery: Int = 0,
        callLimitEvery: Int = 0, slowSaveEvery: Int = 0, slowSaveDelay: Duration = .seconds(2),
        unattributedErrorBills: Set<String> = [], shiftSuccessDIndex: Bool = false, reverseSubBatches: Bool = true,
        renumberBills: Bool = false
    ) {
        self.renumberBills = renumberBills
        self.shiftSuccessDIndex = shiftSuccessDIndex
        self.slowSaveEvery = slowSaveEvery
        self.slowSaveDelay = slowSaveDelay
        self.latency = latency
        self.http500Every = http500Every
        self.dropAfterCommitEvery = dropAfterCommitEvery
        self.sessionLossEvery = sessionLossEvery
        self.callLimitEvery = callLimitEvery
        self.unattributedErrorBills = unattributedErrorBills
        self.reverseSubBatches = reverseSubBatches
    }

    /// No faults.
    public static let none = KingdeeSandboxFaults()
}

/// Who may log in to a sandbox, what it knows, and how it misbehaves.
public struct KingdeeSandboxConfiguration: Sendable {
    /// 账套 id.
    public var acctID: String
    /// The integration user.
    public var username: String
    /// Password for ValidateUser.
    public var password: String
    /// App id for LoginByAppSecret and signatures (`<clientId>_<32 Base64 characters>`).
    public var appID: String
    /// App secret.
    public var appSecret: String
    /// How long an unused session lives (Kingdee: 20 minutes).
    public var sessionLifetime: Duration
    /// Base data.
    public var masterData: KingdeeSandboxMasterData
    /// Faults.
    public var faults: KingdeeSandboxFaults
    /// The first `FID` given to a saved bill.
    public var firstBillID: Int
    /// Whether a bill number may be used once in each organisation (`FStockOrgId`) rather than once in
    /// the account set, as numbering rules kept per organisation allow; off by default.
    public var numbersPerOrganization = false

    /// Creates a configuration with sandbox credentials.
    public init(
        acctID: String = "ferry-sandbox", username: String = "ferry", password: String = "sandbox-password",
        appID: String = "100001_MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0", appSecret: String = "sandbox-app-secret",
        sessionLifetime: Duration = .seconds(20 * 60), masterData: KingdeeSandboxMasterData = .standard,
        faults: KingdeeSandboxFaults = .none, firstBillID: Int = 100001
    ) {
        self.acctID = acctID
        self.username = username
        self.password = password
        self.appID = appID
        self.appSecret = appSecret
        self.sessionLifetime = sessionLifetime
        self.masterData = masterData
        self.faults = faults
        self.firstBillID = firstBillID
    }
}
