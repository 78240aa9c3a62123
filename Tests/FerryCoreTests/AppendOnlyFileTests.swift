import FerryCore
import FerryTestSupport
import Foundation
import Testing

@Suite struct AppendOnlyFileTests {
    @Test func appendsLinesCreatingTheDirectory() throws {
        let path = TestSupport.makeTemporaryDirectory() + "/load/journal.jsonl"
        let file = try AppendOnlyFile(path: path, validLength: 0)
        try file.append(Array("{\"a\":1}".utf8), durable: true)
        try file.append(Array("{\"b\":\"二\"}".utf8), durable: false)
        let bytes = try FileSystem.read(path)
        #expect(String(decoding: bytes, as: UTF8.self) == "{\"a\":1}\n{\"b\":\"二\"}\n")
        #expect(AppendOnlyFile.lines(of: bytes).map { String(decoding: $0.bytes, as: UTF8.self) } == ["{\"a\":1}", "{\"b\":\"二\"}"])
        #expect(AppendOnlyFile.lines(of: bytes).map(\.number) == [1, 2])
    }

    @Test func aLastLineWithoutItsNewlineIsTornAndLeftOut() {
        let lines = AppendOnlyFile.lines(of: Array("one\n\ntwo\nthr".utf8))
        #expect(lines.map { String(decoding: $0.bytes, as: UTF8.self) } == ["one", "", "two"])
        #expect(lines.map(\.number) == [1, 2, 3])
        // Where each line ends, so that a reader can say how much of the file is valid.
        #expect(lines.last.map { $0.bytes.endIndex + 1 } == 9)
        #expect(AppendOnlyFile.lines(of: []).isEmpty)
        #expect(AppendOnlyFile.lines(of: Array("torn".utf8)).isEmpty)
    }

    @Test func openingCutsTheFileToItsValidLength() throws {
        let path = TestSupport.makeTemporaryDirectory() + "/journal.jsonl"
        try FileSystem.writeAtomically("kept\ntor", to: path)
        let file = try AppendOnlyFile(path: path, validLength: 5)
        try file.append(Array("next".utf8), durable: true)
        #expect(try FileSystem.readText(path) == "kept\nnext\n")
        // A valid length beyond the end cuts nothing.
        _ = try AppendOnlyFile(path: path, validLength: 100)
        #expect(try FileSystem.readText(path) == "kept\nnext\n")
    }

    #if os(Linux)
    @Test func aLineThatCannotBeWrittenWholeIsCutOffAgain() throws {
        let path = TestSupport.makeTemporaryDirectory() + "/journal.jsonl"
        let file = try AppendOnlyFile(path: path, validLength: 0)
        try file.append(Array("first".utf8), durable: true)
        // A file size limit stands in for a full disk: the write stops after 10 bytes (EFBIG).
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        var limit = saved
        limit.rlim_cur = 10
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        #expect(throws: Diagnostic.self) { try file.append(Array("a line too long for what is left".utf8), durable: false) }
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, previousHandler)
        try file.append(Array("third".utf8), durable: true)
        #expect(try FileSystem.readText(path) == "first\nthird\n")
    }
    #endif

    @Test func concurrentAppendsNeverInterleave() throws {
        let path = TestSupport.makeTemporaryDirectory() + "/journal.jsonl"
        let file = try AppendOnlyFile(path: path, validLength: 0)
        // Long lines (more than a page), from several threads at once, half of them flushed.
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in 0..<50 {
                let line = Array("\(worker)-\(i):".utf8) + Array(repeating: UInt8(ascii: "a") + UInt8(worker), count: 5000)
                try? file.append(line, durable: i % 2 == 0)
            }
        }
        let lines = AppendOnlyFile.lines(of: try FileSystem.read(path))
        #expect(lines.count == 400)
        var seen: Set<String> = []
        for line in lines {
            let text = String(decoding: line.bytes, as: UTF8.self)
            let label = String(text.prefix { $0 != ":" })
            let worker = try #require(Int(label.prefix { $0 != "-" }))
            let body = line.bytes.dropFirst(label.utf8.count + 1)
            #expect(body.count == 5000 && body.allSatisfy { $0 == UInt8(ascii: "a") + UInt8(worker) }, "line \(line.number)")
            seen.insert(label)
        }
        #expect(seen.count == 400)
    }
}
