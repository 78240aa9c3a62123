import FerryCore

/// Which version of one document wins when inputs hold several (overlapping extract windows, re-exports).
public enum Deduplication {
    /// Whether a version read later (`later`) replaces one read earlier (`earlier`): the higher version
    /// wins (compared as decimals when both are numbers, as text otherwise, which orders
    /// `yyyy-MM-dd HH:mm:ss` correctly); on a tie, or without versions, the one read later wins.
    public static func replaces(_ later: String?, _ earlier: String?) -> Bool {
        guard let later, let earlier, later != earlier else { return true }
        if let x = ExactDecimal(later), let y = ExactDecimal(earlier) { return x >= y }
        return later > earlier
    }
}
