import FerryCore
import FerrySchemes
import FerryTemplate
import FerryTransform
import Foundation

/// What reading one input file gave, without its documents.
struct InputSummary: Sendable {
    var file: String
    var sha256: String
    var shape: InputShape?
    var documents: Int
    var diagnostics: [Diagnostic]

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// One document, transformed (on a worker thread), waiting to be absorbed in input order.
struct DocumentResult: Sendable {
    enum Outcome: Sendable {
        case bill(number: String, bytes: [UInt8], sha256: String, lines: Int, dropped: Int)
        case rejected([RejectionReason])
        case filtered(FilterOutcome)
    }

    var key: String?
    var version: String?
    var origin: DocumentOrigin
    var outcome: Outcome
}

/// One input file's results.
struct FileResult: Sendable {
    var input: InputSummary
    var documents: [DocumentResult]
}

/// Runs `produce` for indices `0..<count` on `workers` threads (the calling thread among them), at most
/// `window` ahead of the consumer, and hands the results to `consume` in index order.
///
/// Whichever worker finishes the next result in order consumes it (and any following ones already
/// done), so absorbing results (deduplication, bill numbers, file writes) overlaps the other workers'
/// transforms instead of every worker waiting for it at the end of a window, and no extra thread is
/// needed (a separate consumer thread left one core idle a third of the time). `consume` runs on one
/// thread at a time. If it throws, the workers stop after the item they are on and the error is rethrown.
enum OrderedPipeline {
    static func run<Result: Sendable>(
        count: Int, workers: Int, window: Int, produce: (Int) -> Result,
        consume: @escaping (Result) throws(Diagnostic) -> Void
    ) throws(Diagnostic) {
        guard count > 0 else { return }
        let state = State<Result>(count: count, window: max(1, window), consume: consume)
        withoutActuallyEscaping(produce) { produce in
            nonisolated(unsafe) let produce = produce
            DispatchQueue.concurrentPerform(iterations: max(1, min(workers, count))) { _ in
                while true {
                    state.drain()
                    switch state.next() {
                    case .produce(let index): state.put(index, produce(index))
                    case .wait: state.waitForChange()
                    case .done:
                        state.drain()
                        return
                    }
                }
            }
        }
        if let error = state.failure { throw error }
    }

    /// Slots, the next index to hand out, and who is consuming.
    final class State<Result: Sendable>: @unchecked Sendable {
        enum Step { case produce(Int), wait, done }

        private let lock = NSCondition()
        private let consumeLock = NSLock()
        private var slots: [Result?]
        private var nextIndex = 0
        private var consumed = 0
        private let window: Int
        private let consume: (Result) throws(Diagnostic) -> Void
        private(set) var failure: Diagnostic?

        init(count: Int, window: Int, consume: @escaping (Result) throws(Diagnostic) -> Void) {
            slots = Array(repeating: nil, count: count)
            self.window = window
            self.consume = consume
        }

        func next() -> Step {
            lock.lock()
            defer { lock.unlock() }
            if failure != nil || nextIndex >= slots.count { return .done }
            if nextIndex - consumed >= window { return .wait }
            nextIndex += 1
            return .produce(nextIndex - 1)
        }

        func put(_ index: Int, _ result: Result) {
            lock.lock()
            slots[index] = result
            lock.broadcast()
            lock.unlock()
        }

        /// Sleeps until a result is put or consumed.
        func waitForChange() {
            lock.lock()
            let seen = (consumed, nextIndex)
            while failure == nil && (consumed, nextIndex) == seen && !(consumed < slots.count && slots[consumed] != nil) {
                lock.wait()
            }
            lock.unlock()
        }

        /// Consumes every result that is ready in order, unless another worker is doing so.
        func drain() {
            while consumeLock.try() {
                while let result = takeReady() {
                    do throws(Diagnostic) {
                        try consume(result)
                    } catch {
                        lock.lock()
                        failure = error
                        lock.broadcast()
                        lock.unlock()
                    }
                }
                consumeLock.unlock()
                // A result put while we held the consume lock found it taken: look once more.
                lock.lock()
                let more = failure == nil && consumed < slots.count && slots[consumed] != nil
                lock.unlock()
                if !more { return }
            }
        }

