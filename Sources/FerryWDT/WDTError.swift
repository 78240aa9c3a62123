import FerryCore
import Foundation

/// Why a WDT request failed, classified so the client knows whether to retry.
///
/// Messages name the cause and what to do; they never contain the app secret or a sign.
public struct WDTError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure it is.
    public enum Kind: String, Sendable, Hashable {
        /// Connection refused, reset, timed out: retryable.
        case network
        /// HTTP 5xx or a gateway "service unavailable / system busy" answer: retryable.
        case server
        /// A frequency, concurrency or quota limit: retryable after a pause.
        case rateLimited
        /// The response is not JSON or not the expected shape: retryable (usually a truncated body).
        case malformedResponse
        /// The gateway rejected the signature: fatal (check `source.app_secret`).
        case signature
        /// The timestamp is outside the gateway's tolerance: fatal (fix the machine's clock).
        case timestamp
        /// Unknown app key, sid, or missing rights: fatal (check `source.app_key`, `source.sid`, `source.target_app_key`).
        case permission
        /// A parameter was refused (window too wide, bad page size, bad date): fatal.
        case parameter
        /// An HTTP 4xx or an answer that fits no other kind: fatal.
        case rejected
    }

    /// The kind.
    public var kind: Kind
    /// The gateway's error code, as text (`25`, `1012`, `100`), when it gave one.
    public var code: String?
    /// The gateway's sub-code (`isv.invalid-signature`), when it gave one.
    public var subCode: String?
    /// The gateway's message(s), joined.
    public var message: String
    /// The HTTP status, when the failure came with one.
    public var httpStatus: Int?
    /// How long the server asked the client to wait before the next request, in seconds: an HTTP
    /// `Retry-After`, or the Qimen gateway's "This ban will last for N more seconds".
    public var retryAfterSeconds: Double?

    /// Creates an error.
    public init(
        kind: Kind, code: String? = nil, subCode: String? = nil, message: String, httpStatus: Int? = nil,
        retryAfterSeconds: Double? = nil
    ) {
        self.kind = kind
        self.code = code
        self.subCode = subCode
        self.message = message
        self.httpStatus = httpStatus
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The seconds a gateway message asks to wait: Taobao's and Qimen's call-limit answers say
    /// `This ban will last for 71 more seconds`. `nil` when the message names no duration.
    public static func banSeconds(in message: String) -> Double? {
        guard let range = message.range(of: "ban will last for ") else { return nil }
        let digits = message[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, message[range.upperBound...].dropFirst(digits.count).hasPrefix(" more second") else {
            return nil
        }
        return Double(digits)
    }

    /// The seconds an HTTP `Retry-After` header asks to wait: delta-seconds (`120`) or an HTTP date
    /// (then measured from `now`). `nil` when the header is absent or unreadable.
    public static func retryAfterSeconds(header: String?, now: Date = Date()) -> Double? {
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty else { return nil }
        if header.allSatisfy({ $0.isASCII && $0.isNumber }) { return Double(header) }
        guard let date = WDTClient.parseHTTPDate(header) else { return nil }
        return max(0, TimeInterval(date) - now.timeIntervalSince1970)
    }

    /// Whether waiting and sending the same request again can help.
    public var isRetryable: Bool {
        switch kind {
        case .network, .server, .rateLimited, .malformedResponse: return true
        case .signature, .timestamp, .permission, .parameter, .rejected: return false
        }
    }

    /// A one-line explanation with the gateway's own words and a hint about what to do.
    public var description: String {
        var detail = message
        var codes: [String] = []
        if let code { codes.append("code \(code)") }
        if let subCode { codes.append("sub_code \(subCode)") }
        if let httpStatus { codes.append("HTTP \(httpStatus)") }
        if !codes.isEmpty { detail += " (\(codes.joined(separator: ", ")))" }
        switch kind {
        case .network: return "cannot reach WDT: \(detail); check source.url and the network"
        case .server: return "WDT server error: \(detail)"
        case .rateLimited: return "WDT request limit reached: \(detail); lower source.requests_per_second"
        case .malformedResponse: return "WDT sent an unreadable response: \(detail)"
        case .signature:
            return "WDT rejected the request signature: \(detail); check source.app_secret "
                + "(and source.chinese_length for the open API)"
        case .timestamp: return "WDT rejected the request timestamp: \(detail); check this machine's clock"
        case .permission:
            return "WDT refused access: \(detail); check source.app_key, source.sid and source.target_app_key, "
                + "and the app's rights in WDT"
        case .parameter: return "WDT rejected a request parameter: \(detail)"
        case .rejected: return "WDT rejected the request: \(detail)"
        }
    }

    /// Classifies a gateway error answer by its code, sub-code and message.
    ///
    /// Rate limits: code `7` (TOP "App Call Limited"; not when the message names the timestamp, WDT's code 7), `1012`, sub-codes containing `limit`, messages with
    /// 频率/并发/超限/limit. Signature: codes `25`, sub-codes/messages with `signature`/`sign`/签名.
    /// Timestamp: messages with 时间戳/timestamp. Permission: code `29`, app key, sid, 权限.
    /// Server: `isp.*` sub-codes, 系统异常/系统繁忙/服务不可用, code `1020` and TOP's code `10` (Service
    /// Currently Unavailable). Everything else is a parameter error when
    /// it mentions a parameter, else `rejected`.
    public static func classify(code: String?, subCode: String?, message: String) -> Kind {
        let text = ([code, subCode, message].compactMap { $0 }).joined(separator: " ").lowercased()
        let sub = (subCode ?? "").lowercased()
        func has(_ words: String...) -> Bool { words.contains { text.contains($0) } }
        // Code 7 is TOP's "App Call Limited", but WDT's own code 7 is a timestamp error (时间戳错误).
        let callLimited = code == "7" && !has("时间戳", "timestamp")
        if callLimited || code == "1012" || sub.contains("limit") || has("频率", "并发", "超限", "limit", "too many") {
            return .rateLimited
        }
        // TOP's code 10 is "Service Currently Unavailable" (服务不可用), whatever its sub-code: the gateway's or
        // the service's moment, not the request's fault.
        if code == "1020" || code == "10" || sub.hasPrefix("isp.")
            || has("系统异常", "系统繁忙", "服务不可用", "service unavailable", "service currently unavailable", "稍后再试")
        {
            return .server
        }
        if code == "25" || has("signature", "sign", "签名") { return .signature }
        if has("timestamp", "时间戳") { return .timestamp }
        if code == "29" || has("app key", "appkey", "app_key", "sid", "权限", "permission", "forbidden", "unauthorized") {
            return .permission
        }
        if has("param", "参数", "时间不能", "30天", "page_size", "page_no", "missing", "invalid") { return .parameter }
        return .rejected
    }
}
