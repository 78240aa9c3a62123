import FerryCore
import FerryPipeline
import FerryTestSupport
import FerryWDT
import Foundation
import KingdeeSandbox
import Testing
import WDTSandbox

/// `ferry run` after an extract that left a window incomplete: what was read is transformed and loaded, the
/// cursor stays before the incomplete window, and the next run reads it again without sending a bill twice.
@Suite(.serialized) struct IncompleteExtractRunTests {
    @Test func theNextRunReadsTheIncompleteWindowAgainAndSendsNothingTwice() async throws {
        let period = SandboxPair.Options().periodStart
        // Windows of ten days: the second one (10-11 … 10-20) never settles, the first and third do.
        let second = period.adding(seconds: 10 * 86_400)...period.adding(seconds: 20 * 86_400 - 1)
        var options = CleanRun.options()
        options.wdtFaults = WDTSandboxFaults(modifyBetweenPages: .every(2), modifyBetweenPagesWithin: second)
        let pair = try await SandboxPair.start(options: options)
        defer { Task { await pair.stop() } }
        let (dir, environment) = try CleanRun.workspace(
            "ferry-run-incomplete", pair: pair,
            edits: [("window_days: 30", "window_days: 10"), ("page_size: 100", "page_size: 20"),
                    ("lookback_minutes: 10", "lookback_minutes: 10\n  max_window_passes: 2")])

        let first = try await TestSupport.runFerryAsync(
            ["run", "--workspace", dir, "--since", pair.period.start.description, "--until", pair.period.end.description],
            environment: environment)
        #expect(first.status == 1, "\(first.stderr)")
        let firstID = try CleanRun.runID(first)
        let extract = try ExtractManifest.load("\(dir)/runs/\(firstID)/extract/manifest.json")
        let incomplete = extract.windows.filter { $0.verdict == .incomplete }
        #expect(incomplete.count == 1 && incomplete.first?.start == second.lowerBound, "\(extract.windows.map(\.verdict))")
        #expect(extract.windows.filter { $0.verdict == .complete }.count == 2)
        // The cursor stays before the incomplete window.
        let cursor = try #require(try ExtractCursor.load(dir + "/state.json")?.cursor)
        #expect(cursor < second.lowerBound, "cursor \(cursor)")
        // What was read was transformed and loaded: bills of the third window are in Kingdee already.
        let third = pair.wdt.stockinNumbers(start: second.upperBound.adding(seconds: 1), end: pair.period.end)
        let afterFirst = Set(pair.kingdee.store.bills.map(\.number))
        #expect(!third.isEmpty && third.isSubset(of: afterFirst))
        // And the run says so plainly.
        #expect(first.stderr.contains("the extract is incomplete"), "\(first.stderr)")
        #expect(first.stderr.contains("what was read was transformed and loaded"), "\(first.stderr)")
        #expect(first.stderr.contains("the next `ferry run` (without --since) reads the incomplete windows again"), "\(first.stderr)")
        // ferry status agrees, and its help names the reason.
        #expect(try TestSupport.runFerry(["status", "--workspace", dir, "--run", firstID]).status == 1)
        let help = try TestSupport.runFerry(["status", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("a window is not proven complete"), "\(help)")
        #expect(help.contains("a bill loaded earlier is no longer produced"), "\(help)")

        // WDT settles; the next scheduled run (no --since) starts at the cursor.
        pair.wdt.setFaults(WDTSandboxFaults())
        let next = try await TestSupport.runFerryAsync(
            ["run", "--workspace", dir, "--until", pair.period.end.description], environment: environment)
        #expect(next.status == 0, "\(next.stderr)")
        let nextID = try CleanRun.runID(next)
        #expect(nextID != firstID)
        let reread = try ExtractManifest.load("\(dir)/runs/\(nextID)/extract/manifest.json")
        #expect(reread.isComplete && reread.rangeStart <= second.lowerBound, "\(reread.rangeStart)")
        #expect(try ExtractCursor.load(dir + "/state.json")?.cursor == pair.period.end)
        #expect(next.stderr.contains("were loaded by another run"), "\(next.stderr)")

        // Every completed order of the period (but those filtered out) is in Kingdee, each saved once.
        let bills = pair.kingdee.store.bills
        var filtered: Set<String> = []
        for id in [firstID, nextID] {
            let manifest = try JSONReader.parseFile("\(dir)/runs/\(id)/transform/manifest.json")
            filtered.formUnion((manifest["filtered"]?.arrayValue ?? []).compactMap { $0["key"]?.scalarText })
        }
        let numbers = Set(bills.map(\.number))
        #expect(numbers.union(filtered) == pair.wdt.stockinNumbers(start: pair.period.start, end: pair.period.end))
        #expect(bills.allSatisfy { $0.saveCount == 1 })
        #expect(pair.kingdee.store.duplicateRejections.isEmpty, "nothing was sent twice")
    }

    /// Reading an earlier period again (`--since`) behind a cursor that is already past it: a window left
    /// incomplete there is not read again by the next `ferry run` without --since, and the run must not
    /// say it is.
    @Test func anIncompleteWindowBehindTheCursorIsNotPromisedToTheNextRun() async throws {
        let period = SandboxPair.Options().periodStart
        let second = period.adding(seconds: 10 * 86_400)...period.adding(seconds: 20 * 86_400 - 1)
        let pair = try await SandboxPair.start(options: CleanRun.options())
        defer { Task { await pair.stop() } }
        let (dir, environment) = try CleanRun.workspace(
            "ferry-run-incomplete-behind", pair: pair,
            edits: [("window_days: 30", "window_days: 10"), ("page_size: 100", "page_size: 20"),
                    ("lookback_minutes: 10", "lookback_minutes: 10\n  max_window_passes: 2")])
        let range = ["--since", pair.period.start.description, "--until", pair.period.end.description]

        let clean = try await TestSupport.runFerryAsync(["run", "--workspace", dir] + range, environment: environment)
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(try ExtractCursor.load(dir + "/state.json")?.cursor == pair.period.end)

        // The same period again, with its second window never settling: the cursor stays where it was.
        pair.wdt.setFaults(WDTSandboxFaults(modifyBetweenPages: .every(2), modifyBetweenPagesWithin: second))
        let again = try await TestSupport.runFerryAsync(["run", "--workspace", dir] + range, environment: environment)
        #expect(again.status == 1, "\(again.stderr)")
        let id = try CleanRun.runID(again)
        let cursor = try #require(try ExtractCursor.load(dir + "/state.json")?.cursor)
        #expect(cursor > second.upperBound, "cursor \(cursor)")
        #expect(again.stderr.contains("the extract is incomplete"), "\(again.stderr)")
        #expect(!again.stderr.contains("reads the incomplete windows again"), "a false promise: \(again.stderr)")
        #expect(!again.stderr.contains("the cursor stays before them"), "a false promise: \(again.stderr)")
        #expect(again.stderr.contains("does not read them"), "\(again.stderr)")
        #expect(again.stderr.contains("ferry run --run \(id)"), "\(again.stderr)")
        let help = try TestSupport.runFerry(["run", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("unless the cursor was past it already"), "the help says so too: \(help)")
    }
}
