import FerryCore
import FerryPipeline
import FerryTestSupport
import FerryWDT
import FerryWorkspace
import Foundation
import Testing
import WDTSandbox

/// `ferry status` on load results the transform's manifest does not list: receipts of payloads a later
/// transform no longer produces (kept, or gone altogether) and documents of unsettled batches.
@Suite struct RunOverviewTests {
    static let runID = "20260105T100000Z"

    /// A run directory in a fresh workspace. A normal run: the manifest lists RK1 (loaded), RK2 (pending) and
    /// RK3 (sent in a batch that never settled). With `unlisted`, the manifest lists RK1 alone (so that, but
    /// for the unlisted documents, the load would be done), and the transform directory also holds OLD1
    /// (payload and receipt, not listed), GONE1 (a receipt alone), and the unsettled batch holds LOST1 (no
    /// files) and GONE1.
    static func makeRun(unlisted: Bool) throws -> (workspace: String, run: String) {
        let workspace = TestSupport.makeTemporaryDirectory("ferry-overview") + "/ws"
        try WorkspaceInitializer.create(at: workspace)
        let run = workspace + "/runs/" + runID
        let transform = run + "/transform"
        try FileSystem.createDirectory(transform)
        try FileSystem.createDirectory(run + "/load")

        func payload(_ number: String) -> String {
            #"{"formid":"STK_MISCELLANEOUS","data":{"Model":{"FBillNo":"\#(number)","FEntity":[{"FMATERIALID":{"FNumber":"M1"},"FSTOCKID":{"FNumber":"S1"},"FQty":1}]}}}"#
        }
        func writePayload(_ number: String) throws -> String {
            let text = payload(number)
            try FileSystem.writeAtomically(text, to: "\(transform)/\(number).json")
            return Hashing.sha256Hex(Array(text.utf8))
        }
        func writeReceipt(_ number: String, sha256: String) throws {
            try FileSystem.writeAtomically(
                #"{"FBillNo":"\#(number)","formid":"STK_MISCELLANEOUS","kingdee":{"Id":1,"Number":"\#(number)"},"payload":"\#(number).json","payload_sha256":"\#(sha256)","loaded_at":"2026-01-05T10:00:00Z","batch":"B000001","how":"saved"}"#,
                to: "\(transform)/\(number).receipt.json")
        }

        let rk1 = try writePayload("RK1")
        try writeReceipt("RK1", sha256: rk1)
        var listed = ["RK1"]
        var inFlight: [String] = []
        if !unlisted {
            _ = try writePayload("RK2")
            let rk3 = try writePayload("RK3")
            inFlight.append(#"{"payload":"RK3","FBillNo":"RK3","payload_sha256":"\#(rk3)"}"#)
            listed += ["RK2", "RK3"]
        } else {
            let old = try writePayload("OLD1")
            try writeReceipt("OLD1", sha256: old)
            try writeReceipt("GONE1", sha256: String(repeating: "0", count: 64))
            inFlight.append(#"{"payload":"LOST1","FBillNo":"LOST1","payload_sha256":"\#(String(repeating: "1", count: 64))"}"#)
            // GONE1 was in the batch too, and its receipt came: it is loaded, not in doubt.
            inFlight.append(#"{"payload":"GONE1","FBillNo":"GONE1","payload_sha256":"\#(String(repeating: "0", count: 64))"}"#)
        }
        let outputs = listed.map { #"{"file":"\#($0).json","bill_number":"\#($0)","key":"K-\#($0)"}"# }
        try FileSystem.writeAtomically(
            #"{"stage":"transform","counts":{"documents":\#(listed.count),"payloads":\#(listed.count)},"outputs":[\#(outputs.joined(separator: ","))],"rejected":[],"filtered":[]}"#,
            to: transform + "/manifest.json")
        // A `sent` line without a `settled` one: the batch is unsettled.
        try FileSystem.writeAtomically(
            #"{"seq":1,"kind":"sent","batch":"B000001","formid":"STK_MISCELLANEOUS","at":"2026-01-05T10:00:00Z","attempt":1,"reason":"new","documents":[\#(inFlight.joined(separator: ","))]}"#
                + "\n",
            to: run + "/load/journal.jsonl")
        return (workspace, run)
    }

    @Test func aBillTheTransformNoLongerProducesLeavesTheRunUnclean() throws {
        let (_, run) = try Self.makeRun(unlisted: true)
        // The batch settles (LOST1 was not saved after all): only the bills no longer produced remain.
        let journal = run + "/load/journal.jsonl"
        try FileSystem.writeAtomically(
            try FileSystem.read(journal) + Array(#"{"seq":2,"kind":"settled","batch":"B000001"}"#.utf8) + [0x0A], to: journal)
        let overview = try RunOverview.read(runDirectory: run, runID: Self.runID)
        #expect(overview.load.inDoubt == 0 && overview.load.state == "done")
        #expect(overview.load.notProduced == 2)
        #expect(!overview.isClean, "a bill in Kingdee that the source no longer backs needs a look")
    }

    @Test func unlistedReceiptsAndUnsettledDocumentsAreShown() throws {
        let (_, run) = try Self.makeRun(unlisted: true)
        let overview = try RunOverview.read(runDirectory: run, runID: Self.runID)
        func document(_ number: String) -> DocumentStatus? { overview.documents.first { $0.billNumber == number } }

        // (a) a receipt whose payload is kept but no longer listed.
        let old = try #require(document("OLD1"))
        #expect(old.state == .loaded)
        #expect(old.files == ["transform/OLD1.json", "transform/OLD1.receipt.json"])
        #expect(old.detail == "loaded earlier, but the transform no longer produces this payload")
        // (b) a receipt with no payload at all (and in the unsettled batch: the receipt wins).
        let gone = try #require(document("GONE1"))
        #expect(gone.state == .loaded)
        #expect(gone.files == ["transform/GONE1.receipt.json"])
        #expect(gone.detail == "loaded earlier, but the transform no longer produces this payload")
        // (c) an unsettled document the manifest does not list.
        let lost = try #require(document("LOST1"))
        #expect(lost.state == .inDoubt)
        #expect(lost.files.isEmpty)
        #expect(lost.detail?.contains("the transform no longer produces this payload") == true)

        // Counted apart: loaded counts the listed payloads only; LOST1 is in doubt, so the load is not done.
        #expect(overview.load.notProduced == 2 && overview.load.loaded == 1 && overview.load.pending == 0)
        #expect(overview.load.inDoubt == 1)
        #expect(overview.load.state == "partial")
        #expect(!overview.isClean)

        let group = try #require(overview.problems.first { $0.errorClass == "not_produced" })
        #expect(group.stage == "load")
        #expect(group.documents == ["GONE1", "OLD1"])
        #expect(group.hint.contains("Ferry never deletes bills"))

        // Every rendering shows the counter.
        let json = overview.json(includeDocuments: true)
        #expect(json["stages"]?["load"]?["not_produced"] == .number("2"))
        #expect(json["stages"]?["load"]?["in_doubt"] == .number("1"))
        #expect(json["document_states"]?["loaded"] == .number("3"))
        #expect(overview.text(includeDocuments: false).contains("2 loaded earlier but no longer produced"))
        #expect(overview.text(includeDocuments: true, state: .inDoubt).contains("LOST1"))
        #expect(RunReport.html(overview).contains("2 loaded earlier but no longer produced"))

        // Deterministic: the same files give the same overview, documents in the same order.
        let again = try RunOverview.read(runDirectory: run, runID: Self.runID)
        #expect(again.documents == overview.documents && again.problems == overview.problems)
        #expect(
            overview.documents.map { $0.billNumber ?? "" } == ["LOST1", "GONE1", "RK1", "OLD1"],
            "by state, then key (K-RK1) or bill number")
    }

    @Test func aListedReceiptWhosePayloadFileIsGoneIsLoadedNotNotProduced() throws {
        let (_, run) = try Self.makeRun(unlisted: true)
        try FileSystem.remove(run + "/transform/RK1.json")
        let overview = try RunOverview.read(runDirectory: run, runID: Self.runID)
        let rk1 = try #require(overview.documents.first { $0.billNumber == "RK1" })
        #expect(rk1.state == .loaded && rk1.key == "K-RK1")
        #expect(rk1.files == ["transform/RK1.receipt.json"])
        #expect(rk1.detail == "loaded; its payload file is missing")
        #expect(overview.load.loaded == 1 && overview.load.notProduced == 2 && overview.load.payloads == 0)
        #expect(overview.problems.first { $0.errorClass == "not_produced" }?.documents == ["GONE1", "OLD1"])
    }

    /// A saved bill whose Audit was sent and never answered (an unsettled `step` line; the receipt has no
    /// `audited_at`) is in doubt wherever its payload is: listed and gone (removed by hand), or no longer
    /// produced and gone; counted once as in doubt, and still `not_produced` when the transform no longer
    /// produces it. One whose receipt records the audit is loaded (as before).
    @Test func aSavedBillWhoseStepWasNeverAnsweredIsInDoubtWhereverItsPayloadIs() throws {
        let (workspace, run) = try Self.makeRun(unlisted: true)
        try FileSystem.remove(run + "/transform/RK1.json")
        // OLD1's receipt records the audit: the answer came, the load died before its `settled` line.
        let oldReceipt = run + "/transform/OLD1.receipt.json"
        var receipt = try JSONReader.parseFile(oldReceipt).objectValue!
        receipt.append("submitted_at", "2026-01-05T10:00:01Z")
        receipt.append("audited_at", "2026-01-05T10:00:02Z")
        try FileSystem.writeAtomically(JSONWriter().bytes(.object(receipt)), to: oldReceipt)
        let journal = run + "/load/journal.jsonl"
        let zeros = String(repeating: "0", count: 64)
        let documents = ["RK1", "OLD1", "GONE1"].map { #"{"payload":"\#($0)","FBillNo":"\#($0)","payload_sha256":"\#(zeros)"}"# }
        let step = #"{"seq":2,"kind":"step","batch":"S000002","step":"audit","formid":"STK_MISCELLANEOUS","at":"2026-01-05T10:00:02Z","attempt":1,"reason":"new","documents":[\#(documents.joined(separator: ","))]}"#
        try FileSystem.writeAtomically(try FileSystem.read(journal) + Array(step.utf8) + [0x0A], to: journal)

        let overview = try RunOverview.read(runDirectory: run, runID: Self.runID)
        func document(_ number: String) throws -> DocumentStatus {
            try #require(overview.documents.first { $0.billNumber == number })
        }
        let rk1 = try document("RK1"), gone = try document("GONE1"), old = try document("OLD1")
        #expect([rk1.state, gone.state, old.state] == [.inDoubt, .inDoubt, .loaded], "\(overview.documents)")
        #expect(
            rk1.detail == "saved; its audit was sent and never answered, and its payload file is missing; the next "
                + "`ferry load` asks Kingdee its FDocumentStatus and records it in the receipt (it submits or audits "
                + "nothing without the payload)")
        #expect(gone.detail?.contains("its audit was sent and never answered, and the transform no longer produces this payload") == true)
        #expect(gone.detail?.contains("the next `ferry load` asks Kingdee its FDocumentStatus") == true)
        #expect(rk1.files == ["transform/RK1.receipt.json"] && gone.files == ["transform/GONE1.receipt.json"])

        // Counted once: in doubt (with LOST1 of the unsettled batch), not loaded; GONE1 is still not produced.
        #expect(overview.load.inDoubt == 3 && overview.load.loaded == 0, "\(overview.load)")
        #expect(overview.load.notProduced == 2 && overview.load.state == "partial")
        #expect(overview.problems.first { $0.errorClass == "not_produced" }?.documents == ["GONE1", "OLD1"])
        let json = overview.json(includeDocuments: false)
        #expect(json["document_states"]?["in_doubt"] == .number("3") && json["document_states"]?["loaded"] == .number("1"))
        #expect(!overview.isClean)
        let listing = try TestSupport.runFerry(["status", "--workspace", workspace, "--documents", "--state", "in_doubt", "--json"])
        let listed = try JSONReader.parse(Array(listing.stdout.utf8))["documents"]?.arrayValue ?? []
        #expect(listed.compactMap { $0["bill_number"]?.stringValue } == ["GONE1", "RK1", "LOST1"], "by key (K-RK1) or bill number: \(listing.stdout)")
        // Its story says the step is in doubt, not the save, and what the load does about it.
        let story = try TestSupport.runFerry(["status", "--workspace", workspace, "--document", "RK1"])
        #expect(story.stdout.contains("S000002 (audit) attempt 1, sent 2026-01-05T10:00:02Z (new): no answer recorded (in doubt)"), "\(story.stdout)")
        #expect(story.stdout.contains("in doubt: saved; its audit was sent, and no answer says whether Kingdee did it"), "\(story.stdout)")
        #expect(
            story.stdout.contains("  next       `ferry load --run \(Self.runID)` asks Kingdee its FDocumentStatus and records it in the receipt"),
            "\(story.stdout)")
    }

    /// An error file as the load writes it when a saved bill's Submit or Audit (`step`) fails: the bill keeps
    /// its receipt.
    static func writeStepError(_ name: String, step: String, message: String, in run: String) throws {
        try FileSystem.writeAtomically(
            #"{"FBillNo":"\#(name)","formid":"STK_MISCELLANEOUS","payload":"\#(name).json","payload_sha256":"\#(String(repeating: "0", count: 64))","class":"data","source":"kingdee","MsgCode":0,"errors":[{"field":null,"message":"\#(message)","DIndex":0}],"attempts":1,"batch":"S000002","failed_at":"2026-01-05T10:00:02Z","step":"\#(step)","hint":{"zh":"…","en":"The bill is saved in Kingdee (it has a receipt and is never saved again) but was not audited (see the messages above). Fix it in Kingdee, then run `ferry load --retry-failed`."}}"#,
            to: "\(run)/transform/\(name).error.json")
    }

    /// A saved bill whose Audit failed is not loaded, whether its payload is listed and present, listed and
    /// gone (removed by hand), no longer produced but kept, or no longer produced and gone: it still needs
    /// its Audit, and the hint tells what `ferry load` cannot do: audit without a payload, or audit a bill
    /// the transform no longer produces (kept payload or not).
    @Test func aSavedBillWhoseStepFailedIsFailedWhereverItsPayloadIs() throws {
        let (workspace, run) = try Self.makeRun(unlisted: true)
        let message = "更新库存时出现可以忽略的异常数据，是否继续？"
        for name in ["RK1", "OLD1", "GONE1"] { try Self.writeStepError(name, step: "audit", message: message, in: run) }
        try FileSystem.remove(run + "/transform/RK1.json")
        let overview = try RunOverview.read(runDirectory: run, runID: Self.runID)
        func document(_ number: String) throws -> DocumentStatus {
            try #require(overview.documents.first { $0.billNumber == number })
        }
        let rk1 = try document("RK1"), old = try document("OLD1"), gone = try document("GONE1")
        #expect([rk1.state, old.state, gone.state] == [.failed, .failed, .failed], "\(overview.documents)")
        #expect(rk1.detail == "saved, not audited: \(message); its payload file is missing")
        #expect(old.detail == "saved, not audited: \(message); the transform no longer produces this payload")
        #expect(gone.detail == old.detail)
        #expect(rk1.files == ["transform/RK1.receipt.json", "transform/RK1.error.json"])
        #expect(old.files == ["transform/OLD1.json", "transform/OLD1.receipt.json", "transform/OLD1.error.json"])
        #expect(gone.files == ["transform/GONE1.receipt.json", "transform/GONE1.error.json"])

        // Counted as failed; the bills the transform no longer produces are still not_produced too.
        #expect(overview.load.failed == 3 && overview.load.failedByClass == ["data": 3] && overview.load.loaded == 0)
        #expect(overview.load.notProduced == 2)
        #expect(overview.problems.first { $0.errorClass == "not_produced" }?.documents == ["GONE1", "OLD1"])
        #expect(!overview.isClean)

        // Grouped by what can be done: the transform can write RK1's payload again, then the load audits it;
        // the load audits no bill the transform no longer produces, payload kept (OLD1) or gone (GONE1), but
        // with the payload kept, `--retry-failed` records an audit done by hand.
        let groups = overview.problems.filter { $0.stage == "load" && $0.errorClass == "data" }
        #expect(groups.count == 3, "\(groups)")
        let missing = try #require(groups.first { $0.documents == ["RK1"] })
        #expect(missing.hint.hasPrefix("its payload file is missing, so `ferry load` cannot audit the bill: run `ferry transform --run \(Self.runID)`"), "\(missing.hint)")
        let kept = try #require(groups.first { $0.documents == ["OLD1"] })
        #expect(
            kept.hint.contains(
                "audit the bill in Kingdee by hand (see the message; then `ferry load --run \(Self.runID) --retry-failed` asks "
                    + "Kingdee and records it)"),
            "\(kept.hint)")
        let unproduced = try #require(groups.first { $0.documents == ["GONE1"] })
        #expect(!unproduced.hint.contains("--retry-failed"), "\(unproduced.hint)")
        #expect(unproduced.hint.contains("the transform no longer produces its payload, so `ferry load` cannot audit it: audit the bill in Kingdee by hand"), "\(unproduced.hint)")
        #expect(overview.text(includeDocuments: true, state: .failed).contains("saved, not audited"))

        // Its story shows the error file beside the receipt, and the run's hints for it.
        let story = try TestSupport.runFerry(["status", "--workspace", workspace, "--document", "GONE1"])
        #expect(story.status == 1, "\(story.stdout)\(story.stderr)")
        #expect(story.stdout.contains("error runs/\(Self.runID)/transform/GONE1.error.json: class data"), "\(story.stdout)")
        #expect(story.stdout.contains("  state      failed\n"), "\(story.stdout)")
        #expect(story.stdout.contains("audit the bill in Kingdee by hand") && story.stdout.contains("Ferry never deletes bills"), "\(story.stdout)")
    }

    @Test func aRunWhoseLoadResultsAreAllListedIsUnchanged() throws {
        let (_, run) = try Self.makeRun(unlisted: false)
        let overview = try RunOverview.read(runDirectory: run, runID: Self.runID)
        #expect(overview.documents.map(\.state) == [.pending, .inDoubt, .loaded])
        #expect(overview.documents.map(\.billNumber) == ["RK2", "RK3", "RK1"])
        #expect(overview.load.loaded == 1 && overview.load.pending == 1 && overview.load.inDoubt == 1)
        #expect(overview.load.notProduced == 0)
        #expect(overview.problems.isEmpty)
        let json = overview.json(includeDocuments: false)
        #expect(json["stages"]?["load"]?["not_produced"] == .number("0"), "the counter is always in --json")
        #expect(overview.text(includeDocuments: false).contains("1 loaded, 0 failed, 1 in doubt, 1 pending, 0 changed\n"))
    }

    /// A transform manifest cut short or broken by a hand edit: status says where, and what writes it again.
    @Test func aDamagedTransformManifestSaysHowToWriteItAgain() throws {
        let (_, run) = try Self.makeRun(unlisted: false)
        let path = run + "/transform/manifest.json"
        try FileSystem.writeAtomically(Array(try FileSystem.read(path).prefix(40)), to: path)
        #expect {
            try RunOverview.read(runDirectory: run, runID: Self.runID)
        } throws: { error in
            guard let diagnostic = error as? Diagnostic else { return false }
            return diagnostic.file == path && diagnostic.line != nil
                && diagnostic.message.hasSuffix(
                    "; the manifest is damaged: run `ferry transform --run \(Self.runID)` to write it again")
        }
    }

    @Test func aFileReadInPartIsNotCalledUnreadWhole() throws {
        let (_, run) = try Self.makeRun(unlisted: false)
        // The manifest of a transform that read one file not at all and another but one of its lines.
        let path = run + "/transform/manifest.json"
        var manifest = try JSONReader.parseFile(path).objectValue!
        manifest.members.removeAll { $0.key == "inputs" }
        manifest.append(
            "inputs",
            .array([
                ["file": "in/a.json", "documents": 0, "errors": ["in/a.json:1:1: error: unexpected end"]],
                ["file": "in/b.jsonl", "documents": 3, "errors": ["in/b.jsonl:2:5: error: unexpected byte"]],
                ["file": "in/c.json", "documents": 5, "errors": []],
            ]))
        try FileSystem.writeAtomically(JSONWriter().bytes(.object(manifest)), to: path)
        let overview = try RunOverview.read(runDirectory: run, runID: Self.runID)
        let groups = overview.problems.filter { $0.stage == "transform" && $0.errorClass == "unreadable" }
        let unread = try #require(groups.first { $0.documents == ["in/a.json"] })
        #expect(unread.message == "input file could not be read; its documents are not transformed")
        let inPart = try #require(groups.first { $0.documents == ["in/b.jsonl"] })
        #expect(inPart.message.hasPrefix("input file read in part: its other documents were transformed"), "\(inPart.message)")
        #expect(inPart.values == ["in/b.jsonl:2:5: error: unexpected byte"])
        #expect(groups.count == 2 && !overview.isClean)
    }

    @Test func statusCommandListsThemAndFollowsItsSchema() throws {
        let (workspace, _) = try Self.makeRun(unlisted: true)
        let status = try TestSupport.runFerry(["status", "--workspace", workspace, "--json", "--documents"])
        #expect(status.status == 1, "a document is in doubt: \(status.stderr)")
        let out = TestSupport.makeTemporaryDirectory() + "/status.json"
        try FileSystem.writeAtomically(status.stdout, to: out)
        let schema = TestSupport.repositoryRoot + "/Docs/ferry-status-1.schema.json"
        let check = try TestSupport.run(
            "/usr/bin/env",
            ["python3", "-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1]))); print('valid')", schema, out])
        #expect(check.status == 0 && check.stdout == "valid\n", "\(check.stderr)")
        let value = try JSONReader.parse(status.stdout)
        #expect(value["stages"]?["load"]?["not_produced"] == .number("2"))
        #expect(value["problems"]?.arrayValue?.contains { $0["class"] == "not_produced" } == true)

        let inDoubt = try TestSupport.runFerry(["status", "--workspace", workspace, "--documents", "--state", "in_doubt"])
        let inDoubtList = try #require(inDoubt.stdout.components(separatedBy: "documents:\n").last)
        #expect(inDoubtList.contains("LOST1") && !inDoubtList.contains("OLD1"), "\(inDoubt.stdout)")
        let loaded = try TestSupport.runFerry(["status", "--workspace", workspace, "--documents", "--state", "loaded"])
        let loadedList = try #require(loaded.stdout.components(separatedBy: "documents:\n").last)
        #expect(loadedList.contains("OLD1") && loadedList.contains("GONE1") && !loadedList.contains("LOST1"), "\(loaded.stdout)")
    }
}

/// `ferry status` on runs whose stages did not all run: nothing of such a run is loaded yet.
@Suite(.serialized) struct UnfinishedRunStatusTests {
    @Test func extractedButNotTransformedOrAStageThatCouldNotRunIsNotClean() async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 40))
        defer { Task { await server.stop() } }
        let workspace = TestSupport.makeTemporaryDirectory("ferry-unfinished") + "/ws"
        try WorkspaceInitializer.create(at: workspace)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(server.environment()) { $1 }
        let range = ["--since", "2026-01-01 00:00:00", "--until", "2026-01-30 23:59:59"]

