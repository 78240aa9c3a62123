import FerryCore
import Foundation

/// What `ferry load` should do.
public struct LoadOptions: Sendable {
    /// List the batches and check the payloads; send nothing, write nothing.
    public var isDryRun: Bool
    /// Also re-post documents whose error file is of class `data`, `duplicate` or `config`.
    public var retryFailed: Bool

    /// Creates options.
    public init(isDryRun: Bool = false, retryFailed: Bool = false) {
        self.isDryRun = isDryRun
        self.retryFailed = retryFailed
    }
}

/// How a load ended.
public struct LoadSummary: Sendable, Hashable {
    /// Documents saved by Kingdee in this run (new receipts from BatchSave answers).
    public var loaded = 0
    /// In-doubt documents that ExecuteBillQuery found in Kingdee (receipts written, not sent again).
    public var inDoubtFound = 0
    /// In-doubt documents that Kingdee did not have (sent again).
    public var inDoubtResent = 0
    /// Of `inDoubtFound`: documents found in Kingdee whose payload was removed by a later transform or no
    /// longer passes the checks (they have a receipt now; their bills need a look).
    public var inDoubtFoundWithoutPayload = 0
    /// Documents that already had a receipt with an unchanged payload (skipped).
    public var alreadyLoaded = 0
    /// Documents with a receipt whose payload changed since (not sent), by payload name.
    public var changed: [String] = []
    /// Documents that end this run with an error file, by class.
    public var failed: [KingdeeErrorClass: Int] = [:]
    /// Of those, documents whose error file was left from an earlier run and not re-posted.
    public var failedEarlier = 0
    /// BatchSave requests sent.
    public var requests = 0
    /// Bills submitted in this run (`target.after_save` submit or audit), including bills Kingdee already
    /// had submitted when asked.
    public var submitted = 0
    /// Bills audited in this run (`target.after_save: audit`), including bills Kingdee already had audited.
    public var audited = 0
    /// Of `failed`: documents saved in Kingdee (they have a receipt) whose Submit or Audit failed.
    public var savedNotFinished = 0
    /// Payloads the transform no longer produces (the manifest does not list them) for which this load
    /// would have sent something: a saved bill's Submit or Audit still to do (its payload kept beside its
    /// receipt; a step Kingdee shows done, by hand, is recorded), or a save (its receipt lost, its bill not
    /// in Kingdee). The current source data does not back them, so nothing is sent for them; by payload
    /// name, for a person to check in Kingdee (exit 1).
    public var notProduced: [String] = []

    /// An empty summary.
    public init() {}

    /// Whether some document failed or changed (exit code 1).
    public var hasProblems: Bool {
        !changed.isEmpty || inDoubtFoundWithoutPayload > 0 || !notProduced.isEmpty || failed.values.contains { $0 > 0 }
    }

    /// Total documents with error files.
    public var failedTotal: Int { failed.values.reduce(0, +) }
}

/// The plan a dry run prints.
public struct LoadPlan: Sendable {
    /// A batch that would be sent.
    public struct Batch: Sendable {
        /// Form id.
        public var formID: String
        /// Payload names and bill numbers, in order.
        public var documents: [(name: String, billNumber: String)]
    }

    /// Batches that would be sent, in order.
    public var batches: [Batch] = []
    /// Payloads that fail the local checks.
    public var invalid: [Diagnostic] = []
    /// Payload names already loaded (unchanged receipts).
    public var alreadyLoaded: [String] = []
    /// Payload names whose receipt no longer matches the payload.
    public var changed: [String] = []
    /// Payload names with error files that would not be re-posted (use `--retry-failed`).
    public var failedNotRetried: [String] = []
    /// Payload names in doubt from an interrupted load (would be checked with ExecuteBillQuery first).
    public var inDoubt: [String] = []
    /// Payload names saved earlier whose Submit or Audit (`target.after_save`) is still to do: their
    /// FDocumentStatus would be asked first, then only the missing steps sent.
    public var unfinished: [String] = []
    /// Payload names the load would send something for (a save, or a saved bill's Submit or Audit) but
    /// that the transform no longer produces (`LoadSummary.notProduced`): nothing is sent for them.
    public var notProduced: [String] = []
    /// Saved bills whose Submit or Audit an earlier load sent and never got the answer of (an unsettled
    /// `step` line; the receipt does not record the outcome), by payload name: the load asks Kingdee their
    /// FDocumentStatus and records it. Not listed in `alreadyLoaded` nor `unfinished`.
    public var stepsInDoubt: [StepInDoubt] = []
    /// Valid payloads without a receipt that the journal shows an earlier load saved (answered, or found
    /// by ExecuteBillQuery), by payload name with the Kingdee Id recorded: the load looks each up by that
    /// Id before anything is sent; found, its receipt is written again; not found (deleted in Kingdee), it
    /// is sent as new. Not in `batches` (nor in `stepsInDoubt`).
    public var savedWithoutReceipt: [(name: String, billID: String)] = []

    /// A saved bill whose Submit or Audit was sent and never answered.
    public struct StepInDoubt: Sendable, Hashable {
        /// The payload name.
        public var name: String
        /// The step that was sent: `submit` or `audit`.
        public var step: String
        /// Whether the bill has a readable receipt. Without one it is looked up in Kingdee before anything is
        /// sent (`restoreMissingReceipts`): found, its receipt is written again.
        public var hasReceipt: Bool
        /// Whether `target.after_save` still asks for a step its receipt does not record and the load would
        /// take it on (its payload unchanged): after asking, it may submit or audit the bill.
        public var mayAdvance: Bool
    }
}

/// Loads a run's write queue into Kingdee, exactly once.
///
/// Reads the payloads in `runs/<id>/transform/`, writes `<name>.receipt.json` or `<name>.error.json`
/// beside each, and keeps the journal in `runs/<id>/load/journal.jsonl` (see `LoadJournal`). The caller must
/// hold the run's lock (`Workspace.lockRun`).
public enum LoadRunner {
    /// The payloads `ferry load` looks up by Kingdee Id before it sends anything, by name: the bills the
    /// journal shows Ferry saved whose payload in `directory` passes the load's checks and has no receipt
    /// (`LoadSession.savedWithoutReceipt`). `ferry status` asks this, so it cannot say otherwise than the load does.
    /// `listing`: the directory's file names, as the caller listed them.
    public static func savedWithoutReceipt(_ journal: LoadJournal, directory: String, listing: Set<String>) -> Set<String> {
        // The organisation field only picks what a payload's organisation is read from, not whether it passes.
        let found = LoadSession.savedWithoutReceipt(journal, directory: directory, listing: listing, organizationField: "")
        return Set(found.map(\.bill.name))
    }

    /// Calls refused with MsgCode 1 in a row, each after a fresh login or signature and with no answered
    /// call between them, after which the load stops: Kingdee accepted the credentials earlier in this
    /// load, so a lost session is retried, but an authorisation revoked or changed mid-load would fail
    /// every remaining batch through all its retries (and, with a password, risk locking the user).
    public static let refusalsThatStopTheLoad = 3

    static func credentialsStoppedWorking(url: String, message: String) -> Diagnostic {
        .error(
            "Kingdee at \(url) refused Ferry \(refusalsThatStopTheLoad) times in a row with MsgCode 1 (\(message)), each time "
                + "after logging in or signing again, though it accepted the same credentials earlier in this load: the "
                + "integration user, its 第三方系统登录授权 (app id and secret) or its password may have been changed or "
                + "disabled. The load stopped; documents not sent yet stay pending and are sent by the next `ferry load`.")
    }

    /// The transform directory of a run.
    public static func transformDirectory(run: String) -> String { run + "/transform" }

    /// Whether `receipt` records the outcome of a Submit or Audit (`step`) of its bill: that step, or an
    /// audit (an audited bill is submitted). A call whose answer never came is settled once this holds for
    /// each of its bills, or a later load asked their FDocumentStatus; until then they are in doubt.
    public static func receiptRecords(step: String, _ receipt: JSONValue?) -> Bool {
        guard let receipt else { return false }
        return receipt[LoadSession.receiptField(.audit)] != nil
            || (step == KingdeeClient.BillStep.submit.rawValue && receipt[LoadSession.receiptField(.submit)] != nil)
    }
    /// The steps `afterSave` asks for that the receipt of a saved bill does not record (`submit`, `audit`, in
    /// order): what the next `ferry load` still does for it, after asking Kingdee its FDocumentStatus.
    public static func stepsStillToDo(_ receipt: JSONValue, afterSave: KingdeeTargetConfig.AfterSave) -> [String] {
        LoadSession.missingSteps(receipt, afterSave: afterSave).map(\.rawValue)
    }
    /// The journal file of a run.
    public static func journalPath(run: String) -> String { run + "/load/journal.jsonl" }

