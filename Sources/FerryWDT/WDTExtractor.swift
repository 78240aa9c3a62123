import FerryCore
import Foundation

/// What `ferry extract` asks for: where to write, which run, and an optional explicit range.
public struct ExtractRequest: Sendable {
    /// The run id (recorded in `state.json` when the cursor moves).
    public var runID: String
    /// `runs/<id>/extract`.
    public var extractDirectory: String
    /// The workspace's `state.json`.
    public var statePath: String
    /// `--since`, when given.
    public var since: WDTTime?
    /// `--until`, when given.
    public var until: WDTTime?
    /// The current time (a parameter so that tests can fix it).
    public var now: Date

    /// Creates a request.
    public init(
        runID: String, extractDirectory: String, statePath: String, since: WDTTime? = nil, until: WDTTime? = nil,
        now: Date = Date()
    ) {
        self.runID = runID
        self.extractDirectory = extractDirectory
        self.statePath = statePath
        self.since = since
        self.until = until
        self.now = now
    }

    /// Path of the manifest.
    public var manifestPath: String { extractDirectory + "/manifest.json" }
}

/// What an extract did.
public struct ExtractSummary: Sendable {
    /// The range covered.
    public var range: ExtractRange
    /// Leaf windows (after splitting) in the manifest.
    public var windows: Int
    /// Leaf windows proven complete.
    public var completeWindows: Int
    /// Leaf windows not proven complete (read but inconsistent, or given up on).
    public var incompleteWindows: Int
    /// Planned windows never read because the extract stopped early.
    public var unreadWindows: Int
    /// Complete windows found in the manifest and verified, so not read again.
    public var skippedWindows: Int
    /// Orders received in complete windows (duplicates counted).
    public var documents: Int
    /// `stockin_no` values received in more than one complete window (listed in the manifest's
    /// `repeated_across_windows`).
    public var repeatedAcrossWindows = 0
    /// Requests sent (every attempt counts).
    public var requests: Int
    /// Retries made.
    public var retries: Int
    /// The cursor after the extract, if there is one.
    public var cursor: WDTTime?
    /// Where the earliest window not proven complete (incomplete, or not read) starts; nil when every
    /// window is complete.
    public var firstNotComplete: WDTTime?

    /// Whether everything asked for is proven complete.
    public var isComplete: Bool { incompleteWindows == 0 && unreadWindows == 0 }
}

/// Extracts stock-in orders of a range into a run's `extract/` directory, window by window, proving each
/// window complete, resuming what an earlier attempt of the same run left, and moving the cursor.
///
/// Files: `extract/<window>/page-NNNNN.json` (bodies byte for byte, written atomically) and
/// `extract/manifest.json`. The caller holds the run lock.
public struct WDTExtractor: Sendable {
    /// The source settings.
    public let config: WDTSourceConfig
    /// Progress lines (windows, pages, documents, retries, warnings), for stderr.
    public let progress: @Sendable (String) -> Void

    /// Creates an extractor.
    public init(config: WDTSourceConfig, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.config = config
        self.progress = progress
    }

