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

    @Test func listsFilesRecursivelyInByteOrderSkippingHidden() throws {
        let dir = TestSupport.makeTemporaryDirectory()
        for name in ["b/2.json", "a.json", "b/10.json", ".hidden/x.json", "B.json"] {
            try FileSystem.writeAtomically("{}", to: dir + "/" + name)
        }
        let files = try FileSystem.filesRecursively(under: dir).map { String($0.dropFirst(dir.count + 1)) }
        #expect(files == ["B.json", "a.json", "b/10.json", "b/2.json"])
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
