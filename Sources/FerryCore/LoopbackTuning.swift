import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Socket tuning for Ferry's loopback sandbox servers.
public enum LoopbackTuning {
    /// Sets `TCP_NODELAY` on this process's listening TCP socket bound to `port`; connections it accepts
    /// inherit it (Linux). Without it, a server that writes a response's head and body separately waits
    /// for the client's delayed ACK, about 40 ms per request, which then dominates every benchmark.
    /// Test servers only: the sandboxes' HTTP library offers no hook for it.
    ///
    /// - Returns: whether a socket was found and tuned.
    @discardableResult
    public static func disableNagle(onListenerPort port: UInt16) -> Bool {
        #if os(Linux)
        for fd in Int32(3)..<Int32(4096) {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let found = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
            }
            guard found, address.sin_family == sa_family_t(AF_INET), UInt16(bigEndian: address.sin_port) == port else { continue }
            var type: Int32 = 0
            var typeLength = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &typeLength) == 0, type == Int32(SOCK_STREAM.rawValue) else { continue }
            var accepting: Int32 = 0
            var acceptingLength = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &acceptingLength) == 0, accepting == 1 else { continue }
            var one: Int32 = 1
            return setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size)) == 0
        }
        #endif
        return false
    }
}
