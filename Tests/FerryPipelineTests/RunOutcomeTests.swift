import FerryCore
import FerryPipeline
import FerryTestSupport
import FerryWDT
import Foundation
import KingdeeSandbox
import Testing
import WDTSandbox

/// A workspace and sandboxes whose data fit each other completely, so that a run with nothing going wrong
/// is clean: the demo's lookups with the warehouse and the goods it leaves out on purpose added, the
/// material it leaves out of Kingdee's master data added there, and orders without a counted line (the
/// generator makes a few, which the scheme rejects) filtered out.
enum CleanRun {
    static func options() -> SandboxPair.Options {
        var options = SandboxPair.Options()
        options.masterData.materials.insert("1.01.013")
        return options
    }

    /// A demo workspace at `<tmp>/ws` with complete lookups, `edits` applied to its ferry.yaml (text
    /// replacements), and the environment that points it at `pair`.
    static func workspace(_ label: String, pair: SandboxPair, edits: [(String, String)] = []) throws -> (String, [String: String]) {
        let dir = TestSupport.makeTemporaryDirectory(label) + "/ws"
        try Demo.prepareDirectory(dir)
        try FileSystem.writeAtomically(
            try FileSystem.readText(dir + "/lookups/warehouses.csv") + "WH005,CK004,武汉东西湖退货仓\n",
            to: dir + "/lookups/warehouses.csv")
        try FileSystem.writeAtomically(
            try FileSystem.readText(dir + "/lookups/materials.csv") + "6970244525113,1.01.012,奈雪的茶 霸气橙子果茶 瓶装\n",
            to: dir + "/lookups/materials.csv")
        try insertFilter("goods_count > 0", reason: "orders with nothing counted are not booked", in: dir)
        var config = try FileSystem.readText(dir + "/ferry.yaml")
        for (old, new) in edits {
            precondition(config.contains(old), "ferry.yaml has no '\(old)'")
            config = config.replacingOccurrences(of: old, with: new)
        }
        try FileSystem.writeAtomically(config, to: dir + "/ferry.yaml")
        var environment = ProcessInfo.processInfo.environment
        environment.merge(pair.environment()) { $1 }
        return (dir, environment)
    }

    /// Adds a document filter to the workspace's scheme, before its first one.
    static func insertFilter(_ when: String, reason: String, in dir: String) throws {
        let template = dir + "/templates/wdt-stockin-to-kingdee-other-inbound.xml"
        let text = try FileSystem.readText(template)
        let anchor = try #require(text.range(of: "<filter "))
        let escaped = when.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        try FileSystem.writeAtomically(
            text.replacingCharacters(
                in: anchor.lowerBound..<anchor.lowerBound, with: "<filter when=\"\(escaped)\" reason=\"\(reason)\"/>\n  "),
            to: template)
    }

