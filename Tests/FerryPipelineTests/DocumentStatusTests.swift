import FerryCore
import FerryPipeline
import FerryTestSupport
import FerryWDT
import Foundation
import Testing
import WDTSandbox

/// `ferry status --document KEY`: one document's whole story, from the files a real run left.
@Suite(.serialized) struct DocumentStatusTests {
    /// The workspace and run id of one `ferry demo`, made once for the tests that only read it.
    static let demo: (workspace: String, run: String) = {
        let dir = TestSupport.makeTemporaryDirectory("ferry-document-status") + "/demo"
        let result = try! TestSupport.runFerry(["demo", "--dir", dir, "--quiet"])
        precondition(result.status == 0, "ferry demo failed: \(result.stderr)")
        let run = FileSystem.list(dir + "/runs").first { !$0.hasPrefix(".") }!
        return (dir, run)
    }()

    /// The demo run's documents as `ferry status --documents --json` lists them.
    static func demoDocuments() throws -> [JSONValue] {
        let status = try TestSupport.runFerry(["status", "--workspace", demo.workspace, "--json", "--documents"])
        return try #require(JSONReader.parse(status.stdout)["documents"]?.arrayValue)
    }

    static func key(inState state: String) throws -> String {
        try #require(demoDocuments().first { $0["state"]?.stringValue == state }?["key"]?.stringValue)
    }

    /// `ferry status --document KEY` in the demo workspace.
    static func story(_ key: String, _ extra: [String] = [], workspace: String = demo.workspace) throws -> TestSupport.ProcessResult {
        try TestSupport.runFerry(["status", "--workspace", workspace, "--document", key] + extra)
    }

