import FerryCore
import FerryTemplate
import FerryTransform
import Testing

/// A template whose <bill> is `bill`, with the given lookups/maps and filters.
private func template(_ bill: String, declarations: String = "", filters: String = "") throws -> MappingTemplate {
    let text = """
        <?xml version="1.0" encoding="UTF-8"?>
        <scheme xmlns="urn:ferry:scheme:1" name="t" version="2.1.0">
          <source api="wdt.stockin.order.query" list="stockin_list" key="stockin_no" version="modified"/>
          <target form="STK_MISCELLANEOUS" number="FBillNo"><option name="IsVerifyBaseDataField">true</option></target>
          \(declarations)
          \(filters)
          <bill>
            <field name="FBillNo" path="stockin_no" required="true"/>
            \(bill)
          </bill>
        </scheme>
        """
    let (template, diagnostics) = MappingTemplate.parse(Array(text.utf8), file: "t.xml")
    return try #require(template, "\(diagnostics)")
}

private func order(_ json: String, path: String = "$.stockin_list[0]") throws -> StockInOrder {
    let value = try JSONReader.parse(json)
    let origin = DocumentOrigin(file: "in.json", jsonPath: path, line: nil, fileIndex: 0, position: 0)
    return StockInOrder(key: value["stockin_no"]?.scalarText, version: value["modified"]?.scalarText, document: value, origin: origin)
}

private func run(
    _ template: MappingTemplate, _ json: String, lookups: [String: LookupTable] = [:], settings: [String: String] = ["org_number": "100"]
) throws -> TransformResult {
    Transformer(context: TransformContext(template: template, lookups: lookups, settings: settings)).transform(try order(json))
}

private func model(_ result: TransformResult) throws -> JSONValue {
    guard case .bill(let bill) = result else {
        Issue.record("expected a bill, got \(result)")
        throw CancellationError()
    }
    return try #require(bill.payload["data"]?["Model"])
}

private func reasons(_ result: TransformResult) -> [String] {
    guard case .rejected(let reasons) = result else { return [] }
    return reasons.map { "\($0.field ?? "-"): \($0.message) @ \($0.jsonPath ?? "-")" }
}

/// Three lookups, one per `on-miss` (each holding `A` → `1.01`), and an inline map `kinds` (`6` → 其他入库).
private let threeLookups = (
    declarations: """
        <lookup name="pass" file="p.csv" key="k" value="v" on-miss="pass"/>
        <lookup name="reject" file="r.csv" key="k" value="v"/>
        <lookup name="dflt" file="d.csv" key="k" value="v" on-miss="default" default="CK999"/>
        <map name="kinds"><entry key="6" value="其他入库"/></map>
        """,
    tables: [
        "pass": LookupTable(name: "pass", entries: ["A": "1.01"], file: "lookups/p.csv"),
        "reject": LookupTable(name: "reject", entries: ["A": "1.01"], file: "lookups/r.csv"),
        "dflt": LookupTable(name: "dflt", entries: ["A": "1.01"], file: "lookups/d.csv"),
    ]
)

