import FerryCore
@testable import FerryTemplate
import Testing

@Suite struct ExpressionTests {
    let order: JSONValue = [
        "status": "80", "count": .number("0.00"), "name": "纯棉", "flag": true, "empty": "", "n": .number("12.30"),
        "zeroText": "0", "zero": .number("0"), "code": "1", "paddedCode": "001",
        "blank": " ", "wideBlank": "\u{3000}\t", "spacedZero": "\u{3000}0 ", "spacedCode": " x ",
    ]

    func evaluate(_ text: String) throws -> Bool {
        let expression = try Expression(parsing: text)
        return try expression.evaluate { $0.resolve(in: [order], basePaths: ["$"]).value }
    }

    @Test(arguments: [
        ("status == 80", true), ("status == '80'", true), ("status != 80", false), ("status == 80.0", true),
        ("count > 0", false), ("count >= 0", true), ("n > 12.3", false), ("n == 12.3", true), ("n < 100", true),
        ("name == '纯棉'", true), ("name != \"纯棉\"", false), ("flag", true), ("empty", false), ("missing", false),
        ("missing == null", true), ("missing != 'x'", true), ("not flag", false), ("status == 80 and n > 1", true),
        ("status == 30 or (n > 1 and not empty)", true), ("status == 30 || n > 100", false), ("!(status == 30) && flag", true),
        // A number is as false at 0 whether WDT sent it as a string or as a number.
        ("zeroText", false), ("zero", false), ("code", true), ("status", true),
        // A quoted literal is text: a code with leading zeros is not the number.
        ("paddedCode != '1'", true), ("code != '001'", true), ("paddedCode == '001'", true), ("code == 1", true),
        ("paddedCode == 1", true), ("status == '80.0'", false),
        // Only white space is as empty as "" (as a field or a lookup reads it); spaces around a value change nothing.
        ("blank", false), ("wideBlank", false), ("not blank", true), ("spacedZero", false), ("spacedCode", true),
        ("blank == ' '", true),
    ])
    func evaluates(text: String, expected: Bool) throws {
        #expect(try evaluate(text) == expected, "\(text)")
    }

    @Test func orderComparisonOnANonNumberIsUndecidable() throws {
        #expect(throws: Expression.Undecidable.self) { try evaluate("name > 0") }
        #expect(throws: Expression.Undecidable.self) { try evaluate("missing > 0") }
    }

    /// A condition reads a number as a `type="decimal"` field does (`ValueConversion.convert`): white space
    /// around it (`Unicode.Scalar.isTrimmedSpace`: full-width, no-break, tab, line break) is dropped, one
    /// inside it is not, so `goods_count > 0` keeps exactly the lines whose count the field writes as more than 0.
    @Test func aConditionReadsANumberWithSpacesAroundItAsAFieldDoes() throws {
        func evaluate(_ text: String, _ value: String) throws -> Bool {
            try Expression(parsing: text).evaluate { $0.resolve(in: [["v": .string(value)]], basePaths: ["$"]).value }
        }
        for (value, field) in [
            ("\u{3000}12.50", "12.50"), ("12.50\u{3000}", "12.50"), ("\u{A0}12.5", "12.5"), ("12.5\u{A0}", "12.5"),
            ("\t12.50\n", "12.50"), ("\r\n12.5\u{3000}", "12.5"),
        ] {
            let shown = Array(value.unicodeScalars)
            #expect(ValueConversion.convert(value, to: .decimal, scale: nil) == .value(.number(field)), "\(shown)")
            #expect(ValueConversion.convert(value, to: .decimal, scale: 2) == .value(.number("12.50")), "\(shown)")
            #expect(try evaluate("v > 12.4", value) && evaluate("v < 12.6", value), "\(shown)")
            #expect(try evaluate("v == 12.5", value) && !evaluate("v != 12.5", value) && evaluate("v", value), "\(shown)")
        }
        for zero in ["\u{3000}0", "0.00\u{A0}", "\n0\t"] {
            #expect(try !evaluate("v", zero) && evaluate("v == 0", zero) && !evaluate("v > 0", zero), "0 is as false as 0")
            #expect(ValueConversion.convert(zero, to: .decimal, scale: nil) != .failure("'\(zero)' is not a decimal number"))
        }
        for inside in ["1 2", "12\u{3000}.5", "\u{200B}12"] {
            #expect(ValueConversion.convert(inside, to: .decimal, scale: 2) == .failure("'\(inside)' is not a decimal number"))
            #expect(throws: Expression.Undecidable.self, "\(Array(inside.unicodeScalars))") { try evaluate("v > 0", inside) }
            #expect(try !evaluate("v == 12", inside))
        }
    }

