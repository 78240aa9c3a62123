import FerryCore
import FerrySchemes
import FerryTestSupport
import FerryWorkspace
import Foundation
import Testing

/// Deduplication and the manifest when entries are spooled as documents are absorbed.
@Suite struct SpooledManifestTests {
    private func order(_ number: String, modified: String, count: String = "2") -> String {
        #"{"stockin_no":"\#(number)","status":"80","warehouse_no":"WH-SH01","stockin_time":"2026-01-05 10:00:00","modified":"\#(modified)","details_list":[{"spec_no":"A","goods_count":"\#(count)","cost_price":"1"}]}"#
    }

    private func run(_ input: String, _ output: String) throws -> TransformSummary {
        try TransformRunner.run(
            TransformRequest(
                inputs: [input], outputDirectory: output, templatePath: BuiltInSchemes.path(BuiltInSchemes.templateFileNames[0]),
                lookupsDirectory: TestSupport.fixturesDirectory + "/lookups", settings: ["org_number": "100"]))
    }

    /// Whether `manifest` lists `key` in `section`, with its source file.
    private func listed(_ manifest: JSONValue, _ section: String) -> [(key: String, file: String)] {
        (manifest[section]?.arrayValue ?? []).map { ($0["key"]?.stringValue ?? "", $0["source"]?["file"]?.stringValue ?? "") }
    }

    @Test func aDocumentSupersededAfterItsEntryWasSpooledIsNotListedAndItsFileIsRemoved() throws {
        let input = TestSupport.makeTemporaryDirectory()
        let output = TestSupport.makeTemporaryDirectory()
        // Enough documents after the first that its spooled entry is flushed to the file before a
        // newer version of it (in c.json) supersedes it; b.json's older version loses on arrival.
        let many = (0..<4000).map { order("RK\(100_000 + $0)", modified: "2026-01-05 00:00:00") }
        try FileSystem.writeAtomically(
            ([order("RK1", modified: "2026-01-06 00:00:00", count: "1")] + many).joined(separator: "\n"), to: input + "/a.jsonl")
        try FileSystem.writeAtomically("[\(order("RK1", modified: "2026-01-04 00:00:00"))]", to: input + "/b.json")
        try FileSystem.writeAtomically(
            "[\(order("RK2", modified: "2026-01-01 00:00:00")),\(order("RK1", modified: "2026-01-07 00:00:00", count: "3"))]",
            to: input + "/c.json")
        let summary = try run(input, output)
        #expect(summary.documents == 4004 && summary.payloads == 4002 && summary.superseded == 2 && summary.rejected == 0)

        let manifest = try JSONReader.parse(FileSystem.read(output + "/manifest.json"))
        let outputs = listed(manifest, "outputs")
        #expect(outputs.count == 4002)
        #expect(outputs.filter { $0.key == "RK1" }.map(\.file) == [input + "/c.json"], "only the newest version is listed")
        #expect(outputs.first?.key == "RK100000" && outputs.last?.key == "RK1", "entries stay in input order")
        #expect(manifest["counts"]?["superseded_duplicates"] == 2 && manifest["counts"]?["payloads"] == 4002)
        let payload = try JSONReader.parse(FileSystem.read(output + "/RK1.json"))
        #expect(payload["data"]?["Model"]?["FEntity"]?.arrayValue?.first?["FQty"] == 3, "the file holds the newest version")

        let duplicates = manifest["duplicates"]?.arrayValue ?? []
        #expect(duplicates.count == 1)
        #expect(duplicates.first?["key"] == "RK1")
        #expect(duplicates.first?["used"] == ["file": .string(input + "/c.json"), "path": "$[1]", "version": "2026-01-07 00:00:00"])
        #expect(
            duplicates.first?["superseded"]
                == [
                    ["file": .string(input + "/a.jsonl"), "path": "$", "line": 1, "version": "2026-01-06 00:00:00"],
                    ["file": .string(input + "/b.json"), "path": "$[0]", "version": "2026-01-04 00:00:00"],
                ])
        #expect(!FileSystem.list(output).contains { $0.hasPrefix(".") }, "no spool or temporary file is left behind")
    }

    @Test func aSupersededRejectIsRemovedAndItsDiagnosticsAreDropped() throws {
        let input = TestSupport.makeTemporaryDirectory()
        let output = TestSupport.makeTemporaryDirectory()
        try FileSystem.writeAtomically("[\(order("RK1", modified: "2026-01-05 00:00:00", count: "0"))]", to: input + "/a.json")
        let first = try run(input, output)
        #expect(first.rejected == 1 && first.diagnostics.contains { $0.message.hasPrefix("RK1 rejected") })
        #expect(FileSystem.exists(output + "/RK1.reject.json"))
        try FileSystem.writeAtomically("[\(order("RK1", modified: "2026-01-06 00:00:00"))]", to: input + "/b.json")
        let second = try run(input, output)
        #expect(second.rejected == 0 && second.payloads == 1 && second.superseded == 1)
        #expect(!second.diagnostics.contains { $0.message.hasPrefix("RK1 rejected") })
        #expect(!FileSystem.exists(output + "/RK1.reject.json") && FileSystem.exists(output + "/RK1.json"))
        let manifest = try JSONReader.parse(FileSystem.read(output + "/manifest.json"))
        #expect(manifest["rejected"] == [] && listed(manifest, "outputs").map(\.key) == ["RK1"])
    }

    /// The golden fixtures (made before manifest entries were spooled) still come out byte for byte.
    @Test(arguments: [(["wdt"], "transform-wdt"), (["wdt", "malformed"], "transform-all")])
    func theGoldenOutputsAreByteIdentical(inputs: [String], expected: String) throws {
        let root = TestSupport.repositoryRoot
        let output = TestSupport.makeTemporaryDirectory()
        _ = try TransformRunner.run(
            TransformRequest(
                inputs: inputs.map { root + "/Fixtures/" + $0 }, outputDirectory: output,
                templatePath: BuiltInSchemes.path(BuiltInSchemes.templateFileNames[0]),
                lookupsDirectory: root + "/Fixtures/lookups", settings: ["org_number": "100"]))
        // The fixtures name inputs relative to the repository root (the CLI test runs from there).
        let prefix = Array((root + "/").utf8)
        func relative(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            var i = 0
            while i < bytes.count {
                if bytes[i] == prefix[0], bytes.count - i >= prefix.count, Array(bytes[i..<(i + prefix.count)]) == prefix {
                    i += prefix.count
                } else {
                    out.append(bytes[i])
                    i += 1
                }
            }
            return out
        }
        let directory = root + "/Fixtures/expected/" + expected
        #expect(FileSystem.list(output) == FileSystem.list(directory))
        for name in FileSystem.list(directory) {
            #expect(relative(try FileSystem.read(output + "/" + name)) == (try FileSystem.read(directory + "/" + name)), "\(name) differs")
        }
    }
}
