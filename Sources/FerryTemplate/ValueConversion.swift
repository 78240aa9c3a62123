import FerryCore

/// Converts source text to the JSON value a field's `type` asks for.
///
/// Strings stay strings; decimals stay exact (`12.30` → `12.30`, or rounded half away from zero to
/// `scale`); integers must have no fraction; booleans accept `true/false/1/0/yes/no/是/否`; dates and
/// datetimes accept `yyyy-MM-dd`, `yyyy/MM/dd`, with an optional ` HH:mm:ss` or `THH:mm:ss` time, and are
/// written as Kingdee expects: `yyyy-MM-dd` and `yyyy-MM-dd HH:mm:ss`. WDT's "no date" value
/// `0000-00-00 00:00:00` counts as empty.
public enum ValueConversion {
    /// The outcome of a conversion.
    public enum Converted: Sendable, Hashable {
        /// The converted value.
        case value(JSONValue)
        /// The text means "no value" for this type (empty, or WDT's zero date).
        case empty
        /// Why the text cannot be converted (a phrase such as "'abc' is not a decimal number").
        case failure(String)
    }

    /// Converts `text` to `type`.
    public static func convert(_ text: String, to type: ValueType, scale: Int?) -> Converted {
        if type != .string && isBlank(text) { return .empty }
        switch type {
        case .string:
            return .value(.string(text))
        case .decimal:
            if let plain = ExactDecimal.plainText(text, roundedTo: scale) { return .value(.number(plain)) }
            guard let decimal = ExactDecimal(text) else {
                return .failure("'\(text)' is not a decimal number")
            }
            return .value(.number((scale.map { decimal.rounded(toScale: $0) } ?? decimal).description))
        case .integer:
            guard let decimal = ExactDecimal(text) else { return .failure("'\(text)' is not a whole number") }
            guard decimal.isIntegral else { return .failure("'\(text)' is not a whole number (it has a fraction)") }
            return .value(.number(decimal.rounded(toScale: 0).description))
        case .bool:
            switch text.trimmingCharactersInSpaces().lowercased() {
            case "true", "1", "yes", "是": return .value(.bool(true))
            case "false", "0", "no", "否": return .value(.bool(false))
            default: return .failure("'\(text)' is not a boolean (true/false, 1/0)")
            }
        case .date, .datetime:
            guard let parts = parseDateTime(text.trimmingCharactersInSpaces()) else {
                return .failure("'\(text)' is not a date (expected yyyy-MM-dd or yyyy-MM-dd HH:mm:ss)")
            }
            if parts.allSatisfy({ $0 == 0 }) { return .empty }
            guard isValid(parts) else { return .failure("'\(text)' is not a valid calendar date") }
            func pad(_ n: Int, _ width: Int) -> String {
                let s = String(n)
                return String(repeating: "0", count: max(0, width - s.count)) + s
            }
            let date = "\(pad(parts[0], 4))-\(pad(parts[1], 2))-\(pad(parts[2], 2))"
            if type == .date { return .value(.string(date)) }
            return .value(.string("\(date) \(pad(parts[3], 2)):\(pad(parts[4], 2)):\(pad(parts[5], 2))"))
        }
    }

    /// Whether `text` is empty or only whitespace (a byte check first: any visible ASCII byte settles it).
    static func isBlank(_ text: String) -> Bool {
        for byte in text.utf8 {
            if byte > 0x20 && byte < 0x80 { return false }
        }
        return text.trimmingCharactersInSpaces().isEmpty
    }

    /// Year, month, day, hour, minute, second from `yyyy-MM-dd[( |T)HH:mm:ss[.fff]]` (or with `/`).
    static func parseDateTime(_ text: String) -> [Int]? {
        let chars = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= chars.count else { return nil }
            var value = 0
            for byte in chars[range] {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func at(_ i: Int, _ ascii: Unicode.Scalar) -> Bool { chars[i] == UInt8(ascii: ascii) }
        guard chars.count >= 10, let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            chars[4] == chars[7], at(4, "-") || at(4, "/")
        else { return nil }
        if chars.count == 10 { return [year, month, day, 0, 0, 0] }
        guard chars.count >= 19, at(10, " ") || at(10, "T"), at(13, ":"), at(16, ":"),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        if chars.count > 19 {
            // Fractional seconds are allowed and dropped; nothing else may follow.
            guard at(19, "."), chars.count > 20,
                chars[20...].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
            else { return nil }
        }
        return [year, month, day, hour, minute, second]
    }

    static func isValid(_ p: [Int]) -> Bool {
        let (y, m, d) = (p[0], p[1], p[2])
        guard y >= 1, (1...12).contains(m), d >= 1, (0...23).contains(p[3]), (0...59).contains(p[4]),
            (0...59).contains(p[5])
        else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
        return d <= days
    }
}
