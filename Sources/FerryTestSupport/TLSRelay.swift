import NIOCore
import NIOPosix
import NIOSSL

/// A TLS front for a plain loopback server (a test double at the edge): it accepts TLS connections on a
/// free port with one of the self-signed certificates under `Fixtures/tls/`, and relays the decrypted bytes
/// to `upstreamPort` and the answers back. The sandboxes speak plain HTTP; behind this relay, a client
/// sees a real HTTPS server whose certificate no system trusts (and, as chosen, has expired, is not valid
/// yet, or is for another name).
public final class TLSRelay: Sendable {
    /// `https://127.0.0.1:<port>`.
    public let baseURL: String
    private let server: any Channel
    private let group: MultiThreadedEventLoopGroup

    private init(baseURL: String, server: any Channel, group: MultiThreadedEventLoopGroup) {
        self.baseURL = baseURL
        self.server = server
        self.group = group
    }

    /// Starts a relay to `127.0.0.1:upstreamPort`.
    ///
    /// - Parameter certificate: the certificate it presents, `Fixtures/tls/<certificate>.cert.pem`:
    ///   `self-signed` (for 127.0.0.1 and localhost, valid until 2126), `expired` (2020–2021),
    ///   `not-yet-valid` (2120–2121), `wrong-name` (for erp.example.com only). All share one key.
    public static func start(upstreamPort: Int, certificate: String = "self-signed") async throws -> TLSRelay {
        let directory = TestSupport.fixturesDirectory + "/tls"
        let certificates = try NIOSSLCertificate.fromPEMFile(directory + "/\(certificate).cert.pem")
        let key = try NIOSSLPrivateKey(file: directory + "/self-signed.key.pem", format: .pem)
        let context = try NIOSSLContext(
            configuration: .makeServerConfiguration(certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key)))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.addHandler(RelayHandler(upstreamPort: upstreamPort))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TLSRelay(baseURL: "https://127.0.0.1:\(server.localAddress?.port ?? 0)", server: server, group: group)
    }

    /// Closes the listening socket and the relay's threads.
    public func stop() async {
        try? await server.close()
        try? await group.shutdownGracefully()
    }
}

/// Relays one decrypted client connection to the upstream port: reads that arrive before the upstream
/// connection is up are queued; either side closing closes the other.
private final class RelayHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let upstreamPort: Int
    private var upstream: (any Channel)?
    private var pending: [ByteBuffer] = []

    init(upstreamPort: Int) { self.upstreamPort = upstreamPort }

    func channelActive(context: ChannelHandlerContext) {
        let client = context.channel
        let loop = context.eventLoop
        ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(BackHandler(client: client))
                }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .hop(to: loop)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    self.upstream = channel
                    for buffer in self.pending { channel.write(buffer, promise: nil) }
                    self.pending = []
                    channel.flush()
                case .failure:
                    client.close(promise: nil)
                }
            }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if let upstream { upstream.writeAndFlush(buffer, promise: nil) } else { pending.append(buffer) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstream?.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A client that refuses the certificate ends the handshake: nothing to relay.
        context.close(promise: nil)
    }
}

/// The upstream side: answers go back to the client; the upstream closing closes the client.
private final class BackHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let client: any Channel

    init(client: any Channel) { self.client = client }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        client.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.close(promise: nil)
        context.fireChannelInactive()
    }
}
