import FerryCore
import FerryKingdee
import FerryTemplate
import FerryWDT
import FerryWorkspace
import Foundation

/// Where one document of a run stands.
public enum DocumentState: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Rejected by the transform (a `*.reject.json` says why).
    case rejected
    /// Skipped by a document filter (listed in the transform manifest).
    case filtered
    /// Received by the extract and not transformed yet: in a page the transform has not read. Only
    /// `ferry status --document` shows such a document (the overview reads no pages).
    case extracted
    /// A payload waiting to be loaded.
    case pending
    /// Sent in a batch whose outcome is not known yet (the next `ferry load` checks Kingdee first).
    case inDoubt = "in_doubt"
    /// Saved in Kingdee: a receipt matches the payload.
    case loaded
    /// Loaded earlier, but the payload changed since (not sent again).
    case changed
    /// Kingdee refused it (a `*.error.json` says why and what to do).
    case failed

    /// Order of importance for listings.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// The states the overview lists and counts documents in (`--documents`, `--state`, `document_states`,
    /// the report): all but `extracted`, which only `--document` shows.
    public static let overviewStates = allCases.filter { $0 != .extracted }
}

/// One document of a run: its key, bill number, state and files.
public struct DocumentStatus: Sendable, Hashable {
    /// The source key (`stockin_no`).
    public var key: String?
    /// The bill number (`FBillNo`), for documents that have a payload.
    public var billNumber: String?
    /// Where it stands.
    public var state: DocumentState
    /// Its files, relative to the run directory.
    public var files: [String]
    /// One line on why, for rejected, filtered, failed and changed documents.
    public var detail: String?
}

/// Documents that failed for the same reason, with a hint saying what to do.
public struct ProblemGroup: Sendable, Hashable {
    /// `extract`, `transform` or `load`.
    public var stage: String
    /// The class: `retryable`, `data`, `duplicate`, `config` (load), `rejected` (transform), `incomplete` (extract).
    public var errorClass: String
    /// The message with its document-specific values replaced by `…`.
    public var message: String
    /// The field involved, when known.
    public var field: String?
    /// The documents affected (keys or bill numbers), sorted.
    public var documents: [String]
    /// The distinct values the messages named (material numbers, stock numbers, …), sorted.
    public var values: [String]
    /// What to do.
    public var hint: String
}

/// How long a stage took in a run, from `run.json`.
public struct StageTiming: Sendable, Hashable {
    /// The stage.
    public var stage: String
    /// When it started (ISO 8601, UTC).
    public var startedAt: String
    /// How long it took.
    public var seconds: Double
    /// Its exit code.
    public var exitCode: Int
    /// What stopped it, when it could not run (exit 2) and said why.
    public var error: String? = nil
}

/// A stage whose latest attempt started and has not finished: still running, or killed (SIGKILL, a power
/// cut) before it could record its end, from `run.json`.
public struct UnfinishedStage: Sendable, Hashable {
    /// The stage.
    public var stage: String
    /// When it started (ISO 8601, UTC).
    public var startedAt: String
    /// The process that started it, when recorded.
    public var pid: Int32?
    /// Whether that process is still at work on the run (it holds the run's lock).
    public var isRunning: Bool
}

/// The run overview (运行概况): every stage's counts, every document's state, problems grouped with hints.
///
/// Built from the files of a run directory only: it needs no network and no configuration.
public struct RunOverview: Sendable {
    /// Counts of the extract stage.
    public struct ExtractCounts: Sendable, Hashable {
        public var state: String
        public var rangeStart: String?
        public var rangeEnd: String?
        public var windows = 0
        public var completeWindows = 0
        public var incompleteWindows = 0
        public var splitWindows = 0
        public var pages = 0
        public var documents = 0
        public var duplicates = 0
    }

    /// Counts of the transform stage.
    public struct TransformCounts: Sendable, Hashable {
        public var state: String
        public var documents = 0
        public var payloads = 0
        public var rejected = 0
        public var filtered = 0
        public var supersededDuplicates = 0
        public var filesWithErrors = 0
        public var droppedLines = 0
    }

    /// Counts of the load stage.
    public struct LoadCounts: Sendable, Hashable {
        public var state: String
        public var payloads = 0
        public var loaded = 0
        public var failed = 0
        public var inDoubt = 0
        public var pending = 0
        public var changed = 0
        /// Loaded earlier (a receipt), but the transform's manifest no longer lists the payload: the bill is
        /// in Kingdee without the current source data behind it. Counted apart from `loaded` and `pending`;
        /// one whose Submit or Audit failed (an error file naming the step) is `failed`, and counted there too.
        public var notProduced = 0
        public var failedByClass: [String: Int] = [:]
    }

