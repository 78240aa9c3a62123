import ArgumentParser
import FerryCore
import FerryKingdee
import FerryPipeline
import FerryWorkspace
import Foundation

/// `ferry load`: posts the run's Kingdee payloads with BatchSave, exactly once.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Post the run's payloads to 金蝶云星空 with BatchSave, exactly once.",
        discussion: """
            Reads runs/<id>/transform/*.json and writes <name>.receipt.json or <name>.error.json beside each \
            payload; the journal is runs/<id>/load/journal.jsonl. Batches interrupted by a crash, a timeout or a lost \
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

    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runCommand {
            let workspace = try Workspace(root: workspaceOptions.workspace)
            let id = try workspace.resolveRun(runID)
            let runDirectory = workspace.runDirectory(id)
            let environment = workspaceOptions.environment
            let options = LoadOptions(isDryRun: dryRun, retryFailed: retryFailed)
            if dryRun {
                let config = try KingdeeTargetConfig.resolved(from: workspace.config, environment: environment, withSecrets: false)
                let plan = try LoadRunner.plan(
                    runDirectory: runDirectory, config: config, options: options, otherRuns: workspace.otherRuns(than: id))
                Self.printPlan(plan, run: id)
                // The exit code the load would give for what can be seen without sending.
                return plan.invalid.isEmpty && plan.changed.isEmpty && plan.failedNotRetried.isEmpty ? .success : .documentsFailed
            }
            let lock = try workspace.lockRun(id)
            defer { lock.release() }
            let pipeline = Pipeline(
                workspace: workspace, environment: environment, progress: output.progress(), logger: output.logger())
            // The settings are resolved within the stage: one that cannot be (a variable not set) is recorded in
            // run.json as a load that could not run, as `ferry run` records it.
            let summary = try await pipeline.load(runID: id, options: options) { config in
                if config.insecureTLS {
                    Console.error("ferry load: warning: target.insecure_tls is true; the Kingdee server's TLS certificate is NOT verified")
                }
                Console.error("ferry load: run \(id), \(config.url)")
            }
            Self.printSummary(summary)
            return summary.hasProblems ? .documentsFailed : .success
        }
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
        for name in plan.unfinished { out += "saved, still to submit/audit (FDocumentStatus asked first): \(name).json\n" }
        for name in plan.notProduced {
            out += "no longer produced by the transform (nothing sent for it: check its bill in Kingdee): \(name).json\n"
        }
        for bill in plan.stepsInDoubt {
            let then = !bill.hasReceipt
                ? "no readable receipt: looked up in Kingdee before anything is sent, its receipt written again if found"
                : bill.mayAdvance
                    ? "FDocumentStatus asked first, then only the steps still missing sent"
                    : "FDocumentStatus asked and recorded, no submit or audit sent"
            out += "\(bill.step) in doubt (never answered; \(then)): \(bill.name).json\n"
        }
        for bill in plan.savedWithoutReceipt {
            out += "saved earlier as Id \(bill.billID) (no receipt: looked up in Kingdee before anything is sent, its receipt "
                + "written again if found, sent as new if not): \(bill.name).json\n"
        }
        print(out, terminator: "")
        for d in plan.invalid { Console.print(d) }
        let count = plan.batches.reduce(0) { $0 + $1.documents.count }
        // Bills whose Submit or Audit was never answered: their FDocumentStatus is asked, so they are counted.
        let steps = plan.stepsInDoubt.isEmpty
            ? "" : ", \(plan.stepsInDoubt.count) with a Submit or Audit never answered (FDocumentStatus asked)"
        let lookedUp = plan.savedWithoutReceipt.isEmpty
            ? "" : ", \(plan.savedWithoutReceipt.count) saved earlier without a receipt (looked up in Kingdee first)"
        Console.error(
            "ferry load --dry-run: \(count) document(s) in \(plan.batches.count) batch(es) would be sent; "
                + "\(plan.invalid.count) invalid, \(plan.alreadyLoaded.count) already loaded, \(plan.changed.count) changed"
                + steps + lookedUp + "; nothing sent")
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
        if s.submitted + s.audited + s.savedNotFinished > 0 {
            lines.insert("  submitted:         \(s.submitted)", at: 2)
            lines.insert("  audited:           \(s.audited)", at: 3)
        }
        if s.savedNotFinished > 0 {
            lines.append("  \(s.savedNotFinished) document(s) are saved in Kingdee but their Submit or Audit failed (the *.error.json "
                + "names the step); fix them in Kingdee, or rerun `ferry load --retry-failed` (Kingdee's FDocumentStatus is asked first)")
        }
        if s.inDoubtFoundWithoutPayload > 0 {
            lines.append("  \(s.inDoubtFoundWithoutPayload) bill(s) in doubt were found in Kingdee although the transform no longer "
                + "produces a valid payload for them: receipts written; check those bills in Kingdee")
        }
        if !s.notProduced.isEmpty {
            let shown = s.notProduced.prefix(5).map { $0 + ".json" }.joined(separator: ", ")
                + (s.notProduced.count > 5 ? ", …" : "")
            lines.append("  \(s.notProduced.count) payload(s) the transform no longer produces were left alone (not saved, "
                + "submitted or audited: \(shown)); check their bills in Kingdee")
        }
        if s.failedEarlier > 0 {
            lines.append("  \(s.failedEarlier) document(s) failed in an earlier run and were not re-posted; fix them, then `ferry load --retry-failed`")
        }
        if s.failedTotal > 0 { lines.append("  see the *.error.json files beside the payloads for what to fix") }
        Console.error(lines.joined(separator: "\n"))
    }
}
