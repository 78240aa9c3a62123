import FerryCore

/// The bill numbers of one transform: which key holds each, and which records wait for a number another
/// key holds.
///
/// The rules, in one place (`OutputCollector` writes and removes the files they decide about):
/// - a bill number is claimed without case (`claim(number:base:)`): RK9 and rk9 would be one file on a
///   case-insensitive disk, and Kingdee's database, as usually installed, may take them for one bill;
/// - the first key to claim a number holds it; a record of another key that produces it waits (its
///   document is rejected meanwhile);
/// - when the holder's newer version gives the number up, the first waiting record that is still its
///   key's current version gets it, as if the holder had never had it;
/// - a key's newer version that waits for the same number takes its older version's place in the queue,
///   not the end: the key wanted the number first, whatever the read order.
struct BillNumberClaims {
    /// A record waiting for a number: its index among the records absorbed, and where its `WaitingBill`
    /// is in the details spool.
    typealias Waiter = (index: Int, offset: Int)

    /// The holder of each claim: its key, or its payload file name for a document without a key.
    private var holders: [String: String] = [:]
    /// The records waiting for each claim, in the order their keys started waiting. A slice, so that the
    /// places in `places` stay valid when the queue's head is taken.
    private var queues: [String: ArraySlice<Waiter>] = [:]
    /// Where each waiting record is in its claim's queue.
    private var places: [Int: Int] = [:]

    /// The claim of the bill number `number`, whose payload file is `<base>.json`
    /// (`base` = `SafeFileName.make(number)`): the base name lowercased, which keeps the usual bill
    /// numbers Swift small strings (no heap); for a name that needed a hash of the number, the file name
    /// of the number lowercased (the hash tells cases apart).
    static func claim(number: String, base: String) -> String {
        base == number ? base.lowercased() : SafeFileName.make(number.lowercased())
    }

    /// Who holds `claim`, if anyone.
    func holder(of claim: String) -> String? { holders[claim] }

    /// Gives `claim` to `holder`.
    mutating func give(_ claim: String, to holder: String) { holders[claim] = holder }

    /// Gives `claim` up when `key` holds it.
    ///
    /// - Returns: whether `key` held it (then the first waiter may get it: `nextWaiter(for:isCurrent:)`).
    mutating func release(_ claim: String, heldBy key: String) -> Bool {
        guard holders[claim] == key else { return false }
        holders[claim] = nil
        return true
    }

    /// Queues `waiter` for `claim`: in the place of `previous`, the record of its key it supersedes, when
    /// that one was waiting for the same claim; else last.
    mutating func wait(_ waiter: Waiter, for claim: String, replacing previous: Int?) {
        if let previous, let place = places.removeValue(forKey: previous),
            queues[claim]?.indices.contains(place) == true, queues[claim]![place].index == previous
        {
            queues[claim]![place] = waiter
            places[waiter.index] = place
        } else {
            queues[claim, default: []].append(waiter)
            places[waiter.index] = queues[claim]!.endIndex - 1
        }
    }

    /// Takes the first record waiting for `claim` that `isCurrent` (still its key's current version; the
    /// ones before it are dropped from the queue) — nil when there is none.
    mutating func nextWaiter(for claim: String, isCurrent: (Int) -> Bool) -> Waiter? {
        guard var queue = queues.removeValue(forKey: claim) else { return nil }
        while let waiter = queue.popFirst() {
            places[waiter.index] = nil
            guard isCurrent(waiter.index) else { continue }
            if !queue.isEmpty { queues[claim] = queue }
            return waiter
        }
        return nil
    }

    /// The records still waiting for which `isCurrent` holds, each with its claim and the claim's holder
    /// now (nil when nobody holds it).
    func waiters(isCurrent: (Int) -> Bool) -> [(claim: String, holder: String?, waiter: Waiter)] {
        var waiters: [(claim: String, holder: String?, waiter: Waiter)] = []
        for (claim, queue) in queues {
            for waiter in queue where isCurrent(waiter.index) { waiters.append((claim, holders[claim], waiter)) }
        }
        return waiters
    }
}
