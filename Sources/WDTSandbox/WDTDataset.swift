import FerryCore
import FerryWDT

/// Which orders a request asks for: WDT's own filter rules (closed modified-time interval, `status`
/// defaulting to 80, optional `order_type` and `warehouse_no`).
public struct WDTOrderFilter: Sendable, Hashable {
    /// First modified second, included.
    public var start: WDTTime
    /// Last modified second, included.
    public var end: WDTTime
    /// Accepted statuses (WDT's default when `status` is absent: only 80 已完成).
    public var statuses: Set<Int>
    /// Accepted order types, or all when `nil`.
    public var orderTypes: Set<Int>?
    /// One warehouse, or all when `nil`.
    public var warehouseNo: String?

    /// Creates a filter.
    public init(
        start: WDTTime, end: WDTTime, statuses: Set<Int> = [80], orderTypes: Set<Int>? = nil, warehouseNo: String? = nil
    ) {
        self.start = start
        self.end = end
        self.statuses = statuses
        self.orderTypes = orderTypes
        self.warehouseNo = warehouseNo
    }
}

/// The sandbox's deterministic stock-in orders: generated from a seed, with realistic Chinese goods,
/// warehouses and suppliers, every `order_type` the API returns, several statuses, 1–20 lines per order.
///
/// Thread-safe. Orders can be "modified" (their `modified` time moves forward), as in a live WDT.
public final class WDTDataset: @unchecked Sendable {
    /// The `order_type` codes `wdt.stockin.order.query` returns, with their names (3 退货入库 is not returned).
    public static let orderTypes: [(code: Int, name: String)] = [
        (1, "采购入库"), (2, "调拨入库"), (4, "盘盈入库"), (5, "生产入库"), (6, "其他入库"), (7, "保修入库"),
        (8, "纠错入库"), (9, "初始化入库"), (10, "预入库"), (11, "JIT退货入库"), (12, "委外入库"),
    ]
    /// Status codes: 10已取消 20编辑中 25待价格确认 30待审核 32待推送 33推送失败 35委外待入库 60待结算 80已完成.
    public static let statuses = [10, 20, 25, 30, 32, 33, 35, 60, 80]

    struct Order {
        var id: Int
        var stockinNo: String
        var status: Int
        var orderType: Int
        var warehouseNo: String
        var modified: Int64
        var fields: JSONObject
    }

    private let lock = Mutex()
    private var storage: [Order]

    /// Generates the data set.
    ///
    /// - Parameters:
    ///   - seed: the PRNG seed; the same seed gives the same orders.
    ///   - orderCount: how many orders (of all statuses).
    ///   - periodStart: earliest `modified` time.
    ///   - periodDays: `modified` times fall in `[periodStart, periodStart + periodDays days)`.
    public init(seed: UInt64, orderCount: Int, periodStart: WDTTime, periodDays: Int) {
        var rng = SplitMix64(seed: seed)
        var orders: [Order] = []
        orders.reserveCapacity(orderCount)
        let span = Int64(periodDays) * 86400
        for index in 0..<orderCount {
            let modified = periodStart.adding(seconds: Int64(rng.int(in: 0...Int(span - 1))))
            orders.append(Self.makeOrder(index: index, modified: modified, rng: &rng))
        }
        storage = orders
    }

    /// All orders (every status), current versions.
    public var count: Int { lock.withLock { storage.count } }

    /// The orders matching `filter`, as WDT would list them: sorted by `modified`, then `stockin_id`.
    public func orders(matching filter: WDTOrderFilter) -> [JSONValue] {
        lock.withLock { matchingIndices(filter).map { render(storage[$0]) } }
    }

    /// The `stockin_no` of every order matching `filter`.
    public func stockinNumbers(matching filter: WDTOrderFilter) -> Set<String> {
        lock.withLock { Set(matchingIndices(filter).map { storage[$0].stockinNo }) }
    }

    /// Moves the earliest order matching `filter` to the end of the filter's window (`modified = end`),
    /// as if someone edited it. Returns its `stockin_no`, or `nil` when no order could move.
    @discardableResult
    public func modifyEarliest(matching filter: WDTOrderFilter) -> String? {
        lock.withLock {
            let indices = matchingIndices(filter)
            guard let first = indices.first, storage[first].modified < filter.end.unixSeconds else { return nil }
            storage[first].modified = filter.end.unixSeconds
            return storage[first].stockinNo
        }
    }

    /// Sets the `modified` time of the order `stockinNo` to `time`, as if someone edited it then.
    /// Returns whether the order exists.
    @discardableResult
    public func modify(_ stockinNo: String, at time: WDTTime) -> Bool {
        lock.withLock {
            guard let index = storage.firstIndex(where: { $0.stockinNo == stockinNo }) else { return false }
            storage[index].modified = time.unixSeconds
            return true
        }
    }

