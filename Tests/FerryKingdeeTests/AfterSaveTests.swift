import FerryCore
import FerryKingdee
import FerryTestSupport
import Foundation
import KingdeeSandbox
import Testing

/// `target.after_save`: saved bills submitted and audited against the sandbox over real loopback HTTP.
struct AfterSaveTests {
    func target(_ server: KingdeeSandboxServer, _ afterSave: KingdeeTargetConfig.AfterSave, flags: String = "", batchSize: Int = 5)
        -> KingdeeTargetConfig
    {
        var config = server.target(batchSize: batchSize)
        config.afterSave = afterSave
        config.auditInteractionFlags = flags
        return config
    }

    @Test func auditSavesSubmitsAndAuditsEveryBillWithOneCallPerBatchAndStep() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("audit")
        let numbers = try PayloadGenerator.write(count: 7, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: target(server, .audit))
        #expect(summary.loaded == 7 && summary.submitted == 7 && summary.audited == 7)
        #expect(!summary.hasProblems)
        for number in numbers {
            let bill = try #require(server.store.bill(number))
            #expect(bill.documentStatus == "C" && bill.submitCount == 1 && bill.auditCount == 1 && bill.saveCount == 1)
            let receipt = try #require(run.receipt(number))
            #expect(receipt["submitted_at"] != nil && receipt["audited_at"] != nil && receipt["loaded_at"] != nil)
            #expect(receipt["kingdee"]?["Number"]?.stringValue == number)
            #expect(run.error(number) == nil)
        }
        // Two BatchSaves (5 + 2), each followed by one Submit and one Audit.
        let counts = server.store.requestCounts
        #expect(counts["BatchSave"] == 2 && counts["Submit"] == 2 && counts["Audit"] == 2, "\(counts)")
        // Each step call was journalled before it was sent, then settled.
        let steps = run.journalEntries().filter { $0["kind"]?.stringValue == "step" }
        #expect(steps.compactMap { $0["step"]?.stringValue }.sorted() == ["audit", "audit", "submit", "submit"])
        let settled = Set(run.journalEntries().filter { $0["kind"]?.stringValue == "settled" }.compactMap { $0["batch"]?.stringValue })
        #expect(steps.allSatisfy { settled.contains($0["batch"]?.stringValue ?? "") })

