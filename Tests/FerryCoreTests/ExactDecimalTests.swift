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

    /// An exponent beyond ±1000 is refused, down to Int.min: "1e-9223372036854775808" is a valid JSON
    /// number, and taking its exponent's absolute value trapped, ending the whole transform.
    @Test(arguments: ["1e1001", "1e-1001", "1e-9223372036854775808", "1e9223372036854775807", "1e-9223372036854775809"])
    func rejectsExponentsBeyondAThousand(text: String) {
        #expect(ExactDecimal(text) == nil)
        #expect(ExactDecimal("1e-1000") != nil && ExactDecimal("1e1000") != nil)
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

    /// The fast path the transform uses gives exactly what `ExactDecimal` gives, or steps aside.
    @Test func plainTextAgreesWithExactDecimal() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let pieces = ["0", "00", "1", "5", "9", "99", "4", "123", "-", "+", ".", " ", "\t", "e", "E", "e3", "5e-2", "x", "", "9999"]
        var checked = 0
        var fast = 0
        for _ in 0..<20_000 {
            var text = ""
            for _ in 0..<(1 + next(5)) { text += pieces[next(pieces.count)] }
            for scale in [nil, 0, 1, 2, 4, 10] as [Int?] {
                let reference = ExactDecimal(text).map { d in (scale.map { d.rounded(toScale: $0) } ?? d).description }
                if let plain = ExactDecimal.plainText(text, roundedTo: scale) {
                    #expect(plain == reference, "'\(text)' scale \(String(describing: scale))")
                    fast += 1
                }
                checked += 1
            }
        }
        #expect(fast > checked / 10, "the fast path should take the plain forms")
        #expect(ExactDecimal.plainText("1e3", roundedTo: nil) == nil)
        #expect(ExactDecimal.plainText("-0.004", roundedTo: 2) == "0.00")
        #expect(ExactDecimal.plainText("-0.005", roundedTo: 2) == "-0.01")
        #expect(ExactDecimal.plainText("99.95", roundedTo: 1) == "100.0")
        #expect(ExactDecimal.plainText(" 007.50 ", roundedTo: nil) == "7.50")
        // Text already in its plain form comes back as it is; anything else is rewritten.
        for (text, plain) in [
            ("119.0000", "119.0000"), ("-12.30", "-12.30"), ("0.5", "0.5"), ("0", "0"), ("-0.0000", "0.0000"),
            ("+5", "5"), ("007", "7"), ("00.10", "0.10"), ("-0", "0"), ("-0.01", "-0.01"),
        ] {
            #expect(ExactDecimal.plainText(text, roundedTo: nil) == plain, "\(text)")
        }
    }

    /// The comparison fast path (`Small`) orders exactly as `ExactDecimal` does, or steps aside.
    @Test func smallComparisonsAgreeWithExactDecimal() {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let pieces = ["0", "00", "1", "5", "9", "80", "2.0000", "0.0000", ".", "-", "123456789", "e2", " ", "x", ""]
        var compared = 0
        for _ in 0..<20_000 {
            var texts = ["", ""]
            for k in 0..<2 { for _ in 0..<(1 + next(4)) { texts[k] += pieces[next(pieces.count)] } }
            let small = texts.map(ExactDecimal.small)
            let exact = texts.map { ExactDecimal($0) }
            for k in 0..<2 where small[k] != nil {
                #expect(exact[k] != nil, "'\(texts[k])' is plain but not a decimal")
            }
            guard let a = small[0], let b = small[1], let x = exact[0], let y = exact[1],
                let order = ExactDecimal.Small.compare(a, b)
            else { continue }
            #expect((order < 0) == (x < y) && (order == 0) == (x == y), "'\(texts[0])' vs '\(texts[1])'")
            compared += 1
        }
        #expect(compared > 1_000)
        #expect(ExactDecimal.small("1.") == nil && ExactDecimal.small(".5") == nil && ExactDecimal.small("-") == nil)
        #expect(ExactDecimal.small("1234567890123456789") == nil)
        let big = ExactDecimal.Small(mantissa: 999_999_999_999_999_999, scale: 0)
        #expect(ExactDecimal.Small.compare(big, ExactDecimal.Small(mantissa: 1, scale: 2)) == nil)
        #expect(ExactDecimal("80")!.small.map { ExactDecimal.Small.compare($0, ExactDecimal.small("80.00")!) } == 0)
    }
}
