import FerryCore
import FerrySchemes
import FerryTemplate
import FerryTestSupport
import Testing

@Suite struct MappingTemplateTests {
    @Test func builtInSchemeIsValidWithoutWarnings() throws {
        for name in BuiltInSchemes.templateFileNames {
            let (template, diagnostics) = MappingTemplate.load(path: BuiltInSchemes.path(name))
            #expect(diagnostics.isEmpty, "\(diagnostics)")
            let scheme = try #require(template)
            #expect(scheme.name == "wdt-stockin-to-kingdee-other-inbound")
            #expect(scheme.source.api == "wdt.stockin.order.query")
            // No status: WDT answers completed orders only, and a query by status must name order types too.
            #expect(scheme.source.parameters.isEmpty)
            #expect(scheme.target.form == "STK_MISCELLANEOUS")
            #expect(scheme.target.options.map(\.name) == [
                "IsDeleteEntry", "IsVerifyBaseDataField", "ValidateFlag", "NumberSearch", "IsAutoSubmitAndAudit",
            ])
            #expect(scheme.settingsUsed.keys.sorted() == ["org_number"])
        }
    }

    /// Templates saved by Windows editors (UTF-16, GBK/GB18030) are reported as such, with what to do;
    /// libxml2's own advice ("indicate encoding") does not apply, since templates are read as UTF-8.
    @Test func aTemplateNotInUTF8SaysHowToConvertIt() throws {
        let dir = TestSupport.fixturesDirectory + "/templates/"
        let (utf16, utf16Diagnostics) = MappingTemplate.load(path: dir + "scheme-utf16le.xml")
        #expect(utf16 == nil)
        #expect(
            utf16Diagnostics.map(\.description) == [
                "\(dir)scheme-utf16le.xml:1: error: the template is UTF-16LE; templates are read as UTF-8: save it as UTF-8 "
                    + "(iconv -f UTF-16LE -t UTF-8)"
            ])
        let (gbk, gbkDiagnostics) = MappingTemplate.load(path: dir + "scheme-gb18030.xml")
        #expect(gbk == nil)
        let first = try #require(gbkDiagnostics.first)
        #expect(first.line == 3 && first.severity == .error)
        #expect(first.message.hasPrefix("the file is not UTF-8; saved as GBK/GB18030"), "\(first.message)")
        #expect(first.message.contains("iconv -f GB18030 -t UTF-8") && !first.message.contains("indicate encoding"))
        #expect(!first.message.contains("\n"))
    }

    @Test func anEmptyTemplateSaysSo() {
        for text in ["", "  \n\t\r\n", "\u{FEFF}\n"] {
            #expect(
                parse(text).messages == [
                    "t.xml:1: error: the template is empty; write a <scheme> (`ferry init` copies the built-in one into templates/)"
                ], "\(parse(text).messages)")
        }
    }

    /// A DTD is refused before libxml2 sees it: no external entity is read or fetched, no entity expanded,
    /// and the message says what to do instead of a schema validator's internal error.
    @Test func aTemplateWithADoctypeIsRefusedAtItsLine() {
        let dir = TestSupport.fixturesDirectory + "/templates/"
        for file in ["xxe.xml", "billion-laughs.xml"] {
            let (template, diagnostics) = MappingTemplate.load(path: dir + file)
            #expect(template == nil)
            #expect(
                diagnostics.map(\.description) == [
                    "\(dir)\(file):7: error: a template may not have a <!DOCTYPE> (a DTD or entities, which Ferry never "
                        + "expands or fetches): remove it, and write the text itself where an entity (&name;) was used"
                ], "\(file)")
        }
        // A DOCTYPE in a comment is not one; predefined entities (&gt;) are plain XML.
        let commented = templateText(bill: "").replacingOccurrences(of: "<scheme ", with: "<!-- <!DOCTYPE x> -->\n<scheme ")
        #expect(parse(commented).template != nil, "\(parse(commented).messages)")
    }

    @Test func minimalTemplateParsesAndDefaultsOptions() throws {
        let (template, messages) = parse(templateText(bill: ""))
        #expect(messages.isEmpty, "\(messages)")
        let options = try #require(template).target.options
        #expect(options.first { $0.name == "IsAutoSubmitAndAudit" }?.value == .bool(false))
        #expect(options.first { $0.name == "IsDeleteEntry" }?.value == .bool(true))
    }

    /// XSD reads `xs:boolean` and `xs:nonNegativeInteger` with surrounding white space collapsed; so must
    /// the template, or an attribute that validates would be silently ignored.
    @Test func numberAndBooleanAttributesAreReadAsTheXSDReadsThem() throws {
        let text = templateText(bill: """
                <field name="FNote" path="remark" required=" true "/>
                <entries name="FEntity" path="details_list" min=" 1">
                  <field name="FQty" path="goods_count" type="decimal" scale="2 "/>
                </entries>
            """)
        let (template, messages) = parse(text)
        #expect(messages.isEmpty, "\(messages)")
        let bill = try #require(template).bill
        guard case .value(let note)? = bill.first(where: { $0.name == "FNote" })?.kind,
            case .entries(let entries)? = bill.first(where: { $0.name == "FEntity" })?.kind,
            case .value(let quantity)? = entries.fields.first?.kind
        else {
            Issue.record("unexpected template shape")
            return
        }
        #expect(note.isRequired && entries.minimum == 1 && quantity.scale == 2)
    }

    @Test func aScaleBeyondTwentyIsAnError() {
        let (_, messages) = parse(templateText(bill: #"    <field name="FQty" path="goods_count" type="decimal" scale="1000000000"/>"#))
        #expect(messages.contains { $0.contains("error") && $0.contains("scale") }, "\(messages)")
    }

    /// A constant or default that its scale rounds to zero would reject every document it fills (the transform
    /// refuses to send a value that is not zero as zero): said at validate, at the field's line.
    @Test func aConstantOrDefaultItsScaleRoundsToZeroIsAnError() {
        let (template, messages) = parse(templateText(bill: """
                <field name="FA" const="0.001" type="decimal" scale="2"/>
                <field name="FB" path="discount" type="decimal" scale="0" default="-0.4"/>
                <field name="FC" const="0" type="decimal" scale="2"/>
                <field name="FD" path="discount" type="decimal" scale="1" default="0.05"/>
            """))
        #expect(template == nil)
        #expect(
            messages == [
                "t.xml:12: error: field 'FA': const '0.001' rounds to 0.00 at scale 2, so a value that is not zero would be "
                    + "sent as zero; raise the field's scale, or keep such values out of it (any value nearer zero than 0.005 rounds to zero)",
                "t.xml:13: error: field 'FB': default '-0.4' rounds to 0 at scale 0, so a value that is not zero would be "
                    + "sent as zero; raise the field's scale, or keep such values out of it (any value nearer zero than 0.5 rounds to zero)",
            ], "\(messages)")
    }

    /// A condition tests the value as the source gives it; a field with a scale sends it rounded. When a condition
    /// compares a path that a scaled field maps (the same place in the document, however the path is written),
    /// validate warns at the condition's line, saying what goes wrong and what to write instead.
    @Test func aConditionOnAValueAFieldRoundsIsWarnedAbout() {
        let (template, messages) = parse(
            templateText(
                bill: """
                        <entries name="FEntity" path="details_list" when="goods_count &gt; 0 and num != 0 and spec_no">
                          <field name="FQty" path="goods_count" type="decimal" scale="2"/>
                          <field name="FQty2" path="goods_count" type="decimal" scale="4"/>
                          <field name="FNum" path="num" type="decimal"/>
                          <field name="FAmount" path="../goods_amount" type="decimal" scale="0"/>
                          <field name="FSpec" path="spec_no"/>
                        </entries>
                    """,
                filters: "\n  <filter when=\"goods_amount &gt;= 100 and goods_count &gt; 0\"/>"))
        #expect(template != nil)
        #expect(
            messages == [
                "t.xml:10: warning: condition 'goods_amount >= 100 and goods_count > 0' tests goods_amount unrounded, but field "
                    + "'FAmount' (line 17) rounds it to scale 0: a value less than 0.5 from the limit 100 can pass or fail "
                    + "'goods_amount >= 100' unrounded and be sent rounded the other way; move the limit by half a unit of the "
                    + "scale (0.5), or remove the scale",
                "t.xml:13: warning: condition 'goods_count > 0 and num != 0 and spec_no' tests goods_count unrounded, but field "
                    + "'FQty' (line 14) rounds it to scale 2: 0.004 passes 'goods_count > 0' and would be sent as 0.00, which "
                    + "rejects the document; compare against half a unit of the scale (goods_count >= 0.005), or remove the scale",
            ], "\(messages)")
        // A bare path is a test for zero too, and `0 > x` is `x < 0`.
        let reversed = parse(
            templateText(
                bill: """
                        <entries name="FEntity" path="details_list" when="goods_count or 0 &gt; cost_price">
                          <field name="FQty" path="goods_count" type="decimal" scale="0"/>
                          <field name="FPrice" path="cost_price" type="decimal" scale="1"/>
                        </entries>
                    """))
        #expect(
            reversed.messages == [
                "t.xml:12: warning: condition 'goods_count or 0 > cost_price' tests goods_count unrounded, but field 'FQty' "
                    + "(line 13) rounds it to scale 0: 0.4 passes 'goods_count' and would be sent as 0, which rejects the "
                    + "document; compare against half a unit of the scale (goods_count >= 0.5 or goods_count <= -0.5), or "
                    + "remove the scale",
                "t.xml:12: warning: condition 'goods_count or 0 > cost_price' tests cost_price unrounded, but field 'FPrice' "
                    + "(line 14) rounds it to scale 1: -0.04 passes '0 > cost_price' and would be sent as 0.0, which rejects "
                    + "the document; compare against half a unit of the scale (cost_price <= -0.05), or remove the scale",
            ], "\(reversed.messages)")
        // Without a scale, or on another place of the document, nothing is said.
        #expect(
            parse(
                templateText(
                    bill: """
                            <entries name="FEntity" path="details_list" when="goods_count &gt; 0">
                              <field name="FQty" path="goods_count" type="decimal"/>
                              <field name="FHead" path="../goods_count" type="decimal" scale="2"/>
                            </entries>
                        """)
            ).messages.isEmpty)
    }

    @Test func xsdErrorsPointAtTheLine() {
        let text = templateText(bill: """
                <field name="FDate" path="stockin_time" type="money"/>
                <fieldd name="X" const="1"/>
            """)
        let (template, messages) = parse(text)
        #expect(template == nil)
        #expect(messages.contains { $0.hasPrefix("t.xml:12: error: ") && $0.contains("money") }, "\(messages)")
        #expect(messages.contains { $0.hasPrefix("t.xml:13: error: ") && $0.contains("fieldd") }, "\(messages)")
    }

    @Test func missingRequiredAttributeIsAnXSDError() {
        let (_, messages) = parse(templateText(bill: "    <field path=\"x\"/>"))
        #expect(messages.contains { $0.hasPrefix("t.xml:12: error: ") && $0.contains("name") }, "\(messages)")
    }

    @Test func malformedXMLPointsAtTheLine() {
        let text = "<?xml version=\"1.0\"?>\n<scheme xmlns=\"urn:ferry:scheme:1\">\n  <source>\n</scheme>\n"
        let (template, messages) = parse(text)
        #expect(template == nil)
        #expect(messages.first?.hasPrefix("t.xml:4:") == true, "\(messages)")
        #expect(messages.first?.contains("mismatch") == true, "\(messages)")
    }

    @Test(arguments: [
        ("    <ref name=\"FMATERIALID\" path=\"spec_no\" lookup=\"nosuch\"/>", 12, "uses lookup 'nosuch', which is not declared; declared: kinds, materials"),
        ("    <field name=\"FNOTE\" path=\"remark..x\"/>", 12, "invalid path: 'remark..x' has an empty step"),
        ("    <field name=\"FNOTE\" const=\"a\"/>\n    <field name=\"FNOTE\" const=\"b\"/>", 13, "field 'FNOTE' is already defined on line 12"),
        ("    <field name=\"FNOTE\" const=\"a\" path=\"remark\"/>", 12, "has path and const: give exactly one value source"),
        ("    <field name=\"FNOTE\"/>", 12, "has no value: give exactly one of path, const, template or setting"),
        ("    <field name=\"FNOTE\" path=\"remark\" type=\"string\" scale=\"2\"/>", 12, "scale applies to type=\"decimal\" only"),
        ("    <field name=\"X\" path=\"../warehouse_no\"/>", 12, "steps out 1 level(s), but only 0 enclosing document(s) exist here"),
        ("    <field name=\"X\" template=\"a {stockin_no\"/>", 12, "has a '{' that is never closed"),
        ("    <field name=\"X\" template=\"a {$}\"/>", 12, "has a setting placeholder '{$}' without a name (write '{$NAME}')"),
        ("    <field name=\"X\" const=\"abc\" type=\"decimal\"/>", 12, "const 'abc' is not a decimal number"),
        ("    <field name=\"X\" path=\"remark\" on-miss=\"pass\"/>", 12, "on-miss applies only together with lookup"),
        ("    <entries name=\"FEntity\" path=\"details_list\" when=\"goods_count &gt;\">\n      <field name=\"Q\" path=\"goods_count\"/>\n    </entries>", 12, "invalid condition: expected a field name or a value but found the end"),
        ("    <entries name=\"FEntity\" path=\"details_list\">\n      <field name=\"Q\" path=\"goods_count\"/>\n      <field name=\"Q\" path=\"cost_price\"/>\n    </entries>", 14, "field 'Q' is already defined on line 13"),
    ])
    func semanticErrorsPointAtTheLine(bill: String, line: Int, message: String) {
        let (template, messages) = parse(templateText(bill: bill))
        #expect(template == nil, "\(bill)")
        #expect(messages.contains { $0.hasPrefix("t.xml:\(line): error: ") && $0.contains(message) }, "\(messages)")
    }

    @Test func filterExpressionErrorsPointAtTheFilter() {
        let (template, messages) = parse(templateText(bill: "", filters: "\n  <filter when=\"status === 80\"/>"))
        #expect(template == nil)
        #expect(messages.contains { $0.hasPrefix("t.xml:10: error: invalid condition") }, "\(messages)")
    }

    @Test func billNumberFieldMustExist() {
        let text = templateText(bill: "").replacingOccurrences(of: "number=\"FBillNo\"", with: "number=\"FNumber\"")
        let (_, messages) = parse(text)
        #expect(messages.contains { $0.hasPrefix("t.xml:7: error: <target number=\"FNumber\">") }, "\(messages)")
    }

    @Test(arguments: [
        #"<ref name="FBillNo" path="stockin_no" required="true"/>"#,
        #"<entries name="FBillNo" path="details_list"><field name="X" path="spec_no"/></entries>"#,
    ])
    func theBillNumberFieldMustGiveText(field: String) {
        let text = templateText(bill: "").replacingOccurrences(
            of: #"<field name="FBillNo" path="stockin_no" required="true"/>"#, with: field)
        let (template, messages) = parse(text)
        #expect(template == nil)
        #expect(messages.contains { $0.contains("error: the bill number field 'FBillNo' is") }, "\(messages)")
    }

    @Test func misspeltSourceFieldIsAWarningWithASuggestion() throws {
        let (template, messages) = parse(templateText(bill: "    <field name=\"FNOTE\" path=\"remrak\"/>"))
        #expect(template != nil)
        #expect(messages == ["t.xml:12: warning: path 'remrak': 'remrak' is not a field of a source document (did you mean 'remark'?)"])
    }

    /// A misspelt source key, version or list passes the XSD but loses every document at the transform; for
    /// an API Ferry knows, validate warns at the <source> line, with a suggestion.
    @Test func misspeltSourceKeyVersionAndListAreWarnings() {
        let text = templateText(bill: "").replacingOccurrences(
            of: #"list="stockin_list" key="stockin_no" version="modified""#,
            with: #"list="stock_list" key="stockin_nox" version="modifed""#)
        let (template, messages) = parse(text)
        #expect(template != nil)
        #expect(
            messages == [
                "t.xml:4: warning: source key 'stockin_nox' is not a field of a source document (did you mean 'stockin_no'?); "
                    + "every document would be rejected as one that cannot be identified",
                "t.xml:4: warning: source version 'modifed' is not a field of a source document (did you mean 'modified'?); "
                    + "no document would have it, so of two versions of a document the one read last would be kept",
                "t.xml:4: warning: source list 'stock_list' is not the member of wdt.stockin.order.query pages that holds the "
                    + "documents ('stockin_list'); no page would yield a document",
            ], "\(messages)")
        #expect(parse(templateText(bill: "")).messages.isEmpty)
    }

    /// A standard save option is a switch: another value would go to Kingdee as a string it refuses in every
    /// batch. An <entries> path to a field that is not an array rejects every document.
    @Test func aStandardOptionThatIsNotTrueOrFalseAndEntriesOfAFieldThatIsNoArray() {
        let option = parse(templateText(bill: "", target: "<option name=\"IsDeleteEntry\">maybe</option>"))
        #expect(option.template == nil)
        #expect(option.messages == ["t.xml:7: error: option 'IsDeleteEntry' is true or false, not 'maybe'"], "\(option.messages)")
        #expect(parse(templateText(bill: "", target: "<option name=\"IsDeleteEntry\"> false </option>")).messages.isEmpty)
        let entries = parse(
            templateText(bill: "    <entries name=\"FEntity\" path=\"warehouse_no\"><field name=\"FQty\" path=\"num\"/></entries>"))
        #expect(entries.template != nil)
        #expect(
            entries.messages == [
                "t.xml:12: warning: entries 'FEntity': 'warehouse_no' is not an array of a source document; every document "
                    + "would be rejected ('warehouse_no' should be an array)"
            ], "\(entries.messages)")
    }

    @Test func unknownOptionIsAWarning() {
        let (template, messages) = parse(templateText(bill: "", target: "<option name=\"IsFast\">true</option>"))
        #expect(template != nil)
        #expect(messages.count == 1 && messages[0].contains("'IsFast' is not a Kingdee save option"), "\(messages)")
    }

    /// Inline map keys are read as lookup CSV keys are: without surrounding spaces (the value looked up is
    /// trimmed too, so ` 6 ` could never be found otherwise); two keys equal once trimmed are a duplicate, and a
    /// blank key, which nothing is ever looked up with, is warned about.
    @Test func inlineMapKeysAndValuesAreTrimmedAsLookupFileCellsAre() throws {
        let trimmed = parse(
            templateText(
                bill: "", extra: "\n  <map name=\"m\"><entry key=\" 6 \" value=\"A\"/><entry key=\"\u{3000}7\t\" value=\" B 2\t\"/></map>"))
        #expect(trimmed.messages.isEmpty, "\(trimmed.messages)")
        #expect(try #require(trimmed.template).lookups["m"]?.origin == .inline(["6": "A", "7": "B 2"]))
        let duplicate = parse(
            templateText(
                bill: "",
                extra: "\n  <map name=\"m\">\n    <entry key=\"6\" value=\"A\"/>\n    <entry key=\"6 \" value=\"B\"/>\n"
                    + "    <entry key=\"7\" value=\"C\"/>\n    <entry key=\"7\" value=\"C\"/>\n  </map>"))
        #expect(duplicate.template == nil)
        #expect(
            duplicate.messages == [
                "t.xml:12: error: map 'm' has key '6' twice (on line 11, and here as '6 '; keys are compared without "
                    + "surrounding spaces, as in a lookup file); keep one",
                "t.xml:14: error: map 'm' has key '7' twice (on line 13, and here); keep one",
            ], "\(duplicate.messages)")
        let blank = parse(templateText(bill: "", extra: "\n  <map name=\"m\"><entry key=\" \" value=\"A\"/></map>"))
        #expect(
            blank.messages == [
                "t.xml:10: warning: map 'm': an entry with a blank key is never used (a blank value is missing, not "
                    + "looked up); remove it, or give the fields a default=\"…\""
            ], "\(blank.messages)")
        #expect(try #require(blank.template).lookups["m"]?.origin == .inline([:]))
        // Per scalar, as a lookup file's cells: the space before a combining mark goes, the mark stays.
        let marks = parse(
            templateText(
                bill: "", extra: "\n  <map name=\"m\"><entry key=\" \u{301}B \" value=\" \u{301}V\"/><entry key=\"A \u{301}\" value=\"1\"/></map>"))
        #expect(marks.messages.isEmpty, "\(marks.messages)")
        #expect(try #require(marks.template).lookups["m"]?.origin == .inline(["\u{301}B": "\u{301}V", "A \u{301}": "1"]))
    }

    @Test func onMissDefaultNeedsADefault() {
        let (_, messages) = parse(
            templateText(bill: "", extra: "\n  <lookup name=\"w\" file=\"w.csv\" key=\"k\" value=\"v\" on-miss=\"default\"/>"))
        #expect(messages.contains { $0.hasPrefix("t.xml:10: error: on-miss=\"default\" needs a default") }, "\(messages)")
    }
}
