import FerryCore
import FerryKingdee
import FerryTestSupport
import Foundation
import KingdeeSandbox
import Testing

/// Exactly once where Kingdee's answers are ambiguous: a bill number that exists because somebody else
/// used it, a numbering rule that replaces FBillNo, and a payload changed after a batch was left in doubt.
struct ExactlyOnceTests {
    @Test func retryFailedKeepsADuplicateThatIsSomebodyElsesBill() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let taken = PayloadGenerator.billNumber(2)
        try await server.createElsewhere(taken)
        let run = TestRun("duplicate-retry")
        let numbers = try PayloadGenerator.write(count: 3, into: run.transform)
        let first = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(first.loaded == 2 && first.failed[.duplicate] == 1)
        // --retry-failed sends it again (the user may have fixed it); Kingdee says the number exists again.
        // Its earlier send was answered, so the bill is not Ferry's: no receipt, still a duplicate error.
        let retried = try await LoadRunner.run(
            runDirectory: run.runDirectory, config: server.target(), options: LoadOptions(retryFailed: true))
        #expect(retried.failed[.duplicate] == 1)
        #expect(retried.inDoubtFound == 0)
        #expect(run.receipt(taken) == nil, "Ferry did not create \(taken)")
        #expect(run.error(taken)?["class"]?.stringValue == "duplicate")
        #expect(run.error(taken)?["errors"]?.arrayValue?.first?["message"]?.stringValue?.contains("已经存在") == true)
        #expect(server.store.bills.count == 3)
        #expect(run.receipt(numbers[0]) != nil && run.receipt(numbers[2]) != nil)
    }

    @Test func aBillKingdeeRenumbersIsSavedOnceAndReceiptedUnderItsNewNumber() async throws {
        let server = try await KingdeeSandboxServer.start(configuration: .init(faults: .init(renumberBills: true)))
        defer { Task { await server.stop() } }
        let run = TestRun("renumbered")
        let numbers = try PayloadGenerator.write(count: 4, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(batchSize: 2))
        #expect(summary.loaded == 4)
        #expect(server.store.bills.count == 4, "each document saved once")
        for number in numbers {
            let receipt = try #require(run.receipt(number))
            let savedAs = try #require(receipt["kingdee"]?["Number"]?.stringValue)
            #expect(savedAs.hasPrefix("QTRK"))
            #expect(receipt["FBillNo"]?.stringValue == number)
            #expect(server.store.bill(savedAs)?.saveCount == 1)
        }
        let again = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(batchSize: 2))
        #expect(again.alreadyLoaded == 4 && again.loaded == 0)
        #expect(server.store.bills.count == 4)
    }

    @Test func aLostAnswerIsNotSentAgainOnceKingdeeIsSeenToRenumber() async throws {
        // The second save call commits its bills and loses the answer. ExecuteBillQuery by FBillNo cannot
        // find renumbered bills, so sending them again would save them twice.
        var faults = KingdeeSandboxFaults(renumberBills: true)
        faults.dropAfterCommitAt = [2]
        let server = try await KingdeeSandboxServer.start(configuration: .init(faults: faults))
        defer { Task { await server.stop() } }
        let run = TestRun("renumbered-lost")
        let numbers = try PayloadGenerator.write(count: 4, into: run.transform)
        let summary = try await LoadRunner.run(
            runDirectory: run.runDirectory, config: server.target(batchSize: 2, concurrency: 1))
        #expect(server.store.bills.count == 4, "no bill saved twice")
        #expect(summary.loaded == 2)
        #expect(summary.failed[.config] == 2)
        // Either batch may take the one permit first: the one sent second is the one whose answer is lost.
        let unanswered = numbers.filter { run.receipt($0) == nil }
        #expect(unanswered.count == 2)
        for number in unanswered {
            let error = try #require(run.error(number))
            #expect(error["class"]?.stringValue == "config")
            #expect(error["errors"]?.arrayValue?.first?["message"]?.stringValue?.contains("numbering rule") == true)
        }
    }

    /// The first save call saves its bills, then answers "执行超时，事务已中止" for the whole call; with
    /// `atDIndexZero`, at DIndex 0 as Kingdee gives it: the error is the whole call's, not the first
    /// document's, and that document may be saved too.
    @Test(arguments: [false, true])
    func aTimeoutAnswerAfterTheBillsWereSavedIsCheckedBeforeSendingAgain(atDIndexZero: Bool) async throws {
        var faults = KingdeeSandboxFaults()
        faults.timeoutAfterCommitAt = [1]
        faults.wholeCallErrorsAtDIndexZero = atDIndexZero
        let server = try await KingdeeSandboxServer.start(configuration: .init(faults: faults))
        defer { Task { await server.stop() } }
        let run = TestRun("timeout-after-commit")
        let numbers = try PayloadGenerator.write(count: 3, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(server.store.faultsInjected["timeout_after_commit"] == 1)
        #expect(summary.inDoubtFound == 3)
        #expect(!summary.hasProblems)
        #expect(server.store.duplicateRejections.isEmpty, "nothing saved was sent again")
        for number in numbers {
            #expect(run.error(number) == nil)
            #expect(run.receipt(number)?["how"]?.stringValue == "found by ExecuteBillQuery")
            #expect(server.store.bill(number)?.saveCount == 1)
        }
    }

    @Test func anExecuteBillQueryRefusedForPermissionStopsAtOnceWithWhatToFix() async throws {
        // A lost answer needs ExecuteBillQuery; an integration user who may not query the form gets a
        // refusal, not a lost answer: asking again cannot help.
        var faults = KingdeeSandboxFaults()
        faults.dropAfterCommitAt = [1]
        faults.queryWithoutPermission = true
        let server = try await KingdeeSandboxServer.start(configuration: .init(faults: faults))
        defer { Task { await server.stop() } }
        let run = TestRun("query-permission")
        try PayloadGenerator.write(count: 2, into: run.transform)
        do {
            _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
            Issue.record("the load went on without being able to check its documents in doubt")
        } catch {
            #expect(error.message.contains("您没有该功能的操作权限"))
            #expect(error.message.contains("permission"), "\(error.message)")
        }
        #expect(server.store.requestCounts["ExecuteBillQuery"] == 1, "a refusal is not asked again")
        #expect(server.store.requestCounts["BatchSave"] == 1, "nothing sent again")
    }

    /// A receipt that cannot be read proves nothing: the bill is asked for, by the Kingdee Id the journal
    /// recorded for its save (a bill Kingdee renumbered is found too, where FBillNo would not find it and
    /// the document would be saved twice), or by FBillNo when the journal (of an older Ferry) names no
    /// saved bill; found, its receipt is written again, nothing sent.
    @Test(arguments: [("", false, true), ("{\"FBillNo\": \"RK", false, true), ("", true, true), ("", false, false)])
    func aReceiptThatCannotBeReadIsCheckedNotSentAgain(_ content: String, renumbered: Bool, journalNamesBills: Bool)
        async throws
    {
        let server = try await KingdeeSandboxServer.start(configuration: .init(faults: .init(renumberBills: renumbered)))
        defer { Task { await server.stop() } }
        let run = TestRun("unreadable-receipt")
        let numbers = try PayloadGenerator.write(count: 2, into: run.transform)
        _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        // A crash before the receipt reached the disk leaves it empty; a bad hand edit leaves it broken.
        let receiptPath = run.transform + "/\(numbers[0]).receipt.json"
        let saved = try #require(run.receipt(numbers[0]))
        let sha = try #require(saved["payload_sha256"]?.stringValue)
        try FileSystem.writeAtomically(content, to: receiptPath)
        if !journalNamesBills {
            // As an older Ferry wrote it: no `bills` on the settled lines.
            let path = LoadRunner.journalPath(run: run.runDirectory)
            let lines = String(decoding: try FileSystem.read(path), as: UTF8.self).split(separator: "\n").map { line in
                guard var object = try? JSONReader.parse(Array(line.utf8)).objectValue else { return String(line) }
                object.members.removeAll { $0.key == "bills" }
                return String(decoding: JSONWriter(style: .compact).bytes(.object(object)), as: UTF8.self)
            }
            try FileSystem.writeAtomically(lines.joined(separator: "\n") + "\n", to: path)
            #expect(try LoadJournal(path: path).savedBills.isEmpty)
        }
        let plan = try LoadRunner.plan(runDirectory: run.runDirectory, config: server.target(), options: LoadOptions())
        #expect(plan.inDoubt == [numbers[0]])
        let before = server.store.requestCounts["BatchSave"]
        let again = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(server.store.requestCounts["BatchSave"] == before, "nothing sent")
        #expect(server.store.duplicateRejections.isEmpty)
        #expect(server.store.bills.count == 2)
        #expect(again.inDoubtFound == 1 && again.alreadyLoaded == 1 && !again.hasProblems)
        let receipt = try #require(run.receipt(numbers[0]))
        #expect(
            receipt["how"]?.stringValue
                == (journalNamesBills ? "found by ExecuteBillQuery (its receipt was missing)" : "found by ExecuteBillQuery"))
        #expect(receipt["payload_sha256"]?.stringValue == sha)
        #expect(receipt["kingdee"]?["Id"] == saved["kingdee"]?["Id"] && receipt["kingdee"]?["Number"] == saved["kingdee"]?["Number"])
    }

    @Test func aTimedOutBatchKingdeeIsStillSavingIsAskedAboutAgainNotSentTwice() async throws {
        // Kingdee takes 1.5 s to save; the client gives up after 0.5 s and asks at once: not there yet.
        let server = try await KingdeeSandboxServer.start(
            configuration: .init(faults: .init(slowSaveEvery: 1, slowSaveDelay: .milliseconds(1500))))
        defer { Task { await server.stop() } }
        let run = TestRun("still-saving")
        let numbers = try PayloadGenerator.write(count: 3, into: run.transform)
        let summary = try await LoadRunner.run(
            runDirectory: run.runDirectory, config: server.target(concurrency: 1, timeout: 0.5, inDoubtRecheck: 2))
        #expect(summary.inDoubtFound == 3 && summary.inDoubtResent == 0)
        #expect(server.store.requestCounts["BatchSave"] == 1, "nothing sent again")
        #expect(server.store.duplicateRejections.isEmpty)
        for number in numbers {
            #expect(run.receipt(number)?["how"]?.stringValue == "found by ExecuteBillQuery")
            #expect(server.store.bill(number)?.saveCount == 1)
        }
    }

    @Test func aTransformThatDidNotFinishIsNotLoaded() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("transform-incomplete")
        try PayloadGenerator.write(count: 2, into: run.transform)
        let marker = TransformMarker.path(in: run.transform)
        try FileSystem.writeAtomically("[\"RK1.json\"]\n", to: marker)
        for attempt in 0..<2 {
            do {
                if attempt == 0 {
                    _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
                } else {
                    _ = try LoadRunner.plan(runDirectory: run.runDirectory, config: server.target(), options: LoadOptions())
                }
                Issue.record("a directory whose transform did not finish must not be loaded")
            } catch {
                #expect(error.message.contains("did not finish") && error.message.contains("ferry transform"))
                #expect(error.file == marker)
            }
        }
        #expect(server.store.requestCounts.isEmpty)
        try FileSystem.remove(marker)
        #expect(try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target()).loaded == 2)
    }

    @Test func aBatchLeftInDoubtIsReceiptedWithThePayloadAsSentNotAsChangedSince() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("changed-in-doubt")
        let numbers = try PayloadGenerator.write(count: 2, into: run.transform)
        let path = run.transform + "/\(numbers[0]).json"
        // A load sent the first payload and died before the answer; Kingdee saved it.
        let sent = try PayloadDirectory.load(path)
        let journal = try LoadJournal(path: LoadRunner.journalPath(run: run.runDirectory))
        _ = try journal.recordSent(formID: sent.formID, attempt: 1, documents: [sent], reason: "new")
        try await server.createElsewhere(numbers[0])
        // Then the payload was transformed again, differently.
        try FileSystem.writeAtomically(
            JSONWriter().bytes(PayloadGenerator.payload(billNumber: numbers[0], quantity: "99")), to: path)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(summary.inDoubtFound == 1)
        #expect(run.receipt(numbers[0])?["payload_sha256"]?.stringValue == sent.sha256, "what Kingdee holds")
        #expect(run.receipt(numbers[0])?["how"]?.stringValue == "found by ExecuteBillQuery")
        // So the next load reports it as changed, and sends nothing.
        let next = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(next.changed == [numbers[0]])
        #expect(server.store.bill(numbers[0])?.saveCount == 1)
        #expect(server.store.bills.count == 2)
    }

    @Test func aDocumentInDoubtWhosePayloadALaterTransformRemovedIsLookedUpNeverSent() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("removed-in-doubt")
        let numbers = try PayloadGenerator.write(count: 3, into: run.transform)
        // A load sent the first two and died before the answer; Kingdee saved only the first.
        let sent = try numbers[0...1].map { try PayloadDirectory.load(run.transform + "/\($0).json") }
        let journal = try LoadJournal(path: LoadRunner.journalPath(run: run.runDirectory))
        _ = try journal.recordSent(formID: sent[0].formID, attempt: 1, documents: sent, reason: "new")
        try await server.createElsewhere(numbers[0])
        // Then a transform no longer produced them (their orders changed number, or are rejected now).
        for number in numbers[0...1] { try FileSystem.remove(run.transform + "/\(number).json") }

        let plan = try LoadRunner.plan(runDirectory: run.runDirectory, config: server.target(), options: LoadOptions())
        #expect(plan.inDoubt.sorted() == Array(numbers[0...1]), "both are checked")
        #expect(plan.batches.flatMap { $0.documents.map(\.name) } == [numbers[2]], "neither is sent")

        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(summary.inDoubtFound == 1 && summary.inDoubtFoundWithoutPayload == 1 && summary.inDoubtResent == 0)
        #expect(summary.hasProblems, "a bill the source no longer backs needs a look")
        #expect(run.receipt(numbers[0])?["payload_sha256"]?.stringValue == sent[0].sha256)
        #expect(run.receipt(numbers[0])?["how"]?.stringValue == "found by ExecuteBillQuery")
        #expect(run.receipt(numbers[1]) == nil && run.error(numbers[1]) == nil, "not in Kingdee: nothing to do")
        #expect(server.store.bill(numbers[1]) == nil, "never sent from the journal")
        #expect(server.store.bills.count == 2 && run.receipt(numbers[2]) != nil)
        #expect(try LoadJournal(path: LoadRunner.journalPath(run: run.runDirectory)).unsettled.isEmpty)
    }

    @Test func aDocumentInDoubtWhosePayloadIsNowInvalidIsLookedUpNotReportedAsNeverSent() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("invalid-in-doubt")
        let numbers = try PayloadGenerator.write(count: 2, into: run.transform)
        let sent = try numbers.map { try PayloadDirectory.load(run.transform + "/\($0).json") }
        let journal = try LoadJournal(path: LoadRunner.journalPath(run: run.runDirectory))
        _ = try journal.recordSent(formID: sent[0].formID, attempt: 1, documents: sent, reason: "new")
        try await server.createElsewhere(numbers[0])
        // Hand-edited or transformed into something that fails the local checks.
        for number in numbers { try FileSystem.writeAtomically("{}", to: run.transform + "/\(number).json") }
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(summary.inDoubtFoundWithoutPayload == 1)
        #expect(run.receipt(numbers[0])?["payload_sha256"]?.stringValue == sent[0].sha256, "the bill Kingdee holds")
        #expect(run.error(numbers[0]) == nil, "found: not an error")
        #expect(run.error(numbers[1])?["class"]?.stringValue == "data", "not found: the local check's error")
        #expect(server.store.bills.count == 1)
    }

    @Test func aBatchAnotherRunLeftInDoubtIsCheckedBeforeThisRunSendsItsDocuments() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let earlier = TestRun("inherited-doubt")
        let numbers = try PayloadGenerator.write(count: 3, into: earlier.transform)
        // The earlier run's load sent the first two and died before the answer; Kingdee saved the first.
        let sent = try numbers[0...1].map { try PayloadDirectory.load(earlier.transform + "/\($0).json") }
        _ = try LoadJournal(path: LoadRunner.journalPath(run: earlier.runDirectory))
            .recordSent(formID: sent[0].formID, attempt: 1, documents: sent, reason: "new")
        try await server.createElsewhere(numbers[0])
        // A later run (the extract look-back) has the same three payloads.
        let later = earlier.root + "/runs/20260102T000000Z"
        try FileSystem.createDirectory(later + "/transform")
        for number in numbers {
            try FileSystem.writeAtomically(
                try FileSystem.read(earlier.transform + "/\(number).json"), to: later + "/transform/\(number).json")
        }
        try FileSystem.remove(earlier.transform + "/\(numbers[2]).json")
        let others = [(id: "20260101T000000Z", directory: earlier.runDirectory)]

        let plan = try LoadRunner.plan(runDirectory: later, config: server.target(), options: LoadOptions(), otherRuns: others)
        #expect(plan.inDoubt.sorted() == Array(numbers[0...1]))
        #expect(try LoadRunner.inheritDoubts(runDirectory: later, otherRuns: others).sorted() == Array(numbers[0...1]))
        #expect(try LoadRunner.inheritDoubts(runDirectory: later, otherRuns: others).isEmpty, "taken over once")

        let summary = try await LoadRunner.run(runDirectory: later, config: server.target())
        #expect(summary.inDoubtFound == 1 && summary.inDoubtResent == 1 && summary.loaded == 2)
        #expect(summary.failedTotal == 0, "the bill the earlier run saved is not somebody else's")
        #expect(server.store.duplicateRejections.isEmpty)
        #expect(server.store.bills.count == 3 && server.store.bill(numbers[0])?.saveCount == 1)

        // The earlier run's own load settles its batch: both are in Kingdee now; nothing is sent.
        let settled = try await LoadRunner.run(runDirectory: earlier.runDirectory, config: server.target())
        #expect(settled.inDoubtFound == 2 && settled.loaded == 0 && settled.requests == 0)
        #expect(earlier.receipt(numbers[1]) != nil && server.store.bills.count == 3)
    }

    /// A document in doubt (sent, no answer: here a journal line and a crash) whose bill number another
    /// organisation uses: ExecuteBillQuery finds that bill, which is not this document's.
    private func inDoubtWithANumberOrganisation101Uses(
        _ name: String, existenceCheckOrgField: String
    ) async throws -> (server: KingdeeSandboxServer, run: TestRun, numbers: [String], summary: LoadSummary) {
        let server = try await KingdeeSandboxServer.start()
        let run = TestRun(name)
        let numbers = try PayloadGenerator.write(count: 2, into: run.transform)
        let sent = try numbers.map { try PayloadDirectory.load(run.transform + "/\($0).json") }
        _ = try LoadJournal(path: LoadRunner.journalPath(run: run.runDirectory))
            .recordSent(formID: sent[0].formID, attempt: 1, documents: sent, reason: "new")
        try await server.createElsewhere(numbers[0], organization: "101")
        let summary = try await LoadRunner.run(
            runDirectory: run.runDirectory, config: server.target(existenceCheckOrgField: existenceCheckOrgField))
        return (server, run, numbers, summary)
    }

    @Test func aBillNumberAnotherOrganisationUsesIsNotTakenForAnInDoubtDocumentsBill() async throws {
        let (server, run, numbers, summary) = try await inDoubtWithANumberOrganisation101Uses(
            "in-doubt-other-org", existenceCheckOrgField: "FStockOrgId")
        defer { Task { await server.stop() } }
        #expect(summary.inDoubtFound == 0, "organisation 101's bill is not this payload's (organisation 100)")
        #expect(summary.inDoubtResent == 2 && summary.failed[.duplicate] == 1)
        #expect(run.receipt(numbers[0]) == nil, "no receipt for a bill Ferry did not create")
        // Sent, Kingdee refuses the number (the sandbox's numbers are unique across organisations): an
        // error file a person sees, not a receipt that hides a bill that was never saved.
        #expect(run.error(numbers[0])?["class"]?.stringValue == "duplicate")
        #expect(run.receipt(numbers[1]) != nil && summary.loaded == 1)
        #expect(server.store.bill(numbers[0])?.model["FStockOrgId"]?["FNumber"]?.stringValue == "101")
    }

    @Test func withoutAnOrganisationFieldTheInDoubtCheckMatchesFBillNoAlone() async throws {
        let (server, run, numbers, summary) = try await inDoubtWithANumberOrganisation101Uses(
            "in-doubt-number-only", existenceCheckOrgField: "")
        defer { Task { await server.stop() } }
        #expect(summary.inDoubtFound == 1, "FBillNo alone: organisation 101's bill is taken for it")
        #expect(run.receipt(numbers[0])?["how"]?.stringValue == "found by ExecuteBillQuery")
        #expect(run.error(numbers[0]) == nil)
    }

    @Test func anInDoubtDocumentWhosePayloadIsGoneIsCheckedWithTheOrganisationItWasSentWith() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("gone-in-doubt-org")
        let numbers = try PayloadGenerator.write(count: 2, into: run.transform)
        try await server.createElsewhere(numbers[0], organization: "101")
        // The load sends both (organisation 100): Kingdee refuses the first number and saves the second,
        // the answer is lost, and ExecuteBillQuery is refused: the load stops with the batch in doubt.
        server.updateFaults {
            $0.dropAfterCommitAt = [2]
            $0.queryWithoutPermission = true
        }
        await #expect(throws: Diagnostic.self) {
            try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        }
        #expect(server.store.duplicateRejections[numbers[0]] == 1 && server.store.bill(numbers[1]) != nil)
        let sent = try #require(run.journalEntries().first { $0["kind"]?.stringValue == "sent" }?["documents"]?.arrayValue)
        #expect(sent.map { $0["org_field"]?.stringValue } == ["FStockOrgId", "FStockOrgId"])
        #expect(sent.map { $0["org_number"]?.stringValue } == ["100", "100"])
        // Then somebody deletes the first payload, and Kingdee answers queries again.
        try FileSystem.remove(run.transform + "/\(numbers[0]).json")
        server.updateFaults { $0 = KingdeeSandboxFaults() }
        let lines = Harvest()
        let summary = try await LoadRunner.run(
            runDirectory: run.runDirectory, config: server.target(), progress: { lines.add($0) })
        #expect(summary.inDoubtFound == 1 && summary.inDoubtFoundWithoutPayload == 0, "organisation 101's bill is not the one sent")
        #expect(run.receipt(numbers[0]) == nil && run.error(numbers[0]) == nil, "not in Kingdee: nothing to do")
        #expect(run.receipt(numbers[1])?["how"]?.stringValue == "found by ExecuteBillQuery")
        #expect(lines.all.contains { $0.contains("\(numbers[0]) exists in Kingdee only under another organisation (FStockOrgId 101)") })
        #expect(server.store.bill(numbers[0])?.model["FStockOrgId"]?["FNumber"]?.stringValue == "101")
        #expect(try LoadJournal(path: LoadRunner.journalPath(run: run.runDirectory)).unsettled.isEmpty)
        // An organisation's number is no secret; the credentials never reach the journal.
        let text = try FileSystem.readText(LoadRunner.journalPath(run: run.runDirectory))
        #expect(!text.contains(server.configuration.appSecret) && !text.contains(server.configuration.password))
    }

    /// A journal line written before Ferry recorded the organisation sent (or for another organisation
    /// field than the one configured now): a document whose payload is gone is matched on FBillNo alone.
    @Test(arguments: ["", #","org_field":"FOwnerIdHead","org_number":"102""#])
    func anInDoubtDocumentWhosePayloadIsGoneIsMatchedOnFBillNoAloneWithoutAnOrganisationFromTheJournal(
        _ organization: String
    ) async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("gone-in-doubt-old-journal")
        let numbers = try PayloadGenerator.write(count: 1, into: run.transform)
        let document = try PayloadDirectory.load(run.transform + "/\(numbers[0]).json")
        try await server.createElsewhere(numbers[0], organization: "101")
        try FileSystem.remove(document.path)
        try FileSystem.writeAtomically(
            #"{"seq":1,"kind":"sent","batch":"B000001","formid":"STK_MISCELLANEOUS","at":"2026-01-01T00:00:00Z","#
                + #""attempt":1,"reason":"new","documents":[{"payload":""# + document.name + #"","FBillNo":""#
                + document.billNumber + #"","payload_sha256":""# + document.sha256 + #"""# + organization + "}]}\n",
            to: LoadRunner.journalPath(run: run.runDirectory))
        let lines = Harvest()
        let summary = try await LoadRunner.run(
            runDirectory: run.runDirectory, config: server.target(), progress: { lines.add($0) })
        #expect(summary.inDoubtFound == 1 && summary.inDoubtFoundWithoutPayload == 1, "FBillNo alone, as before")
        #expect(run.receipt(numbers[0])?["how"]?.stringValue == "found by ExecuteBillQuery")
        #expect(lines.all.contains { $0.contains("\(numbers[0]) was in doubt and exists in Kingdee, but its payload was removed") })
    }

    @Test(arguments: [
        (#"{"FNumber":"100"}"#, "FStockOrgId", "100"), (#"{"fnumber":"101"}"#, "fstockorgid", "101"),
        (#""102""#, "FStockOrgId", "102"), (#"{"FNumber":103}"#, "FStockOrgId", "103"),
        (#"{"FName":"库存组织"}"#, "FStockOrgId", nil), (#"{"FNumber":"100"}"#, "FOwnerIdHead", "100"),
        (#"{"FNumber":"100"}"#, "FSupplierId", nil), (#"{"FNumber":"100"}"#, "", nil),
    ] as [(String, String, String?)])
    func aPayloadsOrganisationIsTheFNumberOfItsOrganisationField(value: String, field: String, expected: String?) throws {
        let run = TestRun("payload-organisation")
        let path = run.transform + "/RK-ORG.json"
        let standard = JSONWriter(style: .compact).string(PayloadGenerator.payload(billNumber: "RK-ORG"))
        let text = standard.replacingOccurrences(of: #""FStockOrgId":{"FNumber":"100"}"#, with: #""FStockOrgId":"# + value)
        #expect(text != standard || value == #"{"FNumber":"100"}"#)
        try FileSystem.writeAtomically(text, to: path)
        // Taken from the parse that checks the payload, not by parsing its model again.
        let document = try PayloadDirectory.load(path, organizationField: field)
        #expect(document.organization == expected && document.organizationField == field)
    }

    @Test func executeBillQueryGivesTheOrganisationOfEachBillWithTheNumber() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        try await server.createElsewhere("RK-ORG-1", organization: "101")
        try await server.createElsewhere("RK-ORG-2")
        let client = try KingdeeClient(config: server.target())
        let bills = try await client.existingBills(
            formID: "STK_MISCELLANEOUS", billNumbers: ["RK-ORG-1", "RK-ORG-2", "RK-ORG-3"], organizationField: "FStockOrgId")
        #expect(bills.map(\.number).sorted() == ["RK-ORG-1", "RK-ORG-2"])
        #expect(bills.first { $0.number == "RK-ORG-1" }?.organization == "101")
        #expect(bills.first { $0.number == "RK-ORG-2" }?.organization == "100")
        let numbersOnly = try await client.existingBills(formID: "STK_MISCELLANEOUS", billNumbers: ["RK-ORG-1"])
        #expect(numbersOnly.count == 1 && numbersOnly[0].organization == nil)
    }
}

/// A receipt removed by hand (or lost) for a bill an earlier, answered batch saved: the journal's `settled`
/// line records the bill's Kingdee Id, so the next load asks Kingdee about it by that Id before sending
/// anything, instead of sending it as new (a duplicate refusal, or with a numbering rule a second bill).
extension ExactlyOnceTests {
    @Test(arguments: [false, true])
    func aReceiptRemovedByHandIsLookedUpByIdNotSentAgain(deletedInKingdee: Bool) async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let store = server.store
        let workspace = try CrashTests.Workspace("receipt-removed-\(deletedInKingdee ? "deleted" : "kept")")
        let numbers = try PayloadGenerator.write(count: 5, into: workspace.run.transform)
        try AfterSaveTests.writeManifest(numbers, into: workspace.run.transform)
        let env = CrashTests.environment(server)
        let first = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let removed = [numbers[1], numbers[3]]
        var ids: [String: String] = [:]
        for number in removed {
            ids[number] = try #require(workspace.run.receipt(number)?["kingdee"]?["Id"]?.scalarText)
            try FileSystem.remove(workspace.run.transform + "/\(number).receipt.json")
        }
        if deletedInKingdee { store.deleteBill(removed[0]) }
        let counts = store.requestCounts

        // The dry run names them as looked up in Kingdee first, not as a batch to send.
        let dry = try await FerryProcess.run(["load", "--workspace", workspace.root, "--dry-run"], environment: env)
        for number in removed {
            #expect(
                dry.stdout.contains("saved earlier as Id \(ids[number]!) (no receipt: looked up in Kingdee before anything is "
                    + "sent, its receipt written again if found, sent as new if not): \(number).json"), "\(dry.stdout)")
        }
        #expect(!dry.stdout.contains("batch 1:"), "\(dry.stdout)")
        #expect(store.requestCounts == counts, "a dry run asks nothing")

        let again = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        for number in removed {
            let said = "load: \(number) has no readable receipt, though B"
            #expect(again.stderr.contains(said), "\(again.stderr)")
            let receipt = try #require(workspace.run.receipt(number))
            if deletedInKingdee && number == removed[0] {
                #expect(again.stderr.contains(
                    "saved it in Kingdee (Id \(ids[number]!)): Kingdee does not find it (deleted there?); nothing recorded; "
                        + "its payload is sent as new"), "\(again.stderr)")
                #expect(receipt["how"]?.stringValue == "saved")
                #expect(receipt["kingdee"]?["Id"]?.scalarText != ids[number])
            } else {
                #expect(again.stderr.contains("saved it in Kingdee (Id \(ids[number]!)): Kingdee has it (Id \(ids[number]!)"),
                    "\(again.stderr)")
                #expect(receipt["how"]?.stringValue == "found by ExecuteBillQuery (its receipt was missing)")
                #expect(receipt["kingdee"]?["Id"]?.scalarText == ids[number])
            }
            #expect(receipt["kingdee"]?["Id"]?.scalarText == store.bill(number).map { String($0.id) })
            #expect(store.bill(number)?.saveCount == 1)
        }
        #expect(store.duplicateRejections.isEmpty, "\(store.duplicateRejections)")
        #expect(store.requestCounts["BatchSave"] == (counts["BatchSave"] ?? 0) + (deletedInKingdee ? 1 : 0), "\(store.requestCounts)")
        #expect(store.bills.count == 5)

        let status = try await FerryProcess.run(["status", "--workspace", workspace.root], environment: env)
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        #expect(status.stdout.contains("5 loaded, 0 failed, 0 in doubt, 0 pending, 0 changed"), "\(status.stdout)")
        // Settled: the next load sends and asks nothing.
        let settled = store.requestCounts
        let third = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(third.status == 0, "\(third.stdout)\(third.stderr)")
        #expect(store.requestCounts == settled, "\(store.requestCounts)")
    }

    /// With a numbering rule that replaces FBillNo, ExecuteBillQuery by FBillNo cannot find a bill: a
    /// receipt removed by hand must never lead to a second bill. A payload edited since its save shows as
    /// changed (the receipt written again records the SHA-256 Kingdee holds).
    @Test func aReceiptRemovedByHandNeverMakesASecondBillWhenKingdeeRenumbers() async throws {
        let server = try await KingdeeSandboxServer.start(configuration: .init(faults: .init(renumberBills: true)))
        defer { Task { await server.stop() } }
        let run = TestRun("renumbered-receipt-removed")
        let numbers = try PayloadGenerator.write(count: 4, into: run.transform)
        let first = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(batchSize: 2))
        #expect(first.loaded == 4 && server.store.bills.count == 4)
        let before = [numbers[0], numbers[2]].map { run.receipt($0)?["kingdee"] }
        for number in [numbers[0], numbers[2]] { try FileSystem.remove(run.transform + "/\(number).receipt.json") }
        try FileSystem.writeAtomically(
            JSONWriter().bytes(PayloadGenerator.payload(billNumber: numbers[2], quantity: "11")), to: run.transform + "/\(numbers[2]).json")

        let again = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(batchSize: 2))
        #expect(server.store.bills.count == 4, "no second bill")
        #expect(server.store.bills.allSatisfy { $0.saveCount == 1 })
        #expect(again.loaded == 0 && again.failedTotal == 0 && again.requests == 0)
        #expect(again.changed == [numbers[2]])
        for (number, kingdee) in zip([numbers[0], numbers[2]], before) {
            let receipt = try #require(run.receipt(number))
            #expect(receipt["kingdee"] == kingdee)
            #expect(receipt["kingdee"]?["Number"]?.stringValue?.hasPrefix("QTRK") == true)
            #expect(receipt["how"]?.stringValue == "found by ExecuteBillQuery (its receipt was missing)")
        }
        let third = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(batchSize: 2))
        #expect(server.store.bills.count == 4 && third.requests == 0)
    }
}

