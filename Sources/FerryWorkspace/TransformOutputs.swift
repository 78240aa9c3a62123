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

    /// The name of the reject file this document gets when it is rejected.
    var rejectFileName: String { rejectBaseName + ".reject.json" }
    /// `rejectFileName` without `.reject.json`.
    var rejectBaseName: String { SafeFileName.make(key ?? "no-key-\(origin)") }
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
        state.run(workers: workers, produce: produce)
        if let error = state.failure { throw error }
    }

    /// Slots, the next index to hand out, and who is consuming.
    final class State<Result: Sendable>: @unchecked Sendable {
        /// What a worker does next. `wait` carries the state it was decided on, so that a change made
        /// between the decision and the sleep is not missed.
        enum Step { case produce(Int), wait(Snapshot), done }

        /// The counters a decision to wait was made on.
        struct Snapshot: Equatable {
            var consumed: Int
            var nextIndex: Int
        }

        private let lock = NSCondition()
        /// Whether a worker is consuming. Kept under `lock` (not in a lock of its own, which a worker
        /// could only try: told the next result was ready but unable to take it, it spun), so that a
        /// worker waits while another consumes, and is woken when it stops.
        private var consuming = false
        private var slots: [Result?]
        private var nextIndex = 0
        private var consumed = 0
        private let window: Int
        private let consume: (Result) throws(Diagnostic) -> Void
        private(set) var failure: Diagnostic?

        /// How many times a worker went to wait or woke up: about as many as results are put and consumed
        /// times the workers, never a worker spinning while another consumes.
        var waitRounds: Int { lock.withLock { rounds } }
        private var rounds = 0

        init(count: Int, window: Int, consume: @escaping (Result) throws(Diagnostic) -> Void) {
            slots = Array(repeating: nil, count: count)
            self.window = window
            self.consume = consume
        }

        /// Runs `produce` for every index on `workers` threads (the calling thread among them), each
        /// consuming the results that are ready in order whenever no other worker is, and returns when
        /// all are consumed or a consumer failed (`failure`).
        func run(workers: Int, produce: (Int) -> Result) {
            withoutActuallyEscaping(produce) { produce in
                nonisolated(unsafe) let produce = produce
                DispatchQueue.concurrentPerform(iterations: max(1, min(workers, slots.count))) { _ in
                    while true {
                        drain()
                        switch next() {
                        case .produce(let index): put(index, produce(index))
                        case .wait(let seen): waitForChange(since: seen)
                        case .done:
                            drain()
                            return
                        }
                    }
                }
            }
        }

        func next() -> Step {
            lock.lock()
            defer { lock.unlock() }
            if failure != nil || nextIndex >= slots.count { return .done }
            if nextIndex - consumed >= window { return .wait(Snapshot(consumed: consumed, nextIndex: nextIndex)) }
            nextIndex += 1
            return .produce(nextIndex - 1)
        }

        func put(_ index: Int, _ result: Result) {
            lock.lock()
            slots[index] = result
            lock.broadcast()
            lock.unlock()
        }

        /// Sleeps until a result is consumed or handed out after `seen` (what `next()` decided to wait on),
        /// or the next result in order is ready and no other worker is consuming (this one can), or a
        /// consumer failed. Taking the counters here instead lost a wake-up: a worker told to wait that got
        /// the lock only after the others had done all the rest (and returned) slept for ever.
        func waitForChange(since seen: Snapshot) {
            lock.lock()
            rounds += 1
            while failure == nil && Snapshot(consumed: consumed, nextIndex: nextIndex) == seen
                && !(isNextReady && !consuming)
            {
                lock.wait()
                rounds += 1
            }
            lock.unlock()
        }

        /// Consumes every result that is ready in order, unless another worker is doing so. Whether one
        /// is ready is looked at under the lock that `put` takes, and `consuming` is cleared under it too,
        /// so a result put while another worker consumes is either seen by that worker or found by its
        /// own worker's `drain` with nobody consuming.
        func drain() {
            lock.lock()
            defer { lock.unlock() }
            guard !consuming && failure == nil && isNextReady else { return }
            consuming = true
            repeat {
                let result = slots[consumed]!
                slots[consumed] = nil
                consumed += 1
                lock.broadcast()
                lock.unlock()
                do throws(Diagnostic) {
                    try consume(result)
                    lock.lock()
                } catch {
                    lock.lock()
                    failure = error
                }
            } while failure == nil && isNextReady
            consuming = false
            lock.broadcast()
        }

        /// Whether the next result in order has been put (call with `lock` held).
        private var isNextReady: Bool { consumed < slots.count && slots[consumed] != nil }
    }
}