    /// Runs the extract.
    ///
    /// - Returns: the summary; `isComplete` is false when a window could not be proven complete (exit 1).
    /// - Throws: a `Diagnostic` when the extract cannot run at all: a fatal WDT error (signature, permission,
    ///   parameter), no start time, a range that contradicts the run's manifest, or a file that cannot be written.
    public func run(_ request: ExtractRequest) async throws(Diagnostic) -> ExtractSummary {
        var manifest: ExtractManifest
        let range: ExtractRange
        if FileSystem.exists(request.manifestPath) {
            manifest = try ExtractManifest.load(request.manifestPath)
            if let since = request.since, since != manifest.rangeStart {
                throw .error(
                    "this run extracts \(manifest.rangeStart) … \(manifest.rangeEnd); --since \(since) differs. "
                        + "Rerun without --since/--until to resume it, or start a new run", file: request.manifestPath)
            }
            if let until = request.until, until != manifest.rangeEnd {
                throw .error(
                    "this run extracts \(manifest.rangeStart) … \(manifest.rangeEnd); --until \(until) differs. "
                        + "Rerun without --since/--until to resume it, or start a new run", file: request.manifestPath)
            }
            range = ExtractRange(start: manifest.rangeStart, end: manifest.rangeEnd, origin: "the run's manifest (resuming)")
            if manifest.api != config.transport.rawValue {
                progress(
                    "warning: this run was started through \(manifest.api); it continues through "
                        + "\(config.transport.rawValue) as source.api now says")
            }
            if manifest.method != config.method {
                // Windows read with another method hold other data: none of them is taken as read.
                progress(
                    "note: this run was started with method \(manifest.method); it continues with \(config.method), "
                        + "so every window is read again")
                manifest.method = config.method
                manifest.windows = []
            }
        } else {
            let cursor = try ExtractCursor.load(request.statePath)
            range = try WindowPlanner.range(
                since: request.since, until: request.until, cursor: cursor?.cursor, configuredStart: config.start,
                lookbackMinutes: config.lookbackMinutes, lagSeconds: config.lagSeconds, now: WDTTime(request.now))
            manifest = ExtractManifest(
                api: config.transport.rawValue, method: config.method, rangeStart: range.start, rangeEnd: range.end,
                pageSize: config.pageSize, windowDays: config.windowDays, windows: [])
        }
        if range.wasClamped {
            progress("note: --until clamped to \(range.end) (now minus source.lag_seconds = \(config.lagSeconds) s)")
        }
        let client: WDTClient
        do {
            client = try WDTClient(config: config, log: progress)
        } catch {
            throw .error(error.description)
        }
        var session = Session(
            extractor: self, client: client, request: request, manifest: manifest,
            cursor: try ExtractCursor.load(request.statePath)?.cursor)
        // Without a cursor, source.start says where extracting begins: a first extract that starts later
        // (a one-off --since) must not move the cursor over the time before it.
        if session.cursor == nil { session.extractedUpTo = config.start?.adding(seconds: -1) }
        if range.isEmpty {
            progress("nothing to extract: the range starts at \(range.start), after its end \(range.end)")
        } else {
            progress("extracting \(range.start) … \(range.end) (from \(range.origin)) through \(config.transport.rawValue)")
            try session.manifest.write(to: request.manifestPath)
            // A resumed run keeps its own window length, so recorded windows are found again.
            let planned = WindowPlanner.windows(
                from: range.start, to: range.end, maxDays: min(30, max(1, session.manifest.windowDays)))
            for (index, window) in planned.enumerated() {
                if session.stopped {
                    session.unread += planned.count - index
                    session.firstUnread = session.firstUnread ?? window.start
                    break
                }
                try await session.process(window)
            }
        }
        let repeats = try Self.repeatsAcrossWindows(
            session.manifest, extractDirectory: request.extractDirectory, keysRead: session.keysRead)
        if repeats != session.manifest.repeatedAcrossWindows {
            session.manifest.repeatedAcrossWindows = repeats
            try session.manifest.write(to: request.manifestPath)
        }
        if !repeats.isEmpty {
            progress(
                "note: \(repeats.count) stockin_no received in more than one window (modified while being extracted); "
                    + "every version is kept and the transform keeps the newest: see repeated_across_windows in "
                    + "\(request.manifestPath)")
        }
        let leaves = session.manifest.windows.filter { $0.verdict != .split }
        var summary = ExtractSummary(
            range: range, windows: leaves.count,
            completeWindows: leaves.filter { $0.verdict == .complete }.count,
            incompleteWindows: leaves.filter { $0.verdict == .incomplete }.count,
            unreadWindows: session.unread, skippedWindows: session.skipped,
            documents: leaves.filter { $0.verdict == .complete }.reduce(0) { $0 + $1.received },
            requests: client.requestCount, retries: client.retryCount, cursor: session.cursor)
        summary.repeatedAcrossWindows = repeats.count
        summary.firstNotComplete = (leaves.filter { $0.verdict == .incomplete }.map(\.start) + [session.firstUnread].compactMap { $0 })
            .min()
        return summary
    }

