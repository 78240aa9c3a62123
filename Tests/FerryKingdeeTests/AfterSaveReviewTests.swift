import FerryCore
import FerryKingdee
import FerryTestSupport
import Foundation
import KingdeeSandbox
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `target.after_save` where exactly-once is easiest to lose: in-doubt saves, renumbered bills, partial
/// batches, concurrency, session loss, payloads changed or removed after a save whose answer was lost.
struct AfterSaveReviewTests {
    func target(_ server: KingdeeSandboxServer, batchSize: Int = 5, concurrency: Int = 2) -> KingdeeTargetConfig {
        var config = server.target(batchSize: batchSize, concurrency: concurrency)
        config.afterSave = .audit
        return config
    }

    func expectAuditedOnce(_ server: KingdeeSandboxServer, _ run: TestRun, _ numbers: [String]) throws {
        for number in numbers {
            let bill = try #require(server.store.bill(number), "\(number) not saved")
            #expect(bill.saveCount == 1 && bill.documentStatus == "C" && bill.submitCount == 1 && bill.auditCount == 1,
                    "\(number): \(bill.documentStatus) s\(bill.saveCount) sub\(bill.submitCount) aud\(bill.auditCount)")
            let receipt = try #require(run.receipt(number))
            #expect(receipt["submitted_at"] != nil && receipt["audited_at"] != nil, "\(number)")
            #expect(run.error(number) == nil, "\(number)")
        }
    }

    @Test func aBatchSaveWhoseAnswerWasLostHasItsFoundBillsSubmittedAndAudited() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        server.updateFaults { $0.dropAfterCommitAt = [1] }
        let run = TestRun("after-save-in-doubt")
        let numbers = try PayloadGenerator.write(count: 7, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: target(server))
        #expect(!summary.hasProblems && summary.inDoubtFound > 0, "\(summary)")
        try expectAuditedOnce(server, run, numbers)
    }

    @Test func renumberedBillsAreSubmittedAndAuditedUnderKingdeesNumber() async throws {
        let server = try await KingdeeSandboxServer.start(configuration: .init(faults: .init(renumberBills: true)))
        defer { Task { await server.stop() } }
        let run = TestRun("after-save-renumbered")
        let numbers = try PayloadGenerator.write(count: 4, into: run.transform)
        _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: target(server))
        #expect(server.store.bills.count == 4)
        for bill in server.store.bills {
            #expect(bill.documentStatus == "C" && bill.submitCount == 1 && bill.auditCount == 1 && bill.saveCount == 1)
        }
        for number in numbers { #expect(run.receipt(number)?["audited_at"] != nil) }
    }

    @Test func aBatchWithSomeBillsRefusedHasOnlyTheSavedOnesSubmittedAndAudited() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("after-save-partial")
        let numbers = try PayloadGenerator.write(count: 5, into: run.transform) { i, number in
            i == 3 ? PayloadGenerator.payload(billNumber: number, material: "9.99.9") : nil
        }
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: target(server))
        #expect(summary.failed[.data] == 1 && summary.savedNotFinished == 0, "\(summary)")
        try expectAuditedOnce(server, run, numbers.enumerated().filter { $0.offset != 2 }.map(\.element))
        #expect(run.error(numbers[2])?["step"] == nil)
        #expect(server.store.bill(numbers[2]) == nil)
    }

    @Test func concurrentBatchesEachSubmitAndAuditTheirBillsOnce() async throws {
        let server = try await KingdeeSandboxServer.start(configuration: .init(faults: .init(latency: .milliseconds(5))))
        defer { Task { await server.stop() } }
        let run = TestRun("after-save-concurrent")
        let numbers = try PayloadGenerator.write(count: 23, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: target(server, batchSize: 3, concurrency: 4))
        #expect(!summary.hasProblems && summary.submitted == 23 && summary.audited == 23, "\(summary)")
        try expectAuditedOnce(server, run, numbers)
    }

    @Test func aSessionLostDuringTheStepsIsLoggedInAgainAndNothingIsDoneTwice() async throws {
        let server = try await KingdeeSandboxServer.start(configuration: .init(faults: .init(sessionLossEvery: 3)))
        defer { Task { await server.stop() } }
        let run = TestRun("after-save-session")
        let numbers = try PayloadGenerator.write(count: 9, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: target(server, batchSize: 2))
        #expect(!summary.hasProblems, "\(summary)")
        #expect((server.store.faultsInjected["session_loss"] ?? 0) > 0)
        try expectAuditedOnce(server, run, numbers)
    }

    /// A bill found in Kingdee after a lost BatchSave answer whose payload a later transform changed or
    /// removed is not what the run now holds: it gets its receipt (the bill exists) and is left for a look,
    /// never submitted or audited (an audited bill must be unaudited before it can be fixed or deleted).
    @Test func aBillFoundInDoubtWhosePayloadChangedOrWentIsNotSubmittedOrAudited() async throws {
        let server = try await KingdeeSandboxServer.start(configuration: .init(faults: .init(
            slowSaveEvery: 1, slowSaveDelay: .milliseconds(600))))
        defer { Task { await server.stop() } }
        let workspace = try CrashTests.Workspace("after-save-changed-in-doubt", extra: "  after_save: audit")
        let numbers = try PayloadGenerator.write(count: 3, into: workspace.run.transform)
        let env = CrashTests.environment(server)
        let store = server.store
        let killed = try await FerryProcess.run(
            ["load", "--workspace", workspace.root], environment: env, killWhen: { (store.requestCounts["BatchSave"] ?? 0) > 0 })
        #expect(killed.status == 128 + SIGKILL)
        while store.bills.count < 3 { try await Task.sleep(for: .milliseconds(20)) }
        server.updateFaults { $0.slowSaveEvery = 0 }
        // A later transform changes one payload and removes another.
        let changedPath = workspace.run.transform + "/" + numbers[0] + ".json"
        try FileSystem.writeAtomically(
            JSONWriter().bytes(PayloadGenerator.payload(billNumber: numbers[0], quantity: "99")), to: changedPath)
        try FileSystem.remove(workspace.run.transform + "/" + numbers[1] + ".json")

        let again = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(again.status == 1, "\(again.stderr)")
        for number in numbers[..<2] {
            let bill = try #require(store.bill(number))
            #expect(bill.documentStatus == "A" && bill.submitCount == 0 && bill.auditCount == 0, "\(number) \(bill.documentStatus)")
            #expect(workspace.run.receipt(number) != nil)
        }
        let kept = try #require(store.bill(numbers[2]))
        #expect(kept.documentStatus == "C" && kept.saveCount == 1 && kept.submitCount == 1 && kept.auditCount == 1)
        #expect(store.bills.allSatisfy { $0.saveCount == 1 })
    }

    /// A Submit refused because the bill is past that step (submitted by hand in Kingdee, or by an earlier
    /// call Kingdee finished late) is no failure: its FDocumentStatus is asked, the receipt records the
    /// step, and the bill goes on to its Audit.
    @Test func aStepRefusedBecauseTheBillIsAlreadyPastItIsRecordedAsDoneNotFailed() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer {
            server.store.releaseHeldSteps()
            Task { await server.stop() }
        }
        server.updateFaults { $0.holdFirstStep = .init(audit: false, afterWork: false, answerOnRelease: true) }
        let run = TestRun("after-save-already-past")
        let numbers = try PayloadGenerator.write(count: 3, into: run.transform)
        let config = target(server)
        let load = Task { try await LoadRunner.run(runDirectory: run.runDirectory, config: config) }
        while server.store.heldStepCalls == 0 { try await Task.sleep(for: .milliseconds(5)) }
        // While the Submit is on its way, somebody submits one bill in Kingdee.
        server.store.setDocumentStatus(numbers[1], "B")
        server.store.releaseHeldSteps()
        let summary = try await load.value
        #expect(!summary.hasProblems, "\(summary)")
        let bill = try #require(server.store.bill(numbers[1]))
        #expect(bill.documentStatus == "C" && bill.submitCount == 0 && bill.auditCount == 1 && bill.saveCount == 1)
        #expect(run.receipt(numbers[1])?["submitted_at"] != nil && run.receipt(numbers[1])?["audited_at"] != nil)
        #expect(run.error(numbers[1]) == nil)
        try expectAuditedOnce(server, run, [numbers[0], numbers[2]])
    }

    @Test func callLimitsOnStepsAtDIndexZeroAreRetriedWithoutAFailure() async throws {
        let server = try await KingdeeSandboxServer.start(configuration: .init(faults: .init(callLimitEvery: 3)))
        defer { Task { await server.stop() } }
        server.updateFaults { $0.wholeCallErrorsAtDIndexZero = true }
        let run = TestRun("after-save-call-limit")
        let numbers = try PayloadGenerator.write(count: 8, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: target(server, batchSize: 3))
        #expect(!summary.hasProblems, "\(summary)")
        #expect((server.store.faultsInjected["call_limit"] ?? 0) > 0)
        try expectAuditedOnce(server, run, numbers)
    }

    @Test func aBillDeletedInKingdeeBeforeItsAuditKeepsItsReceiptAndIsNeverSavedAgain() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("after-save-deleted")
        let numbers = try PayloadGenerator.write(count: 3, into: run.transform)
        var none = target(server)
        none.afterSave = .none
        _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: none)
        server.store.deleteBill(numbers[0])
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: target(server))
        #expect(summary.savedNotFinished == 1 && summary.hasProblems, "\(summary)")
        #expect(server.store.bill(numbers[0]) == nil && server.store.requestCounts["BatchSave"] == 1)
        #expect(run.receipt(numbers[0]) != nil && run.error(numbers[0])?["step"] != nil)
        try expectAuditedOnce(server, run, Array(numbers[1...]))
        // Switched to none and back to audit: nothing saved again, the rest untouched.
        _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: none)
        let counts = server.store.requestCounts
        _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: target(server))
        #expect(server.store.requestCounts["BatchSave"] == 1)
        #expect(server.store.requestCounts["Submit"] == counts["Submit"] && server.store.requestCounts["Audit"] == counts["Audit"])
        try expectAuditedOnce(server, run, Array(numbers[1...]))
    }

    @Test func aDryRunWithAfterSaveListsTheBillsStillToAuditAndSendsNothing() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let workspace = try CrashTests.Workspace("after-save-dry-run")
        let numbers = try PayloadGenerator.write(count: 3, into: workspace.run.transform)
        let env = CrashTests.environment(server)
        let first = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(first.status == 0, "\(first.stderr)")
        try FileSystem.writeAtomically(
            String(decoding: try FileSystem.read(workspace.root + "/ferry.yaml"), as: UTF8.self) + "\n  after_save: audit\n",
            to: workspace.root + "/ferry.yaml")
        let counts = server.store.requestCounts
        let dry = try await FerryProcess.run(["load", "--workspace", workspace.root, "--dry-run"], environment: env)
        #expect(dry.status == 0, "\(dry.stderr)")
        for number in numbers {
            #expect(dry.stdout.contains("saved, still to submit/audit (FDocumentStatus asked first): \(number).json"), "\(dry.stdout)")
        }
        #expect(server.store.requestCounts == counts)
        #expect(server.store.bills.allSatisfy { $0.documentStatus == "A" })
        #expect(numbers.allSatisfy { workspace.run.receipt($0)?["submitted_at"] == nil })
    }
}
