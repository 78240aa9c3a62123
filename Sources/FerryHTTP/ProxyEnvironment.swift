import AsyncHTTPClient
import Foundation

/// Proxies from the environment, read as curl reads them, for both clients (AsyncHTTPClient reads none
/// by itself).
public enum ProxyEnvironment {
    /// The proxy curl would use for `url`: `https_proxy`/`HTTPS_PROXY` for
    /// https, `http_proxy` for http (curl ignores `HTTP_PROXY`), `all_proxy`/`ALL_PROXY` otherwise, unless
    /// `no_proxy`/`NO_PROXY` names the host. `http://[user:password@]host[:port]` and `socks5[h]://host[:port]`.
    public static func proxy(for url: String, environment: [String: String]) -> HTTPClient.Configuration.Proxy? {
        guard let target = URLComponents(string: url), let scheme = target.scheme?.lowercased(),
            let host = target.host?.lowercased()
        else { return nil }
        let noProxy = environment["no_proxy"] ?? environment["NO_PROXY"] ?? ""
        for entry in noProxy.split(separator: ",") {
            var name = entry.trimmingCharacters(in: .whitespaces).lowercased()
            if name == "*" { return nil }
            if name.hasPrefix(".") { name.removeFirst() }
            if name.isEmpty { continue }
            if host == name || host.hasSuffix("." + name) { return nil }
        }
        let value =
            (scheme == "https" ? environment["https_proxy"] ?? environment["HTTPS_PROXY"] : environment["http_proxy"])
            ?? environment["all_proxy"] ?? environment["ALL_PROXY"]
        guard let value, !value.isEmpty else { return nil }
        guard let proxy = URLComponents(string: value.contains("://") ? value : "http://" + value),
            let proxyHost = proxy.host, !proxyHost.isEmpty
        else { return nil }
        switch proxy.scheme?.lowercased() {
        case "socks5", "socks5h":
            return .socksServer(host: proxyHost, port: proxy.port ?? 1080)
        case "http":
            let authorization: HTTPClient.Authorization? = proxy.user.map {
                .basic(username: $0.removingPercentEncoding ?? $0, password: (proxy.password ?? "").removingPercentEncoding ?? "")
            }
            return .server(host: proxyHost, port: proxy.port ?? 1080, authorization: authorization)
        default:
            return nil
        }
    }
}
