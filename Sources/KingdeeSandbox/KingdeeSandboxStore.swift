import FerryCore
import Foundation

/// What the sandbox holds: saved bills, sessions, counters. Thread-safe; tests and people can inspect it.
public final class KingdeeSandboxStore: @unchecked Sendable {
    /// A saved bill.
    public struct Bill: Sendable, Hashable {
        /// `FID`.
        public var id: Int
        /// `FBillNo`.
        public var number: String
        /// The form id it was saved as.
        public var formID: String
        /// The model as received (numbers keep their text).
        public var model: FerryCore.JSONValue
        /// How many save requests created this bill number; more than 1 would be a duplicate (the sandbox
        /// rejects duplicates, so this stays 1; the rejected attempts are in `duplicateRejections`).
        public var saveCount: Int
        /// FDocumentStatus: A (创建) after Save, B (审核中) after Submit, C (已审核) after Audit.
        public var documentStatus: String
        /// How many Submit calls moved this bill (A → B); more than 1 never happens (Submit needs A).
        public var submitCount = 0
        /// How many Audit calls moved this bill (B → C).
        public var auditCount = 0
    }

    private let lock = Mutex()
    private var billsByID: [Int: Bill] = [:]
    /// The ids of the bills with a number (more than one only with `numbersPerOrganization`).
    private var idsByNumber: [String: [Int]] = [:]
    private let numbersPerOrganization: Bool
    private var nextID: Int
    private var rejectedDuplicates: [String: Int] = [:]
    private var counts: [String: Int] = [:]
    private var injected: [String: Int] = [:]
    private var sessions: [String: ContinuousClock.Instant] = [:]
    private var master: KingdeeSandboxMasterData
    private var faultSettings: KingdeeSandboxFaults
    private var callCounter = 0
    private var saveCounter = 0
    private var allSessionIDs: [String] = []
    private var signatures: [String] = []

    init(configuration: KingdeeSandboxConfiguration) {
        nextID = configuration.firstBillID
        numbersPerOrganization = configuration.numbersPerOrganization
        master = configuration.masterData
        faultSettings = configuration.faults
    }

    // MARK: - Inspection

    /// Every saved bill, in save order.
    public var bills: [Bill] { lock.withLock { billsByID.values.sorted { $0.id < $1.id } } }

    /// The first bill saved with number `number`, if any.
    public func bill(_ number: String) -> Bill? { lock.withLock { idsByNumber[number]?.first.flatMap { billsByID[$0] } } }

    /// Every bill saved with number `number` (more than one only when numbers are kept per organisation).
    public func bills(numbered number: String) -> [Bill] {
        lock.withLock { (idsByNumber[number] ?? []).compactMap { billsByID[$0] } }
    }

    /// The bill with `FID` `id`, if saved.
    public func bill(id: Int) -> Bill? { lock.withLock { billsByID[id] } }

    /// Save attempts rejected because the bill number existed, by bill number.
    public var duplicateRejections: [String: Int] { lock.withLock { rejectedDuplicates } }

    /// Requests received, by operation name (`BatchSave`, `ExecuteBillQuery`, `ValidateUser`, …).
    public var requestCounts: [String: Int] { lock.withLock { counts } }

    /// Every session id the sandbox ever issued (for "no session id on disk" checks).
    public var issuedSessionIDs: [String] { lock.withLock { allSessionIDs } }

    /// Every `X-Api-Signature` and `X-Kd-Signature` value received, valid or not, in arrival order (for
    /// "no signature on disk" checks).
    public var receivedSignatures: [String] { lock.withLock { signatures } }

    /// The current master data.
    public var masterData: KingdeeSandboxMasterData { lock.withLock { master } }

    /// The current faults.
    public var faults: KingdeeSandboxFaults { lock.withLock { faultSettings } }

    /// Changes the master data.
    public func updateMasterData(_ change: (inout KingdeeSandboxMasterData) -> Void) {
        lock.withLock { change(&master) }
    }

