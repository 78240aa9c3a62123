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
            var host = target.host?.lowercased()
        else { return nil }
        // curl matches `[::1]` as `::1`, and `example.com.` as `example.com`.
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        // As curl: a variable set to nothing counts as not set, so the other spelling applies.
        func variable(_ names: String...) -> String? {
            names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        }
        let noProxy = variable("no_proxy", "NO_PROXY") ?? ""
        for entry in noProxy.split(whereSeparator: { $0 == "," || $0 == " " }) {
            var name = entry.trimmingCharacters(in: .whitespaces).lowercased()
            if name == "*" { return nil }
            if let matches = addressMatches(host, entry: name) {
                // An IP address is matched as an address or a range (`10.0.0.0/8`), never by a suffix.
                if matches { return nil }
                continue
            }
            if name.hasPrefix(".") { name.removeFirst() }
            if name.hasSuffix(".") { name.removeLast() }
            if name.isEmpty { continue }
            if host == name || host.hasSuffix("." + name) { return nil }
        }
        let value =
            (scheme == "https" ? variable("https_proxy", "HTTPS_PROXY") : variable("http_proxy"))
            ?? variable("all_proxy", "ALL_PROXY")
        guard let value else { return nil }
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

    /// Whether the IP address `host` is the address or in the range (`address/bits`) `entry` names; nil
    /// when `host` is a name, not an address.
    static func addressMatches(_ host: String, entry: String) -> Bool? {
        guard let address = bytes(of: host) else { return nil }
        var text = entry
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            text = String(text[text.index(after: text.startIndex)..<close]) + text[text.index(after: close)...]
        }
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let range = bytes(of: String(parts[0])), range.count == address.count else { return false }
        var bits = address.count * 8
        if parts.count == 2 {
            guard let given = Int(parts[1]), given >= 0, given <= bits else { return false }
            bits = given
        }
        for i in 0..<address.count where bits > i * 8 {
            let mask: UInt8 = bits >= (i + 1) * 8 ? 0xFF : ~(0xFF >> UInt8(bits - i * 8))
            if address[i] & mask != range[i] & mask { return false }
        }
        return true
    }

    /// The bytes of an IPv4 or IPv6 address, nil for anything else.
    private static func bytes(of text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
