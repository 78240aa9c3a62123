import FerryCore
import FerryKingdee
import FerryTestSupport
import Foundation
import KingdeeSandbox
import Testing

/// `ferry status` against what `target.after_save` asks for: a bill is loaded once its receipt records every
/// step the setting asks for, and pending (for the next `ferry load`) until then.
struct StatusAfterSaveTests {
    /// A workspace under `after_save: submit` with `count` payloads the manifest lists, beside a Kingdee
    /// sandbox (stop it when done), and the environment that points `ferry` at that sandbox.
    static func submitWorkspace(_ name: String, count: Int) async throws -> (
        server: KingdeeSandboxServer, workspace: CrashTests.Workspace, numbers: [String], environment: [String: String]
    ) {
        let server = try await KingdeeSandboxServer.start()
        let workspace = try CrashTests.Workspace(name, extra: "  after_save: submit", batchSize: 4)
        let numbers = try PayloadGenerator.write(count: count, into: workspace.run.transform)
        try AfterSaveTests.writeManifest(numbers, into: workspace.run.transform)
        return (server, workspace, numbers, CrashTests.environment(server))
    }

    /// Bills a load saved and submitted under `after_save: submit` are `pending` once the setting asks for
    /// `audit` (not `loaded`, and the run is not clean), with what the next load does; one whose payload was
    /// removed by hand says the transform must write it first. The load then audits the others; with
    /// `after_save: none` the last one counts as loaded again.
    @Test func aBillNotYetAuditedIsPendingWhileAfterSaveAsksForTheAudit() async throws {
        let (server, workspace, numbers, env) = try await Self.submitWorkspace("status-after-save", count: 6)
        defer { Task { await server.stop() } }
        let runID = "20260101T000000Z"
        func status(_ arguments: String...) async throws -> FerryProcess.Result {
            try await FerryProcess.run(["status", "--workspace", workspace.root] + arguments, environment: env)
        }

        let first = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(server.store.bills.allSatisfy { $0.documentStatus == "B" })
        var overview = try await status()
        #expect(overview.status == 0, "\(overview.stdout)")
        #expect(overview.stdout.contains("6 loaded, 0 failed, 0 in doubt, 0 pending, 0 changed"), "\(overview.stdout)")

        try workspace.setAfterSave("audit")
        overview = try await status("--documents")
        #expect(overview.status == 1, "\(overview.stdout)")
        #expect(overview.stdout.contains("0 loaded, 0 failed, 0 in doubt, 6 pending, 0 changed"), "\(overview.stdout)")
        #expect(
            overview.stdout.contains(
                "saved, not audited yet (`target.after_save: audit`); the next `ferry load` asks Kingdee its FDocumentStatus "
                    + "and sends only what is missing"),
            "\(overview.stdout)")
        var story = try await status("--document", numbers[1])
        #expect(story.status == 1)
        #expect(story.stdout.contains("state      pending — saved, not audited yet"), "\(story.stdout)")
        #expect(!story.stdout.contains("not sent yet"), "\(story.stdout)")
        #expect(
            story.stdout.contains(
                "next       `ferry load --run \(runID)` asks Kingdee its FDocumentStatus and sends only the steps"),
            "\(story.stdout)")

        // A payload removed by hand: the load cannot audit without it.
        let gone = numbers[0]
        try FileSystem.remove(workspace.run.transform + "/\(gone).json")
        story = try await status("--document", gone)
        #expect(
            story.stdout.contains(
                "state      pending — saved, not audited yet (`target.after_save: audit`), and its payload file is missing: "
                    + "`ferry transform --run \(runID)` writes it again"),
            "\(story.stdout)")
        #expect(story.stdout.contains("next       `ferry transform --run \(runID)` writes its payload again"), "\(story.stdout)")

        _ = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        for number in numbers.dropFirst() { #expect(server.store.bill(number)?.documentStatus == "C", "\(number)") }
        #expect(server.store.bill(gone)?.documentStatus == "B")
        overview = try await status()
        #expect(overview.stdout.contains("5 loaded, 0 failed, 0 in doubt, 1 pending, 0 changed"), "\(overview.stdout)")

        // Submitted is all `after_save: submit` asks for; with `none` nothing is asked.
        for value in ["submit", "none"] {
            try workspace.setAfterSave(value)
            overview = try await status()
            #expect(overview.stdout.contains("6 loaded, 0 failed, 0 in doubt, 0 pending, 0 changed"), "\(value): \(overview.stdout)")
        }
    }

    /// A saved bill whose payload the transform no longer produces (the manifest drops it, the payload stays
    /// beside its receipt) gets no Submit or Audit when `after_save` is raised: the current source data does
    /// not back it, and an audit moves stock. The dry run, the load (exit 1, its summary) and `ferry status`
    /// all say it is left as saved, to be checked in Kingdee; the bills still produced are audited. The
    /// same holds for one whose audit failed, with `--retry-failed`. One audited by hand in Kingdee is
    /// recorded as audited (asked, not sent); one whose bill was deleted there and whose receipt is lost
    /// or unreadable is not saved again.
    @Test func aBillTheTransformNoLongerProducesGetsNoStep() async throws {
        let (server, workspace, numbers, env) = try await Self.submitWorkspace("after-save-not-produced", count: 4)
        defer { Task { await server.stop() } }
        func ferry(_ arguments: String...) async throws -> FerryProcess.Result {
            try await FerryProcess.run(arguments + ["--workspace", workspace.root], environment: env)
        }
        let first = try await ferry("load")
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let dropped = Array(numbers.prefix(2))
        /// A load after the first bill was deleted in Kingdee and its receipt lost or broken: it is not saved again.
        func expectFirstLeftAlone(_ load: FerryProcess.Result, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(load.status == 1, "\(load.stderr)", sourceLocation: sourceLocation)
            #expect(server.store.bill(dropped[0]) == nil, "not saved again", sourceLocation: sourceLocation)
            #expect(
                load.stderr.contains(
                    "load: \(dropped[0]).json is not sent: the transform no longer produces it (the manifest does not list it)"),
                "\(load.stderr)", sourceLocation: sourceLocation)
            #expect(
                load.stderr.contains("1 payload(s) the transform no longer produces were left alone"), "\(load.stderr)",
                sourceLocation: sourceLocation)
        }
        #expect(server.store.bills.count == 4 && server.store.bills.allSatisfy { $0.documentStatus == "B" })

        // A later transform no longer produces the first two (rejected now, say); their payloads stay.
        try AfterSaveTests.writeManifest(Array(numbers.dropFirst(2)), into: workspace.run.transform)
        for number in dropped { #expect(FileSystem.exists(workspace.run.transform + "/\(number).json")) }
        // The second's audit failed earlier (an error file naming the step, as the load writes it).
        let failed: JSONValue = [
            "step": "audit", "class": "data", "errors": [["message": "审核失败"]],
            "hint": ["en": "fix it, then `ferry load --retry-failed`"],
        ]
        try FileSystem.writeAtomically(
            JSONWriter().bytes(failed), to: workspace.run.transform + "/\(dropped[1]).error.json")
        try workspace.setAfterSave("audit")

        let plan = try await ferry("load", "--dry-run", "--retry-failed")
        for number in dropped {
            #expect(
                plan.stdout.contains(
                    "no longer produced by the transform (nothing sent for it: check its bill in Kingdee): \(number).json"),
                "\(plan.stdout)")
        }
        for number in numbers.dropFirst(2) {
            #expect(plan.stdout.contains("saved, still to submit/audit (FDocumentStatus asked first): \(number).json"), "\(plan.stdout)")
        }

        let story = try await ferry("status", "--document", dropped[0])
        #expect(story.stdout.contains("so `ferry load` cannot finish it: do it in Kingdee by hand"), "\(story.stdout)")
        let before = try await ferry("status")
        #expect(
            before.stdout.contains("the transform no longer produces its payload, so `ferry load` cannot audit it"),
            "\(before.stdout)")

        var load = try await ferry("load", "--retry-failed")
        #expect(load.status == 1, "\(load.stdout)\(load.stderr)")
        for number in dropped {
            #expect(server.store.bill(number)?.documentStatus == "B", "\(number)")
            #expect(
                load.stderr.contains(
                    "load: \(number) is saved in Kingdee but the transform no longer produces its payload; it is not "
                        + "submitted or audited"),
                "\(load.stderr)")
        }
        #expect(
            load.stderr.contains(
                "2 payload(s) the transform no longer produces were left alone (not saved, submitted or audited: "
                    + "\(dropped[0]).json, \(dropped[1]).json); check their bills in Kingdee"),
            "\(load.stderr)")
        for number in numbers.dropFirst(2) { #expect(server.store.bill(number)?.documentStatus == "C", "\(number)") }
        #expect(try await ferry("status").status == 1)

        // The hint is followed for the second: audited by hand in Kingdee. The next `--retry-failed` load asks
        // its FDocumentStatus and records the audit (its error file goes); nothing is sent to Kingdee for it.
        server.store.setDocumentStatus(dropped[1], "C")
        // The first's bill is deleted in Kingdee, and its receipt lost: not saved again, as it is not produced.
        server.store.deleteBill(dropped[0])
        try FileSystem.remove(workspace.run.transform + "/\(dropped[0]).receipt.json")
        // An error file an earlier load left beside it (a refused save): counted once, as not produced.
        let refused: JSONValue = ["class": "data", "errors": [["message": "物料编码不存在"]]]
        try FileSystem.writeAtomically(JSONWriter().bytes(refused), to: workspace.run.transform + "/\(dropped[0]).error.json")
        let secondPlan = try await ferry("load", "--dry-run", "--retry-failed")
        #expect(
            secondPlan.stdout.contains(
                "no longer produced by the transform (nothing sent for it: check its bill in Kingdee): \(dropped[0]).json"),
            "\(secondPlan.stdout)")
        #expect(!secondPlan.stdout.contains("  \(dropped[0]).json  FBillNo"), "not in a batch: \(secondPlan.stdout)")
        #expect(!secondPlan.stdout.contains("sent as new if not): \(dropped[0]).json"), "\(secondPlan.stdout)")
        let requests = server.store.requestCounts
        load = try await ferry("load", "--retry-failed")
        expectFirstLeftAlone(load)
        // Looked up by its Kingdee Id first (its receipt is gone), and said not to be sent, not "sent as new".
        #expect(
            load.stderr.contains("Kingdee does not find it (deleted there?); nothing recorded; the transform no longer produces it: not sent"),
            "\(load.stderr)")
        #expect(!load.stderr.contains("its payload is sent as new"), "\(load.stderr)")
        #expect(load.stderr.contains("  failed:            0 ("), "\(load.stderr)")
        let receipt = try JSONReader.parse(try FileSystem.read(workspace.run.transform + "/\(dropped[1]).receipt.json"))
        #expect(receipt["audited_at"] != nil, "\(receipt)")
        #expect(!FileSystem.exists(workspace.run.transform + "/\(dropped[1]).error.json"))
        let after = server.store.requestCounts
        for call in ["BatchSave", "Submit", "Audit"] { #expect(after[call] == requests[call], "\(call): \(after)") }
        // `ferry status` shows it (the journal shows it saved; its receipt is gone): in doubt, not produced; it
        // was not shown at all.
        let lost = try await ferry("status", "--document", dropped[0])
        #expect(
            lost.stdout.contains("its receipt is missing and the transform no longer produces this payload; the next "
                + "`ferry load` asks Kingdee by that Id"), "\(lost.stdout)")
        // A payload that no longer passes the load's checks is not asked about by the load: status says so.
        let payloadPath = workspace.run.transform + "/\(dropped[0]).json"
        let payloadBytes = try FileSystem.read(payloadPath)
        try FileSystem.writeAtomically(Array(#"{"formid": "STK_MISCELLANEOUS", "data": {}}"#.utf8), to: payloadPath)
        let broken = try await ferry("status", "--document", dropped[0])
        #expect(broken.stdout.contains("the payload no longer passes the load's checks"), "\(broken.stdout)")
        try FileSystem.writeAtomically(payloadBytes, to: payloadPath)

        // Both receipts made unreadable (a bad hand edit; the first's bill is still gone from Kingdee, the second's
        // is there): each is looked up by its Kingdee Id before anything is sent. The second's receipt is written
        // again; the first, not found, is not sent, as it is not produced.
        for number in dropped {
            try FileSystem.writeAtomically(Array("{\"id\": ".utf8), to: workspace.run.transform + "/\(number).receipt.json")
        }
        let thirdPlan = try await ferry("load", "--dry-run")
        for number in dropped {
            #expect(thirdPlan.stdout.contains("in doubt (checked with ExecuteBillQuery first): \(number).json"), "\(thirdPlan.stdout)")
            #expect(!thirdPlan.stdout.contains("  \(number).json  FBillNo"), "not in a batch: \(thirdPlan.stdout)")
        }
        load = try await ferry("load")
        expectFirstLeftAlone(load)
        let rewritten = try JSONReader.parse(try FileSystem.read(workspace.run.transform + "/\(dropped[1]).receipt.json"))
        #expect(rewritten["kingdee"]?["Id"] != nil && rewritten["audited_at"] != nil, "\(rewritten)")
        #expect(server.store.bill(dropped[1])?.documentStatus == "C")
        let last = server.store.requestCounts
        for call in ["BatchSave", "Submit", "Audit"] { #expect(last[call] == requests[call], "\(call): \(last)") }
    }
}
