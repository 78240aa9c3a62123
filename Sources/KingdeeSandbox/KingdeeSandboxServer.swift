import FerryCore
import FerryKingdee
import Foundation
import SandboxHTTP

/// A loopback 金蝶云星空 Web API for tests, `ferry demo` and `ferry sandbox`.
///
/// Serves `POST {baseURL}<Service>.common.kdsvc` for `AuthService.ValidateUser`,
/// `AuthService.LoginByAppSecret`, `DynamicFormService.Save`, `BatchSave`, `ExecuteBillQuery`, `Submit` and
/// `Audit`
/// (service names are matched case-insensitively; bodies may use named properties or the positional
/// `parameters` array, and `data` may be an object or a JSON string, as the SDKs send them).
///
/// Authentication: a live `kdservice-sessionid` (cookie or header) is enough; otherwise the SDK
/// signature headers are verified with the same algorithm as the official SDK (so the official SDK can
/// talk to it) and a new session is issued in `Set-Cookie`. Sessions expire after
/// `sessionLifetime` without use. Signature headers for another 账套 id are answered HTTP 500 `Fail to verify
/// thirty passport`, as Kingdee does. A call without either answers MsgCode 1, and, as Kingdee does, sets a
/// new `kdservice-sessionid` cookie with it that has no session behind it (an empty shell).
///
/// BatchSave checks every model against the master data and the required fields (FBillNo, FBillTypeID,
/// FStockOrgId, FDate, FEntity with FMATERIALID, FSTOCKID, FQty), rejects a bill number that exists (in the
/// same organisation with `numbersPerOrganization`), saves the rest one by one, and answers per model by
/// DIndex (relative to the sub-batch when `BatchCount` is set; see `KingdeeBatchLayout`). Messages follow Kingdee's style, always naming the bill:
/// `单据编号为“RK1”的其他入库单，第1行分录，物料编码“9.99.999”不存在` (FieldName `FMATERIALID`, MsgCode 11);
/// `单据编号为“RK1”的其他入库单已经存在，单据编号不允许重复` (FieldName `FBillNo`);
/// `单据编号为“RK1”的其他入库单，字段“仓库”是必录项` (first entry line named as `第1行分录`).
///
/// Submit and Audit take `Ids` (`"1,2"`, FIDs) or `Numbers` and answer per bill by DIndex (its position in
/// the list used; a number that more than one organisation uses names every bill with it): Submit
/// needs FDocumentStatus A (or Z, D) and makes it B; Audit needs B and makes it C. Otherwise the bill's
/// error says why (`单据已审核，不允许审核`, `状态不正确（未提交），不能审核`). A bill with negative stock
/// (`KingdeeSandboxFaults.negativeStockBills`) is refused on Audit unless `InterationFlags` has
/// `STK_InvCheckResult`.
public final class KingdeeSandboxServer: @unchecked Sendable {
    /// The bills, sessions and counters, and the master data and faults to change at run time.
    public let store: KingdeeSandboxStore
    /// The configuration it started with (credentials, session lifetime).
    public let configuration: KingdeeSandboxConfiguration
    /// The site URL to put in `target.url`, such as `http://127.0.0.1:41234/k3cloud/`.
    public let baseURL: String
    /// The port it listens on.
    public let port: UInt16
    private let server: SandboxHTTPServer

    private init(store: KingdeeSandboxStore, configuration: KingdeeSandboxConfiguration, server: SandboxHTTPServer) {
        self.store = store
        self.configuration = configuration
        self.server = server
        self.port = server.port
        self.baseURL = "http://127.0.0.1:\(server.port)/k3cloud/"
    }

    /// Starts a sandbox on 127.0.0.1.
    ///
    /// - Parameters:
    ///   - port: the port, or 0 for any free one.
    ///   - configuration: credentials, master data, faults.
    /// - Returns: the running server.
    /// - Throws: when the socket cannot be opened.
    public static func start(port: UInt16 = 0, configuration: KingdeeSandboxConfiguration = .init()) async throws
        -> KingdeeSandboxServer
    {
        let store = KingdeeSandboxStore(configuration: configuration)
        let handler = SandboxHandler(store: store, configuration: configuration)
        let server = try await SandboxHTTPServer.start(port: port) { request in
            guard request.method == "POST" else {
                return SandboxHTTPResponse(status: 405, headers: [("Content-Type", "text/plain")], body: Array("POST only".utf8))
            }
            return await handler.handle(request)
        }
        return KingdeeSandboxServer(store: store, configuration: configuration, server: server)
    }

