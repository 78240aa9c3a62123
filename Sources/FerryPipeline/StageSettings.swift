import FerryCore
import FerryHTTP
import FerryKingdee
import FerryTemplate
import FerryWDT
import FerryWorkspace
import Foundation

extension WorkspaceConfig {
    /// The http(s) URL of a server at `key`. A user name or password in it is refused: neither WDT nor
    /// Kingdee takes one there, and it would be shown wherever Ferry names the server; the message shows
    /// the value with it hidden.
    func serverURL(_ key: String, example: String, environment: [String: String], purpose: String) throws(Diagnostic)
        -> String
    {
        let url = try string(key, environment: environment, purpose: purpose)
        let line = entry(key)?.line
        guard let parsed = URLComponents(string: url), parsed.scheme == "http" || parsed.scheme == "https",
            let host = parsed.host, !host.isEmpty
        else {
            throw .error(
                "'\(key)' must be an http(s) URL such as \(example), not '\(ProxyEnvironment.redacted(url))'", file: file,
                line: line)
        }
        if parsed.user != nil || parsed.password != nil {
            throw .error(
                "'\(key)' holds a user name or password ('\(ProxyEnvironment.redacted(url))'); the server does not take "
                    + "one there, and Ferry would show it wherever it names the server: remove it (credentials go in their "
                    + "own settings, through environment variables)",
                file: file, line: line)
        }
        return url
    }
}

extension WorkspaceConfig {
    /// `target.after_save`: what the load does to a bill after saving it (`none` when not set). Read alone by
    /// `ferry status`, which needs no credentials.
    func afterSave(environment: [String: String]) throws(Diagnostic) -> KingdeeTargetConfig.AfterSave {
        let text = try choice(
            "target.after_save", default: KingdeeTargetConfig.AfterSave.none.rawValue,
            choices: KingdeeTargetConfig.AfterSave.allCases.map(\.rawValue), environment: environment)
        return KingdeeTargetConfig.AfterSave(rawValue: text) ?? .none
    }
}

extension WDTSourceConfig {
    /// Resolves the `source.*` settings of `ferry.yaml` (with `${NAME}` from the environment) and the
    /// scheme's `<source>` (the method and fixed request parameters).
    ///
    /// - Throws: a `Diagnostic` at the setting's line when a required setting is missing, a variable is not
    ///   set, or a value is out of range.
    public static func resolved(
        from config: WorkspaceConfig, scheme: SourceSpec, environment env: [String: String]
    ) throws(Diagnostic) -> WDTSourceConfig
    {
        let purpose = "to extract from WDT"
        let api = try config.choice(
            "source.api", default: WDTTransport.qimen.rawValue, choices: WDTTransport.allCases.map(\.rawValue),
            environment: env)
        let transport = WDTTransport(rawValue: api) ?? .qimen
        let url = try config.serverURL(
            "source.url", example: "https://api.wangdian.cn/openapi2/stockin_order_query.php", environment: env, purpose: purpose)
        var start: WDTTime?
        if let text = try config.optionalString("source.start", environment: env) {
            guard let time = WDTTime(text) else {
                throw .error(
                    "'source.start' must be a WDT time 'yyyy-MM-dd HH:mm:ss', not '\(text)'", file: config.file,
                    line: config.entry("source.start")?.line)
            }
            start = time
        }
        let counting = try config.choice(
            "source.chinese_length", default: WDTLengthCounting.characters.rawValue,
            choices: WDTLengthCounting.allCases.map(\.rawValue), environment: env)
        return WDTSourceConfig(
            transport: transport,
            url: url,
            sid: try config.string("source.sid", environment: env, purpose: purpose),
            appKey: try config.string("source.app_key", environment: env, purpose: purpose),
            appSecret: try config.string("source.app_secret", environment: env, purpose: purpose),
            // Qimen's alone: the open API never sends it, so its variable is not read either.
            targetAppKey: transport == .qimen
                ? try config.string("source.target_app_key", environment: env, purpose: "for source.api wdt-qimen")
                : "",
            method: try config.optionalString("source.method", environment: env) ?? scheme.api,
            requestsPerSecond: try config.number(
                "source.requests_per_second", default: 1, range: 0.001...1000, environment: env),
            pageSize: try config.int("source.page_size", default: 100, range: 1...100, environment: env),
            windowDays: try config.int("source.window_days", default: 30, range: 1...30, environment: env),
            lookbackMinutes: try config.int("source.lookback_minutes", default: 10, range: 0...10_080, environment: env),
            lagSeconds: try config.int("source.lag_seconds", default: 60, range: 0...86_400, environment: env),
            timeoutSeconds: try config.number("source.timeout_seconds", default: 30, range: 1...600, environment: env),
            maxRetries: try config.int("source.max_retries", default: 5, range: 0...20, environment: env),
            retryDelaySeconds: try config.number(
                "source.retry_delay_seconds", default: 1, range: 0.001...600, environment: env),
            start: start,
            maxWindowDocuments: try config.int(
                "source.max_window_documents", default: 5000, range: 1...10_000_000, environment: env),
            lengthCounting: WDTLengthCounting(rawValue: counting) ?? .characters,
            // The scheme's <source><param> elements: fixed business parameters such as order_type=6.
            fixedParameters: Dictionary(scheme.parameters.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }),
            // Two passes must agree before an inconsistent window counts as read, so fewer than 2 means never.
            maxWindowAttempts: try config.int("source.max_window_passes", default: 6, range: 2...50, environment: env))
    }
}

