import FerryCore
import FerryPipeline
import FerryTestSupport
import FerryWDT
import FerryWorkspace
import Foundation
import KingdeeSandbox
import Testing
import WDTSandbox

/// A stage killed with SIGKILL leaves a record that it started and did not finish.
@Suite(.serialized) struct KilledStageStatusTests {
    @Test func aLoadKilledMidWayShowsAsStartedAndNotFinished() async throws {
        var options = CleanRun.options()
        options.kingdeeFaults = KingdeeSandboxFaults(latency: .milliseconds(1500))
        let pair = try await SandboxPair.start(options: options)
        defer { Task { await pair.stop() } }
        let (dir, environment) = try CleanRun.workspace("ferry-killed-load", pair: pair)
        let id = try await CleanRun.extract(dir, pair: pair, environment: environment)
        #expect(try await TestSupport.runFerryAsync(["transform", "--workspace", dir], environment: environment).status == 0)

        // Every request waits 1.5 s for its answer: the load is killed while its first batches are out.
        let load = try await TestSupport.runFerryAsync(
            ["load", "--workspace", dir], environment: environment, killAfter: .milliseconds(1000))
        #expect(load.status == 128 + SIGKILL, "\(load.stderr)")

        let status = try TestSupport.runFerry(["status", "--workspace", dir])
        #expect(status.status == 1)
        #expect(status.stdout.contains("load started at "), "\(status.stdout)")
        #expect(status.stdout.contains("did not finish"), "\(status.stdout)")
        #expect(status.stdout.contains("ferry load --run \(id)"), "says what to do: \(status.stdout)")
        #expect(status.stdout.contains("checked in Kingdee, never sent twice"), "\(status.stdout)")
        let jsonText = try TestSupport.runFerry(["status", "--workspace", dir, "--json"]).stdout
        let schema = TestSupport.repositoryRoot + "/Docs/ferry-status-1.schema.json"
        let out = TestSupport.makeTemporaryDirectory() + "/status.json"
        try FileSystem.writeAtomically(jsonText, to: out)
        let check = try TestSupport.run(
            "/usr/bin/env",
            ["python3", "-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1]))); print('valid')", schema, out])
        #expect(check.status == 0 && check.stdout == "valid\n", "follows its schema: \(check.stderr)")
        let json = try JSONReader.parse(jsonText)
        #expect(json["run"]?["clean"] == .bool(false))
        let unfinished = try #require(json["unfinished"]?.arrayValue)
        #expect(unfinished.count == 1)
        #expect(unfinished.first?["stage"]?.stringValue == "load")
        #expect(unfinished.first?["running"] == .bool(false))

        // Run again to the end, the load finishes the work and the run is clean.
        let again = try await TestSupport.runFerryAsync(["load", "--workspace", dir], environment: environment)
        #expect(again.status == 0, "\(again.stderr)")
        let after = try TestSupport.runFerry(["status", "--workspace", dir])
        #expect(after.status == 0, "\(after.stdout)")
        #expect(!after.stdout.contains("did not finish"), "\(after.stdout)")
        #expect(pair.kingdee.store.bills.allSatisfy { $0.saveCount == 1 })
    }
}