    @Test(arguments: ["status ==", "== 80", "(status == 80", "status = 80", "status == 'x", "a and or b"])
    func rejectsBadSyntax(text: String) {
        #expect(throws: Expression.SyntaxError.self) { try Expression(parsing: text) }
    }
}

@Suite struct StringTemplateTests {
    func render(_ text: String, _ values: [String: String]) throws -> String {
        try StringTemplate(parsing: text).render { part in
            if case .path(let path) = part { return values[path.text] }
            if case .setting(let name) = part { return values["$" + name] }
            return nil
        }
    }

    @Test func dropsEmptyPartsWithTheirSpace() throws {
        let text = "旺店通入库单 {stockin_no} {order_type_name} {src_order_no}"
        #expect(try render(text, ["stockin_no": "RK1", "order_type_name": "其他入库", "src_order_no": "Q1"]) == "旺店通入库单 RK1 其他入库 Q1")
        #expect(try render(text, ["stockin_no": "RK1", "src_order_no": "Q1"]) == "旺店通入库单 RK1 Q1")
        #expect(try render(text, ["stockin_no": "RK1", "order_type_name": "", "src_order_no": ""]) == "旺店通入库单 RK1")
        #expect(try render("{a} {b}", ["b": "B"]) == "B")
        #expect(try render("org {$org_number} {{literal}}", ["$org_number": "100"]) == "org 100 {literal}")
    }
}

@Suite struct LookupTableTests {
    @Test func parsesQuotedCSVWithBOMAndCRLF() throws {
        let csv = "\u{FEFF}spec_no,number,note\r\nA-1,1.01.001,\"a, quoted \"\"note\"\"\"\r\n B-2 ,1.01.002,\r\n\r\nA-1,1.01.001,same again\r\n"
        let table = try LookupTable.parseCSV(Array(csv.utf8), file: "m.csv", name: "m", keyColumn: "spec_no", valueColumn: "number")
        #expect(table.entries == ["A-1": "1.01.001", "B-2": "1.01.002"])
        #expect(table.sha256?.count == 64)
    }

    @Test func aBareCarriageReturnEndsARowAsClassicMacExcelSavesIt() throws {
        let csv = "spec_no,number\rA-1,1.01.001\rB-2,1.01.002\r\"C\r3\",1.01.003\r"
        let table = try LookupTable.parseCSV(Array(csv.utf8), file: "m.csv", name: "m", keyColumn: "spec_no", valueColumn: "number")
        #expect(table.entries == ["A-1": "1.01.001", "B-2": "1.01.002", "C\r3": "1.01.003"])
        do {
            _ = try LookupTable.parseCSV(Array("spec_no,number\rA,1\rA,2\r".utf8), file: "m.csv", name: "m", keyColumn: "spec_no", valueColumn: "number")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.hasPrefix("m.csv:3: error: 'A' is listed twice"))
        }
    }

    @Test func conflictingDuplicateIsAnErrorWithItsLine() {
        let csv = "spec_no,number\nA,1\nB,2\nA,3\n"
        do {
            _ = try LookupTable.parseCSV(Array(csv.utf8), file: "m.csv", name: "m", keyColumn: "spec_no", valueColumn: "number")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "m.csv:4: error: 'A' is listed twice with different values ('1' on line 2, '3' here); keep one")
        }
    }

    /// Excel on a Chinese Windows saves CSV as GBK, and "Unicode text" as UTF-16: the error names the line of the
    /// first byte that is not UTF-8 (or the encoding) and how to save the file.
    @Test func aLookupFileNotInUTF8SaysWhereAndHowToSaveIt() {
        let gbk = Array("spec_no,number,note\nA,1,x\nB,2,".utf8) + [0xC9, 0xCF, 0xBA, 0xA3] + Array("\n".utf8)
        #expect {
            try LookupTable.parseCSV(gbk, file: "m.csv", name: "m", keyColumn: "spec_no", valueColumn: "number")
        } throws: { error in
            (error as? Diagnostic)?.description
                == "m.csv:3: error: the file is not UTF-8; saved as GBK/GB18030 or another ANSI code page? save it as UTF-8, "
                + "e.g. iconv -f GB18030 -t UTF-8 (in Excel: Save As, CSV UTF-8)"
        }
        let utf16: [UInt8] = [0xFF, 0xFE] + "spec_no,number\nA,1\n".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect {
            try LookupTable.parseCSV(utf16, file: "m.csv", name: "m", keyColumn: "spec_no", valueColumn: "number")
        } throws: { error in
            (error as? Diagnostic)?.description == "m.csv:1: error: the file is UTF-16LE; save it as UTF-8 CSV (iconv -f UTF-16LE -t UTF-8)"
        }
    }

    /// Cells are trimmed per Unicode scalar: a space before a combining mark is dropped and the mark kept
    /// (`" \u{301}B"` is `"\u{301}B"`), and `"A \u{301}"` ends in a mark, not a space, so it is kept whole. A cell
    /// holding only a space and a mark is a key, not a blank one.
    @Test func cellsAreTrimmedPerScalarSoASpaceBeforeACombiningMarkKeepsTheMark() throws {
        let csv = "k,v\n\" \u{301}B\",\" \u{301}V\"\nA \u{301},1\n\u{3000}C\t,2\n \u{301},3\n"
        let table = try LookupTable.parseCSV(Array(csv.utf8), file: "m.csv", name: "m", keyColumn: "k", valueColumn: "v")
        #expect(table.entries == ["\u{301}B": "\u{301}V", "A \u{301}": "1", "C": "2", "\u{301}": "3"])
    }

    /// Trimming, the check for space at either end (a looked-up value, a bill number) and the blank check (a
    /// value that is missing, not looked up) follow one rule, so they agree on every text.
    @Test func trimmingTheEndCheckAndTheBlankCheckAgree() {
        let texts = [
            "", " ", "\t", "\u{3000}", "\u{A0}", "\u{85}", "\u{2028}", " \u{301}", "\u{301}", "A", " A", "A ", "A \u{301}",
            " \u{301}A", "\u{3000}\u{301}A", "A\u{3000}\u{301}", "\r\nA\r\n", "é", " é ", "\u{200B}", "A\u{200B}",
        ]
        for text in texts {
            let trimmed = text.trimmingCharactersInSpaces()
            #expect(text.hasSpaceAtEitherEnd == (trimmed != text), "\(Array(text.unicodeScalars))")
            #expect(ValueConversion.isBlank(text) == trimmed.isEmpty, "\(Array(text.unicodeScalars))")
            #expect(trimmed.unicodeScalars.first?.isTrimmedSpace != true && trimmed.unicodeScalars.last?.isTrimmedSpace != true)
        }
        #expect(" \u{301}A ".trimmingCharactersInSpaces().unicodeScalars.elementsEqual("\u{301}A".unicodeScalars))
        #expect(!ValueConversion.isBlank(" \u{301}"), "a combining mark is not white space")
        #expect(!"A \u{301}".hasSpaceAtEitherEnd, "it ends in a mark")
    }

    @Test func missingColumnIsNamed() {
        #expect(throws: Diagnostic.self) {
            try LookupTable.parseCSV(Array("a,b\n1,2\n".utf8), file: "m.csv", name: "m", keyColumn: "spec_no", valueColumn: "b")
        }
    }
}