/// The member names of manifest entries, encoded once (they are written for every document).
private enum EntryKeys {
    static let billNumber = JSONEmitter.Key("bill_number")
    static let detail = JSONEmitter.Key("detail")
    static let droppedLines = JSONEmitter.Key("dropped_lines")
    static let file = JSONEmitter.Key("file")
    static let key = JSONEmitter.Key("key")
    static let line = JSONEmitter.Key("line")
    static let lines = JSONEmitter.Key("lines")
    static let path = JSONEmitter.Key("path")
    static let reason = JSONEmitter.Key("reason")
    static let reasons = JSONEmitter.Key("reasons")
    static let sha256 = JSONEmitter.Key("sha256")
    static let source = JSONEmitter.Key("source")
}

/// The three manifest sections that list documents, in the manifest's order.
enum ManifestSection: CaseIterable {
    case outputs, rejected, filtered
}

/// Absorbs transformed documents in input order: keeps the most recent version of each key, gives each
/// bill number to one document, writes payload and reject files, and spools each document's manifest
/// entry.
///
/// Memory per document stays small: a manifest entry goes to a `SpoolFile` as soon as its document is
/// absorbed (and is skipped at the end if a newer version supersedes it), as do the details that
/// deduplication needs again; in memory are the key and bill-number maps, a superseded flag and a spool
/// offset per document, the counts, and the diagnostics of rejected documents.
struct OutputCollector {
    /// The counts of documents the manifest gives, kept as documents are absorbed and superseded.
    struct Counts {
        var payloads = 0
        var rejected = 0
        var filtered = 0
        var superseded = 0
        var droppedLines = 0
    }

    let directory: String
    /// `directory`, held open: new files are created in it by name.
    private let openDirectory: OpenDirectory
    let template: MappingTemplate
    private(set) var inputs: [InputSummary] = []
    /// Documents absorbed, duplicates included (also the index of the next record).
    private(set) var documents = 0
    private(set) var counts = Counts()
    /// Whether each record (by index) lost to a newer version of its key.
    private var isSuperseded: [Bool] = []
    /// Where each record's `DocumentDetails` are in `details`.
    private var detailOffsets: [Int] = []
    /// Each record's `DocumentDetails`.
    private let details: SpoolFile
    /// The manifest entries of each section, framed with their record index, in input order.
    private let entries: [ManifestSection: SpoolFile]
    /// Index of the current (winning) record of each key.
    private var current: [String: Int] = [:]
    /// Every record index of each key seen more than once, in input order.
    private var occurrences: [String: [Int]] = [:]
    /// Which key holds each bill number, and which records wait for one another key holds.
    private var claims = BillNumberClaims()
    /// The files an earlier run listed that this run wrote (and has not removed since): the only names
    /// `removeStale` asks about.
    private var producedEarlier: Set<String> = []
    /// Payloads of superseded records that were kept because they have a receipt, and that no record has
    /// produced since: `removeStale` warns about them.
    private var keptLoaded: Set<String> = []
    /// The bytes (where they are in `details`) that loaded payloads of an earlier run held before this run
    /// first wrote other bytes over them: `supersede` puts them back when it keeps such a payload.
    private var loadedBytes: [String: Int] = [:]
    /// The console diagnostics of each rejected record.
    private var rejections: [(index: Int, diagnostics: [Diagnostic])] = []
    /// Records `handOver` moved from the rejected to the outputs: their rejected entries and diagnostics
    /// are skipped, and their outputs entries (in `details`, by offset) are listed among the others in
    /// input order.
    private var handedOver: [Int: Int] = [:]
    private let writer = JSONWriter(style: .pretty)
    /// Files an earlier run listed: only these can already hold the bytes about to be written.
    private let earlier: Set<String>

