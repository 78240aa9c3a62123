import FerryCore
import Foundation

/// The load journal of a run: `runs/<id>/load/journal.jsonl`, one JSON object per line, appended and never
/// changed (`AppendOnlyFile`). A `sent` line is flushed to disk before its batch goes out, and so is a
/// `superseded` line (before the error file it keeps is removed); `settled` and `reconciled` lines are not
/// flushed on their own (the next flush, or the load's final one, takes them along): losing them in a
/// crash only makes a batch in doubt again.
///
/// ```
/// {"seq":1,"kind":"sent","batch":"B000001",...}  before a BatchSave is sent: batch id, form id, attempt,
///                                                documents (payload name, FBillNo, payload SHA-256, and
///                                                the organisation field and its FNumber when the payload
///                                                had one: org_field, org_number)
/// {"seq":2,"kind":"settled","batch":"B000001",...}  after every document of that request has its receipt,
///                                                error file, or has been handed to a retry / re-check;
///                                                for an answered save, `bills`: the bills it saved
///                                                ({"payload","kingdee_id","kingdee_number"})
/// {"seq":3,"kind":"reconciled",...}              after in-doubt batches were checked with ExecuteBillQuery;
///                                                `bills`: those found (and those the answer of a batch
///                                                settled here saved), each with its `batch` too
/// {"seq":4,"kind":"superseded","payload":...}    an error file removed because the document was loaded
///                                                later (its old content is kept here: the history of failures)
/// {"seq":5,"kind":"inherited","batch":"B000005","from_run":...,"from_batch":...,"documents":[...]}
///                                                documents of this run that another run's load sent in a
///                                                batch that was never settled (see `LoadRunner.inheritDoubts`)
/// {"seq":6,"kind":"step","batch":"S000006","step":"submit",...}
///                                                before a Submit or Audit of saved bills is sent (flushed like
///                                                `sent`; each document's FBillNo is the number Kingdee has the
///                                                bill under, and kingdee_id its Id when the call names it so); a
///                                                `settled` line for its batch follows the answer
/// ```
/// A `step` without a `settled` line means the process died while a Submit or Audit was out: its bills'
/// FDocumentStatus is asked with ExecuteBillQuery before any step is sent again (`LoadSession.advance`), and
/// by the next load whatever `target.after_save` is then (`LoadSession.askStatusOfEarlierSteps`), which
/// settles it (a bill without a readable receipt too: asked, named in the load's output, nothing recorded).
/// A `sent` (or `inherited`) without a `settled` or `reconciled` line for its batch means the process died
/// (or lost the answer) while the batch was in flight: its documents without receipts are *in doubt*.
/// A document a line's `bills` names was saved (`savedBills`, the latest save of each): without a receipt
/// (removed by hand, lost) it is looked up by that Kingdee Id before anything is sent
/// (`LoadSession.restoreMissingReceipts`), never sent as new while Kingdee has it. Lines of an older Ferry
/// have no `bills`: their documents are not known saved, and still load.
///
/// Receipts are renamed into place before their batch's settled line is appended. On a journalling file
/// system (ext4's default, XFS) the flush that makes a later line durable (`fdatasync` of a file that
/// grew) commits the metadata journal, those renames included, in order; the file-per-event journal this
/// replaced relied on the same ordering. (Without a journal, as on some VMs' ext4, neither gave more than
/// the final `syncfs`.)
public final class LoadJournal: @unchecked Sendable {
    /// One journalled document.
    public struct Entry: Sendable, Hashable {
        /// Payload name (file name without `.json`).
        public var name: String
        /// FBillNo.
        public var billNumber: String
        /// Payload SHA-256 when sent.
        public var sha256: String
        /// The payload's organisation when sent (`PayloadDocument.organization`), or nil: no organisation
        /// field was configured, the payload had none, or the line was written before Ferry recorded it.
        /// It lets a document whose payload is gone be checked by organisation too, not by FBillNo alone.
        public var organization: Organization?
        /// The bill's Kingdee Id (`FID`), in a `step` line when the call named the bill by it; nil otherwise
        /// (a `sent` line, a bill named by number, or a line of an older Ferry). It lets a bill whose receipt
        /// is gone be asked about by Id, as the call named it.
        public var billID: String? = nil
    }