@Suite struct TransformerTests {
    @Test func writesACompleteSaveRequestWithOptionsInOrder() throws {
        let result = try run(try template(""), #"{"stockin_no":"RK1"}"#)
        guard case .bill(let bill) = result else { Issue.record("\(result)"); return }
        #expect(bill.number == "RK1")
        #expect(
            JSONWriter(style: .compact).string(bill.payload)
                == #"{"formid":"STK_MISCELLANEOUS","data":{"IsDeleteEntry":true,"IsVerifyBaseDataField":true,"ValidateFlag":true,"NumberSearch":true,"IsAutoSubmitAndAudit":false,"Model":{"FBillNo":"RK1"}}}"#)
    }

    @Test func valueSources() throws {
        let t = try template("""
            <field name="A" path="a.b"/>
            <field name="C" const="固定"/>
            <field name="T" template="{a.b}-{$org_number}-{missing}"/>
            <field name="S" setting="org_number"/>
            """)
        let m = try model(try run(t, #"{"stockin_no":"RK1","a":{"b":"x"}}"#))
        #expect(m["A"] == "x")
        #expect(m["C"] == "固定")
        #expect(m["T"] == "x-100-")
        #expect(m["S"] == "100")
    }

    @Test func typesKeepDecimalsExactAndReformatDates() throws {
        let t = try template("""
            <field name="Q" path="q" type="decimal"/>
            <field name="P" path="p" type="decimal" scale="2"/>
            <field name="N" path="n" type="integer"/>
            <field name="B" path="b" type="bool"/>
            <field name="D" path="d" type="date"/>
            <field name="DT" path="d" type="datetime"/>
            <field name="S" path="q"/>
            """)
        let m = try model(try run(t, #"{"stockin_no":"RK1","q":"10.0000","p":12.345,"n":"7","b":1,"d":"2026-01-05 10:20:00"}"#))
        #expect(m["Q"] == .number("10.0000"))
        #expect(m["P"] == .number("12.35"))
        #expect(m["N"] == .number("7"))
        #expect(m["B"] == .bool(true))
        #expect(m["D"] == "2026-01-05")
        #expect(m["DT"] == "2026-01-05 10:20:00")
        #expect(m["S"] == "10.0000")
    }

    @Test func conversionErrorsRejectWithJSONPath() throws {
        let t = try template("<field name=\"Q\" path=\"q\" type=\"decimal\"/>\n<field name=\"D\" path=\"d\" type=\"date\"/>")
        let r = reasons(try run(t, #"{"stockin_no":"RK1","q":"1,000","d":"2026-02-30"}"#))
        #expect(r == [
            "Q: '1,000' is not a decimal number @ $.stockin_list[0].q",
            "D: '2026-02-30' is not a valid calendar date @ $.stockin_list[0].d",
        ])
    }

    @Test func referencesRenderAsBaseDataObjects() throws {
        let t = try template("<ref name=\"FStockOrgId\" setting=\"org_number\"/>\n<ref name=\"FBillTypeID\" key=\"FNUMBER\" const=\"QTRKD01_SYS\"/>")
        let m = try model(try run(t, #"{"stockin_no":"RK1"}"#))
        #expect(m["FStockOrgId"] == ["FNumber": "100"])
        #expect(m["FBillTypeID"] == ["FNUMBER": "QTRKD01_SYS"])
    }

    @Test func defaultsRequiredAndOmitEmpty() throws {
        let t = try template("""
            <field name="R" path="r" required="true"/>
            <field name="D" path="d" default="无"/>
            <ref name="L" path="l" omit-empty="true"/>
            <field name="M" path="m"/>
            <field name="E" path="e"/>
            """)
        let m = try model(try run(t, #"{"stockin_no":"RK1","r":"x","l":"","e":""}"#))
        #expect(m["D"] == "无")
        #expect(m["L"] == nil)
        #expect(m["M"] == nil, "a missing optional value is left out")
        #expect(m["E"] == "", "an empty string stays an empty string")
        let r = reasons(try run(t, #"{"stockin_no":"RK1","r":""}"#))
        #expect(r == ["R: required value is missing or empty (source 'r') @ $.stockin_list[0].r"])
    }

    @Test func lookupsPassRejectOrDefault() throws {
        let t = try template(
            """
            <ref name="P" path="code" lookup="pass"/>
            <ref name="R" path="code" lookup="reject"/>
            <ref name="D" path="code" lookup="dflt"/>
            <field name="K" path="kind" lookup="kinds"/>
            <field name="O" path="code" lookup="pass" on-miss="default" default="OVERRIDE"/>
            """,
            declarations: threeLookups.declarations)
        let tables = threeLookups.tables
        let hit = try model(try run(t, #"{"stockin_no":"RK1","code":"A","kind":6}"#, lookups: tables))
        #expect(hit["P"] == ["FNumber": "1.01"] && hit["R"] == ["FNumber": "1.01"] && hit["D"] == ["FNumber": "1.01"])
        #expect(hit["K"] == "其他入库")
        let miss = try run(t, #"{"stockin_no":"RK1","code":"Z","kind":"6"}"#, lookups: tables)
        #expect(reasons(miss) == [
            "R: 'Z' is not in lookups/r.csv; add it there (or set on-miss=\"pass\" or \"default\") @ $.stockin_list[0].code"
        ])
        let t2 = try template(
            "<ref name=\"P\" path=\"code\" lookup=\"pass\"/>\n<ref name=\"D\" path=\"code\" lookup=\"dflt\"/>\n<field name=\"O\" path=\"code\" lookup=\"pass\" on-miss=\"default\" default=\"OVERRIDE\"/>\n<field name=\"K\" path=\"kind\" lookup=\"kinds\"/>",
            declarations: """
                <lookup name="pass" file="p.csv" key="k" value="v" on-miss="pass"/>
                <lookup name="dflt" file="d.csv" key="k" value="v" on-miss="default" default="CK999"/>
                <map name="kinds"><entry key="6" value="其他入库"/></map>
                """)
        let m = try model(try run(t2, #"{"stockin_no":"RK1","code":"Z","kind":"6"}"#, lookups: tables))
        #expect(m["P"] == ["FNumber": "Z"])
        #expect(m["D"] == ["FNumber": "CK999"])
        #expect(m["O"] == "OVERRIDE")
        _ = try #require(reasons(try run(t2, #"{"stockin_no":"RK1","code":"A","kind":"4"}"#, lookups: tables)).first)
    }

    @Test func aSourceValueWithSpacesAroundItFindsItsTrimmedLookupKey() throws {
        let t = try template(
            #"<ref name="S" path="warehouse_no" lookup="stocks"/>"#,
            declarations: #"<lookup name="stocks" file="w.csv" key="k" value="v" on-miss="pass"/>"#)
        let tables = ["stocks": LookupTable(name: "stocks", entries: ["WH-SH01": "CK001"], file: "lookups/w.csv")]
        for value in ["WH-SH01 ", " WH-SH01", "\\tWH-SH01", "WH-SH01\\r", "WH-SH01\u{3000}", "\u{A0}WH-SH01"] {
            let m = try model(try run(t, #"{"stockin_no":"RK1","warehouse_no":"\#(value)"}"#, lookups: tables))
            #expect(m["S"] == ["FNumber": "CK001"], "'\(value)'")
        }
    }

    /// A lookup file's key, a `<map>` key and the value looked up are trimmed by one rule, per Unicode scalar: a
    /// space before a combining mark is dropped and the mark kept, so the value finds the row written as it is
    /// (and "A \u{301}", which ends in a mark, is no key with a space after it). A space and a mark alone is a
    /// key, not a blank value.
    @Test func aSpaceBeforeACombiningMarkIsTrimmedAlikeInTheLookupAndInTheValue() throws {
        let t = try template(
            #"<ref name="S" path="code" lookup="codes"/><field name="M" path="code" lookup="marks"/>"#,
            declarations: #"<lookup name="codes" file="c.csv" key="k" value="v"/>"#
                + "<map name=\"marks\"><entry key=\" \u{301}B\" value=\"MB\"/><entry key=\"A \u{301}\" value=\"MA\"/>"
                + "<entry key=\" \u{301}\" value=\"MM\"/></map>")
        let csv = "k,v\n\" \u{301}B\",\" \u{301}CK-B\"\nA \u{301},CK-A\n \u{301},CK-M\n"
        let tables = [
            "codes": try LookupTable.parseCSV(Array(csv.utf8), file: "lookups/c.csv", name: "codes", keyColumn: "k", valueColumn: "v")
        ]
        for (value, code, mapped) in [
            (" \u{301}B", "\u{301}CK-B", "MB"), ("\u{301}B", "\u{301}CK-B", "MB"), ("\u{301}B ", "\u{301}CK-B", "MB"),
            ("A \u{301}", "CK-A", "MA"), (" A \u{301}\u{3000}", "CK-A", "MA"), (" \u{301}", "CK-M", "MM"),
        ] {
            let m = try model(try run(t, #"{"stockin_no":"RK1","code":"\#(value)"}"#, lookups: tables))
            #expect(m["S"] == ["FNumber": .string(code)] && m["M"] == .string(mapped), "\(Array(value.unicodeScalars)): \(m)")
        }
        // The mark is part of the key: without it, or with the space dropped with it, there is no such row.
        for value in ["B", "A", "A "] {
            #expect(
                reasons(try run(t, #"{"stockin_no":"RK1","code":"\#(value)"}"#, lookups: tables)).first?.hasPrefix(
                    "S: '\(value)' is not in lookups/c.csv") == true, "'\(value)'")
        }
    }

    /// A lookup row with an empty value (a row not filled in yet) rejects a required field naming the row's
    /// key and the file, not "missing or empty": the source value is there.
    @Test func aRequiredFieldWhoseLookupEntryIsEmptyNamesTheEntry() throws {
        let t = try template(
            #"<ref name="S" path="warehouse_no" lookup="stocks" required="true"/><ref name="M" path="code" lookup="kinds" required="true"/>"#,
            declarations: #"<lookup name="stocks" file="w.csv" key="k" value="v" on-miss="pass"/><map name="kinds"><entry key="6" value=""/></map>"#)
        let tables = ["stocks": LookupTable(name: "stocks", entries: ["WH-SH01": ""], file: "lookups/w.csv")]
        #expect(
            reasons(try run(t, #"{"stockin_no":"RK1","warehouse_no":"WH-SH01","code":6}"#, lookups: tables)) == [
                "S: 'WH-SH01' maps to an empty value in lookups/w.csv; fill it in there @ $.stockin_list[0].warehouse_no",
                "M: '6' maps to an empty value in map 'kinds'; fill it in there @ $.stockin_list[0].code",
            ])
        #expect(
            reasons(try run(t, #"{"stockin_no":"RK1","code":6}"#, lookups: tables)).first
                == "S: required value is missing or empty (source 'warehouse_no') @ $.stockin_list[0].warehouse_no")
    }

    /// Load refuses a bill number with spaces around it (Kingdee may keep it trimmed); the transform says so
    /// first, with the source value's JSON path, instead of writing a payload that can never be loaded.
    @Test func aBillNumberWithSpacesAroundItIsRejectedWithItsJSONPath() throws {
        let t = try template("")
        for number in [" RK1", "RK1\\t", "RK1\\n"] {
            #expect(
                reasons(try run(t, #"{"stockin_no":"\#(number)"}"#)).first?.hasSuffix(
                    "has leading or trailing spaces, which Kingdee may not keep; trim them in the source data or the template, "
                        + "then transform again @ $.stockin_list[0].stockin_no") == true, "\(number)")
        }
        #expect(reasons(try run(t, #"{"stockin_no":"RK 1"}"#)).isEmpty)
    }

    @Test func aBlankNumberTakesTheDefaultAsAnEmptyOneDoes() throws {
        let t = try template(#"<field name="FPrice" path="cost_price" type="decimal" default="0"/>"#)
        for value in ["\"\"", "\" \"", "\"\u{3000}\"", "null"] {
            let m = try model(try run(t, #"{"stockin_no":"RK1","cost_price":\#(value)}"#))
            #expect(m["FPrice"] == .number("0"), "\(value)")
        }
    }

    @Test func aBlankNumberWithALookupIsMissingNotALookupMiss() throws {
        let t = try template(
            #"<field name="FQty" path="goods_count" type="decimal" lookup="qty" required="true"/>"#,
            declarations: #"<map name="qty"><entry key="1" value="10"/></map>"#)
        for value in ["\" \"", "\"\u{3000}\""] {
            #expect(
                reasons(try run(t, #"{"stockin_no":"RK1","goods_count":\#(value)}"#))
                    == ["FQty: required value is missing or empty (source 'goods_count') @ $.stockin_list[0].goods_count"], "\(value)")
        }
        #expect(try model(try run(t, #"{"stockin_no":"RK1","goods_count":"1"}"#))["FQty"] == .number("10"))
    }

    /// A blank code in a field with a lookup is missing, whatever the lookup's on-miss: never looked up, never
    /// sent as `{"FNumber": " "}` (which Kingdee refuses). The field's default, required or omission applies;
    /// the lookup's miss default does not (nothing missed).
    @Test func aBlankTextWithALookupIsMissingNotALookupMiss() throws {
        let (declarations, tables) = threeLookups
        let required = try template(
            """
            <ref name="P" path="code" lookup="pass" required="true"/>
            <ref name="R" path="code" lookup="reject" required="true"/>
            <ref name="D" path="code" lookup="dflt" required="true"/>
            """, declarations: declarations)
        let optional = try template(
            """
            <ref name="P" path="code" lookup="pass"/>
            <ref name="R" path="code" lookup="reject"/>
            <ref name="D" path="code" lookup="dflt"/>
            <ref name="F" path="code" lookup="pass" default="A"/>
            <field name="K" path="code" lookup="kinds" on-miss="pass"/>
            <ref name="N" path="code"/>
            <field name="T" path="code"/>
            """, declarations: declarations)
        for value in ["\" \"", "\"\\t\"", "\"\u{3000}\"", "\"\""] {
            let json = #"{"stockin_no":"RK1","code":\#(value)}"#
            #expect(
                reasons(try run(required, json, lookups: tables))
                    == ["P", "R", "D"].map { "\($0): required value is missing or empty (source 'code') @ $.stockin_list[0].code" },
                "\(value)")
            let m = try model(try run(optional, json, lookups: tables))
            #expect(m["P"] == nil && m["R"] == nil && m["D"] == nil && m["K"] == nil, "\(value): \(m)")
            #expect(m["N"] == nil, "\(value): a blank reference without a lookup is not sent either")
            #expect(m["T"] != nil, "\(value): a plain text field keeps its blank value")
            #expect(m["F"] == ["FNumber": "1.01"], "\(value): the default is looked up")
        }
        // A code with visible characters is still looked up (trimmed), and a miss is still a miss.
        let m = try model(try run(optional, #"{"stockin_no":"RK1","code":" A "}"#, lookups: tables))
        #expect(m["P"] == ["FNumber": "1.01"] && m["R"] == ["FNumber": "1.01"] && m["D"] == ["FNumber": "1.01"])
        #expect(try model(try run(optional, #"{"stockin_no":"RK1","code":"Z"}"#, lookups: tables.filter { $0.key != "reject" }))["D"]
            == ["FNumber": "CK999"])
    }

    @Test func anUndecidableLineFilterOnTheOrderNamesTheOrdersJSONPath() throws {
        let t = try template("""
            <entries name="FEntity" path="details_list" when="../order_type &gt; 0">
              <field name="FQty" path="goods_count" type="decimal"/>
            </entries>
            """)
        let result = try run(t, #"{"stockin_no":"RK1","order_type":"x","details_list":[{"goods_count":"1"}]}"#)
        #expect(reasons(result).count == 1)
        #expect(reasons(result).first?.hasSuffix("@ $.stockin_list[0].order_type") == true, "\(reasons(result))")
    }

    @Test func entriesWithParentAccessAndLineFilter() throws {
        let t = try template("""
            <entries name="FEntity" path="details_list" when="goods_count &gt; 0" min="1">
              <ref name="FSTOCKID" path="../warehouse_no"/>
              <field name="FQty" path="goods_count" type="decimal"/>
              <field name="Note" template="{../stockin_no}/{spec_no}"/>
            </entries>
            """)
        let json = #"{"stockin_no":"RK1","warehouse_no":"WH1","details_list":[{"spec_no":"A","goods_count":"2"},{"spec_no":"B","goods_count":0},{"spec_no":"C","goods_count":"-1"},{"spec_no":"D","goods_count":1.50}]}"#
        let result = try run(t, json)
        guard case .bill(let bill) = result else { Issue.record("\(result)"); return }
        #expect(bill.lines == 2 && bill.droppedLines == 2)
        let entries = try #require(bill.payload["data"]?["Model"]?["FEntity"]?.arrayValue)
        #expect(entries.map { $0["Note"] } == ["RK1/A", "RK1/D"])
        #expect(entries.map { $0["FQty"] } == [.number("2"), .number("1.50")])
        #expect(entries.allSatisfy { $0["FSTOCKID"] == ["FNumber": "WH1"] })
    }

    /// A line filter tests the value before the field rounds it: 0.004 passes `goods_count > 0` and, at scale 2,
    /// would be booked as 0.00. A value that is not zero never becomes zero unseen: the document is rejected,
    /// naming the value's JSON path. Zeros, and values that round to something, are written as before.
    @Test func aValueItsScaleRoundsToZeroRejectsTheDocument() throws {
        let t = try template("""
            <field name="FAmount" path="amount" type="decimal" scale="2" default="0"/>
            <entries name="FEntity" path="details_list" when="goods_count &gt; 0" min="1">
              <field name="FQty" path="goods_count" type="decimal" scale="2"/>
            </entries>
            """)
        let advice = "so a value that is not zero would be sent as zero; raise the field's scale, or keep such values out of it "
            + "(any value nearer zero than 0.005 rounds to zero)"
        #expect(
            reasons(try run(t, #"{"stockin_no":"RK1","amount":"-0.004","details_list":[{"goods_count":"2"},{"goods_count":0.004}]}"#))
                == [
                    "FAmount: '-0.004' rounds to 0.00 at scale 2, \(advice) @ $.stockin_list[0].amount",
                    "FEntity[1].FQty: '0.004' rounds to 0.00 at scale 2, \(advice) @ $.stockin_list[0].details_list[1].goods_count",
                ])
        #expect(
            reasons(try run(t, #"{"stockin_no":"RK1","details_list":[{"goods_count":"4e-3"}]}"#)).first?.hasPrefix(
                "FEntity[0].FQty: '4e-3' rounds to 0.00 at scale 2") == true)
        let m = try model(
            try run(t, #"{"stockin_no":"RK1","amount":"-0.000","details_list":[{"goods_count":"0.005"},{"goods_count":" 1.004 "}]}"#))
        #expect(m["FAmount"] == .number("0.00"))
        #expect(m["FEntity"]?.arrayValue?.map { $0["FQty"] } == [.number("0.01"), .number("1.00")])
        #expect(try model(try run(t, #"{"stockin_no":"RK1","details_list":[{"goods_count":"1"}]}"#))["FAmount"] == .number("0.00"))
    }

    /// A quantity or price typed with a full-width (U+3000) or no-break (U+00A0) space around it, or a tab or
    /// line break, is the number, as a lookup key or a blank value is trimmed: the line filter keeps it and the
    /// field writes it exactly. A space inside a number still rejects the document.
    @Test func numbersWithWhiteSpaceAroundThemAreTheNumbersInFieldsAndFilters() throws {
        let t = try template("""
            <field name="FAmount" path="amount" type="decimal" scale="2"/>
            <entries name="FEntity" path="details_list" when="goods_count &gt; 0" min="1">
              <field name="FQty" path="goods_count" type="decimal"/>
              <field name="FLines" path="lines" type="integer"/>
            </entries>
            """)
        let lines = #"[{"goods_count":"\u300012.50","lines":"7\u00a0"},{"goods_count":"\u30000"},"#
            + #"{"goods_count":"\t3\n","lines":"\u3000\u30002.00"},{"goods_count":"\u00a0-1"}]"#
        let m = try model(try run(t, #"{"stockin_no":"RK1","amount":"\u300012.5\u3000","details_list":\#(lines)}"#))
        #expect(m["FAmount"] == .number("12.50"))
        #expect(m["FEntity"]?.arrayValue?.map { $0["FQty"] } == [.number("12.50"), .number("3")])
        #expect(m["FEntity"]?.arrayValue?.map { $0["FLines"] } == [.number("7"), .number("2")])
        #expect(
            reasons(try run(t, #"{"stockin_no":"RK1","amount":"12\u3000.5","details_list":[{"goods_count":"1"}]}"#)) == [
                "FAmount: '12\u{3000}.5' is not a decimal number @ $.stockin_list[0].amount"
            ])
    }

    @Test func orderWithNoLinesLeftIsRejectedWithTheReason() throws {
        let t = try template("""
            <entries name="FEntity" path="details_list" when="goods_count &gt; 0" min="1">
              <field name="FQty" path="goods_count" type="decimal"/>
            </entries>
            """)
        #expect(reasons(try run(t, #"{"stockin_no":"RK1","details_list":[{"goods_count":"0"},{"goods_count":"0.000"}]}"#)) == [
            "FEntity: no lines left: 2 of 2 line(s) were dropped by 'goods_count > 0'; a bill needs at least 1 @ $.stockin_list[0].details_list"
        ])
        #expect(reasons(try run(t, #"{"stockin_no":"RK1","details_list":[]}"#)) == [
            "FEntity: 'details_list' has no lines; a bill needs at least 1 @ $.stockin_list[0].details_list"
        ])
        #expect(reasons(try run(t, #"{"stockin_no":"RK1","details_list":[{"goods_count":"ten"}]}"#)).first?.contains("cannot be decided") == true)
    }

    @Test func documentFilterSkipsWithTheValuesSeen() throws {
        let t = try template("", filters: "<filter when=\"status == 80\" reason=\"only completed orders\"/>")
        #expect(throws: Never.self) { _ = try model(try run(t, #"{"stockin_no":"RK1","status":"80"}"#)) }
        let skipped = try run(t, #"{"stockin_no":"RK1","status":30}"#)
        #expect(skipped == .filtered(FilterOutcome(reason: "only completed orders", detail: "status == 80 is false (status = 30)", templateLine: 6)))
    }

    @Test func everyReasonIsCollected() throws {
        let t = try template("""
            <field name="D" path="d" type="date" required="true"/>
            <entries name="FEntity" path="details_list">
              <ref name="M" path="spec_no" required="true"/>
              <field name="Q" path="goods_count" type="decimal"/>
            </entries>
            """)
        let r = reasons(try run(t, #"{"stockin_no":"RK1","details_list":[{"spec_no":"","goods_count":"x"},{"spec_no":{"a":1},"goods_count":"1"}]}"#))
        #expect(r == [
            "D: required value is missing or empty (source 'd') @ $.stockin_list[0].d",
            "FEntity[0].M: required value is missing or empty (source 'spec_no') @ $.stockin_list[0].details_list[0].spec_no",
            "FEntity[0].Q: 'x' is not a decimal number @ $.stockin_list[0].details_list[0].goods_count",
            "FEntity[1].M: expected a single value at 'spec_no' but found an object @ $.stockin_list[0].details_list[1].spec_no",
        ])
    }

    /// Constants and settings are mapped once per run and written whole: the payload is laid out as
    /// if written value by value, at every depth, and a constant that cannot be mapped still rejects
    /// every document with the field's own name.
    @Test func constantsAreWrittenLikeEveryOtherValue() throws {
        let t = try template(
            """
            <ref name="Org" setting="org_number"/>
            <field name="Kind" const="6" lookup="kinds"/>
            <field name="Qty" const="1.50" type="decimal"/>
            <ref name="Gone" const="" omit-empty="true"/>
            <field name="Empty" setting="empty"/>
            <entries name="FEntity" path="details_list">
              <field name="FSpec" path="spec_no"/>
              <ref name="FOWNERID" setting="org_number"/>
              <field name="FOWNERTYPEID" const="BD_OwnerOrg"/>
              <entries name="FSerial" path="serials">
                <ref name="FStatus" key="FNUMBER" const="KCZT01_SYS"/>
              </entries>
            </entries>
            """,
            declarations: #"<map name="kinds"><entry key="6" value="其他入库"/></map>"#)
        let json = #"{"stockin_no":"RK1","details_list":[{"spec_no":"A","serials":[{},{}]},{"spec_no":"B","serials":[]}]}"#
        let result = try run(t, json, settings: ["org_number": "100", "empty": ""])
        guard case .bill(let bill) = result else { Issue.record("\(result)"); return }
        #expect(bill.bytes == JSONWriter(style: .pretty).bytes(bill.payload), "laid out as the writer lays out the same value")
        let m = try model(result)
        #expect(m["Org"] == ["FNumber": "100"])
        #expect(m["Kind"] == "其他入库")
        #expect(m["Qty"] == .number("1.50"))
        #expect(m["Gone"] == nil)
        #expect(m["Empty"] == "")
        let entries = try #require(m["FEntity"]?.arrayValue)
        #expect(entries.map { $0["FOWNERID"] } == [["FNumber": "100"], ["FNumber": "100"]])
        #expect(entries.map { $0["FOWNERTYPEID"] } == ["BD_OwnerOrg", "BD_OwnerOrg"])
        #expect(entries[0]["FSerial"] == [["FStatus": ["FNUMBER": "KCZT01_SYS"]], ["FStatus": ["FNUMBER": "KCZT01_SYS"]]])
        // Consecutive constants are joined into one write (`Key(joining:depth:)`); the order stays the template's.
        #expect(m.objectValue?.members.map(\.key) == ["FBillNo", "Org", "Kind", "Qty", "Empty", "FEntity"])
        #expect(entries[0].objectValue?.members.map(\.key) == ["FSpec", "FOWNERID", "FOWNERTYPEID", "FSerial"])

        let broken = try template(
            """
            <field name="Qty" setting="qty" type="decimal"/>
            <ref name="Org" setting="org_number" required="true"/>
            <entries name="FEntity" path="details_list"><field name="Kind" const="9" lookup="kinds"/></entries>
            """,
            declarations: #"<map name="kinds"><entry key="6" value="其他入库"/></map>"#)
        for _ in 0..<2 {
            #expect(reasons(try run(broken, json, settings: ["org_number": "", "qty": "ten"])) == [
                "Qty: 'ten' is not a decimal number @ -",
                "Org: required setting 'org_number' is empty @ -",
                "FEntity[0].Kind: '9' is not in map 'kinds'; add it there (or set on-miss=\"pass\" or \"default\") @ -",
                "FEntity[1].Kind: '9' is not in map 'kinds'; add it there (or set on-miss=\"pass\" or \"default\") @ -",
            ])
        }
    }
}