    /// The run id.
    public var runID: String
    /// The run directory.
    public var runDirectory: String
    /// Extract counts.
    public var extract: ExtractCounts
    /// Transform counts.
    public var transform: TransformCounts
    /// Load counts.
    public var load: LoadCounts
    /// Every document known to the run, by state then key.
    public var documents: [DocumentStatus]
    /// Problems grouped by stage, class and message, largest first.
    public var problems: [ProblemGroup]
    /// Stage timings, in order.
    public var timings: [StageTiming]
    /// Stages whose latest attempt started and did not finish (running, or killed), in the order they started.
    public var unfinished: [UnfinishedStage] = []

    /// Whether every document is either loaded or filtered and every window complete: `ferry status` exits
    /// 0 then, and so does `ferry run` (`RunResult.needsAttention`).
    public var isClean: Bool {
        // A bill loaded earlier that the transform no longer produces needs a person, as a changed one does.
        extract.incompleteWindows == 0 && load.notProduced == 0
            // The documents of a file the transform could not read are neither loaded nor filtered.
            && transform.filesWithErrors == 0
            && documents.allSatisfy { $0.state == .loaded || $0.state == .filtered }
            // Extracted documents the transform has not read yet are not loaded either.
            && (extract.documents == 0 || transform.state != "not_started")
            // A stage whose latest attempt could not run (exit 2) left its work undone.
            && !Dictionary(timings.map { ($0.stage, $0.exitCode) }, uniquingKeysWith: { $1 }).values.contains(2)
            // So did one that started and did not finish (killed), and one still running is not done yet.
            && unfinished.isEmpty
    }
}

extension RunOverview {
    /// Reads a run directory into an overview.
    ///
    /// - Parameters:
    ///   - runDirectory: `runs/<id>`.
    ///   - runID: the run id.
    ///   - template: the scheme, to name lookup files in hints (optional).
    ///   - afterSave: `target.after_save`: a saved bill whose receipt does not record a step it asks for is
    ///     `pending` (the next load does it), not `loaded`. Nil: receipts are not checked for steps.
    /// - Throws: a `Diagnostic` when a manifest exists but cannot be read.
    public static func read(
        runDirectory: String, runID: String, template: MappingTemplate? = nil, afterSave: KingdeeTargetConfig.AfterSave? = nil
    ) throws(Diagnostic) -> RunOverview {
        try readWithFiles(runDirectory: runDirectory, runID: runID, template: template, afterSave: afterSave).overview
    }

    /// The manifests an overview was read from, each read once, for a closer look at a few documents
    /// (`documentStories`). Nil where the stage did not write one.
    struct RunFiles {
        var extract: ExtractManifest?
        var transform: JSONValue?
        var journal: LoadJournal?
    }

    /// `read`, also returning the manifests it read.
    static func readWithFiles(
        runDirectory: String, runID: String, template: MappingTemplate?, afterSave: KingdeeTargetConfig.AfterSave?
    ) throws(Diagnostic) -> (overview: RunOverview, files: RunFiles) {
        var overview = RunOverview(
            runID: runID, runDirectory: runDirectory, extract: ExtractCounts(state: "not_started"),
            transform: TransformCounts(state: "not_started"), load: LoadCounts(state: "not_started"), documents: [],
            problems: [],
            timings: [])
        // run.json read once: the finished attempts are the timings, the unfinished ones problems.
        let records = RunLog.records(runDirectory: runDirectory)
        overview.timings = records.compactMap { r in
            r.exitCode.map { StageTiming(stage: r.stage, startedAt: r.startedAt, seconds: r.seconds ?? 0, exitCode: $0, error: r.error) }
        }
        overview.readUnfinished(records)
        var files = RunFiles()
        files.extract = try overview.readExtract()
        (files.transform, files.journal) = try overview.readTransformAndLoad(template: template, afterSave: afterSave)
        overview.documents.sort { ($0.state, $0.key ?? $0.billNumber ?? "") < ($1.state, $1.key ?? $1.billNumber ?? "") }
        overview.problems.sort { ($0.documents.count, $1.message) > ($1.documents.count, $0.message) }
        return (overview, files)
    }

