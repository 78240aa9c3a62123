import FerryTestSupport
import Foundation
import NIOSSL
import Testing

@testable import FerryHTTP

@Suite struct ProxyEnvironmentTests {
    @Test func proxiesFromTheEnvironmentAsCurlReadsThem() throws {
        let url = "https://erp.example.com/k3cloud/"
        #expect(try ProxyEnvironment.proxy(for: url, environment: [:]) == nil)
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://proxy:3128"])?.host == "proxy")
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://proxy:3128"])?.port == 3128)
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["HTTPS_PROXY": "proxy"])?.port == 1080)
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["http_proxy": "http://proxy:3128"]) == nil)
        #expect(try ProxyEnvironment.proxy(for: "http://erp.example.com/", environment: ["http_proxy": "http://p:1"])?.host == "p")
        #expect(try ProxyEnvironment.proxy(for: "http://erp.example.com/", environment: ["HTTP_PROXY": "http://p:1"]) == nil)
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://p:1", "no_proxy": "localhost,.example.com"]) == nil)
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://p:1", "NO_PROXY": "*"]) == nil)
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://p:1", "no_proxy": "ample.com"]) != nil)
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["all_proxy": "socks5h://s"])?.port == 1080)
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://user:p%40ss@p:8080"])?.authorization != nil)
    }

    @Test func noProxyMatchesAddressesAndRangesAsCurlDoes() throws {
        let proxy = ["https_proxy": "http://p:1"]
        func bypassed(_ url: String, _ noProxy: String) throws -> Bool {
            try ProxyEnvironment.proxy(for: url, environment: proxy.merging(["no_proxy": noProxy]) { $1 }) == nil
        }
        #expect(try bypassed("https://10.1.2.3:8443/k3cloud/", "localhost,10.0.0.0/8"))
        #expect(try bypassed("https://192.168.7.20/k3cloud/", "192.168.0.0/16"))
        #expect(try !bypassed("https://192.169.7.20/k3cloud/", "192.168.0.0/16"))
        #expect(try bypassed("https://10.1.2.3/", "10.1.2.3"))
        #expect(try !bypassed("https://110.1.2.3/", "10.1.2.3"))
        #expect(try !bypassed("https://1.2.3.4/", "2.3.4"))
        #expect(try bypassed("https://[::1]:8443/", "::1"))
        #expect(try bypassed("https://[fd00::5]/", "fd00::/8"))
        #expect(try !bypassed("https://[fe00::5]/", "fd00::/8"))
        #expect(try bypassed("https://erp.example.com./", "example.com"))
        #expect(try bypassed("https://erp.example.com/", "localhost .example.com"))
    }

    @Test func aVariableSetToNothingLeavesTheOtherSpellingAsCurlDoes() throws {
        let url = "https://erp.internal.example/k3cloud/"
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://p:1", "no_proxy": "", "NO_PROXY": "internal.example"]) == nil)
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "", "HTTPS_PROXY": "http://p:1"])?.host == "p")
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "", "all_proxy": "http://q:2"])?.host == "q")
    }
}

@Suite struct UnusableProxyTests {
    /// Proxies curl would use (or fail on) and Ferry cannot: an error naming the variable and its value,
    /// the password hidden, what Ferry supports and how to go direct; never a silent direct connection.
    @Test(arguments: [
        ("https_proxy", "https://proxy.corp:3128", "https://proxy.corp:3128", "https://"),
        ("HTTPS_PROXY", "https://ferry:s3cret-pw@proxy.corp:443", "https://ferry:***@proxy.corp:443", "https://"),
        ("all_proxy", "socks4://proxy.corp:1080", "socks4://proxy.corp:1080", "SOCKS4"),
        ("ALL_PROXY", "socks4a://ferry:s3cret-pw@proxy.corp", "socks4a://ferry:***@proxy.corp", "SOCKS4"),
        ("https_proxy", "socks://proxy.corp", "socks://proxy.corp", "SOCKS4"),
        ("https_proxy", "socks5h://ferry:s3cret-pw@proxy.corp", "socks5h://ferry:***@proxy.corp", "user name and password"),
        ("https_proxy", "ftp://proxy.corp", "ftp://proxy.corp", "ftp://"),
        ("https_proxy", "http://ferry:s3cret-pw@proxy corp:3128", "http://ferry:***@proxy corp:3128", "not a proxy URL"),
        ("https_proxy", "http://:3128", "http://:3128", "not a proxy URL"),
        ("https_proxy", "http://ferry:s3cret-pw/x@proxy.corp:3128", "http://ferry:***@proxy.corp:3128", "not a proxy URL"),
        // Without a scheme, and a `://` in the password: not a URL, and the password is not the scheme's.
        ("https_proxy", "ferry:s3cret-pw://x@proxy.corp:3128", "ferry:***@proxy.corp:3128", "not a proxy URL"),
    ])
    func aProxyFerryCannotUseIsAnError(variable: String, value: String, shown: String, why: String) {
        do throws(ProxyEnvironment.UnusableProxy) {
            let proxy = try ProxyEnvironment.proxy(for: "https://erp.example.com/k3cloud/", environment: [variable: value])
            Issue.record("\(variable)=\(value) gave \(String(describing: proxy))")
        } catch {
            #expect(error.variable == variable)
            #expect(error.value == shown)
            let text = error.description
            #expect(text.contains("\(variable) (\(shown))"), "\(text)")
            #expect(text.contains(why), "\(text)")
            #expect(!text.contains("s3cret-pw"))
            #expect(text.contains("http://") && text.contains("socks5://"), "\(text)")
            #expect(text.contains("add erp.example.com to no_proxy"), "\(text)")
        }
    }

