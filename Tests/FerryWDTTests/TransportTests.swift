import FerryCore
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import FerryWDT

/// The WDT client's HTTP layer against a raw loopback server (a test double at the edge).
@Suite struct WDTTransportTests {
    /// Answers the first request with a head promising `length` bytes, then one byte every 50 ms.
    final class Trickle: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let length: Int
        var answered = false
        init(length: Int) { self.length = length }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !answered else { return }
            answered = true
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\n\r\n{"
            context.writeAndFlush(NIOAny(ByteBuffer(string: head)), promise: nil)
            let channel = context.channel
            channel.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(50), delay: .milliseconds(50)) { task in
                guard channel.isActive else { return task.cancel() }
                channel.writeAndFlush(ByteBuffer(string: " "), promise: nil)
            }
        }
    }

    @Test func aTrickledAnswerTimesOutWithinTheRequestTimeout() async throws {
        // 200 bytes at 20 a second: 10 s, though no read waits longer than 50 ms.
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Trickle(length: 200)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let config = WDTSourceConfig(
            transport: .qimen, url: "http://127.0.0.1:\(server.localAddress?.port ?? 0)/router/qm", sid: "sid", appKey: "key",
            appSecret: "secret", targetAppKey: "target", requestsPerSecond: 500, pageSize: 20, timeoutSeconds: 0.5,
            maxRetries: 0, retryDelaySeconds: 0.005, maxWindowAttempts: 10)
        let client = WDTClient(config: config)
        let since = WDTTime("2026-01-01 00:00:00")!
        let started = Date()
        do throws(WDTError) {
            _ = try await client.fetchPage(start: since, end: since.adding(seconds: 86400), pageNo: 0)
            Issue.record("a trickled answer was taken")
        } catch {
            #expect(error.kind == .network, "\(error)")
            #expect(error.message.contains("timed out"), "\(error)")
        }
        #expect(Date().timeIntervalSince(started) < 3)
        try await server.close()
    }
}
