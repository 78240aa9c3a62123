import FerryCore
import FerryWDT
import Foundation
import SandboxHTTP

/// A WDT look-alike on loopback that speaks both gateways: Qimen (`POST /router/qm`) and the open API
/// (`POST /openapi2/stockin_order_query.php`).
///
/// It checks signatures and timestamps, enforces WDT's rules (window ≤ 30 days, closed modified-time
/// interval, `page_size` ≤ 100, `status` default 80), serves a seeded data set, and injects faults.
/// Used in-process by tests, and by `ferry demo` / `ferry sandbox`.
public final class WDTSandboxServer: Sendable {
    /// The data set served (tests compare what arrived with `dataset.stockinNumbers(matching:)`).
    public let dataset: WDTDataset
    /// The configuration it runs with.
    public let configuration: WDTSandboxConfiguration
    /// The port it listens on (127.0.0.1).
    public let port: UInt16
    private let server: SandboxHTTPServer
    private let state: SandboxState

    /// `http://127.0.0.1:<port>`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// The Qimen router URL (`source.url` for `wdt-qimen`).
    public var qimenURL: String { baseURL + "/router/qm" }
    /// The open API URL (`source.url` for `wdt-openapi`).
    public var openAPIURL: String { baseURL + "/openapi2/stockin_order_query.php" }

    /// What the sandbox has seen so far.
    public var counters: WDTSandboxCounters { state.counters }

    /// Every `sign` value received, valid or not, in arrival order (for "no signature on disk" checks).
    public var receivedSigns: [String] { state.receivedSigns }

    /// The variables a `ferry.yaml` written by `ferry init` reads (`WDT_URL`, `WDT_SID`, `WDT_APP_KEY`,
    /// `WDT_APP_SECRET`, `WDT_TARGET_APP_KEY`), pointing at this sandbox through `transport`.
    public func environment(for transport: WDTTransport = .qimen) -> [String: String] {
        let c = configuration.credentials
        return [
            "WDT_URL": transport == .qimen ? qimenURL : openAPIURL, "WDT_SID": c.sid, "WDT_APP_KEY": c.appKey,
            "WDT_APP_SECRET": c.appSecret, "WDT_TARGET_APP_KEY": c.targetAppKey,
        ]
    }

    /// Starts a sandbox on 127.0.0.1.
    ///
    /// - Parameters:
    ///   - port: the port, or 0 for any free one.
    ///   - configuration: credentials, data set, faults and rate limit.
    /// - Throws: when the port cannot be bound.
    public static func start(port: UInt16 = 0, configuration: WDTSandboxConfiguration = WDTSandboxConfiguration())
        async throws -> WDTSandboxServer
    {
        let dataset = WDTDataset(
            seed: configuration.seed, orderCount: configuration.orderCount, periodStart: configuration.periodStart,
            periodDays: configuration.periodDays)
        let state = SandboxState(configuration: configuration, dataset: dataset)
        let server = try await SandboxHTTPServer.start(port: port) { request in
            switch (request.method, request.path) {
            case ("POST", "/router/qm"), ("GET", "/router/qm"):
                return await state.handle(request, transport: .qimen)
            case ("POST", "/openapi2/stockin_order_query.php"):
                return await state.handle(request, transport: .openAPI)
            default:
                return SandboxHTTPResponse(status: 404, headers: [("Content-Type", "text/plain")], body: Array("not found".utf8))
            }
        }
        return WDTSandboxServer(dataset: dataset, configuration: configuration, server: server, state: state)
    }

    private init(dataset: WDTDataset, configuration: WDTSandboxConfiguration, server: SandboxHTTPServer, state: SandboxState) {
        self.dataset = dataset
        self.configuration = configuration
        self.port = server.port
        self.server = server
        self.state = state
    }

    /// Stops the server at once (open keep-alive connections are dropped).
    public func stop() async {
        await server.stop()
    }

    /// Changes the faults while the server runs (for example to make a second extract fault-free).
    public func setFaults(_ faults: WDTSandboxFaults) {
        state.setFaults(faults)
    }

