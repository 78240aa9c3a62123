import FerryCore
import FerryKingdee
import FerryTestSupport
import Foundation
import KingdeeSandbox
import Testing

/// `LoadRunner` against the sandbox over real loopback HTTP.
struct LoadTests {
    /// Every document has exactly one of receipt / error file, and receipts agree with the sandbox.
    func expectSettled(_ run: TestRun, _ numbers: [String], _ server: KingdeeSandboxServer, sourceLocation: SourceLocation = #_sourceLocation) {
        for number in numbers {
            let receipt = run.receipt(number)
            let error = run.error(number)
            #expect((receipt == nil) != (error == nil), "\(number): receipt \(receipt != nil), error \(error != nil)", sourceLocation: sourceLocation)
            if let receipt {
                let bill = server.store.bill(number)
                #expect(bill != nil, "\(number) has a receipt but is not in Kingdee", sourceLocation: sourceLocation)
                #expect(receipt["kingdee"]?["Id"]?.scalarText == bill.map { String($0.id) }, sourceLocation: sourceLocation)
                #expect(receipt["kingdee"]?["Number"]?.scalarText == number, sourceLocation: sourceLocation)
            }
        }
        for bill in server.store.bills { #expect(bill.saveCount == 1, sourceLocation: sourceLocation) }
    }

    @Test(arguments: KingdeeTargetConfig.AuthMode.allCases)
    func loadsWithEachAuthMode(_ auth: KingdeeTargetConfig.AuthMode) async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("auth")
        let numbers = try PayloadGenerator.write(count: 7, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(auth: auth))
        #expect(summary.loaded == 7)
        #expect(!summary.hasProblems)
        expectSettled(run, numbers, server)
        let logins = server.store.requestCounts
        // The session is reused: signature mode opens one per request in flight at first, at most.
        #expect(server.store.issuedSessionIDs.count <= (auth == .signature ? 2 : 1))
        switch auth {
        case .signature: #expect(logins["ValidateUser"] == nil && logins["LoginByAppSecret"] == nil)
        case .appsecret: #expect(logins["LoginByAppSecret"] == 1)
        case .password: #expect(logins["ValidateUser"] == 1)
        }
        let receipt = try #require(run.receipt(numbers[0]))
        let bytes = try FileSystem.read(run.transform + "/\(numbers[0]).json")
        #expect(receipt["payload_sha256"]?.stringValue == Hashing.sha256Hex(bytes))
        #expect(receipt["batch"]?.stringValue?.hasPrefix("B") == true)
        #expect(receipt["loaded_at"] != nil)
        // Numbers keep their text all the way into Kingdee.
        let saved = try #require(server.store.bill(numbers[0]))
        #expect(saved.model["FEntity"]?.arrayValue?.first?["FPrice"] == .number("12.50"))
    }

