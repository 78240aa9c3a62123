import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Recognises TLS failures that no retry mends, and says what is wrong with the certificate.
public enum TLSFailure {
    /// Whether `error` (from AsyncHTTPClient or SwiftNIO) says the server's certificate is not trusted or
    /// does not match its name.
    public static func isCertificateProblem(_ error: any Error) -> Bool {
        if isNameMismatch(error) { return true }
        if case NIOSSLError.handshakeFailed = error {
            let text = String(describing: error)
            return text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed")
        }
        if let error = error as? NIOConnectionError {
            return error.connectionErrors.contains { isCertificateProblem($0.error) }
        }
        return false
    }

    /// Whether `error` says the certificate is trusted but names another host (NIOSSL checks the name itself,
    /// after BoringSSL verified the chain).
    static func isNameMismatch(_ error: any Error) -> Bool {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname { return true }
        if let error = error as? NIOConnectionError {
            return error.connectionErrors.contains { isNameMismatch($0.error) }
        }
        return false
    }

    /// One thing wrong with a server's certificate.
    public enum CertificateProblem: Sendable, Hashable {
        /// It names other hosts than the one in the URL (`names`: its DNS names and IP addresses, when known).
        case wrongName(names: [String])
        /// Its validity ended at `notAfter` (Unix seconds).
        case expired(notAfter: Int)
        /// Its validity starts at `notBefore` (Unix seconds), later than this machine's clock.
        case notYetValid(notBefore: Int)
        /// It is valid and for this host, but not signed by a CA this machine trusts (`selfSigned`: it signed
        /// itself).
        case untrusted(selfSigned: Bool)
    }

    /// What is wrong with the certificate of `url`'s server (its port, or the scheme's: 443 for `https`),
    /// after `error` (a certificate problem) stopped a request to it; see the other `diagnose`.
    public static func diagnose(_ error: any Error, url: URL, probe: Bool) async -> [CertificateProblem] {
        await diagnose(error, host: url.host ?? "?", port: url.port ?? (url.scheme == "https" ? 443 : 80), probe: probe)
    }

    /// What is wrong with the certificate of `host:port`, after `error` (a certificate problem) stopped a
    /// request to it.
    ///
    /// NIOSSL reports every failed verification as `CERTIFICATE_VERIFY_FAILED`: BoringSSL keeps the reason
    /// in the failed session, out of reach. So, when `probe` is set, one more TLS handshake with the
    /// server fetches its certificate to look at it: its dates, its names, who signed it. Nothing is sent
    /// on that connection: it is closed during the handshake. Leave `probe` off when a proxy carries the
    /// requests (the probe would go around it).
    ///
    /// - Returns: the problems found; empty when the certificate could not be fetched.
    public static func diagnose(
        _ error: any Error, host: String, port: Int, probe: Bool, timeout: TimeAmount = .seconds(5), now: Date = Date()
    ) async -> [CertificateProblem] {
        let certificate = probe ? await peerCertificate(host: host, port: port, timeout: timeout) : nil
        if isNameMismatch(error) {
            // The chain was verified (dates included); only the name is wrong.
            return [.wrongName(names: certificate.map(names(of:)) ?? [])]
        }
        guard let certificate else { return [] }
        return problems(of: certificate, host: host, now: now)
    }

    /// The problems of a certificate that failed verification (BoringSSL's, of its chain and dates) for
    /// `host`: its dates; when they are right, the remaining cause: its signer is not trusted; then its
    /// names. NIOSSL checks the name only after that verification passed, so a wrong name never made it
    /// fail: it is a further problem, never the cause instead of the signer.
    static func problems(of certificate: NIOSSLCertificate, host: String, now: Date) -> [CertificateProblem] {
        var problems: [CertificateProblem] = []
        let seconds = Int(now.timeIntervalSince1970)
        if seconds > Int(certificate.notValidAfter) {
            problems.append(.expired(notAfter: Int(certificate.notValidAfter)))
        } else if seconds < Int(certificate.notValidBefore) {
            problems.append(.notYetValid(notBefore: Int(certificate.notValidBefore)))
        }
        if problems.isEmpty { problems.append(.untrusted(selfSigned: certificate.subjectName == certificate.issuerName)) }
        if !matches(certificate, host: host) { problems.append(.wrongName(names: names(of: certificate))) }
        return problems
    }