        // Nothing more to do: a rerun sends nothing.
        let before = server.store.requestCounts
        let again = try await LoadRunner.run(runDirectory: run.runDirectory, config: target(server, .audit))
        #expect(again.alreadyLoaded == 7 && again.requests == 0)
        #expect(server.store.requestCounts == before)
    }

    @Test func noneSendsNoSubmitOrAuditAndWritesTheReceiptsAsBefore() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("none")
        let numbers = try PayloadGenerator.write(count: 6, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(summary.loaded == 6 && summary.submitted == 0 && summary.audited == 0)
        let counts = server.store.requestCounts
        #expect(counts["Submit"] == nil && counts["Audit"] == nil, "\(counts)")
        #expect(server.store.bills.allSatisfy { $0.documentStatus == "A" })
        let receipt = try #require(run.receipt(numbers[0]))
        #expect(receipt.objectValue?.members.map(\.key) == [
            "FBillNo", "formid", "kingdee", "payload", "payload_sha256", "loaded_at", "batch", "how",
        ])
        #expect(!run.journalKinds().contains("step"))
    }

    @Test func anAuditRefusedForNegativeStockKeepsTheReceiptAndAFlaggedRerunAuditsItWithoutSavingAgain() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let workspace = try CrashTests.Workspace("negative-stock", extra: "  after_save: audit")
        let numbers = try PayloadGenerator.write(count: 4, into: workspace.run.transform)
        try Self.writeManifest(numbers, into: workspace.run.transform)
        let poor = numbers[2]
        server.updateFaults { $0.negativeStockBills = [poor] }
        let env = CrashTests.environment(server)

        let first = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(first.status == 1, "\(first.stderr)")
        #expect(first.stderr.contains("saved in Kingdee but their Submit or Audit failed"), "\(first.stderr)")
        #expect(server.store.bill(poor)?.documentStatus == "B")
        for number in numbers where number != poor { #expect(server.store.bill(number)?.documentStatus == "C") }
        let receipt = try #require(workspace.run.receipt(poor))
        #expect(receipt["submitted_at"] != nil && receipt["audited_at"] == nil)
        let error = try #require(workspace.run.error(poor))
        #expect(error["step"]?.stringValue == "audit")
        #expect(error["class"]?.stringValue == "data")
        #expect(error["errors"]?.arrayValue?.first?["message"]?.stringValue?.contains("更新库存时出现可以忽略的异常数据") == true)
        #expect(error["hint"]?["en"]?.stringValue?.contains("--retry-failed") == true)

        // `ferry status` shows it as not done, with what to do.
        let status = try await FerryProcess.run(
            ["status", "--workspace", workspace.root, "--documents", "--state", "failed"], environment: env)
        #expect(status.stdout.contains("saved, not audited"), "\(status.stdout)\(status.stderr)")
        #expect(status.stdout.contains("--retry-failed"), "\(status.stdout)")
        #expect(
            status.stdout.contains("this is Kingdee's negative-stock prompt: to accept it, add STK_InvCheckResult to target.audit_interaction_flags"),
            "the group's hint names the setting: \(status.stdout)")

        // A plain rerun keeps the failure (it is not a transient one) and sends nothing.
        let countsBefore = server.store.requestCounts
        let plain = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(plain.status == 1)
        #expect(server.store.requestCounts["Audit"] == countsBefore["Audit"])

        // Accept the negative-stock prompt and retry: audited, never saved or submitted again.
        try FileSystem.writeAtomically(
            String(decoding: try FileSystem.read(workspace.root + "/ferry.yaml"), as: UTF8.self)
                + "\n  audit_interaction_flags: STK_InvCheckResult\n",
            to: workspace.root + "/ferry.yaml")
        let retried = try await FerryProcess.run(["load", "--workspace", workspace.root, "--retry-failed"], environment: env)
        #expect(retried.status == 0, "\(retried.stderr)")
        let bill = try #require(server.store.bill(poor))
        #expect(bill.documentStatus == "C" && bill.saveCount == 1 && bill.submitCount == 1 && bill.auditCount == 1)
        #expect(server.store.requestCounts["BatchSave"] == countsBefore["BatchSave"], "no second BatchSave")
        #expect(server.store.requestCounts["Submit"] == countsBefore["Submit"], "no second Submit")
        #expect(workspace.run.error(poor) == nil)
        #expect(workspace.run.receipt(poor)?["audited_at"] != nil)
        // The receipt's earlier fields are unchanged.
        #expect(workspace.run.receipt(poor)?["loaded_at"] == receipt["loaded_at"])
        #expect(workspace.run.receipt(poor)?["submitted_at"] == receipt["submitted_at"])
        // The document's story says when it was submitted and audited.
        let story = try await FerryProcess.run(["status", "--workspace", workspace.root, "--document", poor], environment: env)
        let audited = try #require(workspace.run.receipt(poor)?["audited_at"]?.stringValue)
        #expect(story.stdout.contains(", audited at \(audited)"), "\(story.stdout)\(story.stderr)")
    }

    @Test func aLostAuditAnswerIsCheckedWithExecuteBillQueryAndNotRepeated() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        // Step calls: 1 is the Submit, 2 the Audit: it is done, then its answer is lost.
        server.updateFaults { $0.dropStepAnswerAt = [2] }
        let run = TestRun("lost-audit")
        let numbers = try PayloadGenerator.write(count: 3, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: target(server, .audit))
        #expect(server.store.faultsInjected["lost_step_response"] == 1)
        #expect(!summary.hasProblems, "\(summary)")
        #expect(summary.audited == 3)
        let counts = server.store.requestCounts
        #expect(counts["Audit"] == 1 && counts["Submit"] == 1, "\(counts)")
        #expect((counts["ExecuteBillQuery"] ?? 0) >= 1)
        for number in numbers {
            let bill = try #require(server.store.bill(number))
            #expect(bill.documentStatus == "C" && bill.auditCount == 1)
            #expect(run.receipt(number)?["audited_at"] != nil)
            #expect(run.error(number) == nil)
        }
    }

    @Test func aLostSubmitAnswerIsCheckedThenOnlyTheAuditIsSent() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        server.updateFaults { $0.dropStepAnswerAt = [1] }
        let run = TestRun("lost-submit")
        let numbers = try PayloadGenerator.write(count: 3, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: target(server, .audit))
        #expect(!summary.hasProblems, "\(summary)")
        let counts = server.store.requestCounts
        #expect(counts["Submit"] == 1 && counts["Audit"] == 1, "\(counts)")
        for number in numbers { #expect(server.store.bill(number)?.documentStatus == "C") }
    }

    /// A Submit (step call 1) or Audit (2) whose answer is lost while Kingdee is still doing it: asked at
    /// once, the bills are not past the step yet; asked again `in_doubt_recheck_seconds` later, they are, so
    /// the step is sent once.
    @Test(arguments: [1, 2])
    func aStepKingdeeFinishesAfterItsAnswerWasLostIsAskedAgainBeforeItIsSentAgain(stepCall: Int) async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        server.updateFaults {
            $0.lateStepWorkAt = [stepCall]
            $0.lateStepWorkDelay = .milliseconds(300)
        }
        let run = TestRun("late-step-\(stepCall)")
        let numbers = try PayloadGenerator.write(count: 3, into: run.transform)
        var config = target(server, .audit)
        config.inDoubtRecheckSeconds = 1
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: config)
        #expect(server.store.faultsInjected["late_step_work"] == 1)
        #expect(!summary.hasProblems, "\(summary)")
        let counts = server.store.requestCounts
        #expect(counts["Submit"] == 1 && counts["Audit"] == 1, "\(counts)")
        for number in numbers {
            let bill = try #require(server.store.bill(number))
            #expect(bill.documentStatus == "C" && bill.submitCount == 1 && bill.auditCount == 1, "\(number)")
            #expect(run.receipt(number)?["submitted_at"] != nil && run.receipt(number)?["audited_at"] != nil, "\(number)")
            #expect(run.error(number) == nil, "\(number)")
        }
        #expect(try LoadJournal(path: LoadRunner.journalPath(run: run.runDirectory)).unsettledSteps.isEmpty)
    }

    @Test func billsAlreadyAuditedInKingdeeAreNeverSubmittedOrAuditedAgain() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("resume")
        let numbers = try PayloadGenerator.write(count: 4, into: run.transform)
        // Saved with after_save none; then somebody audits two of them by hand in Kingdee.
        _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        server.store.setDocumentStatus(numbers[0], "C")
        server.store.setDocumentStatus(numbers[1], "B")
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: target(server, .audit))
        #expect(!summary.hasProblems, "\(summary)")
        let counts = server.store.requestCounts
        #expect(counts["BatchSave"] == 1 && counts["Submit"] == 1 && counts["Audit"] == 1, "\(counts)")
        #expect(server.store.bill(numbers[0])?.auditCount == 0 && server.store.bill(numbers[0])?.submitCount == 0)
        #expect(server.store.bill(numbers[1])?.submitCount == 0 && server.store.bill(numbers[1])?.auditCount == 1)
        for number in numbers {
            #expect(server.store.bill(number)?.documentStatus == "C")
            #expect(run.receipt(number)?["audited_at"] != nil)
        }
    }

    /// Numbers another organisation's bills have too (numbering rules kept per organisation): Submit, Audit
    /// and the FDocumentStatus check after a lost answer name the bills by Kingdee's ids, so those bills are
    /// neither moved nor read for these.
    @Test func stepsAndStatusChecksNameBillsByIdNotByANumberAnotherOrganisationUses() async throws {
        var configuration = KingdeeSandboxConfiguration()
        configuration.numbersPerOrganization = true
        let server = try await KingdeeSandboxServer.start(configuration: configuration)
        defer { Task { await server.stop() } }
        let run = TestRun("same-number-other-org")
        let numbers = try PayloadGenerator.write(count: 3, into: run.transform)
        // Organisation 101 has a bill numbered like the second (saved) and one like the third (audited).
        try await server.createElsewhere(numbers[1], organization: "101")
        try await server.createElsewhere(numbers[2], organization: "101")
        server.store.setDocumentStatus(numbers[2], "C")
        // The answer to Ferry's Submit is lost after the work: Ferry asks the bills' FDocumentStatus.
        server.updateFaults { $0.dropStepAnswerAt = [1] }
        let lines = Harvest()
        let summary = try await LoadRunner.run(
            runDirectory: run.runDirectory, config: target(server, .audit), progress: { lines.add($0) })
        #expect(summary.loaded == 3 && summary.submitted == 3 && summary.audited == 3 && !summary.hasProblems)
        for (number, theirStatus) in [(numbers[1], "A"), (numbers[2], "C")] {
            let both = server.store.bills(numbered: number)
            let ours = try #require(both.first { $0.model["FStockOrgId"]?["FNumber"]?.stringValue == "100" })
            let theirs = try #require(both.first { $0.model["FStockOrgId"]?["FNumber"]?.stringValue == "101" })
            #expect(ours.documentStatus == "C" && ours.submitCount == 1 && ours.auditCount == 1, "\(ours)")
            #expect(theirs.documentStatus == theirStatus && theirs.submitCount == 0 && theirs.auditCount == 0, "\(theirs)")
            #expect(run.receipt(number)?["kingdee"]?["Id"]?.scalarText == String(ours.id))
        }
        // Organisation 101's audited bill was not read as this one's.
        #expect(!lines.all.contains { $0.contains("\(numbers[2]) already audited") }, "\(lines.all)")
        #expect(lines.all.contains { $0.contains("\(numbers[2]) already submitted (FDocumentStatus B in Kingdee)") })
    }

    /// The bodies: `Ids` when the bills' ids are known, `Numbers` otherwise; the status query by `FID`.
    @Test func aStepNamesBillsByIdsWhenKnown() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("step-by-id")
        let numbers = try PayloadGenerator.write(count: 2, into: run.transform)
        _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        let ids = try numbers.map { try #require(server.store.bill($0)).id }
        let client = try KingdeeClient(config: server.target())
        let status = try await client.billStep(.submit, formID: "STK_MISCELLANEOUS", numbers: numbers, ids: ids.map(String.init))
        #expect(status.isSuccess && status.successes.map(\.number) == numbers)
        #expect(status.successes.map { $0.id.scalarText } == ids.map { String($0) })
        let found = try await client.existingBills(formID: "STK_MISCELLANEOUS", ids: [String(ids[1]), "999999"])
        #expect(found.map(\.number) == [numbers[1]] && found.map(\.status) == ["B"])
        #expect(KingdeeClient.billIDFilter(["1", "22"]) == "FID IN (1,22)")
        #expect(KingdeeClient.billIDFilter(["a'b", "2"]) == "FID IN ('a''b','2')")
    }

    @Test func aBadAfterSaveIsAConfigurationErrorNamingTheKey() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let workspace = try CrashTests.Workspace("bad-after-save", extra: "  after_save: approve")
        try PayloadGenerator.write(count: 2, into: workspace.run.transform)
        let load = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: CrashTests.environment(server))
        #expect(load.status == 2, "\(load.stderr)")
        #expect(load.stderr.contains("target.after_save"), "\(load.stderr)")
        #expect(server.store.requestCounts.isEmpty)

        let flags = try CrashTests.Workspace("bad-flags", extra: "  after_save: audit\n  audit_interaction_flags: \"a b\"")
        try PayloadGenerator.write(count: 1, into: flags.run.transform)
        let second = try await FerryProcess.run(["load", "--workspace", flags.root], environment: CrashTests.environment(server))
        #expect(second.status == 2 && second.stderr.contains("target.audit_interaction_flags"), "\(second.stderr)")
    }

    /// A transform manifest listing `numbers`' payloads, so `ferry status` counts them as this run's.
    static func writeManifest(_ numbers: [String], into directory: String) throws {
        let outputs: [JSONValue] = numbers.map { ["file": .string($0 + ".json"), "bill_number": .string($0), "key": .string($0)] }
        let manifest: JSONValue = [
            "counts": ["documents": .number(String(numbers.count)), "payloads": .number(String(numbers.count))],
            "outputs": .array(outputs),
        ]
        try FileSystem.writeAtomically(JSONWriter().bytes(manifest), to: directory + "/manifest.json")
    }
}
