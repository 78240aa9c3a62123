import FerryCore

/// `runs/<id>/extract/manifest.json`: what was asked, what came back, and whether each window is proven
/// complete. Written with `JSONWriter` (pretty, fixed key order) after every window.
///
/// It never holds the app secret, a sign, the app keys, the sid or a timestamp: only the business
/// parameters of the requests.
public struct ExtractManifest: Sendable, Hashable {
    /// The format tag written as `format`.
    public static let formatName = "ferry-extract-manifest-1"

    /// One page file.
    public struct Page: Sendable, Hashable {
        /// Path relative to `extract/`, such as `20260101T000000-20260130T235959/page-00000.json`.
        public var file: String
        /// The request's `page_no`.
        public var pageNo: Int
        /// Lowercase hex SHA-256 of the file.
        public var sha256: String
        /// Orders in the page's `stockin_list`.
        public var documents: Int
    }

    /// What a window's reading proved.
    public enum Verdict: String, Sendable, Hashable {
        /// Every page read, distinct documents = `total_count`, the total stable during the pass.
        case complete
        /// Not proven; rerun `ferry extract --run ID` to read it again.
        case incomplete
        /// Too many documents (`source.max_window_documents`): read as two halves, listed separately.
        case split
    }

    /// One window.
    public struct Window: Sendable, Hashable {
        /// First second (WDT time).
        public var start: WDTTime
        /// Last second, included.
        public var end: WDTTime
        /// The verdict.
        public var verdict: Verdict
        /// Business parameters of the requests (page_no left out: it is per page).
        public var request: [String: String]
        /// `total_count` from the accepted pass (or the last pass when incomplete).
        public var totalCount: Int?
        /// Orders received over all pages of the pass.
        public var received: Int
        /// Distinct `stockin_no` values among them.
        public var distinct: Int
        /// `stockin_no` values received more than once (kept as received; the transform keeps the newest).
        public var duplicates: [String]
        /// Passes made over the window.
        public var attempts: Int
        /// The page files of the pass, by `page_no`.
        public var pages: [Page]
        /// Why the window is not complete, when it is not.
        public var reason: String?

        /// The window as a value.
        public var window: ExtractWindow { ExtractWindow(start: start, end: end) }
    }

    /// The gateway (`wdt-qimen` or `wdt-openapi`).
    public var api: String
    /// The method name.
    public var method: String
    /// First second of the whole range.
    public var rangeStart: WDTTime
    /// Last second of the whole range.
    public var rangeEnd: WDTTime
    /// The page size used.
    public var pageSize: Int
    /// The longest window, in days; a resumed run keeps the windows it started with.
    public var windowDays: Int
    /// Windows, in time order.
    public var windows: [Window]

    /// A `stockin_no` received in more than one complete window: the order was modified while the extract
    /// ran (or between attempts of a resumed run), so its `modified` time moved it into a later window.
    /// Every version received is kept; the transform keeps the newest.
    public struct Repeat: Sendable, Hashable {
        /// The document key (`stockin_no`, else `order_no`, else `stockin_id:<id>`).
        public var stockinNo: String
        /// The directories of the windows it came in, in time order.
        public var windows: [String]

        /// Creates a repeat.
        public init(stockinNo: String, windows: [String]) {
            self.stockinNo = stockinNo
            self.windows = windows
        }
    }

    /// Every `stockin_no` received in more than one complete window, sorted by key (computed at the end
    /// of each extract, over every complete window, those of earlier attempts included).
    public var repeatedAcrossWindows: [Repeat] = []

    /// Whether every window of the range is recorded complete (split windows through their halves).
    public var isComplete: Bool {
        windows.allSatisfy { $0.verdict != .incomplete } && coveredSeconds == rangeEnd.unixSeconds - rangeStart.unixSeconds + 1
    }

    private var coveredSeconds: Int64 {
        windows.filter { $0.verdict == .complete }.reduce(0) { $0 + $1.window.span }
    }

    /// The manifest as JSON (fixed key order).
    public var json: JSONValue {
        var root = JSONObject()
        root.append("format", .string(Self.formatName))
        root.append("api", .string(api))
        root.append("method", .string(method))
        root.append("range", ["start": .string(rangeStart.description), "end": .string(rangeEnd.description)])
        root.append("page_size", .number(String(pageSize)))
        root.append("window_days", .number(String(windowDays)))
        root.append("complete", .bool(isComplete))
        root.append("windows", .array(windows.map(Self.windowJSON)))
        root.append(
            "repeated_across_windows",
            .array(
                repeatedAcrossWindows.map { r in
                    ["stockin_no": .string(r.stockinNo), "windows": .array(r.windows.map { .string($0) })]
                }))
        return .object(root)
    }

    static func windowJSON(_ w: Window) -> JSONValue {
        var o = JSONObject()
        o.append("start", .string(w.start.description))
        o.append("end", .string(w.end.description))
        o.append("directory", .string(w.window.directoryName))
        o.append("verdict", .string(w.verdict.rawValue))
        if let reason = w.reason { o.append("reason", .string(reason)) }
        var request = JSONObject()
        for key in w.request.keys.sorted() { request.append(key, .string(w.request[key] ?? "")) }
        o.append("request", .object(request))
        o.append("total_count", w.totalCount.map { .number(String($0)) } ?? .null)
        o.append("received", .number(String(w.received)))
        o.append("distinct", .number(String(w.distinct)))
        o.append("duplicates", .array(w.duplicates.map { .string($0) }))
        o.append("attempts", .number(String(w.attempts)))
        o.append(
            "pages",
            .array(
                w.pages.map { p in
                    [
                        "file": .string(p.file), "page_no": .number(String(p.pageNo)), "sha256": .string(p.sha256),
                        "documents": .number(String(p.documents)),
                    ]
                }))
        return .object(o)
    }