    /// - Throws: a `Diagnostic` when the spool files cannot be created in `directory`.
    init(directory: String, template: MappingTemplate, earlier: Set<String>) throws(Diagnostic) {
        self.directory = directory
        openDirectory = try OpenDirectory(directory)
        self.template = template
        self.earlier = earlier
        details = try SpoolFile(directory: directory)
        var entries: [ManifestSection: SpoolFile] = [:]
        for section in ManifestSection.allCases { entries[section] = try SpoolFile(directory: directory) }
        self.entries = entries
    }

    mutating func absorb(_ result: FileResult) throws(Diagnostic) {
        inputs.append(result.input)
        for document in result.documents { try absorb(document) }
    }

    private mutating func absorb(_ document: DocumentResult) throws(Diagnostic) {
        let index = documents
        documents += 1
        isSuperseded.append(false)
        var released: String?
        var replaced: Int?
        if let key = document.key {
            if let previous = current[key] {
                occurrences[key, default: [previous]].append(index)
                let earlier = try details(of: previous)
                if !Deduplication.replaces(document.version, earlier.version) {
                    // A version that lost to one read earlier: never written, listed under `duplicates`.
                    try remember(DocumentDetails(kind: .superseded, version: document.version, origin: document.origin), index)
                    isSuperseded[index] = true
                    counts.superseded += 1
                    return
                }
                released = try supersede(previous, earlier, key: key)
                replaced = previous
            }
            current[key] = index
        }
        try write(document, index: index, replacing: replaced)
        // After the newer version took (or kept) what it produces: a number it gave up goes to the
        // first record waiting for it.
        if let released, claims.holder(of: released) == nil { try handOver(released) }
    }

    /// The details `remember` kept for a record.
    private func details(of index: Int) throws(Diagnostic) -> DocumentDetails {
        DocumentDetails(decoding: try details.frame(at: detailOffsets[index]))
    }

    /// Keeps a record's details (record `index` is the one being absorbed).
    private mutating func remember(_ record: DocumentDetails, _ index: Int) throws(Diagnostic) {
        detailOffsets.append(try details.append(index: index, encoding: record.encode(into:)))
    }

    /// Marks a record that lost to a newer version, takes it out of the counts, and removes its files and
    /// its bill-number claim (returned, lowercased). A payload that has a receipt (it was loaded) is kept:
    /// `removeStale` warns about it unless a later record produces it again.
    private mutating func supersede(_ index: Int, _ record: DocumentDetails, key: String) throws(Diagnostic) -> String? {
        isSuperseded[index] = true
        counts.superseded += 1
        switch record.kind {
        case .bill:
            counts.payloads -= 1
            counts.droppedLines -= record.droppedLines
        case .rejected: counts.rejected -= 1
        case .filtered: counts.filtered -= 1
        case .superseded: break
        }
        guard let name = record.fileName else { return nil }
        producedEarlier.remove(name)
        var released: String?
        if record.kind == .bill {
            let base = String(name.dropLast(".json".count))
            let claim = record.claim ?? base.lowercased()
            if claims.release(claim, heldBy: key) { released = claim }
            if hasReceipt(base) {
                keptLoaded.insert(name)
                // It holds what was loaded, not what a version this run superseded wrote over it.
                if let offset = loadedBytes[name] {
                    try FileSystem.writeAtomically(try details.frame(at: offset), to: directory + "/" + name, durable: false)
                }
                return released
            }
        }
        try FileSystem.remove(directory + "/" + name)
        return released
    }