    /// The stages whose latest record in `run.json` has no end, as problems saying what to do.
    private mutating func readUnfinished(_ records: [RunLog.Record]) {
        var latest: [String: RunLog.Record] = [:]
        for record in records { latest[record.stage] = record }
        for record in records where !record.isFinished && latest[record.stage] == record {
            let stage = UnfinishedStage(
                stage: record.stage, startedAt: record.startedAt, pid: record.pid, isRunning: record.isRunning(runDirectory: runDirectory))
            unfinished.append(stage)
            let process = record.pid.map { "process \($0)" } ?? "its process"
            problems.append(
                ProblemGroup(
                    stage: record.stage, errorClass: "unfinished",
                    message: stage.isRunning
                        ? "\(record.stage) started at \(record.startedAt) and has not finished: \(process) is still running "
                            + "(it holds the run's lock)"
                        : "\(record.stage) started at \(record.startedAt) and did not finish: \(process) is gone (killed, or "
                            + "the machine stopped) and no longer holds the run's lock",
                    field: nil, documents: [], values: [],
                    hint: stage.isRunning
                        ? "wait for it to end, then `ferry status --run \(runID)` again"
                        : "run `ferry \(record.stage) --run \(runID)` (or `ferry run --run \(runID)`) again: "
                            + Self.resumption(of: record.stage)))
        }
    }

    /// What running a stage again does after it stopped part way.
    static func resumption(of stage: String) -> String {
        switch stage {
        case "extract": return "the windows it completed (their page files unchanged) are skipped, the others read again"
        case "transform": return "it transforms the run again from the start and writes the same files for the same input"
        case "load": return "documents it sent are checked in Kingdee, never sent twice"
        default: return "it continues where the stage stopped"
        }
    }

    /// A stage's manifest that cannot be read (cut short, edited by hand): what is wrong, and what to do.
    private func damaged(_ error: Diagnostic, hint: String) -> Diagnostic {
        var problem = error
        problem.message += "; the manifest is damaged: \(hint)"
        return problem
    }

    private mutating func readExtract() throws(Diagnostic) -> ExtractManifest? {
        let path = runDirectory + "/extract/manifest.json"
        guard FileSystem.exists(path) else { return nil }
        let manifest: ExtractManifest
        do {
            manifest = try ExtractManifest.load(path)
        } catch {
            // An extract cannot resume from it: the period is read again in a new run.
            throw damaged(error, hint: "restore it, or read its period again in a new run (`ferry run --since …`)")
        }
        extract.state = manifest.isComplete ? "complete" : "incomplete"
        extract.rangeStart = manifest.rangeStart.description
        extract.rangeEnd = manifest.rangeEnd.description
        for window in manifest.windows {
            extract.windows += 1
            switch window.verdict {
            case .complete: extract.completeWindows += 1
            case .incomplete: extract.incompleteWindows += 1
            case .split: extract.splitWindows += 1
            }
            if window.verdict != .split {
                extract.pages += window.pages.count
                extract.documents += window.received
                extract.duplicates += window.duplicates.count
            }
        }
        let incomplete = manifest.windows.filter { $0.verdict == .incomplete }
        if !incomplete.isEmpty {
            problems.append(
                ProblemGroup(
                    stage: "extract", errorClass: "incomplete", message: "window not proven complete",
                    field: nil, documents: incomplete.map { "\($0.start) … \($0.end)" },
                    values: incomplete.compactMap(\.reason),
                    hint: "run `ferry run --run \(runID)` (or `ferry extract --run \(runID)`, then transform and load) to "
                        + "read these windows again; an extract never moves the cursor past them, so the next `ferry run` "
                        + "without --since reads them again too when the cursor in state.json is before them (not when it "
                        + "was past them already)"))
        }
        return manifest
    }

