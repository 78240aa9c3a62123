import FerryCore
import FerryKingdee
import FerryTestSupport
import Foundation
import KingdeeSandbox
import Testing

/// The progress lines of a load.
final class ProgressLines: @unchecked Sendable {
    private let lock = Mutex()
    private var lines: [String] = []

    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

/// Every sandbox fault, and what Ferry makes of it.
struct FaultTests {
    static func start(_ faults: KingdeeSandboxFaults) async throws -> KingdeeSandboxServer {
        try await KingdeeSandboxServer.start(configuration: .init(faults: faults))
    }

    /// All documents end with receipts, each bill is in Kingdee once, receipts carry Kingdee's ids.
    func expectAllLoadedOnce(_ run: TestRun, _ numbers: [String], _ server: KingdeeSandboxServer,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(server.store.bills.count == numbers.count, sourceLocation: sourceLocation)
        for number in numbers {
            let receipt = run.receipt(number)
            #expect(receipt != nil, "\(number) has no receipt", sourceLocation: sourceLocation)
            #expect(run.error(number) == nil, "\(number) has an error file", sourceLocation: sourceLocation)
            #expect(receipt?["kingdee"]?["Id"]?.scalarText == server.store.bill(number).map { String($0.id) },
                    sourceLocation: sourceLocation)
        }
    }

