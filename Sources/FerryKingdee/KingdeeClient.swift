import AsyncHTTPClient
import FerryCore
import FerryHTTP
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Why a Kingdee call did not give an answer Ferry can use.
public enum KingdeeCallError: Error, Sendable, CustomStringConvertible {
    /// No complete answer (timeout, connection lost, HTTP error status, unreadable body). Kingdee may or
    /// may not have processed the request, so its documents are *in doubt*.
    case noAnswer(String)
    /// The request never reached Kingdee (connection refused, host not found): safe to send again.
    case notSent(String)
    /// Kingdee refused the call as a whole without processing it: session lost even after logging in
    /// again (MsgCode 1), call limit (MsgCode 14).
    case refused(msgCode: Int, message: String)
    /// Kingdee cannot be used as configured (login failed: wrong account, user, password, app id or
    /// secret; a 账套 id Kingdee does not know; a TLS certificate that fails verification; an invalid
    /// URL): the run cannot go on.
    case configuration(String)

    /// A one-line description without any secret.
    public var description: String {
        switch self {
        case .noAnswer(let text): return "no answer from Kingdee: \(text)"
        case .notSent(let text): return "cannot reach Kingdee: \(text)"
        case .refused(let code, let message): return "Kingdee refused the call (MsgCode \(code)): \(message)"
        case .configuration(let text): return text
        }
    }
}