    /// A bill the journal shows Ferry saved: a `settled` line's `bills` (the answer named it) or a
    /// `reconciled` line's (ExecuteBillQuery found it after a lost answer). The latest save of a payload.
    public struct SavedBill: Sendable, Hashable {
        /// Payload name.
        public var name: String
        /// The batch that saved it (its `sent` or `inherited` line), or "" when not known.
        public var batch: String
        /// The form id of that batch, or "" when not known.
        public var formID: String
        /// The FBillNo sent.
        public var billNumber: String
        /// The payload SHA-256 sent (what Kingdee holds).
        public var sha256: String
        /// Kingdee's Id of the bill (`FID`).
        public var billID: String
        /// The number Kingdee saved it under (another than `billNumber` when its numbering rule replaced it).
        public var kingdeeNumber: String
    }

    /// A bill's organisation as a load matched it: a Model field (`KingdeeTargetConfig.existenceCheckOrgField`)
    /// and its FNumber. An organisation's number, never a secret.
    public struct Organization: Sendable, Hashable {
        /// The Model field (`FStockOrgId`).
        public var field: String
        /// Its `FNumber` in the payload.
        public var number: String

        /// The organisation `number` of `field`.
        public init(field: String, number: String) {
            self.field = field
            self.number = number
        }

        /// The number when `field` is the one asked about now (any letter case), else nil: a number of
        /// another field says nothing about this one.
        public func number(ifField field: String) -> String? {
            !field.isEmpty && self.field.caseInsensitiveCompare(field) == .orderedSame ? number : nil
        }
    }

    /// One `sent` or `inherited` line as a reader sees it: what `ferry status --document` shows of a send.
    public struct Send: Sendable, Hashable {
        /// The batch id (`B000001`).
        public var batch: String
        /// `sent`, `inherited` (another run's unsettled batch taken over), or a step on saved bills
        /// (`submit`, `audit`).
        public var kind: String
        /// When it was written (ISO 8601, UTC), when recorded.
        public var at: String?
        /// The attempt (1 for a first send; more for a retry), when recorded.
        public var attempt: Int?
        /// Why it was sent (`new`, `retry`, …), when recorded.
        public var reason: String?
        /// For an inherited batch: the run and batch it came from.
        public var fromRun: String?
        public var fromBatch: String?
        /// How the batch ended, when a `settled` or `reconciled` line says so (nil: unsettled).
        public var settlement: Settlement?
    }

    /// How a batch ended.
    public struct Settlement: Sendable, Hashable {
        /// `settled` (the answer came), or `reconciled` (checked with ExecuteBillQuery).
        public var kind: String
        /// When, when recorded.
        public var at: String?
        /// What the line says: `saved 3, failed 1`, `refused: …`, or for a reconciled batch whether this
        /// document was `found`, `missing` (sent again) or `unknowable`.
        public var summary: String
    }

    /// An error file the load removed because the document was loaded later, or its failed Submit or Audit
    /// done later: one `superseded` line, the history of a document's failures. Only what the error file said
    /// about the failure; its messages were hidden of secrets when the file was written.
    public struct SupersededError: Sendable, Hashable {
        /// One error Kingdee (or Ferry's local check) gave.
        public struct Message: Sendable, Hashable {
            /// The field it named, when it did.
            public var field: String?
            /// The entry index Kingdee named (`DIndex`), when it did.
            public var dIndex: String?
            /// The message.
            public var text: String
        }

        /// When the error file was replaced (ISO 8601, UTC), when recorded.
        public var at: String?
        /// When the failure happened, as the error file said.
        public var failedAt: String?
        /// `data`, `retryable`, `duplicate`, `config`.
        public var errorClass: String
        /// The step of a saved bill that failed (`submit`, `audit`); nil for a refused save.
        public var step: String?
        /// `kingdee`, or `ferry` (a local check refused it before sending).
        public var source: String?
        /// The batch that failed, when recorded.
        public var batch: String?
        /// The attempts made until then, when recorded.
        public var attempts: Int?
        /// Its errors, in order.
        public var messages: [Message]

