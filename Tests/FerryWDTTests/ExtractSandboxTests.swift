import FerryCore
import FerryTestSupport
import Foundation
import Testing
import WDTSandbox

@testable import FerryWDT

struct ExtractSandboxTests {
    func extract(
        _ server: WDTSandboxServer, config: WDTSourceConfig, directory: String, since: WDTTime? = Harness.since,
        until: WDTTime? = Harness.until, lines: Harness.Lines = Harness.Lines()
    ) async throws -> ExtractSummary {
        try await WDTExtractor(config: config, progress: { lines.append($0) }).run(
            ExtractRequest(
                runID: "20261129T000000Z", extractDirectory: directory + "/runs/r/extract",
                statePath: directory + "/state.json", since: since, until: until))
    }

    @Test(arguments: WDTTransport.allCases)
    func everyFaultOnNinetyDaysFetchesEveryOrder(_ transport: WDTTransport) async throws {
        var faults = WDTSandboxFaults.all
        faults.modifyBetweenPages = .every(13)
        faults.banSeconds = 0  // bans are waited out in `announcedBansAreWaitedOut`; here they would only slow it down
        let server = try await WDTSandboxServer.start(
            configuration: WDTSandboxConfiguration(orderCount: 600, faults: faults))
        defer { Task { await server.stop() } }
        let dir = TestSupport.makeTemporaryDirectory("wdt-faults")
        let lines = Harness.Lines()
        let summary = try await extract(server, config: Harness.config(server, transport: transport), directory: dir, lines: lines)
        #expect(summary.isComplete, "\(lines.all.suffix(20).joined(separator: "\n"))")
        #expect(summary.retries > 0)
        let counters = server.counters
        #expect(counters.frequencyLimitFaults > 0 && counters.serverErrorFaults > 0 && counters.modifications > 0)
        let expected = server.stockinNumbers(start: Harness.since, end: Harness.until)
        #expect(expected.count > 300)
        let extracted = try Harness.extractedStockinNumbers(dir + "/runs/r/extract")
        #expect(extracted == expected, "missing: \(expected.subtracting(extracted).sorted().prefix(5))")
        let manifest = try ExtractManifest.load(dir + "/runs/r/extract/manifest.json")
        Harness.expectWindowsTile(manifest, start: Harness.since, end: Harness.until)
        #expect(manifest.windows.count == 3)
        #expect(manifest.isComplete)
        #expect(try ExtractCursor.load(dir + "/state.json")?.cursor == Harness.until)
        #expect(lines.all.contains { $0.contains("reading the window again") })
        #expect(lines.all.contains { $0.contains("reading once more to confirm it") })
        let secret = server.configuration.credentials.appSecret
        #expect(TestSupport.filesContaining(secret, under: dir).isEmpty)
        #expect(!lines.all.joined().contains(secret))
    }

