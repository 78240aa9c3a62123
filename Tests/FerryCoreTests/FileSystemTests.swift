import FerryCore
import FerryTestSupport
import Foundation
import Testing

@Suite struct FileSystemTests {
    @Test func writesAtomicallyAndCreatesParents() throws {
        let dir = TestSupport.makeTemporaryDirectory()
        let path = dir + "/a/b/c.json"
        try FileSystem.writeAtomically("one", to: path)
        try FileSystem.writeAtomically("two", to: path)
        #expect(try FileSystem.readText(path) == "two")
        #expect(FileSystem.list(dir + "/a/b") == ["c.json"])
    }

    @Test func writeNewCreatesOnlyWhatDoesNotExist() throws {
        let dir = TestSupport.makeTemporaryDirectory()
        let open = try OpenDirectory(dir)
        #expect(try open.writeNew(Array("one".utf8), named: "new.json"))
        #expect(try FileSystem.readText(dir + "/new.json") == "one")
        #expect(try !open.writeNew(Array("two".utf8), named: "new.json"), "an existing file is left alone")
        #expect(try FileSystem.readText(dir + "/new.json") == "one")
        #expect(throws: Diagnostic.self) { try open.writeNew([1], named: "new.json/below") }
        #expect(throws: Diagnostic.self) { try OpenDirectory(dir + "/new.json") }
        #expect(throws: Diagnostic.self) { try OpenDirectory(dir + "/missing") }
    }

    @Test func createsNestedDirectoriesOnceAndRefusesAFileInTheWay() throws {
        let dir = TestSupport.makeTemporaryDirectory()
        try FileSystem.createDirectory(dir + "/runs/1/extract")
        try FileSystem.createDirectory(dir + "/runs/1/extract")
        #expect(FileSystem.isDirectory(dir + "/runs/1/extract"))
        try FileSystem.writeAtomically("x", to: dir + "/file")
        #expect(throws: Diagnostic.self) { try FileSystem.createDirectory(dir + "/file") }
        #expect(throws: Diagnostic.self) { try FileSystem.createDirectory(dir + "/file/below") }
    }

    @Test func leavesNoTemporaryFilesAndCreatesMissingDirectoriesOnDemand() throws {
        let dir = TestSupport.makeTemporaryDirectory()
        try FileSystem.writeAtomically(Array("plain".utf8), to: dir + "/plain.json", durable: false)
        try FileSystem.writeAtomically(Array("nested".utf8), to: dir + "/x/y/z.json", durable: true)
        #expect(try FileSystem.readText(dir + "/plain.json") == "plain")
        #expect(try FileSystem.readText(dir + "/x/y/z.json") == "nested")
        // The hidden temporary files were renamed into place, none is left behind.
        #expect((try FileManager.default.contentsOfDirectory(atPath: dir)).sorted() == ["plain.json", "x"])
        #expect((try FileManager.default.contentsOfDirectory(atPath: dir + "/x/y")) == ["z.json"])
    }

    @Test(arguments: [
        ("/a/b/c.json", "/a/b", "c.json"), ("c.json", ".", "c.json"), ("/c.json", "/", "c.json"),
        ("runs/1/transform/RK 1.json", "runs/1/transform", "RK 1.json"), ("目录/单据.json", "目录", "单据.json"),
    ])
    func splitsPathsAtTheLastSlash(path: String, directory: String, name: String) {
        #expect(FileSystem.split(path) == (directory, name))
        #expect(FileSystem.fileName(path) == name)
    }

    @Test func concurrentMapKeepsInputOrder() {
        let input = Array(0..<10_000)
        #expect(ConcurrentMap.map(input) { $0 * 3 } == input.map { $0 * 3 })
        #expect(ConcurrentMap.map([7]) { $0 + 1 } == [8])
        #expect(ConcurrentMap.map([Int]()) { $0 }.isEmpty)
        for workers in [0, 1, 2, 3, 64] {
            #expect(ConcurrentMap.map(input, workers: workers) { $0 - 1 } == input.map { $0 - 1 }, "workers \(workers)")
        }
        // At most `workers` threads at a time.
        for workers in [1, 2] {
            let busy = Mutex()
            nonisolated(unsafe) var running = 0
            nonisolated(unsafe) var most = 0
            _ = ConcurrentMap.map(Array(0..<64), workers: workers) { _ in
                busy.withLock {
                    running += 1
                    most = max(most, running)
                }
                usleep(1_000)
                busy.withLock { running -= 1 }
            }
            #expect(most <= workers, "workers \(workers)")
        }
    }

    @Test func timestampsAreUTCInISO8601() {
        #expect(Timestamp.format(seconds: 0) == "1970-01-01T00:00:00Z")
        #expect(Timestamp.format(seconds: 1_796_000_000, milliseconds: 7) == "2026-11-30T00:53:20.007Z")
        #expect(Timestamp.format(seconds: 951_782_400) == "2000-02-29T00:00:00Z")
        let now = Timestamp.now()
        #expect(now.count == 24 && now.hasSuffix("Z") && now.hasPrefix("20"))
    }

    @Test func listsFilesRecursivelyInByteOrderSkippingHidden() throws {
        let dir = TestSupport.makeTemporaryDirectory()
        for name in ["b/2.json", "a.json", "b/10.json", ".hidden/x.json", "B.json"] {
            try FileSystem.writeAtomically("{}", to: dir + "/" + name)
        }
        let files = try FileSystem.filesRecursively(under: dir).map { String($0.dropFirst(dir.count + 1)) }
        #expect(files == ["B.json", "a.json", "b/10.json", "b/2.json"])
    }