        /// The failure a `superseded` line keeps.
        init(line: JSONValue) {
            let error = line["error"]
            at = line["at"]?.stringValue
            failedAt = error?["failed_at"]?.stringValue
            errorClass = error?["class"]?.stringValue ?? "data"
            step = error?["step"]?.stringValue
            source = error?["source"]?.stringValue
            batch = error?["batch"]?.stringValue
            attempts = error?["attempts"]?.scalarText.flatMap { Int($0) }
            messages = (error?["errors"]?.arrayValue ?? []).map { e in
                Message(field: e["field"]?.stringValue, dIndex: e["DIndex"]?.scalarText, text: e["message"]?.stringValue ?? "")
            }
        }
    }

    /// The journal file.
    public let path: String
    private let lock = Mutex()
    private var nextSequence: Int
    /// The documents each batch holds (every `sent` line, read or written).
    private var batchEntries: [String: [Entry]] = [:]
    /// The payload SHA-256 of each document's last `sent` line.
    private var lastSent: [String: String] = [:]
    /// Payloads that were in a batch whose answer never came (reconciled with ExecuteBillQuery, or still
    /// unsettled): the documents Kingdee may hold from an earlier send.
    private var doubtedNames: Set<String> = []
    /// The bytes of the file that hold complete, readable lines (the rest is a torn last line).
    private let validLength: Int
    /// Opened on the first write, so that reading a journal never creates one.
    private var file: AppendOnlyFile?
    /// Batches sent by an earlier process that were never settled, with their form id and documents.
    public private(set) var unsettled: [(batch: String, formID: String, documents: [Entry])] = []
    /// A Submit or Audit call (`step` line) never settled, with its form id: its bills' status is unknown.
    public typealias UnsettledStep = (batch: String, step: String, formID: String, documents: [Entry])
    /// Submit and Audit calls never settled, in the order they were sent.
    public private(set) var unsettledSteps: [UnsettledStep] = []
    /// `<run>/<batch>` of every other run's unsettled batch already inherited (`recordInherited`).
    private var inherited: Set<String> = []
    /// The send line of each batch read back (not its documents: those are in `batchEntries`).
    private var sendLines: [String: Send] = [:]
    /// The `reconciled` lines read back, in order, with their members.
    private var reconciledLines: [(at: String?, batches: [String], outcome: [String: String])] = []
    /// The `superseded` lines read back or written, by payload name, in order.
    private var supersededLines: [String: [SupersededError]] = [:]
    /// The form id of each batch (`sent`, `inherited` and `step` lines).
    private var batchFormIDs: [String: String] = [:]
    /// The latest save of each payload the journal shows (`bills` of `settled` and `reconciled` lines).
    private var saved: [String: SavedBill] = [:]