@Suite struct ValueConversionTests {
    @Test(arguments: [
        ("2026-01-05 10:20:00", ValueType.date, JSONValue.string("2026-01-05")),
        ("2026/01/05 10:20:00", .date, .string("2026-01-05")),
        ("2026-01-05T10:20:00.123", .datetime, .string("2026-01-05 10:20:00")),
        ("2026-01-05", .datetime, .string("2026-01-05 00:00:00")),
        ("12.3000", .decimal, .number("12.3000")),
        ("7", .integer, .number("7")),
        ("7.00", .integer, .number("7")),
        ("是", .bool, .bool(true)),
        ("0", .bool, .bool(false)),
    ])
    func converts(text: String, type: ValueType, expected: JSONValue) {
        #expect(ValueConversion.convert(text, to: type, scale: nil) == .value(expected))
    }

    @Test func zeroDateIsEmptyAndBadDatesFail() {
        #expect(ValueConversion.convert("0000-00-00 00:00:00", to: .date, scale: nil) == .empty)
        #expect(ValueConversion.convert("2026-02-29", to: .date, scale: nil) != .empty)
        if case .value = ValueConversion.convert("2026-02-29", to: .date, scale: nil) { Issue.record("2026 is not a leap year") }
        if case .value = ValueConversion.convert("2026-01-05 25:00:00", to: .datetime, scale: nil) { Issue.record("hour 25") }
        if case .value = ValueConversion.convert("7.5", to: .integer, scale: nil) { Issue.record("7.5 is not an integer") }
        #expect(ValueConversion.convert("12.345", to: .decimal, scale: 2) == .value(.number("12.35")))
    }

    @Test(arguments: [
        "2026-01-05 10:20:00.", "2026-01-05 10:20:00x", "2026-01-05T10:20:00.12a", "２０２６-01-05", "2026-1-5",
        "2026-01/05", "2026-01-05 10:20", "2026-01-05 10-20-00", "20260105", "2026-01-05 10:20:00.999999999999999999999999",
    ])
    func rejectsMalformedDates(text: String) {
        let expectation: ValueConversion.Converted? = text.hasSuffix("999999999") ? .value(.string("2026-01-05 10:20:00")) : nil
        let result = ValueConversion.convert(text, to: .datetime, scale: nil)
        if let expectation {
            #expect(result == expectation, "long fractions are dropped, not parsed")
        } else if case .value(let value) = result {
            Issue.record("'\(text)' became \(value)")
        }
    }

