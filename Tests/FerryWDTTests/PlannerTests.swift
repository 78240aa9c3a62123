import FerryCore
import Testing

@testable import FerryWDT

struct WDTTimeTests {
    @Test func parsesAndFormatsShanghaiTime() throws {
        let t = try #require(WDTTime("2024-01-01 08:00:00"))
        #expect(t.unixSeconds == 1_704_067_200)  // 2024-01-01 00:00:00 UTC
        #expect(t.description == "2024-01-01 08:00:00")
        #expect(t.compact == "20240101T080000")
        #expect(WDTTime(unixSeconds: 1_700_000_000).description == "2023-11-15 06:13:20")
    }

    @Test(arguments: ["2026-02-29 00:00:00", "2026-13-01 00:00:00", "2026-01-01T00:00:00", "2026-01-01 24:00:00", "2026/01/01 00:00:00", ""])
    func rejectsImpossibleOrMisshapenTimes(_ text: String) {
        #expect(WDTTime(text) == nil)
    }

    @Test func acceptsLeapDay() {
        #expect(WDTTime("2028-02-29 23:59:59")?.adding(seconds: 1).description == "2028-03-01 00:00:00")
    }
}

struct WindowPlannerTests {
    func t(_ text: String) -> WDTTime { WDTTime(text)! }

    @Test func exactlyThirtyDaysIsOneWindow() {
        let windows = WindowPlanner.windows(from: t("2026-01-01 00:00:00"), to: t("2026-01-30 23:59:59"), maxDays: 30)
        #expect(windows.map(\.description) == ["2026-01-01 00:00:00 … 2026-01-30 23:59:59"])
        #expect(windows[0].directoryName == "20260101T000000-20260130T235959")
    }

    @Test func oneSecondMoreThanThirtyDaysGivesASecondOneSecondWindow() {
        let windows = WindowPlanner.windows(from: t("2026-01-01 00:00:00"), to: t("2026-01-31 00:00:00"), maxDays: 30)
        #expect(
            windows.map(\.description) == [
                "2026-01-01 00:00:00 … 2026-01-30 23:59:59", "2026-01-31 00:00:00 … 2026-01-31 00:00:00",
            ])
    }

    @Test func monthEndsAndFebruary() {
        let windows = WindowPlanner.windows(from: t("2026-01-31 00:00:00"), to: t("2026-03-31 23:59:59"), maxDays: 30)
        #expect(
            windows.map(\.description) == [
                "2026-01-31 00:00:00 … 2026-03-01 23:59:59", "2026-03-02 00:00:00 … 2026-03-31 23:59:59",
            ])
        let leap = WindowPlanner.windows(from: t("2028-02-01 00:00:00"), to: t("2028-03-31 23:59:59"), maxDays: 30)
        #expect(leap.first?.end == t("2028-03-01 23:59:59"))
    }

    @Test func windowsNeverShareABoundarySecondAndLeaveNoGap() {
        let start = t("2025-12-17 13:14:15"), end = t("2026-04-02 01:02:03")
        for days in [1, 7, 30] {
            let windows = WindowPlanner.windows(from: start, to: end, maxDays: days)
            #expect(windows.first?.start == start)
            #expect(windows.last?.end == end)
            for (a, b) in zip(windows, windows.dropFirst()) {
                #expect(b.start == a.end.adding(seconds: 1))
            }
            #expect(windows.allSatisfy { $0.span <= Int64(days) * 86400 })
        }
    }

    @Test func halvesAreClosedAndAdjacent() throws {
        let w = ExtractWindow(start: t("2026-01-01 00:00:00"), end: t("2026-01-01 00:00:09"))
        let (a, b) = try #require(w.halves)
        #expect(a.end == t("2026-01-01 00:00:04") && b.start == t("2026-01-01 00:00:05") && b.end == w.end)
        #expect(ExtractWindow(start: w.start, end: w.start).halves == nil)
    }

    @Test func rangeFromCursorAppliesLookBackAndLagClamp() throws {
        let now = t("2026-03-01 12:00:00")
        let range = try WindowPlanner.range(
            since: nil, until: nil, cursor: t("2026-02-28 23:59:59"), configuredStart: t("2025-01-01 00:00:00"),
            lookbackMinutes: 10, lagSeconds: 60, now: now)
        #expect(range.start == t("2026-02-28 23:50:00"))
        #expect(range.end == t("2026-03-01 11:59:00"))
        #expect(!range.wasClamped)
    }

    @Test func untilLaterThanNowMinusLagIsClamped() throws {
        let range = try WindowPlanner.range(
            since: t("2026-02-01 00:00:00"), until: t("2026-12-31 23:59:59"), cursor: t("2026-01-15 00:00:00"),
            configuredStart: nil, lookbackMinutes: 10, lagSeconds: 120, now: t("2026-03-01 12:00:00"))
        #expect(range.start == t("2026-02-01 00:00:00"))  // --since wins over the cursor, no look-back
        #expect(range.end == t("2026-03-01 11:58:00"))
        #expect(range.wasClamped)
    }

    @Test func configuredStartWhenThereIsNoCursorAndAnErrorWhenNothing() throws {
        let now = t("2026-03-01 12:00:00")
        let range = try WindowPlanner.range(
            since: nil, until: nil, cursor: nil, configuredStart: t("2026-01-01 00:00:00"), lookbackMinutes: 10,
            lagSeconds: 60, now: now)
        #expect(range.start == t("2026-01-01 00:00:00"))
        #expect(throws: Diagnostic.self) {
            try WindowPlanner.range(
                since: nil, until: nil, cursor: nil, configuredStart: nil, lookbackMinutes: 10, lagSeconds: 60, now: now)
        }
        do {
            _ = try WindowPlanner.range(
                since: nil, until: nil, cursor: nil, configuredStart: nil, lookbackMinutes: 10, lagSeconds: 60, now: now)
        } catch {
            #expect(error.message.contains("--since"))
        }
    }

    @Test func rangeEndingBeforeItStartsIsEmpty() throws {
        let range = try WindowPlanner.range(
            since: nil, until: nil, cursor: t("2026-03-01 11:59:30"), configuredStart: nil, lookbackMinutes: 0,
            lagSeconds: 60, now: t("2026-03-01 12:00:00"))
        #expect(range.isEmpty)
    }
}