    @Test func latencyOnlySlowsDown() async throws {
        let server = try await Self.start(.init(latency: .milliseconds(30)))
        defer { Task { await server.stop() } }
        let run = TestRun("latency")
        let numbers = try PayloadGenerator.write(count: 10, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(summary.loaded == 10 && summary.requests == 2)
        expectAllLoadedOnce(run, numbers, server)
    }

    @Test func http500IsCheckedThenSentAgain() async throws {
        let server = try await Self.start(.init(http500Every: 2))
        defer { Task { await server.stop() } }
        let run = TestRun("http500")
        let numbers = try PayloadGenerator.write(count: 20, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(summary.inDoubtResent > 0)
        #expect(!summary.hasProblems)
        expectAllLoadedOnce(run, numbers, server)
        #expect(server.store.duplicateRejections.isEmpty)
    }

    @Test func aTrickledAnswerIsLostAndItsDocumentsAreCheckedNotSentAgain() async throws {
        // The first BatchSave saves its bills, then sends its head at once and its body one byte every 0.8 s:
        // no wait is as long as the 1 s timeout, yet the whole answer (hundreds of bytes) would take minutes.
        var faults = KingdeeSandboxFaults()
        faults.trickleAfterCommitAt = [1]
        faults.trickleInterval = .milliseconds(800)
        let server = try await Self.start(faults)
        defer { Task { await server.stop() } }
        let run = TestRun("trickle")
        let numbers = try PayloadGenerator.write(count: 3, into: run.transform)
        let started = Date()
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(timeout: 1))
        #expect(Date().timeIntervalSince(started) < 20, "the trickled answer held the load")
        #expect(server.store.faultsInjected["trickled_answer"] == 1)
        #expect(summary.inDoubtFound == 3 && !summary.hasProblems)
        #expect(server.store.requestCounts["BatchSave"] == 1, "nothing sent again")
        #expect((server.store.requestCounts["ExecuteBillQuery"] ?? 0) >= 1)
        expectAllLoadedOnce(run, numbers, server)
        for number in numbers {
            #expect(run.receipt(number)?["how"]?.stringValue == "found by ExecuteBillQuery")
            #expect(server.store.bill(number)?.saveCount == 1)
        }
    }

    @Test func aLostAnswerIsFoundByExecuteBillQuery() async throws {
        let server = try await Self.start(.init(dropAfterCommitEvery: 2))
        defer { Task { await server.stop() } }
        let run = TestRun("drop")
        let numbers = try PayloadGenerator.write(count: 20, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(summary.inDoubtFound > 0)
        #expect(!summary.hasProblems)
        expectAllLoadedOnce(run, numbers, server)
        #expect(server.store.duplicateRejections.isEmpty, "nothing committed was sent again")
        let found = numbers.compactMap { run.receipt($0) }.filter { $0["how"]?.stringValue == "found by ExecuteBillQuery" }
        #expect(found.count == summary.inDoubtFound)
        #expect(found.allSatisfy { $0["FDocumentStatus"]?.stringValue == "A" })
    }

    @Test(arguments: [KingdeeTargetConfig.AuthMode.signature, .password, .appsecret])
    func sessionLossLogsInAgain(_ auth: KingdeeTargetConfig.AuthMode) async throws {
        let server = try await Self.start(.init(sessionLossEvery: 3))
        defer { Task { await server.stop() } }
        let run = TestRun("session")
        let numbers = try PayloadGenerator.write(count: 20, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(auth: auth, concurrency: 1))
        #expect(!summary.hasProblems)
        expectAllLoadedOnce(run, numbers, server)
        let logins = (server.store.requestCounts["ValidateUser"] ?? 0) + (server.store.requestCounts["LoginByAppSecret"] ?? 0)
        if auth != .signature { #expect(logins > 1) }
    }

    @Test(arguments: [KingdeeTargetConfig.AuthMode.password, .appsecret])
    func aLostSessionIsNotReplacedByTheEmptyShellCookieOfItsAnswer(_ auth: KingdeeTargetConfig.AuthMode) async throws {
        // Kingdee's MsgCode 1 answer sets a new kdservice-sessionid with no session behind it: the client
        // must log in again instead of presenting that one.
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let client = try KingdeeClient(config: server.target(auth: auth))
        let query = { () async throws(KingdeeCallError) -> [KingdeeClient.ExistingBill] in
            try await client.existingBills(formID: "STK_MISCELLANEOUS", billNumbers: ["RK1"])
        }
        _ = try await query()
        server.store.expireAllSessions()  // the 20-minute session ran out
        do {
            _ = try await query()
        } catch {
            Issue.record("the call after the session expired failed: \(error)")
        }
        let logins = (server.store.requestCounts["ValidateUser"] ?? 0) + (server.store.requestCounts["LoginByAppSecret"] ?? 0)
        #expect(logins == 2)
        await client.close()
    }

    @Test(arguments: [KingdeeTargetConfig.AuthMode.signature, .password, .appsecret])
    func credentialsRevokedMidLoadStopItWithTheRestPending(_ auth: KingdeeTargetConfig.AuthMode) async throws {
        // Two batches are saved, then the integration user's authorisation is disabled: every call answers
        // MsgCode 1 and no login works any more. Retrying every remaining batch (a login or a signature
        // per try) cannot help: the load stops, and what was not sent stays pending, without error files.
        var faults = KingdeeSandboxFaults()
        faults.revokeCredentialsAtSave = 3
        let server = try await Self.start(faults)
        defer { Task { await server.stop() } }
        let run = TestRun("revoked-\(auth.rawValue)")
        let numbers = try PayloadGenerator.write(count: 20, into: run.transform)
        do {
            _ = try await LoadRunner.run(
                runDirectory: run.runDirectory, config: server.target(auth: auth, batchSize: 2, concurrency: 1, maxRetries: 5))
            Issue.record("the load went on after Kingdee stopped accepting its credentials")
        } catch {
            #expect(error.message.contains("stay pending"), "\(error.message)")
            if auth == .signature {
                #expect(error.message.contains("3 times in a row with MsgCode 1"), "\(error.message)")
            } else {
                #expect(error.message.contains("logging in to Kingdee failed"), "\(error.message)")
            }
        }
        #expect(server.store.bills.count == 4)
        #expect(numbers.filter { run.receipt($0) != nil }.count == 4)
        #expect(numbers.allSatisfy { run.error($0) == nil }, "nothing failed: the rest is pending")
        // Stopped within the first refused batch's retries, not after all of them for every batch.
        #expect((server.store.requestCounts["BatchSave"] ?? 0) <= 2 + 2 * LoadRunner.refusalsThatStopTheLoad)
        // The refused batch is settled in the journal: the next load does not ask Kingdee about it.
        let next = try LoadRunner.plan(runDirectory: run.runDirectory, config: server.target(auth: auth), options: LoadOptions())
        #expect(next.inDoubt.isEmpty && next.batches.flatMap(\.documents).count == 16)
    }

    @Test(arguments: [KingdeeTargetConfig.AuthMode.signature, .password, .appsecret])
    func anErrorPageRepeatingTheRequestHasItsSecretsHidden(_ auth: KingdeeTargetConfig.AuthMode) async throws {
        // The sandbox's HTTP 500 pages repeat the request: its session cookie, signatures and body. What
        // Ferry quotes of them (the progress line, the journal) shows `***` instead.
        var faults = KingdeeSandboxFaults(http500Every: 2)
        faults.echoRequests = true
        let server = try await Self.start(faults)
        defer { Task { await server.stop() } }
        let run = TestRun("echo-\(auth.rawValue)")
        let numbers = try PayloadGenerator.write(count: 8, into: run.transform)
        let lines = ProgressLines()
        _ = try await LoadRunner.run(
            runDirectory: run.runDirectory, config: server.target(auth: auth, batchSize: 2, concurrency: 1),
            progress: { lines.append($0) })
        expectAllLoadedOnce(run, numbers, server)
        let quoted = lines.all.filter { $0.contains("请求头：") }
        #expect(!quoted.isEmpty && quoted.allSatisfy { $0.contains("kdservice-sessionid: ***") || auth == .signature })
        let journal = try FileSystem.readText(LoadRunner.journalPath(run: run.runDirectory))
        let secrets = server.store.issuedSessionIDs + server.store.receivedSignatures + [server.configuration.appSecret]
        for secret in secrets {
            #expect(!lines.all.joined().contains(secret) && !journal.contains(secret), "\(secret) quoted")
        }
    }

    @Test(arguments: [KingdeeTargetConfig.AuthMode.password, .appsecret])
    func aRefusedLoginRepeatingTheRequestHasTheSecretHidden(_ auth: KingdeeTargetConfig.AuthMode) async throws {
        var faults = KingdeeSandboxFaults()
        faults.echoRequests = true
        let server = try await Self.start(faults)
        defer { Task { await server.stop() } }
        var config = server.target(auth: auth)
        config.password = "wrong/pass\"word+1"
        config.appSecret = "wrong/app\"secret+1"
        let client = try KingdeeClient(config: config)
        do {
            _ = try await client.executeBillQuery(formID: "STK_MISCELLANEOUS", fieldKeys: "FBillNo", filter: "")
            Issue.record("a wrong \(auth == .password ? "password" : "app secret") logged in")
        } catch {
            // The answer repeats the login's JSON body, so the secret is there escaped as JSON.
            #expect(error.description.contains("HTTP 500") && error.description.contains(":\"***\""), "\(error)")
            for secret in [config.password, config.appSecret] {
                let json = String(decoding: JSONWriter(style: .compact).bytes(.string(secret)).dropFirst().dropLast(), as: UTF8.self)
                #expect(!error.description.contains(secret) && !error.description.contains(json), "\(error)")
            }
        }
        await client.close()
    }

    @Test func callLimitIsRetriedWithBackoff() async throws {
        let server = try await Self.start(.init(callLimitEvery: 2))
        defer { Task { await server.stop() } }
        let run = TestRun("limit")
        let numbers = try PayloadGenerator.write(count: 20, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(!summary.hasProblems)
        #expect(summary.requests > 4)
        expectAllLoadedOnce(run, numbers, server)
    }

    @Test func aTimeoutPutsTheBatchInDoubt() async throws {
        let server = try await Self.start(.init(slowSaveEvery: 3, slowSaveDelay: .milliseconds(1800)))
        defer { Task { await server.stop() } }
        let run = TestRun("timeout")
        let numbers = try PayloadGenerator.write(count: 15, into: run.transform)
        let summary = try await LoadRunner.run(
            runDirectory: run.runDirectory, config: server.target(concurrency: 1, timeout: 1))
        try await Task.sleep(for: .milliseconds(1000))  // let the slow request finish on the server
        #expect(!summary.hasProblems)
        #expect(summary.inDoubtFound + summary.inDoubtResent > 0)
        expectAllLoadedOnce(run, numbers, server)
    }

    @Test func retriesRunOutThenAPlainRunLoadsTheRest() async throws {
        let server = try await Self.start(.init(http500Every: 1))
        defer { Task { await server.stop() } }
        let run = TestRun("exhausted")
        let numbers = try PayloadGenerator.write(count: 6, into: run.transform)
        let first = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(maxRetries: 2))
        #expect(first.failed[.retryable] == 6)
        let error = try #require(run.error(numbers[0]))
        #expect(error["class"]?.stringValue == "retryable")
        #expect(error["attempts"]?.scalarText == "3")
        #expect(error["errors"]?.arrayValue?.first?["message"]?.stringValue?.contains("HTTP 500") == true)
        server.updateFaults { $0.http500Every = 0 }
        let second = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(second.loaded == 6)
        #expect(!second.hasProblems)
        expectAllLoadedOnce(run, numbers, server)
    }

    @Test func everyFaultAtOnceConverges() async throws {
        let poison = PayloadGenerator.billNumber(17)
        let server = try await Self.start(.init(
            latency: .milliseconds(2), http500Every: 7, dropAfterCommitEvery: 5, sessionLossEvery: 11, callLimitEvery: 13,
            unattributedErrorBills: [poison]))
        defer { Task { await server.stop() } }
        let run = TestRun("allfaults")
        let numbers = try PayloadGenerator.write(count: 60, into: run.transform) { i, number in
            i == 33 ? PayloadGenerator.payload(billNumber: number, material: "NOPE") : nil
        }
        // Repeated runs converge: a run may exhaust its retries for a few documents; the next re-posts them.
        var last = LoadSummary()
        for _ in 0..<8 {
            last = try await LoadRunner.run(
                runDirectory: run.runDirectory, config: server.target(batchSize: 8, batchCount: 2, concurrency: 3))
            if last.failed[.retryable] == nil { break }
        }
        #expect(last.failed[.data] == 2)
        #expect(last.failed[.retryable] == nil)
        for number in numbers {
            #expect((run.receipt(number) == nil) != (run.error(number) == nil), "\(number)")
        }
        #expect(run.error(poison) != nil && run.error(numbers[32]) != nil)
        #expect(server.store.bills.count == 58)
        #expect(server.store.bills.allSatisfy { $0.saveCount == 1 })
    }

    @Test func aSuccessWhoseNumberDisagreesWithItsDIndexIsCheckedNotTrusted() async throws {
        let server = try await Self.start(.init(shiftSuccessDIndex: true))
        defer { Task { await server.stop() } }
        let run = TestRun("shifted")
        let numbers = try PayloadGenerator.write(count: 6, into: run.transform)
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(batchSize: 6))
        #expect(summary.loaded == 0)
        #expect(summary.inDoubtFound == 6)
        #expect(!summary.hasProblems)
        expectAllLoadedOnce(run, numbers, server)
    }

    @Test func aSuccessWithADIndexNoBatchHasIsCheckedNotTrusted() async throws {
        var faults = KingdeeSandboxFaults()
        faults.successDIndexOffset = Int.max - 2
        let server = try await Self.start(faults)
        defer { Task { await server.stop() } }
        let run = TestRun("absurd-dindex")
        let numbers = try PayloadGenerator.write(count: 6, into: run.transform)
        // Sub-batches (BatchCount) start past index 0: their start plus such a DIndex overflowed.
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target(batchSize: 6, batchCount: 2))
        #expect(summary.loaded == 0)
        #expect(summary.inDoubtFound == 6)
        expectAllLoadedOnce(run, numbers, server)
    }

    @Test func expiredSessionsAreRenewedByLoggingInAgain() async throws {
        let server = try await KingdeeSandboxServer.start(configuration: .init(
            sessionLifetime: .milliseconds(500), faults: .init(latency: .milliseconds(700))))
        defer { Task { await server.stop() } }
        let run = TestRun("expiry")
        let numbers = try PayloadGenerator.write(count: 6, into: run.transform)
        let summary = try await LoadRunner.run(
            runDirectory: run.runDirectory, config: server.target(auth: .password, batchSize: 3, concurrency: 1))
        #expect(!summary.hasProblems)
        #expect((server.store.requestCounts["ValidateUser"] ?? 0) >= 2)
        expectAllLoadedOnce(run, numbers, server)
    }
}