extension KingdeeTargetConfig {
    /// Resolves the `target` section of ferry.yaml; secrets are read only for the chosen auth mode.
    public static func resolved(from yaml: WorkspaceConfig, environment: [String: String], withSecrets: Bool)
        throws(Diagnostic) -> KingdeeTargetConfig
    {
        let authText = try yaml.choice(
            "target.auth", default: "signature", choices: KingdeeTargetConfig.AuthMode.allCases.map(\.rawValue),
            environment: environment)
        let auth = KingdeeTargetConfig.AuthMode(rawValue: authText) ?? .signature
        let purpose = "to load into Kingdee"
        var config = KingdeeTargetConfig(
            url: withSecrets
                ? try yaml.serverURL(
                    "target.url", example: "https://erp.example.com/k3cloud/", environment: environment, purpose: purpose)
                : "",
            auth: auth,
            acctID: withSecrets ? try yaml.string("target.acct_id", environment: environment, purpose: purpose) : "",
            username: withSecrets ? try yaml.string("target.username", environment: environment, purpose: purpose) : "")
        if withSecrets {
            switch auth {
            case .signature, .appsecret:
                config.appID = try yaml.string("target.app_id", environment: environment, purpose: "for target.auth: \(auth.rawValue)")
                config.appSecret = try yaml.string(
                    "target.app_secret", environment: environment, purpose: "for target.auth: \(auth.rawValue)")
            case .password:
                config.password = try yaml.string("target.password", environment: environment, purpose: "for target.auth: password")
            }
            // The signature's key is the decoded 32-character half of the app id; any other app id signs with
            // an empty key (as the official Python SDK does), which Kingdee can only refuse.
            if auth == .signature, KingdeeSignature.splitAppID(config.appID).clientSecret.isEmpty {
                throw .error(
                    "target.app_id must look like <clientId>_<32 characters> (the app id from 第三方系统登录授权) for signature auth",
                    file: yaml.file, line: yaml.entry("target.app_id")?.line)
            }
        }
        config.lcid = try yaml.int("target.lcid", default: 2052, range: 1...65535, environment: environment)
        config.orgNumber = try yaml.optionalString("target.org_number", environment: environment) ?? "0"
        config.batchSize = try yaml.int("target.batch_size", default: 50, range: 1...2000, environment: environment)
        if yaml.entry("target.batch_count") != nil {
            config.batchCount = try yaml.int("target.batch_count", default: 0, range: 1...1000, environment: environment)
        }
        config.concurrency = try yaml.int("target.concurrency", default: 4, range: 1...64, environment: environment)
        config.timeoutSeconds = try yaml.number("target.timeout_seconds", default: 30, range: 0.1...3600, environment: environment)
        config.insecureTLS = try yaml.bool("target.insecure_tls", default: false, environment: environment)
        config.maxRetries = try yaml.int("target.max_retries", default: 3, range: 0...20, environment: environment)
        config.retryDelaySeconds = try yaml.number(
            "target.retry_delay_seconds", default: 1, range: 0...300, environment: environment)
        config.inDoubtRecheckSeconds = try yaml.number(
            "target.in_doubt_recheck_seconds", default: 10, range: 0...3600, environment: environment)
        let orgField = try yaml.optionalString("target.existence_check_org_field", environment: environment) ?? "FStockOrgId"
        // It goes into ExecuteBillQuery's FieldKeys as `<field>.FNumber`: a field key, nothing else.
        guard orgField.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw .error(
                "target.existence_check_org_field must be a field key of the bill's head such as FStockOrgId (letters, digits, "
                    + "underscores), or empty to check FBillNo alone; it is '\(orgField)'",
                file: yaml.file, line: yaml.entry("target.existence_check_org_field")?.line)
        }
        config.existenceCheckOrgField = orgField
        config.afterSave = try yaml.afterSave(environment: environment)
        let flags = try yaml.optionalString("target.audit_interaction_flags", environment: environment) ?? ""
        // Sent as Kingdee's "flag1;flag2" list: names of letters, digits and underscores.
        guard flags.split(separator: ";", omittingEmptySubsequences: false).allSatisfy({ flag in
            !flag.isEmpty && flag.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        }) || flags.isEmpty else {
            throw .error(
                "target.audit_interaction_flags must be Kingdee interaction flags separated by ';' such as STK_InvCheckResult, "
                    + "or empty; it is '\(flags)'",
                file: yaml.file, line: yaml.entry("target.audit_interaction_flags")?.line)
        }
        config.auditInteractionFlags = flags
        return config
    }

}