    /// Opens (and reads) the journal at `path`; the file is created on the first write.
    ///
    /// A last line that is torn or unreadable (a crash while it was written) is ignored and cut off before
    /// the next write; any other unreadable line is an error.
    ///
    /// - Throws: a `Diagnostic` naming the line that cannot be read.
    public init(path: String) throws(Diagnostic) {
        self.path = path
        var maximum = 0
        var sent: [(String, String, [Entry])] = []
        var closed: Set<String> = []
        var steps: [(String, String, String, [Entry])] = []
        let bytes = FileSystem.exists(path) ? try FileSystem.read(path) : []
        let lines = AppendOnlyFile.lines(of: bytes)
        var valid = 0
        for (position, line) in lines.enumerated() {
            let value: JSONValue
            do { value = try JSONReader.parse(line.bytes) } catch {
                if position == lines.count - 1 { break }
                throw .error(
                    "the load journal has an unreadable entry (\(error.message)); it was written by Ferry and must "
                        + "not be edited: restore it from a backup, or move the run aside and load again into a new run "
                        + "after checking in Kingdee which bills exist",
                    file: path, line: line.number)
            }
            valid = line.bytes.endIndex + 1
            if let number = value["seq"]?.scalarText.flatMap({ Int($0) }) { maximum = max(maximum, number) }
            let kind = value["kind"]?.stringValue
            if kind == "inherited" {
                inherited.insert((value["from_run"]?.stringValue ?? "") + "/" + (value["from_batch"]?.stringValue ?? ""))
            }
            switch kind {
            case "sent", "inherited":
                let documents = Self.entries(of: value)
                let batch = value["batch"]?.stringValue ?? ""
                sendLines[batch] = Send(
                    batch: batch, kind: kind ?? "sent", at: value["at"]?.stringValue,
                    attempt: value["attempt"]?.scalarText.flatMap { Int($0) }, reason: value["reason"]?.stringValue,
                    fromRun: value["from_run"]?.stringValue, fromBatch: value["from_batch"]?.stringValue)
                sent.append((batch, value["formid"]?.stringValue ?? "", documents))
                batchFormIDs[batch] = value["formid"]?.stringValue ?? ""
                batchEntries[batch, default: []].append(contentsOf: documents)
                for d in documents { lastSent[d.name] = d.sha256 }
            case "step":
                let batch = value["batch"]?.stringValue ?? ""
                let step = value["step"]?.stringValue ?? ""
                let documents = Self.entries(of: value)
                sendLines[batch] = Send(
                    batch: batch, kind: step, at: value["at"]?.stringValue,
                    attempt: value["attempt"]?.scalarText.flatMap { Int($0) }, reason: value["reason"]?.stringValue)
                batchEntries[batch, default: []].append(contentsOf: documents)
                steps.append((batch, step, value["formid"]?.stringValue ?? "", documents))
            case "settled":
                if let batch = value["batch"]?.stringValue {
                    closed.insert(batch)
                    Self.noteSaved(
                        value["bills"], batch: batch, into: &saved, entries: batchEntries, formIDs: batchFormIDs, lastSent: lastSent)
                    sendLines[batch]?.settlement = Settlement(
                        kind: "settled", at: value["at"]?.stringValue, summary: Self.settledSummary(value))
                }
            case "reconciled":
                let batches = (value["batches"]?.arrayValue ?? []).compactMap(\.stringValue)
                closed.formUnion(batches)
                var outcome: [String: String] = [:]
                for verdict in ["found", "missing", "unknowable"] {
                    for number in (value[verdict]?.arrayValue ?? []).compactMap(\.scalarText) { outcome[number] = verdict }
                }
                reconciledLines.append((value["at"]?.stringValue, batches, outcome))
                Self.noteSaved(
                    value["bills"], batch: nil, into: &saved, entries: batchEntries, formIDs: batchFormIDs, lastSent: lastSent)
                let checked = ["found", "missing", "unknowable"].flatMap { value[$0]?.arrayValue ?? [] }.compactMap(\.scalarText)
                doubtedNames.formUnion(Self.names(in: batches, billNumbers: Set(checked), entries: batchEntries))
            case "superseded":
                if let name = value["payload"]?.stringValue {
                    supersededLines[name, default: []].append(SupersededError(line: value))
                }
            default:
                break
            }
        }
        validLength = valid
        nextSequence = maximum + 1
        unsettled = sent.filter { !closed.contains($0.0) }.map { (batch: $0.0, formID: $0.1, documents: $0.2) }
        unsettledSteps = steps.filter { !closed.contains($0.0) }.map { (batch: $0.0, step: $0.1, formID: $0.2, documents: $0.3) }
        for batch in unsettled { doubtedNames.formUnion(batch.documents.map(\.name)) }
    }

    /// Takes the `bills` of a `settled` line of `batch` (or, with nil, of a `reconciled` line: each names its
    /// batch) into `saved`. Absent from lines of an older Ferry: nothing is taken then.
    private static func noteSaved(
        _ bills: JSONValue?, batch: String?, into saved: inout [String: SavedBill], entries batchEntries: [String: [Entry]],
        formIDs batchFormIDs: [String: String], lastSent: [String: String]
    ) {
        for bill in bills?.arrayValue ?? [] {
            guard let name = bill["payload"]?.stringValue, let id = bill["kingdee_id"]?.scalarText, !id.isEmpty else { continue }
            let batch = batch ?? bill["batch"]?.stringValue ?? ""
            let entry = batchEntries[batch]?.last { $0.name == name }
            saved[name] = SavedBill(
                name: name, batch: batch, formID: batchFormIDs[batch] ?? "",
                billNumber: entry?.billNumber ?? bill["kingdee_number"]?.scalarText ?? "",
                sha256: entry?.sha256 ?? lastSent[name] ?? "", billID: id,
                kingdeeNumber: bill["kingdee_number"]?.scalarText ?? entry?.billNumber ?? "")
        }
    }

    /// The bills the journal shows Ferry saved, the latest save of each payload, by payload name.
    public var savedBills: [String: SavedBill] { lock.withLock { saved } }

