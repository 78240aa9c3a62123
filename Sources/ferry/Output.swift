import ArgumentParser
import FerryCore
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Options every pipeline command shares: progress and logs on stderr.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "No progress lines (diagnostics and the summary are still printed).")
    var quiet = false

    @Option(name: .customLong("log-level"), help: "Structured log level on stderr: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    /// A logger writing to stderr at `--log-level` (bootstraps swift-log once per process).
    func logger() -> Logger {
        LogBootstrap.once(level: logLevel)
        var logger = Logger(label: "ferry")
        logger.logLevel = logLevel
        return logger
    }

    /// Where stage progress goes: a status line on a terminal, plain lines otherwise, nothing with --quiet.
    func progress() -> @Sendable (String) -> Void {
        if quiet { return { _ in } }
        let printer = ProgressPrinter(isTerminal: Console.isTerminal)
        return { printer.show($0) }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

enum LogBootstrap {
    private static let lock = Mutex()
    nonisolated(unsafe) private static var done = false

    static func once(level: Logger.Level) {
        lock.withLock {
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}

/// Shows progress: on a terminal the latest line is redrawn in place (lines about retries, doubts and
/// problems stay); elsewhere every line is printed as it comes.
final class ProgressPrinter: @unchecked Sendable {
    private let isTerminal: Bool
    private let lock = Mutex()
    private var statusShown = false
    private let started = Date()

    init(isTerminal: Bool) {
        self.isTerminal = isTerminal
    }

    func show(_ line: String) {
        lock.withLock {
            guard isTerminal else {
                Console.error(line)
                return
            }
            let lasting = ["retry", "doubt", "error", "warning", "failed", "refused", "incomplete", "changed", "summary"]
                .contains { line.lowercased().contains($0) }
            let elapsed = String(format: "%5.1fs", Date().timeIntervalSince(started))
            if lasting {
                Console.write("\r\u{1B}[K\(line)\n")
                statusShown = false
            } else {
                let width = Console.terminalWidth - 8
                let text = line.count > width ? String(line.prefix(max(10, width - 1))) + "…" : line
                Console.write("\r\u{1B}[K\(elapsed) \(text)")
                statusShown = true
            }
        }
    }

    /// Ends the status line (before a summary is printed).
    func finish() {
        lock.withLock {
            if statusShown { Console.write("\r\u{1B}[K") }
            statusShown = false
        }
    }
}
