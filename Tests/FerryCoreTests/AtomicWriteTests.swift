@testable import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Each way `FileSystem.writeAtomically` can put a file in place, driven directly: which one a run uses
/// depends on the kernel, the file system and the process's capabilities, so every one is tested here.
enum AtomicWay: String, CaseIterable, CustomStringConvertible {
    case unnamedByDescriptor
    case unnamedByProcPath
    case renamedTemporary

    var description: String { rawValue }

    func write(_ text: String, to path: String, durable: Bool = false) throws(Diagnostic) {
        let bytes = Array(text.utf8)
        switch self {
        case .renamedTemporary:
            try FileSystem.writeRenamingTemporary(bytes, to: path, durable: durable)
        case .unnamedByDescriptor, .unnamedByProcPath:
            #if os(Linux)
            let naming: UnnamedFile.Naming = self == .unnamedByDescriptor ? .byDescriptor : .byProcPath
            // Both namings work on the machines this project runs on (root, or Linux 6.10 and later, with /proc).
            let written = try UnnamedFile.write(bytes, to: path, durable: durable, naming: naming)
            #expect(written, "\(self) is not available here")
            #else
            try FileSystem.writeRenamingTemporary(bytes, to: path, durable: durable)
            #endif
        }
    }
}

@Suite struct AtomicWriteTests {
    /// Everything in `directory`, hidden entries included.
    private func entries(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    private func mode(_ path: String) -> mode_t {
        var info = stat()
        _ = stat(path, &info)
        return info.st_mode & 0o777
    }

    @Test(arguments: AtomicWay.allCases)
    func writesNewFilesAndReplacesOldOnesLeavingNothingBehind(way: AtomicWay) throws {
        let dir = TestSupport.makeTemporaryDirectory()
        try way.write("one", to: dir + "/a.json")
        #expect(try FileSystem.readText(dir + "/a.json") == "one")
        try way.write("two, longer than one", to: dir + "/a.json", durable: true)
        #expect(try FileSystem.readText(dir + "/a.json") == "two, longer than one")
        try way.write("3", to: dir + "/a.json")
        #expect(try FileSystem.readText(dir + "/a.json") == "3")
        try way.write("nested", to: dir + "/x/y/z.json", durable: true)
        #expect(try FileSystem.readText(dir + "/x/y/z.json") == "nested")
        try way.write("", to: dir + "/empty.json")
        #expect(try FileSystem.read(dir + "/empty.json").isEmpty)
        try way.write("单据 RK0001", to: dir + "/单据 1.json")
        #expect(try FileSystem.readText(dir + "/单据 1.json") == "单据 RK0001")
        // No hidden temporary file is left, and no extra link to a file either.
        #expect(try entries(dir) == ["a.json", "empty.json", "x", "单据 1.json"])
        #expect(try entries(dir + "/x/y") == ["z.json"])
        var info = stat()
        _ = stat(dir + "/a.json", &info)
        #expect(info.st_nlink == 1)
        // The same permissions as a file created the usual way in the same directory.
        let plain = dir + "/plain"
        close(open(plain, O_WRONLY | O_CREAT | O_EXCL, 0o644))
        #expect(mode(dir + "/a.json") == mode(plain))
        #expect(mode(dir + "/x/y/z.json") == mode(plain))
    }

    @Test(arguments: AtomicWay.allCases)
    func aReplaceThatFailsLeavesWhatWasThereAndNoTemporary(way: AtomicWay) throws {
        let dir = TestSupport.makeTemporaryDirectory()
        // A directory where the file should go: it cannot be replaced by a file.
        try FileSystem.createDirectory(dir + "/RK1.json/kept")
        do {
            try way.write("{}", to: dir + "/RK1.json")
            Issue.record("writing over a directory succeeded")
        } catch {
            #expect(error.file == dir + "/RK1.json")
            #expect(error.message.hasPrefix("cannot replace the file"), "\(error.message)")
        }
        #expect(FileSystem.isDirectory(dir + "/RK1.json/kept"))
        #expect(try entries(dir) == ["RK1.json"])
    }

    @Test(arguments: AtomicWay.allCases)
    func concurrentWritersOfTheSameNamesLeaveWholeFiles(way: AtomicWay) throws {
        let dir = TestSupport.makeTemporaryDirectory()
        let names = ["a.json", "b.json", "c.json"]
        // Each version is long (several pages) and different throughout, so a mix of two would show.
        @Sendable func version(_ writer: Int, _ round: Int) -> String {
            String(repeating: "writer \(writer) round \(round);", count: 600)
        }
        let failures = Mutex()
        nonisolated(unsafe) var errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: 6) { writer in
            for round in 0..<20 {
                do {
                    try way.write(version(writer, round), to: dir + "/" + names[round % names.count])
                } catch {
                    failures.withLock { errors.append("\(error)") }
                }
            }
        }
        #expect(errors.isEmpty)
        let candidates = Set((0..<6).flatMap { writer in (0..<20).map { version(writer, $0) } })
        for name in names {
            #expect(candidates.contains(try FileSystem.readText(dir + "/" + name)), "\(name) is not one whole version")
        }
        #expect(try entries(dir) == names)
    }