    /// Reads a manifest back.
    ///
    /// - Throws: a `Diagnostic` naming the file when it is not a manifest this Ferry wrote.
    public static func load(_ path: String) throws(Diagnostic) -> ExtractManifest {
        let value = try JSONReader.parseFile(path)
        func bad(_ what: String) -> Diagnostic {
            .error("not a Ferry extract manifest (\(what)); move it away and extract into a new run", file: path)
        }
        guard value["format"]?.stringValue == formatName else { throw bad("format") }
        guard let api = value["api"]?.stringValue, let method = value["method"]?.stringValue,
            let start = value["range"]?["start"]?.stringValue.flatMap(WDTTime.init),
            let end = value["range"]?["end"]?.stringValue.flatMap(WDTTime.init),
            let pageSize = value["page_size"]?.scalarText.flatMap({ Int($0) }),
            let windowValues = value["windows"]?.arrayValue
        else { throw bad("header") }
        var windows: [Window] = []
        for w in windowValues {
            guard let ws = w["start"]?.stringValue.flatMap(WDTTime.init),
                let we = w["end"]?.stringValue.flatMap(WDTTime.init),
                let verdict = w["verdict"]?.stringValue.flatMap(Verdict.init(rawValue:)),
                let received = w["received"]?.scalarText.flatMap({ Int($0) }),
                let distinct = w["distinct"]?.scalarText.flatMap({ Int($0) }),
                let attempts = w["attempts"]?.scalarText.flatMap({ Int($0) })
            else { throw bad("window") }
            var request: [String: String] = [:]
            for member in w["request"]?.objectValue?.members ?? [] { request[member.key] = member.value.scalarText ?? "" }
            var pages: [Page] = []
            for p in w["pages"]?.arrayValue ?? [] {
                guard let file = p["file"]?.stringValue, let no = p["page_no"]?.scalarText.flatMap({ Int($0) }),
                    let sha = p["sha256"]?.stringValue, let docs = p["documents"]?.scalarText.flatMap({ Int($0) })
                else { throw bad("page") }
                pages.append(Page(file: file, pageNo: no, sha256: sha, documents: docs))
            }
            windows.append(
                Window(
                    start: ws, end: we, verdict: verdict, request: request,
                    totalCount: w["total_count"]?.scalarText.flatMap { Int($0) }, received: received,
                    distinct: distinct, duplicates: (w["duplicates"]?.arrayValue ?? []).compactMap(\.stringValue),
                    attempts: attempts, pages: pages, reason: w["reason"]?.stringValue))
        }
        let windowDays = value["window_days"]?.scalarText.flatMap { Int($0) } ?? 30
        var repeats: [Repeat] = []
        for r in value["repeated_across_windows"]?.arrayValue ?? [] {
            guard let key = r["stockin_no"]?.stringValue, let list = r["windows"]?.arrayValue else { throw bad("repeated_across_windows") }
            repeats.append(Repeat(stockinNo: key, windows: list.compactMap(\.stringValue)))
        }
        var manifest = ExtractManifest(
            api: api, method: method, rangeStart: start, rangeEnd: end, pageSize: pageSize, windowDays: windowDays,
            windows: windows)
        manifest.repeatedAcrossWindows = repeats
        return manifest
    }

    /// Writes the manifest atomically.
    ///
    /// - Throws: a `Diagnostic` naming the file when it cannot be written.
    public func write(to path: String) throws(Diagnostic) {
        try FileSystem.writeAtomically(JSONWriter(style: .pretty).bytes(json), to: path)
    }
}

/// The workspace's extract cursor, `state.json`: the end of the last window that was complete and durable,
/// with no gap before it.
public struct ExtractCursor: Sendable, Hashable {
    /// The last second extracted completely.
    public var cursor: WDTTime
    /// The run that moved it there.
    public var run: String

    /// Creates a cursor value.
    public init(cursor: WDTTime, run: String) {
        self.cursor = cursor
        self.run = run
    }

    /// Reads `state.json`; `nil` when the file does not exist.
    ///
    /// - Throws: a `Diagnostic` naming the file when it exists but is not a cursor.
    public static func load(_ path: String) throws(Diagnostic) -> ExtractCursor? {
        guard FileSystem.exists(path) else { return nil }
        let value = try JSONReader.parseFile(path)
        guard let text = value["cursor"]?.stringValue, let time = WDTTime(text) else {
            throw .error(
                "'cursor' must be a WDT time 'yyyy-MM-dd HH:mm:ss'; fix it, or delete state.json and pass --since",
                file: path)
        }
        return ExtractCursor(cursor: time, run: value["run"]?.stringValue ?? "")
    }

    /// Writes `state.json` atomically.
    ///
    /// - Throws: a `Diagnostic` naming the file when it cannot be written.
    public func write(to path: String) throws(Diagnostic) {
        let value: JSONValue = ["cursor": .string(cursor.description), "run": .string(run)]
        try FileSystem.writeAtomically(JSONWriter(style: .pretty).bytes(value), to: path)
    }
}
