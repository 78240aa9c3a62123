import ArgumentParser
import FerryCore
import FerryTemplate
import FerryWDT
import FerryWorkspace
import Foundation

/// `ferry extract`: WDT stock-in orders of a time range → `runs/<id>/extract/` (pages + manifest).
struct ExtractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Fetch WDT stock-in orders into runs/<id>/extract/, proving every window complete.",
        discussion: """
            Without --since/--until the range starts at the cursor in state.json (minus source.lookback_minutes) \
            or at source.start, and ends at now minus source.lag_seconds. Times are WDT time, \
            'yyyy-MM-dd HH:mm:ss' in Asia/Shanghai. Without --run a new run is created and its id printed on \
            stdout; with --run the run is resumed: complete windows are verified and skipped, the rest read again.
            Exit codes: 0 every window complete; 1 some window incomplete (rerun with --run); \
            2 could not run (ferry.yaml, credentials, signature, permission); 64 usage.
            """
    )

    @OptionGroup var options: WorkspaceOptions

    @Option(name: .long, help: "Resume this run instead of creating a new one.")
    var run: String?

    @Option(name: .long, help: "Start of the range (WDT time, 'yyyy-MM-dd HH:mm:ss', Asia/Shanghai).")
    var since: String?

    @Option(name: .long, help: "End of the range, included (WDT time); clamped to now minus source.lag_seconds.")
    var until: String?

    func validate() throws {
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, WDTTime(value) == nil {
                throw ValidationError("\(name) '\(value)' is not a WDT time; write it as 'yyyy-MM-dd HH:mm:ss'")
            }
        }
        if let s = since.flatMap(WDTTime.init), let u = until.flatMap(WDTTime.init), s > u {
            throw ValidationError("--since \(s) is after --until \(u)")
        }
    }

    func run() async throws {
        try await runCommand {
            let workspace = try Workspace(root: options.workspace)
            let (template, problems) = MappingTemplate.load(path: workspace.templatePath)
            guard let template else { throw StageFailure(problems) }
            let source = try WDTSourceConfig.resolved(
                from: workspace.config, scheme: template.source, environment: options.environment)
            let runID = try run.map { id throws(Diagnostic) in try workspace.resolveRun(id) } ?? workspace.createRun()
            // Written unbuffered: the id is on stdout at once, even if the process is killed later.
            FileHandle.standardOutput.write(Data((runID + "\n").utf8))
            let lock = try workspace.lockRun(runID)
            defer { lock.release() }
            let extractor = WDTExtractor(config: source, progress: { Console.error($0) })
            let summary = try await extractor.run(
                ExtractRequest(
                    runID: runID, extractDirectory: Workspace.join(workspace.runDirectory(runID), "extract"),
                    statePath: workspace.statePath, since: since.flatMap(WDTTime.init),
                    until: until.flatMap(WDTTime.init)))
            Console.error(Self.describe(summary, runID: runID))
            return summary.isComplete ? .success : .documentsFailed
        }
    }

    static func describe(_ s: ExtractSummary, runID: String) -> String {
        var lines = [
            "extract \(runID): \(s.range.start) … \(s.range.end)",
            "  windows: \(s.windows) (\(s.completeWindows) complete, \(s.incompleteWindows) incomplete, "
                + "\(s.skippedWindows) already complete and skipped\(s.unreadWindows > 0 ? ", \(s.unreadWindows) not read" : ""))",
            "  documents: \(s.documents) in complete windows; requests: \(s.requests), retries: \(s.retries)",
            "  cursor: \(s.cursor.map(\.description) ?? "none")",
        ]
        if !s.isComplete {
            lines.append("error: not every window is complete; run `ferry extract --run \(runID)` to read them again")
        }
        return lines.joined(separator: "\n")
    }
}

extension WDTSourceConfig {
    /// Resolves the `source.*` settings of `ferry.yaml` (with `${NAME}` from the environment) and the
    /// scheme's `<source>` (the method and fixed request parameters).
    ///
    /// - Throws: a `Diagnostic` at the setting's line when a required setting is missing, a variable is not
    ///   set, or a value is out of range.
    static func resolved(
        from config: WorkspaceConfig, scheme: SourceSpec, environment env: [String: String]
    ) throws(Diagnostic) -> WDTSourceConfig
    {
        let purpose = "to extract from WDT"
        let api = try config.choice(
            "source.api", default: WDTTransport.qimen.rawValue, choices: WDTTransport.allCases.map(\.rawValue),
            environment: env)
        let transport = WDTTransport(rawValue: api) ?? .qimen
        let url = try config.string("source.url", environment: env, purpose: purpose)
        guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil else {
            throw .error(
                "'source.url' must be an http(s) URL such as https://api.wangdian.cn/openapi2/stockin_order_query.php, "
                    + "not '\(url)'", file: config.file, line: config.entry("source.url")?.line)
        }
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
            targetAppKey: transport == .qimen
                ? try config.string("source.target_app_key", environment: env, purpose: "for source.api wdt-qimen")
                : (try config.optionalString("source.target_app_key", environment: env) ?? ""),
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
            // The scheme's <source><param> elements: fixed business parameters such as status=80.
            fixedParameters: Dictionary(scheme.parameters.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }))
    }
}