    @Test func announcedBansAreWaitedOut() async throws {
        // An HTTP 429 with Retry-After: 1, and the Qimen gateway's "This ban will last for 1 more seconds"
        // (every second frequency-limit answer). The retry delay alone (5 ms) would come back far too soon.
        let faults = WDTSandboxFaults(frequencyLimit: .every(3), tooManyRequests: .once(at: 2), banSeconds: 1)
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 40, faults: faults))
        defer { Task { await server.stop() } }
        let dir = TestSupport.makeTemporaryDirectory("wdt-bans")
        let lines = Harness.Lines()
        let summary = try await extract(server, config: Harness.config(server, pageSize: 5), directory: dir, lines: lines)
        #expect(summary.isComplete, "\(lines.all.suffix(10).joined(separator: "\n"))")
        let counters = server.counters
        #expect(counters.tooManyRequestsFaults == 1)
        #expect(counters.frequencyLimitFaults >= 2, "at least one in the gateway's shape")
        #expect(counters.banViolations == 0, "\(lines.all.filter { $0.contains("retry") }.joined(separator: "\n"))")
        #expect(lines.all.contains { $0.contains("HTTP 429") && $0.contains("the server asked to wait 1 s") })
        #expect(lines.all.contains { $0.contains("ban will last for 1 more seconds") && $0.contains("the server asked to wait 1 s") })
    }

    @Test func oversizedWindowsAreSplitAndStillComplete() async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 300))
        defer { Task { await server.stop() } }
        let dir = TestSupport.makeTemporaryDirectory("wdt-split")
        var config = Harness.config(server, pageSize: 50)
        config.maxWindowDocuments = 40
        let summary = try await extract(server, config: config, directory: dir)
        #expect(summary.isComplete)
        let manifest = try ExtractManifest.load(dir + "/runs/r/extract/manifest.json")
        #expect(manifest.windows.contains { $0.verdict == .split })
        #expect(manifest.windows.filter { $0.verdict == .complete }.allSatisfy { ($0.totalCount ?? 0) <= 40 })
        Harness.expectWindowsTile(manifest, start: Harness.since, end: Harness.until)
        #expect(try Harness.extractedStockinNumbers(dir + "/runs/r/extract") == server.stockinNumbers(start: Harness.since, end: Harness.until))
    }

    @Test func windowThatNeverSettlesIsIncompleteAndTheCursorStaysBehindIt() async throws {
        // An order is edited before every page request after the first: no pass can be consistent.
        let server = try await WDTSandboxServer.start(
            configuration: WDTSandboxConfiguration(orderCount: 300, faults: WDTSandboxFaults(modifyBetweenPages: .every(2))))
        defer { Task { await server.stop() } }
        let dir = TestSupport.makeTemporaryDirectory("wdt-unsettled")
        var config = Harness.config(server)
        config.maxWindowAttempts = 2
        let summary = try await extract(server, config: config, directory: dir)
        #expect(!summary.isComplete)
        #expect(summary.incompleteWindows > 0)
        let manifest = try ExtractManifest.load(dir + "/runs/r/extract/manifest.json")
        let firstIncomplete = try #require(manifest.windows.first { $0.verdict == .incomplete })
        #expect(firstIncomplete.reason?.contains("not consistent after 2 passes") == true)
        let cursor = try ExtractCursor.load(dir + "/state.json")?.cursor
        if let cursor { #expect(cursor < firstIncomplete.start) }

        // Once edits stop, resuming the same run completes it and the cursor reaches the end.
        server.setFaults(WDTSandboxFaults())
        let resumed = try await extract(server, config: config, directory: dir, since: nil, until: nil)
        #expect(resumed.isComplete)
        #expect(resumed.skippedWindows == manifest.windows.filter { $0.verdict == .complete }.count)
        #expect(try ExtractCursor.load(dir + "/state.json")?.cursor == Harness.until)
        #expect(try Harness.extractedStockinNumbers(dir + "/runs/r/extract") == server.stockinNumbers(start: Harness.since, end: Harness.until))
    }

    @Test func wrongSecretFailsFastNamingTheCauseWithoutTheSecretOrSign() async throws {
        for transport in WDTTransport.allCases {
            let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 20))
            defer { Task { await server.stop() } }
            let dir = TestSupport.makeTemporaryDirectory("wdt-badsign")
            let wrong = "definitely-wrong-secret"
            do {
                _ = try await extract(server, config: Harness.config(server, transport: transport, secret: wrong), directory: dir)
                Issue.record("expected a signature failure")
            } catch let diagnostic as Diagnostic {
                #expect(diagnostic.message.contains("signature"))
                #expect(diagnostic.message.contains("source.app_secret"))
                #expect(!diagnostic.message.contains(wrong))
            }
            #expect(server.counters.requests == 1, "a signature error is not retried")
            #expect(server.counters.signatureFailures == 1)
            #expect(!FileSystem.exists(dir + "/state.json"))
        }
    }

    /// Through a proxy that refuses, the network error names the proxy (password hidden) besides the server.
    @Test func aConnectionThroughAProxyNamesTheProxy() async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 20))
        let closed = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 1))
        let proxyPort = URLComponents(string: closed.qimenURL)!.port!
        await closed.stop()
        defer { Task { await server.stop() } }
        var config = Harness.config(server)
        config.url = "http://wdt.example.com/router/qm"
        let client = try WDTClient(config: config, environment: ["http_proxy": "http://user:PROXYPASS@127.0.0.1:\(proxyPort)"])
        do {
            _ = try await client.fetchPage(start: Harness.since, end: Harness.since.adding(seconds: 86400), pageNo: 0)
            Issue.record("a request through a closed proxy succeeded")
        } catch {
            #expect(error.kind == .network, "\(error)")
            #expect(error.message.contains("through the proxy http://user:***@127.0.0.1:\(proxyPort) from http_proxy: check the proxy too"), "\(error)")
            #expect(!error.description.contains("PROXYPASS"))
        }
    }

    @Test func windowWiderThanThirtyDaysIsRefusedBySandbox() async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 20))
        defer { Task { await server.stop() } }
        let client = try WDTClient(config: Harness.config(server))
        do {
            _ = try await client.fetchPage(start: Harness.since, end: Harness.since.adding(seconds: 30 * 86400 + 1), pageNo: 0)
            Issue.record("expected a parameter error")
        } catch {
            #expect(error.kind == .parameter)
            #expect(error.message.contains("30天"))
        }
    }

    @Test func clockSkewOverAMinuteIsWarnedOnce() async throws {
        let server = try await WDTSandboxServer.start(
            configuration: WDTSandboxConfiguration(orderCount: 20, faults: WDTSandboxFaults(clockOffsetSeconds: 90)))
        defer { Task { await server.stop() } }
        let lines = Harness.Lines()
        let client = try WDTClient(config: Harness.config(server), log: { lines.append($0) })
        for _ in 0..<2 {
            _ = try await client.fetchPage(start: Harness.since, end: Harness.since.adding(seconds: 86400), pageNo: 0)
        }
        #expect(lines.all.filter { $0.contains("clock") }.count == 1)
        #expect(lines.all.first?.contains("behind") == true)
    }

    @Test func tokenBucketKeepsTheConfiguredRate() async throws {
        let server = try await WDTSandboxServer.start(
            configuration: WDTSandboxConfiguration(orderCount: 20, rateLimit: 5, rejectOverRate: true))
        defer { Task { await server.stop() } }
        let client = try WDTClient(config: Harness.config(server, rate: 5))
        let clock = ContinuousClock()
        let started = clock.now
        // Concurrent callers share the one bucket: they are spaced, not bunched.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<7 {
                group.addTask {
                    _ = try await client.fetchPage(start: Harness.since, end: Harness.since.adding(seconds: 86400), pageNo: 0)
                }
            }
            try await group.waitForAll()
        }
        let elapsed = clock.now - started
        #expect(server.counters.rateViolations == 0)
        #expect(client.retryCount == 0)
        #expect(elapsed >= .milliseconds(1150), "7 requests at 5/s take at least 1.2 s")

        // The sandbox does notice a client that goes faster.
        var fastConfig = Harness.config(server, rate: 1000)
        fastConfig.maxRetries = 0
        let fast = try WDTClient(config: fastConfig)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    _ = try? await fast.fetchPage(start: Harness.since, end: Harness.since.adding(seconds: 86400), pageNo: 0)
                }
            }
        }
        #expect(server.counters.rateViolations > 0)
    }
}