    /// The `KINGDEE_*` environment variables a workspace's ferry.yaml reads, pointing at this sandbox.
    public var environment: [String: String] {
        [
            "KINGDEE_URL": baseURL, "KINGDEE_ACCT_ID": configuration.acctID, "KINGDEE_USERNAME": configuration.username,
            "KINGDEE_APP_ID": configuration.appID, "KINGDEE_APP_SECRET": configuration.appSecret,
            "KINGDEE_PASSWORD": configuration.password,
        ]
    }

    /// Changes the master data (e.g. adds the material that was missing).
    public func updateMasterData(_ change: (inout KingdeeSandboxMasterData) -> Void) { store.updateMasterData(change) }

    /// Changes the faults.
    public func updateFaults(_ change: (inout KingdeeSandboxFaults) -> Void) { store.updateFaults(change) }

    /// Stops the server at once (open keep-alive connections are closed).
    public func stop() async {
        await server.stop()
    }
}

/// The request handling of the sandbox.
struct SandboxHandler: Sendable {
    let store: KingdeeSandboxStore
    let configuration: KingdeeSandboxConfiguration
    static let formID = "STK_MISCELLANEOUS"

    func handle(_ request: SandboxHTTPRequest) async -> SandboxHTTPResponse {
        let received = request.received
        let last = request.path.split(separator: "/").last.map(String.init) ?? ""
        guard last.lowercased().hasSuffix(".common.kdsvc") else { return text(404, "not a Kingdee service: \(request.path)") }
        let service = String(last.dropLast(".common.kdsvc".count))
        let operation = service.split(separator: ".").last.map(String.init) ?? service
        store.count(operation)
        for name in [KingdeeSignature.Header.signature, KingdeeSignature.Header.kdSignature] {
            if let value = request.header(name), !value.isEmpty { store.received(signature: value) }
        }
        let body: JSONValue
        do {
            body = try JSONReader.parse(request.body)
        } catch {
            return text(500, "response_error:请求数据包不是有效的JSON")
        }
        switch operation.lowercased() {
        case "validateuser": return validateUser(body, request: request)
        case "loginbyappsecret": return loginByAppSecret(body, request: request)
        case "save", "batchsave", "executebillquery", "submit", "audit":
            return await dynamicForm(operation.lowercased(), request: request, body: body, received: received)
        default:
            return json(status(success: false, msgCode: 4, errors: [
                .init(fieldName: nil, message: "沙箱不支持的服务：\(service)", dIndex: nil),
            ]))
        }
    }

    // MARK: - Login

    private func validateUser(_ body: JSONValue, request: SandboxHTTPRequest) -> SandboxHTTPResponse {
        let acct = argument(body, ["acctID", "acctid"], 0)
        let user = argument(body, ["username", "userName"], 1)
        let password = argument(body, ["password"], 2)
        guard acct == configuration.acctID else { return loginRefused(-1, "数据中心不存在或未启用", request) }
        guard user == configuration.username, password == configuration.password, !store.credentialsRevoked else {
            return loginRefused(0, "用户名或密码错误！", request)
        }
        return loginSuccess()
    }

    private func loginByAppSecret(_ body: JSONValue, request: SandboxHTTPRequest) -> SandboxHTTPResponse {
        let acct = argument(body, ["acctid", "acctID"], 0)
        let user = argument(body, ["username", "userName"], 1)
        let appID = argument(body, ["appid", "appId"], 2)
        let secret = argument(body, ["appsecret", "appSecret"], 3)
        guard acct == configuration.acctID else { return loginRefused(-1, "数据中心不存在或未启用", request) }
        guard user == configuration.username, appID == configuration.appID, secret == configuration.appSecret,
            !store.credentialsRevoked
        else {
            return loginRefused(-1, "第三方系统登录授权验证失败，请检查应用ID、应用密钥与用户", request)
        }
        return loginSuccess()
    }

