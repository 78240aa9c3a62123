import AsyncHTTPClient
import FerryCore
import FerryHTTP
import Foundation
import NIOCore
import NIOPosix

/// One page fetched from WDT: the body exactly as received and what it says.
public struct WDTFetchedPage: Sendable {
    /// The response body, byte for byte.
    public var body: [UInt8]
    /// The parsed page.
    public var page: WDTPage
}

/// The WDT `wdt.stockin.order.query` client: signs, rate-limits, retries, and classifies failures.
///
/// One client is shared by a whole extract so that its token bucket bounds every request. It never
/// writes the app secret or a sign anywhere: not to `log`, not into an error.
public final class WDTClient: Sendable {
    /// The resolved source settings.
    public let config: WDTSourceConfig
    private let bucket: TokenBucket
    private let http: HTTPClient
    private let timeout: TimeAmount
    private let log: @Sendable (String) -> Void
    /// Whether a certificate that fails verification may be fetched again to say why (not when a proxy
    /// carries the requests).
    private let probesCertificates: Bool
    /// The proxy requests go through, as messages name it (nil: direct).
    private let proxyRoute: String?
    private let state = Mutex()
    nonisolated(unsafe) private var counters = (requests: 0, retries: 0, clockWarned: false, clockOffset: Double?.none)

