import FerryCore
import FerryTestSupport
import Foundation
import Testing
import WDTSandbox

@testable import FerryWDT

#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `ferry extract` against an in-process sandbox.
struct ExtractCommandTests {
    static let since = "2026-01-01 00:00:00"
    static let until = "2026-03-31 23:59:59"

    /// A workspace whose ferry.yaml reads every credential from the environment.
    static func makeWorkspace(api: String = "wdt-qimen", rate: String = "300", extra: String = "") -> String {
        let dir = TestSupport.makeTemporaryDirectory("ferry-extract-cli")
        let yaml = """
            version: 1
            scheme: templates/wdt-stockin-to-kingdee-other-inbound.xml
            org_number: "100"
            source:
              api: \(api)
              url: ${WDT_URL}
              sid: ${WDT_SID}
              app_key: ${WDT_APP_KEY}
              app_secret: ${WDT_APP_SECRET}
              target_app_key: ${WDT_TARGET_APP_KEY}
              requests_per_second: \(rate)
              page_size: 20
              window_days: 30
              lookback_minutes: 10
              retry_delay_seconds: 0.005
              max_retries: 8
            \(extra)
            """
        _ = FileManager.default.createFile(atPath: dir + "/ferry.yaml", contents: Data(yaml.utf8))
        // The scheme's <source> gives the method (and any fixed parameters).
        try? FileManager.default.createDirectory(atPath: dir + "/templates", withIntermediateDirectories: true)
        try? FileManager.default.copyItem(
            atPath: TestSupport.repositoryRoot + "/Templates/wdt-stockin-to-kingdee-other-inbound.xml",
            toPath: dir + "/templates/wdt-stockin-to-kingdee-other-inbound.xml")
        return dir
    }