    /// The keys received in more than one complete window: for a window this run read or verified, the
    /// keys it already has (`keysRead`: a read window's final pass, a skipped window's page files); for
    /// the others (an earlier attempt's windows this run stopped before), those of the page files the
    /// manifest lists.
    ///
    /// - Throws: a `Diagnostic` naming a page file that cannot be read or parsed.
    static func repeatsAcrossWindows(
        _ manifest: ExtractManifest, extractDirectory: String, keysRead: [ExtractWindow: Set<String>]
    ) throws(Diagnostic) -> [ExtractManifest.Repeat] {
        var seenIn: [String: [String]] = [:]
        for window in manifest.windows where window.verdict == .complete {
            if let keys = keysRead[window.window] {
                for key in keys { seenIn[key, default: []].append(window.window.directoryName) }
                continue
            }
            var keys = Set<String>()
            for page in window.pages {
                let path = extractDirectory + "/" + page.file
                let bytes = try FileSystem.read(path)
                do {
                    keys.formUnion(try WDTResponseParser.parse(bytes).orders.map(WDTPage.documentKey))
                } catch {
                    throw .error("a page of a complete window no longer parses: \(error.description)", file: path)
                }
            }
            for key in keys { seenIn[key, default: []].append(window.window.directoryName) }
        }
        return seenIn.filter { $0.value.count > 1 }.keys.sorted().map { ExtractManifest.Repeat(stockinNo: $0, windows: seenIn[$0]!) }
    }

    /// The mutable state of one extract.
    struct Session {
        let extractor: WDTExtractor
        let client: WDTClient
        let request: ExtractRequest
        var manifest: ExtractManifest
        var cursor: WDTTime?
        /// Where extracted time ends when there is no cursor yet: the second before `source.start`.
        var extractedUpTo: WDTTime?
        var stopped = false
        var gapBefore = false
        var unread = 0
        /// Where the first window this extract did not read (it stopped before) starts.
        var firstUnread: WDTTime?
        var skipped = 0
        /// The `stockin_no`s of each complete window this run read (its final pass) or verified and skipped.
        var keysRead: [ExtractWindow: Set<String>] = [:]

        var config: WDTSourceConfig { extractor.config }
        func say(_ line: String) { extractor.progress(line) }