    @Test func batchSaveBodySplicesTheModelsUnchanged() throws {
        let models: [[UInt8]] = [Array(#"{"FBillNo":"A","FQty":12.30}"#.utf8), Array(#"{"FBillNo":"B","FNOTE":"入库 \"x\""}"#.utf8)]
        var options = JSONObject()
        options.append("IsDeleteEntry", true)
        options.append("Model", "left over from the payload")
        let body = KingdeeClient.batchSaveBody(formID: "STK_MISCELLANEOUS", options: options, models: models, batchCount: 2)
        let expected: JSONValue = [
            "formid": "STK_MISCELLANEOUS",
            "data": [
                "IsDeleteEntry": true,
                "Model": [["FBillNo": "A", "FQty": .number("12.30")], ["FBillNo": "B", "FNOTE": "入库 \"x\""]],
                "BatchCount": 2,
            ],
        ]
        #expect(try JSONReader.parse(body) == expected)
        let bare = KingdeeClient.batchSaveBody(formID: "F", options: JSONObject(), models: [models[0]], batchCount: nil)
        #expect(String(decoding: bare, as: UTF8.self) == #"{"formid":"F","data":{"Model":[{"FBillNo":"A","FQty":12.30}]}}"#)
    }

    @Test func wrongCredentialsStopWithAClearMessage() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("badauth")
        try PayloadGenerator.write(count: 2, into: run.transform)
        var password = server.target(auth: .password)
        password.password = "pw-Secret-42"
        await #expect(throws: Diagnostic.self) {
            _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: password)
        }
        do {
            _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: password)
        } catch {
            #expect(error.message.contains("LoginResultType 0"))
            #expect(!error.message.contains("pw-Secret-42"))
        }
        var signature = server.target(auth: .signature)
        signature.appSecret = "not-the-secret"
        do {
            _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: signature)
            Issue.record("a wrong app secret must stop the load")
        } catch {
            #expect(error.message.contains("credentials"))
        }
        #expect(server.store.bills.isEmpty)
        // The unanswered batches are journalled; a good run reconciles them and loads everything once.
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(summary.loaded == 2)
    }

    @Test func aWrongAcctIDStopsTheLoadAsAConfigurationProblemNotAsALostAnswer() async throws {
        // Kingdee answers a signature for a 账套 it does not have with a non-200 "Fail to verify thirty
        // passport" before doing anything: nothing is in doubt, and the user must fix target.acct_id.
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("badacct")
        try PayloadGenerator.write(count: 2, into: run.transform)
        var config = server.target(auth: .signature)
        config.acctID = "no-such-acct"
        do {
            _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: config)
            Issue.record("a wrong acct id must stop the load")
        } catch {
            #expect(error.message.contains("target.acct_id"), "\(error.message)")
        }
        #expect(server.store.requestCounts["ExecuteBillQuery"] == nil, "a refusal is not a lost answer")
        #expect(server.store.bills.isEmpty)
    }

    @Test func splitsAPartialBatchIntoReceiptsAndErrors() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        // RK202601000009 already exists in Kingdee (made by someone else).
        try await server.createElsewhere(PayloadGenerator.billNumber(9))

        let run = TestRun("partial")
        let numbers = try PayloadGenerator.write(count: 10, into: run.transform) { i, number in
            switch i {
            case 2: return PayloadGenerator.payload(billNumber: number, material: "9.99.999")
            case 5: return PayloadGenerator.payload(billNumber: number, stock: "CK999")
            case 7: return PayloadGenerator.payload(billNumber: number, quantity: "0")
            default: return nil
            }
        }
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(batchSize: 10))
        #expect(summary.loaded == 6)
        #expect(summary.failed[.data] == 3)
        #expect(summary.failed[.duplicate] == 1)
        #expect(summary.hasProblems)
        expectSettled(run, numbers, server)
        let material = try #require(run.error(numbers[1]))
        #expect(material["class"]?.stringValue == "data")
        #expect(material["errors"]?.arrayValue?.first?["message"]?.stringValue
            == "单据编号为“\(numbers[1])”的其他入库单，第1行分录，物料编码“9.99.999”不存在")
        #expect(material["errors"]?.arrayValue?.first?["field"]?.stringValue == "FMATERIALID")
        #expect(material["hint"]?["zh"]?.stringValue?.contains("--retry-failed") == true)
        #expect(material["hint"]?["en"]?.stringValue?.contains("--retry-failed") == true)
        #expect(material["attempts"]?.scalarText == "1")
        #expect(run.error(numbers[4])?["errors"]?.arrayValue?.first?["field"]?.stringValue == "FSTOCKID")
        #expect(run.error(numbers[8])?["class"]?.stringValue == "duplicate")
        // A second plain run sends nothing: data errors wait for --retry-failed.
        let before = server.store.requestCounts["BatchSave"]
        let again = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(batchSize: 10))
        #expect(again.alreadyLoaded == 6)
        #expect(again.failedEarlier == 4)
        #expect(server.store.requestCounts["BatchSave"] == before)
    }

    @Test func mapsDIndexInsideBatchCountSubBatches() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("batchcount")
        let bad: Set<Int> = [1, 6, 12]
        let numbers = try PayloadGenerator.write(count: 12, into: run.transform) { i, number in
            bad.contains(i) ? PayloadGenerator.payload(billNumber: number, material: "X.\(i)") : nil
        }
        let summary = try await LoadRunner.run(
            runDirectory: run.runDirectory, config: server.target(batchSize: 12, batchCount: 3))
        #expect(summary.loaded == 9)
        #expect(summary.requests == 1)
        expectSettled(run, numbers, server)
        for i in bad {
            let error = try #require(run.error(numbers[i - 1]))
            #expect(error["errors"]?.arrayValue?.first?["message"]?.stringValue?.contains("X.\(i)") == true)
        }
    }

    @Test func bisectsAnErrorThatNamesNoDocument() async throws {
        let poison = PayloadGenerator.billNumber(6)
        let server = try await KingdeeSandboxServer.start(
            configuration: .init(faults: .init(unattributedErrorBills: [poison])))
        defer { Task { await server.stop() } }
        let run = TestRun("bisect")
        let numbers = try PayloadGenerator.write(count: 8, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(batchSize: 8))
        #expect(summary.loaded == 7)
        #expect(summary.failed[.data] == 1)
        expectSettled(run, numbers, server)
        let error = try #require(run.error(poison))
        #expect(error["errors"]?.arrayValue?.first?["message"]?.stringValue == "保存失败：对象引用未设置到对象的实例。")
        #expect(summary.requests > 2 && summary.requests <= 7)
    }

    @Test func bisectsAnErrorThatNamesNoDocumentAtDIndexZero() async throws {
        // Kingdee gives such an error DIndex 0 (an integer, 0 when no model is meant), not none: it is not
        // the first document's.
        let poison = PayloadGenerator.billNumber(6)
        var faults = KingdeeSandboxFaults(unattributedErrorBills: [poison])
        faults.wholeCallErrorsAtDIndexZero = true
        let server = try await KingdeeSandboxServer.start(configuration: .init(faults: faults))
        defer { Task { await server.stop() } }
        let run = TestRun("bisect-dindex0")
        let numbers = try PayloadGenerator.write(count: 8, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(batchSize: 8))
        #expect(summary.loaded == 7)
        #expect(summary.failed[.data] == 1)
        expectSettled(run, numbers, server)
        #expect(run.error(poison) != nil)
        #expect(run.error(numbers[0]) == nil, "the first document was blamed for an error that names no document")
    }

    @Test func retryFailedLoadsAfterMasterDataIsFixed() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("retry")
        let numbers = try PayloadGenerator.write(count: 4, into: run.transform) { i, number in
            i == 3 ? PayloadGenerator.payload(billNumber: number, material: "1.09.001") : nil
        }
        let first = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(first.failed[.data] == 1)
        server.updateMasterData { $0.materials.insert("1.09.001") }
        let plain = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(plain.failedEarlier == 1 && plain.loaded == 0)
        let retried = try await LoadRunner.run(
            runDirectory: run.runDirectory, config: server.target(), options: LoadOptions(retryFailed: true))
        #expect(retried.loaded == 1)
        #expect(!retried.hasProblems)
        expectSettled(run, numbers, server)
        #expect(run.error(numbers[2]) == nil)
        // The old error is kept in the journal.
        let superseded = run.journalEntries().filter { $0["kind"]?.stringValue == "superseded" }
        #expect(superseded.count == 1)
        let kept = try #require(superseded.first)
        #expect(kept["error"]?["errors"]?.arrayValue?.first?["message"]?.stringValue?.contains("1.09.001") == true)
    }

    @Test func aChangedPayloadIsReportedAndNotSent() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("changed")
        let numbers = try PayloadGenerator.write(count: 3, into: run.transform)
        _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        try FileSystem.writeAtomically(
            JSONWriter().bytes(PayloadGenerator.payload(billNumber: numbers[1], quantity: "11")),
            to: run.transform + "/\(numbers[1]).json")
        let before = server.store.requestCounts["BatchSave"]
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(summary.changed == [numbers[1]])
        #expect(summary.alreadyLoaded == 2)
        #expect(summary.hasProblems)
        #expect(server.store.requestCounts["BatchSave"] == before)
    }

    @Test func invalidPayloadsGetErrorFilesWithoutBeingSent() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("invalid")
        try PayloadGenerator.write(count: 2, into: run.transform)
        try FileSystem.writeAtomically("{\"formid\": \"STK_MISCELLANEOUS\", \"data\": {\"Model\": {\"FBillNo\": \"X1\", \"FEntity\": []}}}\n",
            to: run.transform + "/X1.json")
        try FileSystem.writeAtomically("{ not json", to: run.transform + "/X2.json")
        // Kingdee would answer with the number trimmed, which Ferry could not tell from another bill's.
        try FileSystem.writeAtomically(JSONWriter().bytes(PayloadGenerator.payload(billNumber: "X3 ")), to: run.transform + "/X3.json")
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(summary.loaded == 2)
        #expect(summary.failed[.data] == 3)
        #expect(run.error("X1")?["errors"]?.arrayValue?.first?["message"]?.stringValue?.contains("FEntity") == true)
        #expect(run.error("X2")?["source"]?.stringValue == "ferry")
        #expect(run.error("X3")?["errors"]?.arrayValue?.first?["message"]?.stringValue?.contains("trailing spaces") == true)
        #expect(server.store.bill("X1") == nil && server.store.bills.count == 2)
    }

    /// The load's bill-number check takes spaces as the transform's does (`Unicode.Scalar.isTrimmedSpace`,
    /// White_Space): a payload the transform wrote is never refused for a space the transform did not see,
    /// and a number ending in a full-width or no-break space is refused. Foundation's `.whitespacesAndNewlines`,
    /// the load's set before, also held U+200B (ZERO WIDTH SPACE, a format character, not White_Space), so the
    /// load refused "X\u{200B}", which the transform writes.
    @Test func aBillNumberIsRefusedForSpacesAroundItExactlyWhenTheTransformRefusesIt() throws {
        let run = TestRun("bill-spaces")
        func problem(_ number: String) throws -> String? {
            let path = run.transform + "/X.json"
            try FileSystem.writeAtomically(JSONWriter().bytes(PayloadGenerator.payload(billNumber: number)), to: path)
            do {
                let document = try PayloadDirectory.load(path)
                #expect(document.billNumber == number)
                return nil
            } catch {
                return error.message
            }
        }
        let spaced = ["X\u{3000}", "\u{3000}X", "X\u{A0}", "X ", "\tX", "X\n", "X\r\n", "X\u{85}", "X\u{2028}", "X\u{202F}"]
        for number in spaced {
            #expect(number.hasSpaceAtEitherEnd, "the transform refuses \(Array(number.unicodeScalars))")
            #expect(try problem(number)?.contains("has leading or trailing spaces") == true, "\(Array(number.unicodeScalars))")
        }
        for number in ["X\u{200B}", "\u{200B}X", "X \u{301}", "X\u{3000}Y", "RK001"] {
            #expect(!number.hasSpaceAtEitherEnd, "the transform writes \(Array(number.unicodeScalars))")
            #expect(try problem(number) == nil, "\(Array(number.unicodeScalars))")
        }
        // Only spaces is no number at all, whichever spaces they are.
        for number in ["", " ", "\u{3000}", "\n", "\r\n\t"] {
            #expect(try problem(number)?.contains("has no FBillNo") == true, "\(Array(number.unicodeScalars))")
        }
    }

    @Test func dryRunSendsAndWritesNothing() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("dry")
        try PayloadGenerator.write(count: 12, into: run.transform)
        try FileSystem.writeAtomically("{ broken", to: run.transform + "/BAD.json")
        let before = run.snapshot()
        let plan = try LoadRunner.plan(
            runDirectory: run.runDirectory, config: server.target(batchSize: 5), options: LoadOptions(isDryRun: true))
        #expect(plan.batches.map(\.documents.count) == [5, 5, 2])
        #expect(plan.invalid.count == 1)
        #expect(plan.invalid.first?.description.contains("BAD.json") == true)
        #expect(run.snapshot() == before)
        #expect(server.store.requestCounts.isEmpty)
    }
}

