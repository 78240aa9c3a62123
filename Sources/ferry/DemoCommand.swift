import ArgumentParser
import FerryCore
import FerryPipeline
import FerryWorkspace
import Foundation

/// `ferry demo`: the whole pipeline on the embedded default, against in-process sandboxes.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole pipeline against built-in WDT and Kingdee sandboxes, trouble included.",
        discussion: """
            Starts both sandbox servers on free loopback ports, creates a demo workspace (default ./ferry-demo; \
            an existing directory is replaced only if an earlier demo made it), and runs extract → transform → \
            load over 30 days of generated orders with a WDT rate-limit error, a Kingdee HTTP 500 and a lost \
            Kingdee response injected, and a few documents that fail for reasons a person can fix. Exit 0 when \
            everything behaved as designed.
            """)

    @Option(help: "The demo workspace directory.")
    var dir: String = "ferry-demo"

    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runCommand {
            let started = Date()
            let result = try await Demo.run(directory: dir, progress: output.progress(), logger: output.logger())
            let run = result.run
            let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
            var lines = [
                "",
                "ferry demo: run \(run.runID) in \(dir) (\(seconds) s)",
                run.overview.text(includeDocuments: false),
                "injected trouble:",
            ]
            lines += result.faults.map { "  " + $0 }
            lines += [
                "look next:",
                "  ls \(dir)/runs/\(run.runID)/transform/                 payloads, *.receipt.json, *.error.json, *.reject.json",
                "  ferry status --workspace \(dir) --documents --state failed",
                "  ferry status --workspace \(dir) --json",
                "  open \(result.reportPath)",
                "fix the failures by hand: in another terminal `ferry sandbox`, export the variables it prints, then",
                "  add WH005 to \(dir)/lookups/warehouses.csv, `ferry transform --workspace \(dir) --run \(run.runID)`",
                "  and `ferry load --workspace \(dir) --run \(run.runID) --retry-failed`",
            ]
            if result.surprises.isEmpty {
                lines.append("ferry demo: everything behaved as designed")
            } else {
                lines.append("ferry demo: NOT as designed:")
                lines += result.surprises.map { "  - " + $0 }
            }
            Console.error(lines.joined(separator: "\n"))
            return result.surprises.isEmpty ? .success : .documentsFailed
        }
    }
}