        mutating func process(_ window: ExtractWindow) async throws(Diagnostic) {
            if stopped {
                unread += 1
                firstUnread = firstUnread ?? window.start
                return
            }
            if let recorded = manifest.windows.first(where: { $0.window == window }),
                recorded.request == requestRecord(window) || recorded.verdict == .incomplete
            {
                switch recorded.verdict {
                case .split:
                    if let (a, b) = window.halves {
                        try await process(a)
                        try await process(b)
                        return
                    }
                case .complete:
                    if let keys = verifiedKeys(recorded) {
                        keysRead[window] = keys
                        // Pages a crashed re-read left beyond the recorded ones.
                        removeStalePages(in: request.extractDirectory + "/" + window.directoryName, keeping: recorded.pages.count)
                        say("window \(window): already complete (\(recorded.received) documents, verified), skipped")
                        skipped += 1
                        try advanceCursor(after: window, complete: true)
                        return
                    }
                    say("window \(window): recorded complete but its files do not match the manifest; reading it again")
                case .incomplete:
                    say("window \(window): incomplete in an earlier attempt; reading it again")
                }
            } else if manifest.windows.contains(where: { $0.window == window }) {
                say("window \(window): read earlier with other parameters (the scheme's or ferry.yaml's changed); reading it again")
            }
            let outcome = try await read(window)
            switch outcome {
            case .split(let total):
                guard let (a, b) = window.halves else { return }
                say(
                    "window \(window): total_count \(total) is above source.max_window_documents "
                        + "(\(config.maxWindowDocuments)); splitting it in halves")
                // Pages an earlier pass stored for the whole window: its halves hold the data now.
                removeStalePages(in: request.extractDirectory + "/" + window.directoryName, keeping: 0)
                record(
                    ExtractManifest.Window(
                        start: window.start, end: window.end, verdict: .split, request: requestRecord(window),
                        totalCount: total, received: 0, distinct: 0, duplicates: [], attempts: 1, pages: [], reason: nil))
                try manifest.write(to: request.manifestPath)
                try await process(a)
                try await process(b)
            case .window(let entry, let keys, let stop):
                record(entry)
                if entry.verdict == .complete { keysRead[window] = keys }
                try manifest.write(to: request.manifestPath)
                if entry.verdict == .complete {
                    let dup = entry.duplicates.isEmpty ? "" : ", \(entry.duplicates.count) duplicate stockin_no flagged"
                    say("window \(window): complete, \(entry.received) documents in \(entry.pages.count) pages\(dup)")
                } else {
                    say("window \(window): INCOMPLETE: \(entry.reason ?? "")")
                }
                try advanceCursor(after: window, complete: entry.verdict == .complete)
                if stop { stopped = true }
            }
        }

        mutating func record(_ entry: ExtractManifest.Window) {
            manifest.windows.removeAll { $0.window == entry.window }
            // A window read again after a split no longer needs its halves (nor their page files, which the
            // transform would read), and vice versa.
            let replaced = manifest.windows.filter { entry.verdict != .split && $0.start >= entry.start && $0.end <= entry.end }
            for old in replaced { removeStalePages(in: request.extractDirectory + "/" + old.window.directoryName, keeping: 0) }
            manifest.windows.removeAll { entry.verdict != .split && $0.start >= entry.start && $0.end <= entry.end }
            manifest.windows.append(entry)
            manifest.windows.sort { ($0.start, $1.end) < ($1.start, $0.end) }
        }

        /// Moves the cursor to the end of a complete window when nothing before it in this extract is
        /// missing and the window joins the cursor without a gap. Written after the window's files and the
        /// manifest are durable.
        mutating func advanceCursor(after window: ExtractWindow, complete: Bool) throws(Diagnostic) {
            guard complete, !gapBefore else {
                gapBefore = true
                return
            }
            if let cursor = cursor ?? extractedUpTo {
                guard window.start.unixSeconds <= cursor.unixSeconds + 1 else {
                    say(
                        self.cursor == nil
                            ? "note: no cursor is set: this extract starts after source.start (\(cursor.adding(seconds: 1))), "
                                + "and the time between was not extracted"
                            : "note: cursor stays at \(cursor): this extract starts after it, and the time between "
                                + "was not extracted")
                    gapBefore = true
                    return
                }
                guard window.end > cursor else { return }
            }
            var end = window.end
            // With this machine's clock ahead of WDT's by more than source.lag_seconds, the newest window
            // ends in WDT's future: an order edited after it was read would fall behind the cursor. The
            // cursor stops at WDT's "now" instead (the 1 s HTTP Date resolution is taken off too).
            if let offset = client.serverClockOffset, offset < 0 {
                let serverNow = WDTTime(request.now).adding(seconds: Int64(offset.rounded(.down)) - 1)
                if end > serverNow {
                    say("note: this machine's clock is \(Int(-offset)) s ahead of WDT's; the cursor stops at WDT's time "
                        + "\(serverNow), not at \(end)")
                    end = serverNow
                }
            }
            if let cursor, end <= cursor { return }
            cursor = end
            try ExtractCursor(cursor: end, run: request.runID).write(to: request.statePath)
        }