        // Extract alone: its documents are neither transformed nor loaded.
        let extract = try await TestSupport.runFerryAsync(["extract", "--workspace", workspace] + range, environment: environment)
        #expect(extract.status == 0, "\(extract.stderr)")
        let json = try await TestSupport.runFerryAsync(["status", "--workspace", workspace, "--json"], environment: environment)
        let extracted = try JSONReader.parse(json.stdout)
        #expect((extracted["stages"]?["extract"]?["documents"]?.scalarText).flatMap { Int($0) } ?? 0 > 0)
        let afterExtract = try await TestSupport.runFerryAsync(["status", "--workspace", workspace], environment: environment)
        #expect(afterExtract.status == 1, "\(afterExtract.stdout)")
        #expect(afterExtract.stdout.contains("transform  not run") && afterExtract.stdout.contains("the run is not finished"))
        #expect(extracted["run"]?["clean"] == .bool(false))
        // One of its documents, by its key: found in its page, with `ferry transform` to do next.
        let run = try #require(FileSystem.list(workspace + "/runs").first { !$0.hasPrefix(".") })
        let extractManifest = try ExtractManifest.load("\(workspace)/runs/\(run)/extract/manifest.json")
        let page = try #require(extractManifest.windows.lazy.flatMap(\.pages).first { $0.documents > 0 })
        let order = try #require(
            WDTResponseParser.parse(try FileSystem.read("\(workspace)/runs/\(run)/extract/\(page.file)")).orders.last)
        let key = WDTPage.documentKey(order)
        let story = try await TestSupport.runFerryAsync(["status", "--workspace", workspace, "--document", key], environment: environment)
        #expect(story.status == 1, "\(story.stdout)\(story.stderr)")
        #expect(story.stdout.hasPrefix("document \(key)  extracted  (run \(run))\n  extract    runs/\(run)/extract/\(page.file) "), "\(story.stdout)")
        #expect(story.stdout.contains("  next       `ferry transform --run \(run)` transforms it"), "\(story.stdout)")

        // An extract that could not run (exit 2): its run holds nothing, and it is not clean either.
        var noSecret = environment
        noSecret["WDT_APP_SECRET"] = nil
        let failed = try await TestSupport.runFerryAsync(["extract", "--workspace", workspace] + range, environment: noSecret)
        #expect(failed.status == 2, "\(failed.stderr)")
        let afterFailure = try await TestSupport.runFerryAsync(["status", "--workspace", workspace], environment: environment)
        #expect(afterFailure.status == 1, "\(afterFailure.stdout)")
        #expect(!afterFailure.stdout.contains("no problems\n"), "\(afterFailure.stdout)")
    }
}