    /// Gives the bill number `claim`, which no current record holds any more, to the first record that
    /// was rejected only because another key held it and that no newer version has superseded since: its
    /// reject file is removed, its payload written, and it counts as an output from now on.
    private mutating func handOver(_ claim: String) throws(Diagnostic) {
        let isSuperseded = self.isSuperseded
        if let (index, offset) = claims.nextWaiter(for: claim, isCurrent: { !isSuperseded[$0] }) {
            let bill = WaitingBill(decoding: try details.frame(at: offset))
            let rejected = try details(of: index)
            if let rejectName = rejected.fileName {
                producedEarlier.remove(rejectName)
                try FileSystem.remove(directory + "/" + rejectName)
            }
            counts.rejected -= 1
            let name = SafeFileName.make(bill.number) + ".json"
            claims.give(claim, to: bill.key ?? name)
            try put(bill.payload, name)
            handedOver[index] = try details.append(index: index) { buffer in
                Self.encodeOutputEntry(
                    into: &buffer, name: name, number: bill.number, key: bill.key, sha256: bill.sha256, lines: bill.lines,
                    dropped: bill.dropped, origin: rejected.origin)
            }
            detailOffsets[index] = try details.append(index: index) { buffer in
                DocumentDetails(
                    kind: .bill, version: rejected.version, origin: rejected.origin, fileName: name, droppedLines: bill.dropped,
                    claim: claim == String(name.dropLast(".json".count)).lowercased() ? nil : claim
                ).encode(into: &buffer)
            }
            counts.payloads += 1
            counts.droppedLines += bill.dropped
        }
    }

    /// Whether the payload `<base>.json` was loaded: `ferry load` wrote `<base>.receipt.json` beside it.
    private func hasReceipt(_ base: String) -> Bool {
        FileSystem.exists(directory + "/" + base + ".receipt.json")
    }

    /// Writes record `index`'s files and spools its entry; `previous` is the record of its key it supersedes.
    private mutating func write(_ document: DocumentResult, index: Int, replacing previous: Int?) throws(Diagnostic) {
        var outcome = document.outcome
        var base = ""
        var claim = ""
        if case .bill(let number, let bytes, let sha256, let lines, let dropped) = outcome {
            base = SafeFileName.make(number)
            claim = BillNumberClaims.claim(number: number, base: base)
            if let holder = claims.holder(of: claim), holder != document.key {
                let offset = try details.append(index: index) { buffer in
                    WaitingBill(
                        key: document.key, number: number, holder: holder, sha256: sha256, lines: lines, dropped: dropped,
                        payload: bytes
                    ).encode(into: &buffer)
                }
                claims.wait((index, offset), for: claim, replacing: previous)
                outcome = .rejected([numberTaken(number, by: holder)])
            } else {
                claims.give(claim, to: document.key ?? base + ".json")
            }
        }
        func n(_ value: Int) -> JSONValue { .number(String(value)) }
        let key = document.key.map(JSONValue.string) ?? .null
        switch outcome {
        case .bill(let number, let bytes, let sha256, let lines, let dropped):
            let name = base + ".json"
            try put(bytes, name)
            try entries[.outputs]!.append(index: index) { buffer in
                Self.encodeOutputEntry(
                    into: &buffer, name: name, number: number, key: document.key, sha256: sha256, lines: lines, dropped: dropped,
                    origin: document.origin)
            }
            try remember(
                DocumentDetails(
                    kind: .bill, version: document.version, origin: document.origin, fileName: name, droppedLines: dropped,
                    claim: claim == base.lowercased() ? nil : claim),
                index)
            counts.payloads += 1
            counts.droppedLines += dropped
        case .rejected(let reasons):
            let name = document.rejectFileName
            try put(writer.bytes(TransformRunner.rejectDocument(key: document.key, origin: document.origin, reasons: reasons, template: template)), name)
            try spool(.rejected, index, origin: document.origin) { entry in
                entry.key(encoded: EntryKeys.file.bytes)
                entry.value(.string(name))
                entry.key(encoded: EntryKeys.key.bytes)
                entry.value(key)
                entry.key(encoded: EntryKeys.reasons.bytes)
                entry.value(n(reasons.count))
            }
            try remember(DocumentDetails(kind: .rejected, version: document.version, origin: document.origin, fileName: name), index)
            rejections.append((index, Self.diagnostics(key: document.key, origin: document.origin, reasons)))
            counts.rejected += 1
        case .filtered(let filtered):
            try spool(.filtered, index, origin: document.origin) { entry in
                entry.key(encoded: EntryKeys.key.bytes)
                entry.value(key)
                entry.key(encoded: EntryKeys.reason.bytes)
                entry.value(.string(filtered.reason))
                entry.key(encoded: EntryKeys.detail.bytes)
                entry.value(.string(filtered.detail))
            }
            try remember(DocumentDetails(kind: .filtered, version: document.version, origin: document.origin), index)
            counts.filtered += 1
        }
    }

