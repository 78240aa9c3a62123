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
            running).
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

    func validate() throws {
        if let state, DocumentState(rawValue: state) == nil {
            throw ValidationError(
                "--state must be one of \(DocumentState.allCases.map(\.rawValue).joined(separator: ", ")), not '\(state)'")
        }
    }

    func run() async throws {
        try await runCommand {
            let workspace = try Workspace(root: options.workspace)
            let id = try workspace.resolveRun(run)
            let pipeline = Pipeline(workspace: workspace, environment: options.environment)
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
}