    /// `ferry extract` of the sandbox's whole period into a new run of the workspace `dir`, which must
    /// succeed: the new run's id.
    static func extract(_ dir: String, pair: SandboxPair, environment: [String: String], sourceLocation: SourceLocation = #_sourceLocation)
        async throws -> String
    {
        try await overPeriod("extract", dir, pair: pair, environment: environment, sourceLocation: sourceLocation)
    }

    /// `ferry run` over the sandbox's whole period in the workspace `dir`, into a new run that must come out
    /// clean (exit 0): the run's id.
    static func cleanRun(_ dir: String, pair: SandboxPair, environment: [String: String], sourceLocation: SourceLocation = #_sourceLocation)
        async throws -> String
    {
        try await overPeriod("run", dir, pair: pair, environment: environment, sourceLocation: sourceLocation)
    }

    /// `ferry COMMAND` over the sandbox's whole period in the workspace `dir`, which must exit 0: the run's id.
    private static func overPeriod(
        _ command: String, _ dir: String, pair: SandboxPair, environment: [String: String], sourceLocation: SourceLocation
    ) async throws -> String {
        let result = try await TestSupport.runFerryAsync(
            [command, "--workspace", dir, "--since", pair.period.start.description, "--until", pair.period.end.description],
            environment: environment)
        #expect(result.status == 0, "ferry \(command) must exit 0: \(result.stderr)", sourceLocation: sourceLocation)
        return try runID(result)
    }

    /// The run id `ferry run` or `ferry extract` printed first on stdout.
    static func runID(_ result: TestSupport.ProcessResult) throws -> String {
        try #require(result.stdout.split(separator: "\n").first.map(String.init), "no run id on stdout: \(result.stderr)")
    }
}

/// `ferry run` exits as `ferry status` judges the run: 0 only when it is clean.
@Suite(.serialized) struct RunExitCodeTests {
    /// A bill loaded by the run that a later pass of the same run no longer produces (its order is filtered
    /// out now) needs a person: `ferry status` says the run is not clean, and `ferry run` must say so too.
    @Test func aRunLeavingABillNoLongerProducedExitsOneAsStatusDoes() async throws {
        let pair = try await SandboxPair.start(options: CleanRun.options())
        defer { Task { await pair.stop() } }
        let (dir, environment) = try CleanRun.workspace("ferry-run-exit", pair: pair)
        let id = try await CleanRun.cleanRun(dir, pair: pair, environment: environment)
        #expect(try TestSupport.runFerry(["status", "--workspace", dir, "--run", id]).status == 0)

        // One loaded order is filtered out from now on.
        let manifest = try JSONReader.parseFile("\(dir)/runs/\(id)/transform/manifest.json")
        let key = try #require(manifest["outputs"]?.arrayValue?.first?["key"]?.scalarText)
        try CleanRun.insertFilter("stockin_no != '\(key)'", reason: "held back by the test", in: dir)

        let again = try await TestSupport.runFerryAsync(["run", "--workspace", dir, "--run", id], environment: environment)
        let status = try TestSupport.runFerry(["status", "--workspace", dir, "--run", id])
        #expect(status.status == 1, "the bill is in Kingdee without source data behind it: \(status.stdout)")
        #expect(again.status == status.status, "ferry run agrees with ferry status: \(again.stderr)")
        #expect(again.stderr.contains("no longer produced by the transform"), "the overview says why: \(again.stderr)")
    }
}

/// `ferry status` counts the documents of a file the transform could not read as not loaded.
@Suite(.serialized) struct UnreadableInputStatusTests {
    @Test func aPageTheTransformCouldNotReadLeavesTheRunUnclean() async throws {
        let pair = try await SandboxPair.start(options: CleanRun.options())
        defer { Task { await pair.stop() } }
        let (dir, environment) = try CleanRun.workspace("ferry-unreadable", pair: pair)
        let id = try await CleanRun.extract(dir, pair: pair, environment: environment)
        // One page file is cut short (a bad copy, a disk problem): its orders cannot be read.
        let extractDirectory = "\(dir)/runs/\(id)/extract"
        let window = try #require(FileSystem.list(extractDirectory).first { FileSystem.isDirectory(extractDirectory + "/" + $0) })
        let page = "\(extractDirectory)/\(window)/page-00001.json"
        let bytes = try FileSystem.read(page)
        try FileSystem.writeAtomically(Array(bytes.prefix(bytes.count / 2)), to: page)

        let transform = try await TestSupport.runFerryAsync(["transform", "--workspace", dir], environment: environment)
        #expect(transform.status == 1, "\(transform.stderr)")
        let load = try await TestSupport.runFerryAsync(["load", "--workspace", dir], environment: environment)
        #expect(load.status == 0, "what could be read is loaded: \(load.stderr)")
        let status = try TestSupport.runFerry(["status", "--workspace", dir])
        #expect(status.status == 1, "the orders of the page are neither loaded nor filtered: \(status.stdout)")
        #expect(status.stdout.contains("[transform/unreadable]") && status.stdout.contains("page-00001.json"), "\(status.stdout)")
        #expect(status.stdout.contains("ferry extract --run \(id)"), "says what to do: \(status.stdout)")
    }
}

/// `ferry status` says which stage could not run when that is what keeps a run from being clean: the
/// counts it shows come from the files an earlier attempt left, which may all look done.
@Suite(.serialized) struct StageThatCouldNotRunStatusTests {
    @Test func aLoadThatCouldNotRunAfterAFullLoadIsNamed() async throws {
        let pair = try await SandboxPair.start(options: CleanRun.options())
        defer { Task { await pair.stop() } }
        let (dir, environment) = try CleanRun.workspace("ferry-could-not-run", pair: pair)
        let id = try await CleanRun.cleanRun(dir, pair: pair, environment: environment)

        // Another load of the workspace is sending: this one stops without doing anything (exit 2).
        let other = try FileLock(path: dir + "/.load.lock", purpose: "loading from this workspace")
        let load = try await TestSupport.runFerryAsync(["load", "--workspace", dir, "--run", id], environment: environment)
        other.release()
        #expect(load.status == 2, "\(load.stderr)")
        let status = try TestSupport.runFerry(["status", "--workspace", dir, "--run", id])
        #expect(status.status == 1, "the latest load could not run: \(status.stdout)")
        #expect(status.stdout.contains("0 failed, 0 in doubt, 0 pending, 0 changed"), "every bill is loaded: \(status.stdout)")
        #expect(status.stdout.contains("load       latest attempt could not run"), "says which stage: \(status.stdout)")
        #expect(status.stdout.contains("`ferry load --run \(id)`"), "and what to do: \(status.stdout)")
        // And why, as the load said it then (run.json keeps it): the terminal it went to may be long gone.
        #expect(load.stderr.contains("loading from this workspace"), "\(load.stderr)")
        #expect(status.stdout.contains("loading from this workspace"), "says why: \(status.stdout)")
        // The report says it too.
        let report = RunReport.html(try RunOverview.read(runDirectory: "\(dir)/runs/\(id)", runID: id))
        #expect(report.contains("<td>load</td><td>could not run</td>"), "\(report)")
        #expect(report.contains("loading from this workspace"), "\(report)")
    }

    /// A variable the load needs is not set: `ferry load` records that as `ferry run` does (exit 2 in
    /// run.json), so the run is not clean whichever command tried.
    @Test func aLoadWhoseSettingsCannotBeResolvedIsRecorded() async throws {
        let pair = try await SandboxPair.start(options: CleanRun.options())
        defer { Task { await pair.stop() } }
        let (dir, environment) = try CleanRun.workspace("ferry-load-no-secret", pair: pair)
        let id = try await CleanRun.cleanRun(dir, pair: pair, environment: environment)

        var noSecret = environment
        noSecret["KINGDEE_APP_SECRET"] = nil
        let load = try await TestSupport.runFerryAsync(["load", "--workspace", dir, "--run", id], environment: noSecret)
        #expect(load.status == 2 && load.stderr.contains("KINGDEE_APP_SECRET is not set"), "\(load.stderr)")
        let status = try TestSupport.runFerry(["status", "--workspace", dir, "--run", id])
        #expect(status.status == 1, "the latest load could not run: \(status.stdout)")
        #expect(status.stdout.contains("load       latest attempt could not run"), "\(status.stdout)")
        #expect(status.stdout.contains("KINGDEE_APP_SECRET is not set"), "says why: \(status.stdout)")
        let json = try TestSupport.runFerry(["status", "--workspace", dir, "--run", id, "--json"])
        let timings = try #require(JSONReader.parse(Array(json.stdout.utf8))["timings"]?.arrayValue)
        #expect(timings.last?["error"]?.stringValue?.contains("KINGDEE_APP_SECRET is not set") == true, "\(json.stdout)")
        #expect(timings.first?["error"] == .null, "a stage that ran has no error: \(json.stdout)")
        // Once it can, the run is clean again, and the announcement still comes first.
        let again = try await TestSupport.runFerryAsync(["load", "--workspace", dir, "--run", id], environment: environment)
        #expect(again.status == 0 && again.stderr.hasPrefix("ferry load: run \(id), \(environment["KINGDEE_URL"] ?? "")"), "\(again.stderr)")
        #expect(try TestSupport.runFerry(["status", "--workspace", dir, "--run", id]).status == 0)
    }
}