    private mutating func readTransformAndLoad(template: MappingTemplate?, afterSave: KingdeeTargetConfig.AfterSave?)
        throws(Diagnostic) -> (JSONValue?, LoadJournal?)
    {
        let directory = runDirectory + "/transform"
        let manifestPath = directory + "/manifest.json"
        guard FileSystem.exists(manifestPath) else { return (nil, nil) }
        let manifest: JSONValue
        do {
            manifest = try JSONReader.parseFile(manifestPath)
        } catch {
            throw damaged(error, hint: "run `ferry transform --run \(runID)` to write it again")
        }
        func count(_ name: String) -> Int { Int(manifest["counts"]?[name]?.scalarText ?? "") ?? 0 }
        transform.state = "done"
        transform.documents = count("documents")
        transform.payloads = count("payloads")
        transform.rejected = count("rejected")
        transform.filtered = count("filtered")
        transform.supersededDuplicates = count("superseded_duplicates")
        transform.filesWithErrors = count("files_with_errors")
        transform.droppedLines = count("dropped_lines")
        // Files with errors: none of their documents read (not JSON, not UTF-8, not readable), or some (a bad
        // JSON Lines line, an element that is not an object), whose others were transformed.
        let withErrors = (manifest["inputs"]?.arrayValue ?? []).filter { !($0["errors"]?.arrayValue ?? []).isEmpty }
        let readInPart = withErrors.filter { Int($0["documents"]?.scalarText ?? "") ?? 0 > 0 }
        let unread = withErrors.filter { Int($0["documents"]?.scalarText ?? "") ?? 0 == 0 }
        for (files, message) in [
            (unread, "input file could not be read; its documents are not transformed"),
            (readInPart, "input file read in part: its other documents were transformed, what the errors name was not"),
        ] where !files.isEmpty {
            problems.append(
                ProblemGroup(
                    stage: "transform", errorClass: "unreadable", message: message,
                    field: nil, documents: files.compactMap { $0["file"]?.stringValue }.sorted(),
                    values: files.flatMap { ($0["errors"]?.arrayValue ?? []).compactMap(\.stringValue) }.sorted(),
                    hint: "see the errors in transform/manifest.json; read the run's extract again with `ferry extract --run "
                        + "\(runID)` (or repair the file), then `ferry transform --run \(runID)` and `ferry load --run \(runID)`"))
        }

        for entry in manifest["filtered"]?.arrayValue ?? [] {
            documents.append(
                DocumentStatus(
                    key: entry["key"]?.scalarText, billNumber: nil, state: .filtered, files: [],
                    detail: entry["detail"]?.stringValue))
        }
        var rejectGroups: [String: ProblemGroup] = [:]
        for entry in manifest["rejected"]?.arrayValue ?? [] {
            let file = entry["file"]?.stringValue ?? ""
            let key = entry["key"]?.scalarText
            let reject = Self.readJSON(directory + "/" + file)
            let reasons = reject?["reasons"]?.arrayValue ?? []
            let first = reasons.first.map { r in
                (r["field"]?.stringValue.map { "\($0): " } ?? "") + (r["message"]?.stringValue ?? "")
            }
            documents.append(
                DocumentStatus(key: key, billNumber: nil, state: .rejected, files: ["transform/" + file], detail: first))
            for reason in reasons {
                let field = reason["field"]?.stringValue.map(Self.withoutIndexes)
                let (message, values) = Self.normalize(reason["message"]?.stringValue ?? "")
                let groupKey = "\(field ?? "")|\(message)"
                var group = rejectGroups[groupKey] ?? ProblemGroup(
                    stage: "transform", errorClass: "rejected", message: message, field: field, documents: [], values: [],
                    hint: "fix the source data, the template or the lookups, then `ferry transform --run \(runID)` and `ferry load --run \(runID)`")
                if let key, !group.documents.contains(key) { group.documents.append(key) }
                group.values += values
                rejectGroups[groupKey] = group
            }
        }
        problems += rejectGroups.values.map(Self.tidy)

        // Load: receipts, error files and the journal beside the payloads.
        let journal = try LoadJournal(path: LoadRunner.journalPath(run: runDirectory))
        let inFlight = Set(journal.unsettled.flatMap { $0.documents.map(\.name) })
        /// Saved documents whose Submit or Audit was sent and never answered (the load died meanwhile).
        var stepInFlight: [String: String] = [:]
        for batch in journal.unsettledSteps { for d in batch.documents { stepInFlight[d.name] = batch.step } }
        var loadGroups: [String: ProblemGroup] = [:]
        let lookupFiles = Self.lookupFilesByField(template)
        var sawLoadFiles = false
        /// Payload names the loop below handled (listed in the manifest, payload present).
        var handled: Set<String> = []
        /// Key and bill number of every payload the manifest lists, present or not.
        var listed: [String: (key: String?, number: String?)] = [:]
        for entry in manifest["outputs"]?.arrayValue ?? [] {
            let file = entry["file"]?.stringValue ?? ""
            let name = String(file.dropLast(".json".count))
            let number = entry["bill_number"]?.scalarText
            let key = entry["key"]?.scalarText
            let payloadPath = directory + "/" + file
            listed[name] = (key, number)
            guard FileSystem.exists(payloadPath) else { continue }
            handled.insert(name)
            load.payloads += 1
            var files = ["transform/" + file]
            let receiptPath = PayloadDirectory.receiptPath(directory: directory, name: name)
            let errorPath = PayloadDirectory.errorPath(directory: directory, name: name)
            var state = DocumentState.pending
            var detail: String?
            var receipt: JSONValue?
            if FileSystem.exists(receiptPath) {
                sawLoadFiles = true
                files.append("transform/" + name + ".receipt.json")
                receipt = Self.readJSON(receiptPath)
                let payloadHash = (try? FileSystem.read(payloadPath)).map { Hashing.sha256Hex($0) }
                if receipt?["payload_sha256"]?.stringValue == payloadHash {
                    state = .loaded
                } else {
                    state = .changed
                    detail = "the payload changed after it was loaded; it is not sent again"
                }
            }
            // A saved bill whose Submit or Audit (`target.after_save`) failed keeps its receipt and has an
            // error file naming the step: not done.
            let stepError = state == .loaded && FileSystem.exists(errorPath) ? Self.readJSON(errorPath) : nil
            let failedStep = stepError?["step"]?.stringValue
            if state == .pending && FileSystem.exists(errorPath) || failedStep != nil {
                sawLoadFiles = true
                files.append("transform/" + name + ".error.json")
                state = .failed
                detail = recordFailure(
                    stepError ?? Self.readJSON(errorPath), step: failedStep, label: number ?? key, number: number,
                    groups: &loadGroups, lookupFiles: lookupFiles)
            } else if state == .loaded, let step = stepInFlight[name], !LoadRunner.receiptRecords(step: step, receipt) {
                state = .inDoubt
                detail = "saved; its \(step) was sent and never answered; the next `ferry load` asks Kingdee its FDocumentStatus "
                    + "and only does what is missing"
            } else if state == .pending && inFlight.contains(name) {
                sawLoadFiles = true
                state = .inDoubt
                detail = "sent, outcome unknown; the next `ferry load` checks Kingdee before sending anything"
            } else if state == .loaded, let due = Self.stepsDue(receipt, afterSave) {
                state = .pending
                detail = "saved, \(due); the next `ferry load` asks Kingdee its FDocumentStatus and sends only what is missing"
            }
            switch state {
            case .loaded: load.loaded += 1
            case .failed: load.failed += 1
            case .inDoubt: load.inDoubt += 1
            case .changed: load.changed += 1
            default: load.pending += 1
            }
            documents.append(DocumentStatus(key: key, billNumber: number, state: state, files: files, detail: detail))
        }
        readUnlisted(
            directory: directory, handled: handled, listed: listed, journal: journal, inFlight: inFlight,
            stepInFlight: stepInFlight, afterSave: afterSave, loadGroups: &loadGroups, lookupFiles: lookupFiles,
            sawLoadFiles: &sawLoadFiles)
        problems += loadGroups.values.map(Self.tidy)
        if FileSystem.isDirectory(runDirectory + "/load") || sawLoadFiles {
            load.state = load.pending == 0 && load.inDoubt == 0 ? "done" : "partial"
        }
        if load.changed > 0 {
            problems.append(
                ProblemGroup(
                    stage: "load", errorClass: "changed", message: "payload changed after it was loaded", field: nil,
                    documents: documents.filter { $0.state == .changed }.compactMap { $0.billNumber }.sorted(), values: [],
                    hint: "the bill exists in Kingdee already; compare the payload with the receipt and update the bill in Kingdee by hand (Ferry does not send it twice)"))
        }
        return (manifest, journal)
    }