    private func loginSuccess() -> SandboxHTTPResponse {
        let sid = store.newSession(lifetime: configuration.sessionLifetime)
        let answer: JSONValue = [
            "Message": .null, "MessageCode": "CheckPasswordPolicy", "LoginResultType": 1,
            "Context": ["UserName": .string(configuration.username), "DBid": .string(configuration.acctID), "SessionId": .string(sid)],
            "KDSVCSessionId": .string(sid), "IsSuccessByAPI": true,
        ]
        return json(answer, sessionID: sid)
    }

    /// A refused login: `LoginResultType` `type`, or with `echoRequests` an error page that repeats the request.
    private func loginRefused(_ type: Int, _ message: String, _ request: SandboxHTTPRequest) -> SandboxHTTPResponse {
        if store.faults.echoRequests {
            store.injected("echoed_request")
            return text(500, "服务器内部错误：\(message) " + echo(request))
        }
        return loginAnswer(type, message)
    }

    /// The request as a debugging error page shows it: its body and its headers (the session and the
    /// signatures first among them), in that order or, with `headersFirst`, the other way round.
    private func echo(_ request: SandboxHTTPRequest, headersFirst: Bool = false) -> String {
        func sensitive(_ name: String) -> Bool {
            ["session", "cookie", "signature"].contains { name.lowercased().contains($0) }
        }
        let headers = request.headers.filter { sensitive($0.name) } + request.headers.filter { !sensitive($0.name) }
        let head = "请求头：" + headers.map { "\($0.name): \($0.value)" }.joined(separator: "; ")
        let body = "请求：" + String(decoding: request.body.prefix(2048), as: UTF8.self)
        return headersFirst ? head + " " + body : body + " " + head
    }

    private func loginAnswer(_ type: Int, _ message: String) -> SandboxHTTPResponse {
        json(["Message": .string(message), "LoginResultType": .number(String(type)), "KDSVCSessionId": .null, "IsSuccessByAPI": false])
    }

    // MARK: - DynamicFormService

