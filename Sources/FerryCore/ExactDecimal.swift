/// A decimal number held as digits and a scale: exact, with the scale it was written with.
///
/// `12.30` stays `12.30` (scale 2); nothing ever passes through a binary floating-point type. Used for
/// money and stock quantities.
public struct ExactDecimal: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Whether the value is below zero (never true for zero).
    public private(set) var isNegative: Bool
    /// The digits of the unscaled value, most significant first, without leading zeros ("0" for zero).
    public private(set) var digits: [UInt8]
    /// How many of `digits` are after the decimal point.
    public private(set) var scale: Int

    /// Parses decimal text: an optional sign, digits with an optional fraction, and an optional exponent
    /// (`12.30`, `-0.5`, `+3`, `1e3`, `.5` is rejected). White space around it is ignored, as Ferry trims
    /// text (`Unicode.Scalar.isTrimmedSpace`: "\u{3000}12" is 12); inside it, none is allowed.
    public init?(_ text: String) {
        let utf8 = Array(text.utf8)
        var bytes = utf8[utf8.withUnsafeBufferPointer { $0.boundsWithoutSpaces() }]
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var allDigits: [UInt8] = []
        var fractionDigits = 0
        var sawDigit = false
        var sawPoint = false
        var exponent = 0
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let byte = bytes[i]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                allDigits.append(byte - UInt8(ascii: "0"))
                sawDigit = true
                if sawPoint { fractionDigits += 1 }
            } else if byte == UInt8(ascii: ".") && !sawPoint && sawDigit {
                sawPoint = true
            } else if (byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")) && sawDigit {
                // `magnitude`, not `abs`: `abs(Int.min)` traps, and "1e-9223372036854775808" is valid JSON.
                guard let parsed = Int(String(decoding: bytes[(i + 1)...], as: UTF8.self)), parsed.magnitude <= 1000 else {
                    return nil
                }
                exponent = parsed
                i = bytes.endIndex
                break
            } else {
                return nil
            }
            i += 1
        }
        guard sawDigit, !(sawPoint && fractionDigits == 0) else { return nil }
        var scale = fractionDigits - exponent
        if scale < 0 {
            allDigits.append(contentsOf: repeatElement(0, count: -scale))
            scale = 0
        }
        self.init(isNegative: negative, digits: allDigits, scale: scale)
    }

    /// Creates a value from an integer.
    public init(_ value: Int) {
        self.init(String(value))!
    }

    private init(isNegative: Bool, digits: [UInt8], scale: Int) {
        var trimmed = digits[...]
        while trimmed.count > 1, trimmed.first == 0, trimmed.count > scale + 1 { trimmed = trimmed.dropFirst() }
        // Keep at least scale+1 digits so that "0.05" is stored as 0,0,5 with scale 2.
        var normalized = Array(trimmed)
        while normalized.count < scale + 1 { normalized.insert(0, at: 0) }
        self.digits = normalized
        self.scale = scale
        self.isNegative = isNegative && normalized.contains { $0 != 0 }
    }

    /// A decimal small enough to compare as integers: `mantissa ÷ 10^scale`, at most 18 digits.
    public struct Small: Sendable {
        /// The digits as an integer, with the sign.
        public var mantissa: Int64
        /// How many of the digits are after the decimal point.
        public var scale: Int

        /// Creates a value: `mantissa ÷ 10^scale`.
        public init(mantissa: Int64, scale: Int) {
            self.mantissa = mantissa
            self.scale = scale
        }

        /// Both values at the larger scale; `nil` when that does not fit in 18 digits.
        private static func aligned(_ a: Small, _ b: Small) -> (Int64, Int64)? {
            var (x, y) = (a.mantissa, b.mantissa)
            for _ in a.scale..<max(a.scale, b.scale) {
                let (r, overflow) = x.multipliedReportingOverflow(by: 10)
                if overflow { return nil }
                x = r
            }
            for _ in b.scale..<max(a.scale, b.scale) {
                let (r, overflow) = y.multipliedReportingOverflow(by: 10)
                if overflow { return nil }
                y = r
            }
            return (x, y)
        }

        /// Compares two values exactly; `nil` when they cannot be aligned without overflow.
        public static func compare(_ a: Small, _ b: Small) -> Int? {
            guard let (x, y) = aligned(a, b) else { return nil }
            return x < y ? -1 : (x == y ? 0 : 1)
        }
    }

    /// The value as a `Small` when it has at most 18 digits.
    public var small: Small? {
        guard digits.count <= 18 else { return nil }
        var value: Int64 = 0
        for digit in digits { value = value * 10 + Int64(digit) }
        return Small(mantissa: isNegative ? -value : value, scale: scale)
    }

    /// `text` as a `Small` when it is a plainly written decimal (`-?[0-9]+(\.[0-9]+)?`, at most 18
    /// digits, nothing else), read from its bytes without allocating; `nil` for anything else (which
    /// `init?(_:)` may still read). The fast path of comparisons such as `goods_count > 0`.
    public static func small(_ text: String) -> Small? {
        var text = text
        return text.withUTF8 { bytes -> Small? in
            var i = 0
            let negative = bytes.first == UInt8(ascii: "-")
            if negative { i = 1 }
            var value: Int64 = 0
            var digits = 0
            var scale = 0
            var sawPoint = false
            var digitsAfterPoint = false
            while i < bytes.count {
                let byte = bytes[i]
                if byte == UInt8(ascii: "."), !sawPoint, digits > 0 {
                    sawPoint = true
                } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                    digits += 1
                    if digits > 18 { return nil }
                    value = value * 10 + Int64(byte - UInt8(ascii: "0"))
                    if sawPoint {
                        scale += 1
                        digitsAfterPoint = true
                    }
                } else {
                    return nil
                }
                i += 1
            }
            guard digits > 0, !sawPoint || digitsAfterPoint else { return nil }
            return Small(mantissa: negative ? -value : value, scale: scale)
        }
    }

    /// Whether the value is zero (at any scale).
    public var isZero: Bool { !digits.contains { $0 != 0 } }

    /// Whether the value has no fractional part different from zero.
    public var isIntegral: Bool { digits.suffix(scale).allSatisfy { $0 == 0 } }

    /// The text with its scale: `12.30`, `-0.5`, `3`.
    public var description: String {
        var out = isNegative ? "-" : ""
        let integerCount = digits.count - scale
        for (i, digit) in digits.enumerated() {
            if i == integerCount { out += "." }
            out.append(Character(Unicode.Scalar(digit + UInt8(ascii: "0"))))
        }
        return out
    }

    /// The value rounded (half away from zero) or padded to exactly `newScale` fraction digits.
    public func rounded(toScale newScale: Int) -> ExactDecimal {
        precondition(newScale >= 0)
        if newScale >= scale {
            return ExactDecimal(
                isNegative: isNegative, digits: digits + repeatElement(0, count: newScale - scale), scale: newScale)
        }
        let drop = scale - newScale
        var kept = Array(digits.dropLast(drop))
        if digits[digits.count - drop] >= 5 {
            var i = kept.count - 1
            while i >= 0 {
                if kept[i] == 9 {
                    kept[i] = 0
                    i -= 1
                } else {
                    kept[i] += 1
                    break
                }
            }
            if i < 0 { kept.insert(1, at: 0) }
        }
        return ExactDecimal(isNegative: isNegative, digits: kept, scale: newScale)
    }

    /// The value without trailing fraction zeros (`12.30` → `12.3`, `5.00` → `5`).
    public var normalized: ExactDecimal {
        var newScale = scale
        while newScale > 0 && digits[digits.count - (scale - newScale) - 1] == 0 { newScale -= 1 }
        return ExactDecimal(isNegative: isNegative, digits: Array(digits.dropLast(scale - newScale)), scale: newScale)
    }

    /// Exact numeric equality, whatever the scales (`1.50 == 1.5`).
    public static func == (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool {
        compare(lhs, rhs) == 0
    }

    /// Hashes the numeric value, so that values equal under `==` hash alike.
    public func hash(into hasher: inout Hasher) {
        let n = normalized
        hasher.combine(n.isNegative)
        hasher.combine(n.digits)
        hasher.combine(n.scale)
    }

    /// Numeric order.
    public static func < (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool {
        compare(lhs, rhs) < 0
    }

    private static func compare(_ a: ExactDecimal, _ b: ExactDecimal) -> Int {
        if a.isZero && b.isZero { return 0 }
        if a.isNegative != b.isNegative { return a.isNegative ? -1 : 1 }
        let magnitude = compareMagnitude(a, b)
        return a.isNegative ? -magnitude : magnitude
    }

    private static func compareMagnitude(_ a: ExactDecimal, _ b: ExactDecimal) -> Int {
        let scale = max(a.scale, b.scale)
        let ad = a.digits + repeatElement(0, count: scale - a.scale)
        let bd = b.digits + repeatElement(0, count: scale - b.scale)
        let aTrim = ad.drop { $0 == 0 }
        let bTrim = bd.drop { $0 == 0 }
        if aTrim.count != bTrim.count { return aTrim.count < bTrim.count ? -1 : 1 }
        for (x, y) in zip(aTrim, bTrim) where x != y { return x < y ? -1 : 1 }
        return 0
    }
}

extension ExactDecimal {
    /// `ExactDecimal(text)` rounded to `scale` (when given) as text, computed straight from the bytes for
    /// the plain forms that make up nearly all source data (`-12.30`, `007`, ` 1.5 `, `\u{3000}1.5`); `nil`
    /// for anything else (exponents, invalid text), which the caller then hands to `ExactDecimal` itself.
    ///
    /// The transform converts every quantity and price this way: parsing into digit arrays and back
    /// cost more than reading the JSON they came from. Tests check it against `ExactDecimal` on random
    /// inputs.
    public static func plainText(_ text: String, roundedTo scale: Int?) -> String? {
        let original = text
        var text = text
        var unchanged = false
        let result = text.withUTF8 { bytes -> String? in
            let bounds = bytes.boundsWithoutSpaces()
            var start = bounds.lowerBound
            let end = bounds.upperBound
            let trimmed = start == 0 && end == bytes.count
            var negative = false
            var plus = false
            if start < end && (bytes[start] == UInt8(ascii: "-") || bytes[start] == UInt8(ascii: "+")) {
                negative = bytes[start] == UInt8(ascii: "-")
                plus = !negative
                start += 1
            }
            func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
            var i = start
            while i < end && isDigit(bytes[i]) { i += 1 }
            let integerEnd = i
            guard integerEnd > start else { return nil }
            var fractionStart = integerEnd
            var fractionEnd = integerEnd
            if i < end && bytes[i] == UInt8(ascii: ".") {
                i += 1
                fractionStart = i
                while i < end && isDigit(bytes[i]) { i += 1 }
                fractionEnd = i
                guard fractionEnd > fractionStart else { return nil }
            }
            guard i == end else { return nil }
            let fractionCount = fractionEnd - fractionStart
            let target = scale ?? fractionCount
            guard target >= 0 && target <= 1000 else { return nil }

            // Already written as the result would be (the usual case: WDT sends "119.0000" for a field without
            // a scale): keep the text itself instead of building a copy.
            let noLeadingZero = integerEnd - start == 1 || bytes[start] != UInt8(ascii: "0")
            if trimmed && !plus && target == fractionCount && noLeadingZero {
                let nonZero = UnsafeBufferPointer(rebasing: bytes[start..<fractionEnd]).contains {
                    $0 > UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")
                }
                if !negative || nonZero {
                    unchanged = true
                    return nil
                }
            }

            // Digits of the result: integer digits without leading zeros, then `target` fraction digits.
            var digits: [UInt8] = []
            digits.reserveCapacity(integerEnd - start + target + 2)
            var k = start
            while k < integerEnd - 1 && bytes[k] == UInt8(ascii: "0") { k += 1 }
            digits.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[k..<integerEnd]))
            let kept = min(target, fractionCount)
            digits.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[fractionStart..<(fractionStart + kept)]))
            if target > fractionCount {
                digits.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: target - fractionCount))
            } else if target < fractionCount && bytes[fractionStart + target] >= UInt8(ascii: "5") {
                // Half away from zero: add one unit in the last kept place.
                var j = digits.count - 1
                while j >= 0 {
                    if digits[j] == UInt8(ascii: "9") {
                        digits[j] = UInt8(ascii: "0")
                        j -= 1
                    } else {
                        digits[j] += 1
                        break
                    }
                }
                if j < 0 { digits.insert(UInt8(ascii: "1"), at: 0) }
            }
            let isZero = !digits.contains { $0 != UInt8(ascii: "0") }
            var out: [UInt8] = []
            out.reserveCapacity(digits.count + 2)
            if negative && !isZero { out.append(UInt8(ascii: "-")) }
            let integerCount = digits.count - target
            out.append(contentsOf: digits[..<integerCount])
            if target > 0 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[integerCount...])
            }
            return String(decoding: out, as: UTF8.self)
        }
        return unchanged ? original : result
    }
}