    /// A `StreamingFile` (manifests) is unnamed until `commit()` on Linux, or a hidden temporary file
    /// renamed then; "copied" is an unnamed file that cannot be named at `commit()`.
    @Test(arguments: ["unnamed", "unnamed, copied", "renamed"])
    func streamingFilesAppearWholeAtCommitOnly(way: String) throws {
        let dir = TestSupport.makeTemporaryDirectory()
        let path = dir + "/sub/manifest.json"
        try FileSystem.writeAtomically("old", to: path)
        let file = try StreamingFile(path: path, unnamed: way != "renamed")
        #if os(Linux)
        if way == "unnamed, copied" { file.naming = .unavailable }
        let visibleWhileWritten = way == "renamed" ? 2 : 1
        #else
        let visibleWhileWritten = 2
        #endif
        // Several of its 1 MiB buffers, in pieces.
        let piece = String(repeating: "清单 entry;", count: 1000)
        var expected = ""
        for _ in 0..<200 {
            try file.write(piece)
            expected += piece
        }
        #expect(try FileSystem.readText(path) == "old")
        #expect(try entries(dir + "/sub").count == visibleWhileWritten)
        try file.commit()
        #expect(try FileSystem.readText(path) == expected)
        #expect(try entries(dir + "/sub") == ["manifest.json"])
    }

    @Test(arguments: [true, false])
    func aStreamingFileNeverCommittedLeavesNothing(unnamed: Bool) throws {
        let dir = TestSupport.makeTemporaryDirectory()
        do {
            let file = try StreamingFile(path: dir + "/manifest.json", unnamed: unnamed)
            try file.write("partial")
        }
        #expect(try entries(dir).isEmpty)
    }

    #if os(Linux)
    @Test func unnamedFilesThatCannotBeNamedAreLeftToTheCaller() throws {
        let dir = TestSupport.makeTemporaryDirectory()
        #expect(try UnnamedFile.write(Array("x".utf8), to: dir + "/a.json", durable: true, naming: .unavailable) == false)
        #expect(try entries(dir).isEmpty)
        // A file system path that cannot hold an unnamed file (here: a parent that is a regular file)
        // is left to the caller too, whose error names the problem.
        try FileSystem.writeAtomically("file", to: dir + "/parent")
        #expect(try UnnamedFile.write(Array("x".utf8), to: dir + "/parent/a.json", durable: false) == false)
        #expect(throws: Diagnostic.self) { try FileSystem.writeAtomically("x", to: dir + "/parent/a.json") }
        #expect(try FileSystem.readText(dir + "/parent") == "file")
        #expect(try entries(dir) == ["parent"])
    }
    #endif
}
