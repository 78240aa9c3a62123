import AsyncHTTPClient
import Foundation

/// Proxies from the environment, read as curl reads them, for both clients (AsyncHTTPClient reads none
/// by itself).
public enum ProxyEnvironment {
    /// The proxy variable that applies names a proxy Ferry cannot use (an `https://` or SOCKS4 proxy, a
    /// SOCKS proxy with a password, an unknown scheme, a value that is not a URL). Going direct instead
    /// would fail confusingly behind a mandatory proxy, or send data around it, so nothing is sent.
    public struct UnusableProxy: Error, Sendable, CustomStringConvertible {
        /// The variable, as spelt in the environment (`https_proxy`, `HTTPS_PROXY`, `all_proxy`, …).
        public var variable: String
        /// Its value, any password replaced by `***`.
        public var value: String
        /// Why Ferry cannot use it.
        public var reason: String
        /// The host of the URL the proxy was for (to name in `no_proxy` to go direct).
        public var host: String

        /// What is wrong and what to do, without the proxy's password.
        public var description: String {
            "the proxy in \(variable) (\(value)) cannot be used: \(reason). Ferry uses http:// proxies (with or without "
                + "a user and password) and socks5:// or socks5h:// ones (without): set \(variable) to such a proxy, or add "
                + "\(host) to no_proxy to connect to it directly"
        }
    }

    /// How messages name the proxy requests to `url` go through (`the proxy http://u:***@proxy:3128 from
    /// https_proxy`, its password hidden), or nil when they go direct: a connection that fails may be the
    /// proxy's, not the server's.
    public static func route(for url: String, environment: [String: String]) -> String? {
        variable(for: url, environment: environment).map { "the proxy \(redacted($0.value)) from \($0.name)" }
    }

    /// The proxy variable that applies to `url`, as curl chooses it (see `proxy(for:environment:)`), and
    /// the URL's host; nil when no variable applies or `no_proxy` names the host.
    static func variable(for url: String, environment: [String: String]) -> (name: String, value: String, targetHost: String)? {
        guard let target = URLComponents(string: url), let scheme = target.scheme?.lowercased(),
            var host = target.host?.lowercased()
        else { return nil }
        // curl matches `[::1]` as `::1`, and `example.com.` as `example.com`.
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        // As curl: a variable set to nothing counts as not set, so the other spelling applies.
        func variable(_ names: String...) -> (name: String, value: String)? {
            names.lazy.compactMap { name in environment[name].map { (name, $0) } }.first { !$0.value.isEmpty }
        }
        let noProxy = variable("no_proxy", "NO_PROXY")?.value ?? ""
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
        let found =
            (scheme == "https" ? variable("https_proxy", "HTTPS_PROXY") : variable("http_proxy"))
            ?? variable("all_proxy", "ALL_PROXY")
        return found.map { ($0.name, $0.value, target.host ?? host) }
    }

    /// The proxy curl would use for `url`: `https_proxy`/`HTTPS_PROXY` for
    /// https, `http_proxy` for http (curl ignores `HTTP_PROXY`), `all_proxy`/`ALL_PROXY` otherwise, unless
    /// `no_proxy`/`NO_PROXY` names the host. `http://[user:password@]host[:port]` and `socks5[h]://host[:port]`.
    ///
    /// - Throws: `UnusableProxy` when the variable that applies names a proxy Ferry cannot use (curl would
    ///   use an `https://` or SOCKS4 one, or fail); a host `no_proxy` names needs no proxy and never throws.
    public static func proxy(for url: String, environment: [String: String]) throws(UnusableProxy)
        -> HTTPClient.Configuration.Proxy?
    {
        guard let (name, value, targetHost) = variable(for: url, environment: environment) else { return nil }
        func unusable(_ reason: String) -> UnusableProxy {
            UnusableProxy(variable: name, value: redacted(value), reason: reason, host: targetHost)
        }
        // As curl: a value without a scheme is an http:// proxy.
        guard let proxy = URLComponents(string: value.contains("://") ? value : "http://" + value),
            let proxyHost = proxy.host, !proxyHost.isEmpty
        else { throw unusable("it is not a proxy URL Ferry can read") }
        let proxyScheme = proxy.scheme?.lowercased() ?? ""
        switch proxyScheme {
        case "socks5", "socks5h":
            // AsyncHTTPClient offers no SOCKS authentication: the proxy would refuse, for a reason hard to see.
            if proxy.user != nil || proxy.password != nil {
                throw unusable("Ferry cannot give a SOCKS proxy a user name and password")
            }
            return .socksServer(host: proxyHost, port: proxy.port ?? 1080)
        case "http":
            let authorization: HTTPClient.Authorization? = proxy.user.map {
                .basic(username: $0.removingPercentEncoding ?? $0, password: (proxy.password ?? "").removingPercentEncoding ?? "")
            }
            return .server(host: proxyHost, port: proxy.port ?? 1080, authorization: authorization)
        case "https":
            throw unusable("Ferry cannot talk TLS to a proxy (an https:// proxy)")
        case "socks4", "socks4a", "socks":
            throw unusable("Ferry cannot use SOCKS4 proxies (\(proxyScheme)://)")
        default:
            throw unusable("\(proxyScheme):// is not a proxy scheme Ferry knows")
        }
    }

    /// `value` with the password of its user information (or, when it has no password, its user name), if
    /// any, replaced by `***`, whether or not the
    /// rest is a valid URL: everything from the first `:` after the scheme to the last `@` (a password with
    /// a `/`, `?` or `#` in it, not percent-encoded, makes a value that is not a URL, and is hidden too).
    public static func redacted(_ value: String) -> String {
        // A scheme is letters, digits, `+`, `-` and `.`: a `://` after anything else is in the password
        // (`user:pa://ss@proxy`), and the user information starts at the beginning.
        let scheme = value.range(of: "://").flatMap { separator in
            let name = value[..<separator.lowerBound]
            return !name.isEmpty && name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
                ? separator : nil
        }
        let start = scheme?.upperBound ?? value.startIndex
        guard let at = value[start...].lastIndex(of: "@") else { return value }
        // A user name alone may be the secret (proxies that take a token as the user): all of it is hidden.
        guard let colon = value[start..<at].firstIndex(of: ":") else { return String(value[..<start]) + "***" + value[at...] }
        return String(value[..<value.index(after: colon)]) + "***" + value[at...]
    }

    /// Whether the IP address `host` is the address or in the range (`address/bits`) `entry` names; nil
    /// when `host` is a name, not an address.
    static func addressMatches(_ host: String, entry: String) -> Bool? {
        guard let address = IPAddress.bytes(host) else { return nil }
        var text = entry
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            text = String(text[text.index(after: text.startIndex)..<close]) + text[text.index(after: close)...]
        }
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let range = IPAddress.bytes(String(parts[0])), range.count == address.count else { return false }
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
}
