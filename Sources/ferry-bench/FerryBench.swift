import ArgumentParser
import FerryCore
import FerryKingdee
import FerrySchemes
import FerryTemplate
import FerryTransform
import FerryWDT
import Foundation
import KingdeeSandbox
import WDTSandbox

/// `ferry-bench`: the pieces of `Scripts/bench.sh` that need Ferry's own code — a corpus made with the
/// WDT sandbox's generator, the network stages against the sandboxes, and JSON parse throughput.
@main
struct FerryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry-bench",
        abstract: "Benchmark helpers (corpus generation, load and extract against the sandboxes, JSON parse throughput).",
        subcommands: [Corpus.self, Load.self, KingdeeServer.self, Extract.self, Parse.self])
}

/// Writes a realistic corpus of Qimen pages with the WDT sandbox's generator.
struct Corpus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate Qimen pages of about --mib MiB (all values as strings).")

    @Option(help: "Approximate corpus size in MiB.") var mib: Int = 10
    @Option(help: "Output directory.") var out: String
    @Option(help: "Seed.") var seed: UInt64 = 7

    func run() async throws {
        let target = mib * 1024 * 1024
        var written = 0
        var page = 0
        var documents = 0
        var chunk = 0
        let writer = JSONWriter(style: .compact)
        while written < target {
            // 2,000 orders at a time keeps memory flat whatever the corpus size.
            let dataset = WDTDataset(
                seed: seed &+ UInt64(chunk), orderCount: 2000, periodStart: WDTTime("2026-01-01 00:00:00")!, periodDays: 30)
            let orders = dataset.orders(
                matching: WDTOrderFilter(
                    start: WDTTime("2026-01-01 00:00:00")!, end: WDTTime("2026-01-31 00:00:00")!, statuses: Set(WDTDataset.statuses)))
            var index = 0
            while index < orders.count && written < target {
                let slice = orders[index..<min(index + 100, orders.count)]
                index += slice.count
                let list: [JSONValue] = slice.enumerated().map { offset, order in
                    Self.stringified(order, number: chunk * 2000 + index - slice.count + offset)
                }
                let body: JSONValue = [
                    "response": [
                        "errorcode": 0, "message": "", "total_count": .number(String(list.count)), "stockin_list": .array(list),
                    ]
                ]
                let bytes = writer.bytes(body)
                let dir = out + "/" + String(format: "%04d", page / 1000)
                try FileSystem.writeAtomically(bytes, to: dir + "/page-" + String(format: "%06d", page) + ".json")
                written += bytes.count
                documents += list.count
                page += 1
            }
            chunk += 1
        }
        print("\(written) bytes, \(page) pages, \(documents) documents")
    }

    /// Every number becomes a string (as many tenants' gateways send them) and the stock-in number is
    /// made unique across chunks.
    static func stringified(_ value: JSONValue, number: Int) -> JSONValue {
        func convert(_ v: JSONValue) -> JSONValue {
            switch v {
            case .number(let text): return .string(text)
            case .array(let items): return .array(items.map(convert))
            case .object(let object): return .object(JSONObject(object.members.map { .init($0.key, convert($0.value)) }))
            default: return v
            }
        }
        guard case .object(var object) = convert(value) else { return value }
        let no = "RK" + String(format: "%010d", number)
        object.set("stockin_no", .string(no))
        object.set("order_no", .string(no))
        return .object(object)
    }
}

