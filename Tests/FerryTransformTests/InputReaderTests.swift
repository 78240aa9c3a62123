import FerryCore
import FerryTemplate
import FerryTestSupport
import FerryTransform
import Testing

private let source = SourceSpec(api: "wdt.stockin.order.query", list: "stockin_list", key: "stockin_no", versionField: "modified", parameters: [], line: 1)

private func read(_ text: String, file: String = "in.json") -> InputFile {
    InputReader.read(Array(text.utf8), file: file, fileIndex: 0, source: source)
}

@Suite struct InputReaderTests {
    @Test func readsAllFourShapes() {
        let qimen = read(#"{"response":{"errorcode":0,"total_count":1,"stockin_list":[{"stockin_no":"A","modified":"1"}]}}"#)
        #expect(qimen.shape == .qimenPage && qimen.orders.map(\.origin.jsonPath) == ["$.response.stockin_list[0]"])
        let direct = read(#"{"code":0,"message":"","total_count":2,"stockin_list":[{"stockin_no":"A"},{"stockin_no":"B"}]}"#)
        #expect(direct.shape == .openAPIPage && direct.orders.map(\.key) == ["A", "B"])
        let array = read(#"[{"stockin_no":"A"},{"stockin_no":123}]"#)
        #expect(array.shape == .array && array.orders.map(\.key) == ["A", "123"])
        let lines = read("{\"stockin_no\":\"A\"}\n{\"stockin_no\":\"B\"}\n", file: "x.jsonl")
        #expect(lines.shape == .jsonLines && lines.orders.map(\.origin.line) == [1, 2])
        let unnamedLines = read("{\"stockin_no\":\"A\"}\n{\"stockin_no\":\"B\"}\n")
        #expect(unnamedLines.shape == .jsonLines && unnamedLines.orders.count == 2)
        #expect([qimen, direct, array, lines].allSatisfy { $0.diagnostics.isEmpty })
    }

    /// Exports from Windows tools are often "Unicode" (UTF-16) or GBK/GB18030: the error names the encoding
    /// and how to convert the file, instead of a stray byte.
    @Test func filesNotInUTF8SayWhichEncodingAndHowToConvert() throws {
        let dir = TestSupport.fixturesDirectory + "/encodings/"
        for (file, encoding) in [("orders-utf16le-bom.json", "UTF-16LE"), ("orders-utf16be.json", "UTF-16BE")] {
            let input = InputReader.read(try FileSystem.read(dir + file), file: file, fileIndex: 0, source: source)
            #expect(input.orders.isEmpty && input.diagnostics.count == 1, "\(input.diagnostics)")
            #expect(
                input.diagnostics.first?.message
                    == "the file is \(encoding), not UTF-8; no document of this file was read: save or export it as UTF-8 "
                    + "(iconv -f \(encoding) -t UTF-8), then run transform again")
            #expect(input.diagnostics.first?.line == 1)
        }
        for file in ["orders-gb18030.json", "orders-gb18030.jsonl"] {
            let input = InputReader.read(try FileSystem.read(dir + file), file: file, fileIndex: 0, source: source)
            #expect(input.orders.isEmpty && input.diagnostics.count == 1, "\(input.diagnostics)")
            let message = try #require(input.diagnostics.first?.message)
            #expect(message.hasPrefix("invalid UTF-8 in string (the file is not UTF-8; saved as GBK/GB18030"), "\(message)")
            #expect(message.contains("iconv -f GB18030 -t UTF-8"))
        }
    }

    @Test func errorResponsesAreErrorsNotEmptyPages() {
        for text in [
            #"{"error_response":{"code":27,"msg":"Invalid signature"}}"#,
            #"{"response":{"errorcode":100,"message":"超过每分钟最大调用频率限制"}}"#,
            #"{"response":{"flag":"failure","code":"sign-check-failure","message":"Illegal request"}}"#,
            #"{"code":1020,"message":"系统异常，请稍后再试！","total_count":null,"stockin_list":null}"#,
            // The shapes the extract refuses too: a code under response, a flag in another case, no page at all.
            #"{"response":{"code":"1020","message":"系统异常，请稍后再试！","stockin_list":null}}"#,
            #"{"response":{"flag":"FAILURE","message":"Illegal request"}}"#,
            #"{"flag":"failure","message":"Illegal request"}"#,
            #"{"code":0,"message":"ok"}"#,
            #"{"response":{"errorcode":0}}"#,
        ] {
            let input = read(text)
            #expect(input.orders.isEmpty && input.diagnostics.count == 1 && input.diagnostics[0].severity == .error, "\(text)")
        }
        #expect(read(#"{"code":0,"total_count":0,"stockin_list":null}"#).diagnostics.isEmpty)
        #expect(read(#"{"response":{"code":"0","flag":"success","total_count":0}}"#).diagnostics.isEmpty)
        // An order of its own may have a field named code.
        #expect(read(#"{"stockin_no":"A","code":"X1"}"#).orders.map(\.key) == ["A"])
    }

    /// A page whose total says it has orders but whose list is null is as wrong as one without the list;
    /// with a total of 0 (or none) either is an empty page.
    @Test func aNullListWithAPositiveTotalIsAnErrorLikeAMissingOne() {
        for (text, path) in [
            (#"{"code":0,"total_count":5,"stockin_list":null}"#, "$.stockin_list"),
            (#"{"response":{"errorcode":0,"total_count":5,"stockin_list":null}}"#, "$.response.stockin_list"),
            (#"{"code":0,"total_count":5}"#, "$"),
            (#"{"response":{"errorcode":0,"total_count":"5"}}"#, "$.response"),
        ] {
            let input = read(text, file: "p.json")
            #expect(input.orders.isEmpty, "\(text)")
            #expect(input.diagnostics.count == 1 && input.diagnostics.first?.severity == .error, "\(text)")
            #expect(input.diagnostics.first?.file == "p.json" && input.diagnostics.first?.jsonPath == path, "\(text)")
            #expect(input.diagnostics.first?.message.hasPrefix("the page says total_count 5 but ") == true, "\(text)")
        }
        for text in [
            #"{"code":0,"total_count":0,"stockin_list":null}"#, #"{"code":0,"stockin_list":null}"#,
            #"{"response":{"errorcode":0,"total_count":0,"stockin_list":null}}"#,
            #"{"code":0,"total_count":0}"#,
        ] {
            let input = read(text)
            #expect(input.orders.isEmpty && input.diagnostics.isEmpty, "\(text)")
        }
    }

    @Test func truncatedFileNamesItsPosition() {
        let input = read("{\"response\":{\"errorcode\":0,\n\"stockin_list\":[{\"stockin_no\":\"A\"", file: "p.json")
        #expect(input.orders.isEmpty)
        #expect(input.diagnostics.map(\.description) == [
            "p.json:2:34: error: unexpected end of data: expected ',' or '}' (is the file truncated?); no document of this file was read: fix or re-export it, then run transform again"
        ])
    }

    @Test func badJSONLinesLineLosesOnlyItself() {
        let input = read("{\"stockin_no\":\"A\"}\n{\"stockin_no\":\n{\"stockin_no\":\"C\"}\n[1]\n", file: "x.jsonl")
        #expect(input.orders.map(\.key) == ["A", "C"])
        #expect(input.diagnostics.map { $0.line } == [2, 4])
    }

    @Test func nonObjectElementsAreReported() {
        let input = read(#"[{"stockin_no":"A"}, "RK2", null]"#)
        #expect(input.orders.count == 1)
        #expect(input.diagnostics.map(\.jsonPath) == ["$[1]", "$[2]"])
    }
}

@Suite struct DeduplicationTests {
    @Test(arguments: [
        ("2026-01-09 08:00:00", "2026-01-08 11:30:00", true), ("2026-01-08 11:30:00", "2026-01-09 08:00:00", false),
        ("2026-01-01 00:00:00", "2026-01-01 00:00:00", true), ("10", "9", true),
        // Without a version a document never replaces a dated one, whichever is read first.
        (nil, "2026-01-01 00:00:00", false), ("2026-01-01 00:00:00", nil, true), ("", "2026-01-01 00:00:00", false),
        (nil, nil, true), (nil, "", true),
        ("9", "10", false), ("9.50", "9.5", true),
        // Date-times in different layouts (a page and a re-export) compare by the time they name, not as text.
        ("2026-01-10 09:00:00", "2026-01-10T08:00:00", true), ("2026-01-10T08:00:00", "2026-01-10 09:00:00", false),
        ("2026-01-10 09:00:00", "2026/01/10 08:00:00", true), ("2026/01/10 08:00:00", "2026-01-10 09:00:00", false),
        ("2026-01-10 08:00:00", "2026-01-10T08:00:00", true), ("2026-01-10T08:00:00", "2026-01-10 08:00:00", true),
        ("2026-01-10 08:00:00.5", "2026-01-10T08:00:00.45", true), ("2026-01-10T08:00:00.45", "2026-01-10 08:00:00.5", false),
        ("2026-01-10 08:00:00.50", "2026-01-10T08:00:00.5", true), ("2026-01-10", "2026-01-10T00:00:01", false),
        (" 2026-01-10 09:00:00", "2026-01-10T08:00:00", true),
    ] as [(String?, String?, Bool)])
    func theNewestVersionWinsAndTiesGoToTheLaterRead(later: String?, earlier: String?, replaces: Bool) {
        #expect(Deduplication.replaces(later, earlier) == replaces)
    }
}

/// Reading only the members a template can see must not change any transform result.
@Suite struct ProjectedReadingTests {
    @Test func readingOnlyTheTemplatesMembersChangesNoResult() throws {
        let root = TestSupport.repositoryRoot
        let (loaded, diagnostics) = MappingTemplate.load(path: root + "/Templates/wdt-stockin-to-kingdee-other-inbound.xml")
        let template = try #require(loaded, "\(diagnostics)")
        var lookups: [String: LookupTable] = [:]
        for (name, file, key, value) in [
            ("warehouses", "warehouses.csv", "wdt_warehouse_no", "kingdee_stock_number"),
            ("materials", "materials.csv", "spec_no", "kingdee_material_number"),
        ] {
            let path = TestSupport.fixturesDirectory + "/lookups/" + file
            lookups[name] = try LookupTable.parseCSV(FileSystem.read(path), file: path, name: name, keyColumn: key, valueColumn: value)
        }
        let transformer = Transformer(context: TransformContext(template: template, lookups: lookups, settings: ["org_number": "100"]))
        let keys = InputReader.keySet(for: template)
        #expect(keys.contains("details_list") && keys.contains("spec_no") && keys.contains("response") && !keys.contains("brand_name"))
        let files = try FileSystem.filesRecursively(under: TestSupport.fixturesDirectory + "/wdt")
            + FileSystem.filesRecursively(under: TestSupport.fixturesDirectory + "/malformed")
        var documents = 0
        for file in files {
            let bytes = try FileSystem.read(file)
            let whole = InputReader.read(bytes, file: file, fileIndex: 0, source: template.source)
            let projected = InputReader.read(bytes, file: file, fileIndex: 0, source: template.source, keeping: keys)
            #expect(whole.diagnostics == projected.diagnostics, "\(file)")
            #expect(whole.shape == projected.shape && whole.orders.count == projected.orders.count, "\(file)")
            for (a, b) in zip(whole.orders, projected.orders) {
                #expect(a.key == b.key && a.version == b.version && a.origin == b.origin)
                #expect(transformer.transform(a) == transformer.transform(b), "\(file) \(a.origin.jsonPath)")
                documents += 1
            }
        }
        #expect(documents > 10)
    }

    /// An order repeating a member the template reads is rejected, naming the member, instead of being
    /// mapped from the last of the values; the page's other orders are not affected. A page repeating its
    /// list (the first list's orders would be lost) is refused whole.
    @Test func repeatedMembersRejectTheirOrderOrTheirFile() throws {
        let root = TestSupport.repositoryRoot
        let (loaded, diagnostics) = MappingTemplate.load(path: root + "/Templates/wdt-stockin-to-kingdee-other-inbound.xml")
        let template = try #require(loaded, "\(diagnostics)")
        let keys = InputReader.keySet(for: template)
        let line = #"{"spec_no": "M1", "goods_count": "2.0000", "brand_name": "a", "brand_name": "b"}"#
        let twice = #"{"spec_no": "M1", "goods_count": "2.0000", "goods_count": "20.0000"}"#
        let page = #"{"response": {"errorcode": 0, "total_count": 2, "stockin_list": ["#
            + #"{"stockin_no": "RK1", "warehouse_no": "WH001", "details_list": [\#(line), \#(twice)]},"#
            + #"{"stockin_no": "RK2", "warehouse_no": "WH001", "brand_name": "x", "brand_name": "y", "details_list": [\#(line)]}]}}"#
        let input = InputReader.read(Array(page.utf8), file: "p.json", fileIndex: 0, source: template.source, keeping: keys)
        #expect(input.diagnostics.isEmpty)
        #expect(input.orders.map(\.repeatedMembers) == [["$.response.stockin_list[0].details_list[1].goods_count"], []])
        let transformer = Transformer(context: TransformContext(template: template, lookups: [:], settings: ["org_number": "100"]))
        guard case .rejected(let reasons) = transformer.transform(input.orders[0]) else {
            Issue.record("an order with a repeated goods_count was not rejected")
            return
        }
        #expect(reasons.map(\.jsonPath) == ["$.response.stockin_list[0].details_list[1].goods_count"])
        #expect(reasons.first?.message.contains("appears more than once") == true)

        let lines = InputReader.read(Array((line + "\n" + twice + "\n").utf8), file: "l.jsonl", fileIndex: 0, source: template.source, keeping: keys)
        #expect(lines.orders.map(\.repeatedMembers) == [[], ["$.goods_count"]])

        let twoLists = #"{"response": {"errorcode": 0, "total_count": 2, "stockin_list": [{"stockin_no": "RK1"}], "stockin_list": [{"stockin_no": "RK2"}]}}"#
        let refused = InputReader.read(Array(twoLists.utf8), file: "p.json", fileIndex: 0, source: template.source, keeping: keys)
        #expect(refused.orders.isEmpty)
        #expect(refused.diagnostics.map(\.jsonPath) == ["$.response.stockin_list"])
        #expect(refused.diagnostics.first?.message.contains("'stockin_list' appears more than once") == true)
    }

    @Test func conditionsSeeTheWholeValueTheyTest() throws {
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <scheme xmlns="urn:ferry:scheme:1" name="t" version="1.0.0">
              <source api="wdt.stockin.order.query" list="stockin_list" key="stockin_no"/>
              <target form="STK_MISCELLANEOUS" number="FBillNo"/>
              <filter when="extra.flag == 1"/>
              <bill>
                <field name="FBillNo" path="stockin_no" required="true"/>
                <entries name="FEntity" path="details_list" when="tags">
                  <field name="FQty" path="num" type="decimal"/>
                </entries>
              </bill>
            </scheme>
            """
        let (loaded, diagnostics) = MappingTemplate.parse(Array(text.utf8), file: "t.xml")
        let template = try #require(loaded, "\(diagnostics)")
        #expect(template.sourceKeys == ["stockin_list", "stockin_no", "extra", "flag", "details_list", "tags", "num"])
        #expect(template.sourceKeysTestedWhole == ["flag", "tags"])
    }
}
