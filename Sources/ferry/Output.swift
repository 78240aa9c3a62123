import ArgumentParser
import FerryCore
import FerryPipeline
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

/// Shows progress: on a terminal the latest line is redrawn in place with a bar when the stage's total
/// is known (pages of the current extract window, documents of a load); lines about retries, doubts
/// and problems stay. Elsewhere every line is printed as it comes.
final class ProgressPrinter: @unchecked Sendable {
    private let isTerminal: Bool
    private let lock = Mutex()
    private let started = Date()
    private var counter = ProgressCounter()

    init(isTerminal: Bool) {
        self.isTerminal = isTerminal
    }

    func show(_ line: String) {
        lock.withLock {
            counter.absorb(line)
            let (done, total) = (counter.done, counter.total)
            guard isTerminal else {
                Console.error(line)
                return
            }
            let lasting = ["retry", "doubt", "error", "warning", "failed", "refused", "incomplete", "changed", "summary"]
                .contains { line.lowercased().contains($0) } && !line.contains(" 0 failed")
            let elapsed = String(format: "%5.1fs", Date().timeIntervalSince(started))
            if lasting {
                Console.error(line)
            }
            var status = elapsed
            if total > 0 {
                let width = 20
                let filled = min(width, width * min(done, total) / total)
                status += " [" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
                    + "] \(min(done, total))/\(total)"
            }
            let room = Console.terminalWidth - status.count - 2
            let text = line.count > room ? String(line.prefix(max(10, room - 1))) + "…" : line
            Console.writeStatus("\(status) \(lasting ? "" : text)")
        }
    }
}