/// Load throughput against the Kingdee sandbox with a fixed latency, against its bound and a naive client.
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load N payloads into the Kingdee sandbox; report documents/s.")

    @Option(help: "Documents.") var documents: Int = 5000
    @Option(help: "Sandbox latency per request, ms.") var latencyMs: Int = 20
    @Option(help: "target.batch_size") var batchSize: Int = 50
    @Option(help: "target.concurrency") var concurrency: Int = 4
    @Option(help: "Documents for the naive baseline (one per request, sequential).") var naiveDocuments: Int = 200
    @Option(help: "Use a sandbox already running (`ferry-bench kingdee-server`) at this URL instead of one in this process.")
    var serverURL: String?
    @Flag(help: """
        Leave the run directories in place (the caller removes them later). On ext4, deleting the 20,000 files \
        of one run makes creating files slow for the next ~30 s (the allocator skips recently deleted inodes), \
        which measures the file system's cleanup rather than the load.
        """)
    var keepFiles = false
    @Flag(help: """
        Write no transform manifest beside the payloads. By default one lists every payload, as `ferry transform` \
        writes it: the load reads it (only the payloads it lists are sent), so its time is part of the figure.
        """)
    var noManifest = false

    func run() async throws {
        var inProcess: KingdeeSandboxServer?
        let url: String
        if let serverURL {
            url = serverURL
        } else {
            let server = try await KingdeeSandboxServer.start(configuration: KingdeeServer.configuration(latencyMs: latencyMs))
            inProcess = server
            url = server.baseURL
        }
        defer { if let inProcess { Task { await inProcess.stop() } } }
        // A distinct prefix per invocation: an external sandbox keeps the bills of earlier runs.
        let tag = String(getpid() % 100_000)
        let (rate, seconds) = try await measure(url, count: documents, prefix: "B\(tag)-", batch: batchSize, concurrency: concurrency)
        let bound = Double(batchSize * concurrency) / (Double(latencyMs) / 1000)
        let (naive, _) = try await measure(url, count: naiveDocuments, prefix: "N\(tag)-", batch: 1, concurrency: 1)
        print(String(
            format: "load: %d documents in %.2f s = %.0f docs/s; bound batch_size*concurrency/latency = %.0f docs/s (%.0f%%); naive (1 per request, sequential) = %.1f docs/s; speed-up %.0fx; sandbox %@",
            documents, seconds, rate, bound, 100 * rate / bound, naive, rate / naive,
            serverURL == nil ? "in this process" : "in its own process"))
    }

    func measure(_ url: String, count: Int, prefix: String, batch: Int, concurrency: Int) async throws
        -> (rate: Double, seconds: Double)
    {
        let run = NSTemporaryDirectory() + "/ferry-bench-load-\(prefix)-\(getpid())"
        try? FileManager.default.removeItem(atPath: run)
        let writer = JSONWriter()
        // The manifest's `outputs`, entry by entry as `ferry transform` writes them (pretty, indent 2).
        var outputs: [String] = []
        for i in 0..<count {
            let number = prefix + String(format: "%09d", i)
            let payload: JSONValue = [
                "formid": "STK_MISCELLANEOUS",
                "data": [
                    "IsDeleteEntry": true, "IsVerifyBaseDataField": true, "ValidateFlag": true, "NumberSearch": true,
                    "IsAutoSubmitAndAudit": false,
                    "Model": [
                        "FBillNo": .string(number), "FBillTypeID": ["FNUMBER": "QTRKD01_SYS"], "FStockOrgId": ["FNumber": "100"],
                        "FStockDirect": "GENERAL", "FDate": "2026-01-05", "FOwnerTypeIdHead": "BD_OwnerOrg",
                        "FOwnerIdHead": ["FNumber": "100"], "FNOTE": .string("旺店通入库单 \(number)"),
                        "FEntity": .array(
                            (0..<5).map { _ in
                                [
                                    "FMATERIALID": ["FNumber": "1.01.001"], "FSTOCKID": ["FNumber": "CK001"],
                                    "FSTOCKSTATUSID": ["FNumber": "KCZT01_SYS"], "FQty": .number("10.0000"),
                                    "FPrice": .number("12.3000"), "FEntryNote": "",
                                    "FOWNERTYPEID": "BD_OwnerOrg", "FOWNERID": ["FNumber": "100"],
                                    "FKEEPERTYPEID": "BD_KeeperOrg", "FKEEPERID": ["FNumber": "100"],
                                ]
                            }),
                    ],
                ],
            ]
            let bytes = writer.bytes(payload)
            try FileSystem.writeAtomically(bytes, to: "\(run)/transform/\(number).json", durable: false)
            outputs.append("""
                    {
                      "file": "\(number).json",
                      "bill_number": "\(number)",
                      "key": "\(number)",
                      "sha256": "\(Hashing.sha256Hex(bytes))",
                      "lines": 5,
                      "dropped_lines": 0,
                      "source": {
                        "file": "stockin-\(String(format: "%06d", i / 100)).json",
                        "path": "$.response.stockin_list[\(i % 100)]",
                        "line": \(1 + 60 * (i % 100))
                      }
                    }
                """)
        }
        if !noManifest {
            let manifest = "{\n  \"outputs\": [\n" + outputs.joined(separator: ",\n") + "\n  ],\n  \"rejected\": [],\n  \"filtered\": []\n}\n"
            try FileSystem.writeAtomically(Array(manifest.utf8), to: "\(run)/transform/manifest.json", durable: false)
        }
        // As `ferry transform` does: one flush for all the payloads, before the load (and its clock) starts.
        FileSystem.syncFileSystem(containing: run)
        let c = KingdeeServer.configuration(latencyMs: latencyMs)
        let config = KingdeeTargetConfig(
            url: url, acctID: c.acctID, username: c.username, appID: c.appID, appSecret: c.appSecret,
            orgNumber: "100", batchSize: batch, concurrency: concurrency, timeoutSeconds: 30)
        let started = Date()
        let summary = try await LoadRunner.run(runDirectory: run, config: config, options: LoadOptions(), progress: { _ in })
        let seconds = Date().timeIntervalSince(started)
        guard summary.loaded == count else { throw ValidationError("only \(summary.loaded) of \(count) loaded") }
        if !keepFiles { try? FileManager.default.removeItem(atPath: run) }
        return (Double(count) / seconds, seconds)
    }
}

