import FerryCore
import FerrySchemes
import FerryTemplate
import FerryTransform
import Foundation

/// What to transform, with what, and where to write.
public struct TransformRequest: Sendable {
    /// Input files or directories (walked recursively, in sorted order).
    public var inputs: [String]
    /// The directory payloads, rejects and `manifest.json` are written to.
    public var outputDirectory: String
    /// The scheme template.
    public var templatePath: String
    /// Where `<lookup file="…">` files are found; `nil` means "no lookups directory".
    public var lookupsDirectory: String?
    /// Workspace settings (`org_number`, …).
    public var settings: [String: String]

    /// Creates a request.
    public init(
        inputs: [String], outputDirectory: String, templatePath: String, lookupsDirectory: String?,
        settings: [String: String]
    ) {
        self.inputs = inputs
        self.outputDirectory = outputDirectory
        self.templatePath = templatePath
        self.lookupsDirectory = lookupsDirectory
        self.settings = settings
    }
}

/// What a transform run did.
public struct TransformSummary: Sendable {
    /// Input files read.
    public var inputFiles = 0
    /// Input files with at least one error.
    public var filesWithErrors = 0
    /// Documents read (duplicates included).
    public var documents = 0
    /// Payload files written (or already up to date).
    public var payloads = 0
    /// Documents rejected.
    public var rejected = 0
    /// Documents skipped by a document filter.
    public var filtered = 0
    /// Older versions of duplicated documents not transformed.
    public var superseded = 0
    /// Entry lines dropped by entry filters.
    public var droppedLines = 0
    /// Warnings and per-file or per-document errors, for the console.
    public var diagnostics: [Diagnostic] = []

    /// Whether some document or file failed (exit code 1).
    public var hasDocumentFailures: Bool { rejected > 0 || filesWithErrors > 0 }
}

/// Runs the transform stage over files: the one place that reads inputs and writes payloads.
///
/// Reads every input, keeps the most recent version of each document, transforms each with the pure
/// `Transformer`, writes `<FBillNo>.json` payloads and `<stockin_no>.reject.json` files atomically (an
/// unchanged file is not rewritten), removes outputs of an earlier run that are no longer produced
/// (unless a receipt sits beside them), and writes `manifest.json` last. Outputs are byte-identical for
/// the same inputs, template, lookups and settings.
public enum TransformRunner {
    /// Names of files the transform never reads as input.
    static let ignoredInputNames: Set<String> = ["manifest.json"]

