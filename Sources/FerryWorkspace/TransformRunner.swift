import FerryCore
import FerrySchemes
import FerryTemplate
import FerryTransform
import Dispatch
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
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let window = workers * 3
        // The inputs are listed first, and the first window of them read and hashed on another core while
        // the template and lookups load (which needs neither); a problem with them is still reported after
        // the template's.
        let listed = Result { () throws(StageFailure) in try inputFiles(request.inputs) }
        let prefetch = InputPrefetch(
            files: (try? listed.get())?.files ?? [], count: window, special: (try? listed.get())?.special ?? [])
        let (loaded, templateDiagnostics) = MappingTemplate.load(path: request.templatePath)
        guard let template = loaded else { throw StageFailure(templateDiagnostics) }
        summary.diagnostics += templateDiagnostics

        let context = try context(for: template, request: request, summary: &summary)

        let (files, skipped, special) = try listed.get()
        try checkOutsideInputs(request)
        if files.isEmpty {
            summary.diagnostics.append(.warning("no input files (*.json, *.jsonl, *.ndjson) found", file: request.inputs.first))
        }
        if !skipped.isEmpty {
            // Named, so that an export saved as .txt or .csv is not left out unnoticed.
            let shown = skipped.prefix(5).joined(separator: ", ") + (skipped.count > 5 ? ", …" : "")
            summary.diagnostics.append(
                .warning(
                    "\(skipped.count) file(s) not read, as their names do not end in .json, .jsonl or .ndjson: \(shown); "
                        + "rename one that holds orders to read it",
                    file: request.inputs.first))
        }
        summary.inputFiles = files.count
        let directory = request.outputDirectory
        do {
            try FileSystem.createDirectory(directory)
        } catch {
            throw StageFailure([error])
        }
        // A transform of this directory that did not finish left a marker naming what it wrote: those
        // files count as an earlier run's outputs (removed if no longer produced), like the manifest's.
        let markerPath = TransformMarker.path(in: directory)
        let unfinished = (try? FileSystem.read(markerPath)) ?? []
        var previous = previousOutputs(directory)
        var listedBefore = Set(previous)
        for name in TransformMarker.names(in: unfinished)
        where !name.contains("/") && !name.hasPrefix(".") && listedBefore.insert(name).inserted {
            previous.append(name)
        }
        let marker: AppendOnlyFile
        do {
            // Complete lines only: a torn last line (a crash as it was written) is cut off.
            let valid = AppendOnlyFile.lines(of: unfinished).last.map { $0.bytes.endIndex + 1 } ?? 0
            marker = try AppendOnlyFile(path: markerPath, validLength: valid)
            // Durable before any payload is written: load refuses the directory until the manifest is.
            try marker.append(Array("[]".utf8), durable: true)
            FileSystem.syncDirectory(directory)
        } catch {
            throw StageFailure([error])
        }

        // Files are read, parsed and transformed in parallel, a few files ahead of the collector, which
        // absorbs their results one file after the other, in input order, so every decision (which version
        // of a document wins, which document keeps a bill number) is the same as a serial run's. Memory
        // holds the files in the window and, per document, a map entry or two and a spool offset (manifest
        // entries go to a temporary file as documents are absorbed), never the corpus.
        let transformer = Transformer(context: context)
        let keys = InputReader.keySet(for: template)
        let box: CollectorBox
        do {
            box = CollectorBox(try OutputCollector(directory: directory, template: template, earlier: Set(previous)))
        } catch {
            throw StageFailure([error])
        }
        prefetch.stop()
        do {
            try OrderedPipeline.run(
                count: files.count, workers: workers, window: window,
                produce: { index in
                    processFile(
                        files[index], index: index, transformer: transformer, keys: keys,
                        read: prefetch.take(index) ?? InputPrefetch.Read(files[index], isSpecial: special.contains(files[index])))
                },
                consume: { (result: FileResult) throws(Diagnostic) in
                    // The names this file's documents may write, before they are written (see `TransformMarker`).
                    try marker.append(markerLine(for: result), durable: false)
                    try box.value.absorb(result)
                })
        } catch {
            throw StageFailure([error])
        }
        do {
            try box.value.nameCurrentHolders()
        } catch {
            throw StageFailure([error])
        }
        let collector = box.value
        let inputs = collector.inputs

        do {
            try collector.removeStale(previous, summary: &summary)
            // Payloads and rejects were written without an fsync each; one flush makes them all durable
            // before the manifest (written durably, last) says they exist.
            FileSystem.syncFileSystem(containing: directory)
            summary.filesWithErrors = inputs.filter(\.hasErrors).count
            summary.diagnostics += inputs.flatMap(\.diagnostics)
            summary.documents = collector.documents
            collector.tally(&summary)
            try writeManifest(
                to: directory + "/manifest.json", template: template, context: context, inputs: inputs,
                collector: collector, summary: summary)
            // The manifest is durable and says what the directory holds: the transform has finished.
            try FileSystem.remove(markerPath)
        } catch {
            throw StageFailure([error])
        }
        return summary
    }

    /// Reads the first input files, and hashes them, on another thread while the transform sets up: every
    /// run's set-up (template, XSD, lookups: ~2 ms) is otherwise time when only one core works. The
    /// pipeline `take`s each file: read already, being read (it waits), or not started (it reads the file
    /// itself, and the prefetch skips it). Only during the set-up: once the pipeline starts (`stop()`),
    /// no new file is started, so large files are neither read one after the other by this one thread
    /// while workers wait, nor held ahead of them. At most `count` files, the pipeline's window.
    final class InputPrefetch: @unchecked Sendable {
        /// A file's bytes (or why they could not be read) and, when read, their SHA-256.
        struct Read: Sendable {
            var bytes: Result<[UInt8], Diagnostic>
            var sha256: String?

            /// Reads and hashes `file`; a FIFO, socket or device found in an input directory (`isSpecial`) is
            /// not opened: reading it could wait for ever, or never end.
            init(_ file: String, isSpecial: Bool = false) {
                if isSpecial {
                    bytes = .failure(
                        .error(
                            "not a regular file (a FIFO, socket or device), so it is not read: move it out of the input "
                                + "directory, or name it as an input of its own to read it",
                            file: file))
                    sha256 = nil
                    return
                }
                do {
                    let bytes = try FileSystem.read(file)
                    self.bytes = .success(bytes)
                    sha256 = Hashing.sha256Hex(bytes)
                } catch {
                    self.bytes = .failure(error)
                    sha256 = nil
                }
            }
        }

        private enum Slot {
            case pending
            case reading(DispatchSemaphore)
            case ready(Read)
            case taken
        }

        private let lock = Mutex()
        /// Guarded by `lock`; `count` of them, a number that never changes.
        private var slots: [Slot]
        private let count: Int
        /// Guarded by `lock`: no file is started once set.
        private var stopped = false
        /// Guarded by `lock`: how many files the prefetch started.
        private var started = 0

        init(files: [String], count: Int, special: Set<String> = []) {
            self.count = min(count, files.count)
            slots = Array(repeating: .pending, count: self.count)
            guard self.count > 0 else { return }
            DispatchQueue.global().async { [self] in
                for index in 0..<self.count {
                    let done = DispatchSemaphore(value: 0)
                    let claimed = lock.withLock { () -> Bool? in
                        if stopped { return nil }
                        guard case .pending = slots[index] else { return false }
                        slots[index] = .reading(done)
                        started += 1
                        return true
                    }
                    guard let claimed else { return }
                    guard claimed else { continue }
                    let read = Read(files[index], isSpecial: special.contains(files[index]))
                    lock.withLock { slots[index] = .ready(read) }
                    done.signal()
                }
            }
        }

        /// Starts no more files: the pipeline reads those the prefetch has not started. A file being read
        /// is finished (and `take` waits for it).
        func stop() {
            lock.withLock { stopped = true }
        }

        /// Whether the prefetch has nothing left to do: no file being read, and none left to start (every
        /// one read or taken, or `stop()` called).
        var isDone: Bool {
            lock.withLock {
                slots.allSatisfy { slot in
                    switch slot {
                    case .reading: return false
                    case .pending: return stopped
                    case .ready, .taken: return true
                    }
                }
            }
        }

        /// How many files the prefetch started reading.
        var startedCount: Int { lock.withLock { started } }

        /// File `index` as the prefetch read it, or nil when the caller is to read it.
        func take(_ index: Int) -> Read? {
            guard index < count else { return nil }
            let waitFor = lock.withLock { () -> DispatchSemaphore? in
                if case .reading(let done) = slots[index] { return done }
                return nil
            }
            waitFor?.wait()
            return lock.withLock { () -> Read? in
                defer { slots[index] = .taken }
                if case .ready(let read) = slots[index] { return read }
                return nil
            }
        }
    }

    /// The collector, shared by the pipeline's workers (one consumes at a time).
    final class CollectorBox: @unchecked Sendable {
        var value: OutputCollector
        init(_ value: OutputCollector) { self.value = value }
    }

    /// Reads, parses and transforms one input file (on any thread).
    ///
    /// `keys` are the members the template can see (`InputReader.keySet(for:)`); the others are skipped.
    /// `read` is the file's bytes and SHA-256 when `InputPrefetch` has them; otherwise the file is read here.
    static func processFile(
        _ file: String, index: Int, transformer: Transformer, keys: JSONKeySet, read: InputPrefetch.Read? = nil
    ) -> FileResult {
        let template = transformer.context.template
        let input: InputFile
        do {
            let read = read ?? InputPrefetch.Read(file)
            input = InputReader.read(
                try read.bytes.get(), file: file, fileIndex: index, source: template.source, keeping: keys,
                sha256: read.sha256)
        } catch {
            var problem = error
            if FileSystem.isDirectory(file) {
                let reason = access(file, R_OK | X_OK) == 0 ? "it could not be read" : String(cString: strerror(errno))
                problem = .error(
                    "cannot list the directory (\(reason)); none of the files in it was read: give the user that runs Ferry "
                        + "permission to read and enter it, then run transform again",
                    file: file)
            }
            return FileResult(
                input: InputSummary(file: file, sha256: "", shape: nil, documents: 0, diagnostics: [problem]), documents: [])
        }
        let documents = input.orders.map { order -> DocumentResult in
            let outcome: DocumentResult.Outcome
            switch transformer.transform(order) {
            case .bill(let bill):
                outcome = .bill(
                    number: bill.number, bytes: bill.bytes, sha256: Hashing.sha256Hex(bill.bytes), lines: bill.lines,
                    dropped: bill.droppedLines)
            case .rejected(let reasons):
                outcome = .rejected(reasons)
            case .filtered(let filtered):
                outcome = .filtered(filtered)
            }
            return DocumentResult(key: order.key, version: order.version, origin: order.origin, outcome: outcome)
        }
        return FileResult(
            input: InputSummary(
                file: file, sha256: input.sha256, shape: input.shape, documents: input.orders.count,
                diagnostics: input.diagnostics),
            documents: documents)
    }

    /// Checks what a transform would refuse to run with, reading no input: the template, then its lookup
    /// files and the settings it reads (`ferry validate --workspace`).
    ///
    /// - Returns: the template when a transform could run with it, and every diagnostic (warnings included).
    public static func check(
        templatePath: String, lookupsDirectory: String?, settings: [String: String]
    ) -> (template: MappingTemplate?, diagnostics: [Diagnostic]) {
        let request = TransformRequest(
            inputs: [], outputDirectory: "", templatePath: templatePath, lookupsDirectory: lookupsDirectory,
            settings: settings)
        let (loaded, templateDiagnostics) = MappingTemplate.load(path: request.templatePath)
        guard let template = loaded else { return (nil, templateDiagnostics) }
        var summary = TransformSummary()
        do {
            _ = try context(for: template, request: request, summary: &summary)
        } catch {
            return (nil, templateDiagnostics + summary.diagnostics + error.diagnostics)
        }
        return (template, templateDiagnostics + summary.diagnostics)
    }

    /// The template's lookup tables and settings, or the reasons the stage cannot run.
    static func context(
        for template: MappingTemplate, request: TransformRequest, summary: inout TransformSummary
    ) throws(StageFailure) -> TransformContext {
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
        return context
    }

    // MARK: - Inputs

    /// The input files under `paths`, and those of their directories that are not read for their names
    /// (not Ferry's own files: those of other extensions).
    static func inputFiles(_ paths: [String]) throws(StageFailure) -> (
        files: [String], skipped: [String], special: Set<String>
    ) {
        var files: [String] = []
        var skipped: [String] = []
        var special: Set<String> = []
        var problems: [Diagnostic] = []
        for path in paths {
            if FileSystem.isDirectory(path) {
                do {
                    for file in try FileSystem.filesRecursively(under: path) {
                        let name = FileSystem.fileName(file)
                        let lower = name.lowercased()
                        guard !ignoredInputNames.contains(name) && !lower.hasSuffix(".reject.json")
                            && !lower.hasSuffix(".receipt.json") && !lower.hasSuffix(".error.json")
                        else { continue }
                        if lower.hasSuffix(".json") || lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson")
                            || FileSystem.isDirectory(file)  // one that cannot be listed: reading it says so
                        {
                            files.append(file)
                            if FileSystem.isSpecialFile(file) { special.insert(file) }
                        } else {
                            skipped.append(file)
                        }
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
        return (files, skipped, special)
    }

    /// Refuses an output directory that is an input directory or inside one: the next transform would read
    /// its payloads and manifest as inputs (each one "not a recognised input").
    static func checkOutsideInputs(_ request: TransformRequest) throws(StageFailure) {
        let output = resolved(request.outputDirectory)
        for input in request.inputs where FileSystem.isDirectory(input) {
            let directory = resolved(input)
            if output == directory || output.hasPrefix(directory.hasSuffix("/") ? directory : directory + "/") {
                throw StageFailure([
                    .error(
                        "the output directory is \(output == directory ? "the input directory" : "inside the input directory") "
                            + "\(input), so the next transform would read its payloads and manifest as input; "
                            + "give an --output outside the inputs",
                        file: request.outputDirectory)
                ])
            }
        }
    }

    /// `path` with symbolic links, `.` and `..` resolved, as far as it exists (the rest appended as written).
    static func resolved(_ path: String) -> String {
        if let real = realpath(path.isEmpty ? "." : path, nil) {
            defer { free(real) }
            return String(cString: real)
        }
        let (directory, name) = FileSystem.split(path)
        guard directory != path else { return path }
        let parent = resolved(directory)
        return name.isEmpty || name == "." ? parent : parent + (parent.hasSuffix("/") ? "" : "/") + name
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
                let table = try LookupTable.parseCSV(
                    FileSystem.read(path), file: path, name: name, keyColumn: keyColumn, valueColumn: valueColumn)
                if table.entries.isEmpty {
                    summary.diagnostics.append(
                        .warning(
                            "lookup '\(name)' has no rows below its header, so every value misses it "
                                + "(on-miss=\"\((spec.onMiss).rawValue)\"); fill it in, or check how the file was saved",
                            file: path, line: 1))
                }
                tables[name] = table
            } catch {
                problems.append(error)
            }
        }
        if !problems.isEmpty { throw StageFailure(problems) }
        return tables
    }

    // MARK: - Outputs

    /// The payload and reject files an earlier run's manifest lists (none when there is no readable
    /// manifest). The manifest lists every document, so it is read one entry at a time, not whole.
    static func previousOutputs(_ directory: String) -> [String] {
        var names: [String] = []
        do {
            try JSONReader.forEachElement(
                inFile: directory + "/manifest.json", ofArrays: ["outputs", "rejected"], keeping: JSONKeySet(["file"])
            ) { _, entry in
                if let name = entry["file"]?.stringValue, !name.contains("/"), !name.hasPrefix(".") { names.append(name) }
            }
        } catch {
            return []
        }
        return names
    }

    /// The files absorbing `result` may write, as the JSON array of one line of `TransformMarker`: each
    /// bill's payload, and a reject file for every document that has a key or is rejected (a bill whose
    /// number another document holds is rejected when it is absorbed). More names than are written is
    /// harmless: the marker only lists what a rerun may remove when it no longer produces it. Written
    /// without building strings or a `JSONValue`: this runs for every input file.
    static func markerLine(for result: FileResult) -> [UInt8] {
        var line: [UInt8] = [UInt8(ascii: "[")]
        line.reserveCapacity(48 * result.documents.count)
        func name(_ base: String, _ suffix: StaticString) {
            if line.count > 1 { line.append(UInt8(ascii: ",")) }
            // `SafeFileName` keeps letters, digits, `-`, `_`, `.` and `~`: nothing a JSON string escapes.
            let plain = base.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
            guard plain else {
                JSONWriter.writeString(base + suffix.description, into: &line)
                return
            }
            line.append(UInt8(ascii: "\""))
            line.append(contentsOf: base.utf8)
            line.append(contentsOf: UnsafeBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount))
            line.append(UInt8(ascii: "\""))
        }
        for document in result.documents {
            switch document.outcome {
            case .bill(let number, _, _, _, _):
                name(SafeFileName.make(number), ".json")
                name(document.rejectBaseName, ".reject.json")
            case .rejected:
                name(document.rejectBaseName, ".reject.json")
            case .filtered:
                break
            }
        }
        line.append(UInt8(ascii: "]"))
        return line
    }

    /// Where a document came from, as reject files and the manifest's `duplicates` show it. The
    /// manifest's spooled entries write the same members straight into the spool
    /// (`OutputCollector.spool`): change both together (the manifest goldens compare both).
    static func originValue(_ origin: DocumentOrigin) -> JSONValue {
        var object = JSONObject([.init("file", .string(origin.file)), .init("path", .string(origin.jsonPath))])
        if let line = origin.line { object.append("line", .number(String(line))) }
        return .object(object)
    }
}
