import ArgumentParser
import FerryCore
import Foundation

/// How a command ended, mapped to Ferry's exit codes.
enum Outcome {
    /// Everything worked: exit 0.
    case success
    /// The command ran, but some documents were rejected or failed: exit 1.
    case documentsFailed
}

/// Exit codes shared by every command.
enum FerryExit {
    static let documentsFailed = ExitCode(1)
    static let couldNotRun = ExitCode(2)
}

/// Standard error, for diagnostics, progress and summaries (stdout stays for machine-readable output).
enum Console {
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func print(_ diagnostic: Diagnostic) {
        error(diagnostic.description)
    }
}

/// Runs a command body, printing a fatal diagnostic and mapping the outcome to an exit code.
func runCommand(_ body: () async throws -> Outcome) async throws {
    let outcome: Outcome
    do {
        outcome = try await body()
    } catch let diagnostic as Diagnostic {
        Console.print(diagnostic)
        throw FerryExit.couldNotRun
    } catch let failure as StageFailure {
        failure.diagnostics.forEach(Console.print)
        throw FerryExit.couldNotRun
    }
    if case .documentsFailed = outcome { throw FerryExit.documentsFailed }
}

/// The `--workspace` option shared by workspace commands.
struct WorkspaceOptions: ParsableArguments {
    @Option(name: .long, help: "The workspace directory (holds ferry.yaml).")
    var workspace: String = "."

    /// The process environment, where `${NAME}` in ferry.yaml is looked up.
    var environment: [String: String] { ProcessInfo.processInfo.environment }
}

/// The process environment (where `${NAME}` in ferry.yaml is looked up).
enum ProcessInfoEnvironment {
    static var current: [String: String] { ProcessInfo.processInfo.environment }
}