        private func takeReady() -> Result? {
            lock.lock()
            defer { lock.unlock() }
            guard failure == nil, consumed < slots.count, let result = slots[consumed] else { return nil }
            slots[consumed] = nil
            consumed += 1
            lock.broadcast()
            return result
        }
    }
}

/// What the manifest needs to know about one document: a small record, kept for every document.
struct DocumentRecord {
    enum Kind {
        case bill(file: String, number: String, sha256: String, lines: Int, dropped: Int)
        case rejected(file: String, reasons: Int, diagnostics: [Diagnostic])
        case filtered(reason: String, detail: String)
    }

    var key: String?
    var version: String?
    var origin: DocumentOrigin
    var kind: Kind
    var isSuperseded = false

    var fileName: String? {
        switch kind {
        case .bill(let file, _, _, _, _), .rejected(let file, _, _): return file
        case .filtered: return nil
        }
    }
}

/// Absorbs transformed documents in input order: keeps the most recent version of each key, gives each
/// bill number to one document, writes payload and reject files, and remembers a record per document.
struct OutputCollector {
    let directory: String
    let template: MappingTemplate
    private(set) var inputs: [InputSummary] = []
    private(set) var records: [DocumentRecord] = []
    /// Index of the current (winning) record of each key.
    private var current: [String: Int] = [:]
    /// Every record index of each key seen more than once, in input order.
    private var occurrences: [String: [Int]] = [:]
    /// Which key holds each payload file name.
    private var claims: [String: String] = [:]
    /// File names written in this run (and not removed since).
    private(set) var produced: Set<String> = []
    private let writer = JSONWriter(style: .pretty)
    /// Files an earlier run listed: only these can already hold the bytes about to be written.
    private let earlier: Set<String>

    init(directory: String, template: MappingTemplate, earlier: Set<String>) {
        self.directory = directory
        self.template = template
        self.earlier = earlier
    }

    mutating func absorb(_ result: FileResult) throws(Diagnostic) {
        inputs.append(result.input)
        for document in result.documents { try absorb(document) }
    }

    private mutating func absorb(_ document: DocumentResult) throws(Diagnostic) {
        let index = records.count
        if let key = document.key {
            if let previous = current[key] {
                occurrences[key, default: [previous]].append(index)
                let earlier = records[previous]
                let newer = Deduplication.replaces(document.version, earlier.version)
                if !newer {
                    records.append(superseded(document))
                    return
                }
                records[previous].isSuperseded = true
                try release(records[previous], key: key)
            }
            current[key] = index
        }
        records.append(try write(document))
    }

    /// The record of a version that lost to one read earlier: never written, listed under `duplicates`.
    private func superseded(_ document: DocumentResult) -> DocumentRecord {
        var record = DocumentRecord(
            key: document.key, version: document.version, origin: document.origin, kind: .filtered(reason: "", detail: ""))
        record.isSuperseded = true
        return record
    }

    /// Removes the files of a record that lost to a newer version, and its bill-number claim.
    private mutating func release(_ record: DocumentRecord, key: String) throws(Diagnostic) {
        guard let name = record.fileName else { return }
        if case .bill = record.kind, claims[name] == key { claims[name] = nil }
        produced.remove(name)
        try FileSystem.remove(directory + "/" + name)
    }

    private mutating func write(_ document: DocumentResult) throws(Diagnostic) -> DocumentRecord {
        var outcome = document.outcome
        if case .bill(let number, _, _, _, _) = outcome {
            let name = SafeFileName.make(number) + ".json"
            if let holder = claims[name], holder != document.key {
                outcome = .rejected([
                    RejectionReason(
                        field: template.target.numberField, jsonPath: nil,
                        message: "bill number '\(number)' is also produced by \(holder); bill numbers must be unique",
                        templateLine: template.target.line)
                ])
            } else {
                claims[name] = document.key ?? name
            }
        }
        switch outcome {
        case .bill(let number, let bytes, let sha256, let lines, let dropped):
            let name = SafeFileName.make(number) + ".json"
            try put(bytes, name)
            return DocumentRecord(
                key: document.key, version: document.version, origin: document.origin,
                kind: .bill(file: name, number: number, sha256: sha256, lines: lines, dropped: dropped))
        case .rejected(let reasons):
            let name = SafeFileName.make(document.key ?? "no-key-\(document.origin)") + ".reject.json"
            try put(writer.bytes(TransformRunner.rejectDocument(key: document.key, origin: document.origin, reasons: reasons, template: template)), name)
            let diagnostics = reasons.map { reason in
                Diagnostic.error(
                    "\(document.key ?? "document") rejected: \(reason.field.map { "\($0): " } ?? "")\(reason.message)",
                    file: document.origin.file, line: document.origin.line, jsonPath: reason.jsonPath)
            }
            return DocumentRecord(
                key: document.key, version: document.version, origin: document.origin,
                kind: .rejected(file: name, reasons: reasons.count, diagnostics: diagnostics))
        case .filtered(let filtered):
            return DocumentRecord(
                key: document.key, version: document.version, origin: document.origin,
                kind: .filtered(reason: filtered.reason, detail: filtered.detail))
        }
    }