/// The startup check of batches an earlier process left in flight, made deterministic.
struct InDoubtTests {
    @Test func anUnsettledBatchIsCheckedBeforeAnythingIsSent() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        // Kingdee already has bills 1 and 2 (the earlier process's request was saved, its answer lost).
        let earlier = TestRun("earlier")
        try PayloadGenerator.write(count: 2, into: earlier.transform)
        _ = try await LoadRunner.run(runDirectory: earlier.runDirectory, config: server.target())

        let run = TestRun("indoubt")
        let numbers = try PayloadGenerator.write(count: 4, into: run.transform)
        let documents = try numbers.map { try PayloadDirectory.load(run.transform + "/\($0).json") }
        let journal = try LoadJournal(path: LoadRunner.journalPath(run: run.runDirectory))
        let batch = try journal.recordSent(formID: "STK_MISCELLANEOUS", attempt: 1, documents: Array(documents[0..<3]), reason: "new")
        // Bill 2 also has an old data error file (it was being re-posted with --retry-failed).
        try FileSystem.writeAtomically("{\"class\": \"data\", \"attempts\": 1}\n", to: run.transform + "/\(numbers[1]).error.json")

        let saves = server.store.requestCounts["BatchSave"] ?? 0
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(summary.inDoubtFound == 2)
        #expect(summary.inDoubtResent == 1)
        #expect(summary.loaded == 2)
        #expect(!summary.hasProblems)
        #expect(server.store.requestCounts["BatchSave"] == saves + 1, "only bills 3 and 4 are sent, in one batch")
        #expect(server.store.duplicateRejections.isEmpty)
        for number in numbers { #expect(run.receipt(number) != nil && run.error(number) == nil) }
        #expect(run.receipt(numbers[0])?["how"]?.stringValue == "found by ExecuteBillQuery")
        #expect(run.receipt(numbers[0])?["batch"]?.stringValue == batch)
        #expect(run.journalKinds().contains("reconciled"))
        #expect(run.journalKinds().contains("superseded"))
        // The journal is now settled: another run asks nothing.
        let queries = server.store.requestCounts["ExecuteBillQuery"]
        _ = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(server.store.requestCounts["ExecuteBillQuery"] == queries)
    }
}