    /// Changes the faults.
    public func updateFaults(_ change: (inout KingdeeSandboxFaults) -> Void) {
        lock.withLock { change(&faultSettings) }
    }

    /// Ends every session (as a server restart or a session clean-up would).
    public func expireAllSessions() { lock.withLock { sessions.removeAll() } }

    /// Whether the integration user's credentials were revoked (`KingdeeSandboxFaults.revokeCredentialsAtSave`):
    /// every login, signature and session is refused since.
    public var credentialsRevoked: Bool { lock.withLock { revoked } }
    private var revoked = false

    /// Revokes the integration user's credentials and ends every session.
    func revokeCredentials() {
        lock.withLock {
            revoked = true
            sessions.removeAll()
        }
    }

    // MARK: - Server side

    func count(_ operation: String) { lock.withLock { counts[operation, default: 0] += 1 } }

    func received(signature: String) { lock.withLock { signatures.append(signature) } }

    /// Faults injected so far, by name (`http500`, `lost_response`, `session_loss`, `call_limit`).
    public var faultsInjected: [String: Int] { lock.withLock { injected } }

    func injected(_ fault: String) { lock.withLock { injected[fault, default: 0] += 1 } }

    /// The number of this save call (Save or BatchSave, 1-based).
    func nextSaveCall() -> Int {
        lock.withLock {
            saveCounter += 1
            return saveCounter
        }
    }

    /// The number of this Submit or Audit call (1-based, both counted together).
    func nextStepCall() -> Int {
        lock.withLock {
            stepCounter += 1
            return stepCounter
        }
    }
    private var stepCounter = 0

    /// Whether this call is the one `KingdeeSandboxFaults.holdFirstStep` holds (the first of its kind).
    func takeStepHold(audit: Bool) -> KingdeeSandboxFaults.StepHold? {
        lock.withLock {
            guard let hold = faultSettings.holdFirstStep, hold.audit == audit, !stepHoldTaken else { return nil }
            stepHoldTaken = true
            return hold
        }
    }
    private var stepHoldTaken = false
    private var heldSteps = 0
    private var stepsReleased = false

    /// Submit or Audit calls held so far (`KingdeeSandboxFaults.holdFirstStep`), counted once the call is
    /// held (before or after its work, as the fault says).
    public var heldStepCalls: Int { lock.withLock { heldSteps } }

    /// Lets held step calls go: each closes its connection without an answer.
    public func releaseHeldSteps() { lock.withLock { stepsReleased = true } }

    /// Holds the calling step until `releaseHeldSteps`.
    func holdStep() async {
        lock.withLock { heldSteps += 1 }
        while !lock.withLock({ stepsReleased }) { try? await Task.sleep(for: .milliseconds(5)) }
    }

    /// The number of this DynamicFormService call (1-based).
    func nextCall() -> Int {
        lock.withLock {
            callCounter += 1
            return callCounter
        }
    }

    func newSession(lifetime: Duration) -> String {
        let id = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        lock.withLock {
            sessions[id] = ContinuousClock.now + lifetime
            allSessionIDs.append(id)
        }
        return id
    }

    /// A session id with no session behind it, as Kingdee sends in `Set-Cookie` with a MsgCode 1 answer
    /// (an "empty shell": a call presenting it is authenticated again, as one without a session).
    func shellSession() -> String {
        let id = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        lock.withLock { allSessionIDs.append(id) }
        return id
    }

    /// Whether `id` is a live session; touching it extends it.
    func touchSession(_ id: String, lifetime: Duration) -> Bool {
        lock.withLock {
            guard let expiry = sessions[id] else { return false }
            if expiry < ContinuousClock.now {
                sessions[id] = nil
                return false
            }
            sessions[id] = ContinuousClock.now + lifetime
            return true
        }
    }