    /// Every order the server holds for a request's filters over `start…end` (status 80 by default).
    public func stockinNumbers(start: WDTTime, end: WDTTime, statuses: Set<Int> = [80]) -> Set<String> {
        dataset.stockinNumbers(matching: WDTOrderFilter(start: start, end: end, statuses: statuses))
    }
}

/// The sandbox's mutable state and request handling.
final class SandboxState: @unchecked Sendable {
    let configuration: WDTSandboxConfiguration
    let dataset: WDTDataset
    private let lock = Mutex()
    private var faults: WDTSandboxFaults
    private var stats = WDTSandboxCounters()
    private var rng: SplitMix64
    private var tokens: Double
    private var lastRefill: Date?
    private var faultCounters: [String: Int] = [:]
    /// When the ban the sandbox last announced ends (429 `Retry-After`, or the gateway's ban message).
    private var bannedUntil: Date?
    /// The first window whose page 0 was served (for `moveAcrossWindows`).
    private var firstWindow: WDTOrderFilter?
    /// Every `sign` value received.
    private var signs: [String] = []

    init(configuration: WDTSandboxConfiguration, dataset: WDTDataset) {
        self.configuration = configuration
        self.dataset = dataset
        self.faults = configuration.faults
        self.rng = SplitMix64(seed: configuration.seed ^ 0x5EED_FA17)
        self.tokens = Double(configuration.rateBurst)
    }

    var counters: WDTSandboxCounters { lock.withLock { stats } }

    var receivedSigns: [String] { lock.withLock { signs } }

    func setFaults(_ faults: WDTSandboxFaults) { lock.withLock { self.faults = faults } }

    /// Whether a fault rule fires for this eligible request (counting per rule).
    private func fires(_ rule: WDTFaultRule, _ name: String) -> Bool {
        switch rule {
        case .never: return false
        case .every(let n):
            faultCounters[name, default: 0] += 1
            return n >= 1 && faultCounters[name, default: 0] % n == 0
        case .probability(let p): return rng.chance(p)
        case .once(let n):
            faultCounters[name, default: 0] += 1
            return faultCounters[name, default: 0] == n
        }
    }

    /// The sandbox clock (the real clock moved by `clockOffsetSeconds`).
    private func now() -> Date {
        Date().addingTimeInterval(TimeInterval(lock.withLock { faults.clockOffsetSeconds }))
    }

    func handle(_ request: SandboxHTTPRequest, transport: WDTTransport) async -> SandboxHTTPResponse {
        var parameters: [String: String] = [:]
        for item in request.query { parameters[item.name] = item.value }
        for (key, value) in Self.parseForm(String(decoding: request.body, as: UTF8.self)) { parameters[key] = value }
        // Recorded before any fault is injected: a request answered with a fault was signed too.
        if let sign = parameters["sign"], !sign.isEmpty { lock.withLock { signs.append(sign) } }
        let (latency, overRate, frequencyFault, serverFault, tooManyFault) = lock.withLock {
            () -> (Int, Bool, Bool, Bool, Bool) in
            stats.requests += 1
            if let bannedUntil, Date() < bannedUntil { stats.banViolations += 1 }
            var over = false
            if let rate = configuration.rateLimit {
                let arrival = Date()
                if let last = lastRefill {
                    tokens = min(Double(configuration.rateBurst), tokens + arrival.timeIntervalSince(last) * rate * 1.1)
                }
                lastRefill = arrival
                // A request may arrive up to a quarter interval early (network jitter) without counting.
                if tokens >= 0.75 {
                    tokens -= 1
                } else {
                    over = true
                    stats.rateViolations += 1
                }
            }
            let frequency = fires(faults.frequencyLimit, "frequency")
            let server = !frequency && fires(faults.serverError, "server")
            let tooMany = !frequency && !server && fires(faults.tooManyRequests, "429")
            if frequency { stats.frequencyLimitFaults += 1 }
            if server { stats.serverErrorFaults += 1 }
            if tooMany {
                stats.tooManyRequestsFaults += 1
                bannedUntil = Date().addingTimeInterval(TimeInterval(faults.banSeconds))
            }
            return (faults.latencyMilliseconds, over, frequency, server, tooMany)
        }
        if latency > 0 { try? await Task.sleep(nanoseconds: UInt64(latency) * 1_000_000) }
        if serverFault {
            return SandboxHTTPResponse(
                status: 500, headers: headers(), body: Array("<html><body>500 Internal Server Error</body></html>".utf8))
        }
        if tooManyFault {
            let headers = headers() + [("Retry-After", String(lock.withLock { faults.banSeconds }))]
            return SandboxHTTPResponse(
                status: 429, headers: headers, body: Array("<html><body>429 Too Many Requests</body></html>".utf8))
        }
        if frequencyFault || (overRate && configuration.rejectOverRate) {
            return frequencyLimited(transport)
        }
        switch transport {
        case .qimen: return serveQimen(parameters)
        case .openAPI: return serveOpenAPI(parameters)
        }
    }