        func requestRecord(_ window: ExtractWindow) -> [String: String] {
            var parameters = client.businessParameters(start: window.start, end: window.end, pageNo: 0)
            parameters["page_no"] = nil
            for key in WDTSourceConfig.privateParameterNames { parameters[key] = nil }
            return parameters
        }

        /// The `stockin_no`s of a window recorded complete, read from its page files, when every file
        /// still has the SHA-256 the manifest recorded (and parses); `nil` otherwise. Each file is read once
        /// for both: the repeats check at the end needs the keys of skipped windows too.
        func verifiedKeys(_ entry: ExtractManifest.Window) -> Set<String>? {
            var keys = Set<String>()
            for page in entry.pages {
                guard let bytes = try? FileSystem.read(request.extractDirectory + "/" + page.file),
                    Hashing.sha256Hex(bytes) == page.sha256, let parsed = try? WDTResponseParser.parse(bytes)
                else { return nil }
                keys.formUnion(parsed.orders.map(WDTPage.documentKey))
            }
            return keys
        }

        enum ReadOutcome {
            case split(total: Int)
            /// A window read: its entry, the keys of its final pass (complete windows), whether to stop.
            case window(ExtractManifest.Window, keys: Set<String> = [], stop: Bool)
        }

        /// Reads a window as WDT recommends: page 0 for `total_count`, then from the last page back to page 1,
        /// then page 0 again, so that documents leaving the window during the pass shift into pages not yet
        /// read. A pass is consistent when the total never changed and the distinct `stockin_no` count equals
        /// it. After an inconsistent pass (an edit moved a document under the pager) the window is read again
        /// until two consecutive consistent passes agree (same total, same `stockin_no` set), up to
        /// `maxWindowAttempts` passes in all; otherwise it is recorded incomplete.
        func read(_ window: ExtractWindow) async throws(Diagnostic) -> ReadOutcome {
            let directory = request.extractDirectory + "/" + window.directoryName
            var lastEntry: ExtractManifest.Window?
            var disturbed = false
            var confirmed: (Int, Set<String>)?
            var attempts = 0
            for attempt in 1...max(1, config.maxWindowAttempts) {
                attempts = attempt
                var pages: [Int: (ExtractManifest.Page, [String])] = [:]
                var reason: String?
                func fetch(_ pageNo: Int) async throws(Diagnostic) -> WDTFetchedPage? {
                    do {
                        return try await client.fetchPage(start: window.start, end: window.end, pageNo: pageNo)
                    } catch {
                        if error.isRetryable {
                            reason = "gave up on page \(pageNo): \(error.description)"
                            return nil
                        }
                        throw Diagnostic.error("\(error.description) (window \(window), page \(pageNo))")
                    }
                }
                func gaveUp() -> ReadOutcome {
                    let keys = pages.values.flatMap(\.1)
                    return .window(
                        ExtractManifest.Window(
                            start: window.start, end: window.end, verdict: .incomplete, request: requestRecord(window),
                            totalCount: nil, received: keys.count, distinct: Set(keys).count, duplicates: [],
                            attempts: attempt, pages: pages.keys.sorted().compactMap { pages[$0]?.0 }, reason: reason),
                        stop: true)
                }
                guard let first = try await fetch(0) else { return gaveUp() }
                guard let total = first.page.totalCount else {
                    say("window \(window): page 0 has no total_count, so completeness cannot be proven; reading it again")
                    continue
                }
                if total > config.maxWindowDocuments && window.end > window.start {
                    return .split(total: total)
                }
                let pageCount = max(1, (total + config.pageSize - 1) / config.pageSize)
                say("window \(window): total_count \(total), \(pageCount) page(s) (pass \(attempt))")
                pages[0] = try store(first, pageNo: 0, in: window)
                if pageCount > 1 {
                    for pageNo in Array(stride(from: pageCount - 1, through: 1, by: -1)) + [0] {
                        guard let fetched = try await fetch(pageNo) else { return gaveUp() }
                        pages[pageNo] = try store(fetched, pageNo: pageNo, in: window, closing: pageNo == 0)
                        if let now = fetched.page.totalCount, now != total {
                            reason = "total_count changed from \(total) to \(now) while paging"
                            break
                        }
                    }
                }
                removeStalePages(in: directory, keeping: pageCount)
                let keys = pages.keys.sorted().flatMap { pages[$0]?.1 ?? [] }
                var seen: [String: Int] = [:]
                for key in keys { seen[key, default: 0] += 1 }
                let duplicates = seen.filter { $0.value > 1 }.map(\.key).sorted()
                if reason == nil && seen.count != total {
                    reason = "received \(keys.count) documents (\(seen.count) distinct) but total_count is \(total)"
                }
                let entry = ExtractManifest.Window(
                    start: window.start, end: window.end, verdict: reason == nil ? .complete : .incomplete,
                    request: requestRecord(window), totalCount: total, received: keys.count, distinct: seen.count,
                    duplicates: duplicates, attempts: attempt, pages: pages.keys.sorted().compactMap { pages[$0]?.0 },
                    reason: reason)
                if reason == nil {
                    // After a disturbed pass, a consistent pass must be confirmed by the next one agreeing
                    // with it (same total, same stockin_no set): the data is known to be moving.
                    let current = (total, Set(seen.keys))
                    if !disturbed { return .window(entry, keys: current.1, stop: false) }
                    if let previous = confirmed, previous.0 == current.0, previous.1 == current.1 {
                        return .window(entry, keys: current.1, stop: false)
                    }
                    confirmed = current
                    var pending = entry
                    pending.verdict = .incomplete
                    pending.reason = "pass \(attempt) was consistent but not yet confirmed by a second pass"
                    lastEntry = pending
                    if attempt < config.maxWindowAttempts {
                        say("window \(window): pass \(attempt) consistent; reading once more to confirm it")
                    }
                    continue
                }
                disturbed = true
                confirmed = nil
                lastEntry = entry
                if attempt < config.maxWindowAttempts {
                    say("window \(window): pass \(attempt) inconsistent (\(reason ?? "")); reading the window again")
                }
            }
            if var entry = lastEntry {
                entry.reason = "not consistent after \(entry.attempts) passes; last: \(entry.reason ?? "")"
                return .window(entry, stop: false)
            }
            return .window(
                ExtractManifest.Window(
                    start: window.start, end: window.end, verdict: .incomplete, request: requestRecord(window),
                    totalCount: nil, received: 0, distinct: 0, duplicates: [], attempts: attempts, pages: [],
                    reason: "page 0 never gave a total_count"), stop: false)
        }

