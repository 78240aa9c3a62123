@testable import FerryKingdee
import FerryCore
import Foundation
import KingdeeSandbox
import SandboxHTTP
import Testing

/// The HTTP layer (AsyncHTTPClient): what a failure means for the documents, timeouts, proxies.
struct TransportTests {
    static func config(url: String, timeout: Double = 5) -> KingdeeTargetConfig {
        KingdeeTargetConfig(
            url: url, acctID: "a", username: "u", appID: "id", appSecret: "secret", orgNumber: "100",
            timeoutSeconds: timeout)
    }

    /// A call to `url` fails as not sent: nothing could have reached Kingdee.
    static func expectNotSent(_ url: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let client = try KingdeeClient(config: config(url: url), environment: [:])
        do {
            _ = try await client.call(KingdeeClient.Service.batchSave, body: ["formid": "X"])
            Issue.record("a call to \(url) succeeded", sourceLocation: sourceLocation)
        } catch {
            guard case .notSent = error else {
                Issue.record("expected notSent, got \(error)", sourceLocation: sourceLocation)
                return
            }
        }
        await client.close()
    }

    @Test func aRefusedConnectionIsNotSent() async throws {
        // A port nothing listens on: bind one, note it, close it.
        let server = try await KingdeeSandboxServer.start()
        let url = server.baseURL
        await server.stop()
        try await Self.expectNotSent(url)
    }

    /// Through a proxy that refuses, "cannot connect" names the proxy too (password hidden), not only the
    /// server: the server may be fine.
    @Test func aConnectionThroughAProxyNamesTheProxy() async throws {
        let closed = try await KingdeeSandboxServer.start()
        let proxyPort = URLComponents(string: closed.baseURL)!.port!
        await closed.stop()
        let client = try KingdeeClient(
            config: Self.config(url: "http://erp.example.com/k3cloud/"),
            environment: ["http_proxy": "http://user:PROXYPASS@127.0.0.1:\(proxyPort)"])
        do {
            _ = try await client.call(KingdeeClient.Service.batchSave, body: ["formid": "X"])
            Issue.record("a call through a closed proxy succeeded")
        } catch {
            guard case .notSent(let message) = error else { Issue.record("expected notSent, got \(error)"); return }
            #expect(message.contains("through the proxy http://user:***@127.0.0.1:\(proxyPort) from http_proxy: check the proxy too"), "\(message)")
            #expect(!message.contains("PROXYPASS"))
        }
        await client.close()
    }

    @Test func anUnknownHostIsNotSent() async throws {
        try await Self.expectNotSent("http://ferry-no-such-host.invalid/k3cloud")
    }

    @Test func aFractionalTimeoutIsKeptAndPutsTheAnswerInDoubt() async throws {
        let server = try await KingdeeSandboxServer.start(configuration: .init(faults: .init(latency: .milliseconds(1500))))
        let client = try KingdeeClient(config: server.target(auth: .signature, timeout: 0.25))
        let started = Date()
        do {
            _ = try await client.call(KingdeeClient.Service.batchSave, body: ["formid": "X"])
            Issue.record("a call slower than its timeout succeeded")
        } catch {
            guard case .noAnswer = error else { Issue.record("expected noAnswer, got \(error)"); return }
        }
        #expect(Date().timeIntervalSince(started) < 1.2)
        await client.close()
        await server.stop()
    }

    /// A server that sends the head at once and the body one byte every 0.3 s (each wait shorter than the
    /// 0.4 s timeout; a 40-byte answer takes 12 s): the answer is lost, whichever call it answers.
    @Test(arguments: ["login", "ExecuteBillQuery", "BatchSave"])
    func aTrickledAnswerIsNoAnswerWithinTheTimeout(_ call: String) async throws {
        let server = try await SandboxHTTPServer.start { request in
            let body = request.path.contains("LoginByAppSecret")
                ? #"{"LoginResultType":1,"KDSVCSessionId":"trickled-session"}"# : "[" + String(repeating: " ", count: 38) + "]"
            return .trickled(headers: [("Content-Type", "application/json")], body: Array(body.utf8), every: .milliseconds(300))
        }
        var config = Self.config(url: "http://127.0.0.1:\(server.port)/k3cloud/", timeout: 0.4)
        config.auth = call == "login" ? .appsecret : .signature
        let client = try KingdeeClient(config: config, environment: [:])
        let started = Date()
        do {
            if call == "ExecuteBillQuery" {
                _ = try await client.executeBillQuery(formID: "STK_MISCELLANEOUS", fieldKeys: "FID", filter: "FBillNo IN ('A')")
            } else {
                _ = try await client.batchSave(formID: "STK_MISCELLANEOUS", options: JSONObject(), models: [Array("{}".utf8)], batchCount: nil)
            }
            Issue.record("a trickled answer was taken")
        } catch {
            guard case .noAnswer(let text) = error else { Issue.record("expected noAnswer, got \(error)"); return }
            #expect(text.contains("did not arrive whole within 0.4 s"), "\(text)")
        }
        #expect(Date().timeIntervalSince(started) < 4, "the trickled answer held the call")
        await client.close()
        await server.stop()
    }

    @Test func aClientDroppedWithoutCloseDoesNotCrash() async throws {
        // AsyncHTTPClient asserts in debug builds when an HTTPClient is deinitialised running.
        var client: KingdeeClient? = try KingdeeClient(config: Self.config(url: "http://127.0.0.1:9/"), environment: [:])
        _ = client
        client = nil
        try await Task.sleep(for: .milliseconds(50))
    }

    @Test func callsAfterCloseAreNotSent() async throws {
        let client = try KingdeeClient(config: Self.config(url: "http://127.0.0.1:9/"), environment: [:])
        await client.close()
        await client.close()
        do {
            _ = try await client.call(KingdeeClient.Service.batchSave, body: ["formid": "X"])
            Issue.record("a call after close succeeded")
        } catch {
            guard case .notSent = error else { Issue.record("expected notSent, got \(error)"); return }
        }
    }

    @Test func aRedirectIsNotFollowedWithTheLoginOrTheSession() async throws {
        // Another host: records what reaches it.
        let seen = Harvest()
        let other = try await SandboxHTTPServer.start { request in
            seen.add(String(decoding: request.body, as: UTF8.self) + " " + (request.header("kdservice-sessionid") ?? ""))
            return SandboxHTTPResponse(status: 200, body: Array(#"{"LoginResultType":1,"KDSVCSessionId":"stolen"}"#.utf8))
        }
        let redirecting = try await SandboxHTTPServer.start { _ in
            SandboxHTTPResponse(status: 307, headers: [("Location", "http://localhost:\(other.port)/k3cloud/x")], body: [])
        }
        var config = Self.config(url: "http://127.0.0.1:\(redirecting.port)/k3cloud/")
        config.auth = .password
        config.password = "hunter2-password"
        let client = try KingdeeClient(config: config, environment: [:])
        do {
            _ = try await client.call(KingdeeClient.Service.batchSave, body: ["formid": "X"])
            Issue.record("a call answered with a redirect succeeded")
        } catch {
            guard case .configuration(let text) = error else { Issue.record("expected configuration, got \(error)"); return }
            #expect(text.contains("307"), "\(text)")
            #expect(!text.contains("hunter2-password"))
        }
        #expect(seen.all.isEmpty, "\(seen.all)")
        await client.close()
        await redirecting.stop()
        await other.stop()
    }
}

/// Lines collected from a server's handler.
final class Harvest: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
