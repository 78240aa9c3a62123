import ArgumentParser
import FerryCore
import FerryPipeline
import FerryWDT
import FerryWorkspace
import Foundation

/// `ferry extract`: WDT stock-in orders of a time range → `runs/<id>/extract/` (pages + manifest).
struct ExtractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Fetch WDT stock-in orders into runs/<id>/extract/, proving every window complete.",
        discussion: """
            Without --since/--until the range starts at the cursor in state.json (minus source.lookback_minutes) \
            or at source.start, and ends at now minus source.lag_seconds. Times are WDT time, \
            'yyyy-MM-dd HH:mm:ss' in Asia/Shanghai. Without --run a new run is created and its id printed on \
            stdout; with --run the run is resumed: complete windows are verified and skipped, the rest read again.
            Exit codes: 0 every window complete; 1 some window incomplete (rerun with --run); \
            2 could not run (ferry.yaml, credentials, signature, permission); 64 usage.
            """
    )

    @OptionGroup var options: WorkspaceOptions

    @Option(name: .long, help: "Resume this run instead of creating a new one.")
    var run: String?

    @OptionGroup var range: TimeRangeOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runCommand {
            let (_, pipeline, runID, lock) = try options.startRun(run, output: output)
            defer { lock.release() }
            let summary = try await pipeline.extract(runID: runID, since: range.sinceTime, until: range.untilTime)
            Console.error(Self.describe(summary, runID: runID))
            return summary.isComplete ? .success : .documentsFailed
        }
    }

    static func describe(_ s: ExtractSummary, runID: String) -> String {
        var lines = [
            "extract \(runID): \(s.range.start) … \(s.range.end)",
            "  windows: \(s.windows) (\(s.completeWindows) complete, \(s.incompleteWindows) incomplete, "
                + "\(s.skippedWindows) already complete and skipped\(s.unreadWindows > 0 ? ", \(s.unreadWindows) not read" : ""))",
            "  documents: \(s.documents) in complete windows"
                + (s.repeatedAcrossWindows > 0 ? " (\(s.repeatedAcrossWindows) stockin_no in more than one window)" : "")
                + "; requests: \(s.requests), retries: \(s.retries)",
            "  cursor: \(s.cursor.map(\.description) ?? "none")",
        ]
        if !s.isComplete {
            lines.append("error: not every window is complete; run `ferry extract --run \(runID)` to read them again")
        }
        return lines.joined(separator: "\n")
    }
}

