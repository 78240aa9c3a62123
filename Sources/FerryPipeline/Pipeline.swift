import FerryCore
import FerryKingdee
import FerrySchemes
import FerryTemplate
import FerryTransform
import FerryWDT
import FerryWorkspace
import Foundation
import Logging

/// How a whole `ferry run` (or a continued one) ended.
public struct RunResult: Sendable {
    /// The run id.
    public var runID: String
    /// Extract summary.
    public var extract: ExtractSummary
    /// Transform summary.
    public var transform: TransformSummary
    /// Load summary.
    public var load: LoadSummary
    /// The overview read back from the run's files after the last stage.
    public var overview: RunOverview

    /// Whether anything needs attention (exit code 1): the run is not clean in `ferry status`'s sense
    /// (`RunOverview.isClean`, read from the run's files after the last stage), so that `ferry run` and
    /// `ferry status` on the same run never disagree.
    public var needsAttention: Bool { !overview.isClean }

    /// What a person needs to know about the run beyond the overview: an extract that left windows
    /// incomplete, after which the run still transformed and loaded what was read.
    public var notes: [String] {
        guard !extract.isComplete else { return [] }
        // The next run without --since starts at the cursor (less the look-back), or at source.start without
        // one: it reads these windows again only when the cursor is before them, which an extract ensures
        // only for a cursor it found before them (one already past them, from reading a later period first,
        // stays where it is).
        let next: String
        if let cursor = extract.cursor, let first = extract.firstNotComplete, cursor < first {
            next = "The cursor in state.json stays before the first incomplete window, so the next `ferry run` (without "
                + "--since) reads the incomplete windows again"
        } else if let cursor = extract.cursor {
            next = "The cursor in state.json (\(cursor)) is already past them (this run read an earlier period), so the "
                + "next `ferry run` without --since does not read them"
        } else {
            next = "state.json has no cursor yet: the next `ferry run` without --since starts at source.start (without "
                + "one, it asks for --since)"
        }
        return [
            "the extract is incomplete (\(extract.incompleteWindows) window(s) not proven complete"
                + (extract.unreadWindows > 0 ? ", \(extract.unreadWindows) not read" : "")
                + "); what was read was transformed and loaded. \(next), and bills loaded now are not sent twice (their "
                + "receipts are carried across runs). To read them again now: `ferry run --run \(runID)`."
        ]
    }
}

/// The three stages of a workspace, composed: each stage reads and writes exactly the files its command does,
/// records its timing in `runs/<id>/run.json` and refreshes `runs/<id>/report.html`.
///
/// The caller holds the run's lock (`Workspace.lockRun`) around any of these calls.
public struct Pipeline: Sendable {
    /// The workspace.
    public var workspace: Workspace
    /// Where `${NAME}` in ferry.yaml is looked up.
    public var environment: [String: String]
    /// Human progress lines (stderr in the CLI).
    public var progress: @Sendable (String) -> Void
    /// Structured logs of the process.
    public var logger: Logger
    /// The clock (tests and the demo may fix it).
    public var now: @Sendable () -> Date

    /// Creates a pipeline over a workspace.
    public init(
        workspace: Workspace, environment: [String: String], progress: @escaping @Sendable (String) -> Void = { _ in },
        logger: Logger = Logger(label: "ferry"), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.workspace = workspace
        self.environment = environment
        self.progress = progress
        self.logger = logger
        self.now = now
    }

    /// Loads the workspace's scheme.
    ///
    /// - Throws: `StageFailure` with every template problem.
    public func template() throws(StageFailure) -> MappingTemplate {
        let (template, problems) = MappingTemplate.load(path: workspace.templatePath)
        guard let template else { throw StageFailure(problems) }
        return template
    }

    /// Extract: WDT pages of the range into `runs/<id>/extract/`.
    ///
    /// - Throws: `StageFailure` for a bad template; a `Diagnostic` when extract cannot run (config, auth).
    public func extract(runID: String, since: WDTTime?, until: WDTTime?) async throws -> ExtractSummary {
        try await timed("extract", runID: runID, exitCode: { $0.isComplete ? 0 : 1 }) {
            // One extract of the workspace at a time (the run's own lock covers only this run).
            let extracting = try workspace.lockExtracting()
            defer { extracting.release() }
            let template = try self.template()
            let source = try WDTSourceConfig.resolved(from: workspace.config, scheme: template.source, environment: environment)
            let extractor = WDTExtractor(config: source, progress: progress)
            return try await extractor.run(
                ExtractRequest(
                    runID: runID, extractDirectory: Workspace.join(workspace.runDirectory(runID), "extract"),
                    statePath: workspace.statePath, since: since, until: until, now: now()))
        }
    }