    /// Loads the run in `runDirectory`.
    ///
    /// - Parameters:
    ///   - runDirectory: `runs/<id>`.
    ///   - config: the Kingdee target.
    ///   - options: retry-failed (dry runs go through `plan`).
    ///   - otherRuns: the workspace's other runs, whose unsettled batches are taken over first
    ///     (`inheritDoubts`).
    ///   - progress: receives one line per step (for stderr); never a secret.
    /// - Returns: the summary.
    /// - Throws: a `Diagnostic` when the load cannot run or must stop (no transform directory, login
    ///   failure, Kingdee unreachable while documents are in doubt, a file that cannot be written). What
    ///   was sent stays journalled and is reconciled by the next run.
    public static func run(
        runDirectory: String, config: KingdeeTargetConfig, options: LoadOptions = LoadOptions(),
        otherRuns: [(id: String, directory: String)] = [], progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws(Diagnostic) -> LoadSummary {
        let directory = transformDirectory(run: runDirectory)
        guard FileSystem.isDirectory(directory) else {
            throw .error("this run has no transform/ directory; run `ferry transform` first", file: directory)
        }
        try requireFinishedTransform(directory)
        // A proxy it cannot use stops the load before anything is journalled or sent.
        let client: KingdeeClient
        do {
            client = try KingdeeClient(config: config)
        } catch {
            throw .error(error.description)
        }
        let journal = try LoadJournal(path: journalPath(run: runDirectory))
        let inherited = try inheritDoubts(into: journal, directory: directory, otherRuns: otherRuns, record: true)
        if !inherited.isEmpty {
            progress("load: \(inherited.count) document(s) were sent by another run's load that never got its answer; "
                + "they are checked with ExecuteBillQuery before anything is sent")
        }
        let session = LoadSession(directory: directory, config: config, client: client, journal: journal, progress: progress)
        // Receipts and error files are flushed together (by the journal, and here at the end, whatever happened).
        defer { FileSystem.syncFileSystem(containing: directory) }
        let result: Result<LoadSummary, Diagnostic>
        do { result = .success(try await session.run(retryFailed: options.retryFailed)) } catch { result = .failure(error) }
        await client.close()  // its connections are closed before the load returns
        return try result.get()
    }

    /// Takes over, into this run's journal, the doubt of other runs' loads: documents of this run (by
    /// payload name, so by bill number) that another run sent in a batch that was never settled (its load
    /// died or lost the answer), and that have a receipt in neither run. Kingdee may hold them from that
    /// send; without this, this run would send them as new and take Kingdee's "this number exists" for
    /// somebody else's bill (or, where a numbering rule replaces FBillNo, save them twice). Each such batch
    /// is taken over once; the load then checks its documents with ExecuteBillQuery before sending
    /// anything, as for its own batches in doubt.
    ///
    /// - Parameters:
    ///   - runDirectory: `runs/<id>` of the run about to be loaded.
    ///   - otherRuns: the workspace's other runs: id and directory.
    ///   - record: false for a dry run: nothing is written, the documents are only returned.
    /// - Returns: the payload names taken over (or that would be).
    /// - Throws: a `Diagnostic` when a journal cannot be read or written.
    @discardableResult
    public static func inheritDoubts(
        runDirectory: String, otherRuns: [(id: String, directory: String)], record: Bool = true
    ) throws(Diagnostic) -> [String] {
        try inheritDoubts(
            into: LoadJournal(path: journalPath(run: runDirectory)), directory: transformDirectory(run: runDirectory),
            otherRuns: otherRuns, record: record)
    }

    /// `inheritDoubts` into a journal already open (a load's or a plan's own, so it is read once).
    static func inheritDoubts(
        into journal: LoadJournal, directory: String, otherRuns: [(id: String, directory: String)], record: Bool
    ) throws(Diagnostic) -> [String] {
        guard !otherRuns.isEmpty else { return [] }
        let listing = Set(FileSystem.list(directory))
        var names: [String] = []
        for other in otherRuns {
            let path = journalPath(run: other.directory)
            guard FileSystem.exists(path) else { continue }
            let theirs = try LoadJournal(path: path)
            let theirListing = Set(FileSystem.list(transformDirectory(run: other.directory)))
            for batch in theirs.unsettled where !journal.hasInherited(fromRun: other.id, batch: batch.batch) {
                let ours = batch.documents.filter { entry in
                    listing.contains(entry.name + ".json") && !listing.contains(entry.name + ".receipt.json")
                        && !theirListing.contains(entry.name + ".receipt.json")
                }
                guard !ours.isEmpty else { continue }
                names += ours.map(\.name)
                if record {
                    try journal.recordInherited(fromRun: other.id, batch: batch.batch, formID: batch.formID, documents: ours)
                }
            }
        }
        return names
    }

    /// Refuses a transform directory whose last transform did not finish (`TransformMarker`): its payloads
    /// may be a mix of versions of a document, or files no manifest lists.
    static func requireFinishedTransform(_ directory: String) throws(Diagnostic) {
        let marker = TransformMarker.path(in: directory)
        guard FileSystem.exists(marker) else { return }
        throw .error(
            "the last transform of this run did not finish (it stopped or failed part way), so its payloads may mix "
                + "versions of a document or include files no manifest lists; run `ferry transform` again, then load",
            file: marker)
    }

    /// The payload names the transform's `manifest.json` in `directory` lists (its `outputs`), or nil when
    /// there is no manifest that can be read or it has no `outputs` list (not one a transform wrote: every
    /// payload then counts as produced, as before). A payload the manifest does not list is one a later transform no
    /// longer produces (its order changed its bill number, is rejected or filtered now), kept beside its
    /// receipt: its bill is saved, but the current source data does not back it, so the load sends it no
    /// Submit or Audit (an audit moves stock), and no save when its receipt is lost and Kingdee lacks the
    /// bill (deleted there); `ferry status` shows it under `not_produced`. Read one entry at a time: the
    /// manifest lists every document of the run.
    static func producedPayloads(_ directory: String) -> Set<String>? {
        var names: Set<String> = []
        do {
            let found = try JSONReader.forEachElement(
                inFile: directory + "/manifest.json", ofArrays: ["outputs"], keeping: JSONKeySet(["file"])
            ) { _, entry in
                if let file = entry["file"]?.stringValue, file.hasSuffix(".json") { names.insert(String(file.dropLast(5))) }
            }
            return found.contains("outputs") ? names : nil
        } catch {
            return nil
        }
    }

    /// The dry-run plan: what `run` would send, after local checks. Sends nothing, writes nothing.
    ///
    /// - Parameter otherRuns: the workspace's other runs, whose unsettled batches `inheritDoubts` would
    ///   take over (their documents are listed as in doubt).
    /// - Throws: a `Diagnostic` when the run has no transform directory or a journal is unreadable.
    public static func plan(
        runDirectory: String, config: KingdeeTargetConfig, options: LoadOptions,
        otherRuns: [(id: String, directory: String)] = []
    ) throws(Diagnostic) -> LoadPlan {
        let directory = transformDirectory(run: runDirectory)
        guard FileSystem.isDirectory(directory) else {
            throw .error("this run has no transform/ directory; run `ferry transform` first", file: directory)
        }
        try requireFinishedTransform(directory)
        var plan = LoadPlan()
        var scan = Scan(directory: directory, produced: producedPayloads(directory))
        plan.invalid = scan.invalid
        let journal = try LoadJournal(path: journalPath(run: runDirectory))
        let unsettled = journal.unsettled
        let inDoubtNames = Set(unsettled.flatMap { $0.documents.map(\.name) })
            .union(try inheritDoubts(into: journal, directory: directory, otherRuns: otherRuns, record: false))
        var pending: [PayloadDocument] = []
        for document in scan.documents {
            switch scan.state(of: document, retryFailed: options.retryFailed, afterSave: config.afterSave) {
            case .loaded: plan.alreadyLoaded.append(document.name)
            case .unfinished: plan.unfinished.append(document.name)
            case .changed: plan.changed.append(document.name)
            case .failedKept: plan.failedNotRetried.append(document.name)
            case .receiptUnreadable:
                // Checked with ExecuteBillQuery first; sent only when Kingdee lacks it, and the transform still
                // produces it.
                plan.inDoubt.append(document.name)
                if scan.isProduced(document.name) { pending.append(document) }
            case .notProduced:
                // Never sent (see `producedPayloads`); one in doubt is still looked up in Kingdee first, a saved
                // one asked its FDocumentStatus.
                if inDoubtNames.contains(document.name) && !scan.hasReceipt(document.name) { plan.inDoubt.append(document.name) }
                plan.notProduced.append(document.name)
            case .pending:
                if inDoubtNames.contains(document.name) { plan.inDoubt.append(document.name) }
                pending.append(document)
            }
        }
        // Submit and Audit calls never answered: their bills' FDocumentStatus is asked (and recorded). The
        // latest call of a bill is the one in doubt.
        var stepOf: [String: String] = [:]
        for call in journal.unsettledSteps {
            for entry in call.documents { stepOf[entry.name] = call.step }
        }
        let valid = Set(scan.documents.map(\.name))
        for (name, step) in stepOf.sorted(by: { $0.key < $1.key }) {
            let receipt = Scan.readJSON(PayloadDirectory.receiptPath(directory: directory, name: name))
            let readable = receipt?.objectValue != nil
            guard !readable || !receiptRecords(step: step, receipt) else { continue }
            let unfinished = plan.unfinished.contains(name)
            if readable && valid.contains(name) {
                plan.alreadyLoaded.removeAll { $0 == name }
                plan.unfinished.removeAll { $0 == name }
                plan.notProduced.removeAll { $0 == name }
            }
            plan.stepsInDoubt.append(.init(name: name, step: step, hasReceipt: readable, mayAdvance: unfinished))
        }
        // Saved by an earlier load, receipt gone: looked up by Id first (`restoreMissingReceipts`).
        let stepNames = Set(plan.stepsInDoubt.map(\.name))
        for (bill, _) in LoadSession.savedWithoutReceipt(
            journal, directory: directory, listing: scan.listing, organizationField: config.existenceCheckOrgField)
        where !stepNames.contains(bill.name) && !inDoubtNames.contains(bill.name) {
            // Not produced any more: listed as such (nothing sent for it), not as "sent as new if not found".
            if plan.notProduced.contains(bill.name) { continue }
            plan.savedWithoutReceipt.append((bill.name, bill.billID))
            pending.removeAll { $0.name == bill.name }
            plan.failedNotRetried.removeAll { $0 == bill.name }
        }
        // In doubt without a valid payload: looked up in Kingdee, never sent (see `journalOnlyDocuments`).
        plan.inDoubt += LoadSession.journalOnlyDocuments(
            unsettled, excluding: Set(scan.documents.map(\.name)), directory: directory, scan: scan,
            organizationField: config.existenceCheckOrgField
        ).map(\.name)
        plan.batches = PayloadDirectory.batches(pending, size: config.batchSize).map { batch in
            LoadPlan.Batch(formID: batch[0].formID, documents: batch.map { ($0.name, $0.billNumber) })
        }
        return plan
    }
}

/// The payloads of a directory and what is already beside them.
///
/// Payloads are read in chunks (`load`), each chunk on every core; a bill number already seen in an
/// earlier payload (by name order) makes the later one invalid. Receipts and error files are looked up in
/// the directory listing taken when the scan began before the disk is touched.
struct Scan {
    /// What a payload needs: nothing (loaded, changed since, failed and not retried), a check with
    /// ExecuteBillQuery (a receipt that exists but cannot be read: a crash before it reached the disk, or
    /// a bad hand edit), or sending; or, saved already, the Submit or Audit `target.after_save` asks for
    /// (`unfinished`); or nothing sent because the transform no longer produces it (`notProduced`: a payload
    /// that would have been sent, or a saved bill that would have been submitted or audited; see
    /// `LoadRunner.producedPayloads`). `LoadRunner.plan` and `LoadSession.run` both act on this one
    /// classification, so the dry run and the load cannot disagree on it.
    enum State { case loaded, changed, failedKept, receiptUnreadable, pending, unfinished, notProduced }

    var directory: String
    /// Valid payloads loaded so far (only kept by `init(directory:)`, for plans).
    var documents: [PayloadDocument] = []
    var invalid: [Diagnostic] = []
    /// Payload names of invalid payloads.
    var invalidNames: [(name: String, diagnostic: Diagnostic, sha256: String)] = []
    /// File names in the directory when the scan began.
    var listing: Set<String>
    /// The Model field whose `FNumber` `load` takes as each document's organisation
    /// (`PayloadDocument.organization`); empty: none.
    let organizationField: String
    /// The payload names the transform still produces (`LoadRunner.producedPayloads`); nil: every payload
    /// counts as produced.
    let produced: Set<String>?
    /// Bill number → the payload name that has it.
    private var seen: [String: String] = [:]

    /// Scans every payload of `directory` at once (for plans).
    init(directory: String, organizationField: String = "", produced: Set<String>? = nil) {
        let listed = FileSystem.list(directory)
        self.init(directory: directory, listing: Set(listed), organizationField: organizationField, produced: produced)
        documents = load(PayloadDirectory.payloadFiles(in: directory, listing: listed))
    }

    /// Starts a scan that `load` feeds chunk by chunk.
    init(directory: String, listing: Set<String>, organizationField: String = "", produced: Set<String>? = nil) {
        self.directory = directory
        self.listing = listing
        self.organizationField = organizationField
        self.produced = produced
    }

    /// Reads, checks and hashes `paths` (in parallel) and returns the valid documents, in order. Invalid
    /// payloads are added to `invalid` and `invalidNames`.
    mutating func load(_ paths: [String]) -> [PayloadDocument] {
        accept(paths, Self.read(paths, organizationField: organizationField))
    }

    /// Reads, checks and hashes `paths` on every core (no state: may run ahead of `accept`).
    ///
    /// One core is left to the requests in flight: reading on every core made their answers wait (on two
    /// cores, a tenth of the requests took 4–10 ms longer, and a load reached 77–80% of its bound instead
    /// of 84–85%). Reading on the other core(s) still keeps ahead: at 100 × 8 (a bound of 40,000
    /// documents/s, more than two cores can drive with the sandbox beside them) both ways send about
    /// 16,000 documents/s.
    static func read(_ paths: [String], organizationField: String) -> [Result<PayloadDocument, Diagnostic>] {
        ConcurrentMap.map(paths, workers: ProcessInfo.processInfo.activeProcessorCount - 1) {
            path -> Result<PayloadDocument, Diagnostic> in
            do throws(Diagnostic) {
                return .success(try PayloadDirectory.load(path, organizationField: organizationField))
            } catch {
                return .failure(error)
            }
        }
    }

    /// `read(paths)` on Dispatch's threads, not on Swift concurrency's cooperative ones: a chunk takes tens of
    /// milliseconds of CPU, and on two cores blocking a cooperative thread that long delays every batch's
    /// answer and the next batch's start.
    static func readOffThePool(_ paths: [String], organizationField: String) async -> [Result<PayloadDocument, Diagnostic>] {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: read(paths, organizationField: organizationField)) }
        }
    }

    /// Takes the results of `read(paths)` in order: the valid documents, with later holders of a bill
    /// number made invalid.
    mutating func accept(_ paths: [String], _ loaded: [Result<PayloadDocument, Diagnostic>]) -> [PayloadDocument] {
        var documents: [PayloadDocument] = []
        for (path, result) in zip(paths, loaded) {
            let name = PayloadDirectory.name(ofPayload: path)
            do {
                let document = try result.get()
                if let first = seen[document.billNumber] {
                    let d = Diagnostic.error(
                        "FBillNo \(document.billNumber) is also in \(first).json; a bill number may be loaded only once",
                        file: path, jsonPath: "$.data.Model.FBillNo")
                    invalid.append(d)
                    invalidNames.append((name, d, document.sha256))
                    continue
                }
                seen[document.billNumber] = name
                documents.append(document)
            } catch {
                invalid.append(error)
                let sha = (try? FileSystem.read(path)).map { Hashing.sha256Hex($0) } ?? ""
                invalidNames.append((name, error, sha))
            }
        }
        return documents
    }

    func receipt(_ name: String) -> JSONValue? {
        guard listing.contains(name + ".receipt.json") else { return nil }
        return Self.readJSON(PayloadDirectory.receiptPath(directory: directory, name: name))
    }

    /// Whether the listing has a receipt for `name` (not read).
    func hasReceipt(_ name: String) -> Bool { listing.contains(name + ".receipt.json") }

    func errorFile(_ name: String) -> JSONValue? {
        guard listing.contains(name + ".error.json") else { return nil }
        return Self.readJSON(PayloadDirectory.errorPath(directory: directory, name: name))
    }

    static func readJSON(_ path: String) -> JSONValue? {
        guard let bytes = try? FileSystem.read(path) else { return nil }
        return try? JSONReader.parse(bytes)
    }

    /// Whether the transform still produces the payload `name` (every payload does without a manifest list).
    func isProduced(_ name: String) -> Bool { produced?.contains(name) ?? true }

    /// `state`, or `notProduced` when it would send something (a save, a Submit or an Audit) for a payload the
    /// transform no longer produces.
    func unlessNotProduced(_ state: State, _ name: String) -> State {
        (state == .pending || state == .unfinished) && !isProduced(name) ? .notProduced : state
    }

    func state(of document: PayloadDocument, retryFailed: Bool, afterSave: KingdeeTargetConfig.AfterSave = .none) -> State {
        unlessNotProduced(storedState(of: document, retryFailed: retryFailed, afterSave: afterSave), document.name)
    }

    /// What the files beside a payload say it needs, whether or not the transform still produces it.
    private func storedState(of document: PayloadDocument, retryFailed: Bool, afterSave: KingdeeTargetConfig.AfterSave) -> State {
        if hasReceipt(document.name) {
            // A receipt says Kingdee has the bill: one that cannot be read is no proof that it does not.
            guard let receipt = receipt(document.name), receipt.objectValue != nil else { return .receiptUnreadable }
            guard receipt["payload_sha256"]?.stringValue == document.sha256 else { return .changed }
            if !LoadSession.missingSteps(receipt, afterSave: afterSave).isEmpty {
                // Saved, but not submitted or audited yet. A step that failed for a reason a retry does not
                // cure waits for `--retry-failed`, as a refused save does.
                if let error = errorFile(document.name), error["step"] != nil, !retryFailed,
                    error["class"]?.stringValue != KingdeeErrorClass.retryable.rawValue
                {
                    return .failedKept
                }
                return .unfinished
            }
            return .loaded
        }
        if let error = errorFile(document.name) {
            if retryFailed || error["class"]?.stringValue == KingdeeErrorClass.retryable.rawValue
                || error["source"]?.stringValue == "ferry"
            {
                return .pending
            }
            return .failedKept
        }
        return .pending
    }
}

