import FerryCore
import FerryWDT
import Foundation
import KingdeeSandbox
import WDTSandbox

/// The WDT and Kingdee sandbox servers, started together on loopback, with data and master data that
/// fit each other and the demo's lookups.
public final class SandboxPair: @unchecked Sendable {
    /// What to start.
    public struct Options: Sendable {
        /// Seed of the generated orders.
        public var seed: UInt64 = 20_261_129
        /// Orders generated (all statuses; about 60% are completed, status 80).
        public var orders = 300
        /// Earliest `modified` time of the orders.
        public var periodStart = WDTTime("2026-10-01 00:00:00")!
        /// Days the orders spread over.
        public var periodDays = 30
        /// WDT faults.
        public var wdtFaults = WDTSandboxFaults()
        /// Requests per second WDT tolerates (violations are counted).
        public var wdtRateLimit: Double? = nil
        /// Kingdee faults.
        public var kingdeeFaults = KingdeeSandboxFaults()
        /// Kingdee master data.
        public var masterData = SandboxPair.masterData
        /// The credentials WDT accepts (default: the demo's).
        public var wdtCredentials = WDTSandboxCredentials()
        /// The integration user's password Kingdee accepts (default: the demo's).
        public var kingdeePassword = KingdeeSandboxConfiguration().password
        /// The app secret Kingdee accepts (default: the demo's).
        public var kingdeeAppSecret = KingdeeSandboxConfiguration().appSecret

        /// The defaults.
        public init() {}
    }

    /// Kingdee base data that fits `demoLookups`: materials `1.01.001`–`1.01.012`, stocks `CK001`–`CK004`,
    /// organisation `100`. Material `1.01.013` (mapped in the lookups) is deliberately unknown.
    public static let masterData = KingdeeSandboxMasterData(
        materials: Set((1...12).map { "1.01." + String(format: "%03d", $0) }),
        stocks: ["CK001", "CK002", "CK003", "CK004"],
        organizations: ["100"],
        billTypes: ["QTRKD01_SYS"],
        stockStatuses: ["KCZT01_SYS", "KCZT02_SYS"])

    /// Lookup tables for the sandbox's data: WDT warehouse `WH005` (武汉东西湖退货仓) is deliberately
    /// missing, and the last two goods map to a material Kingdee does not know or are not mapped at all.
    public static let demoLookups: [String: String] = [
        "warehouses.csv": """
            wdt_warehouse_no,kingdee_stock_number,note
            WH001,CK001,上海嘉定总仓
            WH002,CK002,广州白云仓
            WH003,CK003,成都双流仓
            WH004,CK004,北京顺义仓

            """,
        "materials.csv": """
            spec_no,kingdee_material_number,note
            6901939621257,1.01.001,农夫山泉饮用天然水 550ml
            6902083881405,1.01.002,娃哈哈AD钙奶 220g*4
            6903148042441,1.01.003,护舒宝液体卫生巾 日用 10片
            6920174758023,1.01.004,立白洗衣粉 1.7kg
            6922868285204,1.01.005,心相印抽纸 3层130抽*6包
            6948960100986,1.01.006,晨光中性笔 0.5mm 黑色 12支装
            6921168509256,1.01.007,六神花露水 195ml
            6917878036526,1.01.008,青岛啤酒 经典 500ml*12听
            6920459905012,1.01.009,海天金标生抽 1.28L
            6901028075862,1.01.010,中华 牙膏 健齿白 200g
            6925303773106,1.01.011,统一老坛酸菜牛肉面 5连包
            6954767423579,1.01.012,百雀羚水嫩精纯保湿乳 100ml
            6939236300010,1.01.013,小米手环8 NFC版 黑色

            """,
    ]

    /// The WDT sandbox.
    public let wdt: WDTSandboxServer
    /// The Kingdee sandbox.
    public let kingdee: KingdeeSandboxServer
    /// What was started.
    public let options: Options

    private init(wdt: WDTSandboxServer, kingdee: KingdeeSandboxServer, options: Options) {
        self.wdt = wdt
        self.kingdee = kingdee
        self.options = options
    }

    /// Starts both servers on 127.0.0.1: WDT on `port` and Kingdee on `port + 1`, or both on free ports
    /// when `port` is 0.
    ///
    /// - Throws: when a port cannot be bound.
    public static func start(port: UInt16 = 0, options: Options = Options()) async throws -> SandboxPair {
        let wdt = try await WDTSandboxServer.start(
            port: port,
            configuration: WDTSandboxConfiguration(
                credentials: options.wdtCredentials, seed: options.seed, orderCount: options.orders,
                periodStart: options.periodStart, periodDays: options.periodDays, faults: options.wdtFaults,
                rateLimit: options.wdtRateLimit))
        do {
            let kingdee = try await KingdeeSandboxServer.start(
                port: port == 0 ? 0 : port + 1,
                configuration: KingdeeSandboxConfiguration(
                    password: options.kingdeePassword, appSecret: options.kingdeeAppSecret, masterData: options.masterData,
                    faults: options.kingdeeFaults))
            return SandboxPair(wdt: wdt, kingdee: kingdee, options: options)
        } catch {
            await wdt.stop()
            throw error
        }
    }

    /// The environment variables a workspace's ferry.yaml reads, pointing at these servers.
    public func environment(transport: WDTTransport = .qimen) -> [String: String] {
        wdt.environment(for: transport).merging(kingdee.environment) { $1 }
    }

    /// The first and last second of the generated period (WDT time).
    public var period: (start: WDTTime, end: WDTTime) {
        (options.periodStart, options.periodStart.adding(seconds: Int64(options.periodDays) * 86_400 - 1))
    }

    /// Stops both servers.
    public func stop() async {
        await wdt.stop()
        await kingdee.stop()
    }
}