    /// One message for `problems` of the certificate of `host`, saying what to do about each.
    ///
    /// - Parameters:
    ///   - urlSetting: the setting holding the URL (`target.url`), for a wrong name.
    ///   - insecureSetting: the setting that turns verification off, if the client has one: offered for an
    ///     untrusted certificate, for test servers only.
    ///   - now: this machine's clock, shown for a certificate that expired or is not valid yet.
    public static func message(
        _ problems: [CertificateProblem], host: String, urlSetting: String, insecureSetting: String?, now: Date = Date()
    ) -> String {
        let install =
            "install its CA certificate (for a self-signed one, the certificate itself) in the system trust store "
            + "(/usr/local/share/ca-certificates, then update-ca-certificates)"
        let insecure = insecureSetting.map { " (or, only for a test server, set \($0): true)" } ?? ""
        let clock = "it says \(timeText(Int(now.timeIntervalSince1970)))"
        guard !problems.isEmpty else {
            return "the TLS certificate of \(host) is not trusted, has expired or is for another name (Ferry could not fetch "
                + "it to tell which): if its CA is not trusted, \(install)\(insecure); if it expired, have it renewed; if it is "
                + "for another name, set \(urlSetting) to that name"
        }
        let parts = problems.map { problem -> String in
            switch problem {
            case .wrongName(let names):
                let named = names.isEmpty ? "does not name \(host)" : "is for \(names.joined(separator: ", ")), not \(host)"
                return "\(named): set \(urlSetting) to a name the certificate has, or have the certificate reissued for \(host)"
            case .expired(let notAfter):
                return "expired on \(timeText(notAfter)): have it renewed on the server (if it was, check this machine's "
                    + "clock: \(clock))"
            case .notYetValid(let notBefore):
                return "is not valid before \(timeText(notBefore)): check this machine's clock (\(clock); fix it with NTP), "
                    + "or have the server use a certificate valid now"
            case .untrusted(let selfSigned):
                return "is not trusted (\(selfSigned ? "it is self-signed" : "no CA this machine trusts signed it")): "
                    + "\(install)\(insecure)"
            }
        }
        return "the TLS certificate of \(host) " + parts.joined(separator: "; and it ")
    }

    /// `YYYY-MM-DD hh:mm:ss UTC`.
    static func timeText(_ seconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d UTC", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// The DNS names and IP addresses a certificate is for (its common name when it has no alternative names).
    static func names(of certificate: NIOSSLCertificate) -> [String] {
        var names: [String] = []
        for name in certificate._subjectAlternativeNames() {
            let bytes = Array(name.contents)
            if name.nameType == .dnsName {
                names.append(String(decoding: bytes, as: UTF8.self))
            } else if name.nameType == .ipAddress, bytes.count == 4 || bytes.count == 16 {
                var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                let family = bytes.count == 4 ? AF_INET : AF_INET6
                if inet_ntop(family, bytes, &text, socklen_t(text.count)) != nil {
                    names.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                }
            }
        }
        if names.isEmpty { names = certificate.subjectName.filter { $0.type == .commonName }.map(\.value) }
        return names
    }

    /// Whether the certificate names `host`: an IP address as an address, a name exactly or by a `*.` wildcard
    /// standing for its first label.
    static func matches(_ certificate: NIOSSLCertificate, host: String) -> Bool {
        let host = host.lowercased()
        let address = IPAddress.bytes(host)
        for name in names(of: certificate) {
            let name = name.lowercased()
            if let address {
                if IPAddress.bytes(name) == address { return true }
                continue
            }
            if name == host { return true }
            if name.hasPrefix("*."), let dot = host.firstIndex(of: "."), host[dot...] == name.dropFirst() { return true }
        }
        return false
    }

    /// The certificate `host:port` presents, fetched by a TLS handshake that is abandoned as soon as the
    /// certificate arrives; nil when there is none by `timeout`.
    static func peerCertificate(host: String, port: Int, timeout: TimeAmount) async -> NIOSSLCertificate? {
        guard let context = try? NIOSSLContext(configuration: .makeClientConfiguration()) else { return nil }
        let found = Found()
        // SNI carries names only.
        let serverName = IPAddress.bytes(host) == nil ? host : nil
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = try NIOSSLClientHandler(
                        context: context, serverHostname: serverName,
                        customVerificationCallback: { chain, verdict in
                            found.certificate = chain.first
                            // Refused: the handshake ends here, and nothing is sent.
                            verdict.succeed(NIOSSLVerificationResult.failed)
                        })
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        guard let channel = try? await bootstrap.connect(host: host, port: port).get() else { return nil }
        let deadline = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        try? await channel.closeFuture.get()
        deadline.cancel()
        return found.certificate
    }

    /// The certificate the probe's verification callback saw (set on the event loop, read after the close).
    private final class Found: @unchecked Sendable {
        private let lock = NSLock()
        private var value: NIOSSLCertificate?
        var certificate: NIOSSLCertificate? {
            get { lock.withLock { value } }
            set { lock.withLock { value = newValue } }
        }
    }
}