    /// Symlinks are followed for files only: a link to a directory (a loop back to its own directory
    /// included) is not walked, so no file is listed twice, or forty times.
    @Test func listingFilesRecursivelyWalksEachDirectoryOnce() throws {
        let dir = TestSupport.makeTemporaryDirectory()
        for name in ["a.json", "sub/b.json"] { try FileSystem.writeAtomically("{}", to: dir + "/" + name) }
        let outside = TestSupport.makeTemporaryDirectory()
        try FileSystem.writeAtomically("{}", to: outside + "/x.json")
        let links = [
            ("loop", "."), ("other", dir + "/sub"), ("c.json", "a.json"), ("dangling.json", "nowhere"),
            ("exports", outside), ("exports-again", outside),
        ]
        for (name, target) in links {
            try FileManager.default.createSymbolicLink(atPath: dir + "/" + name, withDestinationPath: target)
        }
        let files = try FileSystem.filesRecursively(under: dir).map { String($0.dropFirst(dir.count + 1)) }
        // A link back up the tree, and a second way to a directory, list nothing again; a directory that is
        // reached only through a link is walked; links to files are files.
        #expect(files == ["a.json", "c.json", "dangling.json", "exports/x.json", "sub/b.json"])
        // The directory named may itself be a link.
        let named = TestSupport.makeTemporaryDirectory() + "/in"
        try FileManager.default.createSymbolicLink(atPath: named, withDestinationPath: dir + "/sub")
        #expect(try FileSystem.filesRecursively(under: named) == [named + "/b.json"])
    }

    @Test func readingAMissingFileNamesIt() {
        do {
            _ = try FileSystem.read("/nonexistent/ferry.json")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/ferry.json: error: cannot read the file"))
        }
    }

    @Test func lockIsExclusiveAndReleased() throws {
        let dir = TestSupport.makeTemporaryDirectory()
        let lock = try FileLock(path: dir + "/.lock", purpose: "run X")
        // flock locks belong to the open file description: a second open in the same process conflicts too.
        #expect(throws: Diagnostic.self) { try FileLock(path: dir + "/.lock", purpose: "run X") }
        lock.release()
        let again = try FileLock(path: dir + "/.lock", purpose: "run X")
        again.release()
    }

    /// The refusal names the process that holds the lock, not whatever the lock file's note says.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/locks")))
    func aRefusedLockNamesItsHolder() throws {
        let path = TestSupport.makeTemporaryDirectory() + "/.lock"
        let lock = try FileLock(path: path, purpose: "run X")
        defer { lock.release() }
        // A note left by an earlier holder (or another tool's lock, which writes none of its own).
        let fd = open(path, O_WRONLY | O_TRUNC)
        _ = "pid 424242\n".withCString { write(fd, $0, 11) }
        close(fd)
        do {
            _ = try FileLock(path: path, purpose: "run X")
            Issue.record("the lock was taken twice")
        } catch {
            #expect(error.message.contains("(pid \(getpid()))"), "\(error.message)")
            #expect(!error.message.contains("424242"), "\(error.message)")
        }
    }

    /// Who holds a lock is read without taking it; a process killed with SIGKILL holds none.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/locks") && FileManager.default.isExecutableFile(atPath: "/usr/bin/flock")))
    func lockHoldersAreListedAndAKilledProcessHoldsNone() async throws {
        let path = TestSupport.makeTemporaryDirectory() + "/.lock"
        #expect(FileLock.holders(of: path) == [], "no file, no holder")
        let lock = try FileLock(path: path, purpose: "run X")
        #expect(FileLock.holders(of: path) == [getpid()])
        lock.release()
        #expect(FileLock.holders(of: path) == [])

        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        // --no-fork: flock takes the lock and becomes `sleep`, so the lock is that one process's.
        holder.arguments = ["--exclusive", "--no-fork", path, "sleep", "30"]
        try holder.run()
        var seen = false
        for _ in 0..<500 where !seen {
            seen = FileLock.holders(of: path)?.contains(holder.processIdentifier) == true
            if !seen { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(seen)
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        #expect(FileLock.holders(of: path)?.contains(holder.processIdentifier) == false)
    }

    @Test(arguments: [
        ("RK2601050001", "RK2601050001"), ("入库-001", "入库-001"), ("a.b_c", "a.b_c"),
    ])
    func keepsSafeNames(number: String, expected: String) {
        #expect(SafeFileName.make(number) == expected)
    }

    @Test func replacesUnsafeCharactersAndAddsAHash() {
        let made = ["RK/001", "RK\\001", "a:b*c?", "..", ".hidden", "manifest", "x.reject", "a b", "", "RK 001\n"].map(SafeFileName.make)
        for name in made {
            #expect(!name.contains("/") && !name.contains("\\") && !name.contains(":") && !name.contains(" "))
            #expect(!name.hasPrefix("."))
            #expect(name.contains("~"))
        }
        #expect(Set(made).count == made.count)
        #expect(SafeFileName.make("RK/001") != SafeFileName.make("RK\\001"))
        #expect(SafeFileName.make(String(repeating: "长", count: 100)).utf8.count <= SafeFileName.maximumBytes + 9)
    }
}
