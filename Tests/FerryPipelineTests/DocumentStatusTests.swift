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

    /// Before the transform has written its manifest, a document is found by its key in the extracted pages:
    /// its page, window and version, and `ferry transform` as the next step. A key no page has exits 2, and
    /// the message says that only the pages were searched.
    @Test func aDocumentNotTransformedYetIsFoundInItsPage() throws {
        let (workspace, run) = Self.demo
        let key = try Self.key(inState: "loaded")
        let loaded = try Self.story(key, ["--json"])
        let version = try #require(JSONReader.parse(loaded.stdout)["document"]?["matches"]?.arrayValue?.first?["versions"]?.arrayValue?.first)
        let page = try #require(version["file"]?.stringValue), path = try #require(version["json_path"]?.stringValue)
        let copy = TestSupport.makeTemporaryDirectory("ferry-document-status-untransformed") + "/ws"
        try FileManager.default.copyItem(atPath: workspace, toPath: copy)
        try FileSystem.remove("\(copy)/runs/\(run)/transform/manifest.json")

        let result = try Self.story(key, workspace: copy)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(
            result.stdout == """
                document \(key)  extracted  (run \(run))
                  extract    \(page) \(path)
                             modified \(version["modified"]?.stringValue ?? "?"), window \(version["window"]?.stringValue ?? "?") (complete)
                  transform  not yet: the transform has not read its page
                  load       nothing yet: it has no payload until it is transformed
                  state      extracted — received by the extract; not transformed yet
                  next       `ferry transform --run \(run)` transforms it, then `ferry load --run \(run)` loads it

                """, "\(result.stdout)")
        Self.expectPathsExist(result.stdout, workspace: copy)
        let json = try Self.story(key, ["--json"], workspace: copy)
        #expect(json.status == 1)
        let match = try #require(JSONReader.parse(json.stdout)["document"]?["matches"]?.arrayValue?.first)
        #expect(match["state"] == "extracted" && match["transform"] == .null && match["done"] == .bool(false))
        #expect(match["versions"]?.arrayValue?.map { $0["file"] } == [.string(page)])
        try Self.expectValidStatusSchema(json.stdout)

        let unknown = try Self.story("RK-NO-SUCH-ORDER", workspace: copy)
        #expect(unknown.status == 2, "\(unknown.stdout)\(unknown.stderr)")
        #expect(unknown.stderr.contains("the run has not been transformed (or the transform did not finish), so only its extracted pages were searched"), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("`ferry transform --run \(run)` has run"), "\(unknown.stderr)")
        let transformed = try Self.story("RK-NO-SUCH-ORDER")
        #expect(!transformed.stderr.contains("has not been transformed"), "\(transformed.stderr)")
        // The overview lists no document as extracted: it reads no pages.
        let listing = try TestSupport.runFerry(["status", "--workspace", copy, "--documents", "--state", "extracted"])
        #expect(listing.status == 64 && listing.stderr.contains("--state must be one of rejected, filtered, pending,"), "\(listing.stderr)")
    }

    /// A transformed run finds documents through the transform's manifest and reads only pages the
    /// transform has not read (not listed as its inputs with the same SHA-256: extracted again since).
    @Test func onlyPagesTheTransformHasNotReadAreSearched() throws {
        let (workspace, run) = Self.demo
        let key = try Self.key(inState: "loaded")
        let copy = TestSupport.makeTemporaryDirectory("ferry-document-status-reread") + "/ws"
        try FileManager.default.copyItem(atPath: workspace, toPath: copy)
        // The manifest without the document: the pages the transform read are not searched for it.
        let path = "\(copy)/runs/\(run)/transform/manifest.json"
        var manifest = try #require(JSONReader.parseFile(path).objectValue)
        let outputs = try #require(manifest["outputs"]?.arrayValue)
        let entry = try #require(outputs.first { $0["key"]?.stringValue == key })
        manifest.set("outputs", .array(outputs.filter { $0 != entry }))
        try FileSystem.writeAtomically(JSONWriter().bytes(.object(manifest)), to: path)
        // Its payload and receipt gone too (with a payload kept beside no receipt, the journal shows the bill
        // saved: that is found, in doubt).
        let file = try #require(entry["file"]?.stringValue)
        try FileSystem.remove("\(copy)/runs/\(run)/transform/\(file)")
        try FileSystem.remove("\(copy)/runs/\(run)/transform/\(file.dropLast(".json".count)).receipt.json")
        #expect(try Self.story(key, workspace: copy).status == 2)

        // Its page as if extracted again after the transform: found there, not transformed yet.
        let page = try #require(entry["source"]?["file"]?.stringValue)
        let inputs = try #require(manifest["inputs"]?.arrayValue).map { input -> JSONValue in
            guard input["file"]?.stringValue == page, case .object(var object) = input else { return input }
            object.set("sha256", .string(String(repeating: "0", count: 64)))
            return .object(object)
        }
        manifest.set("inputs", .array(inputs))
        try FileSystem.writeAtomically(JSONWriter().bytes(.object(manifest)), to: path)
        let result = try Self.story(key, workspace: copy)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.hasPrefix("document \(key)  extracted  (run \(run))"), "\(result.stdout)")
        #expect(result.stdout.contains("  extract    runs/\(run)/extract/"), "\(result.stdout)")
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

    /// With `target.after_save: audit`, bills whose Audit meets Kingdee's negative-stock prompt are saved and
    /// not audited. One is audited by `ferry load --retry-failed` once the flag that accepts the prompt is
    /// set: its story keeps the failure that success replaced. Another's payload is removed by hand first,
    /// and later no longer produced: it is never shown as loaded, for its Audit is still to do.
    @Test func aFailedStepStaysInTheStoryAfterALaterSuccessAndWhenItsPayloadIsGone() async throws {
        var options = CleanRun.options()
        options.kingdeeFaults.negativeStockEvery = 40
        let pair = try await SandboxPair.start(options: options)
        defer { Task { await pair.stop() } }
        let (dir, environment) = try CleanRun.workspace(
            "ferry-document-step", pair: pair, edits: [("  batch_size: 50", "  after_save: audit\n  batch_size: 50")])
        let first = try await TestSupport.runFerryAsync(
            ["run", "--workspace", dir, "--since", pair.period.start.description, "--until", pair.period.end.description],
            environment: environment)
        let id = try CleanRun.runID(first)
        #expect(first.status == 1, "\(first.stderr)")
        let transform = "\(dir)/runs/\(id)/transform"
        let failed = FileSystem.list(transform).filter { $0.hasSuffix(".error.json") }.sorted()
            .map { String($0.dropLast(".error.json".count)) }
        try #require(failed.count >= 2, "the sandbox refuses every 40th bill's Audit: \(first.stderr)")
        let (retried, gone) = (failed[0], failed[1])
        let error = try JSONReader.parseFile("\(transform)/\(retried).error.json")
        #expect(error["step"] == "audit")
        let message = try #require(error["errors"]?.arrayValue?.first?["message"]?.stringValue)

        // A payload removed by hand: the bill is saved, not audited, and `ferry load` cannot audit it.
        let goneMessage = try #require(
            JSONReader.parseFile("\(transform)/\(gone).error.json")["errors"]?.arrayValue?.first?["message"]?.stringValue)
        try FileSystem.remove("\(transform)/\(gone).json")
        let listing = try TestSupport.runFerry(["status", "--workspace", dir, "--documents", "--state", "failed"])
        #expect(listing.stdout.contains("failed    \(gone)  transform/\(gone).receipt.json transform/\(gone).error.json  — saved, not audited: \(goneMessage); its payload file is missing"), "\(listing.stdout)")

        // The prompt accepted, the retry audits the other bill and replaces its error file.
        let config = try FileSystem.readText(dir + "/ferry.yaml")
        try FileSystem.writeAtomically(
            config.replacingOccurrences(of: "  after_save: audit\n", with: "  after_save: audit\n  audit_interaction_flags: STK_InvCheckResult\n"),
            to: dir + "/ferry.yaml")
        let retry = try await TestSupport.runFerryAsync(
            ["load", "--workspace", dir, "--run", id, "--retry-failed"], environment: environment)
        #expect(!FileSystem.exists("\(transform)/\(retried).error.json"), "\(retry.stderr)")
        let story = try Self.story(retried, workspace: dir)
        #expect(story.status == 0, "\(story.stdout)\(story.stderr)")
        let lines = story.stdout.split(separator: "\n").map(String.init)
        let earlier = try #require(lines.firstIndex { $0.contains("audit failed earlier: class data, batch S") }, "\(story.stdout)")
        #expect(lines[earlier].contains(", 1 attempt(s), at ") && lines[earlier].contains("; its error file was replaced by a later success at "), "\(story.stdout)")
        #expect(lines[earlier + 1].hasSuffix("- \(message)"), "\(story.stdout)")
        #expect(story.stdout.contains("  state      loaded\n"), "\(story.stdout)")
        let json = try Self.story(retried, ["--json"], workspace: dir)
        let match = try #require(JSONReader.parse(json.stdout)["document"]?["matches"]?.arrayValue?.first)
        let failure = try #require(match["earlier_failures"]?.arrayValue?.first)
        #expect(failure["step"] == "audit" && failure["class"] == "data")
        #expect(failure["errors"]?.arrayValue?.first?["message"]?.stringValue == message)
        #expect(failure["superseded_at"]?.stringValue != nil && failure["failed_at"]?.stringValue != nil)
        #expect(failure["hint"] == nil && failure["MsgCode"] == nil, "only what the story needs: \(failure)")
        try Self.expectValidStatusSchema(json.stdout)

        // The other order is filtered out from now on: its bill is no longer produced, and still not audited.
        let manifest = try JSONReader.parseFile("\(transform)/manifest.json")
        let key = try #require(manifest["outputs"]?.arrayValue?.first { $0["bill_number"]?.stringValue == gone }?["key"]?.stringValue)
        try CleanRun.insertFilter("stockin_no != '\(key)'", reason: "held back by the test", in: dir)
        let again = try await TestSupport.runFerryAsync(["transform", "--workspace", dir, "--run", id], environment: environment)
        #expect(again.status == 0, "\(again.stderr)")
        let goneStory = try Self.story(gone, workspace: dir)
        #expect(goneStory.status == 1, "\(goneStory.stdout)")
        #expect(goneStory.stdout.contains("  state      failed\n"), "\(goneStory.stdout)")
        #expect(goneStory.stdout.contains("error runs/\(id)/transform/\(gone).error.json: class data"), "\(goneStory.stdout)")
        #expect(goneStory.stdout.contains("audit the bill in Kingdee by hand"), "\(goneStory.stdout)")
        let status = try JSONReader.parse(try TestSupport.runFerry(["status", "--workspace", dir, "--json"]).stdout)
        #expect(status["stages"]?["load"]?["not_produced"] == .number("1"))
        #expect(status["problems"]?.arrayValue?.first { $0["class"] == "not_produced" }?["documents"] == [.string(gone)])
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
