import ArgumentParser
import FerryCore
import FerryPipeline
import FerryWorkspace
import Foundation

/// `ferry status`: the run overview, from the files of a run.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show where every document of a run stands, with problems grouped and what to do.",
        discussion: """
            --json prints the ferry-status-1 schema (README.md, "ferry status --json"). --html writes \
            runs/ID/report.html again. Exit 0 when the run is clean: every document is loaded or filtered, every \
            extract window proven complete; 1 otherwise (also when a window is not proven complete, a bill loaded \
            earlier is no longer produced by the transform, extracted documents are not transformed yet, an input \
            file could not be read, or a stage's latest attempt could not run or did not finish: killed, or still \
            running). --document KEY shows one document (KEY is its stockin_no or FBillNo, letter case as \
            written; every document that has it): the page and window that held each version, the transform's \
            outcome, every load send and its outcome, earlier failures a later success replaced, its state and \
            what to do (a document not transformed yet is found by its stockin_no in the pages the transform \
            has not read); exit 0 when it is loaded or filtered, 1 otherwise, 2 when no document of the run has KEY.
            """)

    @OptionGroup var options: WorkspaceOptions

    @Option(name: .long, help: "The run (default: the newest).")
    var run: String?

    @Flag(name: .long, help: "Print JSON (schema ferry-status-1) instead of text.")
    var json = false

    @Flag(name: .long, help: "List every document with its state and files.")
    var documents = false

    @Option(name: .long, help: "With --documents: only this state (rejected, filtered, pending, in_doubt, loaded, changed, failed).")
    var state: String?

    @Flag(name: .long, help: "Write runs/ID/report.html again and print its path.")
    var html = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "One document's whole story: extract pages, transform outcome, load sends and outcome, state, next step.",
            valueName: "KEY"))
    var document: String?

    func validate() throws {
        if document != nil {
            let others = [(documents, "--documents"), (state != nil, "--state"), (html, "--html")].filter(\.0).map(\.1)
            if !others.isEmpty {
                throw ValidationError("--document shows one document; do not combine it with \(others.joined(separator: ", "))")
            }
        }
        if let state, DocumentState(rawValue: state).map(DocumentState.overviewStates.contains) != true {
            throw ValidationError(
                "--state must be one of \(DocumentState.overviewStates.map(\.rawValue).joined(separator: ", ")), not '\(state)'")
        }
    }

    func run() async throws {
        try await runCommand {
            let workspace = try Workspace(root: options.workspace)
            let id = try workspace.resolveRun(run)
            let pipeline = Pipeline(workspace: workspace, environment: options.environment)
            if let document {
                return try story(of: document, pipeline: pipeline, runID: id)
            }
            let overview = try pipeline.overview(runID: id)
            let filter = state.flatMap(DocumentState.init(rawValue:))
            if html {
                print(try pipeline.writeReport(runID: id))
            } else if json {
                FileHandle.standardOutput.write(
                    Data(JSONWriter().bytes(overview.json(includeDocuments: documents || filter != nil, state: filter))))
            } else {
                print(overview.text(includeDocuments: documents || filter != nil, state: filter))
            }
            return overview.isClean ? .success : .documentsFailed
        }
    }

    /// `--document KEY`: exit 0 when every matching document is loaded or filtered, 1 otherwise; a
    /// `Diagnostic` (exit 2) when none matches.
    private func story(of query: String, pipeline: Pipeline, runID: String) throws -> Outcome {
        let (overview, stories) = try pipeline.documentStories(query, runID: runID)
        guard !stories.isEmpty else {
            // Before the transform's manifest exists, only the extracted pages were searched, by key: say so
            // rather than only "no document".
            let manifest = Workspace.join(pipeline.workspace.runDirectory(runID), "transform/manifest.json")
            let untransformed = FileSystem.exists(manifest) ? "" : "; the run has not been transformed (or the transform did not "
                + "finish), so only its extracted pages were searched, by key (stockin_no): bill numbers are known once "
                + "`ferry transform --run \(runID)` has run"
            throw Diagnostic.error(
                "no document of run \(runID) has the key (stockin_no) or bill number (FBillNo) '\(query)' (written as "
                    + "it is, letter case included)\(untransformed); another run may have it: `ferry status --run ID --document \(query)`, "
                    + "or list this run's documents with `ferry status --run \(runID) --documents`")
        }
        if json {
            FileHandle.standardOutput.write(Data(JSONWriter().bytes(overview.json(document: query, stories: stories))))
        } else {
            print(stories.map { $0.text(runID: runID) }.joined(separator: "\n\n"))
        }
        return stories.allSatisfy(\.isDone) ? .success : .documentsFailed
    }
}
