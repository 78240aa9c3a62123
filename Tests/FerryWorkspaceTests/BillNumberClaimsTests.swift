import FerryCore
@testable import FerryWorkspace
import Testing

/// The claim and queue rules on their own (`BillNumberHandOverTests` checks them on a transform's files).
@Suite struct BillNumberClaimsTests {
    /// The records `claims` would hand `claim` to, one after the other, all current.
    func drain(_ claims: inout BillNumberClaims, _ claim: String) -> [Int] {
        var order: [Int] = []
        while let waiter = claims.nextWaiter(for: claim, isCurrent: { _ in true }) { order.append(waiter.index) }
        return order
    }

    @Test func numbersAreClaimedWithoutCase() {
        #expect(BillNumberClaims.claim(number: "RK9", base: "RK9") == "rk9")
        #expect(BillNumberClaims.claim(number: "rk9", base: "rk9") == "rk9")
        // Names that needed a hash are claimed by the name of the number lowercased: one claim for both cases.
        // (Their file names differ by more than case: the hash is of the number as it is.)
        let upperBase = SafeFileName.make("RK 1"), lowerBase = SafeFileName.make("rk 1")
        #expect(upperBase.lowercased() != lowerBase.lowercased())
        let upper = BillNumberClaims.claim(number: "RK 1", base: upperBase)
        #expect(upper == BillNumberClaims.claim(number: "rk 1", base: lowerBase))
        #expect(upper == lowerBase)
    }

    @Test func onlyTheHolderReleasesAClaim() {
        var claims = BillNumberClaims()
        claims.give("rk1", to: "A")
        let byAnother = claims.release("rk1", heldBy: "B")
        #expect(!byAnother)
        #expect(claims.holder(of: "rk1") == "A")
        let byHolder = claims.release("rk1", heldBy: "A")
        #expect(byHolder)
        #expect(claims.holder(of: "rk1") == nil)
        let again = claims.release("rk1", heldBy: "A")
        #expect(!again)
    }

    @Test func waitersGetTheNumberInTheOrderTheyStartedWaiting() {
        var claims = BillNumberClaims()
        claims.wait((index: 1, offset: 10), for: "rk1", replacing: nil)
        claims.wait((index: 2, offset: 20), for: "rk1", replacing: nil)
        claims.wait((index: 3, offset: 30), for: "rk2", replacing: nil)
        let rk2 = claims.nextWaiter(for: "rk2", isCurrent: { _ in true })
        #expect(rk2?.index == 3 && rk2?.offset == 30)
        let order = drain(&claims, "rk1")
        #expect(order == [1, 2])
    }

    @Test func aSupersededWaiterIsSkippedAndDropped() {
        var claims = BillNumberClaims()
        claims.wait((index: 1, offset: 10), for: "rk1", replacing: nil)
        claims.wait((index: 2, offset: 20), for: "rk1", replacing: nil)
        claims.wait((index: 3, offset: 30), for: "rk1", replacing: nil)
        let first = claims.nextWaiter(for: "rk1", isCurrent: { $0 != 1 })?.index
        #expect(first == 2)
        // Record 1 is gone from the queue, even were it current now.
        let rest = drain(&claims, "rk1")
        #expect(rest == [3])
    }

    @Test func aNewerVersionWaitingForTheSameNumberKeepsItsPlace() {
        var claims = BillNumberClaims()
        claims.wait((index: 1, offset: 10), for: "rk1", replacing: nil)
        claims.wait((index: 2, offset: 20), for: "rk1", replacing: nil)
        // Record 3 is record 1's key, newer: it waits in record 1's place, before record 2.
        claims.wait((index: 3, offset: 30), for: "rk1", replacing: 1)
        let order = drain(&claims, "rk1")
        #expect(order == [3, 2])
    }

    @Test func aNewerVersionWaitingForAnotherNumberGoesLast() {
        var claims = BillNumberClaims()
        claims.wait((index: 1, offset: 10), for: "rk1", replacing: nil)
        claims.wait((index: 2, offset: 20), for: "rk2", replacing: nil)
        claims.wait((index: 3, offset: 30), for: "rk2", replacing: 1)
        let order = drain(&claims, "rk2")
        #expect(order == [2, 3])
        // Record 1 still waits for rk1 (the collector supersedes it: `isCurrent` skips it there).
        let rk1 = drain(&claims, "rk1")
        #expect(rk1 == [1])
    }

    @Test func aPlaceStaysRightAfterTheQueueHeadWasTaken() {
        var claims = BillNumberClaims()
        claims.wait((index: 1, offset: 10), for: "rk1", replacing: nil)
        claims.wait((index: 2, offset: 20), for: "rk1", replacing: nil)
        claims.wait((index: 3, offset: 30), for: "rk1", replacing: nil)
        let first = claims.nextWaiter(for: "rk1", isCurrent: { _ in true })?.index
        #expect(first == 1)
        // Record 4 is record 3's key: it takes record 3's place, after record 2.
        claims.wait((index: 4, offset: 40), for: "rk1", replacing: 3)
        let order = drain(&claims, "rk1")
        #expect(order == [2, 4])
    }

    @Test func waitersNameTheHolderNow() {
        var claims = BillNumberClaims()
        claims.give("rk1", to: "A")
        claims.wait((index: 1, offset: 10), for: "rk1", replacing: nil)
        claims.wait((index: 2, offset: 20), for: "rk2", replacing: nil)
        let waiters = claims.waiters(isCurrent: { $0 != 2 })
        #expect(waiters.count == 1)
        #expect(waiters.first?.claim == "rk1")
        #expect(waiters.first?.holder == "A")
    }
}
