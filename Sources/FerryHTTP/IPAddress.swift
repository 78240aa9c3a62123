import Foundation

/// IP addresses written as text, as `no_proxy` entries and certificates' names compare them.
enum IPAddress {
    /// The bytes of an IPv4 (4) or IPv6 (16) address, nil for anything else (a host name).
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