extension ExactlyOnceTests {
    /// A bill whose answer was lost and that ExecuteBillQuery found: the `reconciled` line records its Id
    /// (`bills`), so its receipt removed later is looked up by Id too, never sent again.
    @Test func aReceiptOfABillFoundAfterALostAnswerIsLookedUpByIdWhenRemoved() async throws {
        var faults = KingdeeSandboxFaults()
        faults.dropAfterCommitAt = [1]
        let server = try await KingdeeSandboxServer.start(configuration: .init(faults: faults))
        defer { Task { await server.stop() } }
        let run = TestRun("found-receipt-removed")
        let numbers = try PayloadGenerator.write(count: 2, into: run.transform)
        let first = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(batchSize: 2, concurrency: 1))
        #expect(first.inDoubtFound == 2 && server.store.bills.count == 2)
        #expect(run.receipt(numbers[0])?["how"]?.stringValue == "found by ExecuteBillQuery")
        let reconciled = try #require(run.journalEntries().last { $0["kind"]?.stringValue == "reconciled" })
        #expect(reconciled["bills"]?.arrayValue?.count == 2)
        let id = run.receipt(numbers[0])?["kingdee"]?["Id"]?.scalarText
        try FileSystem.remove(run.transform + "/\(numbers[0]).receipt.json")
        let saves = server.store.requestCounts["BatchSave"]
        let again = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(batchSize: 2, concurrency: 1))
        #expect(again.requests == 0 && server.store.requestCounts["BatchSave"] == saves)
        #expect(server.store.duplicateRejections.isEmpty)
        #expect(run.receipt(numbers[0])?["kingdee"]?["Id"]?.scalarText == id)
        #expect(run.receipt(numbers[0])?["how"]?.stringValue == "found by ExecuteBillQuery (its receipt was missing)")
    }
}
