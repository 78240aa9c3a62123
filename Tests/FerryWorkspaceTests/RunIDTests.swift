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
                let id = try? workspace.createRun(now: now).id
                ids.withLock { got.append(id ?? "(failed)") }
            }
            #expect(Set(got).count == starters, "round \(round): \(got.sorted())")
            #expect(!got.contains("(failed)"))
        }
    }

    /// A process killed between making a run's hidden directory and renaming it leaves `runs/.new-*`
    /// behind: the next run created removes it once it is old and its lock is free, and only then.
    @Test func abandonedNewRunDirectoriesAreRemovedByTheNextRun() throws {
        let dir = TestSupport.makeTemporaryDirectory("ferry-runid") + "/ws"
        try WorkspaceInitializer.create(at: dir)
        let workspace = try Workspace(root: dir)
        let runs = dir + "/runs"
        func make(_ name: String, minutesAgo: Double, extra: Bool = false) throws {
            try FileSystem.writeAtomically("pid 1\n", to: runs + "/\(name)/.lock")
            if extra { try FileSystem.writeAtomically("x", to: runs + "/\(name)/page.json") }
            let then = Date().timeIntervalSince1970 - minutesAgo * 60
            var times = [timeval(tv_sec: Int(then), tv_usec: 0), timeval(tv_sec: Int(then), tv_usec: 0)]
            #expect(utimes(runs + "/\(name)", &times) == 0)
        }
        try make(".new-999991-0", minutesAgo: 5)
        try make(".new-999991-1", minutesAgo: 0)
        try make(".new-999991-2", minutesAgo: 5, extra: true)
        try make(".new-999991-3", minutesAgo: 5)
        let held = try FileLock(path: runs + "/.new-999991-3/.lock", purpose: "a run being created")
        defer { held.release() }
        _ = try workspace.createRun()
        let left = FileSystem.list(runs).filter { $0.hasPrefix(".new-") }
        #expect(left == [".new-999991-1", ".new-999991-2", ".new-999991-3"], "abandoned, old and empty: removed; the others kept")
    }

    /// The newest run is the one created last, also after ten runs in one second (`…Z-10` sorts before
    /// `…Z-2` as text): `transform`, `load` and `status` default to it.
    @Test func theNewestRunFollowsCollisionSuffixesAsNumbers() throws {
        let dir = TestSupport.makeTemporaryDirectory("ferry-runid") + "/ws"
        try WorkspaceInitializer.create(at: dir)
        let workspace = try Workspace(root: dir)
        let now = Date(timeIntervalSince1970: 1_764_000_000)
        var created: [String] = []
        for _ in 0..<12 { created.append(try workspace.createRun(now: now).id) }
        #expect(created.last == "20251124T160000Z-11")
        #expect(workspace.runIDs() == created)
        #expect(workspace.latestRunID() == "20251124T160000Z-11")
        #expect(try workspace.resolveRun(nil) == "20251124T160000Z-11")
        #expect(workspace.otherRuns(than: created[0]).first?.id == "20251124T160000Z-11")
    }

    /// A new run is locked by its creator from the moment its name appears: `ferry transform` or `ferry load`
    /// without --run, which take the newest run, find it locked instead of taking it before `ferry run` or
    /// `ferry extract` could lock it (the creator would then stop, its run taken by another command).
    @Test func aNewRunIsLockedByItsCreatorFromTheMomentItsNameAppears() throws {
        let dir = TestSupport.makeTemporaryDirectory("ferry-runid") + "/ws"
        try WorkspaceInitializer.create(at: dir)
        let workspace = try Workspace(root: dir)
        let (id, lock) = try workspace.createRun(now: Date(timeIntervalSince1970: 1_764_000_000))
        #expect(try workspace.resolveRun(nil) == id)
        #expect(throws: Diagnostic.self, "another command cannot take it") { try workspace.lockRun(id) }
        #expect(lock.path == workspace.runDirectory(id) + "/.lock")
        #expect(FileSystem.list(workspace.runsDirectory).filter { !$0.hasPrefix(".") } == [id])
        #expect(!FileSystem.list(workspace.runsDirectory).contains { $0.hasPrefix(".new-") }, "no staging name is left")
        lock.release()
        #expect(throws: Never.self) { try workspace.lockRun(id).release() }

        // Under load: whichever run another process finds newest, it can lock it only once its creator let go.
        let released = Mutex()
        nonisolated(unsafe) var letGo: Set<String> = [id]
        nonisolated(unsafe) var done = false
        nonisolated(unsafe) var violations: [String] = []
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            if worker == 0 {
                for round in 0..<200 {
                    guard let (id, lock) = try? workspace.createRun(now: Date(timeIntervalSince1970: 1_764_000_100 + Double(round / 3)))
                    else { continue }
                    released.withLock { _ = letGo.insert(id) }
                    lock.release()
                }
                released.withLock { done = true }
            } else {
                while !released.withLock({ done }) {
                    guard let newest = workspace.latestRunID(), let taken = try? workspace.lockRun(newest) else { continue }
                    if !released.withLock({ letGo.contains(newest) }) { released.withLock { violations.append(newest) } }
                    taken.release()
                }
            }
        }
        #expect(violations.isEmpty, "runs taken before their creator released them: \(violations)")
    }
}