    private func dynamicForm(_ operation: String, request: SandboxHTTPRequest, body: JSONValue, received: ContinuousClock.Instant) async
        -> SandboxHTTPResponse
    {
        // Authenticate: a live session, or valid signature headers (which open a session).
        var issued: String?
        let presented = request.header(KingdeeClient.sessionCookieName)
            ?? request.header("Cookie").flatMap { cookieValue($0, KingdeeClient.sessionCookieName) }
        if store.credentialsRevoked {
            return json(sessionLost(), sessionID: store.shellSession())
        } else if let presented, store.touchSession(presented, lifetime: configuration.sessionLifetime) {
            // a live session
        } else if let acct = signedAcctID(request), acct != configuration.acctID {
            // Kingdee's answer to a signature for a 账套 it does not have: not 200, not JSON.
            return text(500, "Fail to verify thirty passport")
        } else if verifySignature(request) {
            issued = store.newSession(lifetime: configuration.sessionLifetime)
        } else {
            return json(sessionLost(), sessionID: store.shellSession())
        }

        let call = store.nextCall()
        let faults = store.faults
        // The latency counts from when the request was received, reading and parsing its body included.
        if faults.latency > .zero { try? await Task.sleep(until: received + faults.latency, tolerance: .zero, clock: .continuous) }
        func every(_ n: Int) -> Bool { n > 0 && call % n == 0 }
        if every(faults.sessionLossEvery) {
            store.injected("session_loss")
            store.expireAllSessions()
            return json(sessionLost(), sessionID: store.shellSession())
        }
        if every(faults.callLimitEvery) {
            store.injected("call_limit")
            return json(status(success: false, msgCode: 14, errors: [
                .init(fieldName: nil, message: "接口调用超出限制（调用限制），请稍后再试", dIndex: faults.wholeCallErrorsAtDIndexZero ? 0 : nil),
            ]), sessionID: issued)
        }
        let isSave = operation == "save" || operation == "batchsave"
        let saveCall = isSave ? store.nextSaveCall() : 0
        func everySave(_ n: Int) -> Bool { isSave && n > 0 && saveCall % n == 0 }
        if isSave && saveCall == faults.revokeCredentialsAtSave {
            store.injected("credentials_revoked")
            store.revokeCredentials()
            return json(sessionLost(), sessionID: store.shellSession())
        }
        if everySave(faults.http500Every) || (isSave && faults.http500At.contains(saveCall)) {
            store.injected("http500")
            if faults.echoRequests {
                return text(500, "服务器内部错误：Ferry 沙箱注入的 HTTP 500 故障（未保存任何单据） " + echo(request, headersFirst: true))
            }
            return text(500, "服务器内部错误：Ferry 沙箱注入的 HTTP 500 故障（未保存任何单据）")
        }
        if everySave(faults.slowSaveEvery) { try? await Task.sleep(for: faults.slowSaveDelay) }
        switch operation {
        case "submit", "audit":
            let hold = store.takeStepHold(audit: operation == "audit")
            if let hold, !hold.afterWork {
                store.injected("held_step")
                await store.holdStep()
                if hold.answerOnRelease { return json(billStep(operation == "submit", body: body), sessionID: issued) }
                return .dropped(headers: [("Content-Type", "application/json; charset=utf-8")], promisedBytes: 4096)
            }
            if hold != nil {
                _ = billStep(operation == "submit", body: body)
                store.injected("held_step")
                await store.holdStep()
                return .dropped(headers: [("Content-Type", "application/json; charset=utf-8")], promisedBytes: 4096)
            }
            let stepCall = store.nextStepCall()
            if faults.lateStepWorkAt.contains(stepCall) {
                store.injected("late_step_work")
                Task { [self] in
                    try? await Task.sleep(for: faults.lateStepWorkDelay)
                    _ = billStep(operation == "submit", body: body)
                }
                return .dropped(headers: [("Content-Type", "application/json; charset=utf-8")], promisedBytes: 4096)
            }
            let answer = billStep(operation == "submit", body: body)
            if faults.dropStepAnswerAt.contains(stepCall) || (faults.dropStepAnswerEvery > 0 && stepCall % faults.dropStepAnswerEvery == 0) {
                store.injected("lost_step_response")
                return .dropped(headers: [("Content-Type", "application/json; charset=utf-8")], promisedBytes: 4096)
            }
            return json(answer, sessionID: issued)
        case "executebillquery":
            if faults.queryWithoutPermission {
                return json(.array([.array([status(success: false, msgCode: 2, errors: [
                    .init(fieldName: nil, message: "您没有该功能的操作权限", dIndex: 0),
                ])])]), sessionID: issued)
            }
            return json(executeBillQuery(body), sessionID: issued)
        default:
            let answer = save(operation == "save", body: body)
            if everySave(faults.dropAfterCommitEvery) || faults.dropAfterCommitAt.contains(saveCall) {
                store.injected("lost_response")
                return .dropped(headers: [("Content-Type", "application/json; charset=utf-8")], promisedBytes: 4096)
            }
            if faults.trickleAfterCommitAt.contains(saveCall) {
                store.injected("trickled_answer")
                var response = json(answer, sessionID: issued)
                response.trickleInterval = faults.trickleInterval
                return response
            }
            if faults.timeoutAfterCommitAt.contains(saveCall) {
                store.injected("timeout_after_commit")
                return json(status(success: false, msgCode: 0, errors: [
                    .init(fieldName: nil, message: "执行超时，事务已中止", dIndex: faults.wholeCallErrorsAtDIndexZero ? 0 : nil),
                ]), sessionID: issued)
            }
            return json(answer, sessionID: issued)
        }
    }

    /// The 账套 id in the `X-Kd-Appdata` header, if there is one.
    private func signedAcctID(_ request: SandboxHTTPRequest) -> String? {
        guard let appData = request.header(KingdeeSignature.Header.appData).flatMap({ Data(base64Encoded: $0) }) else {
            return nil
        }
        return String(decoding: appData, as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false).first.map(String.init)
    }

