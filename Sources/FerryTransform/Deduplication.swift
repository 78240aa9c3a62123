import FerryCore
import FerryTemplate

/// Which version of one document wins when inputs hold several (overlapping extract windows, re-exports).
public enum Deduplication {
    /// Whether a version read later (`later`) replaces one read earlier (`earlier`): the higher version
    /// wins (compared as decimals when both are numbers, as the times they name when both are date-times
    /// in layouts the conversions read, as text otherwise); on a tie, or when neither has a version, the
    /// one read later wins. (Text alone took `2026-01-10T08:00:00` of a re-export for newer than a page's
    /// `2026-01-10 09:00:00`.)
    /// A version without one (missing or empty) never replaces one with a version, whatever the order of
    /// reading: which of the two is newer cannot be told, and the dated one is the one that can be checked.
    public static func replaces(_ later: String?, _ earlier: String?) -> Bool {
        let later = later ?? "", earlier = earlier ?? ""
        if later == earlier { return true }
        if later.isEmpty || earlier.isEmpty { return earlier.isEmpty }
        if let x = ExactDecimal(later), let y = ExactDecimal(earlier) { return x >= y }
        if let order = ValueConversion.compareDateTimes(later, earlier) { return order >= 0 }
        return later > earlier
    }
}
