import FerryCore
import FerryKingdee
import FerryWDT
import FerryWorkspace
import Foundation
import KingdeeSandbox
import Logging
import WDTSandbox

/// `ferry demo`: the whole pipeline against the built-in sandboxes, with realistic trouble switched on.
///
/// It starts both sandbox servers in the process, creates a demo workspace whose lookups fit the
/// sandbox data (except on purpose: one warehouse missing from `warehouses.csv`, one material Kingdee
/// does not know), and runs extract → transform → load over 30 days of generated orders with one WDT
/// rate-limit error, one Kingdee HTTP 500 and one lost Kingdee response injected.
public enum Demo {
    /// The file that marks a directory as a demo workspace (a demo may replace only such a directory).
    public static let markerFile = ".ferry-demo"

    /// What the demo did and whether it behaved as designed.
    public struct Result: Sendable {
        /// The demo workspace.
        public var workspace: String
        /// The run.
        public var run: RunResult
        /// One line per injected fault and how it was handled.
        public var faults: [String]
        /// What did not behave as designed (empty when the demo is a success).
        public var surprises: [String]
        /// Path of the run report.
        public var reportPath: String
    }

    /// The demo's sandbox options: 300 orders over October 2026, faults chosen so that each happens once.
    public static var sandboxOptions: SandboxPair.Options {
        var options = SandboxPair.Options()
        options.wdtFaults = WDTSandboxFaults(frequencyLimit: .once(at: 2), latencyMilliseconds: 2)
        options.wdtRateLimit = 20
        options.kingdeeFaults = KingdeeSandboxFaults(latency: .milliseconds(20))
        options.kingdeeFaults.http500At = [2]
        options.kingdeeFaults.dropAfterCommitAt = [3]
        return options
    }

    /// Runs the demo in `directory`.
    ///
    /// - Throws: a `Diagnostic` when the directory exists and is not a demo workspace, or a stage cannot run.
    public static func run(
        directory: String, progress: @escaping @Sendable (String) -> Void, logger: Logger
    ) async throws -> Result {
        try prepareDirectory(directory)
        let pair = try await SandboxPair.start(options: sandboxOptions)
        do {
            let result = try await run(in: directory, pair: pair, progress: progress, logger: logger)
            await pair.stop()
            return result
        } catch {
            await pair.stop()
            throw error
        }
    }

    /// Creates (or replaces) a demo workspace in `directory`: the built-in scheme, lookups that fit the
    /// sandbox data, a ferry.yaml tuned for loopback, and the marker file.
    ///
    /// - Throws: a `Diagnostic` when the directory exists and is not a demo workspace.
    public static func prepareDirectory(_ directory: String) throws(Diagnostic) {
        if FileSystem.exists(directory) {
            // A file is no workspace: listing it gives nothing, which must not pass for an empty directory.
            let entries = FileSystem.list(directory)
            guard FileSystem.isDirectory(directory), entries.isEmpty || entries.contains(markerFile) else {
                throw .error(
                    "this directory exists and is not a Ferry demo workspace; the demo will not overwrite it "
                        + "(choose another with --dir, or remove it)", file: directory)
            }
            do {
                try FileManager.default.removeItem(atPath: directory)
            } catch {
                throw .error("cannot remove the previous demo workspace: \(error.localizedDescription)", file: directory)
            }
        }
        try WorkspaceInitializer.create(at: directory)
        try FileSystem.writeAtomically("ferry demo workspace; `ferry demo` may replace this directory\n", to: directory + "/" + markerFile)
        for (name, text) in SandboxPair.demoLookups {
            try FileSystem.writeAtomically(text, to: directory + "/lookups/" + name)
        }
        try FileSystem.writeAtomically(configText, to: Workspace.configPath(directory))
    }

