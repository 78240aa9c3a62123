import FerryHTTP
import Testing

@Suite struct ProxyEnvironmentTests {
    @Test func proxiesFromTheEnvironmentAsCurlReadsThem() {
        let url = "https://erp.example.com/k3cloud/"
        #expect(ProxyEnvironment.proxy(for: url, environment: [:]) == nil)
        #expect(ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://proxy:3128"])?.host == "proxy")
        #expect(ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://proxy:3128"])?.port == 3128)
        #expect(ProxyEnvironment.proxy(for: url, environment: ["HTTPS_PROXY": "proxy"])?.port == 1080)
        #expect(ProxyEnvironment.proxy(for: url, environment: ["http_proxy": "http://proxy:3128"]) == nil)
        #expect(ProxyEnvironment.proxy(for: "http://erp.example.com/", environment: ["http_proxy": "http://p:1"])?.host == "p")
        #expect(ProxyEnvironment.proxy(for: "http://erp.example.com/", environment: ["HTTP_PROXY": "http://p:1"]) == nil)
        #expect(ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://p:1", "no_proxy": "localhost,.example.com"]) == nil)
        #expect(ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://p:1", "NO_PROXY": "*"]) == nil)
        #expect(ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://p:1", "no_proxy": "ample.com"]) != nil)
        #expect(ProxyEnvironment.proxy(for: url, environment: ["all_proxy": "socks5h://s"])?.port == 1080)
        #expect(ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://user:p%40ss@p:8080"])?.authorization != nil)
    }

    @Test func noProxyMatchesAddressesAndRangesAsCurlDoes() {
        let proxy = ["https_proxy": "http://p:1"]
        func bypassed(_ url: String, _ noProxy: String) -> Bool {
            ProxyEnvironment.proxy(for: url, environment: proxy.merging(["no_proxy": noProxy]) { $1 }) == nil
        }
        #expect(bypassed("https://10.1.2.3:8443/k3cloud/", "localhost,10.0.0.0/8"))
        #expect(bypassed("https://192.168.7.20/k3cloud/", "192.168.0.0/16"))
        #expect(!bypassed("https://192.169.7.20/k3cloud/", "192.168.0.0/16"))
        #expect(bypassed("https://10.1.2.3/", "10.1.2.3"))
        #expect(!bypassed("https://110.1.2.3/", "10.1.2.3"))
        #expect(!bypassed("https://1.2.3.4/", "2.3.4"))
        #expect(bypassed("https://[::1]:8443/", "::1"))
        #expect(bypassed("https://[fd00::5]/", "fd00::/8"))
        #expect(!bypassed("https://[fe00::5]/", "fd00::/8"))
        #expect(bypassed("https://erp.example.com./", "example.com"))
        #expect(bypassed("https://erp.example.com/", "localhost .example.com"))
    }

    @Test func aVariableSetToNothingLeavesTheOtherSpellingAsCurlDoes() {
        let url = "https://erp.internal.example/k3cloud/"
        #expect(ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "http://p:1", "no_proxy": "", "NO_PROXY": "internal.example"]) == nil)
        #expect(ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "", "HTTPS_PROXY": "http://p:1"])?.host == "p")
        #expect(ProxyEnvironment.proxy(for: url, environment: ["https_proxy": "", "all_proxy": "http://q:2"])?.host == "q")
    }
}

@Suite struct ClientSetupTests {
    @Test func timeoutsKeepFractionsWithAFloorOfOneMillisecond() {
        #expect(ClientSetup(timeoutSeconds: 0.25).timeoutSeconds == 0.25)
        #expect(ClientSetup(timeoutSeconds: 0.25).timeout.nanoseconds == 250_000_000)
        #expect(ClientSetup(timeoutSeconds: 0).timeoutSeconds == 0.001)
        #expect(ClientSetup(timeoutSeconds: -5).timeout.nanoseconds == 1_000_000)
        #expect(ClientSetup(timeoutSeconds: .infinity).timeoutSeconds == 30)
        #expect(ClientSetup(timeoutSeconds: .nan).timeoutSeconds == 30)
    }
}
