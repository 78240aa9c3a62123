import Foundation

/// An instant in WDT's own clock format, `yyyy-MM-dd HH:mm:ss` in Asia/Shanghai, to the second.
///
/// WDT filters, windows and the extract cursor all use this format. Asia/Shanghai has been a fixed
/// UTC+08:00 without daylight saving since 1991, so the conversion is plain arithmetic: no time-zone
/// database, no `DateFormatter`, the same result on every machine.
public struct WDTTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01 00:00:00 UTC (Unix time).
    public var unixSeconds: Int64

    /// Offset of Asia/Shanghai from UTC, in seconds.
    public static let shanghaiOffset: Int64 = 8 * 3600

    /// Creates a time from Unix seconds.
    public init(unixSeconds: Int64) {
        self.unixSeconds = unixSeconds
    }

    /// Creates a time from a `Date` (fractions of a second are dropped).
    public init(_ date: Date) {
        self.unixSeconds = Int64(date.timeIntervalSince1970.rounded(.down))
    }

    /// Parses `yyyy-MM-dd HH:mm:ss` (Asia/Shanghai). Returns `nil` for any other shape or an impossible
    /// date such as `2026-02-30 00:00:00`.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                let b = bytes[i]
                guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(b - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), day >= 1, day <= Self.daysInMonth(year: year, month: month),
            hour < 24, minute < 60, second < 60
        else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        let local = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second)
        self.unixSeconds = local - Self.shanghaiOffset
    }

    /// The text `yyyy-MM-dd HH:mm:ss` in Asia/Shanghai.
    public var description: String {
        let c = components
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2)) \(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))"
    }

    /// A compact, sortable, file-system-safe form: `yyyyMMddTHHmmss` (Asia/Shanghai).
    public var compact: String {
        let c = components
        return "\(pad(c.year, 4))\(pad(c.month, 2))\(pad(c.day, 2))T\(pad(c.hour, 2))\(pad(c.minute, 2))\(pad(c.second, 2))"
    }

    /// The `Date` for this instant.
    public var date: Date { Date(timeIntervalSince1970: TimeInterval(unixSeconds)) }

    /// This time moved by `seconds` (negative moves back).
    public func adding(seconds: Int64) -> WDTTime { WDTTime(unixSeconds: unixSeconds + seconds) }

    /// Chronological order.
    public static func < (lhs: WDTTime, rhs: WDTTime) -> Bool { lhs.unixSeconds < rhs.unixSeconds }

    // MARK: - Calendar arithmetic (proleptic Gregorian, H. Hinnant's algorithms)

    private var components: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let local = unixSeconds + Self.shanghaiOffset
        var days = local / 86400
        var rest = local % 86400
        if rest < 0 {
            rest += 86400
            days -= 1
        }
        let (y, m, d) = Self.civilFromDays(Int(days))
        let r = Int(rest)
        return (y, m, d, r / 3600, (r % 3600) / 60, r % 60)
    }

    private func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
