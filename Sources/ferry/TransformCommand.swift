import ArgumentParser
import FerryCore
import FerrySchemes
import FerryPipeline
import FerryWorkspace

/// `ferry transform`: WDT pages → Kingdee payload files, offline or inside a run.
struct TransformCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transform",
        abstract: "Map WDT stock-in orders to Kingdee 其他入库单 payloads (no network).",
        discussion: """
            Offline: ferry transform --input PATH... --output DIR [--template FILE] [--lookups DIR] [--org NUMBER]
            In a workspace: ferry transform [--workspace DIR] [--run ID]   (reads runs/ID/extract, writes runs/ID/transform)
            Inputs: Qimen pages, open-API pages, JSON arrays of orders, or JSON Lines; directories are walked \
            recursively in sorted order.
            """)

    @Option(name: .long, parsing: .upToNextOption, help: "Input files or directories (offline mode).")
    var input: [String] = []

    @Option(help: "Output directory (offline mode).")
    var output: String?

    @Option(help: "Scheme template (default: the built-in scheme, or the workspace's).")
    var template: String?

    @Option(help: "Directory of lookup CSV files (default: none offline, the workspace's lookups/ in a workspace).")
    var lookups: String?

    @Option(help: "Kingdee organisation number (setting org_number; default 100 offline).")
    var org: String?

    @Option(name: .customLong("setting"), help: "A template setting, NAME=VALUE (repeatable).")
    var settings: [String] = []

    @Option(name: .long, help: "The workspace directory (holds ferry.yaml).")
    var workspace: String?

    @Option(help: "The run to transform (default: the newest).")
    var run: String?

    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        if !input.isEmpty {
            guard output != nil else { throw ValidationError("--input needs --output DIR") }
            guard run == nil else { throw ValidationError("--run works on a workspace run; do not combine it with --input") }
        } else if output != nil {
            throw ValidationError("--output goes with --input (offline mode); inside a workspace, output goes to runs/ID/transform")
        }
        for setting in settings where !setting.contains("=") || setting.hasPrefix("=") {
            throw ValidationError("--setting expects NAME=VALUE, not '\(setting)'")
        }
    }

    func run() async throws {
        try await runCommand {
            var extra: [String: String] = [:]
            for setting in settings {
                let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
                extra[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            if let org { extra["org_number"] = org }
            let summary: TransformSummary
            let outputDirectory: String
            if !input.isEmpty {
                var settingsMap = ["org_number": "100"]
                settingsMap.merge(extra) { $1 }
                let request = TransformRequest(
                    inputs: input, outputDirectory: output!,
                    templatePath: template ?? BuiltInSchemes.path(BuiltInSchemes.templateFileNames[0]),
                    lookupsDirectory: lookups, settings: settingsMap)
                outputDirectory = request.outputDirectory
                summary = try TransformRunner.run(request)
            } else {
                let space = try Workspace(root: workspace ?? ".")
                let id = try space.resolveRun(run)
                let lock = try space.lockRun(id)
                defer { lock.release() }
                Console.error("transform: run \(id)")
                let pipeline = Pipeline(
                    workspace: space, environment: WorkspaceOptions.environment, progress: outputOptions.progress(),
                    logger: outputOptions.logger())
                outputDirectory = Workspace.join(space.runDirectory(id), "transform")
                summary = try await pipeline.transform(
                    runID: id, settings: extra, templatePath: template, lookupsDirectory: lookups)
            }
            printDiagnostics(summary.diagnostics, outputDirectory: outputDirectory)
            Console.error(
                "transform: \(summary.documents) document(s) in \(summary.inputFiles) file(s) → \(summary.payloads) payload(s), "
                    + "\(summary.rejected) rejected, \(summary.filtered) filtered, \(summary.superseded) superseded duplicate(s), "
                    + "\(summary.droppedLines) line(s) dropped from payloads; \(summary.filesWithErrors) file(s) with errors → \(outputDirectory)")
            return summary.hasDocumentFailures ? .documentsFailed : .success
        }
    }

    /// Prints diagnostics, at most 50 errors (the rest are in the reject files and the manifest).
    private func printDiagnostics(_ diagnostics: [Diagnostic], outputDirectory: String) {
        let limit = 50
        var shown = 0
        for diagnostic in diagnostics {
            if diagnostic.severity == .error {
                shown += 1
                if shown > limit { continue }
            }
            Console.print(diagnostic)
        }
        if shown > limit {
            Console.error("… and \(shown - limit) more error(s): see \(outputDirectory)/*.reject.json and manifest.json")
        }
    }
}