    /// Creates a client.
    ///
    /// HTTP goes through one AsyncHTTPClient `HTTPClient` (SwiftNIO, on the process-wide event loops),
    /// shut down when the client goes. Proxies come from `https_proxy`, `http_proxy`, `all_proxy` and
    /// `no_proxy` in `environment`, as curl reads them; TLS certificates are always verified.
    ///
    /// - Parameters:
    ///   - config: the source settings (URL, credentials, rate, retries, timeouts).
    ///   - environment: where the proxy variables are read.
    ///   - log: receives warnings and retry notes (one line each, no secrets); the CLI prints them on stderr.
    /// - Throws: `ProxyEnvironment.UnusableProxy` when the proxy variable that applies to `config.url` names
    ///   a proxy Ferry cannot use: going direct could fail confusingly, or send around a mandatory proxy.
    public init(
        config: WDTSourceConfig, environment: [String: String] = ProcessInfo.processInfo.environment,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(ProxyEnvironment.UnusableProxy) {
        let setup = ClientSetup(timeoutSeconds: config.timeoutSeconds)
        self.http = try setup.makeClient(url: config.url, connectionsPerHost: 2, environment: environment)
        self.probesCertificates = (try? ProxyEnvironment.proxy(for: config.url, environment: environment)) == nil
        self.proxyRoute = ProxyEnvironment.route(for: config.url, environment: environment)
        self.config = config
        self.bucket = TokenBucket(rate: config.requestsPerSecond)
        self.timeout = setup.timeout
        self.log = log
    }

    deinit {
        // Not waited for: requests are over by the time the extract drops its client.
        http.shutdown { _ in }
    }

    /// Requests sent so far (every attempt counts).
    public var requestCount: Int { state.withLock { counters.requests } }
    /// The WDT server's clock minus this machine's, in seconds, from the `Date` header of the latest answer
    /// (nil before one came, or when the server sends none).
    public var serverClockOffset: Double? { state.withLock { counters.clockOffset } }
    /// Retries made so far.
    public var retryCount: Int { state.withLock { counters.retries } }

    /// The business parameters of one page request: the fixed parameters plus the window and paging.
    public func businessParameters(start: WDTTime, end: WDTTime, pageNo: Int) -> [String: String] {
        var parameters = config.fixedParameters
        parameters["start_time"] = start.description
        parameters["end_time"] = end.description
        parameters["page_no"] = String(pageNo)
        parameters["page_size"] = String(config.pageSize)
        return parameters
    }

    /// Every parameter of a request, system parameters and `sign` included, for the configured gateway.
    ///
    /// - Parameters:
    ///   - business: the business parameters.
    ///   - now: the time the request is signed at.
    public func signedParameters(business: [String: String], now: Date) -> [String: String] {
        var parameters = business
        switch config.transport {
        case .qimen:
            parameters["method"] = config.method
            parameters["app_key"] = config.appKey
            parameters["target_app_key"] = config.targetAppKey
            parameters["sid"] = config.sid
            parameters["timestamp"] = WDTTime(now).description
            parameters["format"] = "json"
            parameters["v"] = "2.0"
            parameters["sign_method"] = "md5"
            parameters["sign"] = WDTSignature.qimen(parameters, secret: config.appSecret)
        case .openAPI:
            parameters["sid"] = config.sid
            parameters["appkey"] = config.appKey
            parameters["timestamp"] = String(WDTTime(now).unixSeconds)
            parameters["sign"] = WDTSignature.openAPI(
                parameters, secret: config.appSecret, counting: config.lengthCounting)
        }
        return parameters
    }

    /// Fetches one page, waiting for the token bucket and retrying retryable failures with exponential
    /// backoff and jitter, up to `maxRetries` times.
    ///
    /// - Throws: `WDTError`: at once for a fatal failure (signature, permission, parameter), or the last
    ///   retryable failure when the retries are used up.
    public func fetchPage(start: WDTTime, end: WDTTime, pageNo: Int) async throws(WDTError) -> WDTFetchedPage {
        let business = businessParameters(start: start, end: end, pageNo: pageNo)
        var attempt = 0
        while true {
            do {
                try await bucket.acquire()
            } catch {
                throw WDTError(kind: .network, message: "cancelled")
            }
            do {
                return try await sendOnce(business)
            } catch var error {
                error.message = scrub(error.message)
                guard error.isRetryable, attempt < config.maxRetries else { throw error }
                var delay = min(60, config.retryDelaySeconds * pow(2, Double(attempt))) * Double.random(in: 1..<1.5)
                var asked = ""
                if let wait = error.retryAfterSeconds {
                    // The server said how long: wait that (a little more, never hours), not less.
                    let honoured = min(Self.longestServerWait, wait)
                    if honoured + 0.05 > delay { delay = honoured + 0.05 }
                    asked = " (the server asked to wait \(String(format: "%g", wait)) s)"
                }
                attempt += 1
                state.withLock { counters.retries += 1 }
                log(
                    "warning: page \(pageNo) of \(start) … \(end): \(error.description); "
                        + "retry \(attempt) of \(config.maxRetries) in \(String(format: "%.2f", delay)) s\(asked)")
                do {
                    try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
                } catch {
                    throw WDTError(kind: .network, message: "cancelled")
                }
            }
        }
    }

    /// Removes the app secret from a message (a gateway could echo what it was sent).
    private func scrub(_ text: String) -> String {
        config.appSecret.isEmpty ? text : text.replacingOccurrences(of: config.appSecret, with: "***")
    }

    private func sendOnce(_ business: [String: String]) async throws(WDTError) -> WDTFetchedPage {
        guard let url = URL(string: config.url), url.scheme == "http" || url.scheme == "https" else {
            throw WDTError(kind: .parameter, message: "source.url '\(config.url)' is not an http(s) URL")
        }
        let parameters = signedParameters(business: business, now: Date())
        do {
            return try await send(parameters, to: url)
        } catch var error {
            if let sign = parameters["sign"], !sign.isEmpty {
                error.message = error.message.replacingOccurrences(of: sign, with: "***")
            }
            throw error
        }
    }

    /// Posts signed `parameters` to `url` (`config.url`, checked by `sendOnce`) and classifies the answer.
    private func send(_ parameters: [String: String], to url: URL) async throws(WDTError) -> WDTFetchedPage {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "Ferry/\(FerryVersion.current) (WDT client)")
        request.body = .bytes(ByteBuffer(string: Self.formEncode(parameters)))
        state.withLock { counters.requests += 1 }
        let status: Int
        let date: String?
        let retryAfter: String?
        let body: [UInt8]
        do {
            let deadline = NIODeadline.now() + timeout
            let response = try await http.execute(request, deadline: deadline)
            // The whole answer, body included, by the request's deadline.
            var buffer = try await AnswerBody.collect(response.body, upTo: Self.maxAnswerBytes, deadline: deadline)
            body = buffer.readBytes(length: buffer.readableBytes) ?? []
            status = Int(response.status.code)
            date = response.headers.first(name: "Date")
            retryAfter = response.headers.first(name: "Retry-After")
        } catch {
            if TLSFailure.isCertificateProblem(error) {
                let problems = await TLSFailure.diagnose(error, url: url, probe: probesCertificates)
                throw Self.certificateFailure(problems, host: url.host ?? "?")
            }
            var failure = Self.classify(error, url: url)
            // A connection that fails may be the proxy's: "cannot connect to <server>" alone sends one to check the server.
            if failure.kind == .network, let proxyRoute { failure.message += ", through \(proxyRoute): check the proxy too" }
            throw failure
        }
        checkClock(date)
        switch status {
        case 200..<300:
            break
        case 429:
            throw WDTError(
                kind: .rateLimited, message: "too many requests", httpStatus: 429,
                retryAfterSeconds: WDTError.retryAfterSeconds(header: retryAfter))
        case 500...:
            throw WDTError(
                kind: .server, message: "the server failed", httpStatus: status,
                retryAfterSeconds: status == 503 ? WDTError.retryAfterSeconds(header: retryAfter) : nil)
        default:
            var failure = WDTError(kind: .rejected, message: "unexpected HTTP status", httpStatus: status)
            do {
                _ = try WDTResponseParser.parse(body)
            } catch where error.kind != .malformedResponse {
                failure = error
                failure.httpStatus = status
            } catch {}
            throw failure
        }
        let page = try WDTResponseParser.parse(body)
        return WDTFetchedPage(body: body, page: page)
    }