/// How `run.json` records a stage's start and end, and how the overview reads an attempt without an end.
@Suite struct UnfinishedStageRecordTests {
    @Test func aStageWithoutAnEndIsRunningOrGoneAndTheRunIsNotClean() throws {
        let run = TestSupport.makeTemporaryDirectory("ferry-unfinished-record") + "/runs/20260105T100000Z"
        try FileSystem.createDirectory(run)
        let started = Date(timeIntervalSince1970: 1_767_600_000)
        try RunLog.begin(runDirectory: run, stage: "transform", started: started)
        try RunLog.append(runDirectory: run, stage: "transform", started: started, finished: started + 1, exitCode: 0)
        #expect(RunLog.records(runDirectory: run).count == 1, "the end replaces the start record")
        #expect(try RunOverview.read(runDirectory: run, runID: "20260105T100000Z").isClean)

        // Started by this process, which holds the run's lock, and not ended: running.
        try RunLog.begin(runDirectory: run, stage: "transform", started: started + 10)
        let lock = try FileLock(path: run + "/.lock", purpose: "the test's run")
        let running = try RunOverview.read(runDirectory: run, runID: "20260105T100000Z")
        lock.release()
        #expect(!running.isClean)
        let stage = try #require(running.unfinished.first)
        #expect(running.unfinished.count == 1 && stage.stage == "transform" && stage.startedAt == "2026-01-05T08:00:10Z")
        #expect(stage.pid == getpid() && stage.isRunning)
        #expect(running.text(includeDocuments: false).contains("is still running"))

        // Its process lets go of the lock without recording the end (as a killed one does): not running.
        #expect(try RunOverview.read(runDirectory: run, runID: "20260105T100000Z").unfinished.map(\.isRunning) == [false])

        // Started by a process that is gone (killed): did not finish, and says what to do.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let text = try FileSystem.readText(run + "/run.json")
            .replacingOccurrences(of: "\"pid\": \(getpid())", with: "\"pid\": \(gone.processIdentifier)")
        #expect(text.contains("\"pid\": \(gone.processIdentifier)"), "the record names the gone process: \(text)")
        try FileSystem.writeAtomically(text, to: run + "/run.json")
        let killed = try RunOverview.read(runDirectory: run, runID: "20260105T100000Z")
        #expect(!killed.isClean)
        #expect(killed.unfinished.map(\.isRunning) == [false])
        let rendered = killed.text(includeDocuments: false)
        #expect(rendered.contains("[transform/unfinished] transform started at 2026-01-05T08:00:10Z and did not finish"), "\(rendered)")
        #expect(rendered.contains("ferry transform --run 20260105T100000Z"))
        #expect(rendered.contains("transforms the run again from the start"), "a transform does not resume: \(rendered)")
        // The report's problem table shows no document count for a stage's problem.
        let report = RunReport.html(killed)
        #expect(report.contains("transform / unfinished</td><td>—"), "\(report)")
        #expect(killed.json(includeDocuments: false)["unfinished"]?.arrayValue?.first?["running"] == .bool(false))
        // Its timings list the finished attempt only.
        #expect(killed.timings.count == 1)
    }

    /// A killed stage's process id that a later process has (a container whose first process is Ferry always
    /// has id 1): that process holding the run's lock for another stage does not make the killed one running.
    @Test func aLaterProcessWithTheRecordedIDIsNotTheKilledStage() throws {
        let run = TestSupport.makeTemporaryDirectory("ferry-unfinished-reused") + "/runs/20260105T100000Z"
        try FileSystem.createDirectory(run)
        // The extract's process started long before this one, with this one's id, and was killed.
        try FileSystem.writeAtomically(
            #"{"stages": [{"stage": "extract", "started_at": "2026-01-05T08:00:00Z", "pid": \#(getpid()), "pid_start": "1"}]}"#,
            to: run + "/run.json")
        // This process works on the run now (it holds the lock), as a `ferry load --run` would.
        let lock = try FileLock(path: run + "/.lock", purpose: "the test's run")
        defer { lock.release() }
        let overview = try RunOverview.read(runDirectory: run, runID: "20260105T100000Z")
        #expect(overview.unfinished.map(\.isRunning) == [false])
        #expect(overview.text(includeDocuments: false).contains("extract started at 2026-01-05T08:00:00Z and did not finish"))

        // A stage this process started is running while it holds the lock.
        try RunLog.begin(runDirectory: run, stage: "extract", started: Date(timeIntervalSince1970: 1_767_600_100))
        #expect(try RunOverview.read(runDirectory: run, runID: "20260105T100000Z").unfinished.map(\.isRunning) == [true])
    }
}