    @Test func noProxyWinsOverAProxyFerryCannotUse() throws {
        let url = "https://erp.example.com/k3cloud/"
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "https://p:1", "no_proxy": ".example.com"]) == nil)
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["all_proxy": "socks4://p:1", "NO_PROXY": "*"]) == nil)
        // Only the variable that applies counts: http_proxy is for http URLs.
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["http_proxy": "https://p:1"]) == nil)
        #expect(try ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://p:1", "all_proxy": "socks4://q"])?.host == "p")
    }

    @Test func aPasswordInAProxyValueIsHidden() {
        #expect(ProxyEnvironment.redacted("http://user:p%40ss@proxy:8080/") == "http://user:***@proxy:8080/")
        #expect(ProxyEnvironment.redacted("user:pw@proxy:8080") == "user:***@proxy:8080")
        #expect(ProxyEnvironment.redacted("http://u:p@ss@proxy") == "http://u:***@proxy")
        // A user name without a password may be a token: hidden too.
        #expect(ProxyEnvironment.redacted("http://user@proxy:8080") == "http://***@proxy:8080")
        #expect(ProxyEnvironment.redacted("socks5://T0KEN@proxy") == "socks5://***@proxy")
        #expect(ProxyEnvironment.redacted("T0KEN@proxy:1080") == "***@proxy:1080")
        #expect(ProxyEnvironment.redacted("http://proxy:8080") == "http://proxy:8080")
        // Not URLs: the password is hidden all the same.
        #expect(ProxyEnvironment.redacted("http://user:pa/ss@proxy:3128") == "http://user:***@proxy:3128")
        #expect(ProxyEnvironment.redacted("http://user:p#w?d@proxy") == "http://user:***@proxy")
        // A `://` in the password of a value without a scheme is not taken for the scheme's.
        #expect(ProxyEnvironment.redacted("user:pa://ss@proxy:3128") == "user:***@proxy:3128")
        #expect(ProxyEnvironment.redacted("user:pa://ss@proxy:3128/x://y") == "user:***@proxy:3128/x://y")
        // Rather too much hidden than too little.
        #expect(ProxyEnvironment.redacted("http://proxy:8080/a@b") == "http://proxy:***@b")
    }
}

@Suite struct ClientSetupTests {
    @Test func timeoutsKeepFractionsWithAFloorOfOneMillisecond() throws {
        #expect(ClientSetup(timeoutSeconds: 0.25).timeoutSeconds == 0.25)
        #expect(ClientSetup(timeoutSeconds: 0.25).timeout.nanoseconds == 250_000_000)
        #expect(ClientSetup(timeoutSeconds: 0).timeoutSeconds == 0.001)
        #expect(ClientSetup(timeoutSeconds: -5).timeout.nanoseconds == 1_000_000)
        #expect(ClientSetup(timeoutSeconds: .infinity).timeoutSeconds == 30)
        #expect(ClientSetup(timeoutSeconds: .nan).timeoutSeconds == 30)
    }
}

