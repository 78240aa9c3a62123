import FerryCore
import FerryPipeline
import FerryTestSupport
import Foundation
import KingdeeSandbox
import Testing
import WDTSandbox

/// `ferry run` killed with SIGKILL at random moments, continued with `--run ID` until it finishes.
@Suite(.serialized) struct RunResumeTests {
    @Test func killedRunContinuesToTheSameCompleteResult() async throws {
        var options = SandboxPair.Options()
        options.orders = 600
        options.wdtFaults = WDTSandboxFaults(latencyMilliseconds: 40)
        options.kingdeeFaults = KingdeeSandboxFaults(latency: .milliseconds(150))
        let pair = try await SandboxPair.start(options: options)
        defer { Task { await pair.stop() } }
        let dir = TestSupport.makeTemporaryDirectory("ferry-run-kill") + "/ws"
        try Demo.prepareDirectory(dir)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(pair.environment()) { $1 }
        let period = pair.period
        let arguments = ["run", "--workspace", dir, "--since", period.start.description, "--until", period.end.description]

        var generator = SystemRandomNumberGenerator()
        var runID: String?
        var kills = 0
        for attempt in 0..<8 where kills < 3 {
            // Early attempts die in extract, later ones (the earlier stages being complete) in load.
            let result = try await TestSupport.runFerryAsync(
                runID.map { ["run", "--workspace", dir, "--run", $0] } ?? arguments, environment: environment,
                killAfter: .milliseconds(Int.random(in: 60...(200 + 100 * attempt), using: &generator)))
            if result.status == 128 + SIGKILL { kills += 1 }
            if runID == nil, let line = result.stdout.split(separator: "\n").first { runID = String(line) }
        }
        let id = try #require(runID, "the run id is printed before any work")
        let final = try await TestSupport.runFerryAsync(["run", "--workspace", dir, "--run", id], environment: environment)
        #expect(final.status == 1, "the demo data has fixable failures: \(final.stderr)")
        #expect(kills >= 1, "at least one run was killed mid-way")

        // Every bill exists exactly once in Kingdee and has exactly one receipt; every payload ended somewhere.
        let transform = "\(dir)/runs/\(id)/transform"
        let bills = pair.kingdee.store.bills
        #expect(bills.allSatisfy { $0.saveCount == 1 })
        let payloads = FileSystem.list(transform).filter {
            $0.hasSuffix(".json") && !$0.hasSuffix(".receipt.json") && !$0.hasSuffix(".error.json")
                && !$0.hasSuffix(".reject.json") && $0 != "manifest.json"
        }
        var receipts = 0
        for payload in payloads {
            let base = String(payload.dropLast(5))
            let hasReceipt = FileSystem.exists("\(transform)/\(base).receipt.json")
            let hasError = FileSystem.exists("\(transform)/\(base).error.json")
            #expect(hasReceipt != hasError, "\(payload) has exactly one outcome")
            if hasReceipt { receipts += 1 }
        }
        #expect(receipts == bills.count)
        let status = try TestSupport.runFerry(["status", "--workspace", dir, "--json"])
        let value = try JSONReader.parse(status.stdout)
        #expect(value["stages"]?["extract"]?["state"] == "complete")
        #expect(value["stages"]?["load"]?["in_doubt"] == .number("0") && value["stages"]?["load"]?["pending"] == .number("0"))
        #expect(value["timings"]?.arrayValue?.count ?? 0 >= 3)
    }
}

/// Overlapping runs (the extract look-back) never send a bill twice.
@Suite(.serialized) struct OverlappingRunTests {
    /// Both sandboxes, a demo workspace, and a first `ferry run` over the first half of the period.
    func firstRun(_ label: String) async throws -> (SandboxPair, String, [String: String]) {
        let pair = try await SandboxPair.start(options: SandboxPair.Options())
        let dir = TestSupport.makeTemporaryDirectory(label) + "/ws"
        try Demo.prepareDirectory(dir)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(pair.environment()) { $1 }
        let first = try await TestSupport.runFerryAsync(
            ["run", "--workspace", dir, "--since", pair.period.start.description,
             "--until", pair.period.start.adding(seconds: 15 * 86_400).description],
            environment: environment)
        #expect(first.status == 1, "\(first.stderr)")
        return (pair, dir, environment)
    }

    @Test func aBillLoadedByAnEarlierRunIsNotSentAgain() async throws {
        let (pair, dir, environment) = try await firstRun("ferry-overlap")
        defer { Task { await pair.stop() } }
        let period = pair.period
        let middle = period.start.adding(seconds: 15 * 86_400)
        let billsAfterFirst = pair.kingdee.store.bills.count
        #expect(billsAfterFirst > 0)

        // The second run starts five days before the first one ended.
        let second = try await TestSupport.runFerryAsync(
            ["run", "--workspace", dir, "--since", middle.adding(seconds: -5 * 86_400).description, "--until", period.end.description],
            environment: environment)
        #expect(second.status == 1, "\(second.stderr)")
        #expect(second.stderr.contains("were loaded by another run"), "\(second.stderr)")
        let bills = pair.kingdee.store.bills
        #expect(bills.allSatisfy { $0.saveCount == 1 })
        #expect(pair.kingdee.store.duplicateRejections.isEmpty, "nothing was posted twice")
        let runs = FileSystem.list(dir + "/runs").filter { !$0.hasPrefix(".") }
        #expect(runs.count == 2)
        let secondRun = "\(dir)/runs/\(runs[1])/transform"
        let carried = FileSystem.list(secondRun).filter { $0.hasSuffix(".receipt.json") }.filter { name in
            (try? FileSystem.readText(secondRun + "/" + name))?.contains("\"carried_from\"") == true
        }
        #expect(!carried.isEmpty)
        for name in FileSystem.list(secondRun) where name.hasSuffix(".error.json") {
            let text = try FileSystem.readText(secondRun + "/" + name)
            #expect(!text.contains("\"class\": \"duplicate\""), "\(name)")
        }
    }

