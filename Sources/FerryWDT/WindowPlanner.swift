import FerryCore

/// One extract window: a closed interval of WDT modified times, `start` and `end` both included.
public struct ExtractWindow: Sendable, Hashable, CustomStringConvertible {
    /// First second of the window.
    public var start: WDTTime
    /// Last second of the window (included).
    public var end: WDTTime

    /// Creates a window; `start` must not be after `end`.
    public init(start: WDTTime, end: WDTTime) {
        precondition(start <= end, "a window cannot end before it starts")
        self.start = start
        self.end = end
    }

    /// The directory name under `extract/`: `yyyyMMddTHHmmss-yyyyMMddTHHmmss`, sortable and file-system safe.
    public var directoryName: String { "\(start.compact)-\(end.compact)" }

    /// `start … end` in WDT time.
    public var description: String { "\(start) … \(end)" }

    /// Length in seconds, both ends counted (a one-second window has span 1).
    public var span: Int64 { end.unixSeconds - start.unixSeconds + 1 }

    /// The two halves `[start, mid]` and `[mid + 1 s, end]`, or `nil` for a one-second window.
    public var halves: (ExtractWindow, ExtractWindow)? {
        guard end > start else { return nil }
        let mid = start.adding(seconds: (end.unixSeconds - start.unixSeconds) / 2)
        return (ExtractWindow(start: start, end: mid), ExtractWindow(start: mid.adding(seconds: 1), end: end))
    }
}

/// The time range an extract covers and where it came from.
public struct ExtractRange: Sendable, Hashable {
    /// First second of the range.
    public var start: WDTTime
    /// Last second of the range (included).
    public var end: WDTTime
    /// How the range was chosen, for the progress output ("--since", "cursor … minus 10 min look-back").
    public var origin: String
    /// Whether `--until` (or the default "now") was pulled back to now minus `source.lag_seconds`.
    public var wasClamped: Bool

    /// Creates a range.
    public init(start: WDTTime, end: WDTTime, origin: String, wasClamped: Bool = false) {
        self.start = start
        self.end = end
        self.origin = origin
        self.wasClamped = wasClamped
    }

    /// Whether there is nothing to extract (the range ends before it starts).
    public var isEmpty: Bool { end < start }
}

/// Plans extract windows. Pure: no clock, no files; `now` and the cursor are parameters.
public enum WindowPlanner {
    /// Chooses the range to extract.
    ///
    /// The start is `since`, else the cursor plus one second minus the look-back, else `configuredStart`.
    /// The end is `until`, else now; either way at most `now - lagSeconds`, so documents still being
    /// written are left for the next run.
    ///
    /// - Throws: a `Diagnostic` when there is no start at all, or `since` is after `until`.
    public static func range(
        since: WDTTime?, until: WDTTime?, cursor: WDTTime?, configuredStart: WDTTime?,
        lookbackMinutes: Int, lagSeconds: Int, now: WDTTime
    ) throws(Diagnostic) -> ExtractRange {
        if let since, let until, since > until {
            throw .error("--since \(since) is after --until \(until); pass a --since before --until")
        }
        let start: WDTTime
        let origin: String
        if let since {
            start = since
            origin = "--since"
        } else if let cursor {
            start = cursor.adding(seconds: 1 - Int64(lookbackMinutes) * 60)
            origin = "cursor \(cursor) (state.json), minus \(lookbackMinutes) min look-back"
        } else if let configuredStart {
            start = configuredStart
            origin = "source.start"
        } else {
            throw .error(
                "no start time: this workspace has no cursor yet (state.json) and ferry.yaml sets no source.start; "
                    + "pass --since 'yyyy-MM-dd HH:mm:ss' (Asia/Shanghai time)")
        }
        let limit = now.adding(seconds: -Int64(lagSeconds))
        let wanted = until ?? limit
        return ExtractRange(
            start: start, end: min(wanted, limit), origin: origin, wasClamped: until.map { $0 > limit } ?? false)
    }

    /// Cuts `[start, end]` into consecutive windows of at most `maxDays` days.
    ///
    /// Windows are closed intervals that never share a second: each starts one second after the previous
    /// one ends. A window of `maxDays` days runs from `start` to `start + maxDays × 86400 − 1` seconds.
    public static func windows(from start: WDTTime, to end: WDTTime, maxDays: Int) -> [ExtractWindow] {
        precondition(maxDays >= 1)
        guard start <= end else { return [] }
        var result: [ExtractWindow] = []
        var cursor = start
        let length = Int64(maxDays) * 86400
        while cursor <= end {
            let windowEnd = min(cursor.adding(seconds: length - 1), end)
            result.append(ExtractWindow(start: cursor, end: windowEnd))
            cursor = windowEnd.adding(seconds: 1)
        }
        return result
    }
}