    static func environment(_ server: WDTSandboxServer, api: String = "wdt-qimen", secret: String? = nil) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env.merge(server.environment(for: WDTTransport(rawValue: api) ?? .qimen)) { $1 }
        if let secret { env["WDT_APP_SECRET"] = secret }
        return env
    }

    static func runIDs(_ workspace: String) -> [String] {
        FileSystem.list(workspace + "/runs").filter { !$0.hasPrefix(".") }
    }

    @Test func aSecondExtractOfTheWorkspaceStopsWhileOneRuns() async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 50))
        defer { Task { await server.stop() } }
        let workspace = Self.makeWorkspace()
        // Another process is extracting (any run): two token buckets would double the request rate.
        let extracting = try FileLock(path: workspace + "/.extract.lock", purpose: "test")
        let blocked = try await TestSupport.runFerryAsync(
            ["extract", "--workspace", workspace, "--since", Self.since, "--until", Self.until], environment: Self.environment(server))
        #expect(blocked.status == 2)
        #expect(blocked.stderr.contains("extracting into this workspace is locked by another Ferry process"), "\(blocked.stderr)")
        #expect(server.counters.requests == 0, "nothing sent")
        extracting.release()
        let extract = try await TestSupport.runFerryAsync(
            ["extract", "--workspace", workspace, "--since", Self.since, "--until", Self.until], environment: Self.environment(server))
        #expect(extract.status == 0, "\(extract.stderr)")
    }

    @Test func extractsNinetyDaysWithFaultsThenContinuesFromTheCursor() async throws {
        var faults = WDTSandboxFaults.all
        faults.modifyBetweenPages = .every(29)
        let server = try await WDTSandboxServer.start(
            configuration: WDTSandboxConfiguration(orderCount: 400, faults: faults))
        defer { Task { await server.stop() } }
        let workspace = Self.makeWorkspace()
        let env = Self.environment(server)
        let result = try await Harness.runFerry(
            ["extract", "--workspace", workspace, "--since", Self.since, "--until", Self.until], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        let runID = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Self.runIDs(workspace) == [runID])
        #expect(result.stderr.contains("windows: 3 (3 complete, 0 incomplete"))
        #expect(result.stderr.contains("page 0:"))
        let extract = workspace + "/runs/\(runID)/extract"
        #expect(
            try Harness.extractedStockinNumbers(extract)
                == server.stockinNumbers(start: WDTTime(Self.since)!, end: WDTTime(Self.until)!))
        #expect(try ExtractCursor.load(workspace + "/state.json")?.cursor == WDTTime(Self.until))
        let manifestText = try FileSystem.readText(extract + "/manifest.json")
        #expect(manifestText.contains("\"method\": \"wdt.stockin.order.query\"") && !manifestText.contains("\"status\""), "no status is sent")

        // No --since: the next run starts at the cursor minus the look-back and ends at now minus the lag.
        let next = try await Harness.runFerry(["extract", "--workspace", workspace], environment: env)
        #expect(next.status == 0, "\(next.stderr)")
        let nextID = next.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let nextManifest = try ExtractManifest.load(workspace + "/runs/\(nextID)/extract/manifest.json")
        #expect(nextManifest.rangeStart == WDTTime("2026-03-31 23:50:00"))
        let cursor = try #require(try ExtractCursor.load(workspace + "/state.json"))
        #expect(cursor.run == nextID)
        #expect(abs(cursor.cursor.unixSeconds - (WDTTime(Date()).unixSeconds - 60)) < 120)

        // No secret, sign or app key anywhere under runs/, in state.json or in the output.
        let c = server.configuration.credentials
        let state = try FileSystem.readText(workspace + "/state.json")
        let output = result.stdout + result.stderr + next.stdout + next.stderr
        for needle in [c.appSecret, c.appKey, c.targetAppKey, "\"sign\"", "sign="] {
            #expect(TestSupport.filesContaining(needle, under: workspace + "/runs").isEmpty, "\(needle) on disk")
            #expect(!state.contains(needle))
            #expect(!output.contains(needle))
        }
    }

    /// The built binary reports an order that moved into a later window while the extract ran: in its
    /// summary line, on stderr, and in the manifest (the sandbox moves it on its own).
    @Test func anOrderMovedIntoALaterWindowIsReportedBySummaryAndManifest() async throws {
        let server = try await WDTSandboxServer.start(
            configuration: WDTSandboxConfiguration(orderCount: 200, faults: WDTSandboxFaults(moveAcrossWindows: true)))
        defer { Task { await server.stop() } }
        let workspace = Self.makeWorkspace()
        let result = try await Harness.runFerry(
            ["extract", "--workspace", workspace, "--since", Self.since, "--until", Self.until],
            environment: Self.environment(server))
        #expect(result.status == 0, "\(result.stderr)")
        let moved = server.counters.movedAcrossWindows
        #expect(moved.count == 1)
        #expect(result.stderr.contains("(1 stockin_no in more than one window)"), "\(result.stderr)")
        #expect(result.stderr.contains("note: 1 stockin_no received in more than one window"))
        let runID = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let manifest = try ExtractManifest.load(workspace + "/runs/\(runID)/extract/manifest.json")
        #expect(manifest.repeatedAcrossWindows.map(\.stockinNo) == moved)
        #expect(manifest.repeatedAcrossWindows.first?.windows.count == 2)
    }

    @Test func schemeSourceParametersAreSent() async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 200))
        defer { Task { await server.stop() } }
        let workspace = Self.makeWorkspace()
        let template = workspace + "/templates/wdt-stockin-to-kingdee-other-inbound.xml"
        let text = try FileSystem.readText(template)
        try FileSystem.writeAtomically(
            text.replacingOccurrences(
                of: #"version="modified"/>"#,
                with: #"version="modified"><param name="status">30,60</param><param name="order_type">1,2,4,5,6,7,8,9,10,11,12</param></source>"#),
            to: template)
        let result = try await Harness.runFerry(
            ["extract", "--workspace", workspace, "--since", Self.since, "--until", Self.until],
            environment: Self.environment(server))
        #expect(result.status == 0, "\(result.stderr)")
        let runID = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let extracted = try Harness.extractedStockinNumbers(workspace + "/runs/\(runID)/extract")
        let expected = server.stockinNumbers(start: WDTTime(Self.since)!, end: WDTTime(Self.until)!, statuses: [30, 60])
        #expect(!expected.isEmpty && extracted == expected)
    }

    @Test func usageAndConfigurationErrorsHaveTheirExitCodes() async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 10))
        defer { Task { await server.stop() } }
        let workspace = Self.makeWorkspace(api: "wdt-openapi")
        let env = Self.environment(server, api: "wdt-openapi")

        let usage = try await Harness.runFerry(["extract", "--workspace", workspace, "--since", "2026/01/01"], environment: env)
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("yyyy-MM-dd HH:mm:ss"))

        var missing = env
        missing["WDT_APP_SECRET"] = nil
        let noSecret = try await Harness.runFerry(["extract", "--workspace", workspace, "--since", Self.since], environment: missing)
        #expect(noSecret.status == 2)
        #expect(noSecret.stderr.contains("WDT_APP_SECRET"))
        #expect(noSecret.stderr.contains("ferry.yaml:9"))

        let noStart = try await Harness.runFerry(["extract", "--workspace", workspace], environment: env)
        #expect(noStart.status == 2)
        #expect(noStart.stderr.contains("--since"))

        let wrong = "wrong-secret-for-test"
        let badSign = try await Harness.runFerry(
            ["extract", "--workspace", workspace, "--since", Self.since, "--until", Self.until],
            environment: Self.environment(server, api: "wdt-openapi", secret: wrong))
        #expect(badSign.status == 2)
        #expect(badSign.stderr.contains("signature"))
        #expect(!badSign.stderr.contains(wrong))
        #expect(server.counters.signatureFailures == 1)
    }

    /// `source.target_app_key` is Qimen's alone: a workspace `ferry init` wrote (it reads
    /// `${WDT_TARGET_APP_KEY}`) switched to the open API must not need that variable.
    @Test func aProxyFerryCannotUseStopsTheExtractBeforeAnythingIsSent() async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 5))
        defer { Task { await server.stop() } }
        let workspace = Self.makeWorkspace()
        var env = Self.environment(server).filter { !$0.key.lowercased().hasSuffix("_proxy") }
        // The sandbox is http://127.0.0.1: no http_proxy, so ALL_PROXY applies; SOCKS4 is one Ferry cannot use.
        env["ALL_PROXY"] = "socks4a://ferry:s3cret-proxy-pw@proxy.invalid:1080"
        let arguments = ["extract", "--workspace", workspace, "--since", Self.since, "--until", Self.until]
        let extract = try await TestSupport.runFerryAsync(arguments, environment: env)
        #expect(extract.status == 2, "\(extract.stderr)")
        #expect(extract.stderr.contains("ALL_PROXY (socks4a://ferry:***@proxy.invalid:1080)"), "\(extract.stderr)")
        #expect(extract.stderr.contains("SOCKS4") && extract.stderr.contains("add 127.0.0.1 to no_proxy"), "\(extract.stderr)")
        #expect(!extract.stderr.contains("s3cret-proxy-pw") && !extract.stdout.contains("s3cret-proxy-pw"))
        #expect(server.counters.requests == 0, "nothing sent")
        #expect(TestSupport.filesContaining("s3cret-proxy-pw", under: workspace).isEmpty)
        env["NO_PROXY"] = "localhost,127.0.0.1"
        let direct = try await TestSupport.runFerryAsync(arguments, environment: env)
        #expect(direct.status == 0, "\(direct.stderr)")
        #expect(server.counters.requests > 0)
    }

    @Test func theOpenAPINeedsNoTargetAppKeyVariable() async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 10))
        defer { Task { await server.stop() } }
        let workspace = Self.makeWorkspace(api: "wdt-openapi")
        var env = Self.environment(server, api: "wdt-openapi")
        env["WDT_TARGET_APP_KEY"] = nil
        let result = try await Harness.runFerry(
            ["extract", "--workspace", workspace, "--since", Self.since, "--until", Self.until], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("WDT_TARGET_APP_KEY"), "\(result.stderr)")
        #expect(server.counters.requests > 0)
    }

    @Test func killedExtractResumesToTheSameCompleteResult() async throws {
        let server = try await WDTSandboxServer.start(
            configuration: WDTSandboxConfiguration(
                orderCount: 600, faults: WDTSandboxFaults(latencyMilliseconds: 40)))
        defer { Task { await server.stop() } }
        let workspace = Self.makeWorkspace(api: "wdt-openapi")
        let env = Self.environment(server, api: "wdt-openapi")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestSupport.ferryBinary)
        process.arguments = ["extract", "--workspace", workspace, "--since", Self.since, "--until", Self.until]
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until the second window has some pages on disk, then kill without warning.
        var runID: String?
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let id = Self.runIDs(workspace).first {
                runID = id
                let extract = workspace + "/runs/\(id)/extract"
                let dirs = FileSystem.list(extract).filter { FileSystem.isDirectory(extract + "/" + $0) }
                if dirs.count >= 2, FileSystem.list(extract + "/" + dirs[1]).count >= 2 { break }
            }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        let id = try #require(runID)
        let extract = workspace + "/runs/\(id)/extract"

        // Whatever the cursor says was proven complete before the kill.
        let partial = try ExtractManifest.load(extract + "/manifest.json")
        #expect(!partial.isComplete)
        if let cursor = try ExtractCursor.load(workspace + "/state.json") {
            #expect(partial.windows.contains { $0.verdict == .complete && $0.end == cursor.cursor })
        }

        let resumed = try await Harness.runFerry(["extract", "--workspace", workspace, "--run", id], environment: env)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id)
        #expect(resumed.stderr.contains("already complete"))
        let manifest = try ExtractManifest.load(extract + "/manifest.json")
        #expect(manifest.isComplete)
        Harness.expectWindowsTile(manifest, start: WDTTime(Self.since)!, end: WDTTime(Self.until)!)
        #expect(
            try Harness.extractedStockinNumbers(extract)
                == server.stockinNumbers(start: WDTTime(Self.since)!, end: WDTTime(Self.until)!))
        #expect(try ExtractCursor.load(workspace + "/state.json")?.cursor == WDTTime(Self.until))
        // No temporary files left behind that a later stage could mistake for pages.
        for file in try FileSystem.filesRecursively(under: extract) {
            #expect(file.hasSuffix(".json"))
        }

        // Resuming with a different range is refused instead of mixing two ranges in one run.
        let conflicting = try await Harness.runFerry(
            ["extract", "--workspace", workspace, "--run", id, "--since", "2026-02-01 00:00:00"], environment: env)
        #expect(conflicting.status == 2)
        #expect(conflicting.stderr.contains("start a new run"))
    }

    @Test func binaryKeepsTheConfiguredRequestRate() async throws {
        let server = try await WDTSandboxServer.start(
            configuration: WDTSandboxConfiguration(orderCount: 150, rateLimit: 10, rejectOverRate: true))
        defer { Task { await server.stop() } }
        let workspace = Self.makeWorkspace(rate: "10")
        let started = Date()
        let result = try await Harness.runFerry(
            ["extract", "--workspace", workspace, "--since", Self.since, "--until", Self.until],
            environment: Self.environment(server))
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result.stderr)")
        let requests = server.counters.requests
        #expect(requests >= 6)
        #expect(server.counters.rateViolations == 0)
        #expect(result.stderr.contains("retries: 0"))
        #expect(elapsed >= Double(requests - 1) / 10 * 0.95)
    }
}