    /// Why a bill is rejected whose number `holder` holds.
    private func numberTaken(_ number: String, by holder: String) -> RejectionReason {
        RejectionReason(
            field: template.target.numberField, jsonPath: nil,
            message: "bill number '\(number)' is also produced by \(holder); bill numbers must be unique "
                + "(also when they differ only in upper and lower case)",
            templateLine: template.target.line)
    }

    /// The console diagnostics of a rejected document.
    private static func diagnostics(key: String?, origin: DocumentOrigin, _ reasons: [RejectionReason]) -> [Diagnostic] {
        reasons.map { reason in
            Diagnostic.error(
                "\(key ?? "document") rejected: \(reason.field.map { "\($0): " } ?? "")\(reason.message)",
                file: origin.file, line: origin.line, jsonPath: reason.jsonPath)
        }
    }

    /// Once every document is absorbed: the reject file and diagnostics of each document still waiting for
    /// a bill number that was handed over after it was rejected name the document that holds it now, not
    /// the one that gave it up (as if that one had never had it, whatever the read order).
    mutating func nameCurrentHolders() throws(Diagnostic) {
        for (_, holder, (index, offset)) in claims.waiters(isCurrent: { !isSuperseded[$0] }) {
            let bill = WaitingBill(decoding: try details.frame(at: offset))
            guard let holder, holder != bill.holder else { continue }
            let rejected = try details(of: index)
            guard let name = rejected.fileName else { continue }
            let reasons = [numberTaken(bill.number, by: holder)]
            try put(
                writer.bytes(TransformRunner.rejectDocument(key: bill.key, origin: rejected.origin, reasons: reasons, template: template)),
                name)
            // `rejections` is in record order.
            var low = 0, high = rejections.count
            while low < high {
                let middle = (low + high) / 2
                if rejections[middle].index < index { low = middle + 1 } else { high = middle }
            }
            if low < rejections.count && rejections[low].index == index {
                rejections[low].diagnostics = Self.diagnostics(key: bill.key, origin: rejected.origin, reasons)
            }
        }
    }

    /// Spools a record's manifest entry (`encodeEntry`).
    private func spool(
        _ section: ManifestSection, _ index: Int, origin: DocumentOrigin, _ members: (inout JSONEmitter) -> Void
    ) throws(Diagnostic) {
        try entries[section]!.append(index: index) { buffer in Self.encodeEntry(into: &buffer, origin: origin, members) }
    }

    /// Appends a record's manifest entry to `buffer`: the bytes `writeManifest` writes for it (pretty, at
    /// indent 2), the members `members` writes and then `source`, written straight into the spool's buffer
    /// (a `JSONObject` per entry cost a dozen allocations per document, in the part of the run that does
    /// not run in parallel).
    private static func encodeEntry(into buffer: inout [UInt8], origin: DocumentOrigin, _ members: (inout JSONEmitter) -> Void) {
        var entry = JSONEmitter(appendingTo: &buffer, indent: 2)
        entry.beginObject()
        members(&entry)
        // The members of `TransformRunner.originValue`, written without building it.
        entry.key(encoded: EntryKeys.source.bytes)
        entry.beginObject()
        entry.key(encoded: EntryKeys.file.bytes)
        entry.value(.string(origin.file))
        entry.key(encoded: EntryKeys.path.bytes)
        entry.value(.string(origin.jsonPath))
        if let line = origin.line {
            entry.key(encoded: EntryKeys.line.bytes)
            entry.value(.number(String(line)))
        }
        entry.endObject()
        entry.endObject()
        entry.finish(into: &buffer)
    }