    /// Every batch the journal read back that held the payload `name`, in the order they were sent, each
    /// with how it ended (for a reconciled batch, what the check found for this document).
    public func sends(of name: String) -> [Send] {
        lock.withLock {
            var result: [Send] = []
            for (batch, entries) in batchEntries.sorted(by: { $0.key < $1.key }) {
                guard let entry = entries.first(where: { $0.name == name }), var send = sendLines[batch] else { continue }
                if send.settlement == nil,
                    let line = reconciledLines.first(where: { $0.batches.contains(batch) })
                {
                    let verdict = line.outcome[entry.billNumber]
                    send.settlement = Settlement(
                        kind: "reconciled", at: line.at,
                        summary: "checked with ExecuteBillQuery: "
                            + (verdict.map { Self.verdicts[$0] ?? $0 } ?? "not asked about (it had a receipt or an error already)"))
                }
                result.append(send)
            }
            return result
        }
    }

    /// The earlier failures of the payload `name` whose error files a later success replaced (its
    /// `superseded` lines), oldest first.
    public func supersededErrors(of name: String) -> [SupersededError] { lock.withLock { supersededLines[name] ?? [] } }

    /// The `documents` of a `sent`, `inherited` or `step` line.
    private static func entries(of line: JSONValue) -> [Entry] {
        (line["documents"]?.arrayValue ?? []).map { d in
            Entry(
                name: d["payload"]?.stringValue ?? "", billNumber: d["FBillNo"]?.scalarText ?? "",
                sha256: d["payload_sha256"]?.stringValue ?? "",
                // Absent from lines of an older Ferry (and from step lines): matched on FBillNo alone then.
                organization: d["org_field"]?.stringValue.flatMap { field in
                    d["org_number"]?.scalarText.map { Organization(field: field, number: $0) }
                },
                billID: d["kingdee_id"]?.scalarText)
        }
    }

    private static let verdicts = [
        "found": "found in Kingdee (not sent again)", "missing": "not in Kingdee (sent again)",
        "unknowable": "cannot be told (Kingdee numbers these bills itself)",
    ]

    /// What a `settled` line says about its batch, in one line.
    private static func settledSummary(_ value: JSONValue) -> String {
        if let outcome = value["outcome"]?.stringValue {
            let detail = value["message"]?.stringValue ?? value["MsgCode"]?.scalarText.map { "MsgCode \($0)" }
            return outcome + (detail.map { ": \($0)" } ?? "")
        }
        let counts = ["saved", "submitted", "audited", "failed"].compactMap { key in value[key]?.scalarText.map { "\(key) \($0)" } }
        return counts.isEmpty ? "answered" : "batch " + counts.joined(separator: ", ")
    }

    /// The SHA-256 of the payload as the journal last saw it sent (by any process), or nil if it never was.
    public func lastSentSHA256(_ name: String) -> String? { lock.withLock { lastSent[name] } }

    /// Whether a document was sent in a batch whose answer never came: a batch that was checked with
    /// ExecuteBillQuery (`recordReconciled`), or one still unsettled (the process died). Kingdee may then
    /// hold it from that send, so a "bill number exists" answer is probably Ferry's own bill. A document
    /// whose every send was answered is not: a duplicate is then somebody else's bill.
    public func wasInDoubt(_ name: String) -> Bool { lock.withLock { doubtedNames.contains(name) } }

    /// Records, durably, that a batch is about to be sent; returns its new batch id.
    ///
    /// - Throws: a `Diagnostic` when the entry cannot be written (then nothing may be sent).
    public func recordSent(formID: String, attempt: Int, documents: [PayloadDocument], reason: String) throws(Diagnostic)
        -> String
    {
        let entries = documents.map { d in
            Entry(
                name: d.name, billNumber: d.billNumber, sha256: d.sha256,
                organization: d.organization.map { Organization(field: d.organizationField, number: $0) })
        }
        let (sequence, batch) = lock.withLock { () -> (Int, String) in
            let s = nextSequence
            nextSequence += 1
            let batch = "B" + Self.pad(s)
            batchEntries[batch] = entries
            batchFormIDs[batch] = formID
            for d in entries { lastSent[d.name] = d.sha256 }
            return (s, batch)
        }
        let entry: JSONValue = [
            "seq": .number(String(sequence)), "kind": "sent", "batch": .string(batch), "formid": .string(formID),
            "at": .string(Timestamp.now()), "attempt": .number(String(attempt)), "reason": .string(reason),
            "documents": Self.json(entries),
        ]
        try append(entry, durable: true)
        return batch
    }