/// The Kingdee sandbox alone, for `load --server-url`: the server then has its own process (as a real
/// Kingdee would), instead of sharing the client's threads.
struct KingdeeServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kingdee-server", abstract: "Run the Kingdee sandbox with the load benchmark's master data until killed.")

    @Option(help: "Port (0 picks a free one).") var port: UInt16 = 0
    @Option(help: "Latency per request, ms.") var latencyMs: Int = 20

    /// The sandbox of the load benchmark: the master data its payloads use, and a fixed latency.
    static func configuration(latencyMs: Int) -> KingdeeSandboxConfiguration {
        KingdeeSandboxConfiguration(
            masterData: KingdeeSandboxMasterData(
                materials: ["1.01.001"], stocks: ["CK001"], organizations: ["100"], billTypes: ["QTRKD01_SYS"],
                stockStatuses: ["KCZT01_SYS"]),
            faults: KingdeeSandboxFaults(latency: .milliseconds(latencyMs)))
    }

    func run() async throws {
        let server = try await KingdeeSandboxServer.start(port: port, configuration: Self.configuration(latencyMs: latencyMs))
        FileHandle.standardOutput.write(Data((server.baseURL + "\n").utf8))
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}

/// Extract request rate against the WDT sandbox's rate limit.
struct Extract: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Extract from the WDT sandbox at --rate requests/s; report pages/s.")

    @Option(help: "source.requests_per_second, also the sandbox's limit.") var rate: Double = 5
    @Option(help: "Orders in the sandbox.") var orders: Int = 3000
    @Option(help: "Page size.") var pageSize: Int = 20

    func run() async throws {
        let server = try await WDTSandboxServer.start(
            configuration: WDTSandboxConfiguration(orderCount: orders, periodDays: 30, rateLimit: rate))
        defer { Task { await server.stop() } }
        let c = server.configuration.credentials
        let config = WDTSourceConfig(
            url: server.qimenURL, sid: c.sid, appKey: c.appKey, appSecret: c.appSecret, targetAppKey: c.targetAppKey,
            requestsPerSecond: rate, pageSize: pageSize, fixedParameters: [:])
        let dir = NSTemporaryDirectory() + "/ferry-bench-extract-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let started = Date()
        let summary = try await WDTExtractor(config: config).run(
            ExtractRequest(
                runID: "bench", extractDirectory: dir + "/extract", statePath: dir + "/state.json",
                since: WDTTime("2026-01-01 00:00:00"), until: WDTTime("2026-01-30 23:59:59")))
        let seconds = Date().timeIntervalSince(started)
        let counters = server.counters
        try? FileManager.default.removeItem(atPath: dir)
        print(String(
            format: "extract: %d requests (%d pages served) in %.2f s = %.2f requests/s (intervals between requests) against a limit of %.2f (%.1f%%); rate violations counted by the sandbox: %d; complete: %@",
            counters.requests, counters.pagesServed, seconds, Double(counters.requests - 1) / seconds, rate,
            100 * Double(counters.requests - 1) / seconds / rate, counters.rateViolations, summary.isComplete ? "yes" : "no"))
    }
}

