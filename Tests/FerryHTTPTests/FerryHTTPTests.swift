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
