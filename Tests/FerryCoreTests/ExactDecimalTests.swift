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

    /// White space around a number is what Ferry trims everywhere (`Unicode.Scalar.isTrimmedSpace`): full-width
    /// (U+3000) and no-break (U+00A0) spaces too, as data typed with Chinese input methods has them. The value is
    /// exact, and both the transform's fast path and the parse give it.
    @Test(arguments: [
        ("\u{3000}12.50", "12.50"), ("12.50\u{3000}", "12.50"), ("12\u{A0}", "12"), ("\u{A0}-0.5", "-0.5"), ("\t12\n", "12"),
        ("\r\n+3\r\n", "3"), ("\u{2028}007\u{85}", "7"), ("\u{3000}\u{3000} 1.5e-2\u{202F}", "0.015"),
        ("\u{2003}119.0000\u{205F}", "119.0000"), ("\u{1680}-0\u{2009}", "0"),
    ])
    func dropsAnyWhiteSpaceAroundTheNumber(text: String, expected: String) throws {
        #expect(try #require(ExactDecimal(text), "\(Array(text.unicodeScalars))").description == expected)
        if !text.contains("e") {
            #expect(ExactDecimal.plainText(text, roundedTo: nil) == expected, "\(Array(text.unicodeScalars))")
        }
    }

    /// Only white space around the number is dropped: inside it nothing changes, and what is not White_Space
    /// (a zero-width space, a combining mark, full-width digits) is not a number's part.
    @Test(arguments: [
        "1 2", "12\u{3000}.5", "1\u{A0}000", "-\u{3000}12", "1e\u{3000}3", "\u{200B}12", "12\u{200B}", "12\u{301}",
        " \u{301}12", "\u{FEFF}12", "１２", "\u{3000}", "12\u{3000}x",
    ])
    func keepsRefusingWhatIsNotWhiteSpaceAroundANumber(text: String) {
        #expect(ExactDecimal(text) == nil, "\(Array(text.unicodeScalars))")
        #expect(ExactDecimal.plainText(text, roundedTo: 2) == nil, "\(Array(text.unicodeScalars))")
    }

    /// The byte-level trim the numbers use drops exactly what `trimmingCharactersInSpaces()` drops, for every
    /// White_Space scalar and neighbours that are not (one to four UTF-8 bytes, marks, format characters).
    @Test func numbersAreTrimmedAsTextIs() {
        var scalars = (UInt32(0)...0x3000).compactMap(Unicode.Scalar.init).filter(\.isTrimmedSpace)
        scalars += ["\u{200B}", "\u{301}", "\u{FEFF}", "é", "中", "\u{1D7D9}", "\u{1F600}", "1", "x", "\u{1C}", "\u{0}"]
        var texts: [String] = ["", "12", "1 2"]
        for a in scalars {
            for b in ["", "12", "\u{3000}", "\u{301}"] {
                texts += [String(a) + b, b + String(a), String(a) + b + String(a)]
            }
        }
        var numbers = 0
        for text in texts + texts.map({ $0 + "7" + $0 }) {
            let trimmed = text.trimmingCharactersInSpaces()
            let number = ExactDecimal(text)?.description
            #expect(number == ExactDecimal(trimmed)?.description, "\(Array(text.unicodeScalars))")
            #expect(ExactDecimal.plainText(text, roundedTo: nil) == ExactDecimal.plainText(trimmed, roundedTo: nil))
            if number != nil { numbers += 1 }
        }
        #expect(numbers > 100)
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
        let pieces = [
            "0", "00", "1", "5", "9", "99", "4", "123", "-", "+", ".", " ", "\t", "e", "E", "e3", "5e-2", "x", "", "9999",
            "\u{3000}", "\u{A0}", "\n", "\u{200B}", "\u{301}",
        ]
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