    /// Counts a load failure by its class and adds it to the problem group of its class, step, field and
    /// message: a save Kingdee (or Ferry's local check) refused, or, with `step` (as its error file names
    /// it), a saved bill whose Submit or Audit failed. The group's hint is the one the load wrote into the
    /// error file (for a refused save, the lookup file to fix when the field has one), or `hint` when given:
    /// a document whose payload file is gone, which `ferry load` cannot finish as the file says (grouped
    /// apart). Returns the document's detail: Kingdee's first message, after `saved, not submitted` or
    /// `saved, not audited` for a failed step.
    private mutating func recordFailure(
        _ error: JSONValue?, step: String?, label: String?, number: String?, hint: String? = nil,
        groups: inout [String: ProblemGroup], lookupFiles: [String: String]
    ) -> String? {
        let cls = error?["class"]?.stringValue ?? "data"
        load.failedByClass[cls, default: 0] += 1
        let entries = error?["errors"]?.arrayValue ?? []
        var detail = entries.first?["message"]?.stringValue
        if let step {
            let not = step == "submit" ? "saved, not submitted" : "saved, not audited"
            detail = not + (detail.map { ": \($0)" } ?? "")
        }
        // The load wrote what to do, for a failed save and a failed Submit or Audit alike.
        let written = error?["hint"]?["en"]?.stringValue ?? ""
        for item in entries.isEmpty ? [JSONValue.null] : entries {
            let field = item["field"]?.stringValue
            let (message, values) = Self.normalize(item["message"]?.stringValue ?? "(no message)")
            let groupKey = "\(cls)|\(step ?? "")|\(field ?? "")|\(message)|\(hint ?? "")"
            var group = groups[groupKey] ?? ProblemGroup(
                stage: "load", errorClass: cls, message: message, field: field, documents: [], values: [],
                hint: hint
                    ?? (step == nil
                        ? Self.loadHint(cls: cls, field: field, lookupFiles: lookupFiles, fallback: written, runID: runID) : written))
            if let label, !group.documents.contains(label) { group.documents.append(label) }
            group.values += values.filter { $0 != number }
            groups[groupKey] = group
        }
        return detail
    }

