import FerryCore
import Foundation

/// The load journal of a run: `runs/<id>/load/journal/`, one small JSON file per event, each written
/// atomically (`FileSystem.writeAtomically`) and never changed afterwards. `sent` entries are flushed to disk
/// before the batch goes out; `settled` and `reconciled` entries (like receipts and error files) are
/// flushed together at the end of the load: losing them in a crash only makes a batch in doubt again.
///
/// ```
/// 000001-sent-B000001.json        before a BatchSave is sent: batch id, form id, attempt, documents
///                                 (payload name, FBillNo, payload SHA-256)
/// 000002-settled-B000001.json     after every document of that request has its receipt, error file,
///                                 or has been handed to a retry / re-check
/// 000003-reconciled.json          after in-doubt batches were checked with ExecuteBillQuery
/// 000004-superseded-<name>.json   an error file removed because the document was loaded later
///                                 (its old content is kept here: the history of failures)
/// ```
/// A `sent` without a `settled` or `reconciled` entry for its batch means the process died (or lost the
/// answer) while the batch was in flight: its documents without receipts are *in doubt*.
public final class LoadJournal: @unchecked Sendable {
    /// One journalled document.
    public struct Entry: Sendable, Hashable {
        /// Payload name (file name without `.json`).
        public var name: String
        /// FBillNo.
        public var billNumber: String
        /// Payload SHA-256 when sent.
        public var sha256: String
    }

    /// The journal directory.
    public let directory: String
    private let lock = Mutex()
    private var nextSequence: Int
    private var sentNames: Set<String> = []
    /// Batches sent by an earlier process that were never settled, with their form id and documents.
    public private(set) var unsettled: [(batch: String, formID: String, documents: [Entry])] = []

    /// Opens (and reads) the journal in `directory`; the directory is created on the first write.
    ///
    /// - Throws: a `Diagnostic` naming an entry that cannot be read.
    public init(directory: String) throws(Diagnostic) {
        self.directory = directory
        var maximum = 0
        var sent: [(String, String, [Entry])] = []
        var closed: Set<String> = []
        for file in FileSystem.list(directory) where file.hasSuffix(".json") && !file.hasPrefix(".") {
            if let number = Int(file.prefix(6)) { maximum = max(maximum, number) }
            let path = directory + "/" + file
            let value = try JSONReader.parseFile(path)
            switch value["kind"]?.stringValue {
            case "sent":
                let documents = (value["documents"]?.arrayValue ?? []).map { d in
                    Entry(
                        name: d["payload"]?.stringValue ?? "", billNumber: d["FBillNo"]?.scalarText ?? "",
                        sha256: d["payload_sha256"]?.stringValue ?? "")
                }
                sent.append((value["batch"]?.stringValue ?? "", value["formid"]?.stringValue ?? "", documents))
                for d in documents { sentNames.insert(d.name) }
            case "settled":
                if let batch = value["batch"]?.stringValue { closed.insert(batch) }
            case "reconciled":
                for batch in value["batches"]?.arrayValue ?? [] { if let b = batch.stringValue { closed.insert(b) } }
            default:
                break
            }
        }
        nextSequence = maximum + 1
        unsettled = sent.filter { !closed.contains($0.0) }.map { (batch: $0.0, formID: $0.1, documents: $0.2) }
    }

    /// Whether a document was ever sent (by any process) according to the journal.
    public func wasSent(_ name: String) -> Bool { lock.withLock { sentNames.contains(name) } }

    /// Records, durably, that a batch is about to be sent; returns its new batch id.
    ///
    /// - Throws: a `Diagnostic` when the entry cannot be written (then nothing may be sent).
    public func recordSent(formID: String, attempt: Int, documents: [PayloadDocument], reason: String) throws(Diagnostic)
        -> String
    {
        let (sequence, batch) = lock.withLock { () -> (Int, String) in
            let s = nextSequence
            nextSequence += 1
            for d in documents { sentNames.insert(d.name) }
            return (s, "B" + Self.pad(s))
        }
        let entry: JSONValue = [
            "kind": "sent", "batch": .string(batch), "formid": .string(formID), "at": .string(Timestamp.now()),
            "attempt": .number(String(attempt)), "reason": .string(reason),
            "documents": .array(documents.map { d in
                ["payload": .string(d.name), "FBillNo": .string(d.billNumber), "payload_sha256": .string(d.sha256)]
            }),
        ]
        try write(sequence: sequence, suffix: "sent-\(batch)", entry)
        return batch
    }

    /// Records that every document of `batch` has an outcome (receipt, error file, or a later batch).
    public func recordSettled(batch: String, summary: JSONValue) throws(Diagnostic) {
        var object = JSONObject()
        object.append("kind", "settled")
        object.append("batch", .string(batch))
        object.append("at", .string(Timestamp.now()))
        for member in summary.objectValue?.members ?? [] { object.append(member.key, member.value) }
        // Not flushed on its own: if a crash loses it (with the receipts written just before it), the batch
        // is in doubt again and the next load asks Kingdee; nothing is sent twice. Only `sent` must be durable.
        try write(sequence: takeSequence(), suffix: "settled-\(batch)", .object(object), durable: false)
    }

    /// Records that in-doubt `batches` were checked: `found` now have receipts, `missing` go out again.
    public func recordReconciled(batches: [String], found: [String], missing: [String]) throws(Diagnostic) {
        let entry: JSONValue = [
            "kind": "reconciled", "at": .string(Timestamp.now()), "batches": .array(batches.map { .string($0) }),
            "found": .array(found.map { .string($0) }), "missing": .array(missing.map { .string($0) }),
        ]
        try write(sequence: takeSequence(), suffix: "reconciled", entry, durable: false)
    }

    /// Keeps a removed error file's content (the document has since been loaded).
    public func recordSuperseded(name: String, previousError: JSONValue) throws(Diagnostic) {
        let entry: JSONValue = [
            "kind": "superseded", "at": .string(Timestamp.now()), "payload": .string(name), "error": previousError,
        ]
        try write(sequence: takeSequence(), suffix: "superseded-\(Self.safe(name))", entry)
    }

    private func takeSequence() -> Int {
        lock.withLock {
            let s = nextSequence
            nextSequence += 1
            return s
        }
    }

    private func write(sequence: Int, suffix: String, _ value: JSONValue, durable: Bool = true) throws(Diagnostic) {
        try FileSystem.writeAtomically(
            JSONWriter().bytes(value), to: "\(directory)/\(Self.pad(sequence))-\(suffix).json", durable: durable)
    }

    static func pad(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 6 - s.count)) + s
    }

    static func safe(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
    }
}
