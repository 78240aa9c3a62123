import AsyncHTTPClient
import NIOCore
import NIOSSL

/// The AsyncHTTPClient set-up both clients use: HTTP/1.1, bodies as sent (no decompression), one
/// timeout for connecting (at most 10 s), writing and each wait for the answer, no silent reconnect
/// attempts, no redirects followed, and proxies from the environment.
public struct ClientSetup: Sendable {
    /// The timeout in seconds actually used: the configured one, at least 1 ms (30 s when not finite).
    public let timeoutSeconds: Double
    /// The same timeout, for request deadlines.
    public let timeout: TimeAmount

    /// - Parameter timeoutSeconds: the configured timeout (fractions allowed).
    public init(timeoutSeconds: Double) {
        let seconds = Self.effectiveTimeout(timeoutSeconds)
        self.timeoutSeconds = seconds
        self.timeout = .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// The timeout actually used for `seconds`: at least 1 ms, 30 s when not finite.
    public static func effectiveTimeout(_ seconds: Double) -> Double {
        seconds.isFinite ? max(0.001, seconds) : 30
    }

    /// A client for requests to `url`.
    ///
    /// - Parameters:
    ///   - url: the configured URL (it decides which proxy variable applies).
    ///   - connectionsPerHost: the pool's soft limit of connections per host.
    ///   - environment: where the proxy variables are read.
    ///   - verifyCertificates: `false` only when the user turned verification off in so many words.
    /// - Throws: `ProxyEnvironment.UnusableProxy` when the proxy variable that applies to `url` names a
    ///   proxy Ferry cannot use (nothing is sent then).
    public func makeClient(url: String, connectionsPerHost: Int, environment: [String: String], verifyCertificates: Bool = true)
        throws(ProxyEnvironment.UnusableProxy) -> HTTPClient
    {
        var configuration = HTTPClient.Configuration()
        configuration.httpVersion = .http1Only
        configuration.decompression = .disabled
        // The deadline of a request ends with the answer's head; the read timeout bounds each wait for its body
        // (the clients bound the whole body with AnswerBody).
        configuration.timeout = HTTPClient.Configuration.Timeout(
            connect: min(timeout, .seconds(10)), read: timeout, write: timeout)
        var pool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connectionsPerHost))
        // A connection that cannot be made fails its request at once (it was not sent); the client's own
        // retries with backoff apply then.
        pool.retryConnectionEstablishment = false
        configuration.connectionPool = pool
        configuration.proxy = try ProxyEnvironment.proxy(for: url, environment: environment)
        // Both APIs answer POSTs where they are asked; a redirect is an answer to report, not to follow: following
        // one (a 307 keeps the body) would send a login's password, a session id or a signed request to another host.
        configuration.redirectConfiguration = .disallow
        if !verifyCertificates {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            configuration.tlsConfiguration = tls
        }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