    /// Load results the manifest's outputs do not cover: a receipt whose payload a later transform no longer
    /// produces (the payload kept beside it, or gone altogether) or whose payload file is gone, and a
    /// document of an unsettled batch whose payload is no longer listed or no longer there. Visited by name,
    /// sorted. A receipt with an error file naming a step (its Submit or Audit failed) is `failed`, counted
    /// and grouped as a listed payload's is (`recordFailure`), and also `not_produced` when the transform no
    /// longer produces it. So is a receipt whose Submit or Audit was sent and never answered (`stepInFlight`,
    /// payload name → step) and that does not record the step: `in_doubt` (not `loaded`) until the next
    /// `ferry load` asks Kingdee its FDocumentStatus. A payload kept but no longer produced whose receipt is
    /// gone, which the journal shows saved, is `in_doubt` and `not_produced`: the next load looks it up by its
    /// Kingdee Id (and sends nothing for it).
    private mutating func readUnlisted(
        directory: String, handled: Set<String>, listed: [String: (key: String?, number: String?)], journal: LoadJournal,
        inFlight: Set<String>, stepInFlight: [String: String], afterSave: KingdeeTargetConfig.AfterSave?,
        loadGroups: inout [String: ProblemGroup], lookupFiles: [String: String], sawLoadFiles: inout Bool
    ) {
        let receiptSuffix = ".receipt.json"
        let errorSuffix = ".error.json"
        let listing = FileSystem.list(directory).filter { !$0.hasPrefix(".") }
        let receipts = Set(listing.filter { $0.hasSuffix(receiptSuffix) }.map { String($0.dropLast(receiptSuffix.count)) })
        let errorFiles = Set(listing.filter { $0.hasSuffix(errorSuffix) }.map { String($0.dropLast(errorSuffix.count)) })
        var journalNumbers: [String: String] = [:]
        for batch in journal.unsettled {
            for entry in batch.documents where !entry.billNumber.isEmpty { journalNumbers[entry.name] = entry.billNumber }
        }
        var notProduced: [String] = []
        // Saved by an earlier load and kept beside its receipt, which is gone since (lost, removed by hand),
        // while a later transform no longer produces the payload: the journal still shows the bill saved.
        let saved = journal.savedBills
        let keptWithoutReceipt = saved.keys.filter {
            listed[$0] == nil && !receipts.contains($0) && FileSystem.exists(directory + "/" + $0 + ".json")
        }
        // Of those, the ones the next load asks Kingdee about (the others' payloads no longer pass its checks).
        let lookedUpByID = keptWithoutReceipt.isEmpty ? [] : LoadRunner.savedWithoutReceipt(journal, directory: directory, listing: Set(listing))
        for name in receipts.union(inFlight).union(keptWithoutReceipt).subtracting(handled).sorted() {
            sawLoadFiles = true
            let payloadFile = name + ".json"
            let payloadExists = FileSystem.exists(directory + "/" + payloadFile)
            var files = payloadExists ? ["transform/" + payloadFile] : []
            let isListed = listed[name] != nil
            let key = listed[name]?.key
            if receipts.contains(name) {
                files.append("transform/" + name + receiptSuffix)
                let receiptPath = PayloadDirectory.receiptPath(directory: directory, name: name)
                let receipt = Self.readJSON(receiptPath)
                let number = receipt?["FBillNo"]?.scalarText ?? listed[name]?.number ?? journalNumbers[name]
                // The manifest still lists it (its payload file was removed by hand): still produced.
                let situation = isListed ? "its payload file is missing" : "the transform no longer produces this payload"
                if !isListed {
                    load.notProduced += 1
                    notProduced.append(number ?? name)
                }
                // As beside a listed payload: a saved bill whose Submit or Audit failed has an error file naming
                // the step (an error file without one is older than the receipt: the load replaces it).
                let errorPath = PayloadDirectory.errorPath(directory: directory, name: name)
                let stepError = errorFiles.contains(name) ? Self.readJSON(errorPath) : nil
                if let step = stepError?["step"]?.stringValue {
                    files.append("transform/" + name + errorSuffix)
                    load.failed += 1
                    let failure = recordFailure(
                        stepError, step: step, label: number ?? key ?? name, number: number,
                        // Here a payload that exists is one the transform no longer produces (a listed one
                        // with its payload is handled above), and the load steps only produced bills.
                        hint: unfinishableStepHint(step, listed: isListed, kept: payloadExists, written: stepError),
                        groups: &loadGroups, lookupFiles: lookupFiles)
                    documents.append(
                        DocumentStatus(
                            key: key, billNumber: number, state: .failed, files: files,
                            detail: (failure ?? "saved") + "; " + situation))
                } else if let step = stepInFlight[name], receipt != nil, !LoadRunner.receiptRecords(step: step, receipt) {
                    // Saved; whether Kingdee did the step is not known. The next load asks (it reads the
                    // receipt) and records the answer there, but without a payload it sends no step.
                    load.inDoubt += 1
                    documents.append(
                        DocumentStatus(
                            key: key, billNumber: number, state: .inDoubt, files: files,
                            detail: "saved; its \(step) was sent and never answered, and \(situation); the next `ferry load` "
                                + "asks Kingdee its FDocumentStatus and records it in the receipt (it submits or audits "
                                + "nothing without the payload)"))
                } else if let due = Self.stepsDue(receipt, afterSave) {
                    // Saved, a step `after_save` asks for still to do, which the load does only from the payload:
                    // written again by the transform when the manifest lists it, else never.
                    if isListed { load.pending += 1 }
                    documents.append(
                        DocumentStatus(
                            key: key, billNumber: number, state: isListed ? .pending : .loaded, files: files,
                            detail: isListed
                                ? "saved, \(due), and \(situation): `ferry transform --run \(runID)` writes it again, then "
                                    + "`ferry load --run \(runID)` does what is missing"
                                : "loaded earlier, \(due), but \(situation), so `ferry load` cannot finish it: do it in "
                                    + "Kingdee by hand, or change or delete the bill there"))
                } else {
                    if isListed { load.loaded += 1 }
                    documents.append(
                        DocumentStatus(
                            key: key, billNumber: number, state: .loaded, files: files,
                            detail: isListed ? "loaded; \(situation)" : "loaded earlier, but \(situation)"))
                }
            } else if let bill = saved[name], !inFlight.contains(name) {
                // Nothing is sent for it: the next load asks Kingdee by the Id and writes the receipt again,
                // unless the payload no longer passes the load's checks (it is then not asked about at all).
                let number = bill.billNumber.isEmpty ? nil : bill.billNumber
                load.inDoubt += 1
                load.notProduced += 1
                notProduced.append(number ?? name)
                if errorFiles.contains(name) { files.append("transform/" + name + errorSuffix) }
                documents.append(
                    DocumentStatus(
                        key: nil, billNumber: number, state: .inDoubt, files: files,
                        detail: "saved earlier as Kingdee Id \(bill.billID), but its receipt is missing and the transform no "
                            + "longer produces this payload; "
                            + (lookedUpByID.contains(name)
                                ? "the next `ferry load` asks Kingdee by that Id and writes the receipt again if the bill is "
                                    + "there (nothing is sent for it); if it is not (deleted there), remove the payload file"
                                : "the payload no longer passes the load's checks, so `ferry load` does not ask Kingdee about "
                                    + "it: check the bill in Kingdee by that Id, then remove the payload file")))
            } else {
                load.inDoubt += 1
                let detail = isListed
                    ? "sent, outcome unknown, and its payload file is missing; the next `ferry load` asks Kingdee"
                    : "sent, outcome unknown, and the transform no longer produces this payload; the next `ferry load` asks Kingdee"
                documents.append(
                    DocumentStatus(
                        key: key, billNumber: journalNumbers[name] ?? listed[name]?.number, state: .inDoubt, files: files,
                        detail: detail))
            }
        }
        if !notProduced.isEmpty {
            problems.append(
                ProblemGroup(
                    stage: "load", errorClass: "not_produced", message: "loaded earlier, but no longer produced by the transform",
                    field: nil, documents: notProduced.sorted(), values: [],
                    hint: "the bill exists in Kingdee but the current source data no longer gives it (its order changed its "
                        + "number, was rejected or filtered): check the bill in Kingdee and change or delete it by hand; "
                        + "Ferry never deletes bills"))
        }
    }

