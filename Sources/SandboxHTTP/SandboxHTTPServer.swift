import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP/1.1 request as a sandbox sees it: the whole body, already read.
public struct SandboxHTTPRequest: Sendable {
    /// `GET`, `POST`, …
    public var method: String
    /// The path, without the query (`/k3cloud/…BatchSave.common.kdsvc`).
    public var path: String
    /// The query items, percent-decoded, in order.
    public var query: [(name: String, value: String)]
    /// The header fields, in order, names as sent.
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: [UInt8]
    /// When the request's head arrived (a sandbox's latency counts from here).
    public var received: ContinuousClock.Instant

    /// The first value of the header field `name` (case-insensitive), if any.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// The answer to one request.
public struct SandboxHTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Header fields besides `Content-Length` and `Connection`, which the server sets.
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: [UInt8]
    /// Whether to cut the connection after the head: the head promises `body.count` bytes, none follow
    /// (a lost answer, as when a proxy or the network fails in the middle of a response).
    public var dropsBody: Bool
    /// When set, the head is sent at once and the body follows one byte per this interval (a server or
    /// proxy that trickles its answer: each wait for the body is short, the whole answer is not).
    public var trickleInterval: Duration?

    /// A complete response.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
        self.dropsBody = false
        self.trickleInterval = nil
    }

    /// A response whose head is sent at once and whose `body` follows one byte every `interval`.
    public static func trickled(
        status: Int = 200, headers: [(name: String, value: String)] = [], body: [UInt8], every interval: Duration
    ) -> SandboxHTTPResponse {
        var response = SandboxHTTPResponse(status: status, headers: headers, body: body)
        response.trickleInterval = interval
        return response
    }

    /// A response whose head is sent, promising `promisedBytes` bytes, and then the connection is closed.
    public static func dropped(status: Int = 200, headers: [(name: String, value: String)] = [], promisedBytes: Int = 4096)
        -> SandboxHTTPResponse
    {
        var response = SandboxHTTPResponse(status: status, headers: headers, body: Array(repeating: 0, count: promisedBytes))
        response.dropsBody = true
        return response
    }
}

/// A small HTTP/1.1 server on loopback for Ferry's sandboxes, on SwiftNIO (already in the build through
/// AsyncHTTPClient).
///
/// Keep-alive connections, `TCP_NODELAY` on every accepted connection (a response's head and body are
/// one write anyway), whole request bodies handed to an async handler, one request at a time per
/// connection. `stop()` closes the listener and every open connection at once.
public final class SandboxHTTPServer: Sendable {
    /// The port it listens on.
    public let port: UInt16
    private let listener: any Channel
    private let connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>

    private init(port: UInt16, listener: any Channel, connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>) {
        self.port = port
        self.listener = listener
        self.connections = connections
    }

    /// Starts listening on `host:port` (0: any free port) and answers every request with `handler`.
    ///
    /// - Throws: when the address cannot be bound.
    public static func start(
        host: String = "127.0.0.1", port: UInt16 = 0,
        handler: @escaping @Sendable (SandboxHTTPRequest) async -> SandboxHTTPResponse
    ) async throws -> SandboxHTTPServer {
        let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                connections.withLockedValue { $0[id] = channel }
                channel.closeFuture.whenComplete { _ in _ = connections.withLockedValue { $0.removeValue(forKey: id) } }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(handler: handler))
                }
            }
        let listener = try await bootstrap.bind(host: host, port: Int(port)).get()
        guard let bound = listener.localAddress?.port else {
            try? await listener.close()
            throw SandboxHTTPError(message: "the sandbox server did not report its port")
        }
        return SandboxHTTPServer(port: UInt16(bound), listener: listener, connections: connections)
    }

    /// Stops listening and closes every open connection (requests in flight get no answer).
    public func stop() async {
        try? await listener.close()
        let open = connections.withLockedValue { Array($0.values) }
        for channel in open { try? await channel.close() }
    }
}

/// A sandbox server could not start.
public struct SandboxHTTPError: Error, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// The message.
    public var description: String { message }
}

/// Collects one request, calls the handler off the event loop, writes its answer.
private final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let handler: @Sendable (SandboxHTTPRequest) async -> SandboxHTTPResponse
    private var head: HTTPRequestHead?
    private var received = ContinuousClock.now
    private var body: ByteBuffer?

    init(handler: @escaping @Sendable (SandboxHTTPRequest) async -> SandboxHTTPResponse) {
        self.handler = handler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            received = .now
            body = nil
        case .body(var part):
            if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let request = Self.request(head, body: body.map { Array($0.readableBytesView) } ?? [], received: received)
            body = nil
            let keepAlive = head.isKeepAlive
            let version = head.version
            let promise = context.eventLoop.makePromise(of: SandboxHTTPResponse.self)
            let handler = self.handler
            promise.completeWithTask { await handler(request) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { response in
                let (this, context) = bound.value
                this.write(response, version: version, keepAlive: keepAlive, context: context)
            }
        }
    }

    private func write(_ response: SandboxHTTPResponse, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext) {
        // The client may have gone while the handler ran (a timeout, `stop()`): nothing to answer.
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        if !keepAlive || response.dropsBody { headers.replaceOrAdd(name: "Connection", value: "close") }
        let head = HTTPResponseHead(
            version: version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if response.dropsBody {
            // The head promised a body that never comes: flush the head, then cut the connection.
            context.flush()
            context.close(promise: nil)
            return
        }
        if let interval = response.trickleInterval {
            context.flush()
            trickle(response.body, every: interval, keepAlive: keepAlive, context: context)
            return
        }
        if !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Writes `body` one byte every `interval`, then ends the answer; stops when the client goes.
    private func trickle(_ body: [UInt8], every interval: Duration, keepAlive: Bool, context: ChannelHandlerContext) {
        let channel = context.channel
        let (seconds, attoseconds) = interval.components
        let step = TimeAmount.nanoseconds(max(1, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
        let sent = NIOLoopBoundBox(0, eventLoop: channel.eventLoop)
        channel.eventLoop.scheduleRepeatedTask(initialDelay: step, delay: step) { task in
            guard channel.isActive else { return task.cancel() }
            if sent.value < body.count {
                let byte = channel.allocator.buffer(bytes: body[sent.value...sent.value])
                sent.value += 1
                channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(byte)), promise: nil)
                return
            }
            task.cancel()
            let end = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
            if !keepAlive { end.whenComplete { _ in channel.close(promise: nil) } }
        }
    }

    private static func request(_ head: HTTPRequestHead, body: [UInt8], received: ContinuousClock.Instant) -> SandboxHTTPRequest {
        let uri = head.uri
        let path: String
        var query: [(name: String, value: String)] = []
        if let mark = uri.firstIndex(of: "?") {
            path = String(uri[..<mark])
            for item in uri[uri.index(after: mark)...].split(separator: "&") {
                let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ text: Substring) -> String {
                    let spaced = text.replacingOccurrences(of: "+", with: " ")
                    return spaced.removingPercentEncoding ?? spaced
                }
                query.append((decode(parts[0]), parts.count > 1 ? decode(parts[1]) : ""))
            }
        } else {
            path = uri
        }
        return SandboxHTTPRequest(
            method: head.method.rawValue, path: path, query: query, headers: head.headers.map { ($0.name, $0.value) },
            body: body, received: received)
    }
}
