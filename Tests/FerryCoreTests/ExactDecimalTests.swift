import FerryCore
import Testing

@Suite struct ExactDecimalTests {
    @Test(arguments: [
        ("12.30", "12.30"), ("-0.5", "-0.5"), ("+3", "3"), ("007", "7"), ("0.05", "0.05"), ("1e3", "1000"),
        ("1.5e-2", "0.015"), (" 10.0000 ", "10.0000"), ("-0", "0"), ("123456789012345678901234567890.123", "123456789012345678901234567890.123"),
    ])
    func keepsScale(text: String, expected: String) throws {
        #expect(try #require(ExactDecimal(text)).description == expected)
    }

    @Test(arguments: ["", "abc", "1.", ".5", "1,000", "1e", "--1", "1.2.3", "0x10"])
    func rejectsNonDecimals(text: String) {
        #expect(ExactDecimal(text) == nil)
    }

    @Test func comparesNumerically() throws {
        let a = try #require(ExactDecimal("1.50")), b = try #require(ExactDecimal("1.5"))
        #expect(a == b)
        #expect(ExactDecimal("-2")! < ExactDecimal("-1.99")!)
        #expect(ExactDecimal("0.0001")! > ExactDecimal("0")!)
        #expect(ExactDecimal("0.00")!.isZero)
        #expect(ExactDecimal("100")! > ExactDecimal("99.999")!)
        #expect(Set([a, b]).count == 1)
    }

    @Test(arguments: [
        ("12.345", 2, "12.35"), ("12.344", 2, "12.34"), ("-12.345", 2, "-12.35"), ("9.995", 2, "10.00"),
        ("12", 2, "12.00"), ("0.5", 0, "1"), ("0.4", 0, "0"), ("99.99", 1, "100.0"),
    ])
    func roundsHalfAwayFromZero(text: String, scale: Int, expected: String) {
        #expect(ExactDecimal(text)!.rounded(toScale: scale).description == expected)
    }

    @Test func normalizesTrailingZeros() {
        #expect(ExactDecimal("12.3000")!.normalized.description == "12.3")
        #expect(ExactDecimal("5.00")!.normalized.description == "5")
    }
}
