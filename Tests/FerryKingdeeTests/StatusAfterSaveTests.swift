import FerryCore
import FerryKingdee
import FerryTestSupport
import Foundation
import KingdeeSandbox
import Testing

/// `ferry status` against what `target.after_save` asks for: a bill is loaded once its receipt records every
/// step the setting asks for, and pending (for the next `ferry load`) until then.
struct StatusAfterSaveTests {
    /// Bills a load saved and submitted under `after_save: submit` are `pending` once the setting asks for
    /// `audit` (not `loaded`, and the run is not clean), with what the next load does; one whose payload was
    /// removed by hand says the transform must write it first. The load then audits the others; with
    /// `after_save: none` the last one counts as loaded again.
    @Test func aBillNotYetAuditedIsPendingWhileAfterSaveAsksForTheAudit() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let workspace = try CrashTests.Workspace("status-after-save", extra: "  after_save: submit", batchSize: 4)
        let numbers = try PayloadGenerator.write(count: 6, into: workspace.run.transform)
        try AfterSaveTests.writeManifest(numbers, into: workspace.run.transform)
        let env = CrashTests.environment(server)
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
}