    /// Records, durably, that a Submit or Audit (`step`) of `documents`' bills is about to be sent; returns
    /// its new batch id (`S000007`). A `settled` line (`recordSettled`) follows its answer.
    ///
    /// - Throws: a `Diagnostic` when the entry cannot be written (then nothing may be sent).
    public func recordStep(_ step: String, formID: String, attempt: Int, documents: [PayloadDocument], reason: String)
        throws(Diagnostic) -> String
    {
        let entries = documents.map { d in
            Entry(name: d.name, billNumber: d.billNumber, sha256: d.sha256, organization: nil, billID: d.billID)
        }
        let (sequence, batch) = lock.withLock { () -> (Int, String) in
            let s = nextSequence
            nextSequence += 1
            let batch = "S" + Self.pad(s)
            batchEntries[batch] = entries
            return (s, batch)
        }
        let entry: JSONValue = [
            "seq": .number(String(sequence)), "kind": "step", "batch": .string(batch), "step": .string(step),
            "formid": .string(formID), "at": .string(Timestamp.now()), "attempt": .number(String(attempt)),
            "reason": .string(reason), "documents": Self.json(entries),
        ]
        try append(entry, durable: true)
        return batch
    }

    /// Whether `recordInherited` already took over `batch` of `run`.
    public func hasInherited(fromRun run: String, batch: String) -> Bool {
        lock.withLock { inherited.contains(run + "/" + batch) }
    }

    /// Records, durably, that `documents` of this run were sent by another run's load in `batch`, which was
    /// never settled: they are in doubt here too, under a new batch id of this journal, until a load
    /// reconciles them. Returns the new batch id.
    ///
    /// - Throws: a `Diagnostic` when the entry cannot be written.
    @discardableResult
    public func recordInherited(fromRun run: String, batch: String, formID: String, documents: [Entry]) throws(Diagnostic)
        -> String
    {
        let (sequence, id) = lock.withLock { () -> (Int, String) in
            let s = nextSequence
            nextSequence += 1
            let id = "B" + Self.pad(s)
            batchEntries[id] = documents
            batchFormIDs[id] = formID
            for d in documents { lastSent[d.name] = d.sha256 }
            doubtedNames.formUnion(documents.map(\.name))
            inherited.insert(run + "/" + batch)
            unsettled.append((batch: id, formID: formID, documents: documents))
            return (s, id)
        }
        let entry: JSONValue = [
            "seq": .number(String(sequence)), "kind": "inherited", "batch": .string(id), "formid": .string(formID),
            "at": .string(Timestamp.now()), "from_run": .string(run), "from_batch": .string(batch),
            "documents": Self.json(documents),
        ]
        try append(entry, durable: true)
        return id
    }

    /// A bill an answer or ExecuteBillQuery showed saved, as `recordSettled` and `recordReconciled` take it:
    /// the payload name, the batch that sent it, Kingdee's Id and number.
    public typealias SavedByKingdee = (name: String, batch: String, id: String, number: String)

    /// Records that every document of `batch` has an outcome (receipt, error file, or a later batch);
    /// `saved`, the bills its answer saved (the line's `bills`: payload, Kingdee's Id and number).
    public func recordSettled(batch: String, summary: JSONValue, saved bills: [SavedByKingdee] = []) throws(Diagnostic) {
        var object = JSONObject()
        object.append("seq", .number(String(takeSequence())))
        object.append("kind", "settled")
        object.append("batch", .string(batch))
        object.append("at", .string(Timestamp.now()))
        for member in summary.objectValue?.members ?? [] { object.append(member.key, member.value) }
        if !bills.isEmpty {
            let value = Self.json(bills, withBatch: false)
            object.append("bills", value)
            lock.withLock {
                Self.noteSaved(value, batch: batch, into: &saved, entries: batchEntries, formIDs: batchFormIDs, lastSent: lastSent)
            }
        }
        // Not flushed on its own: if a crash loses it (with the receipts written just before it), the batch
        // is in doubt again and the next load asks Kingdee; nothing is sent twice. Only `sent` must be durable.
        try append(.object(object), durable: false)
    }