    /// Saves a validated model unless its number exists (in its organisation, `FStockOrgId`, when numbers
    /// are kept per organisation); returns the new id and the number it was saved under, or `nil` for a
    /// duplicate. With `renumber`, the bill gets a number of its own (`QTRK` and its id), as a numbering rule
    /// (编码规则) that does not allow manual numbers does.
    func commit(number: String, formID: String, model: FerryCore.JSONValue, renumber: Bool = false) -> (id: Int, number: String)? {
        lock.withLock {
            let organization = Self.organization(of: model)
            let taken = (idsByNumber[number] ?? []).contains { id in
                !numbersPerOrganization || billsByID[id].map { Self.organization(of: $0.model) == organization } ?? false
            }
            if taken {
                rejectedDuplicates[number, default: 0] += 1
                return nil
            }
            let id = nextID
            nextID += 1
            let saved = renumber ? "QTRK\(id)" : number
            billsByID[id] = Bill(id: id, number: saved, formID: formID, model: model, saveCount: 1, documentStatus: "A")
            idsByNumber[saved, default: []].append(id)
            return (id, saved)
        }
    }

    /// `FStockOrgId.FNumber` of a saved model, or empty.
    static func organization(of model: FerryCore.JSONValue) -> String {
        SandboxHandler.field("FStockOrgId.FNumber", of: model).scalarText ?? ""
    }

    /// The ids of the bills a Submit or Audit names by number: every bill with that number (Kingdee's
    /// `Numbers` carry no organisation; a number two organisations use names both bills).
    func ids(numbered number: String) -> [Int] { lock.withLock { idsByNumber[number] ?? [] } }

    /// A workflow step on the bill `id`: Submit (A, Z or D → B) or Audit (B → C). Returns the bill when done,
    /// or the message Kingdee would give (no such bill, a wrong state, or what `refuse` says about the bill,
    /// checked only when the state is right). `name` is how the call named the bill (its number or its id).
    func step(_ submit: Bool, id: Int, name: String, refuse: (Bill) -> String?) -> Result<Bill, StepRefusal> {
        lock.withLock {
            guard var bill = billsByID[id] else {
                return .failure(StepRefusal(msgCode: 10, message: "单据编号为“\(name)”的其他入库单不存在或已被删除"))
            }
            let prefix = "单据编号为“\(bill.number)”的其他入库单"
            if bill.documentStatus == "C" {
                return .failure(StepRefusal(msgCode: 11, message: prefix + "单据已审核，不允许\(submit ? "提交" : "审核")"))
            }
            if submit {
                guard ["A", "Z", "D"].contains(bill.documentStatus) else {
                    return .failure(StepRefusal(msgCode: 11, message: prefix + "状态不正确（审核中），不能提交"))
                }
            } else {
                guard bill.documentStatus == "B" else {
                    return .failure(StepRefusal(msgCode: 11, message: prefix + "状态不正确（未提交），不能审核"))
                }
            }
            if let message = refuse(bill) { return .failure(StepRefusal(msgCode: 11, message: message)) }
            if submit {
                bill.documentStatus = "B"
                bill.submitCount += 1
            } else {
                bill.documentStatus = "C"
                bill.auditCount += 1
            }
            billsByID[id] = bill
            return .success(bill)
        }
    }

    /// Why the sandbox refused a Submit or Audit of one bill.
    struct StepRefusal: Error {
        var msgCode: Int
        var message: String
    }

    /// Sets a bill's FDocumentStatus (as a person doing a step in Kingdee by hand would).
    /// (On every bill with that number.)
    public func setDocumentStatus(_ number: String, _ status: String) {
        lock.withLock { for id in idsByNumber[number] ?? [] { billsByID[id]?.documentStatus = status } }
    }

    /// Deletes the bills numbered `number` (as a person deleting them in Kingdee would).
    public func deleteBill(_ number: String) {
        lock.withLock {
            for id in idsByNumber.removeValue(forKey: number) ?? [] { billsByID[id] = nil }
        }
    }
}
