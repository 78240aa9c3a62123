import FerryCore
import FerryKingdee
import FerryTestSupport
import Foundation
import Testing

/// The journal file itself: what a later process reads back, and what a crash may leave behind.
@Suite struct LoadJournalTests {
    /// A run with `count` payloads, its journal path and the payload documents.
    func fixture(_ label: String, count: Int = 4) throws -> (run: TestRun, path: String, documents: [PayloadDocument]) {
        let run = TestRun(label)
        let numbers = try PayloadGenerator.write(count: count, into: run.transform)
        let documents = try numbers.map { try PayloadDirectory.load(run.transform + "/\($0).json") }
        return (run, LoadRunner.journalPath(run: run.runDirectory), documents)
    }

    @Test func onlyDocumentsWhoseSendGotNoAnswerWereInDoubtAlsoForALaterProcess() throws {
        let (_, path, documents) = try fixture("journal-doubt", count: 6)
        let journal = try LoadJournal(path: path)
        let kind = "STK_MISCELLANEOUS"
        // Answered: not in doubt, even if an error came back.
        let answered = try journal.recordSent(formID: kind, attempt: 1, documents: Array(documents[0..<2]), reason: "new")
        try journal.recordSettled(batch: answered, summary: ["failed": 1])
        // No answer, then checked: the documents checked were in doubt.
        let lost = try journal.recordSent(formID: kind, attempt: 1, documents: Array(documents[2..<4]), reason: "new")
        try journal.recordReconciled(batches: [lost], found: [documents[2].billNumber], missing: [documents[3].billNumber])
        // Renumbered by Kingdee, so not knowable: in doubt too.
        let renumbered = try journal.recordSent(formID: kind, attempt: 1, documents: [documents[4]], reason: "new")
        try journal.recordReconciled(batches: [renumbered], found: [], missing: [], unknowable: [documents[4].billNumber])
        // Sent, and the process died: in flight for this process, in doubt for the next.
        _ = try journal.recordSent(formID: kind, attempt: 1, documents: [documents[5]], reason: "new")
        #expect(documents.map { journal.wasInDoubt($0.name) } == [false, false, true, true, true, false])
        let later = try LoadJournal(path: path)
        #expect(documents.map { later.wasInDoubt($0.name) } == [false, false, true, true, true, true])
        #expect(later.lastSentSHA256(documents[3].name) == documents[3].sha256)
        #expect(later.lastSentSHA256("RK-never-sent") == nil)
    }

    /// `ferry status --document` reads every send of one payload back: batch, attempt, time, reason, and
    /// how the batch ended (answered, checked with ExecuteBillQuery, or not at all).
    @Test func everySendOfAPayloadIsReadBackWithHowItsBatchEnded() throws {
        let (_, path, documents) = try fixture("journal-sends", count: 3)
        let journal = try LoadJournal(path: path)
        let kind = "STK_MISCELLANEOUS"
        let lost = try journal.recordSent(formID: kind, attempt: 1, documents: Array(documents[0..<2]), reason: "new")
        try journal.recordReconciled(batches: [lost], found: [documents[1].billNumber], missing: [documents[0].billNumber])
        let retry = try journal.recordSent(formID: kind, attempt: 2, documents: [documents[0]], reason: "retry")
        try journal.recordSettled(batch: retry, summary: ["saved": 0, "failed": 1])
        let hanging = try journal.recordSent(formID: kind, attempt: 1, documents: [documents[2]], reason: "new")

        let later = try LoadJournal(path: path)
        let first = later.sends(of: documents[0].name)
        #expect(first.map(\.batch) == [lost, retry])
        #expect(first.map(\.attempt) == [1, 2] && first.map(\.reason) == ["new", "retry"])
        #expect(first.allSatisfy { $0.kind == "sent" && $0.at?.hasPrefix("20") == true })
        #expect(first[0].settlement?.kind == "reconciled")
        #expect(first[0].settlement?.summary == "checked with ExecuteBillQuery: not in Kingdee (sent again)")
        #expect(first[1].settlement?.kind == "settled" && first[1].settlement?.summary == "batch saved 0, failed 1")
        #expect(later.sends(of: documents[1].name).first?.settlement?.summary == "checked with ExecuteBillQuery: found in Kingdee (not sent again)")
        let unsettled = later.sends(of: documents[2].name)
        #expect(unsettled.map(\.batch) == [hanging] && unsettled.first?.settlement == nil)
        #expect(later.sends(of: "RK-never-sent").isEmpty)
    }

