import FerryCore
import FerryTestSupport
import Testing
import WDTSandbox

@testable import FerryWDT

/// The WDT client against a real HTTPS endpoint (the sandbox behind `TLSRelay`) whose self-signed
/// certificate no system trusts.
@Suite struct WDTTLSTests {
    /// Runs `body` with a sandbox and a source config that reaches it through the TLS relay.
    func behindTLS(
        certificate: String = "self-signed", _ body: (WDTSandboxServer, WDTSourceConfig) async throws -> Void
    ) async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 20))
        defer { Task { await server.stop() } }
        let relay = try await TLSRelay.start(upstreamPort: Int(server.port), certificate: certificate)
        defer { Task { await relay.stop() } }
        var config = Harness.config(server)
        config.url = relay.baseURL + "/router/qm"
        try await body(server, config)
    }

    @Test func anUntrustedCertificateIsFatalNamesTheFixAndIsNotRetried() async throws {
        try await behindTLS { server, config in
            let client = try WDTClient(config: config)
            do throws(WDTError) {
                _ = try await client.fetchPage(start: Harness.since, end: Harness.since.adding(seconds: 86400), pageNo: 0)
                Issue.record("a self-signed certificate must stop the request")
            } catch {
                #expect(error.kind == .rejected)
                #expect(!error.isRetryable)
                #expect(error.message.contains("is not trusted"), "\(error)")
                #expect(error.message.contains("update-ca-certificates"))
                #expect(!error.message.contains(config.appSecret))
            }
            #expect(client.retryCount == 0)
            #expect(server.counters.requests == 0)
        }
    }

    /// Each certificate problem has its own message, saying what to do (the certificates: `Fixtures/tls/`).
    @Test(arguments: [
        ("self-signed", ["is not trusted (it is self-signed)", "update-ca-certificates"]),
        ("expired", ["expired on 2021-01-01 00:00:00 UTC", "have it renewed", "check this machine's clock: it says"]),
        ("not-yet-valid", ["is not valid before 2120-01-01 00:00:00 UTC", "check this machine's clock"]),
        // Verification failed for the signer (NIOSSL checks the name only after): both are said.
        ("wrong-name", [
            "is not trusted (it is self-signed)", "and it is for erp.example.com, *.erp.example.com, not 127.0.0.1",
            "set source.url to a name the certificate has",
        ]),
    ])
    func eachCertificateProblemSaysWhatToDo(certificate: String, says: [String]) async throws {
        try await behindTLS(certificate: certificate) { server, config in
            let client = try WDTClient(config: config)
            do throws(WDTError) {
                _ = try await client.fetchPage(start: Harness.since, end: Harness.since.adding(seconds: 86400), pageNo: 0)
                Issue.record("the \(certificate) certificate must stop the request")
            } catch {
                #expect(error.kind == .rejected && !error.isRetryable)
                for text in says { #expect(error.message.contains(text), "\(error.message)") }
                #expect(["self-signed", "wrong-name"].contains(certificate) || !error.message.contains("is not trusted"), "\(error.message)")
                #expect(!error.message.contains(config.appSecret))
            }
            #expect(client.retryCount == 0)
            #expect(server.counters.requests == 0)
        }
    }

    @Test func theExtractStopsWithTheCertificateProblem() async throws {
        try await behindTLS { server, config in
            let dir = TestSupport.makeTemporaryDirectory("wdt-tls")
            do throws(Diagnostic) {
                _ = try await WDTExtractor(config: config).run(
                    ExtractRequest(
                        runID: "r1", extractDirectory: dir + "/extract", statePath: dir + "/state.json", since: Harness.since,
                        until: Harness.until))
                Issue.record("the extract must stop on an untrusted certificate")
            } catch {
                #expect(error.message.contains("is not trusted"), "\(error)")
            }
            #expect(server.counters.requests == 0)
            #expect(!FileSystem.exists(dir + "/state.json"))
        }
    }
}
