import Foundation
import SandboxHTTP
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The sandboxes' HTTP server, spoken to byte for byte over a plain TCP socket.
@Suite struct SandboxHTTPServerTests {
    /// Echoes what it was asked, as text lines, and cuts the answer for `/drop`.
    static func start() async throws -> SandboxHTTPServer {
        try await SandboxHTTPServer.start { request in
            if request.path == "/drop" { return .dropped(headers: [("Content-Type", "application/json")], promisedBytes: 100) }
            var lines = ["\(request.method) \(request.path)"]
            lines += request.query.map { "q \($0.name)=\($0.value)" }
            lines.append("x-test: \(request.header("X-TEST") ?? "-")")
            lines.append("body: \(String(decoding: request.body, as: UTF8.self))")
            return SandboxHTTPResponse(status: 200, headers: [("Content-Type", "text/plain")], body: Array(lines.joined(separator: "\n").utf8))
        }
    }

    @Test func answersSeveralRequestsOnOneKeepAliveConnection() async throws {
        let server = try await Self.start()
        let socket = try LoopbackSocket(port: server.port)
        for n in 1...3 {
            let body = "n=\(n)&名=值"
            try socket.send(
                "POST /path?a=1&b=x%20y+z HTTP/1.1\r\nHost: h\r\nX-Test: \(n)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let answer = try socket.readResponse()
            #expect(answer.status == 200)
            #expect(answer.headers["connection"] == nil)
            #expect(answer.body == "POST /path\nq a=1\nq b=x y z\nx-test: \(n)\nbody: \(body)")
        }
        await server.stop()
    }

    @Test func closesAfterAnswerWhenTheClientAsks() async throws {
        let server = try await Self.start()
        let socket = try LoopbackSocket(port: server.port)
        try socket.send("GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        let answer = try socket.readResponse()
        #expect(answer.headers["connection"] == "close")
        #expect(answer.body.hasPrefix("GET /x"))
        #expect(try socket.readToEnd().isEmpty)
        await server.stop()
    }

    @Test func aDroppedAnswerPromisesABodyAndClosesAfterTheHead() async throws {
        let server = try await Self.start()
        let socket = try LoopbackSocket(port: server.port)
        try socket.send("POST /drop HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        let raw = try socket.readToEnd()
        let text = String(decoding: raw, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.lowercased().contains("content-length: 100\r\n"))
        // The head and nothing after it: the connection ended where the body should have begun.
        #expect(text.hasSuffix("\r\n\r\n"))
        await server.stop()
    }

    @Test func stopClosesOpenConnections() async throws {
        let server = try await Self.start()
        let socket = try LoopbackSocket(port: server.port)
        try socket.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
        _ = try socket.readResponse()
        await server.stop()
        #expect(try socket.readToEnd().isEmpty)
        #expect(throws: (any Error).self) { try LoopbackSocket(port: server.port) }
    }
}

/// A blocking TCP client socket on 127.0.0.1 with a 5 s receive timeout.
final class LoopbackSocket {
    struct Failure: Error { var what: String }
    private let fd: Int32
    private var pending: [UInt8] = []

    init(port: UInt16) throws {
        fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(what: "socket") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw Failure(what: "connect: errno \(errno)")
        }
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else {
            throw Failure(what: "send")
        }
    }

    /// Reads more bytes into `pending`; false at the end of the stream.
    private func fill() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && errno != ECONNRESET { throw Failure(what: "recv: errno \(errno)") }
        if n <= 0 { return false }
        pending += buffer[0..<n]
        return true
    }

    /// Reads one response with a `Content-Length` body: status, lowercased header names, body as text.
    func readResponse() throws -> (status: Int, headers: [String: String], body: String) {
        let separator = Array("\r\n\r\n".utf8)
        var end: Int?
        while end == nil {
            if let range = pending.firstRange(of: separator) { end = range.upperBound; break }
            guard try fill() else { throw Failure(what: "the connection ended inside a head") }
        }
        let head = String(decoding: pending[0..<end!], as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
        pending.removeFirst(end!)
        let status = Int(head[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while pending.count < length {
            guard try fill() else { throw Failure(what: "the connection ended inside a body") }
        }
        let body = String(decoding: pending[0..<length], as: UTF8.self)
        pending.removeFirst(length)
        return (status, headers, body)
    }

    /// Everything until the server closes the connection.
    func readToEnd() throws -> [UInt8] {
        while try fill() {}
        defer { pending = [] }
        return pending
    }
}