    /// `ferry status --document` reads a document's replaced error files back from the `superseded` lines:
    /// when, the class, the step and Kingdee's messages, oldest first, for this process and a later one.
    @Test func replacedErrorFilesAreReadBackAsEarlierFailures() throws {
        let (_, path, documents) = try fixture("journal-superseded", count: 2)
        let journal = try LoadJournal(path: path)
        let name = documents[0].name
        try journal.recordSuperseded(
            name: name,
            previousError: [
                "class": "data", "source": "kingdee", "attempts": 1, "batch": "B000001", "failed_at": "2026-01-05T10:00:00Z",
                "errors": [["field": "FSTOCKID", "message": "仓库编码“WH005”不存在", "DIndex": 0]],
                "hint": ["zh": "…", "en": "…"],
            ])
        try journal.recordSuperseded(
            name: name,
            previousError: [
                "class": "retryable", "step": "audit", "failed_at": "2026-01-05T11:00:00Z",
                "errors": [["field": .null, "message": "busy"]],
            ])
        for reader in [journal, try LoadJournal(path: path)] {
            let failures = reader.supersededErrors(of: name)
            #expect(failures.map(\.errorClass) == ["data", "retryable"] && failures.map(\.step) == [nil, "audit"])
            let first = try #require(failures.first)
            #expect(first.at != nil && first.failedAt == "2026-01-05T10:00:00Z" && first.batch == "B000001" && first.attempts == 1)
            #expect(first.source == "kingdee")
            #expect(first.messages.map { [$0.field, $0.dIndex, $0.text] } == [["FSTOCKID", "0", "仓库编码“WH005”不存在"]])
            #expect(reader.supersededErrors(of: documents[1].name).isEmpty)
        }
    }

    @Test func anInheritedBatchIsInDoubtUntilReconciledAndTakenOverOnlyOnce() throws {
        let (_, theirPath, documents) = try fixture("journal-theirs", count: 2)
        _ = try LoadJournal(path: theirPath).recordSent(formID: "STK_MISCELLANEOUS", attempt: 1, documents: documents, reason: "new")
        let theirs = try LoadJournal(path: theirPath).unsettled
        let path = TestRun("journal-ours").runDirectory + "/load/journal.jsonl"
        let batch = try LoadJournal(path: path).recordInherited(
            fromRun: "R1", batch: theirs[0].batch, formID: theirs[0].formID, documents: theirs[0].documents)
        let reopened = try LoadJournal(path: path)
        #expect(reopened.unsettled.map(\.batch) == [batch])
        #expect(reopened.unsettled.first?.documents.map(\.name) == documents.map(\.name))
        #expect(reopened.hasInherited(fromRun: "R1", batch: theirs[0].batch))
        #expect(!reopened.hasInherited(fromRun: "R2", batch: theirs[0].batch))
        #expect(documents.allSatisfy { reopened.wasInDoubt($0.name) })
        #expect(reopened.lastSentSHA256(documents[0].name) == documents[0].sha256)
        try reopened.recordReconciled(batches: [batch], found: documents.map(\.billNumber), missing: [])
        let settled = try LoadJournal(path: path)
        #expect(settled.unsettled.isEmpty && settled.hasInherited(fromRun: "R1", batch: theirs[0].batch))
    }