    private func matchingIndices(_ filter: WDTOrderFilter) -> [Int] {
        storage.indices.filter { i in
            let o = storage[i]
            return o.modified >= filter.start.unixSeconds && o.modified <= filter.end.unixSeconds
                && filter.statuses.contains(o.status) && (filter.orderTypes?.contains(o.orderType) ?? true)
                && (filter.warehouseNo.map { $0 == o.warehouseNo } ?? true)
        }.sorted { (storage[$0].modified, storage[$0].id) < (storage[$1].modified, storage[$1].id) }
    }

    private func render(_ order: Order) -> JSONValue {
        var fields = order.fields
        fields.set("modified", .string(WDTTime(unixSeconds: order.modified).description))
        return .object(fields)
    }

    // MARK: - Generation

    static let warehouses: [(no: String, name: String, id: Int)] = [
        ("WH001", "上海嘉定总仓", 1), ("WH002", "广州白云仓", 2), ("WH003", "成都双流仓", 3),
        ("WH004", "北京顺义仓", 4), ("WH005", "武汉东西湖退货仓", 5),
    ]
    static let suppliers: [(no: String, name: String)] = [
        ("GYS001", "杭州娃哈哈集团有限公司"), ("GYS002", "农夫山泉股份有限公司"), ("GYS003", "上海家化联合股份有限公司"),
        ("GYS004", "广州立白企业集团有限公司"), ("GYS005", "福建恒安集团有限公司"), ("GYS006", "晨光文具股份有限公司"),
    ]
    static let goods: [(spec: String, goods: String, name: String, brand: String, price: Int)] = [
        ("6901939621257", "NFSQ550", "农夫山泉饮用天然水 550ml", "农夫山泉", 1_2000),
        ("6902083881405", "WHH-AD", "娃哈哈AD钙奶 220g*4", "娃哈哈", 6_8000),
        ("6903148042441", "HS-XF", "护舒宝液体卫生巾 日用 10片", "护舒宝", 19_9000),
        ("6920174758023", "LB-XYF", "立白洗衣粉 1.7kg", "立白", 23_5000),
        ("6922868285204", "XYY-ZJ", "心相印抽纸 3层130抽*6包", "心相印", 18_9000),
        ("6948960100986", "CG-ZXB", "晨光中性笔 0.5mm 黑色 12支装", "晨光", 15_0000),
        ("6921168509256", "LSQ-LW", "六神花露水 195ml", "六神", 12_3000),
        ("6917878036526", "QDPJ", "青岛啤酒 经典 500ml*12听", "青岛啤酒", 59_0000),
        ("6920459905012", "DD-ZJY", "海天金标生抽 1.28L", "海天", 13_8000),
        ("6901028075862", "ZH-YX", "中华 牙膏 健齿白 200g", "中华", 9_9000),
        ("6925303773106", "TY-MZ", "统一老坛酸菜牛肉面 5连包", "统一", 14_5000),
        ("6954767423579", "BYL-SGZ", "百雀羚水嫩精纯保湿乳 100ml", "百雀羚", 89_0000),
        ("6939236300010", "XM-SB", "小米手环8 NFC版 黑色", "小米", 249_0000),
        ("6970244525113", "NXCY-HB", "奈雪的茶 霸气橙子果茶 瓶装", "奈雪", 7_5000),
    ]
    static let remarks = ["", "", "", "加急入库", "含赠品，单独堆放", "外箱破损已拍照", "供应商直送", "备注：请核对批次"]
    static let reasons = ["", "采购到货", "调拨到货", "盘点盘盈", "生产完工", "样品退回", "纠错补录", "期初导入"]

    static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Ten-thousandths as text with four decimals: 123000 → "12.3000".
    static func money(_ units: Int) -> String {
        "\(units / 10000).\(pad(units % 10000, 4))"
    }