    /// Writes a file unless it already holds exactly these bytes (no fsync: see `syncFileSystem`).
    private mutating func put(_ bytes: [UInt8], _ name: String) throws(Diagnostic) {
        produced.insert(name)
        let path = directory + "/" + name
        if earlier.contains(name), let existing = try? FileSystem.read(path), existing == bytes { return }
        try FileSystem.writeAtomically(bytes, to: path, durable: false)
    }

    /// Removes outputs an earlier run listed that this run no longer produces (keeping loaded payloads).
    func removeStale(_ previous: [String], summary: inout TransformSummary) throws(Diagnostic) {
        for name in previous where !produced.contains(name) {
            let isReject = name.hasSuffix(".reject.json")
            let base = isReject ? String(name.dropLast(".reject.json".count)) : String(name.dropLast(".json".count))
            if !isReject && FileSystem.exists(directory + "/" + base + ".receipt.json") {
                summary.diagnostics.append(
                    .warning(
                        "this payload was loaded before (it has a receipt) but is no longer produced; it is kept",
                        file: directory + "/" + name))
                continue
            }
            try FileSystem.remove(directory + "/" + name)
        }
    }

    /// Adds the final counts and the rejection diagnostics to `summary`.
    func tally(_ summary: inout TransformSummary) {
        for record in records {
            if record.isSuperseded {
                summary.superseded += 1
                continue
            }
            switch record.kind {
            case .bill(_, _, _, _, let dropped):
                summary.payloads += 1
                summary.droppedLines += dropped
            case .rejected(_, _, let diagnostics):
                summary.rejected += 1
                summary.diagnostics += diagnostics
            case .filtered:
                summary.filtered += 1
            }
        }
    }

    /// Keys seen more than once, sorted, with the winning record and the superseded ones (input order).
    var duplicates: [(key: String, used: Int, superseded: [Int])] {
        occurrences.keys.sorted().map { key in
            let winner = current[key]!
            return (key, winner, occurrences[key]!.filter { $0 != winner })
        }
    }
}

extension TransformRunner {
    static func rejectDocument(key: String?, origin: DocumentOrigin, reasons: [RejectionReason], template: MappingTemplate)
        -> JSONValue
    {
        let reasonValues: [JSONValue] = reasons.map { reason in
            var object = JSONObject()
            object.append("field", reason.field.map(JSONValue.string) ?? .null)
            object.append("source_file", .string(origin.file))
            object.append("json_path", reason.jsonPath.map(JSONValue.string) ?? .null)
            object.append("message", .string(reason.message))
            if let line = reason.templateLine { object.append("template_line", .number(String(line))) }
            return .object(object)
        }
        return .object(
            JSONObject([
                .init("key", key.map(JSONValue.string) ?? .null),
                .init("status", .string("rejected")),
                .init("source", originValue(origin)),
                .init(
                    "template",
                    .object(JSONObject([.init("name", .string(template.name)), .init("version", .string(template.version))]))),
                .init("reasons", .array(reasonValues)),
                .init("hint", .string("fix the source data, the template or the lookups, then run `ferry transform` again")),
            ]))
    }

