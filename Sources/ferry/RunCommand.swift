import ArgumentParser
import FerryCore
import FerryPipeline
import FerryWDT
import FerryWorkspace
import Foundation

/// `ferry run`: extract → transform → load in one go, or continue an unfinished run.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Extract, transform and load in one go (the files are exactly those the single stages write).",
        discussion: """
            Without --run a new run is created (its id is printed on stdout); with --run ID an unfinished run \
            continues where it stopped: complete windows are skipped, the transform is redone (byte-identical), \
            and load never sends a document twice. Each stage can still be rerun on its own afterwards. When the \
            extract leaves a window incomplete, what was read is still transformed and loaded (exit 1): the cursor \
            never moves past that window, so the next run reads it again, unless the cursor was past it already \
            (an earlier period read again with --since; then --run ID reads it again). Exit 0 only when \
            `ferry status` would call the run clean.
            """)

    @OptionGroup var options: WorkspaceOptions

    @Option(name: .long, help: "Continue this run instead of creating a new one.")
    var run: String?

    @OptionGroup var range: TimeRangeOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runCommand {
            let (workspace, pipeline, runID, lock) = try options.startRun(run, output: output)
            let result = try await pipeline.run(runID: runID, since: range.sinceTime, until: range.untilTime, holding: lock)
            Console.error(result.overview.text(includeDocuments: false))
            for note in result.notes { Console.error("ferry run: \(note)") }
            Console.error("report: \(Workspace.join(workspace.runDirectory(result.runID), "report.html"))")
            return result.needsAttention ? .documentsFailed : .success
        }
    }
}
