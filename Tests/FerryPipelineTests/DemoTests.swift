import FerryCore
import FerryPipeline
import FerryTestSupport
import Foundation
import Testing

/// The product's smoke test: `ferry demo` as a person runs it, then `ferry status` on what it left.
@Suite(.serialized) struct DemoTests {
    @Test func demoRunsTheWholePipelineAndExplainsEveryDocument() throws {
        let dir = TestSupport.makeTemporaryDirectory("ferry-demo-test") + "/demo"
        let demo = try TestSupport.runFerry(["demo", "--dir", dir])
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(demo.stderr.contains("ferry demo: everything behaved as designed"), "\(demo.stderr)")
        #expect(demo.stderr.contains("WDT rate-limit errors: 1"))
        #expect(demo.stderr.contains("Kingdee HTTP 500: 1"))
        #expect(demo.stderr.contains("Kingdee lost responses: 1"))
        #expect(demo.stderr.contains("ExecuteBillQuery checks: "), "\(demo.stderr)")
        #expect(demo.stderr.contains("物料编码"), "an unknown material is diagnosed")
        #expect(demo.stderr.contains("for WH005"), "a stock missing from warehouses.csv is diagnosed")
        let runs = FileSystem.list(dir + "/runs").filter { !$0.hasPrefix(".") }
        #expect(runs.count == 1)
        let run = try #require(runs.first)
        for file in ["extract/manifest.json", "transform/manifest.json", "report.html", "run.json"] {
            #expect(FileSystem.exists("\(dir)/runs/\(run)/\(file)"), "\(file)")
        }

        // status --json follows its published schema.
        let status = try TestSupport.runFerry(["status", "--workspace", dir, "--json", "--documents"])
        #expect(status.status == 1, "failed documents remain: \(status.stderr)")
        let schema = TestSupport.repositoryRoot + "/Docs/ferry-status-1.schema.json"
        let out = TestSupport.makeTemporaryDirectory() + "/status.json"
        try FileSystem.writeAtomically(status.stdout, to: out)
        let check = try TestSupport.run(
            "/usr/bin/env",
            ["python3", "-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1]))); print('valid')", schema, out])
        #expect(check.status == 0 && check.stdout == "valid\n", "\(check.stderr)")

        let value = try JSONReader.parse(status.stdout)
        let load = try #require(value["stages"]?["load"])
        #expect(load["in_doubt"] == .number("0") && load["pending"] == .number("0") && load["changed"] == .number("0"))
        let documents = try #require(value["documents"]?.arrayValue)
        let states = Set(documents.compactMap { $0["state"]?.stringValue })
        #expect(states.isSubset(of: ["loaded", "failed", "rejected", "filtered"]))
        for document in documents where document["state"] == "failed" {
            #expect(document["files"]?.arrayValue?.contains { $0.stringValue?.hasSuffix(".error.json") == true } == true)
        }
        let failed = documents.filter { $0["state"] == "failed" }.count
        #expect(failed > 0 && load["failed"] == .number(String(failed)))

        // The report names every problem group.
        let report = try FileSystem.readText("\(dir)/runs/\(run)/report.html")
        #expect(report.hasPrefix("<!DOCTYPE html>") && report.contains("<svg"))
        for external in ["src=\"http", "href=\"http", "<link", "<script", "@import", "url("] {
            #expect(!report.contains(external), "the report must be self-contained: found \(external)")
        }
        for problem in value["problems"]?.arrayValue ?? [] {
            let message = try #require(problem["message"]?.stringValue)
            #expect(report.contains(escapeHTML(message)), "report lacks problem group \(message)")
        }

        // No secret of the sandboxes ends up on disk or in the output.
        for secret in ["ferry-sandbox-secret-8c1e", "sandbox-app-secret", "sandbox-password"] {
            #expect(TestSupport.filesContaining(secret, under: dir + "/runs").isEmpty, "\(secret) on disk")
            #expect(!demo.stdout.contains(secret) && !demo.stderr.contains(secret))
        }

        // A second demo replaces its own directory; a foreign directory is refused.
        let again = try TestSupport.runFerry(["demo", "--dir", dir])
        #expect(again.status == 0)
        let foreign = TestSupport.makeTemporaryDirectory("ferry-foreign")
        try FileSystem.writeAtomically("mine", to: foreign + "/notes.txt")
        let refused = try TestSupport.runFerry(["demo", "--dir", foreign])
        #expect(refused.status == 2 && refused.stderr.contains("is not a Ferry demo workspace"))
        #expect(FileSystem.exists(foreign + "/notes.txt"))
    }

    func escapeHTML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

@Suite struct DemoDirectoryTests {
    /// `ferry demo --dir FILE` must refuse a regular file: listing a file gives no entries, which used to
    /// pass for an empty directory, so the demo deleted the file and made a workspace in its place.
    @Test func demoRefusesAFileAndLeavesItAlone() throws {
        let file = TestSupport.makeTemporaryDirectory("ferry-demo-file") + "/notes.txt"
        try FileSystem.writeAtomically("keep me\n", to: file)
        let demo = try TestSupport.runFerry(["demo", "--dir", file, "--quiet"])
        #expect(demo.status == 2, "\(demo.stderr)")
        #expect(demo.stderr.contains("not a Ferry demo workspace"), "\(demo.stderr)")
        #expect(!FileSystem.isDirectory(file))
        #expect((try? String(contentsOfFile: file, encoding: .utf8)) == "keep me\n")
    }
}
