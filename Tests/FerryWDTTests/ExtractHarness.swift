import FerryCore
import FerryTestSupport
import Foundation
import Testing
import WDTSandbox

@testable import FerryWDT

/// Shared helpers for the sandbox tests.
enum Harness {
    static let since = WDTTime("2026-01-01 00:00:00")!
    static let until = WDTTime("2026-03-31 23:59:59")!

    /// A source config pointing at the sandbox, fast enough for tests.
    static func config(
        _ server: WDTSandboxServer, transport: WDTTransport = .qimen, rate: Double = 500, pageSize: Int = 20,
        secret: String? = nil
    ) -> WDTSourceConfig {
        let c = server.configuration.credentials
        return WDTSourceConfig(
            transport: transport, url: transport == .qimen ? server.qimenURL : server.openAPIURL, sid: c.sid,
            appKey: c.appKey, appSecret: secret ?? c.appSecret, targetAppKey: c.targetAppKey, requestsPerSecond: rate,
            pageSize: pageSize, timeoutSeconds: 10, maxRetries: 8, retryDelaySeconds: 0.005, maxWindowAttempts: 10)
    }

    /// Collects lines printed by an extractor.
    final class Lines: @unchecked Sendable {
        private let lock = Mutex()
        private var storage: [String] = []
        func append(_ line: String) { lock.withLock { storage.append(line) } }
        var all: [String] { lock.withLock { storage } }
    }

    /// Every `stockin_no` in the pages of complete windows, after checking each file against the manifest.
    static func extractedStockinNumbers(_ extractDirectory: String) throws -> Set<String> {
        let manifest = try ExtractManifest.load(extractDirectory + "/manifest.json")
        var numbers = Set<String>()
        for window in manifest.windows where window.verdict == .complete {
            for page in window.pages {
                let bytes = try FileSystem.read(extractDirectory + "/" + page.file)
                #expect(Hashing.sha256Hex(bytes) == page.sha256, "\(page.file)")
                let parsed = try WDTResponseParser.parse(bytes)
                #expect(parsed.orders.count == page.documents)
                numbers.formUnion(parsed.orders.map(WDTPage.documentKey))
            }
        }
        return numbers
    }

    /// Checks that the manifest's leaf windows tile `[start, end]` with no gap and no overlap.
    static func expectWindowsTile(_ manifest: ExtractManifest, start: WDTTime, end: WDTTime) {
        let leaves = manifest.windows.filter { $0.verdict != .split }
        #expect(leaves.first?.start == start)
        #expect(leaves.last?.end == end)
        for (a, b) in zip(leaves, leaves.dropFirst()) {
            #expect(b.start == a.end.adding(seconds: 1), "gap or overlap between \(a.window) and \(b.window)")
        }
    }
}

extension Harness {
    /// Runs the built `ferry` on a plain thread, so that waiting for it never blocks the cooperative thread
    /// pool the in-process sandbox serves from (2 cores: two blocked waits would starve the server).
    static func runFerry(_ arguments: [String], environment: [String: String]) async throws -> TestSupport.ProcessResult {
        try await TestSupport.runFerryAsync(arguments, environment: environment)
    }
}