    /// Runs a transform.
    ///
    /// - Throws: `StageFailure` when the stage cannot run: an invalid template, a missing setting or
    ///   lookup file, or an input path that does not exist. Per-file and per-document problems do not
    ///   throw; they are in the summary and the manifest.
    public static func run(_ request: TransformRequest) throws(StageFailure) -> TransformSummary {
        var summary = TransformSummary()
        let (loaded, templateDiagnostics) = MappingTemplate.load(path: request.templatePath)
        guard let template = loaded else { throw StageFailure(templateDiagnostics) }
        summary.diagnostics += templateDiagnostics

        let context = TransformContext(
            template: template, lookups: try loadLookups(template, request: request, summary: &summary),
            settings: request.settings)
        let missing = context.missingSettings
        if !missing.isEmpty {
            throw StageFailure(
                missing.map { setting in
                    .error(
                        "the template reads setting '\(setting.name)', which is not set; pass --setting \(setting.name)=VALUE "
                            + "(or --org for org_number), or add settings.\(setting.name) to ferry.yaml",
                        file: template.file, line: setting.line)
                })
        }

        let files = try inputFiles(request.inputs)
        if files.isEmpty {
            summary.diagnostics.append(.warning("no input files (*.json, *.jsonl, *.ndjson) found", file: request.inputs.first))
        }
        var inputs: [InputFile] = []
        var orders: [StockInOrder] = []
        for (index, file) in files.enumerated() {
            var input: InputFile
            do {
                input = InputReader.read(try FileSystem.read(file), file: file, fileIndex: index, source: template.source)
            } catch {
                input = InputFile(file: file, shape: nil, orders: [], diagnostics: [error], sha256: "")
            }
            if input.diagnostics.contains(where: { $0.severity == .error }) { summary.filesWithErrors += 1 }
            summary.diagnostics += input.diagnostics
            orders += input.orders
            inputs.append(input)
        }
        summary.inputFiles = files.count
        summary.documents = orders.count

        let (unique, duplicates) = Deduplication.resolve(orders)
        summary.superseded = duplicates.reduce(0) { $0 + $1.superseded.count }

        let transformer = Transformer(context: context)
        var outputs: [(name: String, bytes: [UInt8])] = []
        var outputEntries: [JSONValue] = []
        var rejectEntries: [JSONValue] = []
        var filteredEntries: [JSONValue] = []
        var producerOfName: [String: StockInOrder] = [:]
        let writer = JSONWriter(style: .pretty)

        for order in unique {
            var result = transformer.transform(order)
            if case .bill(let bill) = result {
                let name = SafeFileName.make(bill.number) + ".json"
                if let other = producerOfName[name] {
                    result = .rejected([
                        RejectionReason(
                            field: template.target.numberField, jsonPath: nil,
                            message: "bill number '\(bill.number)' is also produced by \(other.key ?? "another document") "
                                + "(\(other.origin)); bill numbers must be unique",
                            templateLine: template.target.line)
                    ])
                } else {
                    producerOfName[name] = order
                }
            }
            switch result {
            case .bill(let bill):
                let bytes = writer.bytes(bill.payload)
                let name = SafeFileName.make(bill.number) + ".json"
                outputs.append((name, bytes))
                summary.payloads += 1
                summary.droppedLines += bill.droppedLines
                outputEntries.append(
                    .object(
                        JSONObject([
                            .init("file", .string(name)),
                            .init("bill_number", .string(bill.number)),
                            .init("key", order.key.map(JSONValue.string) ?? .null),
                            .init("sha256", .string(Hashing.sha256Hex(bytes))),
                            .init("lines", .number(String(bill.lines))),
                            .init("dropped_lines", .number(String(bill.droppedLines))),
                            .init("source", originValue(order.origin)),
                        ])))
            case .rejected(let reasons):
                let name = SafeFileName.make(order.key ?? "no-key-\(order.origin)") + ".reject.json"
                let body = rejectDocument(order, reasons: reasons, template: template)
                outputs.append((name, writer.bytes(body)))
                summary.rejected += 1
                for reason in reasons {
                    summary.diagnostics.append(
                        .error(
                            "\(order.key ?? "document") rejected: \(reason.field.map { "\($0): " } ?? "")\(reason.message)",
                            file: order.origin.file, line: order.origin.line, jsonPath: reason.jsonPath))
                }
                rejectEntries.append(
                    .object(
                        JSONObject([
                            .init("file", .string(name)),
                            .init("key", order.key.map(JSONValue.string) ?? .null),
                            .init("reasons", .number(String(reasons.count))),
                            .init("source", originValue(order.origin)),
                        ])))
            case .filtered(let outcome):
                summary.filtered += 1
                filteredEntries.append(
                    .object(
                        JSONObject([
                            .init("key", order.key.map(JSONValue.string) ?? .null),
                            .init("reason", .string(outcome.reason)),
                            .init("detail", .string(outcome.detail)),
                            .init("source", originValue(order.origin)),
                        ])))
            }
        }

        try write(outputs, to: request.outputDirectory, summary: &summary)

        let manifest = manifestValue(
            template: template, context: context, request: request, inputs: inputs, outputs: outputEntries,
            rejects: rejectEntries, filtered: filteredEntries, duplicates: duplicates, summary: summary)
        do {
            try FileSystem.writeAtomically(writer.bytes(manifest), to: request.outputDirectory + "/manifest.json")
        } catch {
            throw StageFailure([error])
        }
        return summary
    }

    // MARK: - Inputs

