import FerryCore

/// Several versions of one document found in the inputs (overlapping extract windows, re-exports).
public struct DuplicateGroup: Sendable, Hashable {
    /// The document key.
    public var key: String
    /// The version transformed.
    public var used: StockInOrder
    /// The older (or equal, earlier-read) versions not transformed.
    public var superseded: [StockInOrder]
}

/// Keeps one version per document key: the most recent.
public enum Deduplication {
    /// Splits `orders` into the ones to transform (in input order) and the groups of duplicates.
    ///
    /// The most recent version wins: the highest `version` (compared as decimals when both are numbers,
    /// as text otherwise, which orders `yyyy-MM-dd HH:mm:ss` correctly); on a tie, or without versions,
    /// the one read last (later file in sorted order, later position). Orders without a key are kept.
    public static func resolve(_ orders: [StockInOrder]) -> (unique: [StockInOrder], duplicates: [DuplicateGroup]) {
        var best: [String: Int] = [:]
        var groups: [String: [Int]] = [:]
        for (index, order) in orders.enumerated() {
            guard let key = order.key else { continue }
            groups[key, default: []].append(index)
            if let current = best[key] {
                if isNewer(order, than: orders[current]) { best[key] = index }
            } else {
                best[key] = index
            }
        }
        var unique: [StockInOrder] = []
        for (index, order) in orders.enumerated() {
            guard let key = order.key else {
                unique.append(order)
                continue
            }
            if best[key] == index { unique.append(order) }
        }
        let duplicates = groups.filter { $0.value.count > 1 }.keys.sorted().map { key -> DuplicateGroup in
            let winner = best[key]!
            return DuplicateGroup(
                key: key, used: orders[winner], superseded: groups[key]!.filter { $0 != winner }.map { orders[$0] })
        }
        return (unique, duplicates)
    }

    static func isNewer(_ a: StockInOrder, than b: StockInOrder) -> Bool {
        switch (a.version, b.version) {
        case (let x?, let y?) where x != y:
            if let dx = ExactDecimal(x), let dy = ExactDecimal(y) { return dx > dy }
            return x > y
        default:
            return true  // read later
        }
    }
}