    /// Appends the `outputs` entry of a payload to `buffer`.
    private static func encodeOutputEntry(
        into buffer: inout [UInt8], name: String, number: String, key: String?, sha256: String, lines: Int, dropped: Int,
        origin: DocumentOrigin
    ) {
        encodeEntry(into: &buffer, origin: origin) { entry in
            entry.key(encoded: EntryKeys.file.bytes)
            entry.value(.string(name))
            entry.key(encoded: EntryKeys.billNumber.bytes)
            entry.value(.string(number))
            entry.key(encoded: EntryKeys.key.bytes)
            entry.value(key.map(JSONValue.string) ?? .null)
            entry.key(encoded: EntryKeys.sha256.bytes)
            entry.value(.string(sha256))
            entry.key(encoded: EntryKeys.lines.bytes)
            entry.value(.number(String(lines)))
            entry.key(encoded: EntryKeys.droppedLines.bytes)
            entry.value(.number(String(dropped)))
        }
    }

    /// Writes a file unless it already holds exactly these bytes (no fsync: see `syncFileSystem`).
    private mutating func put(_ bytes: [UInt8], _ name: String) throws(Diagnostic) {
        if earlier.contains(name) { producedEarlier.insert(name) }
        if !keptLoaded.isEmpty { keptLoaded.remove(name) }
        let path = directory + "/" + name
        if earlier.contains(name), let existing = try? FileSystem.read(path) {
            if existing == bytes { return }
            if loadedBytes[name] == nil, !name.hasSuffix(".reject.json"),
                hasReceipt(String(name.dropLast(".json".count)))
            {
                loadedBytes[name] = try details.append(index: documents - 1) { $0 += existing }
            }
        }
        // A name no earlier run wrote is created in place: `.transform-incomplete` keeps load away until
        // the manifest is written, and a rerun replaces what a crash left.
        if !earlier.contains(name), try openDirectory.writeNew(bytes, named: name) { return }
        try FileSystem.writeAtomically(bytes, to: path, durable: false)
    }

    /// Removes outputs an earlier run listed that this run no longer produces. A payload that has a
    /// receipt (it was loaded) is kept instead, with a warning: such a payload, or one of a superseded
    /// record that `supersede` kept and no record produced again.
    func removeStale(_ previous: [String], summary: inout TransformSummary) throws(Diagnostic) {
        let stale = previous.filter { !producedEarlier.contains($0) } + keptLoaded.filter { !earlier.contains($0) }.sorted()
        for name in stale {
            let isReject = name.hasSuffix(".reject.json")
            let base = isReject ? String(name.dropLast(".reject.json".count)) : String(name.dropLast(".json".count))
            if !isReject && hasReceipt(base) {
                summary.diagnostics.append(
                    .warning(
                        "this payload was loaded before (it has a receipt) but is no longer produced; it is kept",
                        file: directory + "/" + name))
                continue
            }
            try FileSystem.remove(directory + "/" + name)
        }
    }

    /// Adds the final counts and the rejection diagnostics (in input order) to `summary`.
    func tally(_ summary: inout TransformSummary) {
        summary.superseded += counts.superseded
        summary.payloads += counts.payloads
        summary.droppedLines += counts.droppedLines
        summary.rejected += counts.rejected
        summary.filtered += counts.filtered
        for rejection in rejections where !isSuperseded[rejection.index] && handedOver[rejection.index] == nil {
            summary.diagnostics += rejection.diagnostics
        }
    }

