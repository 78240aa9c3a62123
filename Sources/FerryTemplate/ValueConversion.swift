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
            if let written = writtenAsIs(text, as: type) { return .value(.string(written)) }
            return convertDateTime(text, to: type)
        }
    }

    /// Why a decimal that is not zero cannot be written as `written`, the text `convert` gave for it at
    /// `scale`, when the scale rounded it to zero (`0.004` at scale 2 is `0.00`); nil when `written` is not
    /// zero, or `text` is. Decided from `written` first: its first nonzero digit, nearly always its first
    /// byte, settles it, so a value that keeps its size costs no parse.
    public static func lostToScale(_ text: String, written: String, scale: Int) -> String? {
        for byte in written.utf8 where byte >= UInt8(ascii: "1") && byte <= UInt8(ascii: "9") { return nil }
        guard let value = ExactDecimal(text), !value.isZero else { return nil }
        return "'\(text)' rounds to \(written) at scale \(scale), so a value that is not zero would be sent as zero; "
            + "raise the field's scale, or keep such values out of it (any value nearer zero than \(halfUnit(scale: scale)) "
            + "rounds to zero)"
    }

    /// Half a unit of `scale`'s last digit, as messages write it (`0.005` for scale 2, `0.5` for scale 0): the
    /// smallest magnitude that does not round to zero at `scale` (rounding is half away from zero), so the limit
    /// to test a value against instead of zero.
    public static func halfUnit(scale: Int) -> String {
        "0." + String(repeating: "0", count: scale) + "5"
    }

    /// A date or datetime in any accepted layout (see `parseDateTime`), written `yyyy-MM-dd` or
    /// `yyyy-MM-dd HH:mm:ss`; all zeros is empty. `writtenAsIs` settles the usual case first, and gives the
    /// same value whenever it gives one.
    static func convertDateTime(_ text: String, to type: ValueType) -> Converted {
        guard let parts = parseDateTime(text.trimmingCharactersInSpaces()) else {
            return .failure("'\(text)' is not a date (expected yyyy-MM-dd or yyyy-MM-dd HH:mm:ss)")
        }
        if parts.isZero { return .empty }
        guard parts.isValid else { return .failure("'\(text)' is not a valid calendar date") }
        func pad(_ n: Int, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let date = "\(pad(parts.year, 4))-\(pad(parts.month, 2))-\(pad(parts.day, 2))"
        if type == .date { return .value(.string(date)) }
        return .value(.string("\(date) \(pad(parts.hour, 2)):\(pad(parts.minute, 2)):\(pad(parts.second, 2))"))
    }

    /// The usual case, a valid `yyyy-MM-dd` (for a date or a datetime's date) or `yyyy-MM-dd HH:mm:ss`
    /// (for either), already in the form the conversion writes: the value is the text (or its first ten
    /// bytes). `nil` for anything else, which the general path converts or explains (an invalid date,
    /// another layout, all zeros). The same parse as the general path, without its trimming and padding.
    static func writtenAsIs(_ text: String, as type: ValueType) -> String? {
        var text = text
        let count = text.utf8.count
        guard count == 19 || (count == 10 && type == .date) else { return nil }
        let isWritten = text.withUTF8 { bytes in
            // `parseDateTime` also takes `/` and `T`; the output writes `-` and a space.
            guard bytes[4] == UInt8(ascii: "-"), count == 10 || bytes[10] == UInt8(ascii: " "),
                let parts = parseDateTime(bytes)
            else { return false }
            return !parts.isZero && parts.isValid
        }
        guard isWritten else { return nil }
        return type == .date && count == 19 ? String(text.utf8.prefix(10))! : text
    }

    /// The order of two date-times written in any layout `parseDateTime` reads, by the time they name
    /// (`2026-01-05T10:20:00` is before `2026-01-05 10:20:01`, whose text sorts first), fractions of a
    /// second included: -1, 0 or 1; `nil` unless both are date-times. The calendar is not checked.
    public static func compareDateTimes(_ a: String, _ b: String) -> Int? {
        func key(_ text: String) -> (parts: [Int], fraction: Substring)? {
            let trimmed = text.trimmingCharactersInSpaces()
            guard let p = parseDateTime(trimmed) else { return nil }
            // Past `yyyy-MM-dd HH:mm:ss.` (ASCII, as the parse checked): the fraction's digits, if any.
            let fraction = trimmed.dropFirst(20)
            return ([p.year, p.month, p.day, p.hour, p.minute, p.second], fraction)
        }
        guard let x = key(a), let y = key(b) else { return nil }
        if x.parts != y.parts { return x.parts.lexicographicallyPrecedes(y.parts) ? -1 : 1 }
        // Digits of a fraction, compared as decimal fractions: ".5" after ".45", ".5" as ".50".
        let length = max(x.fraction.count, y.fraction.count)
        let f = x.fraction + String(repeating: "0", count: length - x.fraction.count)
        let g = y.fraction + String(repeating: "0", count: length - y.fraction.count)
        return f == g ? 0 : (f < g ? -1 : 1)
    }

    /// Whether `text` is empty or only white space (`Unicode.Scalar.isTrimmedSpace`, the rule trimming uses:
    /// blank exactly when `trimmingCharactersInSpaces()` is empty). A byte check first: any visible ASCII byte
    /// settles it.
    public static func isBlank(_ text: String) -> Bool {
        for byte in text.utf8 {
            if byte > 0x20 && byte < 0x80 { return false }
        }
        return text.unicodeScalars.allSatisfy(\.isTrimmedSpace)
    }

    /// A date and time as parsed, before any check of the calendar (time zero for a date alone).
    struct DateTimeParts {
        var year: Int, month: Int, day: Int
        var hour = 0, minute = 0, second = 0

        /// All zeros: "no date".
        var isZero: Bool { year == 0 && month == 0 && day == 0 && hour == 0 && minute == 0 && second == 0 }

        /// A day of the calendar and a time of day.
        var isValid: Bool {
            guard year >= 1, (1...12).contains(month), day >= 1, (0...23).contains(hour), (0...59).contains(minute),
                (0...59).contains(second)
            else { return false }
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            let days: Int
            switch month {
            case 2: days = leap ? 29 : 28
            case 4, 6, 9, 11: days = 30
            default: days = 31
            }
            return day <= days
        }
    }

    /// Year, month, day, hour, minute, second from `yyyy-MM-dd[( |T)HH:mm:ss[.fff]]` (or with `/`).
    static func parseDateTime(_ text: String) -> DateTimeParts? {
        var text = text
        return text.withUTF8 { parseDateTime($0) }
    }

    /// `parseDateTime(_:)` on UTF-8 bytes.
    static func parseDateTime(_ chars: UnsafeBufferPointer<UInt8>) -> DateTimeParts? {
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
        var parts = DateTimeParts(year: year, month: month, day: day)
        if chars.count == 10 { return parts }
        guard chars.count >= 19, at(10, " ") || at(10, "T"), at(13, ":"), at(16, ":"),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        if chars.count > 19 {
            // Fractional seconds are allowed and dropped; nothing else may follow.
            guard at(19, "."), chars.count > 20,
                chars[20...].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
            else { return nil }
        }
        (parts.hour, parts.minute, parts.second) = (hour, minute, second)
        return parts
    }
}
