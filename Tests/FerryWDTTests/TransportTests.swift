import FerryCore
import Foundation
import SandboxHTTP
import Testing

@testable import FerryWDT

/// The WDT client's HTTP layer against a misbehaving loopback server (a test double at the edge).
@Suite struct WDTTransportTests {
    @Test func aTrickledAnswerTimesOutWithinTheRequestTimeout() async throws {
        // 200 bytes at 20 a second: 10 s, though no read waits longer than 50 ms.
        let server = try await SandboxHTTPServer.start { _ in
            .trickled(
                headers: [("Content-Type", "application/json")], body: Array(("{" + String(repeating: " ", count: 198) + "}").utf8),
                every: .milliseconds(50))
        }
        let config = WDTSourceConfig(
            transport: .qimen, url: "http://127.0.0.1:\(server.port)/router/qm", sid: "sid", appKey: "key",
            appSecret: "secret", targetAppKey: "target", requestsPerSecond: 500, pageSize: 20, timeoutSeconds: 0.5,
            maxRetries: 0, retryDelaySeconds: 0.005, maxWindowAttempts: 10)
        let client = try WDTClient(config: config)
        let since = WDTTime("2026-01-01 00:00:00")!
        let started = Date()
        do throws(WDTError) {
            _ = try await client.fetchPage(start: since, end: since.adding(seconds: 86400), pageNo: 0)
            Issue.record("a trickled answer was taken")
        } catch {
            #expect(error.kind == .network, "\(error)")
            #expect(error.message.contains("timed out"), "\(error)")
        }
        #expect(Date().timeIntervalSince(started) < 3)
        await server.stop()
    }
}