/// Parse-only throughput of `JSONReader.parse` on files already in memory, to compare with
/// `Benchmarks/simdjson_parse.cpp` on the same corpus (issue 6). For each repetition, four passes over
/// all files: the parse alone (the tree is built and dropped); the parse plus a walk of the tree that
/// touches every value (the checksum is computed as the C++ program computes it); the parse the
/// transform does, building only the members the built-in scheme can see (`InputReader.keySet(for:)`);
/// and a parse that keeps no member at all, which checks every byte as the others do but builds
/// nothing: the reader's scanning alone, the least any reader that checks the input must spend.
struct Parse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Parse every *.json under --dir with JSONReader, --repetitions times; report the median MiB/s.")

    @Option(help: "Directory of *.json files (searched recursively).") var dir: String
    @Option(help: "Repetitions; the median is reported.") var repetitions: Int = 5

    /// What the walk counts: string and key lengths are UTF-8 byte counts of the unescaped text, and
    /// `numberBytes` the length of each number's text as written.
    struct Checksum: Equatable, CustomStringConvertible {
        var objects = 0, arrays = 0, keys = 0, keyBytes = 0, strings = 0, stringBytes = 0
        var numbers = 0, numberBytes = 0, bools = 0, nulls = 0

        mutating func walk(_ value: JSONValue) {
            switch value {
            case .object(let object):
                objects += 1
                for member in object.members {
                    keys += 1
                    keyBytes += member.key.utf8.count
                    walk(member.value)
                }
            case .array(let items):
                arrays += 1
                for item in items { walk(item) }
            case .string(let text):
                strings += 1
                stringBytes += text.utf8.count
            case .number(let text):
                numbers += 1
                numberBytes += text.utf8.count
            case .bool: bools += 1
            case .null: nulls += 1
            }
        }

        var description: String {
            "objects=\(objects) arrays=\(arrays) keys=\(keys) keyBytes=\(keyBytes) strings=\(strings) stringBytes=\(stringBytes) "
                + "numbers=\(numbers) bools=\(bools) nulls=\(nulls) numberBytes=\(numberBytes)"
        }
    }

    func run() async throws {
        let paths = try FileSystem.filesRecursively(under: dir).filter { $0.hasSuffix(".json") }
        guard !paths.isEmpty else { throw ValidationError("no *.json files under \(dir)") }
        let files = try paths.map { path throws(Diagnostic) in try FileSystem.read(path) }
        let totalBytes = files.reduce(0) { $0 + $1.count }
        let mib = Double(totalBytes) / Double(1 << 20)
        let count = max(repetitions, 1)
        print(String(format: "JSONReader: %d files, %d bytes (%.1f MiB), %d repetitions", files.count, totalBytes, mib, count))

        let schemePath = BuiltInSchemes.path(BuiltInSchemes.templateFileNames[0])
        guard let scheme = MappingTemplate.load(path: schemePath).template else {
            throw ValidationError("the built-in scheme \(schemePath) did not load")
        }
        let schemeKeys = InputReader.keySet(for: scheme)
        let noKeys = JSONKeySet([String]())
        var parseRates: [Double] = []
        var walkRates: [Double] = []
        var keptRates: [Double] = []
        var scanRates: [Double] = []
        var checksum = Checksum()
        var parsed = 0
        for repetition in 1...count {
            parseRates.append(mib / (try Self.seconds { () throws(JSONSyntaxError) in
                for file in files {
                    // Something that depends on the parse, so that it is not left out.
                    if case .object = try JSONReader.parse(file) { parsed += 1 }
                }
            }))
            var sum = Checksum()
            walkRates.append(mib / (try Self.seconds { () throws(JSONSyntaxError) in
                for file in files { sum.walk(try JSONReader.parse(file)) }
            }))
            checksum = sum
            keptRates.append(mib / (try Self.seconds { () throws(JSONSyntaxError) in
                for file in files {
                    if case .object = try JSONReader.parse(file, keeping: schemeKeys) { parsed += 1 }
                }
            }))
            scanRates.append(mib / (try Self.seconds { () throws(JSONSyntaxError) in
                for file in files {
                    if case .object = try JSONReader.parse(file, keeping: noKeys) { parsed += 1 }
                }
            }))
            print(String(
                format: "rep %d: parse %.1f MiB/s, parse+walk %.1f MiB/s, parse keeping the scheme's members %.1f MiB/s, "
                    + "scan only (keeping nothing) %.1f MiB/s",
                repetition, parseRates.last!, walkRates.last!, keptRates.last!, scanRates.last!))
        }
        print(String(
            format: "median over %d: parse %.1f MiB/s, parse+walk %.1f MiB/s, parse keeping the scheme's members %.1f MiB/s, "
                + "scan only (keeping nothing) %.1f MiB/s (files parsed: %d)",
            count, Self.median(parseRates), Self.median(walkRates), Self.median(keptRates), Self.median(scanRates), parsed))
        print("parse+walk checksum: \(checksum)")
    }

    static func seconds(_ body: () throws(JSONSyntaxError) -> Void) throws(JSONSyntaxError) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}