    private func verifySignature(_ request: SandboxHTTPRequest) -> Bool {
        func header(_ name: String) -> String? { request.header(name) }
        guard let timestamp = header(KingdeeSignature.Header.timestamp),
            let appKey = header(KingdeeSignature.Header.appKey), appKey == configuration.appID,
            let appDataB64 = header(KingdeeSignature.Header.appData),
            let appDataBytes = Data(base64Encoded: appDataB64),
            let signature = header(KingdeeSignature.Header.signature),
            let kdSignature = header(KingdeeSignature.Header.kdSignature)
        else { return false }
        let appData = String(decoding: appDataBytes, as: UTF8.self)
        let parts = appData.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, parts[0] == configuration.acctID, parts[1] == configuration.username else { return false }
        let identity = KingdeeSignature.Identity(
            acctID: parts[0], username: parts[1], appID: appKey, appSecret: configuration.appSecret,
            lcid: Int(parts[2]) ?? 2052, orgNumber: parts[3])
        // The path as the client saw it: the request path (the SDK signs everything after the host).
        let expected = KingdeeSignature.headers(url: "http://sandbox.local" + request.path, identity: identity, timestamp: timestamp)
        let byName = Dictionary(expected, uniquingKeysWith: { a, _ in a })
        return byName[KingdeeSignature.Header.signature] == signature
            && byName[KingdeeSignature.Header.kdSignature] == kdSignature
    }

    private func sessionLost() -> JSONValue {
        status(success: false, msgCode: 1, errors: [.init(fieldName: nil, message: "会话信息已丢失，请重新登录", dIndex: 0)])
    }

    // MARK: - Save / BatchSave

    private func save(_ single: Bool, body: JSONValue) -> JSONValue {
        let data: JSONValue
        switch formData(body) {
        case .success(let value): data = value
        case .failure(let refusal): return refusal.answer
        }
        let models: [JSONValue]
        if single {
            guard let model = data["Model"], model.objectValue != nil else {
                return status(success: false, msgCode: 8, errors: [.init(fieldName: nil, message: "Model 数据包不能为空", dIndex: nil)])
            }
            models = [model]
        } else {
            models = data["Model"]?.arrayValue ?? []
            if models.isEmpty {
                return status(success: false, msgCode: 8, errors: [.init(fieldName: nil, message: "Model 数据包不能为空", dIndex: nil)])
            }
        }
        let faults = store.faults
        let numbers = models.compactMap { $0["FBillNo"]?.scalarText }
        if numbers.contains(where: faults.unattributedErrorBills.contains) {
            return status(success: false, msgCode: 11, errors: [
                .init(fieldName: nil, message: "保存失败：对象引用未设置到对象的实例。", dIndex: faults.wholeCallErrorsAtDIndexZero ? 0 : nil),
            ])
        }
        let batchCount = single ? nil : data["BatchCount"]?.scalarText.flatMap { Int($0) }
        var layout = KingdeeBatchLayout.subBatches(count: models.count, batchCount: batchCount)
        if faults.reverseSubBatches { layout.reverse() }
        let master = store.masterData
        var errors: [KingdeeResponseStatus.ErrorEntry] = []
        var successes: [KingdeeResponseStatus.SuccessEntry] = []
        for range in layout {
            for index in range {
                let dIndex = index - range.lowerBound
                let problems = validate(models[index], master: master)
                if !problems.isEmpty {
                    errors += problems.map { .init(fieldName: $0.field, message: $0.message, dIndex: dIndex) }
                    continue
                }
                let number = models[index]["FBillNo"]?.scalarText ?? ""
                if let saved = store.commit(number: number, formID: Self.formID, model: models[index], renumber: faults.renumberBills) {
                    let reported = (faults.shiftSuccessDIndex && range.count > 1 ? (dIndex + 1) % range.count : dIndex)
                        &+ faults.successDIndexOffset
                    successes.append(.init(id: .number(String(saved.id)), number: saved.number, dIndex: reported))
                } else {
                    errors.append(.init(
                        fieldName: "FBillNo", message: "单据编号为“\(number)”的其他入库单已经存在，单据编号不允许重复", dIndex: dIndex))
                }
            }
        }
        var result = status(success: errors.isEmpty, msgCode: errors.isEmpty ? 0 : 11, errors: errors, successes: successes)
        if single, let first = successes.first, case .object(var outer) = result, case .object(var inner)? = outer["Result"] {
            inner.append("Id", first.id)
            inner.append("Number", .string(first.number))
            outer.set("Result", .object(inner))
            result = .object(outer)
        }
        return result
    }