    // MARK: - Gateways

    private func serveQimen(_ p: [String: String]) -> SandboxHTTPResponse {
        let c = configuration.credentials
        func gatewayError(_ code: Int, _ msg: String, _ subCode: String, _ subMsg: String) -> SandboxHTTPResponse {
            let isSign = code == 25
            lock.withLock { if isSign { stats.signatureFailures += 1 } else { stats.rejections += 1 } }
            return json(
                [
                    "error_response": [
                        "code": .number(String(code)), "msg": .string(msg), "sub_code": .string(subCode),
                        "sub_msg": .string(subMsg + echo(p)), "request_id": .string("sandbox"),
                    ]
                ])
        }
        for required in ["method", "app_key", "timestamp", "sign", "sign_method", "v", "format"] where p[required] == nil {
            return gatewayError(40, "Missing required arguments:\(required)", "isv.missing-parameter:\(required)", "缺少参数\(required)")
        }
        guard p["app_key"] == c.appKey else {
            return gatewayError(29, "Invalid app Key", "isv.appkey-not-exists", "app_key不存在")
        }
        guard p["method"] == "wdt.stockin.order.query" else {
            return gatewayError(22, "Invalid method", "isv.invalid-method", "不支持的方法 \(p["method"] ?? "")")
        }
        guard p["sign_method"] == "md5", p["format"] == "json", p["v"] == "2.0" else {
            return gatewayError(41, "Invalid arguments:sign_method/format/v", "isv.invalid-parameter", "需要 sign_method=md5, format=json, v=2.0")
        }
        guard let stamp = p["timestamp"].flatMap(WDTTime.init),
            abs(stamp.unixSeconds - WDTTime(now()).unixSeconds) <= Int64(configuration.maxTimestampSkewSeconds)
        else {
            return gatewayError(43, "Invalid timestamp", "isv.invalid-timestamp", "时间戳错误，与服务器时间相差超过5分钟")
        }
        guard p["sign"] == WDTSignature.qimen(p, secret: c.appSecret) else {
            return gatewayError(25, "Invalid signature", "isv.invalid-signature", "签名错误")
        }
        guard p["target_app_key"] == c.targetAppKey else {
            return gatewayError(29, "Invalid target app Key", "isv.target-appkey-not-exists", "target_app_key无权限")
        }
        guard p["sid"] == c.sid else {
            lock.withLock { stats.rejections += 1 }
            return json(["response": ["errorcode": 100, "message": "sid is not exists: 卖家账号不存在或无权限"]])
        }
        switch page(p) {
        case .failure(let message):
            lock.withLock { stats.rejections += 1 }
            return json(["response": ["errorcode": 100, "message": .string(message)]])
        case .success(let total, let orders):
            return json(
                [
                    "response": [
                        "errorcode": 0, "message": "", "total_count": .string(String(total)),
                        "stockin_list": .array(orders),
                    ]
                ])
        }
    }