    static func inputFiles(_ paths: [String]) throws(StageFailure) -> [String] {
        var files: [String] = []
        var problems: [Diagnostic] = []
        for path in paths {
            if FileSystem.isDirectory(path) {
                do {
                    files += try FileSystem.filesRecursively(under: path).filter { file in
                        let name = (file as NSString).lastPathComponent
                        let lower = name.lowercased()
                        return !ignoredInputNames.contains(name) && !lower.hasSuffix(".reject.json")
                            && !lower.hasSuffix(".receipt.json") && !lower.hasSuffix(".error.json")
                            && (lower.hasSuffix(".json") || lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson"))
                    }
                } catch {
                    problems.append(error)
                }
            } else if FileSystem.exists(path) {
                files.append(path)
            } else {
                problems.append(.error("no such input file or directory; check the path", file: path))
            }
        }
        if !problems.isEmpty { throw StageFailure(problems) }
        return files
    }

    static func loadLookups(
        _ template: MappingTemplate, request: TransformRequest, summary: inout TransformSummary
    ) throws(StageFailure) -> [String: LookupTable] {
        var tables: [String: LookupTable] = [:]
        var problems: [Diagnostic] = []
        for (name, spec) in template.lookups.sorted(by: { $0.key < $1.key }) {
            guard case .csv(let file, let keyColumn, let valueColumn, let optional) = spec.origin else { continue }
            let path: String? = file.hasPrefix("/") ? file : request.lookupsDirectory.map { Workspace.join($0, file) }
            guard let path, FileSystem.exists(path) else {
                let shown = path ?? file
                if optional {
                    summary.diagnostics.append(
                        .warning(
                            "lookup '\(name)': \(shown) not found; values pass through unchanged (give --lookups DIR to use one)",
                            file: template.file, line: spec.line))
                    tables[name] = LookupTable(name: name, entries: [:])
                } else {
                    problems.append(
                        .error(
                            "lookup '\(name)': \(shown) not found; create it with columns \(keyColumn),\(valueColumn) "
                                + "or give --lookups DIR",
                            file: template.file, line: spec.line))
                }
                continue
            }
            do {
                tables[name] = try LookupTable.parseCSV(
                    FileSystem.read(path), file: path, name: name, keyColumn: keyColumn, valueColumn: valueColumn)
            } catch {
                problems.append(error)
            }
        }
        if !problems.isEmpty { throw StageFailure(problems) }
        return tables
    }

    // MARK: - Outputs

    static func write(
        _ outputs: [(name: String, bytes: [UInt8])], to directory: String, summary: inout TransformSummary
    ) throws(StageFailure) {
        let produced = Set(outputs.map(\.name))
        do {
            try FileSystem.createDirectory(directory)
            for (name, bytes) in outputs {
                let path = directory + "/" + name
                if let existing = try? FileSystem.read(path), existing == bytes { continue }
                try FileSystem.writeAtomically(bytes, to: path)
            }
            // Outputs of an earlier run that this run no longer produces.
            for name in previousOutputs(directory) where !produced.contains(name) {
                let base = name.hasSuffix(".reject.json") ? String(name.dropLast(".reject.json".count)) : String(name.dropLast(".json".count))
                if !name.hasSuffix(".reject.json") && FileSystem.exists(directory + "/" + base + ".receipt.json") {
                    summary.diagnostics.append(
                        .warning(
                            "this payload was loaded before (it has a receipt) but is no longer produced; it is kept",
                            file: directory + "/" + name))
                    continue
                }
                try FileSystem.remove(directory + "/" + name)
            }
        } catch {
            throw StageFailure([error])
        }
    }

    static func previousOutputs(_ directory: String) -> [String] {
        guard let bytes = try? FileSystem.read(directory + "/manifest.json"), let manifest = try? JSONReader.parse(bytes)
        else { return [] }
        var names: [String] = []
        for list in ["outputs", "rejected"] {
            for entry in manifest[list]?.arrayValue ?? [] {
                if let name = entry["file"]?.stringValue, !name.contains("/"), !name.hasPrefix(".") { names.append(name) }
            }
        }
        return names
    }

    static func originValue(_ origin: DocumentOrigin) -> JSONValue {
        var object = JSONObject([.init("file", .string(origin.file)), .init("path", .string(origin.jsonPath))])
        if let line = origin.line { object.append("line", .number(String(line))) }
        return .object(object)
    }

    static func rejectDocument(_ order: StockInOrder, reasons: [RejectionReason], template: MappingTemplate) -> JSONValue {
        let reasonValues: [JSONValue] = reasons.map { reason in
            var object = JSONObject()
            object.append("field", reason.field.map(JSONValue.string) ?? .null)
            object.append("source_file", .string(order.origin.file))
            object.append("json_path", reason.jsonPath.map(JSONValue.string) ?? .null)
            object.append("message", .string(reason.message))
            if let line = reason.templateLine { object.append("template_line", .number(String(line))) }
            return .object(object)
        }
        return .object(
            JSONObject([
                .init("key", order.key.map(JSONValue.string) ?? .null),
                .init("status", .string("rejected")),
                .init("source", originValue(order.origin)),
                .init("template", .object(JSONObject([.init("name", .string(template.name)), .init("version", .string(template.version))]))),
                .init("reasons", .array(reasonValues)),
                .init("hint", .string("fix the source data, the template or the lookups, then run `ferry transform` again")),
            ]))
    }

    static func manifestValue(
        template: MappingTemplate, context: TransformContext, request: TransformRequest, inputs: [InputFile],
        outputs: [JSONValue], rejects: [JSONValue], filtered: [JSONValue], duplicates: [DuplicateGroup],
        summary: TransformSummary
    ) -> JSONValue {
        let inputValues: [JSONValue] = inputs.map { input in
            var object = JSONObject([
                .init("file", .string(input.file)),
                .init("sha256", .string(input.sha256)),
                .init("shape", input.shape.map { .string($0.rawValue) } ?? .null),
                .init("documents", .number(String(input.orders.count))),
            ])
            let errors = input.diagnostics.filter { $0.severity == .error }.map { JSONValue.string($0.description) }
            object.append("errors", .array(errors))
            return .object(object)
        }
        let lookupValues: [JSONValue] = context.lookups.keys.sorted().compactMap { name in
            guard let table = context.lookups[name] else { return nil }
            return .object(
                JSONObject([
                    .init("name", .string(name)),
                    .init("file", table.file.map(JSONValue.string) ?? .null),
                    .init("sha256", table.sha256.map(JSONValue.string) ?? .null),
                    .init("entries", .number(String(table.entries.count))),
                ]))
        }
        let duplicateValues: [JSONValue] = duplicates.map { group in
            func version(_ order: StockInOrder) -> JSONValue {
                var object = originValue(order.origin).objectValue!
                object.append("version", order.version.map(JSONValue.string) ?? .null)
                return .object(object)
            }
            return .object(
                JSONObject([
                    .init("key", .string(group.key)),
                    .init("used", version(group.used)),
                    .init("superseded", .array(group.superseded.map(version))),
                ]))
        }
        let settings = JSONObject(context.settings.keys.sorted().map { .init($0, .string(context.settings[$0]!)) })
        let counts = JSONObject([
            .init("input_files", .number(String(summary.inputFiles))),
            .init("files_with_errors", .number(String(summary.filesWithErrors))),
            .init("documents", .number(String(summary.documents))),
            .init("superseded_duplicates", .number(String(summary.superseded))),
            .init("payloads", .number(String(summary.payloads))),
            .init("rejected", .number(String(summary.rejected))),
            .init("filtered", .number(String(summary.filtered))),
            .init("dropped_lines", .number(String(summary.droppedLines))),
        ])
        return .object(
            JSONObject([
                .init("stage", .string("transform")),
                .init(
                    "template",
                    .object(
                        JSONObject([
                            .init("name", .string(template.name)),
                            .init("version", .string(template.version)),
                            .init("file", .string(BuiltInSchemes.displayName(template.file))),
                            .init("sha256", .string(template.sha256)),
                        ]))),
                .init("settings", .object(settings)),
                .init("lookups", .array(lookupValues)),
                .init("counts", .object(counts)),
                .init("inputs", .array(inputValues)),
                .init("outputs", .array(outputs)),
                .init("rejected", .array(rejects)),
                .init("filtered", .array(filtered)),
                .init("duplicates", .array(duplicateValues)),
            ]))
    }
}

