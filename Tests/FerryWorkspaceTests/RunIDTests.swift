import FerryCore
import FerryTestSupport
import FerryWorkspace
import Foundation
import Testing

@Suite struct RunIDTests {
    /// Two processes that start a run in the same second must get two runs: the id is claimed by creating
    /// its directory, not by checking that it does not exist yet and creating it afterwards.
    @Test func runsStartedTogetherInOneSecondGetDistinctIDs() throws {
        let dir = TestSupport.makeTemporaryDirectory("ferry-runid") + "/ws"
        try WorkspaceInitializer.create(at: dir)
        let workspace = try Workspace(root: dir)
        let starters = 8
        for round in 0..<40 {
            let now = Date(timeIntervalSince1970: 1_764_000_000 + Double(round))
            let ids = Mutex()
            nonisolated(unsafe) var got: [String] = []
            DispatchQueue.concurrentPerform(iterations: starters) { _ in
                let id = try? workspace.createRun(now: now)
                ids.withLock { got.append(id ?? "(failed)") }
            }
            #expect(Set(got).count == starters, "round \(round): \(got.sorted())")
            #expect(!got.contains("(failed)"))
        }
    }

    /// The newest run is the one created last, also after ten runs in one second (`…Z-10` sorts before
    /// `…Z-2` as text): `transform`, `load` and `status` default to it.
    @Test func theNewestRunFollowsCollisionSuffixesAsNumbers() throws {
        let dir = TestSupport.makeTemporaryDirectory("ferry-runid") + "/ws"
        try WorkspaceInitializer.create(at: dir)
        let workspace = try Workspace(root: dir)
        let now = Date(timeIntervalSince1970: 1_764_000_000)
        var created: [String] = []
        for _ in 0..<12 { created.append(try workspace.createRun(now: now)) }
        #expect(created.last == "20251124T160000Z-11")
        #expect(workspace.runIDs() == created)
        #expect(workspace.latestRunID() == "20251124T160000Z-11")
        #expect(try workspace.resolveRun(nil) == "20251124T160000Z-11")
        #expect(workspace.otherRuns(than: created[0]).first?.id == "20251124T160000Z-11")
    }
}