    private func serveOpenAPI(_ p: [String: String]) -> SandboxHTTPResponse {
        let c = configuration.credentials
        func failure(_ code: Int, _ message: String) -> SandboxHTTPResponse {
            lock.withLock { if code == 1010 { stats.signatureFailures += 1 } else { stats.rejections += 1 } }
            return json(["code": .number(String(code)), "message": .string(message + echo(p))])
        }
        for required in ["sid", "appkey", "timestamp", "sign"] where p[required] == nil {
            return failure(100, "缺少公共参数 \(required)")
        }
        guard p["sid"] == c.sid, p["appkey"] == c.appKey else {
            return failure(1090, "卖家账号(sid)不存在或appkey无权限")
        }
        guard let seconds = p["timestamp"].flatMap({ Int64($0) }),
            abs(seconds - WDTTime(now()).unixSeconds) <= Int64(configuration.maxTimestampSkewSeconds)
        else {
            return failure(1030, "时间戳错误，与服务器时间误差超过5分钟")
        }
        guard p["sign"] == WDTSignature.openAPI(p, secret: c.appSecret, counting: configuration.lengthCounting) else {
            return failure(1010, "签名错误")
        }
        switch page(p) {
        case .failure(let message):
            return failure(100, message)
        case .success(let total, let orders):
            return json(["code": 0, "message": "", "total_count": .number(String(total)), "stockin_list": .array(orders)])
        }
    }

    private func frequencyLimited(_ transport: WDTTransport) -> SandboxHTTPResponse {
        switch transport {
        case .qimen:
            // Alternate the two shapes a Qimen frequency limit can take.
            let (useGateway, seconds) = lock.withLock { () -> (Bool, Int) in
                let gateway = stats.frequencyLimitFaults % 2 == 0
                // The gateway announces a ban: requests before it ends are violations.
                if gateway { bannedUntil = Date().addingTimeInterval(TimeInterval(faults.banSeconds)) }
                return (gateway, faults.banSeconds)
            }
            if useGateway {
                return json(
                    [
                        "error_response": [
                            "code": 7, "msg": "App Call Limited",
                            "sub_code": "accesscontrol.limited-by-app-access-count",
                            "sub_msg": .string("This ban will last for \(seconds) more seconds"),
                        ]
                    ])
            }
            return json(
                [
                    "response": [
                        "flag": "failure", "code": "100", "message": "超过每分钟最大调用频率限制，请稍后重试",
                        "sub_code": "wdt.frequency-limit", "sub_message": "请稍后重试",
                    ]
                ])
        case .openAPI:
            return json(["code": 1012, "message": "接口调用频率超限，请稍后重试"])
        }
    }

    /// With `echoRequests`, the request's parameters as a gateway with debugging on adds them to an error
    /// message (` 请求参数：k=v&…`, sorted); otherwise nothing.
    private func echo(_ parameters: [String: String]) -> String {
        guard lock.withLock({ faults.echoRequests }) else { return "" }
        return " 请求参数：" + parameters.keys.sorted().map { "\($0)=\(parameters[$0] ?? "")" }.joined(separator: "&")
    }

    enum PageResult {
        case success(total: Int, orders: [FerryCore.JSONValue])
        case failure(String)
    }