    private func checkClock(_ header: String?) {
        guard let header, let server = Self.parseHTTPDate(header) else {
            return
        }
        let skew = Date().timeIntervalSince1970 - TimeInterval(server)
        state.withLock { counters.clockOffset = -skew }
        guard abs(skew) > 60 else { return }
        let first = state.withLock { () -> Bool in
            defer { counters.clockWarned = true }
            return !counters.clockWarned
        }
        if first {
            log(
                "warning: this machine's clock is \(Int(abs(skew))) s \(skew > 0 ? "ahead of" : "behind") the WDT "
                    + "server's; WDT rejects timestamps more than 5 minutes off; fix the clock (NTP)")
        }
    }

    /// The longest wait asked by a server (`Retry-After`, "ban will last for N more seconds") that is
    /// honoured as asked, in seconds; a longer one is cut to this, and retries go on from there.
    public static let longestServerWait: Double = 600

    /// Parses an HTTP `Date` header (`Sun, 29 Nov 2026 00:11:26 GMT`) into Unix seconds.
    public static func parseHTTPDate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, let day = Int(parts[1]), let year = Int(parts[3]) else { return nil }
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        guard let monthIndex = months.firstIndex(of: parts[2].lowercased()) else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3 else { return nil }
        let days = WDTTime.daysFromCivil(year: year, month: monthIndex + 1, day: day)
        return Int64(days) * 86400 + Int64(clock[0] * 3600 + clock[1] * 60 + clock[2])
    }

    /// `application/x-www-form-urlencoded` body with keys sorted (deterministic), UTF-8 percent-encoded.
    public static func formEncode(_ parameters: [String: String]) -> String {
        WDTSignature.sortedKeys(parameters).map { percentEncode($0) + "=" + percentEncode(parameters[$0] ?? "") }
            .joined(separator: "&")
    }

    static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// The largest answer read (a page holds at most 100 orders).
    static let maxAnswerBytes = 64 << 20

    /// Maps an AsyncHTTPClient/SwiftNIO failure to a `WDTError`. Queries are safe to repeat, so every
    /// transport failure is retryable (`.network`), except a certificate that fails verification, which no
    /// retry mends (`send` says why; here it is not known).
    static func classify(_ error: any Error, url: URL) -> WDTError {
        let host = url.host ?? "?"
        if TLSFailure.isCertificateProblem(error) { return certificateFailure([], host: host) }
        return WDTError(kind: .network, message: describe(error, host: host))
    }

    /// The fatal error for a certificate of `host` that failed verification with `problems` (none known: a
    /// message covering every cause).
    static func certificateFailure(_ problems: [TLSFailure.CertificateProblem], host: String) -> WDTError {
        WDTError(kind: .rejected, message: TLSFailure.message(problems, host: host, urlSetting: "source.url", insecureSetting: nil))
    }

    static func describe(_ error: any Error, host: String) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .getConnectionFromPoolTimeout:
                return "the request to \(host) timed out (source.timeout_seconds)"
            case .remoteConnectionClosed:
                return "the connection to \(host) was lost"
            default:
                return "\(host): \(error)"
            }
        }
        if let error = error as? NIOConnectionError {
            if error.connectionErrors.isEmpty, error.dnsAError != nil || error.dnsAAAAError != nil {
                return "unknown host \(host)"
            }
            return "cannot connect to \(host) (connection refused or unreachable)"
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return "cannot connect to \(host) (connection refused)"
            case ECONNRESET, EPIPE: return "the connection to \(host) was lost"
            default: return "\(host): \(error)"
            }
        }
        if error is NIOTooManyBytesError {
            return "the answer of \(host) is larger than \(maxAnswerBytes >> 20) MiB"
        }
        return "\(host): \(error)"
    }
}