    @Test func eachDocumentsOrganisationIsReadBackAndTakenOverWithItsBatch() throws {
        let (_, theirPath, documents) = try fixture("journal-org", count: 2)
        let bare = try PayloadDirectory.load(documents[1].path, organizationField: "")
        _ = try LoadJournal(path: theirPath).recordSent(
            formID: "STK_MISCELLANEOUS", attempt: 1, documents: [documents[0], bare], reason: "new")
        let theirs = try LoadJournal(path: theirPath).unsettled
        let sent = LoadJournal.Organization(field: "FStockOrgId", number: "100")
        #expect(theirs.first?.documents.map(\.organization) == [sent, nil], "none asked for, none recorded")
        #expect(sent.number(ifField: "fstockorgid") == "100" && sent.number(ifField: "FOwnerIdHead") == nil)
        #expect(sent.number(ifField: "") == nil)
        let path = TestRun("journal-org-ours").runDirectory + "/load/journal.jsonl"
        try LoadJournal(path: path).recordInherited(
            fromRun: "R1", batch: theirs[0].batch, formID: theirs[0].formID, documents: theirs[0].documents)
        #expect(try LoadJournal(path: path).unsettled.first?.documents.map(\.organization) == [sent, nil])
        let line = try FileSystem.readText(path)
        #expect(line.contains(#""payload_sha256":"\#(documents[0].sha256)","org_field":"FStockOrgId","org_number":"100"}"#))
    }

    @Test func aLaterProcessSeesTheBatchesNeverSettled() throws {
        let (run, path, documents) = try fixture("journal-reopen")
        let journal = try LoadJournal(path: path)
        let first = try journal.recordSent(formID: "STK_MISCELLANEOUS", attempt: 1, documents: Array(documents[0..<2]), reason: "new")
        let second = try journal.recordSent(formID: "STK_MISCELLANEOUS", attempt: 1, documents: Array(documents[2..<4]), reason: "new")
        try journal.recordSettled(batch: first, summary: ["outcome": "saved"])
        #expect(first == "B000001" && second == "B000002")

        let later = try LoadJournal(path: path)
        #expect(later.unsettled.map(\.batch) == [second])
        #expect(later.unsettled.first?.documents.map(\.name) == documents[2..<4].map(\.name))
        #expect(later.unsettled.first?.documents.map(\.sha256) == documents[2..<4].map(\.sha256))
        #expect(later.lastSentSHA256(documents[0].name) == documents[0].sha256 && later.lastSentSHA256("RK-not-sent") == nil)
        // Sequence numbers go on from the file, so batch ids never repeat across processes.
        #expect(try later.recordSent(formID: "STK_MISCELLANEOUS", attempt: 2, documents: [documents[0]], reason: "retry") == "B000004")
        try later.recordReconciled(batches: [second], found: [], missing: [])
        #expect(try LoadJournal(path: path).unsettled.map(\.batch) == ["B000004"])
        #expect(run.journalKinds() == ["sent", "sent", "settled", "sent", "reconciled"])
        #expect(run.journalEntries().map { $0["seq"]?.scalarText } == ["1", "2", "3", "4", "5"])
        // No secret or payload body goes into the journal: names, bill numbers and hashes only.
        let text = try FileSystem.readText(path)
        #expect(!text.contains("FEntity") && !text.contains("password"))
    }

    @Test func readingARunWithoutAJournalCreatesNothing() throws {
        let (run, path, _) = try fixture("journal-none", count: 1)
        #expect(try LoadJournal(path: path).unsettled.isEmpty)
        #expect(!FileSystem.exists(path))
        #expect(!FileSystem.exists(run.runDirectory + "/load"))
    }

