import ArgumentParser
import FerryCore
import FerryPipeline
import FerryWorkspace
import Foundation

#if canImport(Glibc)
import Glibc
#endif

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
    /// Whether stderr is a terminal.
    static let isTerminal = isatty(2) == 1

    /// Whether to colour output: a terminal, and `NO_COLOR` not set (https://no-color.org).
    static let usesColor = isTerminal && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    /// The terminal's width, or 100.
    static var terminalWidth: Int {
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 100
    }

    private static let lock = Mutex()
    nonisolated(unsafe) private static var statusLineShown = false

    static func write(_ text: String) {
        var text = text
        // A failed write to stderr has nowhere to be reported.
        _ = text.withUTF8 { FileSystem.writeAll(2, UnsafeRawBufferPointer($0)) }
    }

    /// Redraws the one-line status on a terminal (progress); the next `error` line clears it first.
    static func writeStatus(_ text: String) {
        lock.withLock {
            write("\r\u{1B}[K" + text)
            statusLineShown = true
        }
    }

    static func error(_ text: String) {
        lock.withLock {
            if statusLineShown {
                write("\r\u{1B}[K")
                statusLineShown = false
            }
            write(text + "\n")
        }
    }

    static func print(_ diagnostic: Diagnostic) {
        var text = diagnostic.description
        if usesColor {
            let label = "\(diagnostic.severity.rawValue):"
            let color = diagnostic.severity == .error ? "\u{1B}[1;31m" : diagnostic.severity == .warning ? "\u{1B}[1;33m" : "\u{1B}[1m"
            if let range = text.range(of: label) { text.replaceSubrange(range, with: color + label + "\u{1B}[0m") }
        }
        error(text)
    }
}

/// Runs a command body, printing a fatal diagnostic and mapping the outcome to an exit code.
func runCommand(_ body: () async throws -> Outcome) async throws {
    let outcome: Outcome
    do {
        outcome = try await body()
    } catch let diagnostic as Diagnostic {
        Console.print(diagnostic)
        endProcess(FerryExit.couldNotRun)
    } catch let failure as StageFailure {
        failure.diagnostics.forEach(Console.print)
        endProcess(FerryExit.couldNotRun)
    }
    if case .documentsFailed = outcome { endProcess(FerryExit.documentsFailed) }
}

/// Ends the process with `code`, as ArgumentParser does for a thrown `ExitCode`, which first builds the
/// root command's usage text by reflection, only to drop it (it prints nothing for an exit code): about
/// 0.3 ms at the end of every run that exits 1 or 2, when nothing else is left to do.
func endProcess(_ code: ExitCode) -> Never {
    exit(code.rawValue)
}

/// The `--workspace` option shared by workspace commands.
struct WorkspaceOptions: ParsableArguments {
    @Option(name: .long, help: "The workspace directory (holds ferry.yaml).")
    var workspace: String = "."

    /// The process environment, where `${NAME}` in ferry.yaml is looked up.
    var environment: [String: String] { Self.environment }

    /// The process environment, for commands whose workspace is optional.
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Opens the workspace and its pipeline, checks its scheme, and picks the run to work on (`requested`,
    /// or a new one) and locks it, printing the run id on stdout at once and unbuffered, so that a run
    /// killed later can be continued with `--run ID`.
    ///
    /// - Returns: the workspace, the pipeline, the run id and the run's lock (hold it while working).
    /// - Throws: a `Diagnostic` or `StageFailure` when the workspace, its scheme or the run is not usable.
    func startRun(_ requested: String?, output: OutputOptions) throws -> (Workspace, Pipeline, String, FileLock) {
        let workspace = try Workspace(root: self.workspace)
        let pipeline = Pipeline(
            workspace: workspace, environment: environment, progress: output.progress(), logger: output.logger())
        _ = try pipeline.template()
        let (runID, lock) = try pipeline.prepareRun(requested)
        FileHandle.standardOutput.write(Data((runID + "\n").utf8))
        return (workspace, pipeline, runID, lock)
    }
}
