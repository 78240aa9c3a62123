import ArgumentParser
import FerryCore
import FerryPipeline
import FerryWDT
import Foundation
import KingdeeSandbox
import WDTSandbox

/// `ferry sandbox`: both sandbox servers until Ctrl-C.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Run the WDT and Kingdee sandbox servers on loopback until Ctrl-C.",
        discussion: """
            Prints the environment variables that point a workspace at them (WDT on PORT, Kingdee on PORT+1). \
            Faults: wdt-rate-limit, wdt-429, wdt-500, wdt-modified-between-pages, wdt-modified-between-windows, \
            wdt-duplicate-rows, wdt-slow, kingdee-500, kingdee-lost-response, kingdee-session-loss, kingdee-call-limit, \
            kingdee-slow, kingdee-renumber, kingdee-revoke-credentials, kingdee-negative-stock (Audit of every 5th bill \
            meets the negative-stock prompt unless target.audit_interaction_flags has STK_InvCheckResult), \
            kingdee-lost-step-answer (every 3rd Submit/Audit is done, then its answer is lost).
            """)

    @Option(help: "WDT port (Kingdee uses PORT+1); 0 picks free ports.")
    var port: UInt16 = 0

    @Option(help: "Seed of the generated orders.")
    var seed: UInt64 = 20_261_129

    @Option(help: "Number of generated orders (all statuses).")
    var orders: Int = 300

    @Option(name: .customLong("fault"), parsing: .upToNextOption, help: "Faults to switch on (repeatable).")
    var faults: [String] = []

    static let faultNames = [
        "wdt-rate-limit", "wdt-429", "wdt-500", "wdt-modified-between-pages", "wdt-modified-between-windows", "wdt-duplicate-rows", "wdt-slow",
        "kingdee-500", "kingdee-lost-response", "kingdee-session-loss", "kingdee-call-limit", "kingdee-slow",
        "kingdee-renumber", "kingdee-revoke-credentials", "kingdee-negative-stock", "kingdee-lost-step-answer",
    ]

    func validate() throws {
        for fault in faults where !Self.faultNames.contains(fault) {
            throw ValidationError("unknown fault '\(fault)'; choose from \(Self.faultNames.joined(separator: ", "))")
        }
        guard orders > 0 else { throw ValidationError("--orders must be at least 1") }
        guard port < UInt16.max else {
            throw ValidationError("--port must be at most \(UInt16.max - 1): Kingdee listens on PORT+1 (0 picks free ports)")
        }
    }

    func run() async throws {
        var options = SandboxPair.Options()
        options.seed = seed
        options.orders = orders
        for fault in faults {
            switch fault {
            case "wdt-rate-limit": options.wdtFaults.frequencyLimit = .every(5)
            case "wdt-429": options.wdtFaults.tooManyRequests = .every(6)
            case "wdt-500": options.wdtFaults.serverError = .every(7)
            case "wdt-modified-between-pages": options.wdtFaults.modifyBetweenPages = .every(3)
            case "wdt-modified-between-windows": options.wdtFaults.moveAcrossWindows = true
            case "wdt-duplicate-rows": options.wdtFaults.duplicateRows = .every(4)
            case "wdt-slow": options.wdtFaults.latencyMilliseconds = 300
            case "kingdee-500": options.kingdeeFaults.http500Every = 3
            case "kingdee-lost-response": options.kingdeeFaults.dropAfterCommitEvery = 4
            case "kingdee-session-loss": options.kingdeeFaults.sessionLossEvery = 5
            case "kingdee-call-limit": options.kingdeeFaults.callLimitEvery = 6
            case "kingdee-renumber": options.kingdeeFaults.renumberBills = true
            case "kingdee-revoke-credentials": options.kingdeeFaults.revokeCredentialsAtSave = 3
            case "kingdee-negative-stock": options.kingdeeFaults.negativeStockEvery = 5
            case "kingdee-lost-step-answer": options.kingdeeFaults.dropStepAnswerEvery = 3
            default: options.kingdeeFaults.latency = .milliseconds(300)
            }
        }
        let pair = try await SandboxPair.start(port: port, options: options)
        let period = pair.period
        var lines = [
            "# Ferry sandboxes: WDT \(pair.wdt.baseURL) and Kingdee \(pair.kingdee.baseURL)",
            "# \(orders) orders modified \(period.start) … \(period.end) (seed \(seed)); faults: \(faults.isEmpty ? "none" : faults.joined(separator: ", "))",
            "# Point a workspace at them (these are sandbox credentials, not secrets):",
        ]
        for (name, value) in pair.environment().sorted(by: { $0.key < $1.key }) {
            lines.append("export \(name)='\(value)'")
        }
        lines.append("# then, e.g.: ferry demo's workspace, or `ferry init ws`, and")
        lines.append("#   ferry run --workspace ws --since '\(period.start)' --until '\(period.end)'")
        lines.append("# Ctrl-C stops the servers.")
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        let signals = SignalWaiter()
        await signals.wait()
        await pair.stop()
        FileHandle.standardError.write(Data("ferry sandbox: stopped\n".utf8))
    }
}

/// Waits for SIGINT or SIGTERM.
final class SignalWaiter: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let lock = NSLock()
            var resumed = false
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .main)
                source.setEventHandler {
                    lock.lock()
                    defer { lock.unlock() }
                    if !resumed {
                        resumed = true
                        continuation.resume()
                    }
                }
                source.resume()
                sources.append(source)
            }
        }
    }
}