/// One `ferry load` process: shared state of the batches in flight.
final class LoadSession: @unchecked Sendable {
    let directory: String
    let config: KingdeeTargetConfig
    let client: KingdeeClient
    let journal: LoadJournal
    let progress: @Sendable (String) -> Void
    /// The payload names the transform still produces (`LoadRunner.producedPayloads`), read once when the
    /// session starts: nothing is sent for any other payload.
    let produced: Set<String>?
    private let lock = Mutex()
    private var summary = LoadSummary()
    /// At most `target.concurrency` requests to Kingdee at once. A batch holds a permit only while its
    /// request is out: writing its receipts overlaps the next batch's request.
    private let permits: RequestPermits
    private var previousAttempts: [String: Int] = [:]
    private var lastFailure: [String: (msgCode: Int, errors: [KingdeeResponseStatus.ErrorEntry])] = [:]
    /// Set once Kingdee saved a bill under a number of its own (the form's numbering rule replaces the
    /// FBillNo sent): ExecuteBillQuery by FBillNo can then no longer show that a document was saved.
    private var kingdeeRenumbers = false
    /// Documents with a receipt that may still need the steps after saving (`target.after_save`): found by
    /// ExecuteBillQuery, or saved by an earlier load. Taken after the BatchSaves (`advance`, checked first).
    private var stepCandidates: Set<String> = []
    /// Documents whose steps after saving this load already tried (never twice in one load).
    private var stepAttempted: Set<String> = []
    /// Documents whose FDocumentStatus this load asked Kingdee (found or not): an earlier load's Submit or
    /// Audit that never got its answer is settled once all its bills were asked.
    private var statusAsked: Set<String> = []
    /// Set, before its permit is given back, by a batch whose error stops the load: a batch waiting for
    /// that permit is then not sent (the task group's cancellation comes only once the error is thrown).
    private var stopping = false

    init(directory: String, config: KingdeeTargetConfig, client: KingdeeClient, journal: LoadJournal,
         progress: @escaping @Sendable (String) -> Void) {
        self.directory = directory
        self.config = config
        self.client = client
        self.journal = journal
        self.progress = progress
        self.permits = RequestPermits(max(1, config.concurrency))
        self.produced = LoadRunner.producedPayloads(directory)
    }

    // MARK: - Run

    /// Payloads read (and checked) per step of the scan: the first batches go out after the first chunk,
    /// and memory holds a chunk and the open batches, never the whole queue.
    static let scanChunk = 512