    /// Writes `manifest.json` piece by piece (it lists every document, so it is never built whole).
    static func writeManifest(
        to path: String, template: MappingTemplate, context: TransformContext, inputs: [InputSummary],
        collector: OutputCollector, summary: TransformSummary
    ) throws(Diagnostic) {
        let file = try StreamingFile(path: path)
        let writer = JSONWriter(style: .pretty)
        func value(_ v: JSONValue, indent: Int) -> [UInt8] {
            var out: [UInt8] = []
            writer.write(v, into: &out, indent: indent)
            return out
        }
        var firstMember = true
        func member(_ key: String, _ v: JSONValue) throws(Diagnostic) {
            try file.write((firstMember ? "{\n  " : ",\n  "))
            firstMember = false
            var keyBytes: [UInt8] = []
            JSONWriter.writeString(key, into: &keyBytes)
            try file.write(keyBytes + Array(": ".utf8) + value(v, indent: 1))
        }
        func array(_ key: String, _ elements: some Sequence<JSONValue>) throws(Diagnostic) {
            try file.write(",\n  ")
            var keyBytes: [UInt8] = []
            JSONWriter.writeString(key, into: &keyBytes)
            try file.write(keyBytes + Array(": [".utf8))
            var empty = true
            for element in elements {
                try file.write((empty ? "\n    " : ",\n    "))
                try file.write(value(element, indent: 2))
                empty = false
            }
            try file.write(empty ? "]" : "\n  ]")
        }

        try member("stage", .string("transform"))
        try member(
            "template",
            .object(
                JSONObject([
                    .init("name", .string(template.name)), .init("version", .string(template.version)),
                    .init("file", .string(BuiltInSchemes.displayName(template.file))), .init("sha256", .string(template.sha256)),
                ])))
        try member("settings", .object(JSONObject(context.settings.keys.sorted().map { .init($0, .string(context.settings[$0]!)) })))
        try member(
            "lookups",
            .array(
                context.lookups.keys.sorted().compactMap { name in
                    guard let table = context.lookups[name] else { return nil }
                    return .object(
                        JSONObject([
                            .init("name", .string(name)), .init("file", table.file.map(JSONValue.string) ?? .null),
                            .init("sha256", table.sha256.map(JSONValue.string) ?? .null),
                            .init("entries", .number(String(table.entries.count))),
                        ]))
                }))
        func n(_ value: Int) -> JSONValue { .number(String(value)) }
        try member(
            "counts",
            .object(
                JSONObject([
                    .init("input_files", n(summary.inputFiles)), .init("files_with_errors", n(summary.filesWithErrors)),
                    .init("documents", n(summary.documents)), .init("superseded_duplicates", n(summary.superseded)),
                    .init("payloads", n(summary.payloads)), .init("rejected", n(summary.rejected)),
                    .init("filtered", n(summary.filtered)), .init("dropped_lines", n(summary.droppedLines)),
                ])))
        try array(
            "inputs",
            inputs.lazy.map { input in
                .object(
                    JSONObject([
                        .init("file", .string(input.file)), .init("sha256", .string(input.sha256)),
                        .init("shape", input.shape.map { .string($0.rawValue) } ?? .null),
                        .init("documents", n(input.documents)),
                        .init("errors", .array(input.diagnostics.filter { $0.severity == .error }.map { .string($0.description) })),
                    ]))
            })
        let live = collector.records.lazy.filter { !$0.isSuperseded }
        try array(
            "outputs",
            live.compactMap { record -> JSONValue? in
                guard case .bill(let file, let number, let sha, let lines, let dropped) = record.kind else { return nil }
                return .object(
                    JSONObject([
                        .init("file", .string(file)), .init("bill_number", .string(number)),
                        .init("key", record.key.map(JSONValue.string) ?? .null), .init("sha256", .string(sha)),
                        .init("lines", n(lines)), .init("dropped_lines", n(dropped)), .init("source", originValue(record.origin)),
                    ]))
            })
        try array(
            "rejected",
            live.compactMap { record -> JSONValue? in
                guard case .rejected(let file, let reasons, _) = record.kind else { return nil }
                return .object(
                    JSONObject([
                        .init("file", .string(file)), .init("key", record.key.map(JSONValue.string) ?? .null),
                        .init("reasons", n(reasons)), .init("source", originValue(record.origin)),
                    ]))
            })
        try array(
            "filtered",
            live.compactMap { record -> JSONValue? in
                guard case .filtered(let reason, let detail) = record.kind else { return nil }
                return .object(
                    JSONObject([
                        .init("key", record.key.map(JSONValue.string) ?? .null), .init("reason", .string(reason)),
                        .init("detail", .string(detail)), .init("source", originValue(record.origin)),
                    ]))
            })
        func version(_ index: Int) -> JSONValue {
            let record = collector.records[index]
            var object = originValue(record.origin).objectValue!
            object.append("version", record.version.map(JSONValue.string) ?? .null)
            return .object(object)
        }
        try array(
            "duplicates",
            collector.duplicates.lazy.map { group in
                .object(
                    JSONObject([
                        .init("key", .string(group.key)), .init("used", version(group.used)),
                        .init("superseded", .array(group.superseded.map(version))),
                    ]))
            })
        try file.write("\n}\n")
        try file.commit()
    }
}
