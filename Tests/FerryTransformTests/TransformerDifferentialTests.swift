import FerryCore
import FerryTemplate
import FerryTransform
import Testing

/// The transform's shortcuts against their general paths on random documents: a document read keeping only
/// the members the template can see maps to the same bytes as one read whole; the payload is the bytes
/// `JSONWriter` gives for it; a rounded quantity is the unrounded one rounded by `ExactDecimal`.
@Suite struct TransformerDifferentialTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed | 1 }
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
        mutating func below(_ n: Int) -> Int { Int((next() >> 33) % UInt64(n)) }
    }

    @Test func keptMembersAndWholeDocumentsMapAlike() throws {
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <scheme xmlns="urn:ferry:scheme:1" name="t" version="2.1.0">
              <source api="wdt.stockin.order.query" list="stockin_list" key="stockin_no" version="modified"/>
              <target form="STK_MISCELLANEOUS" number="FBillNo"><option name="IsVerifyBaseDataField">true</option></target>
              <lookup name="wh" file="wh.csv" key="k" value="v" on-miss="pass"/>
              <filter when="status == 80 or status == '90'"/>
              <bill>
                <field name="FBillNo" path="stockin_no" required="true"/>
                <field name="FDate" path="stockin_time" type="date"/>
                <field name="FDT" path="stockin_time" type="datetime"/>
                <ref name="FOrg" setting="org_number"/>
                <field name="FC" const="1.55" type="decimal" scale="1"/>
                <entries name="FEntity" path="details_list" when="goods_count &gt; 0 and not (remark == 'x')">
                  <ref name="FSTOCKID" path="../warehouse_no" lookup="wh"/>
                  <field name="FQty" path="goods_count" type="decimal"/>
                  <field name="FQty2" path="goods_count" type="decimal" scale="2"/>
                  <field name="FInt" path="num" type="integer" default="0"/>
                  <field name="FPrice" path="cost_price" type="decimal" scale="4" default="0"/>
                  <field name="FNote" template="{remark} {../stockin_no}"/>
                </entries>
              </bill>
            </scheme>
            """
        let (parsed, diagnostics) = MappingTemplate.parse(Array(text.utf8), file: "t.xml")
        let template = try #require(parsed, "\(diagnostics)")
        let transformer = Transformer(
            context: TransformContext(
                template: template, lookups: ["wh": LookupTable(name: "wh", entries: ["W1": "K1", "W 2": "K2"])],
                settings: ["org_number": "100"]))
        let keys = InputReader.keySet(for: template)
        var random = Generator(seed: 0x1234_5678_9ABC_DEF1)
        let numbers = [
            "0", "-0", "0.0000", "1", "2.5", "119.0000", "-3.10", "1e2", "1E-2", "999999999999999999",
            "9999999999999999999.995", "0.00005", "-0.00005", "1e-9223372036854775808",
        ]
        let texts = [
            "\"0\"", "\"-0\"", "\"0.0000\"", "\" 12.5 \"", "\"+5\"", "\"007\"", "\"12.50元\"", "\"\"", "\" \"", "\"１２\"",
            "\"1e3\"", "\"9.995\"", "\"-0.00005\"", "null", "true",
        ]
        let dates = [
            "\"2026-01-05\"", "\"2026-01-05 10:20:00\"", "\"2026/01/05 10:20:00\"", "\"2026-02-30\"",
            "\"2026-01-05T10:20:00.5\"", "\"0000-00-00 00:00:00\"", "\"2026-1-5\"",
        ]
        func value() -> String { random.below(2) == 0 ? numbers[random.below(numbers.count)] : texts[random.below(texts.count)] }
        var bills = 0
        for i in 0..<2000 {
            var lines: [String] = []
            for _ in 0..<(1 + random.below(3)) {
                var members = [
                    "\"goods_count\":\(value())", "\"cost_price\":\(value())", "\"num\":\(value())",
                    "\"noise\":{\"a\":[1,2,{\"goods_count\":\"c\"}]}",
                ]
                if random.below(3) == 0 { members.append("\"remark\":\(["\"x\"", "\"y\"", "1", "null"][random.below(4)])") }
                if random.below(5) == 0 { members.append("\"goods_count\":\(value())") }
                if random.below(7) == 0 { members.append("\"goods\\u005fcount\":\(value())") }
                members.shuffle(using: &random)
                lines.append("{" + members.joined(separator: ",") + "}")
            }
            var members = [
                "\"stockin_no\":\"RK\(i)\"", "\"status\":\(["80", "\"80\"", "\"80.0\"", "\" 80\"", "90", "\"90\"", "8e1"][random.below(7)])",
                "\"stockin_time\":\(dates[random.below(dates.count)])",
                "\"warehouse_no\":\(["\"W1\"", "\" W1 \"", "\"W 2\"", "\"W3\"", "7"][random.below(5)])",
                "\"details_list\":[\(lines.joined(separator: ","))]", "\"junk\":[\"a\",{\"b\":1}]",
            ]
            members.shuffle(using: &random)
            let json = "{" + members.joined(separator: ",") + "}"
            let origin = DocumentOrigin(file: "in.json", jsonPath: "$[\(i)]", line: nil, fileIndex: 0, position: i)
            func transform(_ keeping: JSONKeySet?) throws -> TransformResult {
                let document = try JSONReader.parse(Array(json.utf8), keeping: keeping)
                return transformer.transform(
                    StockInOrder(key: document["stockin_no"]?.scalarText, version: nil, document: document, origin: origin))
            }
            let whole = try transform(nil)
            #expect(try transform(keys) == whole, "\(json)")
            guard case .bill(let bill) = whole else { continue }
            bills += 1
            #expect(JSONWriter(style: .pretty).bytes(bill.payload) == bill.bytes, "\(json)")
            for line in bill.payload["data"]?["Model"]?["FEntity"]?.arrayValue ?? [] {
                guard case .number(let quantity)? = line["FQty"], case .number(let rounded)? = line["FQty2"] else { continue }
                #expect(ExactDecimal(quantity)?.rounded(toScale: 2).description == rounded, "\(json)")
            }
        }
        #expect(bills > 100)
    }
}
