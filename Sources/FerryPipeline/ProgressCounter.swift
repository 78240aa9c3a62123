/// How far the current stage is, read from the stages' progress lines: the pages of the extract window
/// being read, or the documents of a load. Feeds the bar `ferry` draws on a terminal.
///
/// The stages report progress as plain lines (the same ones a log or a pipe shows), so this reads their
/// wording; `ProgressCounterTests` replays every line of a real demo run, so a change of wording that
/// breaks the count fails there.
public struct ProgressCounter: Sendable {
    /// Pages read in the current window, or documents settled by the load.
    public private(set) var done = 0
    /// Pages in the current window (page 0 is read twice: once for the total, once in order), or payloads
    /// of the load; 0 while unknown.
    public private(set) var total = 0

    /// Starts with nothing known.
    public init() {}

    /// Counts one progress line.
    public mutating func absorb(_ line: String) {
        let words = line.split(separator: " ").map { String($0.trimmingCharacters(in: .punctuationCharacters)) }
        func number(before word: String) -> Int? {
            guard let i = words.firstIndex(where: { $0.hasPrefix(word) }), i > 0 else { return nil }
            return Int(words[i - 1])
        }
        if line.contains("total_count"), let pages = number(before: "page(s") ?? number(before: "page") {
            // "window …: total_count N, P page(s) (pass k)": a new pass over P pages, then page 0 again.
            total = pages + 1
            done = 0
        } else if line.hasPrefix("  page ") {
            done += 1
        } else if line.hasPrefix("load: "), line.contains("payload file(s)"), let files = number(before: "payload") {
            // "load: N payload file(s); sending …": every payload ends sent, found or counted as needing no sending.
            total = files
            done = 0
        } else if line.hasPrefix("load: "), line.contains("need no sending"), let settled = number(before: "payload") {
            done += settled
        } else if line.hasPrefix("load: "), let saved = number(before: "saved") {
            done += saved + (number(before: "failed") ?? 0)
        } else if line.hasPrefix("load: in doubt:"), let found = number(before: "found") {
            done += found
        }
    }
}
