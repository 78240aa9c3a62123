import FerryCore
import FerryKingdee
import FerryTestSupport
import Foundation
import KingdeeSandbox

#if canImport(Glibc)
import Glibc
#endif

/// Writes transform-stage output for load tests: payload files as the transform writes them, plus a
/// manifest and a reject file that load must ignore.
enum PayloadGenerator {
    /// The bill number of document `i`.
    static func billNumber(_ i: Int, prefix: String = "RK") -> String {
        let s = String(i)
        return prefix + "2026010" + String(repeating: "0", count: max(0, 5 - s.count)) + s
    }

    /// A complete Save body for one bill.
    static func payload(
        billNumber: String, material: String = "1.01.001", stock: String = "CK001", quantity: String = "10",
        price: String = "12.50", lines: Int = 1, organization: String = "100"
    ) -> JSONValue {
        let entry: JSONValue = [
            "FMATERIALID": ["FNumber": .string(material)], "FSTOCKID": ["FNumber": .string(stock)],
            "FQty": .number(quantity), "FPrice": .number(price), "FLOT": ["FNumber": "L1"], "FEntryNote": "",
            "FSTOCKSTATUSID": ["FNumber": "KCZT01_SYS"], "FOWNERTYPEID": "BD_OwnerOrg", "FOWNERID": ["FNumber": "100"],
            "FKEEPERTYPEID": "BD_KeeperOrg", "FKEEPERID": ["FNumber": "100"],
        ]
        return [
            "formid": "STK_MISCELLANEOUS",
            "data": [
                "IsDeleteEntry": true, "IsVerifyBaseDataField": true, "ValidateFlag": true, "NumberSearch": true,
                "IsAutoSubmitAndAudit": false,
                "Model": [
                    "FBillNo": .string(billNumber), "FBillTypeID": ["FNUMBER": "QTRKD01_SYS"],
                    "FStockOrgId": ["FNumber": .string(organization)], "FStockDirect": "GENERAL", "FDate": "2026-01-01",
                    "FOwnerTypeIdHead": "BD_OwnerOrg", "FOwnerIdHead": ["FNumber": "100"], "FNOTE": "旺店通入库单 测试",
                    "FEntity": .array(Array(repeating: entry, count: lines)),
                ],
            ],
        ]
    }

    /// Writes `count` payloads (`<FBillNo>.json`) into `directory`, plus manifest.json and a reject;
    /// `customize` may change a document's payload. Returns the bill numbers.
    @discardableResult
    static func write(
        count: Int, into directory: String, prefix: String = "RK", customize: (Int, String) -> JSONValue? = { _, _ in nil }
    ) throws -> [String] {
        var numbers: [String] = []
        for i in 1...count {
            let number = billNumber(i, prefix: prefix)
            numbers.append(number)
            // JSONValue is ExpressibleByNilLiteral: a closure's `nil` may arrive as `.some(.null)`.
            let custom = customize(i, number)
            let value = custom == nil || custom == .some(.null) ? payload(billNumber: number) : custom ?? .null
            try FileSystem.writeAtomically(JSONWriter().bytes(value), to: "\(directory)/\(number).json")
        }
        try FileSystem.writeAtomically("{\"documents\": \(count)}\n", to: "\(directory)/manifest.json")
        try FileSystem.writeAtomically("{\"reason\": \"no goods\"}\n", to: "\(directory)/WDT0001.reject.json")
        return numbers
    }
}

/// A temporary run directory (`runs/<id>/transform/`).
struct TestRun {
    let root: String
    let runDirectory: String
    var transform: String { runDirectory + "/transform" }

    init(_ label: String = "kingdee") {
        root = TestSupport.makeTemporaryDirectory("ferry-\(label)")
        runDirectory = root + "/runs/20260101T000000Z"
        try? FileManager.default.createDirectory(atPath: runDirectory + "/transform", withIntermediateDirectories: true)
    }

    func receipt(_ name: String) -> JSONValue? { read(transform + "/\(name).receipt.json") }
    func error(_ name: String) -> JSONValue? { read(transform + "/\(name).error.json") }

    func read(_ path: String) -> JSONValue? {
        guard let bytes = try? FileSystem.read(path) else { return nil }
        return try? JSONReader.parse(bytes)
    }

    /// Every file (relative path) and its bytes under the root.
    func snapshot() -> [String: Data] {
        var result: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            let path = root + "/" + relative
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            result[relative] = isDirectory.boolValue ? Data() : FileManager.default.contents(atPath: path)
        }
        return result
    }

    /// The journal's entries, in order (an empty list when there is no journal yet).
    func journalEntries() -> [JSONValue] {
        guard let bytes = try? FileSystem.read(LoadRunner.journalPath(run: runDirectory)) else { return [] }
        return AppendOnlyFile.lines(of: bytes).compactMap { try? JSONReader.parse($0.bytes) }
    }

    /// The kinds of the journal's entries, in order.
    func journalKinds() -> [String] { journalEntries().compactMap { $0["kind"]?.stringValue } }
}

extension KingdeeSandboxServer {
    /// Loads `number`'s payload from a run of its own: the bill then exists in Kingdee, made by somebody
    /// other than the run under test.
    func createElsewhere(_ number: String, organization: String = "100") async throws {
        let other = TestRun("someone-else")
        try FileSystem.writeAtomically(
            JSONWriter().bytes(PayloadGenerator.payload(billNumber: number, organization: organization)),
            to: other.transform + "/\(number).json")
        _ = try await LoadRunner.run(runDirectory: other.runDirectory, config: target())
    }

    /// A target configuration for this sandbox with small, fast test settings. The timeout is long: when
    /// the whole package's tests share two cores, a loopback answer can take seconds.
    func target(
        auth: KingdeeTargetConfig.AuthMode = .signature, batchSize: Int = 5, batchCount: Int? = nil,
        concurrency: Int = 2, timeout: Double = 30, maxRetries: Int = 4, inDoubtRecheck: Double = 0.05,
        existenceCheckOrgField: String = "FStockOrgId"
    ) -> KingdeeTargetConfig {
        KingdeeTargetConfig(
            url: baseURL, auth: auth, acctID: configuration.acctID, username: configuration.username,
            appID: configuration.appID, appSecret: configuration.appSecret, password: configuration.password,
            orgNumber: "100", batchSize: batchSize, batchCount: batchCount, concurrency: concurrency,
            timeoutSeconds: timeout, maxRetries: maxRetries, retryDelaySeconds: 0.02, inDoubtRecheckSeconds: inDoubtRecheck,
            existenceCheckOrgField: existenceCheckOrgField)
    }
}

/// Runs the built `ferry` without blocking a thread: the sandbox serves from the same process, and the
/// cooperative pool (2 threads on a 2-core machine) must stay free for it.
enum FerryProcess {
    /// How a process ended.
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Starts `ferry arguments…`, optionally kills it with SIGKILL after `killAfter`, and waits for it.
    static func run(
        _ arguments: [String], environment: [String: String]? = nil, killAfter: Duration? = nil,
        killWhen: (@Sendable () -> Bool)? = nil
    ) async throws -> Result {
        let result = try await TestSupport.runFerryAsync(
            arguments, environment: environment, killAfter: killAfter, killWhen: killWhen)
        return Result(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }
}