        func store(_ fetched: WDTFetchedPage, pageNo: Int, in window: ExtractWindow, closing: Bool = false)
            throws(Diagnostic) -> (ExtractManifest.Page, [String])
        {
            let name = window.directoryName + "/" + Self.pageFileName(pageNo)
            try FileSystem.writeAtomically(fetched.body, to: request.extractDirectory + "/" + name)
            let count = fetched.page.orders.count
            say("  page \(pageNo)\(closing ? " again (closing the pass)" : ""): \(count) document\(count == 1 ? "" : "s")")
            return (
                ExtractManifest.Page(
                    file: name, pageNo: pageNo, sha256: Hashing.sha256Hex(fetched.body),
                    documents: fetched.page.orders.count),
                fetched.page.orders.map(WDTPage.documentKey)
            )
        }

        func removeStalePages(in directory: String, keeping count: Int) {
            for name in FileSystem.list(directory) where name.hasPrefix("page-") && name.hasSuffix(".json") {
                let digits = name.dropFirst("page-".count).dropLast(".json".count)
                if let number = Int(digits), number >= count {
                    try? FileSystem.remove(directory + "/" + name)
                }
            }
        }

        /// `page-00000.json`.
        static func pageFileName(_ pageNo: Int) -> String {
            let digits = String(pageNo)
            return "page-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits + ".json"
        }
    }
}