    private struct Problem {
        var field: String
        var message: String
    }

    private func validate(_ model: JSONValue, master: KingdeeSandboxMasterData) -> [Problem] {
        guard let bill = model.objectValue else { return [Problem(field: "Model", message: "Model 数据包格式不正确")] }
        var problems: [Problem] = []
        guard let number = bill["FBillNo"]?.scalarText, !number.isEmpty else {
            return [Problem(field: "FBillNo", message: "其他入库单，字段“单据编号”是必录项")]
        }
        let prefix = "单据编号为“\(number)”的其他入库单，"
        func reference(_ value: JSONValue?) -> String? {
            guard let value else { return nil }
            if let object = value.objectValue {
                return (object["FNumber"] ?? object["FNUMBER"] ?? object["Fnumber"])?.scalarText
            }
            return value.scalarText
        }
        func check(_ key: String, _ label: String, _ known: Set<String>, required: Bool, line: Int? = nil, in object: JSONObject) {
            let at = line.map { "第\($0)行分录，" } ?? ""
            guard let code = reference(object[key]), !code.isEmpty else {
                if required { problems.append(Problem(field: key, message: prefix + at + "字段“\(label)”是必录项")) }
                return
            }
            if !known.contains(code) {
                problems.append(Problem(field: key, message: prefix + at + "\(label)编码“\(code)”不存在"))
            }
        }
        check("FBillTypeID", "单据类型", master.billTypes, required: true, in: bill)
        check("FStockOrgId", "库存组织", master.organizations, required: true, in: bill)
        check("FOwnerIdHead", "货主", master.organizations, required: false, in: bill)
        if let date = bill["FDate"]?.scalarText, !date.isEmpty {
            if !Self.isDate(date) { problems.append(Problem(field: "FDate", message: prefix + "日期“\(date)”格式不正确")) }
        } else {
            problems.append(Problem(field: "FDate", message: prefix + "字段“日期”是必录项"))
        }
        let entries = bill["FEntity"]?.arrayValue ?? []
        if entries.isEmpty {
            problems.append(Problem(field: "FEntity", message: prefix + "单据体“明细”至少需要一行分录"))
        }
        for (i, entry) in entries.enumerated() {
            guard let line = entry.objectValue else { continue }
            check("FMATERIALID", "物料", master.materials, required: true, line: i + 1, in: line)
            check("FSTOCKID", "仓库", master.stocks, required: true, line: i + 1, in: line)
            check("FSTOCKSTATUSID", "库存状态", master.stockStatuses, required: false, line: i + 1, in: line)
            check("FOWNERID", "货主", master.organizations, required: false, line: i + 1, in: line)
            check("FKEEPERID", "保管者", master.organizations, required: false, line: i + 1, in: line)
            if let qty = line["FQty"]?.scalarText {
                if let value = ExactDecimal(qty), !value.isNegative, !value.isZero {
                } else {
                    problems.append(Problem(field: "FQty", message: prefix + "第\(i + 1)行分录，实收数量“\(qty)”必须大于0"))
                }
            } else {
                problems.append(Problem(field: "FQty", message: prefix + "第\(i + 1)行分录，字段“实收数量”是必录项"))
            }
        }
        return problems
    }

    static func isDate(_ text: String) -> Bool {
        let chars = Array(text.prefix(10))
        guard chars.count == 10, chars[4] == "-", chars[7] == "-" else { return false }
        return chars.enumerated().allSatisfy { i, c in i == 4 || i == 7 || c.isASCII && c.isNumber }
    }

    // MARK: - Submit / Audit

    /// The negative-stock prompt of an Audit, as Kingdee words it.
    static let negativeStockMessage = "更新库存时出现可以忽略的异常数据，是否继续？"