    /// Transform: `runs/<id>/extract/` → `runs/<id>/transform/`.
    ///
    /// - Throws: `StageFailure` when the stage cannot run (template, settings, lookups).
    public func transform(
        runID: String, settings overrides: [String: String] = [:], templatePath: String? = nil, lookupsDirectory: String? = nil
    ) async throws -> TransformSummary {
        try await timed("transform", runID: runID, exitCode: { $0.hasDocumentFailures ? 1 : 0 }) {
            var settings = try workspace.config.templateSettings(environment: environment)
            settings.merge(overrides) { $1 }
            let runDirectory = workspace.runDirectory(runID)
            return try TransformRunner.run(
                TransformRequest(
                    inputs: [Workspace.join(runDirectory, "extract")],
                    outputDirectory: Workspace.join(runDirectory, "transform"),
                    templatePath: templatePath ?? workspace.templatePath,
                    lookupsDirectory: lookupsDirectory ?? workspace.lookupsDirectory, settings: settings))
        }
    }

    /// Load: the payloads of `runs/<id>/transform/` into Kingdee, with receipts and error files beside them.
    ///
    /// - Parameter starting: called with the resolved `target` settings before anything is sent (to announce
    ///   them); inside the stage, so that settings that cannot be resolved are recorded as a load that could
    ///   not run, whichever command ran it.
    /// - Throws: a `Diagnostic` when load cannot run (config, credentials, journal).
    public func load(
        runID: String, options: LoadOptions = LoadOptions(), starting: (KingdeeTargetConfig) -> Void = { _ in }
    ) async throws -> LoadSummary {
        try await timed("load", runID: runID, exitCode: { $0.hasProblems ? 1 : 0 }) {
            let config = try KingdeeTargetConfig.resolved(from: workspace.config, environment: environment, withSecrets: true)
            starting(config)
            // One load of the workspace at a time (the run's own lock covers only this run).
            let loading = options.isDryRun ? nil : try workspace.lockLoading()
            defer { loading?.release() }
            if !options.isDryRun {
                let carried = try carryOverReceipts(runID: runID)
                if carried > 0 {
                    progress("load: \(carried) document(s) were loaded by another run (receipts carried over, not sent again)")
                }
            }
            return try await LoadRunner.run(
                runDirectory: workspace.runDirectory(runID), config: config, options: options,
                otherRuns: workspace.otherRuns(than: runID), progress: progress)
        }
    }

    /// The run to work on, locked: `requested` (which must exist), or a new one (locked from the moment its
    /// name appears, see `Workspace.createRun`).
    ///
    /// - Returns: the run id and its lock, to hold while working on the run (pass it to `run`).
    /// - Throws: a `Diagnostic` when `requested` does not exist or is locked by another process, or a new run
    ///   cannot be created.
    public func prepareRun(_ requested: String?) throws(Diagnostic) -> (id: String, lock: FileLock) {
        if let requested {
            let id = try workspace.resolveRun(requested)
            return (id, try workspace.lockRun(id))
        }
        return try workspace.createRun(now: now())
    }

    /// Copies into this run the receipt another run of the workspace wrote for each payload that has no
    /// receipt or error file here yet (the newest run's first), with `carried_from` naming that run.
    ///
    /// The extract look-back re-reads recently edited orders, so the same bill can appear in two runs.
    /// With the other run's receipt beside it, load treats the document as loaded (same payload SHA-256)
    /// or as changed since it was loaded (different SHA-256: reported, never sent twice). A later run
    /// counts too: an older run loaded after a newer one finds the bills the newer one saved.
    ///
    /// - Returns: how many receipts were carried over.
    /// - Throws: a `Diagnostic` when a receipt cannot be written.
    public func carryOverReceipts(runID: String) throws(Diagnostic) -> Int {
        let directory = Workspace.join(workspace.runDirectory(runID), "transform")
        let others = workspace.otherRuns(than: runID)
        guard !others.isEmpty else { return 0 }
        var carried = 0
        for file in PayloadDirectory.payloadFiles(in: directory) {
            let name = PayloadDirectory.name(ofPayload: file)
            guard !FileSystem.exists(PayloadDirectory.receiptPath(directory: directory, name: name)),
                !FileSystem.exists(PayloadDirectory.errorPath(directory: directory, name: name))
            else { continue }
            for other in others {
                let path = PayloadDirectory.receiptPath(directory: Workspace.join(other.directory, "transform"), name: name)
                guard let bytes = try? FileSystem.read(path), case .object(var receipt)? = try? JSONReader.parse(bytes) else {
                    continue
                }
                receipt.set("carried_from", .string(receipt["carried_from"]?.stringValue ?? other.id))
                try FileSystem.writeAtomically(
                    JSONWriter().bytes(.object(receipt)), to: PayloadDirectory.receiptPath(directory: directory, name: name))
                carried += 1
                break
            }
        }
        return carried
    }