    /// The shortcut for dates already written as the output writes them gives what the general path
    /// gives, or leaves the text to it: every month and day boundary, leap years, times, all zeros and
    /// near misses.
    @Test func datesWrittenAsIsAreWhatTheGeneralPathGives() {
        var texts: [String] = []
        for year in ["0000", "0001", "1900", "2000", "2024", "2026", "9999"] {
            for month in ["00", "01", "02", "04", "12", "13"] {
                for day in ["00", "01", "28", "29", "30", "31", "32"] {
                    let date = "\(year)-\(month)-\(day)"
                    texts.append(date)
                    for time in ["00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "1a:00:00"] {
                        texts += ["\(date) \(time)", "\(date)T\(time)"]
                    }
                }
            }
        }
        texts += ["2026/01/05", "2026-01/05", "2026-01-05 10:20:0.", "+026-01-05", "2026-01-05 10:20:00.5", "２０２６-01-05"]
        var shortcuts = 0
        for text in texts {
            for type in [ValueType.date, .datetime] {
                guard let written = ValueConversion.writtenAsIs(text, as: type) else { continue }
                shortcuts += 1
                #expect(ValueConversion.convertDateTime(text, to: type) == .value(.string(written)), "\(text) as \(type)")
            }
            #expect(ValueConversion.writtenAsIs(text, as: .datetime) == nil || text.utf8.count == 19)
        }
        #expect(shortcuts > 100, "the shortcut is taken for the usual layouts")
        #expect(ValueConversion.writtenAsIs("0000-00-00 00:00:00", as: .date) == nil, "all zeros is empty, decided by the general path")
        #expect(ValueConversion.writtenAsIs("2024-02-29 23:59:59", as: .date) == "2024-02-29")
        #expect(ValueConversion.writtenAsIs("2026-02-29", as: .date) == nil)
    }

    /// Around a decimal or integer any white space Ferry trims is dropped (full-width, no-break, tab, line
    /// breaks), as `"\u{3000}"` alone is blank; the value is exact. A space inside is still refused.
    @Test func numbersDropAnyWhiteSpaceAroundThemAndNoneInside() {
        for (text, scale, expected) in [
            ("\u{3000}12.50", 2, "12.50"), ("12.5\u{3000}", 2, "12.50"), ("\u{A0}12.345", 2, "12.35"), ("12\u{A0}", 2, "12.00"),
            ("\t-12.5\n", 2, "-12.50"), ("\r\n0.125\r\n", 2, "0.13"), ("\u{3000}1e1\u{3000}", 1, "10.0"),
            ("\u{3000}119.0000", 4, "119.0000"),
        ] {
            #expect(ValueConversion.convert(text, to: .decimal, scale: scale) == .value(.number(expected)), "\(Array(text.unicodeScalars))")
        }
        #expect(ValueConversion.convert("\u{3000}12.50\u{3000}", to: .decimal, scale: nil) == .value(.number("12.50")))
        for text in ["\u{3000}7", "7.00\u{A0}", "\t7\n", "\u{2003}+007\u{3000}"] {
            #expect(ValueConversion.convert(text, to: .integer, scale: nil) == .value(.number("7")), "\(Array(text.unicodeScalars))")
        }
        #expect(ValueConversion.convert("\u{3000}7.5", to: .integer, scale: nil)
            == .failure("'\u{3000}7.5' is not a whole number (it has a fraction)"))
        for text in ["1 2", "12\u{3000}.50", "1\u{A0}000", "12\u{200B}", "１２"] {
            #expect(ValueConversion.convert(text, to: .decimal, scale: 2) == .failure("'\(text)' is not a decimal number"))
            #expect(ValueConversion.convert(text, to: .integer, scale: nil) == .failure("'\(text)' is not a whole number"))
        }
        #expect(ValueConversion.lostToScale("\u{3000}0.004", written: "0.00", scale: 2) != nil, "not zero, whatever is around it")
    }

    @Test func blankTextIsEmptyForEveryTypeButString() {
        for type in [ValueType.decimal, .integer, .bool, .date, .datetime] {
            #expect(ValueConversion.convert("  \t ", to: type, scale: nil) == .empty)
            #expect(ValueConversion.convert("\u{3000}", to: type, scale: nil) == .empty, "an ideographic space is blank too")
        }
        #expect(ValueConversion.convert(" ", to: .string, scale: nil) == .value(.string(" ")))
    }
}