@Suite struct CertificateProblemTests {
    static func certificate(_ name: String) throws -> NIOSSLCertificate {
        let certificates = try NIOSSLCertificate.fromPEMFile(TestSupport.fixturesDirectory + "/tls/\(name).cert.pem")
        guard let first = certificates.first else { throw CocoaError(.fileReadCorruptFile) }
        return first
    }

    static let now = Date(timeIntervalSince1970: 1_796_000_000)  // 2026-11-30

    /// Verification failed for the chain or the dates (NIOSSL checks the name only after it passed): dates
    /// right, the signer is not trusted, whatever the name; a wrong name is a further problem.
    @Test func aCertificateIsCheckedForItsDatesThenItsSignerThenItsNames() throws {
        let wrongName = try Self.certificate("wrong-name")
        let names = ["erp.example.com", "*.erp.example.com"]
        #expect(TLSFailure.problems(of: wrongName, host: "erp.example.com", now: Self.now) == [.untrusted(selfSigned: true)])
        #expect(TLSFailure.problems(of: wrongName, host: "ERP.example.com", now: Self.now) == [.untrusted(selfSigned: true)])
        #expect(TLSFailure.problems(of: wrongName, host: "k3.erp.example.com", now: Self.now) == [.untrusted(selfSigned: true)])
        let untrustedAndWrongName: [TLSFailure.CertificateProblem] = [.untrusted(selfSigned: true), .wrongName(names: names)]
        #expect(TLSFailure.problems(of: wrongName, host: "a.k3.erp.example.com", now: Self.now) == untrustedAndWrongName)
        #expect(TLSFailure.problems(of: wrongName, host: "example.com", now: Self.now) == untrustedAndWrongName)
        #expect(TLSFailure.problems(of: wrongName, host: "127.0.0.1", now: Self.now) == untrustedAndWrongName)
        let selfSigned = try Self.certificate("self-signed")
        #expect(TLSFailure.names(of: selfSigned) == ["127.0.0.1", "localhost"])
        #expect(TLSFailure.problems(of: selfSigned, host: "127.0.0.1", now: Self.now) == [.untrusted(selfSigned: true)])
        #expect(
            TLSFailure.problems(of: selfSigned, host: "127.0.0.2", now: Self.now)
                == [.untrusted(selfSigned: true), .wrongName(names: ["127.0.0.1", "localhost"])])
        let expired = try Self.certificate("expired")
        #expect(TLSFailure.problems(of: expired, host: "localhost", now: Self.now) == [.expired(notAfter: 1_609_459_200)])
        #expect(
            TLSFailure.problems(of: expired, host: "erp.example.com", now: Self.now)
                == [.expired(notAfter: 1_609_459_200), .wrongName(names: ["127.0.0.1", "localhost"])])
        // On a machine whose clock is far behind, a valid certificate is not valid yet.
        #expect(
            TLSFailure.problems(of: selfSigned, host: "localhost", now: Date(timeIntervalSince1970: 0))
                == [.notYetValid(notBefore: Int(selfSigned.notValidBefore))])
    }

    /// NIOSSL checks the name itself once BoringSSL verified the chain: a trusted certificate for another
    /// name. (Over real TLS this needs a CA the machine trusts, which the tests cannot install.)
    @Test func aTrustedCertificateForAnotherNameIsAWrongName() async {
        let error = NIOSSLExtraError.failedToValidateHostname
        #expect(TLSFailure.isCertificateProblem(error))
        let problems = await TLSFailure.diagnose(error, host: "10.1.2.3", port: 443, probe: false)
        #expect(problems == [.wrongName(names: [])])
        let text = TLSFailure.message(problems, host: "10.1.2.3", urlSetting: "target.url", insecureSetting: "target.insecure_tls")
        #expect(text == "the TLS certificate of 10.1.2.3 does not name 10.1.2.3: set target.url to a name the certificate has, "
            + "or have the certificate reissued for 10.1.2.3")
    }

    @Test func withoutTheCertificateTheMessageCoversEveryCause() {
        let text = TLSFailure.message([], host: "erp.example.com", urlSetting: "target.url", insecureSetting: "target.insecure_tls")
        #expect(text.contains("is not trusted, has expired or is for another name"), "\(text)")
        #expect(text.contains("update-ca-certificates") && text.contains("target.insecure_tls: true"), "\(text)")
        #expect(text.contains("have it renewed") && text.contains("set target.url to that name"), "\(text)")
    }
}
