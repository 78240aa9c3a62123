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
}
