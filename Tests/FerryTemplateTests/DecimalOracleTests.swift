import FerryCore
import FerryTestSupport
@testable import FerryTemplate
import Testing

/// Ferry's decimal conversions and comparisons, fast paths and general ones, against values Python's
/// `decimal` module computed (`Fixtures/decimals/generate.py`, which says what is promised).
@Suite struct DecimalOracleTests {
    static func rows(_ name: String) throws -> [JSONObject] {
        let bytes = try FileSystem.read(TestSupport.fixturesDirectory + "/decimals/" + name)
        return try JSONReader.parseLines(bytes).map { line in try #require(try line.result.get().objectValue) }
    }

    @Test func conversionsAgreeWithPythonDecimal() throws {
        let rows = try Self.rows("conversions.jsonl")
        #expect(rows.count > 5_000)
        var mismatches: [String] = []
        for row in rows {
            let text = try #require(row["text"]?.stringValue)
            let type: ValueType = row["type"] == "integer" ? .integer : .decimal
            let scale = row["scale"]?.scalarText.flatMap { Int($0) }
            let expected: ValueConversion.Converted
            if let value = row["value"]?.stringValue {
                expected = .value(.number(value))
            } else if row["empty"] != nil {
                expected = .empty
            } else {
                expected = .failure("")
            }
            let converted = ValueConversion.convert(text, to: type, scale: scale)
            let same: Bool
            switch (converted, expected) {
            case (.failure, .failure): same = true
            default: same = converted == expected
            }
            if !same { mismatches.append("\(type) '\(text)' scale \(scale.map(String.init) ?? "-"): \(converted), expected \(expected)") }
            // The general path alone gives the same value (the fast path only ever steps aside).
            if type == .decimal, case .value(.number(let value)) = expected, let decimal = ExactDecimal(text) {
                let general = (scale.map { decimal.rounded(toScale: $0) } ?? decimal).description
                if general != value { mismatches.append("ExactDecimal '\(text)' scale \(scale.map(String.init) ?? "-"): \(general), expected \(value)") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(20).joined(separator: "\n"))")
    }

    @Test func comparisonsAgreeWithPythonDecimal() throws {
        let rows = try Self.rows("comparisons.jsonl")
        #expect(rows.count > 3_000)
        var mismatches: [String] = []
        func check(_ condition: String, _ document: JSONValue, _ expected: Bool?) {
            let outcome: Bool?
            do {
                outcome = try Expression(parsing: condition).evaluate { $0.value(in: [document]) }
            } catch {
                outcome = nil
            }
            if outcome != expected {
                mismatches.append("\(condition) with \(JSONWriter(style: .compact).string(document)): \(String(describing: outcome)), expected \(String(describing: expected))")
            }
        }
        for row in rows {
            let value = try #require(row["value"]?.stringValue)
            let order = row["order"]?.scalarText.flatMap { Int($0) }
            if let literal = row["literal"]?.stringValue {
                let document: JSONValue = ["v": .string(value)]
                check("v > \(literal)", document, order.map { $0 > 0 })
                check("v <= \(literal)", document, order.map { $0 <= 0 })
                check("v == \(literal)", document, order.map { $0 == 0 } ?? false)
                check("v != \(literal)", document, order.map { $0 != 0 } ?? true)
                // The comparison fast path orders as the oracle does, or steps aside.
                if let small = ExactDecimal.small(value), let order {
                    if let literalSmall = ExactDecimal(literal)?.small, let fast = ExactDecimal.Small.compare(small, literalSmall),
                        fast != order
                    {
                        mismatches.append("Small '\(value)' vs \(literal): \(fast), expected \(order)")
                    }
                } else if ExactDecimal.small(value) != nil {
                    mismatches.append("Small reads '\(value)', which is not a number")
                }
            } else {
                let other = try #require(row["other"]?.stringValue)
                let document: JSONValue = ["v": .string(value), "w": .string(other)]
                check("v < w", document, order.map { $0 < 0 })
                check("v == w", document, order.map { $0 == 0 } ?? (value == other))
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(20).joined(separator: "\n"))")
    }
}
