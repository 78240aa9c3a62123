import FerryCore
import FerryTestSupport
import Foundation
import Testing
import WDTSandbox

@testable import FerryWDT

/// What a resumed or a first extract may take as already read, and where the cursor may go.
struct ExtractResumeTests {
    /// Every page file under `extract` is one the manifest lists: the transform reads them all.
    static func expectNoOrphanPages(_ extract: String) throws {
        let manifest = try ExtractManifest.load(extract + "/manifest.json")
        let listed = Set(manifest.windows.flatMap { $0.pages.map(\.file) })
        for directory in FileSystem.list(extract) where FileSystem.isDirectory(extract + "/" + directory) {
            for file in FileSystem.list(extract + "/" + directory) {
                #expect(listed.contains(directory + "/" + file), "\(directory)/\(file) is not in the manifest")
            }
        }
    }

    @Test func aRunResumedWithOtherParametersReadsItsEarlierWindowsAgain() async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 600))
        defer { Task { await server.stop() } }
        let dir = TestSupport.makeTemporaryDirectory("wdt-resume-params")
        var config = Harness.config(server)
        config.maxRetries = 0
        let windows = WindowPlanner.windows(from: Harness.since, to: Harness.until, maxDays: 30)
        let request = ExtractRequest(
            runID: "r", extractDirectory: dir + "/extract", statePath: dir + "/state.json", since: Harness.since,
            until: Harness.until)
        // The first attempt reads window 1 whole (status 80), then WDT fails.
        let first = try await WDTExtractor(config: config) { line in
            if line.hasPrefix("window \(windows[0]): complete") { server.setFaults(WDTSandboxFaults(serverError: .every(1))) }
        }.run(request)
        #expect(!first.isComplete)
        server.setFaults(WDTSandboxFaults())
        // The scheme now also takes status 60, and windows hold fewer documents (window 1 must be split).
        var changed = config
        let allTypes = WDTDataset.orderTypes.map { String($0.code) }.joined(separator: ",")
        changed.fixedParameters = ["status": "60,80", "order_type": allTypes]
        changed.maxWindowDocuments = 60
        let lines = Harness.Lines()
        let resumed = try await WDTExtractor(config: changed) { lines.append($0) }.run(
            ExtractRequest(runID: "r", extractDirectory: dir + "/extract", statePath: dir + "/state.json"))
        #expect(resumed.isComplete)
        #expect(resumed.skippedWindows == 0, "no window read with status 80 only is taken as read")
        #expect(lines.all.contains { $0.contains("read earlier with other parameters") })
        let manifest = try ExtractManifest.load(dir + "/extract/manifest.json")
        #expect(manifest.windows.allSatisfy { $0.request["status"] == "60,80" })
        #expect(manifest.windows.contains { $0.window == windows[0] && $0.verdict == .split })
        let expected = server.stockinNumbers(start: Harness.since, end: Harness.until, statuses: [60, 80])
        #expect(try Harness.extractedStockinNumbers(dir + "/extract") == expected)
        // Window 1's pages from the first attempt went with its split.
        try Self.expectNoOrphanPages(dir + "/extract")
    }

    @Test func aFirstExtractThatStartsAfterSourceStartLeavesNoCursor() async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 300))
        defer { Task { await server.stop() } }
        let dir = TestSupport.makeTemporaryDirectory("wdt-backfill")
        var config = Harness.config(server)
        config.start = Harness.since
        let lines = Harness.Lines()
        let backfill = try await WDTExtractor(config: config) { lines.append($0) }.run(
            ExtractRequest(
                runID: "a", extractDirectory: dir + "/runs/a/extract", statePath: dir + "/state.json",
                since: WDTTime("2026-02-01 00:00:00")!, until: WDTTime("2026-02-05 23:59:59")!))
        #expect(backfill.isComplete)
        #expect(try ExtractCursor.load(dir + "/state.json") == nil, "January was never read")
        #expect(lines.all.contains { $0.contains("this extract starts after source.start") })
        // So the next scheduled extract starts at source.start and reads January.
        let next = try await WDTExtractor(config: config).run(
            ExtractRequest(runID: "b", extractDirectory: dir + "/runs/b/extract", statePath: dir + "/state.json", until: Harness.until))
        #expect(next.range.start == Harness.since)
        #expect(try ExtractCursor.load(dir + "/state.json")?.cursor == Harness.until)
        #expect(try Harness.extractedStockinNumbers(dir + "/runs/b/extract") == server.stockinNumbers(start: Harness.since, end: Harness.until))
    }

    @Test func withTheLocalClockAheadOfWDTsTheCursorStopsAtWDTsTime() async throws {
        let realNow = WDTTime(Date())
        // WDT's clock is three minutes behind this machine's (it accepts timestamps up to five minutes off).
        let server = try await WDTSandboxServer.start(
            configuration: WDTSandboxConfiguration(
                orderCount: 50, periodStart: realNow.adding(seconds: -86_400), periodDays: 1,
                faults: WDTSandboxFaults(clockOffsetSeconds: -180)))
        defer { Task { await server.stop() } }
        let dir = TestSupport.makeTemporaryDirectory("wdt-clock-ahead")
        var config = Harness.config(server)
        config.lookbackMinutes = 0
        let lines = Harness.Lines()
        let first = try await WDTExtractor(config: config) { lines.append($0) }.run(
            ExtractRequest(
                runID: "a", extractDirectory: dir + "/runs/a/extract", statePath: dir + "/state.json",
                since: realNow.adding(seconds: -86_400)))
        #expect(first.isComplete)
        let cursor = try #require(try ExtractCursor.load(dir + "/state.json")?.cursor)
        #expect(cursor <= WDTTime(Date()).adding(seconds: -180), "not in WDT's future")
        #expect(lines.all.contains { $0.contains("the cursor stops at WDT's time") })
        // An order edited on WDT right after that extract (at WDT's time) is read by the next one.
        let edited = try #require(server.stockinNumbers(start: realNow.adding(seconds: -86_400), end: realNow).first)
        #expect(server.dataset.modify(edited, at: WDTTime(Date()).adding(seconds: -179)))
        _ = try await WDTExtractor(config: config).run(
            ExtractRequest(runID: "b", extractDirectory: dir + "/runs/b/extract", statePath: dir + "/state.json"))
        #expect(try Harness.extractedStockinNumbers(dir + "/runs/b/extract").contains(edited))
    }
}
