import FerryCore
import FerryKingdee
import FerryTestSupport
import KingdeeSandbox
import Testing

/// `target.insecure_tls` against a real HTTPS endpoint (the sandbox behind `TLSRelay`) whose self-signed
/// certificate no system trusts.
@Suite struct TLSTests {
    @Test func anUntrustedCertificateStopsTheLoadUnlessInsecureTLSIsSet() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let relay = try await TLSRelay.start(upstreamPort: Int(server.port))
        defer { Task { await relay.stop() } }
        let run = TestRun("tls")
        let numbers = try PayloadGenerator.write(count: 3, into: run.transform)
        var config = server.target()
        config.url = server.baseURL.replacingOccurrences(of: "http://127.0.0.1:\(server.port)", with: relay.baseURL)
        #expect(config.url.hasPrefix("https://127.0.0.1:") && config.url.hasSuffix("/k3cloud/"))

        // Verified by default: the load stops before anything is sent, and says what to do.
        do {
            _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: config)
            Issue.record("a self-signed certificate must stop the load while target.insecure_tls is off")
        } catch {
            #expect(error.message.contains("is not trusted (it is self-signed)"), "\(error)")
            #expect(error.message.contains("update-ca-certificates"))
            #expect(error.message.contains("only for a test server, set target.insecure_tls: true"))
            #expect(!error.message.contains(config.appSecret))
        }
        #expect(server.store.requestCounts["BatchSave"] == nil)
        for number in numbers { #expect(run.receipt(number) == nil) }

        // Accepted on request: the same load goes through the TLS relay.
        config.insecureTLS = true
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: config)
        #expect(summary.loaded == 3 && !summary.hasProblems)
        #expect(server.store.requestCounts["BatchSave"] ?? 0 >= 1)
        for number in numbers { #expect(run.receipt(number)?["kingdee"]?["Number"]?.stringValue == number) }
    }

    /// A certificate that has expired or is not valid yet stops the load with what to do about it, not as
    /// "not trusted", and without offering to turn verification off. One for another name whose dates are
    /// right failed verification for its signer (NIOSSL checks the name only after): both are said.
    @Test(arguments: [
        ("expired", ["expired on 2021-01-01 00:00:00 UTC", "have it renewed", "check this machine's clock: it says"]),
        ("not-yet-valid", ["is not valid before 2120-01-01 00:00:00 UTC", "check this machine's clock"]),
        ("wrong-name", [
            "is not trusted (it is self-signed)", "only for a test server, set target.insecure_tls: true",
            "and it is for erp.example.com, *.erp.example.com, not 127.0.0.1", "set target.url to a name the certificate has",
        ]),
    ])
    func eachCertificateProblemStopsTheLoadWithWhatToDo(certificate: String, says: [String]) async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let relay = try await TLSRelay.start(upstreamPort: Int(server.port), certificate: certificate)
        defer { Task { await relay.stop() } }
        let run = TestRun("tls-\(certificate)")
        try PayloadGenerator.write(count: 2, into: run.transform)
        var config = server.target(auth: .password)
        config.url = server.baseURL.replacingOccurrences(of: "http://127.0.0.1:\(server.port)", with: relay.baseURL)
        do {
            _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: config)
            Issue.record("the \(certificate) certificate must stop the load")
        } catch {
            for text in says { #expect(error.message.contains(text), "\(error.message)") }
            #expect(
                certificate == "wrong-name" || (!error.message.contains("is not trusted") && !error.message.contains("insecure_tls")),
                "\(error.message)")
            #expect(!error.message.contains(config.password))
        }
        #expect(server.store.requestCounts.isEmpty, "nothing sent, not even the login")
    }
}