    /// What a saved bill still lacks of what `afterSave` asks for, as its receipt records it ("not audited
    /// yet (`target.after_save: audit`)"); nil when nothing (or no receipt or setting to tell).
    static func stepsDue(_ receipt: JSONValue?, _ afterSave: KingdeeTargetConfig.AfterSave?) -> String? {
        guard let receipt, receipt.objectValue != nil, let afterSave else { return nil }
        let due = LoadRunner.stepsStillToDo(receipt, afterSave: afterSave)
        guard !due.isEmpty else { return nil }
        let words = due.map { $0 == "submit" ? "submitted" : "audited" }.joined(separator: " or ")
        return "not \(words) yet (`target.after_save: \(afterSave.rawValue)`)"
    }

    /// What to do about a saved bill whose Submit or Audit (`step`) failed and that `ferry load` cannot
    /// finish: it finishes only bills whose payload it reads and the transform still produces. Listed in the
    /// manifest (its payload removed by hand), the transform writes it again, and then what the error file
    /// says (`written`) applies; no longer produced, only a person can finish the bill in Kingdee, or change
    /// or delete it there (with its payload `kept`, `--retry-failed` then asks Kingdee and records the step).
    private func unfinishableStepHint(_ step: String, listed: Bool, kept: Bool, written: JSONValue?) -> String {
        let verb = step == "submit" ? "submit" : "audit"
        if listed {
            let then = written?["hint"]?["en"]?.stringValue ?? "fix it, then `ferry load --run \(runID) --retry-failed`"
            return "its payload file is missing, so `ferry load` cannot \(verb) the bill: run `ferry transform --run \(runID)` "
                + "to write it again, then: \(then)"
        }
        return "the bill is saved in Kingdee but its \(verb) failed, and the transform no longer produces its payload, so "
            + "`ferry load` cannot \(verb) it: \(verb) the bill in Kingdee by hand (see the message"
            + (kept ? "; then `ferry load --run \(runID) --retry-failed` asks Kingdee and records it" : "")
            + "), or change or delete it there if the current source data no longer backs it"
    }