    /// The demo's ferry.yaml: the generated one, tuned for a fast run against loopback sandboxes.
    static let configText = """
        # Ferry demo workspace (made by `ferry demo`). Endpoints and secrets come from the environment:
        # `ferry sandbox` prints the variables that point this workspace at the sandboxes.
        version: 1
        scheme: templates/wdt-stockin-to-kingdee-other-inbound.xml
        org_number: "100"
        source:
          api: wdt-qimen
          url: ${WDT_URL}
          sid: ${WDT_SID}
          app_key: ${WDT_APP_KEY}
          app_secret: ${WDT_APP_SECRET}
          target_app_key: ${WDT_TARGET_APP_KEY}
          requests_per_second: 15
          page_size: 100
          window_days: 30
          lookback_minutes: 10
          retry_delay_seconds: 0.2
        target:
          url: ${KINGDEE_URL}
          auth: signature
          acct_id: ${KINGDEE_ACCT_ID}
          username: ${KINGDEE_USERNAME}
          app_id: ${KINGDEE_APP_ID}
          app_secret: ${KINGDEE_APP_SECRET}
          password: ${KINGDEE_PASSWORD}
          batch_size: 50
          concurrency: 4
          timeout_seconds: 5
          retry_delay_seconds: 0.2
          in_doubt_recheck_seconds: 0.5   # the sandbox saves nothing after it answers; against Kingdee keep the default 10

        """

    static func run(
        in directory: String, pair: SandboxPair, progress: @escaping @Sendable (String) -> Void, logger: Logger
    ) async throws -> Result {
        var environment = ProcessInfo.processInfo.environment
        environment.merge(pair.environment()) { $1 }
        let workspace = try Workspace(root: directory)
        let pipeline = Pipeline(workspace: workspace, environment: environment, progress: progress, logger: logger)
        let period = pair.period
        let (runID, lock) = try pipeline.prepareRun(nil)
        let run = try await pipeline.run(runID: runID, since: period.start, until: period.end, holding: lock)
        let reportPath = try pipeline.writeReport(runID: run.runID)

        let wdt = pair.wdt.counters
        let kingdee = pair.kingdee.store.faultsInjected
        let queries = pair.kingdee.store.requestCounts["ExecuteBillQuery"] ?? 0
        let faults = [
            "WDT rate-limit errors: \(wdt.frequencyLimitFaults) (retried after a pause; rate violations measured by the sandbox: \(wdt.rateViolations))",
            "Kingdee HTTP 500: \(kingdee["http500"] ?? 0) (the batch was retried)",
            "Kingdee lost responses: \(kingdee["lost_response"] ?? 0) (bills committed, answer lost: found with ExecuteBillQuery, not sent twice)",
            "ExecuteBillQuery checks: \(queries) (asking Kingdee which bills exist wherever an answer did not say, for the two faults above)",
        ]

        var surprises: [String] = []
        let overview = run.overview
        if !run.extract.isComplete { surprises.append("extract did not prove every window complete") }
        if wdt.frequencyLimitFaults < 1 { surprises.append("no WDT rate-limit error was injected") }
        if wdt.rateViolations > 0 { surprises.append("\(wdt.rateViolations) WDT request(s) broke the sandbox's rate limit") }
        if (kingdee["http500"] ?? 0) < 1 { surprises.append("no Kingdee HTTP 500 was injected") }
        if (kingdee["lost_response"] ?? 0) < 1 { surprises.append("no Kingdee response was lost") }
        if overview.load.inDoubt > 0 || overview.load.pending > 0 || overview.load.changed > 0 {
            surprises.append("\(overview.load.inDoubt) in doubt, \(overview.load.pending) pending, \(overview.load.changed) changed after the run")
        }
        let bills = pair.kingdee.store.bills
        if bills.count != overview.load.loaded { surprises.append("Kingdee holds \(bills.count) bills but \(overview.load.loaded) receipts exist") }
        if let twice = bills.first(where: { $0.saveCount != 1 }) { surprises.append("bill \(twice.number) was saved \(twice.saveCount) times") }
        let failedClasses = Set(overview.load.failedByClass.keys)
        if overview.load.failed == 0 { surprises.append("no document failed, though the demo data has fixable errors") }
        if !failedClasses.isSubset(of: ["data"]) {
            surprises.append("unexpected failure classes: \(failedClasses.sorted().joined(separator: ", "))")
        }
        logger.info("demo finished", metadata: ["surprises": "\(surprises.count)"])
        return Result(workspace: directory, run: run, faults: faults, surprises: surprises, reportPath: reportPath)
    }
}