    @Test(arguments: ["{\"seq\":3,\"kind\":\"sent\",\"batch\":\"B0000", "\0\0\0\0\n", "{\"seq\":3,\"kind\"\n"])
    func aTornLastLineIsIgnoredAndCutOffBeforeTheNextWrite(tail: String) throws {
        let (run, path, documents) = try fixture("journal-torn")
        let journal = try LoadJournal(path: path)
        let batch = try journal.recordSent(formID: "STK_MISCELLANEOUS", attempt: 1, documents: Array(documents[0..<2]), reason: "new")
        let intact = try FileSystem.read(path)
        // The crash: a line only partly on disk (no newline, zeros, or cut inside).
        try FileSystem.writeAtomically(intact + Array(tail.utf8), to: path)

        let later = try LoadJournal(path: path)
        #expect(later.unsettled.map(\.batch) == [batch])
        #expect(try FileSystem.read(path).count > intact.count, "reading changes nothing")
        try later.recordSettled(batch: batch, summary: ["outcome": "saved"])
        let repaired = try FileSystem.read(path)
        #expect(Array(repaired.prefix(intact.count)) == intact)
        #expect(AppendOnlyFile.lines(of: repaired).count == 2)
        #expect(run.journalKinds() == ["sent", "settled"])
        #expect(try LoadJournal(path: path).unsettled.isEmpty)
    }

    @Test func anUnreadableLineBeforeTheLastIsAnErrorNamingIt() throws {
        let (_, path, documents) = try fixture("journal-bad")
        let journal = try LoadJournal(path: path)
        _ = try journal.recordSent(formID: "STK_MISCELLANEOUS", attempt: 1, documents: [documents[0]], reason: "new")
        let bytes = try FileSystem.read(path)
        try FileSystem.writeAtomically(bytes + Array("{edited by hand\n".utf8) + bytes, to: path)
        let error = #expect(throws: Diagnostic.self) { try LoadJournal(path: path) }
        #expect(error?.file == path)
        #expect(error?.line == 2)
        #expect(error?.description.contains("must not be edited") == true)
    }
}

extension LoadJournalTests {
    /// `settled` and `reconciled` lines name the bills saved (`bills`); lines of an older Ferry, without
    /// them, still load and show none.
    @Test func settledAndReconciledLinesRecordTheBillsSaved() throws {
        let directory = TestSupport.makeTemporaryDirectory("ferry-journal-bills")
        let path = directory + "/journal.jsonl"
        let lines = [
            #"{"seq":1,"kind":"sent","batch":"B000001","formid":"STK_MISCELLANEOUS","documents":[{"payload":"a","FBillNo":"A1","payload_sha256":"s1"},{"payload":"b","FBillNo":"B1","payload_sha256":"s2"}]}"#,
            #"{"seq":2,"kind":"settled","batch":"B000001","saved":2,"failed":0}"#,
            #"{"seq":3,"kind":"sent","batch":"B000003","formid":"STK_MISCELLANEOUS","documents":[{"payload":"c","FBillNo":"C1","payload_sha256":"s3"}]}"#,
            #"{"seq":4,"kind":"reconciled","batches":["B000003"],"found":["C1"],"missing":[],"bills":[{"payload":"c","batch":"B000003","kingdee_id":"7","kingdee_number":"C1"}]}"#,
        ]
        try FileSystem.writeAtomically(lines.joined(separator: "\n") + "\n", to: path)
        let journal = try LoadJournal(path: path)
        #expect(journal.savedBills.keys.sorted() == ["c"], "an old settled line records no bills")
        let c = try #require(journal.savedBills["c"])
        #expect(c.billID == "7" && c.batch == "B000003" && c.formID == "STK_MISCELLANEOUS" && c.sha256 == "s3" && c.billNumber == "C1")
        try journal.recordSettled(batch: "B000001", summary: ["saved": 1], saved: [("a", "B000001", "9", "QTRK9")])
        let reread = try LoadJournal(path: path)
        let a = try #require(reread.savedBills["a"])
        #expect(a.billID == "9" && a.kingdeeNumber == "QTRK9" && a.billNumber == "A1" && a.sha256 == "s1")
    }
}