    /// Every `runs/…` path the text names exists under the workspace: an operator can `cat` it from there.
    static func expectPathsExist(_ text: String, workspace: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let paths = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ":" }).filter { $0.hasPrefix("runs/") }
        #expect(!paths.isEmpty, "no path in \(text)", sourceLocation: sourceLocation)
        for path in paths {
            #expect(FileSystem.exists(workspace + "/" + path), "\(path) does not exist", sourceLocation: sourceLocation)
        }
    }

    @Test func aLoadedDocumentShowsItsPageItsPayloadItsSendsAndItsReceipt() throws {
        let (workspace, run) = Self.demo
        let key = try Self.key(inState: "loaded")
        let result = try Self.story(key)
        #expect(result.status == 0, "loaded: \(result.stdout)\(result.stderr)")
        let text = result.stdout
        #expect(text.hasPrefix("document \(key)  loaded  (run \(run))"), "\(text)")
        #expect(text.contains("  extract    runs/\(run)/extract/20261001T000000-20261030T235959/page-0000"), "\(text)")
        #expect(text.contains("window 2026-10-01 00:00:00 … 2026-10-30 23:59:59 (complete)"), "\(text)")
        #expect(text.contains("modified 2026-"), "the version the page holds: \(text)")
        let payload = try FileSystem.read("\(workspace)/runs/\(run)/transform/\(key).json")
        #expect(text.contains("  transform  payload runs/\(run)/transform/\(key).json"), "\(text)")
        #expect(text.contains("sha256 \(Hashing.sha256Hex(payload))"), "\(text)")
        #expect(text.contains("read from runs/\(run)/extract/"), "\(text)")
        let receipt = try JSONReader.parseFile("\(workspace)/runs/\(run)/transform/\(key).receipt.json")
        let id = try #require(receipt["kingdee"]?["Id"]?.scalarText)
        let batch = try #require(receipt["batch"]?.stringValue)
        #expect(text.contains("receipt runs/\(run)/transform/\(key).receipt.json: Kingdee Id \(id), number \(key)"), "\(text)")
        #expect(text.contains("\(batch) attempt "), "the send that loaded it: \(text)")
        #expect(text.contains("  state      loaded\n  next       nothing: the bill is in Kingdee"), "\(text)")
        Self.expectPathsExist(text, workspace: workspace)
    }

    /// The demo loses one answer: the bills of that batch are found with ExecuteBillQuery, never sent twice.
    @Test func aDocumentWhoseAnswerWasLostShowsTheCheckThatFoundIt() throws {
        let (workspace, run) = Self.demo
        let journal = try FileSystem.readText("\(workspace)/runs/\(run)/load/journal.jsonl")
        let found = try #require(
            journal.split(separator: "\n").compactMap { try? JSONReader.parse(Array($0.utf8)) }
                .first { $0["kind"] == "reconciled" && $0["found"]?.arrayValue?.isEmpty == false }?["found"]?.arrayValue?.first?.stringValue)
        let result = try Self.story(found)
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.contains("outcome unknown; checked with ExecuteBillQuery: found in Kingdee (not sent again)"), "\(result.stdout)")
        #expect(result.stdout.contains("found by ExecuteBillQuery at "), "\(result.stdout)")
    }

    @Test func aFailedDocumentShowsKingdeesMessageItsClassAndWhatToDo() throws {
        let (workspace, run) = Self.demo
        let key = try Self.key(inState: "failed")
        let error = try JSONReader.parseFile("\(workspace)/runs/\(run)/transform/\(key).error.json")
        let result = try Self.story(key)
        #expect(result.status == 1, "failed: \(result.stdout)")
        let text = result.stdout
        #expect(text.contains("error runs/\(run)/transform/\(key).error.json: class data"), "\(text)")
        let message = try #require(error["errors"]?.arrayValue?.first?["message"]?.stringValue)
        let field = try #require(error["errors"]?.arrayValue?.first?["field"]?.stringValue)
        #expect(text.contains("- \(field): \(message)"), "Kingdee's message as it came: \(text)")
        #expect(text.contains("  state      failed\n"), "\(text)")
        #expect(text.contains("  next       add them to lookups/"), "the hint of its problem group: \(text)")
        #expect(text.contains("ferry load --run \(run) --retry-failed"), "\(text)")
        Self.expectPathsExist(text, workspace: workspace)

        // --json: the overview in the ferry-status-1 schema, with the story under `document`.
        let json = try Self.story(key, ["--json"])
        #expect(json.status == 1)
        let value = try JSONReader.parse(json.stdout)
        #expect(value["schema"] == "ferry-status-1" && value["document"]?["query"]?.stringValue == key)
        let match = try #require(value["document"]?["matches"]?.arrayValue?.first)
        #expect(match["state"] == "failed" && match["done"] == .bool(false))
        #expect(match["error"]?["class"] == "data" && match["error"]?["errors"]?.arrayValue?.first?["message"]?.stringValue == message)
        #expect(match["transform"]?["outcome"] == "payload")
        #expect(match["sends"]?.arrayValue?.isEmpty == false)
        #expect(value["documents"] == nil, "one document, not the list")
        try Self.expectValidStatusSchema(json.stdout)
    }

    @Test func aRejectedDocumentShowsEveryReasonAndItsRejectFile() throws {
        let (workspace, run) = Self.demo
        let key = try Self.key(inState: "rejected")
        let reject = try JSONReader.parseFile("\(workspace)/runs/\(run)/transform/\(key).reject.json")
        let result = try Self.story(key)
        #expect(result.status == 1, "\(result.stdout)")
        let text = result.stdout
        #expect(text.contains("  transform  rejected: runs/\(run)/transform/\(key).reject.json"), "\(text)")
        let reasons = try #require(reject["reasons"]?.arrayValue)
        for reason in reasons {
            #expect(text.contains(try #require(reason["message"]?.stringValue)), "\(text)")
        }
        let source = try #require(reject["source"]?["path"]?.stringValue)
        #expect(text.contains("read from runs/\(run)/extract/") && text.contains(source), "\(text)")
        #expect(text.contains("  load       nothing to load"), "\(text)")
        #expect(text.contains("  next       fix the source data, the template or the lookups"), "\(text)")
        Self.expectPathsExist(text, workspace: workspace)
    }

    @Test func anUnknownKeyExitsTwoAndSaysWhereToLook() throws {
        let key = try Self.key(inState: "loaded")
        for query in ["RK-NO-SUCH-ORDER", key.lowercased()] {
            let result = try Self.story(query)
            #expect(result.status == 2, "\(query): \(result.stdout)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.contains("no document of run \(Self.demo.run) has the key (stockin_no) or bill number (FBillNo) '\(query)'"), "\(result.stderr)")
            #expect(result.stderr.contains("--run") && result.stderr.contains("ferry status --run \(Self.demo.run) --documents"))
        }
    }

    /// Before the transform has written its manifest, no document can be found by key: the message says
    /// to transform first instead of only "no document".
    @Test func aRunNotTransformedYetSaysToTransformFirst() throws {
        let (workspace, run) = Self.demo
        let key = try Self.key(inState: "loaded")
        let copy = TestSupport.makeTemporaryDirectory("ferry-document-status-untransformed") + "/ws"
        try FileManager.default.copyItem(atPath: workspace, toPath: copy)
        try FileSystem.remove("\(copy)/runs/\(run)/transform/manifest.json")
        let result = try Self.story(key, workspace: copy)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("the run has not been transformed (or the transform did not finish)"), "\(result.stderr)")
        #expect(result.stderr.contains("`ferry transform --run \(run)` first"), "\(result.stderr)")
        let transformed = try Self.story("RK-NO-SUCH-ORDER")
        #expect(!transformed.stderr.contains("has not been transformed"), "\(transformed.stderr)")
    }

    @Test func documentConflictsWithTheListingOptions() throws {
        for extra in [["--documents"], ["--state", "loaded"], ["--html"]] {
            let result = try Self.story("RK1", extra)
            #expect(result.status == 64, "\(extra): \(result.stderr)")
            #expect(result.stderr.contains("--document shows one document; do not combine it with \(extra[0])"), "\(result.stderr)")
        }
    }

    /// A document whose key is not its bill number: found by either, in doubt while its batch is unsettled.
    @Test func lookupByBillNumberAndAnInDoubtDocument() throws {
        let (workspace, _) = try RunOverviewTests.makeRun(unlisted: false)
        let run = RunOverviewTests.runID
        let byNumber = try Self.story("RK1", workspace: workspace)
        #expect(byNumber.status == 0, "\(byNumber.stdout)\(byNumber.stderr)")
        #expect(byNumber.stdout.hasPrefix("document K-RK1  bill RK1  loaded"), "\(byNumber.stdout)")
        #expect(byNumber.stdout.contains("receipt runs/\(run)/transform/RK1.receipt.json: Kingdee Id 1, number RK1"), "\(byNumber.stdout)")
        let byKey = try Self.story("K-RK1", workspace: workspace)
        #expect(byKey.stdout == byNumber.stdout)

        let inDoubt = try Self.story("RK3", workspace: workspace)
        #expect(inDoubt.status == 1, "\(inDoubt.stdout)")
        let text = inDoubt.stdout
        #expect(text.contains("B000001 attempt 1, sent 2026-01-05T10:00:00Z (new): no answer recorded (in doubt)"), "\(text)")
        #expect(text.contains("  state      in_doubt — sent, outcome unknown"), "\(text)")
        #expect(text.contains("  next       `ferry load --run \(run)` asks Kingdee whether it was saved"), "\(text)")
        let json = try Self.story("RK3", ["--json"], workspace: workspace)
        try Self.expectValidStatusSchema(json.stdout)
    }

    /// An order modified while the extract ran arrives in two windows: both versions are shown, with their
    /// pages, windows and `modified`, and which one the transform used.
    @Test func aDuplicateShowsEveryVersionAndWhichOneWasSuperseded() async throws {
        var options = CleanRun.options()
        options.wdtFaults = WDTSandboxFaults(moveAcrossWindows: true)
        let pair = try await SandboxPair.start(options: options)
        defer { Task { await pair.stop() } }
        let (dir, environment) = try CleanRun.workspace(
            "ferry-document-duplicate", pair: pair, edits: [("window_days: 30", "window_days: 10")])
        let result = try await TestSupport.runFerryAsync(
            ["run", "--workspace", dir, "--since", pair.period.start.description, "--until", pair.period.end.description],
            environment: environment)
        let id = try CleanRun.runID(result)
        let extract = try ExtractManifest.load("\(dir)/runs/\(id)/extract/manifest.json")
        let repeated = try #require(extract.repeatedAcrossWindows.first, "the sandbox moves one order: \(result.stderr)")
        let manifest = try JSONReader.parseFile("\(dir)/runs/\(id)/transform/manifest.json")
        let duplicate = try #require(manifest["duplicates"]?.arrayValue?.first { $0["key"]?.stringValue == repeated.stockinNo })
        let used = try #require(duplicate["used"]?["version"]?.stringValue)
        let superseded = try #require(duplicate["superseded"]?.arrayValue?.first?["version"]?.stringValue)
        #expect(used != superseded)

        let story = try TestSupport.runFerry(["status", "--workspace", dir, "--document", repeated.stockinNo])
        let text = story.stdout
        #expect(text.contains("  extract    2 versions received; the transform used the newest"), "\(text)")
        let lines = text.split(separator: "\n").map(String.init)
        let usedLine = try #require(lines.firstIndex { $0.contains("used        runs/\(id)/extract/\(repeated.windows.last!)/page-") })
        let supersededLine = try #require(lines.firstIndex { $0.contains("superseded  runs/\(id)/extract/\(repeated.windows.first!)/page-") })
        #expect(lines[usedLine + 1].contains("modified \(used)"), "\(text)")
        #expect(lines[supersededLine + 1].contains("modified \(superseded)") && lines[supersededLine + 1].hasSuffix("superseded by the used version"), "\(text)")
        #expect(text.contains("(complete)"))
        let payloadState = try #require(JSONReader.parse(Array(try TestSupport.runFerry(["status", "--workspace", dir, "--document", repeated.stockinNo, "--json"]).stdout.utf8))["document"]?["matches"]?.arrayValue?.first)
        #expect(payloadState["versions"]?.arrayValue?.map { $0["used"] } == [.bool(true), .bool(false)])
        #expect(story.status == (payloadState["done"] == .bool(true) ? 0 : 1))
        Self.expectPathsExist(text, workspace: dir)
    }

    /// The output validates against Docs/ferry-status-1.schema.json (Python's jsonschema, as DemoTests).
    static func expectValidStatusSchema(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let out = TestSupport.makeTemporaryDirectory() + "/status.json"
        try FileSystem.writeAtomically(json, to: out)
        let schema = TestSupport.repositoryRoot + "/Docs/ferry-status-1.schema.json"
        let check = try TestSupport.run(
            "/usr/bin/env",
            ["python3", "-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1]))); print('valid')", schema, out])
        #expect(check.status == 0 && check.stdout == "valid\n", "\(check.stderr)", sourceLocation: sourceLocation)
    }
}