    /// Applies WDT's business rules to a page request and serves it.
    private func page(_ p: [String: String]) -> PageResult {
        guard let startText = p["start_time"], let endText = p["end_time"] else {
            return .failure("start_time 和 end_time 必须传")
        }
        guard let start = WDTTime(startText), let end = WDTTime(endText) else {
            return .failure("Unparseable date: \(WDTTime(startText) == nil ? startText : endText)（格式 yyyy-MM-dd HH:mm:ss）")
        }
        guard start <= end else { return .failure("参数错误：start_time 晚于 end_time") }
        guard end.unixSeconds - start.unixSeconds <= 30 * 86400 else {
            return .failure("您的查询时间过宽,查询时间不能大于30天")
        }
        let pageSize = Int(p["page_size"] ?? "40") ?? -1
        guard (1...100).contains(pageSize) else { return .failure("参数错误：page_size 必须在 1~100 之间") }
        guard let pageNo = Int(p["page_no"] ?? "0"), pageNo >= 0 else { return .failure("参数错误：page_no 必须 ≥ 0") }
        var statuses: Set<Int> = [80]
        if let text = p["status"], !text.isEmpty {
            // "按照状态查询时必须传原单据类别" (the API's description of `status`).
            guard let types = p["order_type"], !types.isEmpty else { return .failure("按照状态查询时必须传原单据类别(order_type)") }
            let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.contains(nil) else { return .failure("状态应该是由逗号分隔开的整数数组") }
            statuses = Set(parts.compactMap { $0 })
        }
        var orderTypes: Set<Int>?
        if let text = p["order_type"], !text.isEmpty {
            let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.contains(nil) else { return .failure("参数错误：order_type 应为整数") }
            orderTypes = Set(parts.compactMap { $0 })
        }
        let filter = WDTOrderFilter(
            start: start, end: end, statuses: statuses, orderTypes: orderTypes,
            warehouseNo: p["warehouse_no"].flatMap { $0.isEmpty ? nil : $0 })
        let modify = lock.withLock {
            faults.modifyBetweenPagesWithin.map { $0.lowerBound <= end && start <= $0.upperBound } ?? true
                && fires(faults.modifyBetweenPages, "modify")
        }
        if modify, dataset.modifyEarliest(matching: filter) != nil {
            lock.withLock { stats.modifications += 1 }
        }
        if pageNo == 0 { moveAcrossWindowsIfDue(into: filter) }
        let all = dataset.orders(matching: filter)
        let from = min(all.count, pageNo * pageSize)
        let to = min(all.count, from + pageSize)
        var orders = Array(all[from..<to])
        let duplicate = lock.withLock { () -> Bool in
            stats.pagesServed += 1
            guard !orders.isEmpty, fires(faults.duplicateRows, "duplicate") else { return false }
            stats.duplicatedRows += 1
            return true
        }
        if duplicate, let last = orders.last { orders.append(last) }
        return .success(total: all.count, orders: orders)
    }

    /// The `moveAcrossWindows` fault: remembers the first window served; at page 0 of the first later
    /// window, moves the first window's earliest order into it (before its `total_count` is counted).
    private func moveAcrossWindowsIfDue(into filter: WDTOrderFilter) {
        let first: WDTOrderFilter? = lock.withLock {
            guard faults.moveAcrossWindows, stats.movedAcrossWindows.isEmpty else { return nil }
            guard let first = firstWindow else {
                firstWindow = filter
                return nil
            }
            return filter.start > first.end ? first : nil
        }
        guard let first, let moved = dataset.orders(matching: first).first?["stockin_no"]?.stringValue else { return }
        dataset.modify(moved, at: filter.start)
        lock.withLock { stats.movedAcrossWindows.append(moved) }
    }

    // MARK: - HTTP helpers

    private func headers() -> [(name: String, value: String)] {
        [("Content-Type", "application/json;charset=utf-8"), ("Date", Self.httpDate(now()))]
    }

    private func json(_ value: FerryCore.JSONValue) -> SandboxHTTPResponse {
        SandboxHTTPResponse(status: 200, headers: headers(), body: JSONWriter(style: .compact).bytes(value))
    }

    static func httpDate(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = Int(seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400)
        let rest = Int(seconds - Int64(days) * 86400)
        let (y, m, d) = WDTDataset.civil(days)
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][((days % 7) + 7) % 7]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func p2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(weekday), \(p2(d)) \(months[m - 1]) \(y) \(p2(rest / 3600)):\(p2(rest % 3600 / 60)):\(p2(rest % 60)) GMT"
    }

    /// Decodes `application/x-www-form-urlencoded` (`+` is a space).
    static func parseForm(_ text: String) -> [(String, String)] {
        text.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = decode(parts[0]) else { return nil }
            return (key, parts.count > 1 ? decode(parts[1]) ?? "" : "")
        }
    }

    static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}

extension WDTDataset {
    /// Year, month, day of a day count since 1970-01-01 (UTC), for HTTP dates.
    static func civil(_ days: Int) -> (Int, Int, Int) {
        // Borrow the calendar arithmetic through a WDTTime at UTC midnight minus the Shanghai offset.
        let time = WDTTime(unixSeconds: Int64(days) * 86400 - WDTTime.shanghaiOffset)
        let text = time.description  // yyyy-MM-dd 00:00:00 in Shanghai = that UTC day
        let parts = text.prefix(10).split(separator: "-").compactMap { Int($0) }
        return (parts[0], parts[1], parts[2])
    }
}