    /// A small JSON file Ferry wrote (a receipt, an error or reject file), or nil when it is missing or
    /// cannot be read.
    static func readJSON(_ path: String) -> JSONValue? {
        (try? FileSystem.read(path)).flatMap { try? JSONReader.parse($0) }
    }

    private static func tidy(_ group: ProblemGroup) -> ProblemGroup {
        var g = group
        g.documents.sort()
        g.values = Array(Set(g.values)).sorted()
        return g
    }

    /// `FEntity[2].FMATERIALID` → `FEntity[].FMATERIALID`.
    static func withoutIndexes(_ field: String) -> String {
        var out = ""
        var skipping = false
        for ch in field {
            if ch == "[" {
                skipping = true
                out.append("[")
            } else if ch == "]" {
                skipping = false
                out.append("]")
            } else if !skipping {
                out.append(ch)
            }
        }
        return out
    }

    /// Replaces quoted values (“…”, "…", '…') and line numbers with placeholders and returns the values.
    static func normalize(_ message: String) -> (String, [String]) {
        var out = ""
        var values: [String] = []
        var current: String?
        var closing: Character = "”"
        let pairs: [Character: Character] = ["“": "”", "\"": "\"", "'": "'", "「": "」"]
        for ch in message {
            if var value = current {
                if ch == closing {
                    values.append(value)
                    out.append("…")
                    out.append(ch)
                    current = nil
                } else {
                    value.append(ch)
                    current = value
                }
            } else if let close = pairs[ch] {
                out.append(ch)
                current = ""
                closing = close
            } else {
                out.append(ch)
            }
        }
        if let value = current { out += value }
        // 第3行分录 → 第N行分录: line numbers do not make a different problem.
        var result = ""
        var rest = Substring(out)
        while let start = rest.range(of: "第") {
            result += rest[..<start.upperBound]
            rest = rest[start.upperBound...]
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            if !digits.isEmpty && rest.dropFirst(digits.count).hasPrefix("行") {
                result += "N"
                rest = rest.dropFirst(digits.count)
            }
        }
        result += rest
        // Kingdee starts messages with the bill ("单据编号为“…”的其他入库单，"); it names each document, not the problem.
        if let range = result.range(of: "的其他入库单，"), result.hasPrefix("单据编号为“…”") {
            result = String(result[range.upperBound...])
        }
        return (result, values)
    }

    /// Lookup CSV files by output field name (`FMATERIALID` → `lookups/materials.csv`).
    static func lookupFilesByField(_ template: MappingTemplate?) -> [String: String] {
        guard let template else { return [:] }
        var result: [String: String] = [:]
        func visit(_ fields: [FieldSpec]) {
            for field in fields {
                switch field.kind {
                case .value(let value):
                    if let name = value.lookup, case .csv(let file, _, _, _)? = template.lookups[name]?.origin {
                        result[field.name] = "lookups/" + file
                    }
                case .entries(let entries):
                    visit(entries.fields)
                }
            }
        }
        visit(template.bill)
        return result
    }

    static func loadHint(cls: String, field: String?, lookupFiles: [String: String], fallback: String, runID: String) -> String {
        switch cls {
        case "data":
            if let field, let file = lookupFiles[field] {
                return "add them to \(file) and run `ferry transform --run \(runID)`, or create them in Kingdee; "
                    + "then `ferry load --run \(runID) --retry-failed`"
            }
            return fallback.isEmpty ? "fix the data, then `ferry load --run \(runID) --retry-failed`" : fallback
        case "retryable":
            return "temporary; `ferry load --run \(runID)` sends these again"
        default:
            return fallback
        }
    }
}