    private func billStep(_ submit: Bool, body: JSONValue) -> JSONValue {
        let data: JSONValue
        switch formData(body) {
        case .success(let value): data = value
        case .failure(let refusal): return refusal.answer
        }
        // `Ids` ("1,2", Kingdee's FIDs) when given, else `Numbers`; DIndex is the position in the one used.
        let ids = (data["Ids"]?.scalarText ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let names = ids.isEmpty ? (data["Numbers"]?.arrayValue ?? []).compactMap(\.scalarText) : ids
        guard !names.isEmpty else {
            return status(success: false, msgCode: 8, errors: [.init(fieldName: nil, message: "Numbers 和 Ids 不能同时为空", dIndex: nil)])
        }
        let flags = Set((data["InterationFlags"]?.scalarText ?? "").split(separator: ";").map {
            $0.trimmingCharacters(in: .whitespaces)
        })
        let faults = store.faults
        var errors: [KingdeeResponseStatus.ErrorEntry] = []
        var successes: [KingdeeResponseStatus.SuccessEntry] = []
        var codes: Set<Int> = []
        for (index, name) in names.enumerated() {
            // A number names every bill that has it (Numbers carry no organisation); an id names one.
            var targets = ids.isEmpty ? store.ids(numbered: name) : Int(name).map { [$0] } ?? []
            if targets.isEmpty { targets = [-1] }
            for id in targets {
                let result = store.step(submit, id: id, name: name) { bill in
                    guard !submit, !flags.contains("STK_InvCheckResult") else { return nil }
                    let negative = faults.negativeStockBills.contains(bill.number)
                        || (faults.negativeStockEvery > 0 && bill.id % faults.negativeStockEvery == 0)
                    return negative ? "单据编号为“\(bill.number)”的其他入库单，" + Self.negativeStockMessage : nil
                }
                switch result {
                case .success(let bill): successes.append(.init(id: .number(String(bill.id)), number: bill.number, dIndex: index))
                case .failure(let refusal):
                    codes.insert(refusal.msgCode)
                    errors.append(.init(fieldName: nil, message: refusal.message, dIndex: index))
                }
            }
        }
        return status(success: errors.isEmpty, msgCode: errors.isEmpty ? 0 : (codes.count == 1 ? codes.first! : 11),
                      errors: errors, successes: successes)
    }

    // MARK: - ExecuteBillQuery

    private func executeBillQuery(_ body: JSONValue) -> JSONValue {
        guard let data = dataArgument(body, position: 0) else {
            return .array([.array([status(success: false, msgCode: 8, errors: [
                .init(fieldName: nil, message: "data 数据包不能为空", dIndex: nil),
            ])])])
        }
        let formID = data["FormId"]?.scalarText ?? ""
        guard formID.uppercased() == Self.formID else {
            return .array([.array([status(success: false, msgCode: 4, errors: [
                .init(fieldName: nil, message: "标识为“\(formID)”的业务对象不存在，或者被删除", dIndex: nil),
            ])])])
        }
        let keys = (data["FieldKeys"]?.scalarText ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !keys.isEmpty else {
            return .array([.array([status(success: false, msgCode: 8, errors: [
                .init(fieldName: nil, message: "data 数据包中的参数 FieldKeys 的值不能为空", dIndex: nil),
            ])])])
        }
        let filter = data["FilterString"]?.scalarText ?? ""
        let bills: [KingdeeSandboxStore.Bill]
        if let ids = Self.idValues(filter) {
            bills = store.bills.filter { ids.contains($0.id) }
        } else {
            let wanted = Self.quotedValues(filter)
            bills = store.bills.filter { wanted == nil || wanted!.contains($0.number) }
        }
        return .array(bills.map { bill in
            .array(keys.map { key -> JSONValue in
                switch key.lowercased() {
                case "fid": return .number(String(bill.id))
                case "fbillno": return .string(bill.number)
                case "fdocumentstatus": return .string(bill.documentStatus)
                default: return Self.field(key, of: bill.model)
                }
            })
        })
    }

    /// A head field of a saved model by its field key, any letter case: `FNOTE`, or a base-data
    /// reference's number as `FStockOrgId.FNumber`; null when the model has no such field.
    static func field(_ key: String, of model: JSONValue) -> JSONValue {
        var value = model
        for step in key.split(separator: ".") {
            guard let object = value.objectValue,
                let member = object.members.first(where: { $0.key.caseInsensitiveCompare(String(step)) == .orderedSame })
            else { return .null }
            value = member.value
        }
        return value.objectValue == nil && value.arrayValue == nil ? value : .null
    }

    /// The ids of `FID IN (1,2)` or `FID = 1`; `nil` when the filter is not on FID.
    static func idValues(_ filter: String) -> Set<Int>? {
        let text = filter.trimmingCharacters(in: .whitespaces)
        guard text.uppercased().hasPrefix("FID"), !text.uppercased().hasPrefix("FID.") else { return nil }
        let digits = text.dropFirst(3).split { !$0.isNumber }
        return Set(digits.compactMap { Int($0) })
    }

    /// The quoted values of `FBillNo IN ('a','b')` or `FBillNo = 'a'` (with `''` for a quote); `nil` when
    /// the filter is empty (everything).
    static func quotedValues(_ filter: String) -> Set<String>? {
        if filter.trimmingCharacters(in: .whitespaces).isEmpty { return nil }
        var values: Set<String> = []
        var chars = Array(filter)[...]
        while let open = chars.firstIndex(of: "'") {
            var value = ""
            var i = open + 1
            while i < chars.endIndex {
                if chars[i] == "'" {
                    if i + 1 < chars.endIndex && chars[i + 1] == "'" {
                        value.append("'")
                        i += 2
                        continue
                    }
                    break
                }
                value.append(chars[i])
                i += 1
            }
            values.insert(value)
            chars = chars[min(i + 1, chars.endIndex)...]
        }
        return values
    }

    // MARK: - Helpers

    private func argument(_ body: JSONValue, _ names: [String], _ position: Int) -> String? {
        for name in names { if let v = body[name]?.scalarText { return v } }
        if let parameters = body["parameters"]?.arrayValue ?? body.arrayValue, position < parameters.count {
            return parameters[position].scalarText
        }
        return nil
    }

    /// Why a Save/Submit/Audit body is refused before its data is looked at.
    private struct Refusal: Error {
        let answer: JSONValue
    }

    /// The `data` of a Save, Submit or Audit body for the sandbox's form, or Kingdee's answer refusing it
    /// (no data: MsgCode 8; another form id: MsgCode 4).
    private func formData(_ body: JSONValue) -> Result<JSONValue, Refusal> {
        let formID = argument(body, ["formid", "formId", "FormId"], 0) ?? ""
        guard let data = dataArgument(body, position: 1) else {
            return .failure(Refusal(answer: status(success: false, msgCode: 8, errors: [
                .init(fieldName: nil, message: "data 数据包不能为空", dIndex: nil),
            ])))
        }
        guard formID.uppercased() == Self.formID else {
            return .failure(Refusal(answer: status(success: false, msgCode: 4, errors: [
                .init(fieldName: nil, message: "标识为“\(formID)”的业务对象不存在，或者被删除", dIndex: nil),
            ])))
        }
        return .success(data)
    }

    private func dataArgument(_ body: JSONValue, position: Int) -> JSONValue? {
        var raw = body["data"]
        if raw == nil, let parameters = body["parameters"]?.arrayValue ?? body.arrayValue, position < parameters.count {
            raw = parameters[position]
        }
        if let text = raw?.stringValue { return try? JSONReader.parse(text) }
        return raw
    }

    private func cookieValue(_ header: String, _ name: String) -> String? {
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 && pair[0] == name { return String(pair[1]) }
        }
        return nil
    }

    private func status(
        success: Bool, msgCode: Int, errors: [KingdeeResponseStatus.ErrorEntry],
        successes: [KingdeeResponseStatus.SuccessEntry] = []
    ) -> JSONValue {
        let status = KingdeeResponseStatus(isSuccess: success, msgCode: msgCode, errors: errors, successes: successes)
        return ["Result": ["ResponseStatus": status.json]]
    }

    private func json(_ value: JSONValue, sessionID: String? = nil) -> SandboxHTTPResponse {
        var headers = [(name: "Content-Type", value: "application/json; charset=utf-8")]
        if let sessionID {
            headers.append(("Set-Cookie", "\(KingdeeClient.sessionCookieName)=\(sessionID); path=/; HttpOnly"))
        }
        return SandboxHTTPResponse(status: 200, headers: headers, body: JSONWriter(style: .compact).bytes(value))
    }

    private func text(_ code: Int, _ message: String) -> SandboxHTTPResponse {
        SandboxHTTPResponse(status: code, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array(message.utf8))
    }
}
