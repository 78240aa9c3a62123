import FerryCore
import FerryTestSupport
import FerryTransform
import Foundation
import Testing

@testable import FerryWorkspace

/// The spool file that holds manifest entries and document details during a transform.
@Suite struct SpoolFileTests {
    @Test func framesComeBackByOffsetAndInOrderAcrossFlushes() throws {
        let directory = TestSupport.makeTemporaryDirectory()
        let spool = try SpoolFile(directory: directory)
        #expect(FileSystem.list(directory).isEmpty, "the spool is unlinked as soon as it is created")
        // Frames of many sizes, some larger than the 1 MiB buffer, so some are read back from the file,
        // some from the buffer, and some straddle the chunks `forEachFrame` reads.
        var frames: [(offset: Int, bytes: [UInt8])] = []
        for index in 0..<3000 {
            let size = index % 997 == 5 ? (1 << 20) + index : index % 700
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
            frames.append((try spool.append(index: index * 2) { $0.append(contentsOf: bytes) }, bytes))
        }
        for index in [0, 5, 1002, 1500, 2999] { #expect(try spool.frame(at: frames[index].offset) == frames[index].bytes) }
        var seen: [Int] = []
        try spool.forEachFrame { (index, bytes) throws(Diagnostic) in
            #expect(Array(bytes) == frames[index / 2].bytes)
            seen.append(index)
        }
        #expect(seen == (0..<3000).map { $0 * 2 })
        #expect(try spool.frame(at: frames[2998].offset) == frames[2998].bytes)
    }

    @Test func documentDetailsSurviveTheRoundTrip() {
        let full = DocumentDetails(
            kind: .bill, version: "2026-11-28 10:11:12",
            origin: DocumentOrigin(file: "in/页.jsonl", jsonPath: "$", line: 7, fileIndex: 3, position: 6),
            fileName: "RK1.json", droppedLines: 2)
        let bare = DocumentDetails(
            kind: .superseded, version: nil,
            origin: DocumentOrigin(file: "a.json", jsonPath: "$.response.stockin_list[3]", line: nil, fileIndex: 0, position: 3))
        for details in [full, bare] {
            var encoded: [UInt8] = []
            details.encode(into: &encoded)
            let back = DocumentDetails(decoding: encoded)
            #expect(back.kind == details.kind && back.version == details.version && back.fileName == details.fileName)
            #expect(back.droppedLines == details.droppedLines)
            #expect(back.origin.file == details.origin.file && back.origin.jsonPath == details.origin.jsonPath)
            #expect(back.origin.line == details.origin.line)
        }
    }
}