struct SandboxBehaviourTests {
    @Test func dataSetCoversEveryOrderTypeAndStatusWithRealisticLines() throws {
        let dataset = WDTDataset(seed: 7, orderCount: 200, periodStart: Harness.since, periodDays: 90)
        let all = dataset.orders(
            matching: WDTOrderFilter(start: Harness.since, end: Harness.until, statuses: Set(WDTDataset.statuses)))
        #expect(all.count == 200)
        let types = Set(all.compactMap { $0["order_type"]?.scalarText })
        #expect(types == Set(WDTDataset.orderTypes.map { String($0.code) }))
        #expect(Set(all.compactMap { $0["status"]?.scalarText }) == Set(WDTDataset.statuses.map(String.init)))
        #expect(all.allSatisfy { $0["order_type_name"]?.stringValue?.isEmpty == false })
        let lines = all.flatMap { $0["details_list"]?.arrayValue ?? [] }
        #expect(all.allSatisfy { (1...20).contains($0["details_list"]?.arrayValue?.count ?? 0) })
        #expect(lines.contains { $0["goods_count"]?.scalarText == "0.0000" })
        #expect(lines.contains { $0["batch_no"]?.stringValue == "" })
        #expect(lines.contains { ($0["batch_no"]?.stringValue ?? "").hasPrefix("PC") })
        #expect(lines.allSatisfy { ($0["cost_price"]?.stringValue ?? "").split(separator: ".").last?.count == 4 })
        #expect(all.contains { if case .string = $0["status"] { return true } else { return false } })
        #expect(all.contains { if case .number = $0["status"] { return true } else { return false } })
        // Same seed, same bytes.
        let again = WDTDataset(seed: 7, orderCount: 200, periodStart: Harness.since, periodDays: 90)
        #expect(
            again.orders(matching: WDTOrderFilter(start: Harness.since, end: Harness.until, statuses: Set(WDTDataset.statuses)))
                == all)
    }

    @Test func aQueryByStatusWithoutOrderTypesIsRefusedAsWDTDocumentsIt() async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 50))
        defer { Task { await server.stop() } }
        let dir = TestSupport.makeTemporaryDirectory("wdt-status-alone")
        var config = Harness.config(server)
        config.fixedParameters = ["status": "80"]
        config.maxRetries = 0
        let request = ExtractRequest(
            runID: "r", extractDirectory: dir + "/extract", statePath: dir + "/state.json", since: Harness.since, until: Harness.until)
        do {
            let summary = try await WDTExtractor(config: config).run(request)
            Issue.record("expected the extract to stop, got \(summary)")
        } catch {
            #expect("\(error)".contains("按照状态查询时必须传原单据类别"), "\(error)")
        }
    }

    @Test func statusAndOrderTypeFiltersAreHonoured() async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 300))
        defer { Task { await server.stop() } }
        let dir = TestSupport.makeTemporaryDirectory("wdt-filters")
        var config = Harness.config(server, transport: .openAPI)
        config.fixedParameters = ["status": "60,80", "order_type": "1,6"]
        let summary = try await WDTExtractor(config: config).run(
            ExtractRequest(
                runID: "r", extractDirectory: dir + "/extract", statePath: dir + "/state.json", since: Harness.since,
                until: Harness.until))
        #expect(summary.isComplete)
        let expected = server.dataset.stockinNumbers(
            matching: WDTOrderFilter(start: Harness.since, end: Harness.until, statuses: [60, 80], orderTypes: [1, 6]))
        #expect(!expected.isEmpty)
        #expect(try Harness.extractedStockinNumbers(dir + "/extract") == expected)
        let manifest = try ExtractManifest.load(dir + "/extract/manifest.json")
        #expect(manifest.windows.allSatisfy { $0.request["order_type"] == "1,6" && $0.request["status"] == "60,80" })
    }

    @Test func repeatedRowsAreKeptAndFlagged() async throws {
        let server = try await WDTSandboxServer.start(
            configuration: WDTSandboxConfiguration(orderCount: 200, faults: WDTSandboxFaults(duplicateRows: .every(3))))
        defer { Task { await server.stop() } }
        let dir = TestSupport.makeTemporaryDirectory("wdt-dups")
        let summary = try await WDTExtractor(config: Harness.config(server)).run(
            ExtractRequest(
                runID: "r", extractDirectory: dir + "/extract", statePath: dir + "/state.json", since: Harness.since,
                until: Harness.until))
        #expect(summary.isComplete)
        let manifest = try ExtractManifest.load(dir + "/extract/manifest.json")
        let flagged = manifest.windows.flatMap(\.duplicates)
        // Page 0 is read twice per pass (first for the total, last to close the pass): a repeat in the first
        // read is replaced by the second, so at most as many are flagged as were served.
        #expect(!flagged.isEmpty && flagged.count <= server.counters.duplicatedRows)
        #expect(manifest.windows.allSatisfy { $0.received == $0.distinct + $0.duplicates.count })
        let text = try FileSystem.readText(dir + "/extract/manifest.json")
        #expect(text.contains("\"duplicates\": [\n"))
    }

    @Test func anOrderModifiedBetweenWindowsIsListedAcrossWindowsAlsoWhenResumed() async throws {
        let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 300))
        defer { Task { await server.stop() } }
        let windows = WindowPlanner.windows(from: Harness.since, to: Harness.until, maxDays: 30)
        #expect(windows.count == 3)
        // An order of the first window is edited while the second is being read: it moves into the second.
        let moved = try #require(server.stockinNumbers(start: windows[0].start, end: windows[0].end).min())
        let dataset = server.dataset
        let lines = Harness.Lines()
        let extractor = WDTExtractor(config: Harness.config(server)) { line in
            lines.append(line)
            if line.hasPrefix("window \(windows[1]): total_count") && !lines.all.contains(where: { $0.hasPrefix("moved") }) {
                dataset.modify(moved, at: windows[1].start.adding(seconds: 3600))
                lines.append("moved")
            }
        }
        let dir = TestSupport.makeTemporaryDirectory("wdt-repeats")
        let request = ExtractRequest(
            runID: "r", extractDirectory: dir + "/extract", statePath: dir + "/state.json", since: Harness.since,
            until: Harness.until)
        let summary = try await extractor.run(request)
        #expect(summary.isComplete, "\(lines.all.suffix(10))")
        #expect(lines.all.contains("moved"))
        let expected = [ExtractManifest.Repeat(stockinNo: moved, windows: [windows[0].directoryName, windows[1].directoryName])]
        #expect(summary.repeatedAcrossWindows == 1)
        #expect(try ExtractManifest.load(request.manifestPath).repeatedAcrossWindows == expected)
        #expect(lines.all.contains { $0.hasPrefix("note: 1 stockin_no received in more than one window") })

        // Rerun on the same run: every window is skipped, and the repeat is still found from the files.
        let again = try await WDTExtractor(config: Harness.config(server)).run(request)
        #expect(again.skippedWindows == 3 && again.repeatedAcrossWindows == 1)
        #expect(try ExtractManifest.load(request.manifestPath).repeatedAcrossWindows == expected)
        // Windows this run neither read nor verified (one stopped early) are read from their page files.
        let manifest = try ExtractManifest.load(request.manifestPath)
        #expect(try WDTExtractor.repeatsAcrossWindows(manifest, extractDirectory: request.extractDirectory, keysRead: [:]) == expected)
        #expect(try FileSystem.readText(request.manifestPath).contains("\"repeated_across_windows\": [\n"))
    }

    @Test func retriesRunOutThenTheExtractStopsWithTheWindowIncomplete() async throws {
        let server = try await WDTSandboxServer.start(
            configuration: WDTSandboxConfiguration(orderCount: 50, faults: WDTSandboxFaults(serverError: .every(1))))
        defer { Task { await server.stop() } }
        let dir = TestSupport.makeTemporaryDirectory("wdt-down")
        var config = Harness.config(server)
        config.maxRetries = 3
        let summary = try await WDTExtractor(config: config).run(
            ExtractRequest(
                runID: "r", extractDirectory: dir + "/extract", statePath: dir + "/state.json", since: Harness.since,
                until: Harness.until))
        #expect(!summary.isComplete)
        #expect(summary.incompleteWindows == 1 && summary.unreadWindows == 2)
        #expect(server.counters.requests == 4)
        let manifest = try ExtractManifest.load(dir + "/extract/manifest.json")
        #expect(manifest.windows.first?.reason?.contains("HTTP 500") == true)
        #expect(!FileSystem.exists(dir + "/state.json"))
    }

    @Test func slowResponsesTimeOutAndAreRetried() async throws {
        let server = try await WDTSandboxServer.start(
            configuration: WDTSandboxConfiguration(orderCount: 20, faults: WDTSandboxFaults(latencyMilliseconds: 600)))
        defer { Task { await server.stop() } }
        var config = Harness.config(server)
        config.timeoutSeconds = 0.2
        config.maxRetries = 1
        let client = try WDTClient(config: config)
        do {
            _ = try await client.fetchPage(start: Harness.since, end: Harness.since.adding(seconds: 86400), pageNo: 0)
            Issue.record("expected a timeout")
        } catch {
            #expect(error.kind == .network)
            #expect(error.message.contains("timed out"))
        }
        #expect(client.retryCount == 1)
    }

    @Test func sameDataGivesByteIdenticalFilesAndManifest() async throws {
        var trees: [[String: String]] = []
        for _ in 0..<2 {
            let server = try await WDTSandboxServer.start(configuration: WDTSandboxConfiguration(orderCount: 120))
            defer { Task { await server.stop() } }
            let dir = TestSupport.makeTemporaryDirectory("wdt-determinism")
            let summary = try await WDTExtractor(config: Harness.config(server, transport: .openAPI)).run(
                ExtractRequest(
                    runID: "r", extractDirectory: dir + "/extract", statePath: dir + "/state.json",
                    since: Harness.since, until: Harness.until))
            #expect(summary.isComplete)
            var tree: [String: String] = [:]
            for file in try FileSystem.filesRecursively(under: dir + "/extract") {
                tree[String(file.dropFirst(dir.count))] = Hashing.sha256Hex(try FileSystem.read(file))
            }
            trees.append(tree)
        }
        #expect(trees[0].count > 3)
        #expect(trees[0] == trees[1])
    }
}