    /// Calls `body` with the manifest entry of every record of `section` that was not superseded, in input order.
    func forEachEntry(in section: ManifestSection, _ body: (ArraySlice<UInt8>) throws(Diagnostic) -> Void) throws(Diagnostic) {
        // Records handed a bill number after they were rejected are outputs, listed in their place.
        var handedOver = section == .outputs ? self.handedOver.sorted { $0.key < $1.key }[...] : []
        func listHandedOver(before index: Int) throws(Diagnostic) {
            while let (handed, offset) = handedOver.first, handed < index {
                handedOver.removeFirst()
                if !isSuperseded[handed] { try body(try details.frame(at: offset)[...]) }
            }
        }
        try entries[section]!.forEachFrame { (index, bytes) throws(Diagnostic) in
            try listHandedOver(before: index)
            if !isSuperseded[index] && (section != .rejected || self.handedOver[index] == nil) { try body(bytes) }
        }
        try listHandedOver(before: Int.max)
    }

    /// Calls `body` with each key seen more than once, sorted, with the winning record's details and the
    /// superseded ones' (input order).
    func forEachDuplicate(
        _ body: (_ key: String, _ used: DocumentDetails, _ superseded: [DocumentDetails]) throws(Diagnostic) -> Void
    ) throws(Diagnostic) {
        for key in occurrences.keys.sorted() {
            let winner = current[key]!
            var superseded: [DocumentDetails] = []
            for index in occurrences[key]! where index != winner { superseded.append(try details(of: index)) }
            try body(key, try details(of: winner), superseded)
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
        func value(_ v: JSONValue, indent: Int) -> ArraySlice<UInt8> {
            var out: [UInt8] = []
            writer.write(v, into: &out, indent: indent)
            return out[...]
        }
        var firstMember = true
        func member(_ key: String, _ v: JSONValue) throws(Diagnostic) {
            try file.write((firstMember ? "{\n  " : ",\n  "))
            firstMember = false
            var keyBytes: [UInt8] = []
            JSONWriter.writeString(key, into: &keyBytes)
            try file.write(keyBytes)
            try file.write(": ")
            try file.write(value(v, indent: 1))
        }
        /// Writes an array member whose elements `elements` hands, as their bytes at indent 2, to its argument.
        func array(_ key: String, _ elements: (_ element: (ArraySlice<UInt8>) throws(Diagnostic) -> Void) throws(Diagnostic) -> Void)
            throws(Diagnostic)
        {
            try file.write(",\n  ")
            var keyBytes: [UInt8] = []
            JSONWriter.writeString(key, into: &keyBytes)
            try file.write(keyBytes + Array(": [".utf8))
            var empty = true
            try elements { (bytes: ArraySlice<UInt8>) throws(Diagnostic) in
                try file.write((empty ? "\n    " : ",\n    "))
                try file.write(bytes)
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
        try array("inputs") { element throws(Diagnostic) in
            for input in inputs {
                try element(
                    value(
                        .object(
                            JSONObject([
                                .init("file", .string(input.file)), .init("sha256", .string(input.sha256)),
                                .init("shape", input.shape.map { .string($0.rawValue) } ?? .null),
                                .init("documents", n(input.documents)),
                                .init(
                                    "errors", .array(input.diagnostics.filter { $0.severity == .error }.map { .string($0.description) })),
                            ])), indent: 2))
            }
        }
        for (section, key) in [(ManifestSection.outputs, "outputs"), (.rejected, "rejected"), (.filtered, "filtered")] {
            try array(key) { element throws(Diagnostic) in try collector.forEachEntry(in: section, element) }
        }
        func version(_ record: DocumentDetails) -> JSONValue {
            var object = originValue(record.origin).objectValue!
            object.append("version", record.version.map(JSONValue.string) ?? .null)
            return .object(object)
        }
        try array("duplicates") { element throws(Diagnostic) in
            try collector.forEachDuplicate { (key, used, superseded) throws(Diagnostic) in
                try element(
                    value(
                        .object(
                            JSONObject([
                                .init("key", .string(key)), .init("used", version(used)),
                                .init("superseded", .array(superseded.map(version))),
                            ])), indent: 2))
            }
        }
        try file.write("\n}\n")
        try file.commit()
    }
}