    static func makeOrder(index: Int, modified: WDTTime, rng: inout SplitMix64) -> Order {
        let id = 10_000 + index
        // The first orders cover every order type and status; after that, mostly completed orders.
        let type = index < orderTypes.count ? orderTypes[index] : rng.pick(orderTypes)
        let status: Int
        if index < statuses.count {
            status = statuses[index]
        } else {
            status = rng.chance(0.7) ? 80 : rng.pick(statuses)
        }
        let stringy = rng.chance(0.3)  // some tenants' gateways send numbers as strings
        func number(_ n: Int) -> JSONValue { stringy ? .string(String(n)) : .number(String(n)) }
        func decimal(_ text: String) -> JSONValue { stringy ? .string(text) : .number(text) }
        // Like a real tenant: most stock arrives at the main warehouses, a little at the returns warehouse.
        let warehouse = warehouses[rng.weightedIndex(warehouses.map { $0.no == "WH005" ? 1 : 12 })]
        let supplier = rng.pick(suppliers)
        let created = modified.adding(seconds: -Int64(rng.int(in: 0...259_200)))
        let checked = modified.adding(seconds: -Int64(rng.int(in: 0...3600)))
        let day = created.compact.prefix(8)
        let stockinNo = "RK\(day)\(pad(index, 5))"
        var lines: [JSONValue] = []
        var totalCount = 0
        var totalUnits = 0
        // Most orders are short; a few are long (1–20 lines in all).
        let lineCount = rng.chance(0.75) ? rng.int(in: 1...5) : rng.int(in: 6...20)
        for line in 0..<lineCount {
            // A long tail: the last two goods are rare (new listings).
            let item = goods[rng.weightedIndex(goods.indices.map { $0 >= goods.count - 2 ? 1 : 20 })]
            let count = rng.chance(0.05) ? 0 : rng.int(in: 1...120)
            let price = item.price + rng.int(in: -500...500) * 10
            let cost = price * count
            totalCount += count
            totalUnits += cost
            let batch = rng.chance(0.4) ? "" : "PC\(created.compact.prefix(8))-\(pad(rng.int(in: 1...99), 2))"
            var detail = JSONObject()
            detail.append("rec_id", number(id * 100 + line))
            detail.append("spec_no", .string(item.spec))
            detail.append("goods_no", .string(item.goods))
            detail.append("goods_name", .string(item.name))
            detail.append("brand_no", .string("BR-" + item.goods.prefix(2)))
            detail.append("brand_name", .string(item.brand))
            detail.append("goods_count", decimal(money(count * 10000)))
            detail.append("right_num", decimal(money(count * 10000)))
            detail.append("cost_price", .string(money(price)))
            detail.append("src_price", .string(money(price)))
            detail.append("tax_price", .string(money(price)))
            detail.append("tax", .string("0.0000"))
            detail.append("tax_amount", .string("0.0000"))
            detail.append("total_cost", .string(money(cost)))
            detail.append("right_price", .string(money(price)))
            detail.append("right_cost", .string(money(cost)))
            detail.append("batch_no", .string(batch))
            detail.append("position_no", .string("\(warehouse.no)-A\(pad(rng.int(in: 1...40), 2))"))
            detail.append("remark", .string(count == 0 ? "零数量行：到货短缺" : rng.pick(remarks)))
            lines.append(.object(detail))
        }
        var o = JSONObject()
        o.append("stockin_id", number(id))
        o.append("stockin_no", .string(stockinNo))
        o.append("order_no", .string(stockinNo))
        o.append("status", number(status))
        o.append("order_type", number(type.code))
        o.append("order_type_name", .string(type.name))
        o.append("warehouse_id", number(warehouse.id))
        o.append("warehouse_no", .string(warehouse.no))
        o.append("warehouse_name", .string(warehouse.name))
        o.append("src_order_no", .string(type.code == 1 ? "CG\(day)\(pad(index, 4))" : "YD\(day)\(pad(index, 4))"))
        o.append("outer_no", .string(rng.chance(0.5) ? "" : "EXT-\(id)"))
        o.append("purchase_no", .string(type.code == 1 ? "CG\(day)\(pad(index, 4))" : ""))
        o.append("provider_no", .string(type.code == 1 ? supplier.no : ""))
        o.append("provider_name", .string(type.code == 1 ? supplier.name : ""))
        o.append("stockin_reason", .string(rng.pick(reasons)))
        o.append("remark", .string(rng.pick(remarks)))
        o.append("goods_count", decimal(money(totalCount * 10000)))
        o.append("goods_type_count", number(lineCount))
        o.append("goods_amount", .string(money(totalUnits)))
        o.append("total_price", .string(money(totalUnits)))
        o.append("discount", .string("0.0000"))
        o.append("tax_amount", .string("0.0000"))
        o.append("post_fee", .string("0.0000"))
        o.append("other_fee", .string("0.0000"))
        o.append("logistics_type", number(rng.int(in: 0...3)))
        o.append("logistics_code", .string(""))
        o.append("logistics_name", .string(rng.pick(["", "顺丰速运", "中通快递", "德邦物流"])))
        o.append("logistics_no", .string(rng.chance(0.5) ? "" : "SF\(pad(rng.int(in: 0...999_999_999), 12))"))
        o.append("operator_name", .string(rng.pick(["张伟", "王芳", "李娜", "刘洋", "陈静"])))
        o.append("check_operator_name", .string(status == 80 ? rng.pick(["赵磊", "孙丽", "周杰"]) : ""))
        o.append("created_time", .string(created.description))
        o.append("check_time", .string(status == 80 ? checked.description : "0000-00-00 00:00:00"))
        o.append("stockin_time", .string(modified.description))
        o.append("modified", .string(modified.description))
        o.append("details_list", .array(lines))
        return Order(
            id: id, stockinNo: stockinNo, status: status, orderType: type.code, warehouseNo: warehouse.no,
            modified: modified.unixSeconds, fields: o)
    }
}