/// A client for the 金蝶云星空 Web API (`…/<Service>.common.kdsvc`).
///
/// Holds one `kdservice-sessionid` and reuses it on every call (as a cookie and as the
/// `kdservice-sessionid` header, like the official SDKs). In `signature` mode every request also carries
/// the SDK signature headers; in `appsecret`/`password` mode the client logs in first. When Kingdee
/// answers MsgCode 1 (会话信息已丢失), the client drops the session, logs in again once and retries.
/// TLS certificates are verified unless `insecureTLS` is set. Never logs or returns a secret, a
/// signature or a session id, not even one that a server's answer repeats (`hiding`).
///
/// HTTP goes through one AsyncHTTPClient `HTTPClient` per client (SwiftNIO, on the process-wide event
/// loop group), HTTP/1.1 with a pool of keep-alive connections. Call `close()` when done.
public actor KingdeeClient {
    /// Service names used by Ferry.
    public enum Service {
        /// Login with user name and password.
        public static let validateUser = "Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser"
        /// Login with app id and app secret.
        public static let loginByAppSecret = "Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginByAppSecret"
        /// Save one bill.
        public static let save = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save"
        /// Save many bills in one request.
        public static let batchSave = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave"
        /// Query bills; answers rows of values.
        public static let executeBillQuery = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery"
        /// Submit saved bills (FDocumentStatus A → B).
        public static let submit = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Submit"
        /// Audit submitted bills (B → C).
        public static let audit = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Audit"
    }

    /// A workflow step on saved bills, with its service.
    public enum BillStep: String, Sendable, CaseIterable {
        /// `Submit`.
        case submit
        /// `Audit`.
        case audit

        /// The service name.
        public var service: String { self == .submit ? Service.submit : Service.audit }
        /// The FDocumentStatus a bill has once this step is done (B submitted, C audited).
        public var reachedStatus: String { self == .submit ? "B" : "C" }
    }

    /// The name of the session cookie and header.
    public static let sessionCookieName = "kdservice-sessionid"

    /// The largest answer read (ExecuteBillQuery answers at most 2000 rows; BatchSave one entry per model).
    static let maxAnswerBytes = 64 << 20

    private let config: KingdeeTargetConfig
    private let http: HTTPClient
    private let timeout: TimeAmount
    private var isClosed = false
    private var sessionID: String?
    private var loginTask: Task<String, any Error>?
    private let clock: @Sendable () -> Date
    /// Whether a certificate that fails verification may be fetched again to say why (not when a proxy
    /// carries the requests).
    private let probesCertificates: Bool
    /// The proxy requests go through, as messages name it (nil: direct).
    private let proxyRoute: String?
    /// Whether any call got a usable answer (so credentials work and a later MsgCode 1 is transient).
    public private(set) var hasWorked = false
    /// Calls refused with MsgCode 1 even after a fresh login or signature, since the last call that got a
    /// usable answer: a few in a row mean the credentials stopped working, not a lost session.
    public private(set) var refusalsInARow = 0

    /// Creates a client; nothing is sent until the first call.
    ///
    /// - Parameters:
    ///   - config: where and how to connect.
    ///   - environment: where `https_proxy`, `http_proxy` and `no_proxy` are read (as curl does).
    ///   - clock: the time used for signature timestamps (tests pass a fixed one).
    /// - Throws: `ProxyEnvironment.UnusableProxy` when the proxy variable that applies to `config.url` names
    ///   a proxy Ferry cannot use: going direct could fail confusingly, or send around a mandatory proxy.
    public init(
        config: KingdeeTargetConfig, environment: [String: String] = ProcessInfo.processInfo.environment,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) throws(ProxyEnvironment.UnusableProxy) {
        let setup = ClientSetup(timeoutSeconds: config.timeoutSeconds)
        http = try setup.makeClient(
            url: config.url, connectionsPerHost: max(1, config.concurrency) * 2 + 2, environment: environment,
            verifyCertificates: !config.insecureTLS)
        self.config = config
        self.clock = clock
        self.timeout = setup.timeout
        self.probesCertificates = (try? ProxyEnvironment.proxy(for: config.url, environment: environment)) == nil
        self.proxyRoute = ProxyEnvironment.route(for: config.url, environment: environment)
    }

    deinit {
        // A client dropped without `close()` (a test, an early return): shut its HTTPClient down anyway,
        // without waiting; AsyncHTTPClient asserts (debug builds) when one is deinitialised running.
        if !isClosed { http.shutdown { _ in } }
    }

    /// Shuts the HTTP client down (closing its connections); calls after this fail as not sent.
    public func close() async {
        guard !isClosed else { return }
        isClosed = true
        try? await http.shutdown()
    }

    /// The URL of a service on the configured site.
    public nonisolated func serviceURL(_ service: String) -> String {
        (config.url.hasSuffix("/") ? config.url : config.url + "/") + service + ".common.kdsvc"
    }

    // MARK: - Calls

    /// Posts `body` to `service` and returns the parsed answer.
    ///
    /// Logs in first when the mode needs a session; on MsgCode 1 logs in again once and retries.
    /// - Throws: `KingdeeCallError` when there is no usable answer.
    public func call(_ service: String, body: JSONValue) async throws(KingdeeCallError) -> JSONValue {
        try await call(service, body: JSONWriter(style: .compact).bytes(body))
    }

    /// Posts a body that is already JSON bytes. Encoding and parsing happen off the actor, so concurrent
    /// batches only meet here to share the session.
    public func call(_ service: String, body: [UInt8]) async throws(KingdeeCallError) -> JSONValue {
        try await exchange(service, body: body).answer
    }

    /// `call`, also giving the secrets the request that got the answer carried (`secrets(sent:)`), to hide
    /// in what is quoted from the answer.
    private func exchange(_ service: String, body: [UInt8]) async throws(KingdeeCallError)
        -> (answer: JSONValue, secrets: [String])
    {
        var retriedAfterSessionLoss = false
        while true {
            let used = try await currentSession()
            let (status, sid, data, sent) = try await post(serviceURL(service), body: body, sessionID: used)
            let secrets = secrets(sent: sent)
            guard status == 200 || status == 206 else {
                if let sid { sessionID = sid }
                if Self.snippet(data, hiding: secrets).contains("Fail to verify thirty passport") {
                    // Kingdee's answer to a 账套 id it does not have, before doing anything.
                    throw .configuration(
                        "Kingdee does not know the 账套 (HTTP \(status): Fail to verify thirty passport); check target.acct_id "
                            + "(the data-centre id, FDATACENTERID)")
                }
                throw .noAnswer("HTTP \(status) from \(service): \(Self.snippet(data, hiding: secrets))")
            }
            let value = try await Self.parseAnswer(data, service: service, hiding: secrets)
            if let status = KingdeeResponseStatus.find(in: value), status.msgCode == 1, !status.isSuccess {
                // Kingdee sends a new kdservice-sessionid with this answer too, but no session is behind it
                // (an empty shell): it is not kept, so the next try logs in again.
                if sessionID == used || sessionID == nil { sessionID = nil }
                if !retriedAfterSessionLoss {
                    retriedAfterSessionLoss = true
                    continue
                }
                refusalsInARow += 1
                throw .refused(
                    msgCode: 1,
                    message: Self.hiding(secrets, in: status.errors.first?.message ?? "会话信息已丢失，请重新登录")
                        + " (still after logging in again; check target.acct_id, username, app_id/app_secret "
                        + "and the 第三方系统登录授权 in Kingdee)")
            }
            if let sid { sessionID = sid }
            hasWorked = true
            refusalsInARow = 0
            return (value, secrets)
        }
    }

    /// BatchSave of `models` with the options in `data` (everything but `Model`), plus `BatchCount` when set.
    ///
    /// - Throws: `KingdeeCallError` when there is no usable answer.
    /// `models` are compact JSON objects (`PayloadDocument.modelJSON`); they are spliced into the body as
    /// they are, so the request carries exactly the payload files' models.
    public func batchSave(formID: String, options: JSONObject, models: [[UInt8]], batchCount: Int?)
        async throws(KingdeeCallError) -> KingdeeResponseStatus
    {
        try await responseStatus(
            of: Service.batchSave, body: Self.batchSaveBody(formID: formID, options: options, models: models, batchCount: batchCount),
            answerName: "BatchSave")
    }

    /// Posts `body` to `service` and returns its answer's ResponseStatus, with the secrets the request
    /// carried hidden in its messages (they go on into error files and the journal).
    private func responseStatus(of service: String, body: [UInt8], answerName: String) async throws(KingdeeCallError)
        -> KingdeeResponseStatus
    {
        let (answer, secrets) = try await exchange(service, body: body)
        guard var status = KingdeeResponseStatus.find(in: answer) else {
            throw .noAnswer(
                "the \(answerName) answer has no Result.ResponseStatus: "
                    + Self.snippet(JSONWriter(style: .compact).bytes(answer), hiding: secrets))
        }
        for i in status.errors.indices { status.errors[i].message = Self.hiding(secrets, in: status.errors[i].message) }
        return status
    }

    /// `{"formid": …, "data": {…options…, "Model": [models…], "BatchCount": n}}` as compact JSON, with the
    /// models' bytes copied in unchanged.
    public nonisolated static func batchSaveBody(formID: String, options: JSONObject, models: [[UInt8]], batchCount: Int?)
        -> [UInt8]
    {
        let writer = JSONWriter(style: .compact)
        var data = options
        data.members.removeAll { $0.key == "Model" || $0.key == "BatchCount" }
        var body: [UInt8] = []
        body.reserveCapacity(models.reduce(256) { $0 + $1.count + 1 })
        body.append(contentsOf: "{\"formid\":".utf8)
        body.append(contentsOf: writer.bytes(.string(formID)))
        body.append(contentsOf: ",\"data\":".utf8)
        var head = writer.bytes(.object(data))
        head.removeLast()  // the closing brace: the models follow
        body.append(contentsOf: head)
        body.append(contentsOf: (data.isEmpty ? "\"Model\":[" : ",\"Model\":[").utf8)
        for (i, model) in models.enumerated() {
            if i > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: model)
        }
        body.append(UInt8(ascii: "]"))
        if let batchCount { body.append(contentsOf: ",\"BatchCount\":\(batchCount)".utf8) }
        body.append(contentsOf: "}}".utf8)
        return body
    }

    /// Submit or Audit of bills of `formID`, with one call:
    /// `{"formid": …, "data": {"CreateOrgId": 0, "Numbers": […], "Ids": "", "NetworkCtrl": ""}}`, plus
    /// `InterationFlags` for an audit when `interactionFlags` is not empty. With `ids` (Kingdee's FIDs), the
    /// bills are named by them (`"Numbers": [], "Ids": "1,2"`) and `numbers` is not sent: a number can be in
    /// use in more than one organisation, an id names one bill.
    ///
    /// - Throws: `KingdeeCallError` when there is no usable answer.
    public func billStep(
        _ step: BillStep, formID: String, numbers: [String], ids: [String] = [], interactionFlags: String = ""
    ) async throws(KingdeeCallError) -> KingdeeResponseStatus {
        var data = JSONObject()
        data.append("CreateOrgId", 0)
        data.append("Numbers", .array(ids.isEmpty ? numbers.map { .string($0) } : []))
        data.append("Ids", .string(ids.joined(separator: ",")))
        data.append("NetworkCtrl", "")
        if step == .audit && !interactionFlags.isEmpty { data.append("InterationFlags", .string(interactionFlags)) }
        return try await responseStatus(
            of: step.service, body: JSONWriter(style: .compact).bytes(["formid": .string(formID), "data": .object(data)]),
            answerName: step.rawValue)
    }

    /// ExecuteBillQuery: the rows (in `fieldKeys` order) of `formID` matching `filter`.
    ///
    /// - Throws: `KingdeeCallError` when there is no usable answer or Kingdee reports an error.
    public func executeBillQuery(formID: String, fieldKeys: String, filter: String) async throws(KingdeeCallError)
        -> [[JSONValue]]
    {
        let data: JSONValue = [
            "FormId": .string(formID), "FieldKeys": .string(fieldKeys), "FilterString": .string(filter),
            "OrderString": "", "TopRowCount": 0, "StartRow": 0, "Limit": 2000,
        ]
        let (answer, secrets) = try await exchange(
            Service.executeBillQuery, body: JSONWriter(style: .compact).bytes(["data": data]))
        if let status = KingdeeResponseStatus.find(in: answer), !status.isSuccess {
            let message = Self.hiding(secrets, in: status.errors.map(\.message).joined(separator: "; "))
            if status.msgCode == 14 { throw .refused(msgCode: 14, message: message) }
            if KingdeeErrorClassifier.classify(msgCode: status.msgCode, messages: status.errors.map(\.message), fieldNames: [])
                == .config
            {
                // A permission, form id or field key problem: asking again cannot help.
                throw .configuration(
                    "Kingdee refused ExecuteBillQuery on \(formID) (MsgCode \(status.msgCode)): \(message); check the form id, "
                        + "the field keys (\(fieldKeys); an organisation field comes from target.existence_check_org_field) "
                        + "and that the integration user has permission to view these bills (Ferry asks with it whether a bill exists)")
            }
            throw .noAnswer("ExecuteBillQuery failed (MsgCode \(status.msgCode)): \(message)")
        }
        guard let rows = answer.arrayValue else {
            throw .noAnswer("the ExecuteBillQuery answer is not an array of rows")
        }
        return rows.map { $0.arrayValue ?? [$0] }
    }

    /// A bill ExecuteBillQuery found: one row of `FID,FBillNo,FDocumentStatus[,<org field>.FNumber]`.
    public struct ExistingBill: Sendable {
        /// `FID`.
        public var id: JSONValue
        /// `FBillNo`.
        public var number: String
        /// `FDocumentStatus` (`A` created, `B` submitted, `C` audited…), or empty.
        public var status: String
        /// The organisation field's `FNumber`, when one was asked for and Kingdee gave it.
        public var organization: String?
    }

    /// The bills of `formID` whose FBillNo is one of `billNumbers`, with their organisation's number
    /// (`organizationField`'s `FNumber`) when `organizationField` is not empty: a number can be in use in
    /// more than one organisation.
    ///
    /// Asks in chunks of 50 with `FBillNo IN ('a','b')` (quotes doubled).
    /// - Throws: `KingdeeCallError` when Kingdee cannot be asked.
    public func existingBills(formID: String, billNumbers: [String], organizationField: String = "") async throws(KingdeeCallError)
        -> [ExistingBill]
    {
        try await existingBills(formID: formID, keys: billNumbers, filter: Self.billNumberFilter, organizationField: organizationField)
    }

    /// The bills of `formID` whose FID is one of `ids` (Kingdee's own ids, as its answers gave them).
    ///
    /// Asks in chunks of 50 with `FID IN (1,2)` (`FID IN ('a','b')` when an id is not a plain integer).
    /// - Throws: `KingdeeCallError` when Kingdee cannot be asked.
    public func existingBills(formID: String, ids: [String]) async throws(KingdeeCallError) -> [ExistingBill] {
        try await existingBills(formID: formID, keys: ids, filter: Self.billIDFilter, organizationField: "")
    }

    private func existingBills(
        formID: String, keys: [String], filter: ([String]) -> String, organizationField: String
    ) async throws(KingdeeCallError) -> [ExistingBill] {
        var found: [ExistingBill] = []
        let fieldKeys = "FID,FBillNo,FDocumentStatus" + (organizationField.isEmpty ? "" : ",\(organizationField).FNumber")
        var start = 0
        while start < keys.count {
            let chunk = keys[start..<min(start + 50, keys.count)]
            start += 50
            let rows = try await executeBillQuery(formID: formID, fieldKeys: fieldKeys, filter: filter(Array(chunk)))
            for row in rows where row.count >= 2 {
                guard let number = row[1].scalarText else { continue }
                found.append(
                    ExistingBill(
                        id: row[0], number: number, status: row.count > 2 ? (row[2].scalarText ?? "") : "",
                        organization: !organizationField.isEmpty && row.count > 3 ? row[3].scalarText : nil))
            }
        }
        return found
    }

    /// `FID IN (1,2)`; `FID IN ('a','b')` (quotes doubled) when an id is not made of ASCII digits only.
    public static func billIDFilter(_ ids: [String]) -> String {
        let plain = ids.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }
        return "FID IN (" + ids.map { plain ? $0 : "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: ",") + ")"
    }

    /// `FBillNo IN ('a','b')`, with single quotes in numbers doubled.
    public static func billNumberFilter(_ numbers: [String]) -> String {
        "FBillNo IN (" + numbers.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: ",") + ")"
    }

    // MARK: - Sessions

    private func currentSession() async throws(KingdeeCallError) -> String? {
        if let sessionID { return sessionID }
        switch config.auth {
        case .signature:
            return nil
        case .appsecret, .password:
            if let loginTask {
                do { return try await loginTask.value } catch { throw error as? KingdeeCallError ?? .configuration("\(error)") }
            }
            let task = Task<String, any Error> { try await self.login() }
            loginTask = task
            defer { loginTask = nil }
            do {
                let sid = try await task.value
                sessionID = sid
                return sid
            } catch {
                throw error as? KingdeeCallError ?? .configuration("\(error)")
            }
        }
    }

    private func login() async throws(KingdeeCallError) -> String {
        let service: String
        let body: JSONValue
        switch config.auth {
        case .password:
            service = Service.validateUser
            body = [
                "acctID": .string(config.acctID), "username": .string(config.username),
                "password": .string(config.password), "lcid": .number(String(config.lcid)),
            ]
        default:
            service = Service.loginByAppSecret
            body = [
                "acctid": .string(config.acctID), "username": .string(config.username),
                "appid": .string(config.appID), "appsecret": .string(config.appSecret),
                "lcid": .number(String(config.lcid)),
            ]
        }
        let (status, cookieSID, data, sent) = try await post(
            serviceURL(service), body: JSONWriter(style: .compact).bytes(body), sessionID: nil)
        let secrets = secrets(sent: sent)
        guard status == 200 || status == 206 else {
            throw .configuration(
                "logging in to Kingdee failed with HTTP \(status) (\(Self.snippet(data, hiding: secrets))); "
                    + "check target.url and target.acct_id (账套 id)")
        }
        guard let value = try? JSONReader.parse(data), let object = value.objectValue else {
            throw .configuration("the login answer of Kingdee is not JSON: \(Self.snippet(data, hiding: secrets)); check target.url")
        }
        let type = Int(object["LoginResultType"]?.scalarText ?? "") ?? -1
        guard type == 1 || type == -5 else {
            throw .configuration(
                Self.loginFailureMessage(
                    type: type, message: object["Message"]?.scalarText.map { Self.hiding(secrets, in: $0) }, auth: config.auth))
        }
        if let sid = object["KDSVCSessionId"]?.scalarText, !sid.isEmpty { return sid }
        if let cookieSID { return cookieSID }
        throw .configuration("Kingdee accepted the login but sent no session (KDSVCSessionId); check target.url")
    }

    /// A clear message for a `LoginResultType` other than success.
    public static func loginFailureMessage(type: Int, message: String?, auth: KingdeeTargetConfig.AuthMode) -> String {
        let said = message.map { " Kingdee said: \($0)." } ?? ""
        let what: String
        switch type {
        case 0:
            what = auth == .password
                ? "the user name or password is wrong (LoginResultType 0); check target.username and KINGDEE_PASSWORD"
                : "the user or app credentials are wrong (LoginResultType 0); check target.username, app_id and app_secret"
        case -1:
            what = "the login failed (LoginResultType -1); check target.acct_id (账套 id), target.username and, for "
                + "appsecret, the 第三方系统登录授权 entry for this app id"
        case -2, -3:
            what = "the password does not meet Kingdee's password policy (LoginResultType \(type)); change it in Kingdee first"
        case -4: what = "Kingdee returned a login warning (LoginResultType -4); log in once interactively to clear it"
        case -6: what = "the 云通行证 is not bound to a Cloud account (LoginResultType -6)"
        case -7: what = "the account needs activation (LoginResultType -7); activate it in Kingdee first"
        default: what = "the login failed (LoginResultType \(type))"
        }
        return "logging in to Kingdee failed: " + what + "." + said
    }

    // MARK: - HTTP

    /// The answer as JSON, parsed off the actor; `secrets` are hidden in what an error quotes of it.
    private nonisolated static func parseAnswer(_ data: [UInt8], service: String, hiding secrets: [String]) async
        throws(KingdeeCallError) -> JSONValue
    {
        do {
            return try JSONReader.parse(data)
        } catch {
            let text = snippet(data, hiding: secrets)
            if text.hasPrefix("response_error:") { throw .noAnswer(text) }
            throw .noAnswer("the answer of \(service) is not JSON (\(error.message)): \(text)")
        }
    }

    /// Posts `body` to `url` with the session and, in `signature` mode, the signature headers.
    ///
    /// - Returns: the status, the `kdservice-sessionid` cookie Kingdee set, the body, and what the request
    ///   carried that is secret beyond the configuration (the session id and the signatures sent).
    private nonisolated func post(_ url: String, body: [UInt8], sessionID: String?) async throws(KingdeeCallError)
        -> (status: Int, sessionID: String?, body: [UInt8], sent: [String])
    {
        var sent: [String] = []
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.reserveCapacity(10)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept-Charset", value: "utf-8")
        request.headers.add(name: "User-Agent", value: "Ferry/\(FerryVersion.current) (Kingdee WebApi client)")
        if config.auth == .signature {
            let timestamp = String(Int(clock().timeIntervalSince1970))
            for (name, value) in KingdeeSignature.headers(url: url, identity: config.signatureIdentity, timestamp: timestamp) {
                request.headers.replaceOrAdd(name: name, value: value)
                if name == KingdeeSignature.Header.signature || name == KingdeeSignature.Header.kdSignature { sent.append(value) }
            }
        }
        if let sessionID {
            sent.append(sessionID)
            request.headers.add(name: Self.sessionCookieName, value: sessionID)
            request.headers.add(name: "Cookie", value: "Theme=standard; \(Self.sessionCookieName)=\(sessionID)")
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let timeoutSeconds = ClientSetup.effectiveTimeout(config.timeoutSeconds)
        do {
            let response = try await http.execute(request, deadline: .now() + timeout)
            // A large BatchSave may take long to start answering; once the head is here, the body has the
            // timeout again to arrive whole (the client's read timeout only bounds each wait, so a server
            // trickling its body would hold the load for ever). A body cut off this way is a lost answer.
            var buffer: ByteBuffer
            do {
                buffer = try await AnswerBody.collect(response.body, upTo: Self.maxAnswerBytes, deadline: .now() + timeout)
            } catch let error as HTTPClientError where error == .deadlineExceeded {
                throw KingdeeCallError.noAnswer(
                    "the answer of \(URLComponents(string: url)?.host ?? "?") did not arrive whole within \(timeoutSeconds) s "
                        + "of its start (target.timeout_seconds)")
            }
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            let cookies = response.headers["Set-Cookie"]
            let cookie = cookies.isEmpty ? nil : Self.sessionID(fromSetCookie: cookies.joined(separator: ", "))
            return (Int(response.status.code), cookie, bytes, sent)
        } catch let error as KingdeeCallError {
            throw error
        } catch {
            if TLSFailure.isCertificateProblem(error), let target = URL(string: url), let host = target.host {
                let problems = await TLSFailure.diagnose(error, url: target, probe: probesCertificates)
                throw .configuration(Self.certificateMessage(problems, host: host))
            }
            let failure = Self.classify(error, url: url, configuredURL: config.url, timeoutSeconds: timeoutSeconds)
            // A connection that cannot be made may be the proxy's: "check target.url" alone sends one to the server.
            if case .notSent(let message) = failure, let proxyRoute {
                throw KingdeeCallError.notSent(message + "; the request goes through \(proxyRoute): check the proxy too")
            }
            throw failure
        }
    }

    /// Maps an AsyncHTTPClient/SwiftNIO error to what it means for the documents of the request.
    ///
    /// Only errors that can happen before a byte of the request is written are `.notSent` (no connection
    /// could be made: refused, unreachable, name not found, connect timeout, TLS handshake); everything that
    /// may come after the request went out (timeouts, a connection closed or reset, a cut body) is
    /// `.noAnswer`, so the journal reconciles its documents before anything is sent again.
    static func classify(_ error: any Error, url: String, configuredURL: String, timeoutSeconds: Double) -> KingdeeCallError {
        let host = URLComponents(string: url)?.host ?? "?"
        let text = String(describing: error)
        if TLSFailure.isCertificateProblem(error) {
            // `post` says why; here it is not known.
            return .configuration(certificateMessage([], host: host))
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .invalidURL, .emptyHost, .emptyScheme, .missingSocketPath:
                return .configuration("target.url is not a valid URL: \(configuredURL)")
            case .connectTimeout, .getConnectionFromPoolTimeout, .tlsHandshakeTimeout, .socksHandshakeTimeout,
                .httpProxyHandshakeTimeout, .invalidProxyResponse, .proxyAuthenticationRequired:
                return .notSent("cannot connect to \(host) (\(text)); check target.url and the network")
            case .alreadyShutdown:
                return .notSent("the Kingdee client is closed")
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return .noAnswer("timed out waiting for \(host) (after \(timeoutSeconds) s)")
            case .remoteConnectionClosed:
                return .noAnswer("the connection to \(host) was lost before the answer")
            default:
                if String(describing: error).contains("unsupportedScheme") {
                    return .configuration("target.url is not a valid URL: \(configuredURL)")
                }
                return .noAnswer("\(host): \(text)")
            }
        }
        if error is NIOConnectionError {
            // Happy Eyeballs: name resolution and every connect attempt failed; nothing was written.
            return .notSent("cannot connect to \(host) (\(text)); check target.url and the network")
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL, ENETDOWN, EHOSTDOWN:
                // Only a connect() gives these.
                return .notSent("cannot connect to \(host) (\(text)); check target.url and the network")
            case ECONNRESET, EPIPE:
                return .noAnswer("the connection to \(host) was lost before the answer (\(text))")
            default:
                return .noAnswer("\(host): \(text)")
            }
        }
        if case NIOSSLError.handshakeFailed = error {
            // The handshake comes before the request.
            return .notSent("the TLS handshake with \(host) failed (\(text)); check target.url")
        }
        if error is NIOTooManyBytesError {
            return .noAnswer("the answer of \(host) is larger than \(maxAnswerBytes >> 20) MiB")
        }
        return .noAnswer("\(host): \(text)")
    }

    /// What to do about a certificate of `host` that failed verification with `problems` (none known: a
    /// message covering every cause).
    static func certificateMessage(_ problems: [TLSFailure.CertificateProblem], host: String) -> String {
        TLSFailure.message(problems, host: host, urlSetting: "target.url", insecureSetting: "target.insecure_tls")
    }

    /// The `kdservice-sessionid` value in a `Set-Cookie` header (several cookies may be comma-joined).
    static func sessionID(fromSetCookie header: String) -> String? {
        guard let range = header.range(of: sessionCookieName + "=") else { return nil }
        let value = header[range.upperBound...].prefix { $0 != ";" && $0 != "," && $0 != " " }
        return value.isEmpty ? nil : String(value)
    }

    /// The start of an answer (300 bytes), on one line, to quote in an error; `secrets` are hidden in it
    /// before it is cut, so that no part of one is left at the cut.
    static func snippet(_ bytes: some Collection<UInt8>, hiding secrets: [String]) -> String {
        let text = hiding(secrets, in: String(decoding: bytes.prefix(1 << 16), as: UTF8.self))
        return String(decoding: text.utf8.prefix(300), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
    }

    /// What a request of this client may carry that is secret, for `hiding`: the password, the app secret,
    /// the signature key decoded from the app id, and `sent` (the session id and signatures of the request).
    nonisolated func secrets(sent: [String]) -> [String] {
        ([config.password, config.appSecret, KingdeeSignature.splitAppID(config.appID).clientSecret] + sent).filter { !$0.isEmpty }
    }

    /// `text` quoted from a server with every secret in it replaced by `***`, as written and as JSON writes
    /// it (with `/` escaped or not): a server's error page or message may repeat the request it answers,
    /// its password, app secret, session cookie or signatures, and such text goes on into errors, error
    /// files, the journal, run.json and the report.
    static func hiding(_ secrets: [String], in text: String) -> String {
        var text = text
        for secret in secrets.sorted(by: { $0.utf8.count > $1.utf8.count }) where !secret.isEmpty {
            let escaped = String(decoding: JSONWriter(style: .compact).bytes(.string(secret)).dropFirst().dropLast(), as: UTF8.self)
            for spelling in [secret, escaped, escaped.replacingOccurrences(of: "/", with: "\\/")] where text.contains(spelling) {
                text = text.replacingOccurrences(of: spelling, with: "***")
            }
        }
        return text
    }
}
