import ArgumentParser
import FerryCore
import FerryKingdee
import FerryWorkspace
import Foundation

/// `ferry load`: posts the run's Kingdee payloads with BatchSave, exactly once.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Post the run's payloads to 金蝶云星空 with BatchSave, exactly once.",
        discussion: """
            Reads runs/<id>/transform/*.json and writes <name>.receipt.json or <name>.error.json beside each \
            payload; the journal is runs/<id>/load/journal/. Batches interrupted by a crash, a timeout or a lost \
            answer are checked with ExecuteBillQuery before anything is sent again. A plain load re-posts \
            documents whose error is retryable; --retry-failed re-posts every document with an error file. \
            Exit codes: 0 all loaded; 1 some failed or changed; 2 could not run; 64 usage.
            """
    )

    @OptionGroup var workspaceOptions: WorkspaceOptions

    @Option(name: .customLong("run"), help: "The run to load (default: the newest).")
    var runID: String?

    @Flag(name: .long, help: "List the batches and check the payloads; send nothing, write nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Also re-post documents that have error files (after fixing master data or a payload).")
    var retryFailed = false

    func run() async throws {
        try await runCommand {
            let workspace = try Workspace(root: workspaceOptions.workspace)
            let id = try workspace.resolveRun(runID)
            let runDirectory = workspace.runDirectory(id)
            let environment = workspaceOptions.environment
            let options = LoadOptions(isDryRun: dryRun, retryFailed: retryFailed)
            if dryRun {
                let config = try Self.targetConfig(workspace.config, environment: environment, withSecrets: false)
                let plan = try LoadRunner.plan(runDirectory: runDirectory, config: config, options: options)
                Self.printPlan(plan, run: id)
                return plan.invalid.isEmpty && plan.changed.isEmpty ? .success : .documentsFailed
            }
            let config = try Self.targetConfig(workspace.config, environment: environment, withSecrets: true)
            if config.insecureTLS {
                if KingdeeClient.insecureTLSIsSupported {
                    Console.error("ferry load: warning: target.insecure_tls is true; the Kingdee server's TLS certificate is NOT verified")
                } else {
                    Console.error(
                        "ferry load: warning: target.insecure_tls is not supported on this platform; certificates are still "
                            + "verified (install the server's CA certificate in the system trust store instead)")
                }
            }
            let lock = try workspace.lockRun(id)
            defer { lock.release() }
            Console.error("ferry load: run \(id), \(config.url)")
            let summary = try await LoadRunner.run(
                runDirectory: runDirectory, config: config, options: options, progress: { Console.error($0) })
            Self.printSummary(summary)
            return summary.hasProblems ? .documentsFailed : .success
        }
    }

    /// Resolves the `target` section of ferry.yaml; secrets are read only for the chosen auth mode.
    static func targetConfig(_ yaml: WorkspaceConfig, environment: [String: String], withSecrets: Bool)
        throws(Diagnostic) -> KingdeeTargetConfig
    {
        let authText = try yaml.choice(
            "target.auth", default: "signature", choices: KingdeeTargetConfig.AuthMode.allCases.map(\.rawValue),
            environment: environment)
        let auth = KingdeeTargetConfig.AuthMode(rawValue: authText) ?? .signature
        let purpose = "to load into Kingdee"
        var config = KingdeeTargetConfig(
            url: withSecrets ? try yaml.string("target.url", environment: environment, purpose: purpose) : "",
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
            if auth == .signature, !config.appID.contains("_") {
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
        return config
    }

    static func printPlan(_ plan: LoadPlan, run: String) {
        var out = "ferry load --dry-run: run \(run)\n"
        for (i, batch) in plan.batches.enumerated() {
            out += "batch \(i + 1): \(batch.formID), \(batch.documents.count) document(s)\n"
            for d in batch.documents { out += "  \(d.name).json  FBillNo \(d.billNumber)\n" }
        }
        for name in plan.inDoubt { out += "in doubt (checked with ExecuteBillQuery first): \(name).json\n" }
        for name in plan.alreadyLoaded { out += "already loaded: \(name).json\n" }
        for name in plan.changed { out += "changed since loaded (would not be sent): \(name).json\n" }
        for name in plan.failedNotRetried { out += "failed earlier (use --retry-failed): \(name).json\n" }
        print(out, terminator: "")
        for d in plan.invalid { Console.print(d) }
        let count = plan.batches.reduce(0) { $0 + $1.documents.count }
        Console.error(
            "ferry load --dry-run: \(count) document(s) in \(plan.batches.count) batch(es) would be sent; "
                + "\(plan.invalid.count) invalid, \(plan.alreadyLoaded.count) already loaded, \(plan.changed.count) changed; nothing sent")
    }

    static func printSummary(_ s: LoadSummary) {
        let classes = KingdeeErrorClass.allCases.map { "\($0.rawValue) \(s.failed[$0] ?? 0)" }.joined(separator: ", ")
        var lines = [
            "ferry load: summary",
            "  loaded:            \(s.loaded)",
            "  in doubt resolved: \(s.inDoubtFound + s.inDoubtResent) (\(s.inDoubtFound) found in Kingdee, \(s.inDoubtResent) sent again)",
            "  already loaded:    \(s.alreadyLoaded) (skipped)",
            "  changed:           \(s.changed.count)" + (s.changed.isEmpty ? "" : " (" + s.changed.map { $0 + ".json" }.joined(separator: ", ") + ")"),
            "  failed:            \(s.failedTotal) (\(classes))",
            "  requests:          \(s.requests)",
        ]
        if s.failedEarlier > 0 {
            lines.append("  \(s.failedEarlier) document(s) failed in an earlier run and were not re-posted; fix them, then `ferry load --retry-failed`")
        }
        if s.failedTotal > 0 { lines.append("  see the *.error.json files beside the payloads for what to fix") }
        Console.error(lines.joined(separator: "\n"))
    }
}