    @Test func aBillAnEarlierRunLeftInDoubtIsCheckedNotSentAsNew() async throws {
        let (pair, dir, environment) = try await firstRun("ferry-overlap-doubt")
        defer { Task { await pair.stop() } }
        let period = pair.period
        let middle = period.start.adding(seconds: 15 * 86_400)
        // The second run overlaps the first by five days.
        let extract = try await TestSupport.runFerryAsync(
            ["extract", "--workspace", dir, "--since", middle.adding(seconds: -5 * 86_400).description, "--until", period.end.description],
            environment: environment)
        #expect(extract.status == 0, "\(extract.stderr)")
        #expect(try await TestSupport.runFerryAsync(["transform", "--workspace", dir], environment: environment).status != 2)
        let runs = FileSystem.list(dir + "/runs").filter { !$0.hasPrefix(".") }
        let (firstRun, secondRun) = ("\(dir)/runs/\(runs[0])", "\(dir)/runs/\(runs[1])")
        // A bill in both runs that the first run saved: make it look as if the first load died before the
        // answer came (its receipt never written, its batch never settled).
        let shared = FileSystem.list(firstRun + "/transform").filter { $0.hasSuffix(".receipt.json") }
            .map { String($0.dropLast(".receipt.json".count)) }
            .first { FileSystem.exists(secondRun + "/transform/\($0).json") }
        let name = try #require(shared, "the runs overlap")
        try FileSystem.remove(firstRun + "/transform/\(name).receipt.json")
        let sha = Hashing.sha256Hex(try FileSystem.read(firstRun + "/transform/\(name).json"))
        let line = #"{"seq":999999,"kind":"sent","batch":"B999999","formid":"STK_MISCELLANEOUS","at":"2026-01-01T00:00:00Z","#
            + #""attempt":1,"reason":"new","documents":[{"payload":"\#(name)","FBillNo":"\#(name)","payload_sha256":"\#(sha)"}]}"#
        let journal = firstRun + "/load/journal.jsonl"
        try FileSystem.writeAtomically(try FileSystem.read(journal) + Array((line + "\n").utf8), to: journal)

        // The dry run lists it among the documents checked first, and takes nothing over.
        let dryRun = try await TestSupport.runFerryAsync(["load", "--workspace", dir, "--dry-run"], environment: environment)
        #expect(dryRun.stdout.contains("in doubt (checked with ExecuteBillQuery first): \(name).json"), "\(dryRun.stdout)")
        #expect(!((try? FileSystem.readText(secondRun + "/load/journal.jsonl")) ?? "").contains("inherited"))
        #expect(pair.kingdee.store.bills.allSatisfy { $0.saveCount == 1 })

        let load = try await TestSupport.runFerryAsync(["load", "--workspace", dir], environment: environment)
        #expect(load.stderr.contains("sent by another run's load that never got its answer"), "\(load.stderr)")
        #expect(pair.kingdee.store.duplicateRejections.isEmpty, "the bill was found, not sent as new")
        #expect(pair.kingdee.store.bills.allSatisfy { $0.saveCount == 1 })
        let receipt = try JSONReader.parse(try FileSystem.read(secondRun + "/transform/\(name).receipt.json"))
        #expect(receipt["how"]?.stringValue == "found by ExecuteBillQuery")
        #expect(!FileSystem.exists(secondRun + "/transform/\(name).error.json"))
    }

    @Test func anOlderRunLoadedAfterANewerOneFindsTheBillsTheNewerOneSaved() async throws {
        let pair = try await SandboxPair.start(options: SandboxPair.Options())
        defer { Task { await pair.stop() } }
        let dir = TestSupport.makeTemporaryDirectory("ferry-overlap-older") + "/ws"
        try Demo.prepareDirectory(dir)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(pair.environment()) { $1 }
        let period = pair.period
        let middle = period.start.adding(seconds: 15 * 86_400)
        // Run A is extracted and transformed, but not loaded.
        let extract = try await TestSupport.runFerryAsync(
            ["extract", "--workspace", dir, "--since", period.start.description, "--until", middle.description],
            environment: environment)
        #expect(extract.status == 0, "\(extract.stderr)")
        #expect(try await TestSupport.runFerryAsync(["transform", "--workspace", dir], environment: environment).status != 2)
        let older = try #require(FileSystem.list(dir + "/runs").first { !$0.hasPrefix(".") })
        // Run B overlaps it by five days and is loaded first.
        let newer = try await TestSupport.runFerryAsync(
            ["run", "--workspace", dir, "--since", middle.adding(seconds: -5 * 86_400).description, "--until", period.end.description],
            environment: environment)
        #expect(newer.status == 1, "\(newer.stderr)")
        let load = try await TestSupport.runFerryAsync(["load", "--workspace", dir, "--run", older], environment: environment)
        #expect(load.stderr.contains("were loaded by another run"), "\(load.stderr)")
        #expect(pair.kingdee.store.duplicateRejections.isEmpty, "the overlap is not sent again")
        #expect(pair.kingdee.store.bills.allSatisfy { $0.saveCount == 1 })
    }
}