    /// Records that in-doubt `batches` were checked: `found` now have receipts, `missing` go out again,
    /// `unknowable` cannot be told (Kingdee renumbers bills) and get error files instead. `bills`: the bills
    /// found, with their Kingdee Id (and those the answer of a batch settled here had saved).
    public func recordReconciled(
        batches: [String], found: [String], missing: [String], unknowable: [String] = [], bills: [SavedByKingdee] = []
    ) throws(Diagnostic) {
        lock.withLock {
            doubtedNames.formUnion(
                Self.names(in: batches, billNumbers: Set(found + missing + unknowable), entries: batchEntries))
        }
        var entry: JSONValue = [
            "seq": .number(String(takeSequence())), "kind": "reconciled", "at": .string(Timestamp.now()),
            "batches": .array(batches.map { .string($0) }),
            "found": .array(found.map { .string($0) }), "missing": .array(missing.map { .string($0) }),
        ]
        if !unknowable.isEmpty, case .object(var object) = entry {
            object.append("unknowable", .array(unknowable.map { .string($0) }))
            entry = .object(object)
        }
        if !bills.isEmpty, case .object(var object) = entry {
            let value = Self.json(bills, withBatch: true)
            object.append("bills", value)
            entry = .object(object)
            lock.withLock {
                Self.noteSaved(value, batch: nil, into: &saved, entries: batchEntries, formIDs: batchFormIDs, lastSent: lastSent)
            }
        }
        try append(entry, durable: false)
    }

    /// Keeps a removed error file's content (the document has since been loaded).
    public func recordSuperseded(name: String, previousError: JSONValue) throws(Diagnostic) {
        let entry: JSONValue = [
            "seq": .number(String(takeSequence())), "kind": "superseded", "at": .string(Timestamp.now()),
            "payload": .string(name), "error": previousError,
        ]
        try append(entry, durable: true)
        lock.withLock { supersededLines[name, default: []].append(SupersededError(line: entry)) }
    }

    /// The payload names of the documents of `batches` that have one of `billNumbers`: the documents a
    /// `reconciled` line checked.
    private static func names(in batches: [String], billNumbers: Set<String>, entries: [String: [Entry]]) -> [String] {
        batches.flatMap { entries[$0] ?? [] }.filter { billNumbers.contains($0.billNumber) }.map(\.name)
    }

    private func takeSequence() -> Int {
        lock.withLock {
            let s = nextSequence
            nextSequence += 1
            return s
        }
    }

    private func append(_ value: JSONValue, durable: Bool) throws(Diagnostic) {
        let line = JSONWriter(style: .compact).bytes(value)
        let opened = lock.withLock { () -> Result<AppendOnlyFile, Diagnostic> in
            if let file { return .success(file) }
            do throws(Diagnostic) {
                let opened = try AppendOnlyFile(path: path, validLength: validLength)
                file = opened
                return .success(opened)
            } catch {
                return .failure(error)
            }
        }
        try opened.get().append(line, durable: durable)
    }

    /// The `documents` of a `sent`, `inherited` or `step` line (read back in `init`).
    static func json(_ entries: [Entry]) -> JSONValue {
        .array(entries.map { d in
            var object = JSONObject()
            object.append("payload", .string(d.name))
            object.append("FBillNo", .string(d.billNumber))
            object.append("payload_sha256", .string(d.sha256))
            if let organization = d.organization {
                object.append("org_field", .string(organization.field))
                object.append("org_number", .string(organization.number))
            }
            if let billID = d.billID { object.append("kingdee_id", .string(billID)) }
            return .object(object)
        })
    }

    /// The `bills` of a `settled` line (`withBatch` false: its batch is the line's) or a `reconciled` one.
    static func json(_ bills: [SavedByKingdee], withBatch: Bool) -> JSONValue {
        .array(bills.map { bill in
            var object = JSONObject()
            object.append("payload", .string(bill.name))
            if withBatch { object.append("batch", .string(bill.batch)) }
            object.append("kingdee_id", .string(bill.id))
            object.append("kingdee_number", .string(bill.number))
            return .object(object)
        })
    }

    static func pad(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 6 - s.count)) + s
    }
}