    /// Extract, transform and load in one go over an existing run (see `prepareRun`); a run that stopped
    /// half-way continues where it stopped.
    ///
    /// - Parameter lock: the run's lock when the caller holds it already (from `prepareRun`); else it is
    ///   taken here. Released when the run ends.
    /// - Throws: what the first failing stage throws; the stages before it keep their files.
    public func run(runID: String, since: WDTTime?, until: WDTTime?, holding lock: FileLock? = nil) async throws -> RunResult {
        let lock = try lock ?? workspace.lockRun(runID)
        defer { lock.release() }
        logger.info("run started", metadata: ["run.id": "\(runID)"])
        progress("run \(runID): extract")
        let extract = try await self.extract(runID: runID, since: since, until: until)
        progress("run \(runID): transform")
        let transform = try await self.transform(runID: runID)
        progress("run \(runID): load")
        let load = try await self.load(runID: runID)
        let overview = try overview(runID: runID)
        logger.info("run finished", metadata: ["run.id": "\(runID)", "clean": "\(overview.isClean)"])
        return RunResult(runID: runID, extract: extract, transform: transform, load: load, overview: overview)
    }

    /// The run overview, read from the run's files.
    ///
    /// - Throws: a `Diagnostic` when a manifest cannot be read.
    public func overview(runID: String) throws(Diagnostic) -> RunOverview {
        try RunOverview.read(
            runDirectory: workspace.runDirectory(runID), runID: runID, template: try? template(), afterSave: afterSave())
    }

    /// `target.after_save` for the overview, read alone (no credentials needed); nil when it cannot be read,
    /// and then the overview does not look at the steps receipts record.
    private func afterSave() -> KingdeeTargetConfig.AfterSave? {
        try? workspace.config.afterSave(environment: environment)
    }

    /// The overview of a run and the story of every document whose key or bill number is `query`
    /// (`ferry status --document`), read from the run's files.
    ///
    /// - Throws: a `Diagnostic` when a manifest cannot be read.
    public func documentStories(_ query: String, runID: String) throws(Diagnostic)
        -> (overview: RunOverview, stories: [DocumentStory])
    {
        try RunOverview.documentStories(
            query, runDirectory: workspace.runDirectory(runID), runID: runID, template: try? template(), afterSave: afterSave())
    }

    /// Writes `runs/<id>/report.html` from the run's files and returns its path.
    ///
    /// - Throws: a `Diagnostic` when a manifest cannot be read or the report cannot be written.
    @discardableResult
    public func writeReport(runID: String) throws(Diagnostic) -> String {
        let path = Workspace.join(workspace.runDirectory(runID), "report.html")
        try FileSystem.writeAtomically(RunReport.html(overview(runID: runID)), to: path)
        return path
    }

    /// Runs a stage, records its start and then its end in `run.json` (exit 2 when it throws) and refreshes
    /// the report.
    private func timed<T>(
        _ stage: String, runID: String, exitCode: (T) -> Int, _ body: () async throws -> T
    ) async throws -> T {
        let started = now()
        let runDirectory = workspace.runDirectory(runID)
        logger.info("stage started", metadata: ["stage": "\(stage)", "run.id": "\(runID)"])
        do {
            // Before any work: a stage killed on the way leaves this record, and status says it did not finish.
            try RunLog.begin(runDirectory: runDirectory, stage: stage, started: started)
            let result = try await body()
            let code = exitCode(result)
            try RunLog.append(runDirectory: runDirectory, stage: stage, started: started, finished: now(), exitCode: code)
            logger.info("stage finished", metadata: ["stage": "\(stage)", "run.id": "\(runID)", "exit": "\(code)"])
            refreshReport(runID: runID)
            return result
        } catch {
            try? RunLog.append(
                runDirectory: runDirectory, stage: stage, started: started, finished: now(), exitCode: 2,
                error: (error as? Diagnostic)?.description ?? "\(error)")
            logger.warning("stage could not run", metadata: ["stage": "\(stage)", "run.id": "\(runID)"])
            refreshReport(runID: runID)
            throw error
        }
    }

    private func refreshReport(runID: String) {
        do {
            try writeReport(runID: runID)
        } catch {
            logger.warning("report not written", metadata: ["run.id": "\(runID)", "error": "\(error)"])
        }
    }
}