    func run(retryFailed: Bool) async throws(Diagnostic) -> LoadSummary {
        let listed = FileSystem.list(directory)
        let paths = PayloadDirectory.payloadFiles(in: directory, listing: listed)
        // Submit and Audit calls an earlier load sent and never got the answer of (it died meanwhile).
        let earlierSteps = journal.unsettledSteps

        // Exactly once: settle what an earlier process left in flight before sending anything. Every
        // journalled document without a receipt is in doubt, even one with an older error file.
        var foundInDoubt: Set<String> = []
        var resend: Set<String> = []
        if !journal.unsettled.isEmpty {
            var before = Scan(directory: directory, listing: Set(listed), organizationField: config.existenceCheckOrgField)
            var batchOf: [String: String] = [:]
            // What Kingdee would hold: the payload as it was last sent (it may have changed since).
            var sentSHA256: [String: String] = [:]
            for batch in journal.unsettled {
                for entry in batch.documents {
                    if batchOf[entry.name] == nil { batchOf[entry.name] = batch.batch }
                    sentSHA256[entry.name] = entry.sha256
                }
            }
            let journalled = Set(batchOf.keys)
            let inDoubt = before.load(paths.filter { journalled.contains(PayloadDirectory.name(ofPayload: $0)) })
                .filter { before.receipt($0.name) == nil }
            // In doubt too: documents whose payload a later transform removed, or that no longer passes the
            // local checks. Kingdee may hold them all the same: they are looked up by the journal's FBillNo
            // (and organisation), get a receipt when found, and are never sent from the journal.
            let unsendable = Self.journalOnlyDocuments(
                journal.unsettled, excluding: Set(inDoubt.map(\.name)), directory: directory, scan: before,
                organizationField: config.existenceCheckOrgField)
            progress("load: \(journal.unsettled.count) batch(es) were in flight when an earlier load stopped; "
                + "\(inDoubt.count + unsendable.count) document(s) in doubt, asking Kingdee which exist")
            let missing = try await reconcile(
                inDoubt + unsendable, batches: journal.unsettled.map(\.batch), batchOf: batchOf, sentSHA256: sentSHA256)
            let missingNames = Set(missing.map(\.name))
            resend = missingNames.subtracting(unsendable.map(\.name))
            foundInDoubt = Set(inDoubt.map(\.name)).subtracting(resend)
            let foundUnsendable = unsendable.filter { !missingNames.contains($0.name) }
            if unsendable.count > foundUnsendable.count {
                progress("load: \(unsendable.count - foundUnsendable.count) in-doubt document(s) without a valid payload "
                    + "are not in Kingdee: nothing to send for them")
            }
            for document in foundUnsendable {
                progress("load: \(document.billNumber) was in doubt and exists in Kingdee, but its payload "
                    + (FileSystem.exists(document.path) ? "no longer passes the checks" : "was removed by a later transform")
                    + "; receipt \(document.name).receipt.json written: check the bill in Kingdee")
            }
            lock.withLock {
                summary.inDoubtFound += foundInDoubt.count + foundUnsendable.count
                summary.inDoubtFoundWithoutPayload += foundUnsendable.count
            }
        }

        // Bills Ferry saved whose receipt is gone (of an earlier load's unanswered Submit or Audit, or of an
        // answered save or a bill ExecuteBillQuery found): Kingdee is asked about them by Id before anything
        // is sent, so none is saved twice.
        let afterReconcile = journal.unsettled.isEmpty ? Set(listed) : Set(FileSystem.list(directory))
        let savedWithoutReceipt = Self.savedWithoutReceipt(
            journal, directory: directory, listing: afterReconcile, organizationField: config.existenceCheckOrgField)
        let missingReceipts = try await restoreMissingReceipts(steps: earlierSteps, saved: savedWithoutReceipt)

        // Reconciling or restoring wrote receipts: list again then, else the first listing holds.
        var scan = Scan(
            directory: directory,
            listing: missingReceipts.isEmpty ? afterReconcile : Set(FileSystem.list(directory)),
            organizationField: config.existenceCheckOrgField, produced: produced)
        var names: [String] = []
        /// The SHA-256 of every valid payload, by name: only a bill whose receipt holds the payload as it is
        /// now is submitted or audited.
        var currentSHA256: [String: String] = [:]
        if !paths.isEmpty {
            progress("load: \(paths.count) payload file(s); sending in batches of up to \(config.batchSize), "
                + "\(config.concurrency) at a time, while the rest are read")
        }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var inFlight = 0
                func send(_ batch: [PayloadDocument]) async throws {
                    // Batches waiting for a permit or writing their files: a few more than the requests in
                    // flight, so that a permit never waits for a batch to be prepared.
                    if inFlight >= 2 * max(1, config.concurrency) {
                        try await group.next()
                        inFlight -= 1
                    }
                    group.addTask { try await self.process(batch, attempt: 1, reason: "new") }
                    inFlight += 1
                }
                // Open batches by form id and options (only equal options share a batch), in order of first use.
                var open: [String: [PayloadDocument]] = [:]
                var order: [String] = []
                // The next chunk is read while this one's batches are sent.
                // The first chunk is small, so the first batches go out as soon as possible.
                let first = min(paths.count, max(1, config.batchSize) * max(1, config.concurrency))
                let chunks = [Array(paths[..<first])]
                    + stride(from: first, to: paths.count, by: Self.scanChunk).map {
                        Array(paths[$0..<min($0 + Self.scanChunk, paths.count)])
                    }
                let orgField = config.existenceCheckOrgField
                var reading = chunks.first.map { first in Task { await Scan.readOffThePool(first, organizationField: orgField) } }
                for (k, chunk) in chunks.enumerated() {
                    let loaded = await reading!.value
                    reading = k + 1 < chunks.count
                        ? Task { [next = chunks[k + 1]] in await Scan.readOffThePool(next, organizationField: orgField) } : nil
                    let invalidBefore = scan.invalidNames.count
                    let documents = scan.accept(chunk, loaded)
                    for (name, diagnostic, sha) in scan.invalidNames[invalidBefore...] {
                        progress("load: \(diagnostic.description)")
                        if scan.receipt(name) != nil { continue }
                        if let existing = scan.errorFile(name), existing["payload_sha256"]?.stringValue == sha { continue }
                        try writeLocalError(name: name, diagnostic: diagnostic, sha256: sha)
                    }
                    var settled = scan.invalidNames.count - invalidBefore
                    defer {
                        if settled > 0 { progress("load: \(settled) payload(s) need no sending (loaded, changed, kept failed or invalid)") }
                    }
                    for document in documents {
                        names.append(document.name)
                        currentSHA256[document.name] = document.sha256
                        // Found in Kingdee just now: its receipt is written; it is neither pending nor failed.
                        if foundInDoubt.contains(document.name) {
                            settled += 1
                            continue
                        }
                        var state = try classify(document, in: scan, retryFailed: retryFailed)
                        if state == .receiptUnreadable {
                            // Found: the receipt is written again. Not found: sent like any pending one. A bill
                            // the journal shows saved is asked for by its Kingdee Id (its number may be
                            // Kingdee's own, which FBillNo does not find); else by FBillNo.
                            let found: Bool
                            if let bill = journal.savedBills[document.name] {
                                _ = try await restoreMissingReceipts(steps: [], saved: [(bill, document)])
                                found = Scan.readJSON(PayloadDirectory.receiptPath(directory: directory, name: document.name))?
                                    .objectValue != nil
                                if found { lock.withLock { _ = stepCandidates.insert(document.name) } }
                            } else {
                                let sent = journal.lastSentSHA256(document.name).map { [document.name: $0] } ?? [:]
                                found = try await reconcile([document], batches: [], sentSHA256: sent).isEmpty
                                // Found: `reconcile` made it a candidate for the steps after saving.
                            }
                            if found { lock.withLock { summary.inDoubtFound += 1 } }
                            state = found ? .loaded : scan.unlessNotProduced(.pending, document.name)
                            if state == .notProduced { leaveUnsent(document.name) }
                        }
                        if state != .pending { settled += 1 }
                        if state == .pending {
                            if resend.contains(document.name) { lock.withLock { summary.inDoubtResent += 1 } }
                            let key = document.groupKey
                            if open[key] == nil { order.append(key) }
                            open[key, default: []].append(document)
                            if open[key]!.count >= max(1, config.batchSize) {
                                try await send(open.removeValue(forKey: key)!)
                            }
                        }
                    }
                }
                for key in order {
                    if let rest = open.removeValue(forKey: key), !rest.isEmpty { try await send(rest) }
                }
                try await group.waitForAll()
            }
        } catch let error as Diagnostic {
            throw error
        } catch {
            throw .error("the load stopped: \(error)")
        }

        // Saved bills whose Submit or Audit is still to do: saved by an earlier load (its step failed, or it
        // stopped before), found by ExecuteBillQuery, or saved before `target.after_save` was set. Their
        // FDocumentStatus is asked first: a step is sent only to the bills that still need it.
        if config.afterSave != .none {
            let resume = lock.withLock { stepCandidates.subtracting(stepAttempted) }.sorted()
            var documents: [PayloadDocument] = []
            var unbacked: [PayloadDocument] = []
            for name in resume {
                guard let receipt = Scan.readJSON(PayloadDirectory.receiptPath(directory: directory, name: name)),
                    receipt.objectValue != nil, !Self.missingSteps(receipt, afterSave: config.afterSave).isEmpty
                else { continue }
                // No longer produced by the transform (`LoadRunner.producedPayloads`): asked, not advanced.
                if !scan.isProduced(name) {
                    unbacked.append(Self.savedDocument(name: name, receipt: receipt, directory: directory))
                    continue
                }
                // Found in Kingdee after a lost answer, but the payload was changed or removed since it was
                // sent (the receipt records the payload Kingdee holds): the bill needs a look, and an
                // audited bill would have to be unaudited first. It is left as saved.
                guard let sha = currentSHA256[name], receipt["payload_sha256"]?.stringValue == sha else {
                    progress("load: \(name) is saved in Kingdee but its payload changed or was removed since it was sent; "
                        + "it is not \(config.afterSave == .audit ? "submitted or audited" : "submitted"): check the bill in Kingdee")
                    continue
                }
                documents.append(Self.savedDocument(name: name, receipt: receipt, directory: directory))
            }
            if !documents.isEmpty {
                progress("load: \(documents.count) saved document(s) still to \(config.afterSave == .audit ? "submit and audit" : "submit"); "
                    + "asking Kingdee their FDocumentStatus first")
            }
            for group in Dictionary(grouping: documents, by: \.formID).sorted(by: { $0.key < $1.key }).map(\.value) {
                for chunk in Self.chunks(of: group, size: config.batchSize) {
                    try await advance(chunk, checkFirst: true)
                }
            }
            try await leaveUnbacked(unbacked)
        }
        // An earlier load's step call is settled once the outcome for each of its bills is known: this load
        // asked its FDocumentStatus (and recorded it in the receipt), or the receipt already records the step
        // (the answer came and was written, the load died before its `settled` line). It no longer shows as
        // in doubt then. Bills the steps above did not ask about (`after_save` no longer asks for the step,
        // or the bill is not advanced: its payload changed, its step failed earlier) are asked now. Bills
        // that had no readable receipt were asked before the BatchSaves: the settled line names them.
        func known(_ entry: LoadJournal.Entry, _ step: String) -> Bool {
            if lock.withLock({ statusAsked.contains(entry.name) }) { return true }
            return LoadRunner.receiptRecords(
                step: step, Scan.readJSON(PayloadDirectory.receiptPath(directory: directory, name: entry.name)))
        }
        try await askStatusOfEarlierSteps(earlierSteps.map { step in
            (batch: step.batch, documents: step.documents.filter { !known($0, step.step) })
        })
        for step in earlierSteps where !step.documents.isEmpty && step.documents.allSatisfy({ known($0, step.step) }) {
            var summary = JSONObject()
            summary.append("outcome", "no answer: FDocumentStatus asked by a later load")
            let findings = step.documents.compactMap { entry in missingReceipts[entry.name].map { "\(entry.billNumber): \($0)" } }
            if !findings.isEmpty {
                summary.append("message", .string("receipt missing for " + findings.joined(separator: "; ")))
            }
            try journal.recordSettled(batch: step.batch, summary: .object(summary))
        }

        // Final count from the files themselves.
        var result = lock.withLock { summary }
        result.failed = [:]
        // A receipt written by this run or found by the scan counts by its presence (reading and parsing
        // every receipt again took a tenth of a large load).
        let after = Scan(directory: directory, listing: Set(FileSystem.list(directory)))
        // Counted once, as not produced (an error file an earlier load left beside it stays, unacted on).
        let notProduced = Set(result.notProduced)
        for name in names where !after.hasReceipt(name) && !notProduced.contains(name) {
            if let error = after.errorFile(name),
                let cls = error["class"]?.stringValue.flatMap(KingdeeErrorClass.init(rawValue:))
            {
                result.failed[cls, default: 0] += 1
            }
        }
        if config.afterSave != .none {
            // Saved, but a Submit or Audit failed: the receipt stays, the error file names the step.
            for name in names where after.hasReceipt(name) && !notProduced.contains(name) {
                if let error = after.errorFile(name), error["step"] != nil,
                    let cls = error["class"]?.stringValue.flatMap(KingdeeErrorClass.init(rawValue:))
                {
                    result.failed[cls, default: 0] += 1
                    result.savedNotFinished += 1
                }
            }
        }
        for (name, _, _) in scan.invalidNames where !after.hasReceipt(name) {
            result.failed[.data, default: 0] += 1
        }
        return result
    }

    /// The documents of unsettled batches that have no receipt and no valid payload (removed by a later
    /// transform, or no longer passing the local checks), rebuilt from their journal entries: name, form
    /// id, FBillNo, the SHA-256 sent and, when the journal recorded it for `organizationField` (the load's
    /// `target.existence_check_org_field`), the organisation sent; without it (a line of an older Ferry,
    /// or another field), FBillNo alone. They can be looked up in Kingdee, never sent.
    static func journalOnlyDocuments(
        _ unsettled: [(batch: String, formID: String, documents: [LoadJournal.Entry])], excluding valid: Set<String>,
        directory: String, scan: Scan, organizationField: String
    ) -> [PayloadDocument] {
        var seen = valid
        var result: [PayloadDocument] = []
        for batch in unsettled {
            for entry in batch.documents where !seen.contains(entry.name) && !entry.billNumber.isEmpty {
                seen.insert(entry.name)
                guard !scan.hasReceipt(entry.name) else { continue }
                let organization = entry.organization?.number(ifField: organizationField)
                result.append(
                    PayloadDocument(
                        path: directory + "/" + entry.name + ".json", name: entry.name, formID: batch.formID,
                        options: JSONObject(), modelJSON: [], billNumber: entry.billNumber, sha256: entry.sha256,
                        organizationField: organization == nil ? "" : organizationField, organization: organization))
            }
        }
        return result.sorted { $0.name < $1.name }
    }

    /// Counts a document that is already settled (loaded, changed, failed earlier), marks a saved one for the
    /// steps after saving (`unfinished`, or `notProduced` with a receipt: only asked), names one not sent
    /// because the transform no longer produces it, and returns its state.
    private func classify(_ document: PayloadDocument, in scan: Scan, retryFailed: Bool) throws(Diagnostic) -> Scan.State {
        if let error = scan.errorFile(document.name) {
            let attempts = Int(error["attempts"]?.scalarText ?? "") ?? 0
            lock.withLock { previousAttempts[document.name] = attempts }
        }
        let state = scan.state(of: document, retryFailed: retryFailed, afterSave: config.afterSave)
        switch state {
        case .unfinished:
            lock.withLock { _ = stepCandidates.insert(document.name) }
        case .notProduced:
            // Saved: its FDocumentStatus is asked after the BatchSaves (`leaveUnbacked`), nothing is sent.
            if scan.hasReceipt(document.name) {
                lock.withLock { _ = stepCandidates.insert(document.name) }
            } else {
                leaveUnsent(document.name)
            }
        case .loaded:
            lock.withLock { summary.alreadyLoaded += 1 }
            try removeStaleError(document.name, listed: scan.listing)
        case .changed:
            lock.withLock { summary.changed.append(document.name) }
            progress("load: \(document.name).json changed since it was loaded (receipt has another SHA-256); not sent")
            try removeStaleError(document.name, listed: scan.listing)
        case .failedKept:
            lock.withLock { summary.failedEarlier += 1 }
        case .receiptUnreadable:
            progress("load: \(document.name).receipt.json cannot be read; asking Kingdee whether \(document.billNumber) "
                + "exists before anything is sent")
        case .pending:
            break
        }
        return state
    }

    /// Names a payload that would be sent but the transform no longer produces (`LoadSummary.notProduced`).
    private func leaveUnsent(_ name: String) {
        progress("load: \(name).json is not sent: the transform no longer produces it (the manifest does not list it); "
            + "check its bill in Kingdee")
        lock.withLock { summary.notProduced.append(name) }
    }

    // MARK: - One batch

    /// Makes the call of a request whose permit was taken, giving the permit back when it ends. An error
    /// that stops the load marks the load stopping first: a batch waiting for the permit is then not sent.
    private func releasingPermit<T>(_ call: () async throws(KingdeeCallError) -> T) async throws(KingdeeCallError) -> T {
        defer { permits.release() }
        do {
            return try await call()
        } catch {
            if await stopsTheLoad(error) { lock.withLock { stopping = true } }
            throw error
        }
    }

    /// Whether `error` of a save call stops the load (below): the configuration is wrong, or the
    /// credentials were never or are no longer accepted.
    private func stopsTheLoad(_ error: KingdeeCallError) async -> Bool {
        switch error {
        case .configuration: return true
        case .refused(1, _):
            if await !client.hasWorked { return true }
            return await client.refusalsInARow >= LoadRunner.refusalsThatStopTheLoad
        default: return false
        }
    }

    /// Sends one batch and settles every document in it (receipt, error file, retry or bisection).
    func process(_ documents: [PayloadDocument], attempt: Int, reason: String) async throws(Diagnostic) {
        guard let first = documents.first else { return }
        // Documents an earlier send of which got no answer: Kingdee may hold them already, so "this bill
        // number exists" probably means Ferry's own bill. After answered sends it means somebody else's.
        let doubtedBefore = Set(documents.filter { journal.wasInDoubt($0.name) }.map(\.name))
        let batch = try journal.recordSent(formID: first.formID, attempt: attempt, documents: documents, reason: reason)
        var status: KingdeeResponseStatus
        await permits.acquire()
        if Task.isCancelled || lock.withLock({ stopping }) {
            // The load stopped (another batch's error) while this one waited: it is not sent, and its
            // documents stay pending for the next load instead of in doubt.
            permits.release()
            try journal.recordSettled(batch: batch, summary: ["outcome": "not sent: the load stopped"])
            return
        }
        lock.withLock { summary.requests += 1 }
        progress("load: \(batch) sending \(documents.count) document(s)" + (attempt > 1 ? " (attempt \(attempt))" : "")
            + (reason == "bisect" ? " (split to find which document an error belongs to)" : ""))
        do throws(KingdeeCallError) {
            status = try await releasingPermit { () async throws(KingdeeCallError) in
                try await client.batchSave(
                    formID: first.formID, options: first.options, models: documents.map(\.modelJSON),
                    batchCount: config.batchCount)
            }
        } catch {
            switch error {
            case .configuration(let message):
                try journal.recordSettled(batch: batch, summary: ["outcome": "refused", "message": .string(message)])
                let midLoad = await client.hasWorked
                throw .error(
                    "Kingdee at \(config.url): \(message)"
                        + (midLoad
                            ? " (This worked earlier in this load. The load stopped; documents not sent yet stay pending and "
                                + "are sent by the next `ferry load`.)" : ""))
            case .notSent(let message), .refused(_, let message):
                let code: Int
                if case .refused(let c, _) = error { code = c } else { code = 0 }
                if code == 1, await !client.hasWorked {
                    // MsgCode 1 before anything ever worked: the credentials are wrong, not the session.
                    try journal.recordSettled(batch: batch, summary: ["outcome": "refused", "message": .string(message)])
                    throw .error("Kingdee at \(config.url) rejected Ferry's credentials: \(message)")
                }
                if code == 1, await client.refusalsInARow >= LoadRunner.refusalsThatStopTheLoad {
                    try journal.recordSettled(batch: batch, summary: ["outcome": "refused", "message": .string(message)])
                    throw LoadRunner.credentialsStoppedWorking(url: config.url, message: message)
                }
                progress("load: \(batch) \(error.description); will retry")
                note(documents, msgCode: code, message: message)
                try journal.recordSettled(batch: batch, summary: ["outcome": "refused", "message": .string(message)])
                try await retry(documents, after: attempt)
            case .noAnswer(let message):
                progress("load: \(batch) \(error.description); \(documents.count) document(s) in doubt, asking Kingdee")
                note(documents, msgCode: 0, message: message)
                var missing = try await reconcile(documents, batches: [batch])
                if !missing.isEmpty && config.inDoubtRecheckSeconds > 0 {
                    // Kingdee goes on with a request whose client gave up (or whose proxy answered 5xx), and
                    // a bill it is still saving is not visible yet: ask once more before sending again.
                    progress("load: \(batch) \(missing.count) document(s) not in Kingdee yet; asking again in "
                        + "\(config.inDoubtRecheckSeconds) s before sending them again")
                    try? await Task.sleep(nanoseconds: UInt64(config.inDoubtRecheckSeconds * 1_000_000_000))
                    missing = try await reconcile(missing, batches: [], batchOf: Dictionary(uniqueKeysWithValues: missing.map { ($0.name, batch) }))
                }
                lock.withLock {
                    summary.inDoubtFound += documents.count - missing.count
                    summary.inDoubtResent += missing.count
                }
                try await retry(missing, after: attempt)
            }
            return
        }

        // Kingdee's error entries always have a DIndex, 0 when no model is meant (`"会话信息已丢失，请重新登录",
        // "DIndex":0`). With nothing saved, an error at DIndex 0 that names no document of the batch names none.
        if status.successes.isEmpty {
            for i in status.errors.indices where status.errors[i].dIndex == 0 {
                let message = status.errors[i].message
                if !documents.contains(where: { message.contains($0.billNumber) }) { status.errors[i].dIndex = nil }
            }
        }

        // A refusal of the whole call.
        let layout = KingdeeBatchLayout.subBatches(count: documents.count, batchCount: config.batchCount)
        let anyIndexed = status.errors.contains { $0.dIndex != nil } || !status.successes.isEmpty
        if !status.isSuccess && !anyIndexed {
            let messages = status.errors.map(\.message)
            let cls = KingdeeErrorClassifier.classify(msgCode: status.msgCode, messages: messages, fieldNames: [])
            if cls == .retryable {
                progress("load: \(batch) refused (MsgCode \(status.msgCode)): \(messages.joined(separator: "; ")); will retry")
                lock.withLock { for d in documents { lastFailure[d.name] = (status.msgCode, status.errors) } }
                if Self.refusedBeforeSaving.contains(status.msgCode) {
                    try journal.recordSettled(batch: batch, summary: ["outcome": "refused", "MsgCode": .number(String(status.msgCode))])
                    try await retry(documents, after: attempt)
                } else {
                    // A database failure or a timeout on Kingdee's side: some bills may be saved. Ask first.
                    let missing = try await reconcile(documents, batches: [batch])
                    lock.withLock {
                        summary.inDoubtFound += documents.count - missing.count
                        summary.inDoubtResent += missing.count
                    }
                    try await retry(missing, after: attempt)
                }
                return
            }
            if cls == .config {
                for d in documents {
                    try writeError(d, cls: .config, msgCode: status.msgCode, errors: status.errors, batch: batch, attempt: attempt)
                }
                try journal.recordSettled(batch: batch, summary: ["outcome": "config error"])
                return
            }
        }

        // Split the answer per document.
        var saved: [String: KingdeeResponseStatus.SuccessEntry] = [:]
        /// Saved under a number of Kingdee's own (DIndex names one document).
        var renumbered: [String: KingdeeResponseStatus.SuccessEntry] = [:]
        /// Perhaps saved under a number of Kingdee's own: with BatchCount the DIndex fits several documents.
        var perhapsRenumbered: [String: KingdeeResponseStatus.SuccessEntry] = [:]
        var doubtful: Set<String> = []
        /// Doubtful because Kingdee said the bill number exists: their errors, in case Kingdee lacks them.
        var duplicateErrors: [String: [KingdeeResponseStatus.ErrorEntry]] = [:]
        func candidates(_ dIndex: Int?) -> [Int] {
            // No batch has as many documents as an absurd DIndex (and adding it could overflow).
            guard let dIndex, dIndex >= 0, dIndex < documents.count else { return [] }
            return layout.compactMap { range in range.contains(range.lowerBound + dIndex) ? range.lowerBound + dIndex : nil }
        }
        for success in status.successes {
            let positions = candidates(success.dIndex)
            if let match = positions.first(where: { documents[$0].billNumber == success.number }) {
                saved[documents[match].name] = success
            } else if !positions.isEmpty && !documents.contains(where: { $0.billNumber == success.number }) {
                // A number no document of the batch has: the form's numbering rule gave the bill its own.
                // The answer is the proof it was saved; ExecuteBillQuery by FBillNo would not find it, and
                // sending it again would save it again.
                lock.withLock { kingdeeRenumbers = true }
                if positions.count == 1 {
                    renumbered[documents[positions[0]].name] = success
                } else {
                    for p in positions { perhapsRenumbered[documents[p].name] = success }
                }
            } else {
                // DIndex and bill number disagree: believe neither, ask Kingdee.
                for p in positions { doubtful.insert(documents[p].name) }
                for d in documents where d.billNumber == success.number { doubtful.insert(d.name) }
            }
        }
        var attributed: [String: [KingdeeResponseStatus.ErrorEntry]] = [:]
        var unattributed: [KingdeeResponseStatus.ErrorEntry] = []
        for entry in status.errors {
            var positions = candidates(entry.dIndex).filter { saved[documents[$0].name] == nil }
            if positions.count > 1 {
                positions = positions.filter { entry.message.contains(documents[$0].billNumber) }
            }
            if positions.count == 1 {
                attributed[documents[positions[0]].name, default: []].append(entry)
            } else {
                unattributed.append(entry)
            }
        }

        var retrySet: [PayloadDocument] = []
        var rest: [PayloadDocument] = []
        var counts = (saved: 0, failed: 0)
        /// The bills this answer saved, for the journal: a receipt removed later is then looked up by Id.
        var savedBills: [LoadJournal.SavedByKingdee] = []
        for document in documents {
            if let success = saved[document.name] {
                try writeReceipt(document, id: success.id, number: success.number, batch: batch, how: "saved", status: nil)
                savedBills.append((document.name, batch, success.id.scalarText ?? "", success.number))
                counts.saved += 1
            } else if let success = renumbered[document.name], !doubtful.contains(document.name) {
                try writeReceipt(
                    document, id: success.id, number: success.number, batch: batch,
                    how: "saved under Kingdee's own number \(success.number) (the form's numbering rule replaced FBillNo)",
                    status: nil)
                progress("load: \(batch) warning: \(document.name) was saved as \(success.number), not \(document.billNumber): "
                    + "the bill type's numbering rule (编码规则) replaces FBillNo; let it keep the number sent")
                savedBills.append((document.name, batch, success.id.scalarText ?? "", success.number))
                counts.saved += 1
            } else if let success = perhapsRenumbered[document.name], !doubtful.contains(document.name),
                attributed[document.name] == nil
            {
                try writeError(
                    document, cls: .config, msgCode: status.msgCode,
                    errors: [Self.renumberedError(success, document: document)], batch: batch, attempt: attempt)
                counts.failed += 1
            } else if doubtful.contains(document.name) {
                rest.append(document)
            } else if let errors = attributed[document.name] {
                let cls = KingdeeErrorClassifier.classify(
                    msgCode: status.msgCode, messages: errors.map(\.message), fieldNames: errors.map(\.fieldName))
                switch cls {
                case .retryable:
                    lock.withLock { lastFailure[document.name] = (status.msgCode, errors) }
                    retrySet.append(document)
                case .duplicate where doubtedBefore.contains(document.name):
                    // An earlier send of it got no answer (a lost answer, a crash): it is probably ours. Ask.
                    doubtful.insert(document.name)
                    duplicateErrors[document.name] = errors
                    rest.append(document)
                default:
                    try writeError(document, cls: cls, msgCode: status.msgCode, errors: errors, batch: batch, attempt: attempt)
                    counts.failed += 1
                }
            } else {
                rest.append(document)
            }
        }
        lock.withLock { summary.loaded += counts.saved }
        if !unattributed.isEmpty {
            progress("load: \(batch) Kingdee reported an error that names no document: "
                + unattributed.map(\.message).joined(separator: "; "))
        }
        progress("load: \(batch) \(counts.saved) saved, \(counts.failed) failed"
            + (rest.isEmpty ? "" : ", \(rest.count) unresolved") + (retrySet.isEmpty ? "" : ", \(retrySet.count) to retry"))

        // Documents the answer does not settle.
        let inDoubt = rest.filter { doubtful.contains($0.name) || unattributed.isEmpty }
        let toBisect = rest.filter { !doubtful.contains($0.name) && !unattributed.isEmpty }
        var missing: [PayloadDocument] = []
        if !inDoubt.isEmpty {
            for d in inDoubt { note([d], msgCode: status.msgCode, message: "Kingdee's answer did not settle this document") }
            missing = try await reconcile(inDoubt, batches: [batch], answered: savedBills)
            let found = inDoubt.count - missing.count
            // Kingdee said the number exists but does not have it under that number (or has it only under
            // another organisation): not Ferry's bill, an error, neither found nor sent again.
            for document in missing {
                guard let errors = duplicateErrors[document.name] else { continue }
                try writeError(document, cls: .duplicate, msgCode: status.msgCode, errors: errors, batch: batch, attempt: attempt)
            }
            missing.removeAll { duplicateErrors[$0.name] != nil }
            lock.withLock {
                summary.inDoubtFound += found
                summary.inDoubtResent += missing.count
            }
        } else {
            try journal.recordSettled(
                batch: batch,
                summary: ["saved": .number(String(counts.saved)), "failed": .number(String(counts.failed))],
                saved: savedBills)
        }
        if config.afterSave != .none {
            // The bills this answer saved: submitted (and audited) now, in one call per step.
            let justSaved = documents.filter { saved[$0.name] != nil || (renumbered[$0.name] != nil && !doubtful.contains($0.name)) }
                .map { d -> PayloadDocument in
                    var d = d
                    if let success = saved[d.name] ?? renumbered[d.name] {
                        d.billNumber = success.number
                        d.billID = success.id.scalarText.flatMap { $0.isEmpty ? nil : $0 }
                    }
                    return d
                }
            try await advance(justSaved, checkFirst: false)
        }
        try await retry(missing + retrySet, after: attempt)
        if toBisect.count == 1 {
            let document = toBisect[0]
            let cls = KingdeeErrorClassifier.classify(
                msgCode: status.msgCode, messages: unattributed.map(\.message), fieldNames: unattributed.map(\.fieldName))
            if cls == .retryable {
                lock.withLock { lastFailure[document.name] = (status.msgCode, unattributed) }
                try await retry([document], after: attempt)
            } else if cls == .duplicate, doubtedBefore.contains(document.name),
                try await reconcile([document], batches: []).isEmpty
            {
                // An earlier send of it got no answer, and Kingdee has it: the receipt is written.
            } else {
                try writeError(document, cls: cls, msgCode: status.msgCode, errors: unattributed, batch: batch, attempt: attempt)
            }
        } else if toBisect.count > 1 {
            let half = toBisect.count / 2
            try await process(Array(toBisect[..<half]), attempt: attempt, reason: "bisect")
            try await process(Array(toBisect[half...]), attempt: attempt, reason: "bisect")
        }
    }

    /// MsgCodes of a retryable refusal of the whole call that Kingdee gives before saving anything: the
    /// session is lost (1), a network-control lock is held (13), the call limit is reached (14). Other
    /// retryable refusals (a database failure, 6; a timeout or an aborted transaction, named in the
    /// message) may come after some bills were saved, so their documents are checked before they are sent
    /// again.
    static let refusedBeforeSaving: Set<Int> = [1, 13, 14]

    /// Sends `documents` again after a backoff, or writes `retryable` error files when out of attempts.
    func retry(_ documents: [PayloadDocument], after attempt: Int) async throws(Diagnostic) {
        guard !documents.isEmpty else { return }
        if attempt <= config.maxRetries {
            let delay = min(30, config.retryDelaySeconds * pow(2, Double(attempt - 1)))
            try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
            // A load that stopped meanwhile sends nothing more: the documents stay pending.
            if Task.isCancelled { return }
            try await process(documents, attempt: attempt + 1, reason: "retry")
            return
        }
        for document in documents {
            let failure = lock.withLock { lastFailure[document.name] }
            let errors = failure?.errors ?? [.init(fieldName: nil, message: "no answer from Kingdee", dIndex: nil)]
            try writeError(document, cls: .retryable, msgCode: failure?.msgCode ?? 0, errors: errors, batch: "", attempt: attempt)
        }
    }

    private func note(_ documents: [PayloadDocument], msgCode: Int, message: String) {
        lock.withLock {
            for d in documents { lastFailure[d.name] = (msgCode, [.init(fieldName: nil, message: message, dIndex: nil)]) }
        }
    }

    // MARK: - After saving: Submit, Audit

    /// The steps `afterSave` asks for, in order.
    static func steps(_ afterSave: KingdeeTargetConfig.AfterSave) -> [KingdeeClient.BillStep] {
        switch afterSave {
        case .none: return []
        case .submit: return [.submit]
        case .audit: return [.submit, .audit]
        }
    }

    /// The receipt field recording that a step was done (`submitted_at`, `audited_at`).
    static func receiptField(_ step: KingdeeClient.BillStep) -> String { step == .submit ? "submitted_at" : "audited_at" }

    /// The steps `afterSave` asks for that `receipt` does not record, in order (an audited bill is submitted).
    static func missingSteps(_ receipt: JSONValue, afterSave: KingdeeTargetConfig.AfterSave) -> [KingdeeClient.BillStep] {
        if receipt[receiptField(.audit)] != nil { return [] }
        return steps(afterSave).filter { receipt[receiptField($0)] == nil }
    }

    /// Whether a bill in FDocumentStatus `status` has had `step` (B submitted, C audited and submitted).
    static func hasReached(_ step: KingdeeClient.BillStep, status: String?) -> Bool {
        guard let status else { return false }
        return status == "C" || (step == .submit && status == "B")
    }

    /// A saved document rebuilt from its receipt (to submit or audit; never to save): `billNumber` is the
    /// number Kingdee has the bill under.
    static func savedDocument(name: String, receipt: JSONValue, directory: String) -> PayloadDocument {
        PayloadDocument(
            path: directory + "/" + name + ".json", name: name, formID: receipt["formid"]?.stringValue ?? "",
            options: JSONObject(), modelJSON: [],
            billNumber: receipt["kingdee"]?["Number"]?.scalarText ?? receipt["FBillNo"]?.scalarText ?? "",
            sha256: receipt["payload_sha256"]?.stringValue ?? "",
            billID: receipt["kingdee"]?["Id"]?.scalarText.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// Takes saved `documents` (of one form; `billNumber` is Kingdee's number) through the steps
    /// `target.after_save` asks for: one Submit call, then one Audit call for the bills submitted.
    ///
    /// With `checkFirst` (documents saved by an earlier load, found by ExecuteBillQuery, or whose step
    /// failed), their FDocumentStatus is asked first and only the missing steps are sent: an audited bill
    /// (C) is never submitted or audited again. Receipts record each step reached (`submitted_at`,
    /// `audited_at`); a failed step leaves the receipt and writes an error file naming the step.
    func advance(_ documents: [PayloadDocument], checkFirst: Bool) async throws(Diagnostic) {
        guard !documents.isEmpty, config.afterSave != .none else { return }
        // Bills are named by their ids in one call, by their numbers in another (an answer without an Id).
        if documents.contains(where: { $0.billID == nil }) && documents.contains(where: { $0.billID != nil }) {
            try await advance(documents.filter { $0.billID != nil }, checkFirst: checkFirst)
            try await advance(documents.filter { $0.billID == nil }, checkFirst: checkFirst)
            return
        }
        lock.withLock { stepAttempted.formUnion(documents.map(\.name)) }
        var status: [String: String] = [:]
        if checkFirst {
            status = try await documentStatuses(documents, batch: "")
        } else {
            for d in documents { status[d.name] = "A" }
        }
        for step in Self.steps(config.afterSave) {
            let due = documents.filter { status[$0.name] != nil && !Self.hasReached(step, status: status[$0.name]) }
            guard !due.isEmpty else { continue }
            if step == .audit {
                // Only bills known to be submitted are audited.
                let ready = due.filter { status[$0.name] == "B" }
                for d in try await runStep(.audit, ready, attempt: 1) { status[d.name] = "C" }
            } else {
                for d in try await runStep(.submit, due, attempt: 1) { status[d.name] = "B" }
            }
        }
    }

    /// Saved bills with a step still to do that the transform no longer produces: the current source data
    /// does not back them, and an audit moves stock, so nothing is submitted or audited for them. Kingdee is
    /// asked their FDocumentStatus all the same, so that a step done there by hand is recorded (the receipt
    /// gains it, a failed step's error file goes) and the bill stops showing as unfinished; those still
    /// short of a step are named (`LoadSummary.notProduced`, exit 1).
    func leaveUnbacked(_ unbacked: [PayloadDocument]) async throws(Diagnostic) {
        guard !unbacked.isEmpty else { return }
        let what = config.afterSave == .audit ? "submitted or audited" : "submitted"
        progress("load: \(unbacked.count) saved bill(s) still to \(config.afterSave == .audit ? "submit or audit" : "submit") "
            + "whose payload the transform no longer produces: asking Kingdee their FDocumentStatus; none is \(what)")
        try await recordStatuses(unbacked.map { ($0, "") })
        for document in unbacked {
            guard let receipt = Scan.readJSON(PayloadDirectory.receiptPath(directory: directory, name: document.name)),
                !Self.missingSteps(receipt, afterSave: config.afterSave).isEmpty
            else { continue }
            progress("load: \(document.name) is saved in Kingdee but the transform no longer produces its payload; it is not "
                + "\(what): check the bill in Kingdee (finish, change or delete it there)")
            lock.withLock { summary.notProduced.append(document.name) }
        }
    }

    /// Asks Kingdee the FDocumentStatus of the bills of Submit and Audit calls an earlier load sent and never
    /// got the answer of (`batches`: each call's batch and its bills whose outcome is not known yet), records
    /// in their receipts the steps Kingdee did (`markStep`) and sends nothing: whatever `target.after_save`
    /// is now, even `none`, the call is then settled and its bills no longer show as in doubt.
    ///
    /// Only a read (ExecuteBillQuery by id), never a Submit or Audit: the steps `after_save` asks for were
    /// sent by `advance` already, and a step it no longer asks for is not done. A bill Kingdee does not find
    /// gets no error file (its receipt stands, as every receipt does with `none`); the load says so.
    /// A bill without a readable receipt is not asked here (nothing to record into): it was asked before
    /// anything was sent (`restoreMissingReceipts`).
    ///
    /// - Throws: a `Diagnostic` when Kingdee cannot be asked (after retries); the calls stay unsettled.
    func askStatusOfEarlierSteps(_ batches: [(batch: String, documents: [LoadJournal.Entry])]) async throws(Diagnostic) {
        var seen: Set<String> = []
        var documents: [(document: PayloadDocument, batch: String)] = []
        for (batch, entries) in batches {
            for entry in entries where seen.insert(entry.name).inserted {
                guard let receipt = Scan.readJSON(PayloadDirectory.receiptPath(directory: directory, name: entry.name)),
                    receipt.objectValue != nil
                else { continue }
                documents.append((Self.savedDocument(name: entry.name, receipt: receipt, directory: directory), batch))
            }
        }
        guard !documents.isEmpty else { return }
        progress("load: \(documents.count) saved bill(s) had a Submit or Audit in flight when an earlier load stopped; "
            + "asking Kingdee their FDocumentStatus (nothing is submitted or audited for them now)")
        try await recordStatuses(documents)
    }

    /// Asks Kingdee the FDocumentStatus of saved bills and records in their receipts the steps Kingdee did
    /// (`documentStatuses`), sending nothing; a bill Kingdee does not find keeps its receipt and the load
    /// says so. One query per form, chunk and way of naming the bills (by id when known, as `advance`
    /// does); `batch` is what an error or receipt line names the query by.
    func recordStatuses(_ documents: [(document: PayloadDocument, batch: String)]) async throws(Diagnostic) {
        let groups = Dictionary(grouping: documents) { "\($0.document.formID)|\($0.document.billID == nil)" }
        for key in groups.keys.sorted() {
            for chunk in Self.chunks(of: groups[key]!, size: config.batchSize) {
                _ = try await documentStatuses(chunk.map(\.document), batch: chunk[0].batch, reportMissing: { document in
                    self.progress("load: " + Self.notInKingdee(document) + "; its receipt is kept: check the bill in Kingdee")
                })
            }
        }
    }

    /// The bills the journal shows Ferry saved (`LoadJournal.savedBills`) whose payload is valid and has no
    /// receipt in `listing` (removed by hand, or lost), by name. Each is looked up by its Kingdee Id before
    /// anything is sent (`restoreMissingReceipts`). A receipt that exists but cannot be read is not read
    /// here (that would read every receipt): the scan finds it and asks Kingdee the same way (by FBillNo
    /// only for a bill the journal does not show saved).
    static func savedWithoutReceipt(
        _ journal: LoadJournal, directory: String, listing: Set<String>, organizationField: String
    ) -> [(bill: LoadJournal.SavedBill, payload: PayloadDocument)] {
        var result: [(bill: LoadJournal.SavedBill, payload: PayloadDocument)] = []
        for (name, bill) in journal.savedBills.sorted(by: { $0.key < $1.key }) {
            guard listing.contains(name + ".json"), !listing.contains(name + ".receipt.json") else { continue }
            guard let payload = try? PayloadDirectory.load(directory + "/" + name + ".json", organizationField: organizationField)
            else { continue }
            result.append((bill, payload))
        }
        return result
    }

    /// Asks Kingdee about bills the journal shows Ferry saved that have no readable receipt (removed or
    /// broken by hand), before anything is sent: the bills of Submit and Audit calls an earlier load sent and
    /// never got the answer of (`steps`: a step is sent only for a saved bill), and the bills of answered
    /// saves (`saved`, from `savedWithoutReceipt`; one a step names is asked once, as a step's). None is sent
    /// as new before Kingdee is asked: by the Id the journal recorded (for a `step` line of an older Ferry,
    /// by the number it named the bill by, Kingdee's). A bill Kingdee has gets its receipt again (`how`
    /// says so; with the payload SHA-256 the journal recorded, so a payload changed since shows as changed)
    /// and the steps its FDocumentStatus shows (`markStep`); one it does not have (deleted there), or a
    /// number more than one bill has, gets nothing, and is sent as any payload without a receipt. Each bill
    /// is named in the progress output.
    ///
    /// - Returns: by payload name, what was found (for a step call's `settled` line).
    /// - Throws: a `Diagnostic` when Kingdee cannot be asked (after retries): nothing is sent then.
    func restoreMissingReceipts(
        steps: [(batch: String, step: String, formID: String, documents: [LoadJournal.Entry])],
        saved: [(bill: LoadJournal.SavedBill, payload: PayloadDocument)] = []
    ) async throws(Diagnostic) -> [String: String] {
        var seen: Set<String> = []
        /// `step`: the step call in doubt (nil: an answered save); `batch`, the step call's or the save's.
        var bills: [(entry: LoadJournal.Entry, step: String?, batch: String, formID: String)] = []
        for step in steps {
            for entry in step.documents where seen.insert(entry.name).inserted {
                let receipt = Scan.readJSON(PayloadDirectory.receiptPath(directory: directory, name: entry.name))
                if receipt?.objectValue == nil { bills.append((entry, step.step, step.batch, step.formID)) }
            }
        }
        let stepBills = bills.count
        for (bill, payload) in saved where seen.insert(bill.name).inserted {
            let entry = LoadJournal.Entry(
                name: bill.name, billNumber: bill.billNumber.isEmpty ? payload.billNumber : bill.billNumber,
                sha256: bill.sha256.isEmpty ? payload.sha256 : bill.sha256, organization: nil, billID: bill.billID)
            bills.append((entry, nil, bill.batch, bill.formID.isEmpty ? payload.formID : bill.formID))
        }
        guard !bills.isEmpty else { return [:] }
        if stepBills > 0 {
            progress("load: \(stepBills) saved bill(s) had a Submit or Audit in flight when an earlier load stopped and have "
                + "no readable receipt (removed or edited by hand?); asking Kingdee about them before anything is sent")
        }
        if bills.count > stepBills {
            progress("load: \(bills.count - stepBills) bill(s) an earlier load saved have no readable receipt (removed or "
                + "edited by hand?); asking Kingdee about them by Id before anything is sent")
        }
        var findings: [String: String] = [:]
        // One query per form, chunk and way of naming the bills (by id when the journal has every one's).
        let groups = Dictionary(grouping: bills) { "\($0.formID)|\($0.entry.billID == nil)" }
        for key in groups.keys.sorted() {
            let group = groups[key]!.sorted { $0.entry.name < $1.entry.name }
            let byID = group[0].entry.billID != nil
            for chunk in Self.chunks(of: group, size: config.batchSize) {
                let found = try await queryBills(
                    formID: chunk[0].formID, numbers: byID ? [] : chunk.map(\.entry.billNumber),
                    ids: byID ? chunk.compactMap(\.entry.billID) : [], organizationField: "",
                    what: "whether \(chunk.count) saved bill(s) without a receipt exist")
                lock.withLock { statusAsked.formUnion(chunk.filter { $0.step != nil }.map(\.entry.name)) }
                for (entry, step, batch, formID) in chunk {
                    let matches = found.filter { byID ? $0.id.scalarText == entry.billID : $0.number == entry.billNumber }
                    let payloadPath = directory + "/" + entry.name + ".json"
                    let hasPayload = FileSystem.exists(payloadPath)
                    let said = step.map {
                        "load: \(entry.billNumber) has no readable receipt, though its \($0) (\(batch)) was sent "
                            + "by an earlier load and never answered: "
                    } ?? "load: \(entry.billNumber) has no readable receipt, though \(batch.isEmpty ? "an earlier load" : batch) "
                        + "saved it in Kingdee (Id \(entry.billID ?? "?")): "
                    guard matches.count == 1, let bill = matches.first else {
                        findings[entry.name] = matches.isEmpty
                            ? "not found in Kingdee, nothing recorded"
                            : "\(matches.count) bills with that number in Kingdee, nothing recorded"
                        progress(said
                            + (matches.isEmpty
                                ? "Kingdee does not find it (deleted there?); nothing recorded"
                                : "Kingdee has \(matches.count) bills numbered \(entry.billNumber) (other organisations'?); "
                                    + "nothing recorded: check in Kingdee which is Ferry's")
                            + (!hasPayload ? "; its payload is gone: nothing to send"
                                : produced?.contains(entry.name) == false ? "; the transform no longer produces it: not sent"
                                : step == nil ? "; its payload is sent as new" : "; its payload is sent as any without a receipt"))
                        continue
                    }
                    // The bill as the payload names it now, when it can be read; else as the journal does.
                    let payload = hasPayload ? try? PayloadDirectory.load(payloadPath) : nil
                    let document = payload ?? PayloadDocument(
                        path: payloadPath, name: entry.name, formID: formID, options: JSONObject(), modelJSON: [],
                        billNumber: entry.billNumber, sha256: entry.sha256)
                    let receiptBatch = step == nil
                        ? batch : journal.sends(of: entry.name).last { $0.kind == "sent" || $0.kind == "inherited" }?.batch ?? batch
                    try writeReceipt(
                        document, id: bill.id, number: bill.number, batch: receiptBatch,
                        how: "found by ExecuteBillQuery (its receipt was missing)", status: bill.status,
                        payloadSHA256: entry.sha256)
                    let saved = Self.savedDocument(
                        name: entry.name,
                        receipt: Scan.readJSON(PayloadDirectory.receiptPath(directory: directory, name: entry.name)) ?? [:],
                        directory: directory)
                    for reached in Self.steps(.audit) where Self.hasReached(reached, status: bill.status) {
                        try markStep(saved, reached)
                    }
                    let status = bill.status.isEmpty ? "" : ", FDocumentStatus \(bill.status)"
                    findings[entry.name] = "found in Kingdee\(status), receipt written again"
                    progress(said + "Kingdee has it (Id \(bill.id.scalarText ?? "?")\(status)); receipt "
                        + "\(entry.name).receipt.json written again")
                }
            }
        }
        return findings
    }

    /// `documents` in runs of at most `size` (at least 1): one call or query each.
    static func chunks<T>(of documents: [T], size: Int) -> [[T]] {
        stride(from: 0, to: documents.count, by: max(1, size)).map { Array(documents[$0..<min($0 + max(1, size), documents.count)]) }
    }

    /// What the load says of a saved bill ExecuteBillQuery does not find (its Id when known).
    static func notInKingdee(_ document: PayloadDocument) -> String {
        "ExecuteBillQuery does not find bill \(document.billNumber)" + (document.billID.map { " (Id \($0))" } ?? "")
            + " in Kingdee, though it has a receipt (deleted in Kingdee?)"
    }

    /// Asks Kingdee the FDocumentStatus of `documents`' bills, records in their receipts the steps they have
    /// had (B: submitted; C: submitted and audited) and returns the status by payload name. A bill Kingdee
    /// does not have is not in the result: it gets an error file naming the step, or, with `reportMissing`,
    /// is handed to it instead.
    func documentStatuses(
        _ documents: [PayloadDocument], batch: String, reportMissing: ((PayloadDocument) -> Void)? = nil
    ) async throws(Diagnostic) -> [String: String] {
        guard let formID = documents.first?.formID else { return [:] }
        // By id when every bill has one (a number may be another organisation's bill's too), else by number.
        let ids = documents.compactMap(\.billID)
        let byID = ids.count == documents.count
        let bills = try await queryBills(
            formID: formID, numbers: byID ? [] : documents.map(\.billNumber), ids: byID ? ids : [], organizationField: "",
            what: "the FDocumentStatus of \(documents.count) saved bill(s)")
        let found = Dictionary(grouping: bills) { byID ? ($0.id.scalarText ?? "") : $0.number }
        lock.withLock { statusAsked.formUnion(documents.map(\.name)) }
        var result: [String: String] = [:]
        for document in documents {
            guard let bill = found[byID ? document.billID ?? "" : document.billNumber]?.first else {
                if let reportMissing {
                    reportMissing(document)
                    continue
                }
                try writeError(
                    document, cls: .data, msgCode: 0,
                    errors: [.init(
                        fieldName: "FBillNo",
                        message: Self.notInKingdee(document) + "; it was neither submitted nor audited", dIndex: nil)],
                    batch: batch, attempt: 1, step: .submit)
                continue
            }
            result[document.name] = bill.status
            for step in Self.steps(.audit) where Self.hasReached(step, status: bill.status) {
                try markStep(document, step, how: "FDocumentStatus \(bill.status) in Kingdee")
            }
        }
        return result
    }

    /// Records in `document`'s receipt that its bill had `step` (the other fields unchanged), and removes
    /// an error file of that step (or of any step, once every step asked for is done).
    func markStep(_ document: PayloadDocument, _ step: KingdeeClient.BillStep, how: String? = nil) throws(Diagnostic) {
        let path = PayloadDirectory.receiptPath(directory: directory, name: document.name)
        guard case .object(var receipt)? = Scan.readJSON(path) else { return }
        guard receipt[Self.receiptField(step)] == nil else { return }
        receipt.append(Self.receiptField(step), .string(Timestamp.now()))
        try FileSystem.writeAtomically(JSONWriter().bytes(.object(receipt)), to: path, durable: false)
        lock.withLock {
            if step == .submit { summary.submitted += 1 } else { summary.audited += 1 }
        }
        if let how { progress("load: \(document.billNumber) already \(step == .submit ? "submitted" : "audited") (\(how))") }
        let errorPath = PayloadDirectory.errorPath(directory: directory, name: document.name)
        if let error = Scan.readJSON(errorPath), let failed = error["step"]?.stringValue,
            failed == step.rawValue || Self.missingSteps(.object(receipt), afterSave: config.afterSave).isEmpty
        {
            try removeStaleError(document.name)
        }
    }

    /// Sends `step` for `documents` (one call, journalled first) and settles each bill; returns the
    /// documents whose bills had the step (done now, or found done by ExecuteBillQuery).
    func runStep(_ step: KingdeeClient.BillStep, _ documents: [PayloadDocument], attempt: Int) async throws(Diagnostic)
        -> [PayloadDocument]
    {
        guard let first = documents.first else { return [] }
        // Named by id when every bill has one (see `PayloadDocument.billID`).
        let ids = documents.allSatisfy { $0.billID != nil } ? documents.compactMap(\.billID) : []
        let batch = try journal.recordStep(
            step.rawValue, formID: first.formID, attempt: attempt, documents: documents, reason: attempt > 1 ? "retry" : "new")
        await permits.acquire()
        if Task.isCancelled || lock.withLock({ stopping }) {
            permits.release()
            try journal.recordSettled(batch: batch, summary: ["outcome": "not sent: the load stopped"])
            return []
        }
        progress("load: \(batch) \(step.rawValue) \(documents.count) bill(s)" + (attempt > 1 ? " (attempt \(attempt))" : ""))
        var status: KingdeeResponseStatus
        do throws(KingdeeCallError) {
            status = try await releasingPermit { () async throws(KingdeeCallError) in
                try await client.billStep(
                    step, formID: first.formID, numbers: documents.map(\.billNumber), ids: ids,
                    interactionFlags: config.auditInteractionFlags)
            }
        } catch {
            switch error {
            case .configuration(let message):
                try journal.recordSettled(batch: batch, summary: ["outcome": "refused", "message": .string(message)])
                throw .error("Kingdee at \(config.url): \(message)")
            case .notSent(let message), .refused(_, let message):
                let code: Int
                if case .refused(let c, _) = error { code = c } else { code = 0 }
                try journal.recordSettled(batch: batch, summary: ["outcome": "refused", "message": .string(message)])
                if code == 1, await !client.hasWorked {
                    throw .error("Kingdee at \(config.url) rejected Ferry's credentials: \(message)")
                }
                if code == 1, await client.refusalsInARow >= LoadRunner.refusalsThatStopTheLoad {
                    throw LoadRunner.credentialsStoppedWorking(url: config.url, message: message)
                }
                progress("load: \(batch) \(error.description); will retry")
                return try await retryStep(
                    step, documents, after: attempt, checkFirst: false,
                    failure: (code, [.init(fieldName: nil, message: message, dIndex: nil)]))
            case .noAnswer(let message):
                progress("load: \(batch) \(error.description); asking Kingdee the bills' FDocumentStatus before anything is sent again")
                var statuses = try await documentStatuses(documents, batch: batch)
                let notYet = documents.filter { statuses[$0.name] != nil && !Self.hasReached(step, status: statuses[$0.name]) }
                if !notYet.isEmpty && config.inDoubtRecheckSeconds > 0 {
                    // The answer was lost, not necessarily the work: Kingdee goes on with a call whose client
                    // gave up (or whose proxy answered 5xx), and a bill it is still submitting or auditing shows
                    // its old FDocumentStatus. Ask once more before sending the step again, as for BatchSave.
                    progress("load: \(batch) \(notYet.count) bill(s) not \(step == .submit ? "submitted" : "audited") yet; "
                        + "asking again in \(config.inDoubtRecheckSeconds) s before sending the \(step.rawValue) again")
                    try? await Task.sleep(nanoseconds: UInt64(config.inDoubtRecheckSeconds * 1_000_000_000))
                    // A load that stopped meanwhile asks nothing more: the bills stay to do for the next load.
                    if !Task.isCancelled {
                        let again = try await documentStatuses(notYet, batch: batch)
                        for document in notYet { statuses[document.name] = again[document.name] }
                    }
                }
                try journal.recordSettled(batch: batch, summary: ["outcome": "no answer: FDocumentStatus checked", "message": .string(message)])
                let done = documents.filter { Self.hasReached(step, status: statuses[$0.name]) }
                let notDone = documents.filter { statuses[$0.name] != nil && !Self.hasReached(step, status: statuses[$0.name]) }
                return done + (try await retryStep(
                    step, notDone, after: attempt, checkFirst: false,
                    failure: (0, [.init(fieldName: nil, message: message, dIndex: nil)])))
            }
        }

        // Kingdee gives DIndex 0 to an error that means no bill: with nothing done, one that names no bill of
        // the call names none.
        func named(_ message: String) -> PayloadDocument? {
            documents.filter { message.contains($0.billNumber) }.max { $0.billNumber.count < $1.billNumber.count }
        }
        if status.successes.isEmpty {
            for i in status.errors.indices where status.errors[i].dIndex == 0 && named(status.errors[i].message) == nil {
                status.errors[i].dIndex = nil
            }
        }
        // Per bill: successes by Number (DIndex when it has none), errors by the number they name, else DIndex.
        var done: Set<String> = []
        for success in status.successes {
            if !ids.isEmpty {
                // Named by id: the answer's Id says which bill (its number may be another bill's too).
                if let id = success.id.scalarText, let d = documents.first(where: { $0.billID == id }) {
                    done.insert(d.name)
                } else if let i = success.dIndex, documents.indices.contains(i), success.id.scalarText == nil {
                    done.insert(documents[i].name)
                }
            } else if let d = documents.first(where: { $0.billNumber == success.number }) {
                done.insert(d.name)
            } else if success.number.isEmpty, let i = success.dIndex, documents.indices.contains(i) {
                done.insert(documents[i].name)
            }
        }
        var errors: [String: [KingdeeResponseStatus.ErrorEntry]] = [:]
        var unattributed: [KingdeeResponseStatus.ErrorEntry] = []
        for entry in status.errors {
            if let d = named(entry.message) ?? entry.dIndex.flatMap({ documents.indices.contains($0) ? documents[$0] : nil }),
                !done.contains(d.name)
            {
                errors[d.name, default: []].append(entry)
            } else {
                unattributed.append(entry)
            }
        }
        var reached: [PayloadDocument] = []
        var retrySet: [PayloadDocument] = []
        var unsettled: [PayloadDocument] = []
        var refused: [(document: PayloadDocument, cls: KingdeeErrorClass, entries: [KingdeeResponseStatus.ErrorEntry])] = []
        var failed = 0
        for document in documents {
            if done.contains(document.name) {
                try markStep(document, step)
                reached.append(document)
            } else if let entries = errors[document.name] {
                let cls = KingdeeErrorClassifier.classify(
                    msgCode: status.msgCode, messages: entries.map(\.message), fieldNames: entries.map(\.fieldName))
                if cls == .retryable {
                    lock.withLock { lastFailure[document.name] = (status.msgCode, entries) }
                    retrySet.append(document)
                } else {
                    refused.append((document, cls, entries))
                }
            } else {
                unsettled.append(document)
            }
        }
        if !refused.isEmpty {
            // A refusal may only say the bill is past this step ("状态不正确（审核中），不能提交", "单据已审核"): done
            // by an earlier call whose answer was lost and that Kingdee finished late, or by hand in Kingdee.
            // Its FDocumentStatus says which; only a bill that has not had the step gets an error file.
            let statuses = try await documentStatuses(refused.map(\.document), batch: batch)
            for (document, cls, entries) in refused where statuses[document.name] != nil {
                if Self.hasReached(step, status: statuses[document.name]) {
                    reached.append(document)
                } else {
                    try writeError(document, cls: cls, msgCode: status.msgCode, errors: entries, batch: batch, attempt: attempt, step: step)
                    failed += 1
                }
            }
        }
        try journal.recordSettled(batch: batch, summary: [
            step == .submit ? "submitted" : "audited": .number(String(reached.count)), "failed": .number(String(failed)),
        ])
        progress("load: \(batch) \(reached.count) \(step == .submit ? "submitted" : "audited"), \(failed) failed"
            + (unsettled.isEmpty ? "" : ", \(unsettled.count) unresolved") + (retrySet.isEmpty ? "" : ", \(retrySet.count) to retry"))
        if !unsettled.isEmpty {
            let cls = unattributed.isEmpty
                ? KingdeeErrorClass.retryable
                : KingdeeErrorClassifier.classify(
                    msgCode: status.msgCode, messages: unattributed.map(\.message), fieldNames: unattributed.map(\.fieldName))
            let entries = unattributed.isEmpty
                ? [KingdeeResponseStatus.ErrorEntry(fieldName: nil, message: "Kingdee's answer did not settle this bill", dIndex: nil)]
                : unattributed
            if cls == .retryable && !unattributed.isEmpty && Self.refusedBeforeSaving.contains(status.msgCode) {
                // Refused before doing anything (session, network control, call limit): simply again.
                lock.withLock { for d in unsettled { lastFailure[d.name] = (status.msgCode, entries) } }
                retrySet += unsettled
            } else {
                // Kingdee may have done the step for some of them: ask before anything else.
                let statuses = try await documentStatuses(unsettled, batch: batch)
                for document in unsettled where statuses[document.name] != nil {
                    if Self.hasReached(step, status: statuses[document.name]) {
                        reached.append(document)
                    } else if cls == .retryable {
                        lock.withLock { lastFailure[document.name] = (status.msgCode, entries) }
                        retrySet.append(document)
                    } else {
                        try writeError(document, cls: cls, msgCode: status.msgCode, errors: entries, batch: batch, attempt: attempt, step: step)
                    }
                }
            }
        }
        return reached + (try await retryStep(step, retrySet, after: attempt, checkFirst: true, failure: nil))
    }

    /// Sends `step` again for `documents` after a backoff (asking their FDocumentStatus first unless
    /// `checkFirst` is false: the call was refused before Kingdee did anything), or writes `retryable` error
    /// files naming the step when out of attempts. Returns the documents that had the step.
    func retryStep(
        _ step: KingdeeClient.BillStep, _ documents: [PayloadDocument], after attempt: Int, checkFirst: Bool,
        failure: (msgCode: Int, errors: [KingdeeResponseStatus.ErrorEntry])?
    ) async throws(Diagnostic) -> [PayloadDocument] {
        guard !documents.isEmpty else { return [] }
        if let failure { lock.withLock { for d in documents { lastFailure[d.name] = failure } } }
        if attempt <= config.maxRetries {
            let delay = min(30, config.retryDelaySeconds * pow(2, Double(attempt - 1)))
            try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
            if Task.isCancelled { return [] }
            var due = documents
            var reached: [PayloadDocument] = []
            if checkFirst {
                let statuses = try await documentStatuses(documents, batch: "")
                reached = documents.filter { Self.hasReached(step, status: statuses[$0.name]) }
                due = documents.filter { statuses[$0.name] != nil && !Self.hasReached(step, status: statuses[$0.name]) }
            }
            return reached + (try await runStep(step, due, attempt: attempt + 1))
        }
        for document in documents {
            let failure = lock.withLock { lastFailure[document.name] }
            let errors = failure?.errors ?? [.init(fieldName: nil, message: "no answer from Kingdee", dIndex: nil)]
            try writeError(document, cls: .retryable, msgCode: failure?.msgCode ?? 0, errors: errors, batch: "", attempt: attempt, step: step)
        }
        return []
    }

    // MARK: - In doubt

    /// Asks Kingdee which of `documents` exist, writes receipts for those, journals the check (closing
    /// `batches`) and returns the documents Kingdee does not have.
    ///
    /// `sentSHA256` gives, by payload name, the SHA-256 of the payload as it was sent, when that is known
    /// and may differ from the file now (a batch an earlier process sent): a receipt records what Kingdee
    /// holds, so a payload changed since shows as changed instead of loaded.
    ///
    /// Once Kingdee has saved a bill under a number of its own in this load, a document it lacks by
    /// FBillNo may still have been saved: it gets a `config` error instead of being returned for sending.
    ///
    /// - Throws: a `Diagnostic` when Kingdee cannot be asked (after retries): nothing is re-sent then.
    func reconcile(
        _ documents: [PayloadDocument], batches: [String], batchOf: [String: String] = [:],
        sentSHA256: [String: String] = [:], answered: [LoadJournal.SavedByKingdee] = []
    ) async throws(Diagnostic) -> [PayloadDocument] {
        // The bills Kingdee has with these numbers, by form id and number (one per organisation using it).
        var existing: [String: [String: [KingdeeClient.ExistingBill]]] = [:]
        let orgField = config.existenceCheckOrgField
        var byForm: [String: [PayloadDocument]] = [:]
        for d in documents { byForm[d.formID, default: []].append(d) }
        for (formID, group) in byForm.sorted(by: { $0.key < $1.key }) {
            let bills = try await queryBills(
                formID: formID, numbers: group.map(\.billNumber), organizationField: orgField,
                what: "whether \(group.count) in-doubt document(s) exist in Kingdee")
            existing[formID] = Dictionary(grouping: bills, by: \.number)
        }
        // A bill counts as this document's when its number and (if both name one) organisation match.
        var found: [String: KingdeeClient.ExistingBill] = [:]
        for document in documents {
            let candidates = existing[document.formID]?[document.billNumber] ?? []
            let organization = document.organization
            if let hit = candidates.first(where: { organization == nil || $0.organization == nil || $0.organization == organization }) {
                found[document.name] = hit
            } else if !candidates.isEmpty {
                progress(
                    "load: \(document.billNumber) exists in Kingdee only under another organisation ("
                        + candidates.map { "\(orgField) \($0.organization ?? "?")" }.joined(separator: ", ")
                        + "), not this document's \(organization ?? "?"): that bill is another document's")
            }
        }
        var missing: [PayloadDocument] = []
        for document in documents {
            if let hit = found[document.name] {
                lock.withLock { _ = stepCandidates.insert(document.name) }
                try writeReceipt(
                    document, id: hit.id, number: document.billNumber, batch: batchOf[document.name] ?? batches.first ?? "",
                    how: "found by ExecuteBillQuery",
                    status: hit.status, payloadSHA256: sentSHA256[document.name])
            } else {
                missing.append(document)
            }
        }
        var unknowable: [PayloadDocument] = []
        if lock.withLock({ kingdeeRenumbers }) {
            unknowable = missing
            missing = []
        }
        // The bills found, by Id, with those the answer of a batch settled here saved: a receipt removed
        // later is looked up by Id (`restoreMissingReceipts`), never sent as new while Kingdee has the bill.
        let foundBills = documents.compactMap { document -> LoadJournal.SavedByKingdee? in
            guard let hit = found[document.name], let id = hit.id.scalarText, !id.isEmpty else { return nil }
            return (document.name, batchOf[document.name] ?? batches.first ?? "", id, hit.number)
        }
        try journal.recordReconciled(
            batches: batches, found: documents.filter { found[$0.name] != nil }.map(\.billNumber),
            missing: missing.map(\.billNumber), unknowable: unknowable.map(\.billNumber), bills: answered + foundBills)
        for document in unknowable {
            let error = KingdeeResponseStatus.ErrorEntry(
                fieldName: "FBillNo",
                message: "Kingdee gives bills numbers of its own here (its numbering rule replaces FBillNo), so "
                    + "ExecuteBillQuery by FBillNo \(document.billNumber) cannot show whether this document was saved "
                    + "when its answer was lost; it was not sent again. Look for it in Kingdee before loading it again.",
                dIndex: nil)
            try writeError(document, cls: .config, msgCode: 0, errors: [error], batch: batchOf[document.name] ?? batches.first ?? "", attempt: 1)
        }
        if !documents.isEmpty {
            progress("load: in doubt: \(documents.count - missing.count - unknowable.count) found in Kingdee (receipts written), "
                + "\(missing.count) to send again" + (unknowable.isEmpty ? "" : ", \(unknowable.count) not knowable (Kingdee renumbers bills)"))
        }
        return missing
    }

    /// The bills of `formID` with the ids `ids`, or when there are none numbered `numbers` (ExecuteBillQuery,
    /// `KingdeeClient.existingBills`), asked again after a backoff when Kingdee does not answer.
    ///
    /// - Throws: a `Diagnostic` when the configuration or the credentials are refused, or Kingdee cannot be
    ///   asked after retries (`what` says what was being checked): nothing is sent then.
    func queryBills(formID: String, numbers: [String], ids: [String] = [], organizationField: String, what: String)
        async throws(Diagnostic) -> [KingdeeClient.ExistingBill]
    {
        var attempt = 0
        while true {
            attempt += 1
            do {
                await permits.acquire()
                defer { permits.release() }
                if !ids.isEmpty { return try await client.existingBills(formID: formID, ids: ids) }
                return try await client.existingBills(formID: formID, billNumbers: numbers, organizationField: organizationField)
            } catch {
                if case .configuration(let message) = error { throw .error("Kingdee at \(config.url): \(message)") }
                if case .refused(1, let message) = error, await !client.hasWorked {
                    throw .error("Kingdee at \(config.url) rejected Ferry's credentials: \(message)")
                }
                if case .refused(1, let message) = error, await client.refusalsInARow >= LoadRunner.refusalsThatStopTheLoad {
                    throw LoadRunner.credentialsStoppedWorking(url: config.url, message: message)
                }
                if attempt > config.maxRetries + 2 {
                    throw .error(
                        "cannot check with ExecuteBillQuery \(what) (\(error.description)); nothing was sent again. "
                            + "Run `ferry load` again when Kingdee answers.")
                }
                progress("load: checking \(what) failed (\(error.description)); trying again")
                let delay = min(30, config.retryDelaySeconds * pow(2, Double(attempt - 1)))
                try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
            }
        }
    }

    /// The error of a document that Kingdee may have saved under a number of its own: with BatchCount, a
    /// success's DIndex fits one document of each sub-batch.
    static func renumberedError(
        _ success: KingdeeResponseStatus.SuccessEntry, document: PayloadDocument
    ) -> KingdeeResponseStatus.ErrorEntry {
        let id = success.id.scalarText ?? JSONWriter(style: .compact).string(success.id)
        return KingdeeResponseStatus.ErrorEntry(
            fieldName: "FBillNo",
            message: "Kingdee saved a bill of this batch as \(success.number) (Id \(id)), a number no document of the "
                + "batch has: the form's numbering rule replaces FBillNo. "
                + "With BatchCount its DIndex fits several documents, so this one may be saved. "
                + "It was not sent again; look for \(document.billNumber) in Kingdee, and let the bill type keep the "
                + "number sent (编码规则) before loading again.",
            dIndex: success.dIndex)
    }

    // MARK: - Files

    /// Writes `<name>.receipt.json`. `payloadSHA256` is the SHA-256 of the payload Kingdee holds, when it
    /// is not the file's as it is now (see `reconcile`).
    func writeReceipt(
        _ document: PayloadDocument, id: JSONValue, number: String, batch: String, how: String, status: String?,
        payloadSHA256: String? = nil
    ) throws(Diagnostic) {
        let base: JSONValue = [
            "FBillNo": .string(document.billNumber), "formid": .string(document.formID),
            "kingdee": ["Id": id, "Number": .string(number)],
            "payload": .string(document.name + ".json"), "payload_sha256": .string(payloadSHA256 ?? document.sha256),
            "loaded_at": .string(Timestamp.now()), "batch": .string(batch), "how": .string(how),
        ]
        var receipt = base.objectValue ?? JSONObject()
        if let status, !status.isEmpty { receipt.append("FDocumentStatus", .string(status)) }
        // Not flushed one by one: the load flushes them all at its end (a crash before that leaves the batch
        // unsettled or in doubt, never settled without its receipts; see `LoadJournal`).
        try FileSystem.writeAtomically(
            JSONWriter().bytes(.object(receipt)), to: PayloadDirectory.receiptPath(directory: directory, name: document.name),
            durable: false)
        try removeStaleError(document.name)
    }

    /// Removes the error file of a document that has a receipt, keeping its content in the journal.
    func removeStaleError(_ name: String, listed listing: Set<String>? = nil) throws(Diagnostic) {
        if let listing, !listing.contains(name + ".error.json") { return }
        let path = PayloadDirectory.errorPath(directory: directory, name: name)
        guard FileSystem.exists(path) else { return }
        let old = (try? FileSystem.read(path)).flatMap { try? JSONReader.parse($0) } ?? .null
        try journal.recordSuperseded(name: name, previousError: old)
        try FileSystem.remove(path)
    }

    /// Writes `<name>.error.json`. With `step`, the document is saved (it keeps its receipt) and its Submit
    /// or Audit failed: the file names the step (`"step": "submit"`) and says what to do about it.
    func writeError(
        _ document: PayloadDocument, cls: KingdeeErrorClass, msgCode: Int, errors: [KingdeeResponseStatus.ErrorEntry],
        batch: String, attempt: Int, step: KingdeeClient.BillStep? = nil
    ) throws(Diagnostic) {
        let attempts = (lock.withLock { previousAttempts[document.name] } ?? 0) + attempt
        let hint = step.map { Self.stepHint($0, cls: cls, messages: errors.map(\.message)) }
            ?? KingdeeErrorClassifier.hint(for: cls, messages: errors.map(\.message), billNumber: document.billNumber)
        var object: JSONValue = [
            "FBillNo": .string(document.billNumber), "formid": .string(document.formID),
            "payload": .string(document.name + ".json"), "payload_sha256": .string(document.sha256),
            "class": .string(cls.rawValue), "source": "kingdee", "MsgCode": .number(String(msgCode)),
            "errors": .array(errors.map { e in
                ["field": e.fieldName.map { .string($0) } ?? .null, "message": .string(e.message),
                 "DIndex": e.dIndex.map { .number(String($0)) } ?? .null]
            }),
            "attempts": .number(String(attempts)), "batch": .string(batch), "failed_at": .string(Timestamp.now()),
            "hint": ["zh": .string(hint.zh), "en": .string(hint.en)],
        ]
        if let step, case .object(var members) = object {
            members.set("step", .string(step.rawValue))
            object = .object(members)
        }
        try FileSystem.writeAtomically(
            JSONWriter().bytes(object), to: PayloadDirectory.errorPath(directory: directory, name: document.name),
            durable: false)
    }

    /// The hint of a bill that is saved but whose `step` failed with `messages`.
    static func stepHint(_ step: KingdeeClient.BillStep, cls: KingdeeErrorClass, messages: [String]) -> KingdeeHint {
        let (zh, en) = step == .submit ? ("提交", "submitted") : ("审核", "audited")
        let saved = "The bill is saved in Kingdee (it has a receipt and is never saved again)"
        let rerun = "; Ferry asks the bill's FDocumentStatus first and only does the missing steps."
        if cls == .retryable {
            return KingdeeHint(
                zh: "单据已保存到金蝶（有 receipt，不会再次保存），但因金蝶暂时不可用未能\(zh)。稍后再次运行 ferry load：Ferry 先查询单据状态，只做缺少的步骤。",
                en: "\(saved) but could not be \(en): Kingdee was temporarily unavailable. Run `ferry load` again later" + rerun)
        }
        // Kingdee's negative-stock prompt on Audit is answered by a setting, not by fixing the bill.
        if step == .audit && messages.contains(where: { $0.contains("更新库存时出现可以忽略的异常数据") }) {
            return KingdeeHint(
                zh: "单据已保存到金蝶（有 receipt，不会再次保存），但审核遇到金蝶的负库存提示：要接受该提示，请在 ferry.yaml 的 "
                    + "target.audit_interaction_flags 中加入 STK_InvCheckResult，或在金蝶中补足库存；然后运行 ferry load --retry-failed："
                    + "Ferry 先查询单据状态，只做缺少的步骤。",
                en: "\(saved) but its audit met a prompt: this is Kingdee's negative-stock prompt: to accept it, add "
                    + "STK_InvCheckResult to target.audit_interaction_flags in ferry.yaml, or fix the stock in Kingdee; then run "
                    + "`ferry load --retry-failed`" + rerun)
        }
        return KingdeeHint(
            zh: "单据已保存到金蝶（有 receipt，不会再次保存），但未能\(zh)（见上方消息）。请在金蝶中处理（例如补足库存，或直接在金蝶中\(zh)该单据），"
                + "然后运行 ferry load --retry-failed：Ferry 先查询单据状态，只做缺少的步骤。",
            en: "\(saved) but was not \(en) (see the messages above). Fix it in Kingdee (e.g. the stock, or "
                + "\(step == .submit ? "submit" : "audit") the bill there), then run `ferry load --retry-failed`" + rerun)
    }

    func writeLocalError(name: String, diagnostic: Diagnostic, sha256: String) throws(Diagnostic) {
        let object: JSONValue = [
            "payload": .string(name + ".json"), "payload_sha256": .string(sha256), "class": "data", "source": "ferry",
            "errors": [["field": diagnostic.jsonPath.map { .string($0) } ?? .null, "message": .string(diagnostic.message)]],
            "attempts": 0, "failed_at": .string(Timestamp.now()),
            "hint": [
                "zh": "该 payload 未通过 Ferry 的本地检查，未发送到金蝶。请修正模板或源数据后重新 transform（或手工修改该文件），再运行 ferry load。",
                "en": "This payload failed Ferry's local checks and was not sent to Kingdee. Fix the template or the source data and transform again (or edit the file), then run `ferry load`.",
            ],
        ]
        try FileSystem.writeAtomically(JSONWriter().bytes(object), to: PayloadDirectory.errorPath(directory: directory, name: name))
    }
}

/// A counting semaphore for async code: `acquire` waits (first come, first served) until a permit is free.
final class RequestPermits: @unchecked Sendable {
    private let lock = NSLock()
    private var available: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) {
        available = count
    }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if available > 0 {
                available -= 1
                lock.unlock()
                continuation.resume()
            } else {
                waiting.append(continuation)
                lock.unlock()
            }
        }
    }

    func release() {
        lock.lock()
        if waiting.isEmpty {
            available += 1
            lock.unlock()
        } else {
            let next = waiting.removeFirst()
            lock.unlock()
            next.resume()
        }
    }
}
