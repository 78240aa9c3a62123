import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// The built `ferry` binary, run as a person would, from the repository root with relative paths.
@Suite struct TransformCommandTests {
    let root = TestSupport.repositoryRoot

    func transform(_ inputs: [String], into output: String) throws -> TestSupport.ProcessResult {
        try TestSupport.runFerry(
            ["transform", "--input"] + inputs + ["--output", output, "--lookups", "Fixtures/lookups"], currentDirectory: root)
    }

    @Test func fixturesBecomeTheGoldenPayloads() throws {
        let out = TestSupport.makeTemporaryDirectory()
        let result = try transform(["Fixtures/wdt"], into: out)
        #expect(result.status == 1, "one order is rejected and one has bad values: \(result.stderr)")
        #expect(result.stderr.contains("transform: 11 document(s) in 5 file(s) → 6 payload(s), 2 rejected"), "\(result.stderr)")
        if let diff = TestSupport.compareDirectories(actual: out, expected: root + "/Fixtures/expected/transform-wdt") {
            Issue.record(Comment(rawValue: diff))
        }
    }

    @Test func badFilesAreReportedWithPositionWhileTheOthersAreTransformed() throws {
        let out = TestSupport.makeTemporaryDirectory()
        let result = try transform(["Fixtures/wdt", "Fixtures/malformed"], into: out)
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("Fixtures/malformed/truncated.json:87:17: error: unexpected end of data") }, "\(result.stderr)")
        #expect(lines.contains { $0.hasPrefix("Fixtures/malformed/empty.json:1:1: error: the file is empty") })
        #expect(lines.contains { $0.hasPrefix("Fixtures/malformed/not-json.json:1:1: error: unexpected 's'") })
        #expect(lines.contains { $0.hasPrefix("Fixtures/malformed/error-response.json: error: $.error_response: the file is a Qimen gateway error") })
        #expect(lines.contains { $0.hasPrefix("Fixtures/malformed/wrong-types.json: error: $.response.stockin_list[2]: expected an order object") })
        for name in ["RK2601050001", "RK2601060002", "RK2601080005", "RK2601100007", "RK2601100008", "RK2601110009"] {
            #expect(FileSystem.exists(out + "/\(name).json"), "\(name) was still transformed")
        }
        if let diff = TestSupport.compareDirectories(actual: out, expected: root + "/Fixtures/expected/transform-all") {
            Issue.record(Comment(rawValue: diff))
        }
    }

    @Test func aCleanInputExitsZeroAndRerunsAreByteIdentical() throws {
        let a = TestSupport.makeTemporaryDirectory(), b = TestSupport.makeTemporaryDirectory()
        let first = try transform(["Fixtures/wdt/qimen"], into: a)
        let second = try transform(["Fixtures/wdt/qimen"], into: b)
        #expect(first.status == 1 && second.status == 1, "RK2601070004 has no lines left")
        let clean = try transform(["Fixtures/wdt/export/orders-array.json"], into: TestSupport.makeTemporaryDirectory())
        #expect(clean.status == 0, "\(clean.stderr)")
        let diff = try TestSupport.run("/usr/bin/diff", ["-r", a, b])
        #expect(diff.status == 0, "\(diff.stdout)")
    }

    @Test func usageAndRunErrorsHaveTheirExitCodes() throws {
        let usage = try TestSupport.runFerry(["transform", "--input", "Fixtures/wdt"], currentDirectory: root)
        #expect(usage.status == 64 && usage.stderr.contains("--input needs --output DIR"))
        let unknown = try TestSupport.runFerry(["transform", "--bogus"], currentDirectory: root)
        #expect(unknown.status == 64)
        let missing = try TestSupport.runFerry(
            ["transform", "--input", "Fixtures/nope", "--output", TestSupport.makeTemporaryDirectory()], currentDirectory: root)
        #expect(missing.status == 2 && missing.stderr.contains("Fixtures/nope: error: no such input file or directory"))
        let noWorkspace = try TestSupport.runFerry(["transform"], currentDirectory: TestSupport.makeTemporaryDirectory())
        #expect(noWorkspace.status == 2 && noWorkspace.stderr.contains("no ferry.yaml here"))

        // `ferry --help` gives the codes as these are: a file that cannot be read is 1, a path that is not there 2.
        let help = try TestSupport.runFerry(["--help"], currentDirectory: root)
        let text = help.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        #expect(text.contains("1 ran, but some documents were rejected or failed, or an input file could not be read"), "\(help.stdout)")
        #expect(text.contains("2 could not run (configuration, template, a missing setting or lookup file, an input path that does not exist"), "\(help.stdout)")

        // `ferry --version` says which Ferry this is (for a bug report), as the clients' User-Agent does.
        let version = try TestSupport.runFerry(["--version"], currentDirectory: root)
        #expect(version.status == 0 && version.stdout == FerryVersion.current + "\n", "\(version.stderr)")
    }

    /// A subdirectory the user cannot list is one input that could not be read, named with what to do; it
    /// does not stop the transform of the others. (As root, the binary runs without capabilities, so that
    /// permissions apply to it.)
    @Test func aDirectoryThatCannotBeListedIsReportedAndTheOthersAreTransformed() throws {
        let input = TestSupport.makeTemporaryDirectory()
        try TestSupport.copyDirectory(root + "/Fixtures/wdt/qimen", to: input + "/qimen")
        try FileSystem.createDirectory(input + "/locked")
        try FileSystem.writeAtomically("[]", to: input + "/locked/orders.json")
        #expect(chmod(input + "/locked", 0) == 0)
        defer { chmod(input + "/locked", 0o755) }
        let out = TestSupport.makeTemporaryDirectory()
        let arguments = ["transform", "--input", input, "--output", out, "--lookups", "Fixtures/lookups"]
        let result =
            geteuid() == 0
            ? try TestSupport.run(
                "/usr/bin/setpriv", ["--bounding-set=-all", "--inh-caps=-all", "--", TestSupport.ferryBinary] + arguments,
                currentDirectory: root)
            : try TestSupport.runFerry(arguments, currentDirectory: root)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(
            result.stderr.contains(
                "\(input)/locked: error: cannot list the directory (Permission denied); none of the files in it was read: "
                    + "give the user that runs Ferry permission to read and enter it, then run transform again"),
            "\(result.stderr)")
        #expect(result.stderr.contains("5 document(s) in 3 file(s) → 3 payload(s), 1 rejected, 1 filtered"), "\(result.stderr)")
        #expect(FileSystem.exists(out + "/RK2601050001.json"))
        let manifest = try JSONReader.parse(FileSystem.read(out + "/manifest.json"))
        let locked = manifest["inputs"]?.arrayValue?.first { $0["file"] == .string(input + "/locked") }
        #expect(locked?["errors"]?.arrayValue?.count == 1)
    }

    /// An output directory inside an input (or the input itself) would have the next transform read its own
    /// payloads and manifest as inputs, each "not a recognised input": it is refused before anything is written.
    @Test func anOutputDirectoryInsideAnInputIsRefused() throws {
        let input = TestSupport.makeTemporaryDirectory()
        try TestSupport.copyDirectory(root + "/Fixtures/wdt/qimen", to: input + "/qimen")
        for (output, shown) in [(input + "/out", "inside the input directory"), (input + "/qimen/", "the input directory")] {
            let inputs = output.hasSuffix("/qimen/") ? [input + "/qimen"] : [input]
            let result = try transform(inputs, into: output)
            #expect(result.status == 2, "\(result.stderr)")
            #expect(
                result.stderr.contains(
                    "\(output): error: the output directory is \(shown) \(inputs[0]), so the next transform would read its "
                        + "payloads and manifest as input; give an --output outside the inputs"),
                "\(result.stderr)")
        }
        #expect(!FileSystem.exists(input + "/out") && !FileSystem.exists(input + "/qimen/manifest.json"))
        let beside = try transform([input], into: TestSupport.makeTemporaryDirectory() + "/out")
        #expect(beside.status == 1 && beside.stderr.contains("0 file(s) with errors"), "\(beside.stderr)")
    }

    /// `--setting =BM01` (the name forgotten) is a usage error, not a setting named "BM01" set to "".
    @Test func aSettingWithoutANameIsAUsageError() throws {
        for setting in ["=BM01", "dept"] {
            let result = try TestSupport.runFerry(
                ["transform", "--input", "Fixtures/wdt", "--output", TestSupport.makeTemporaryDirectory(), "--setting", setting],
                currentDirectory: root)
            #expect(result.status == 64, "\(setting): \(result.stderr)")
            #expect(result.stderr.contains("--setting expects NAME=VALUE, not '\(setting)'"), "\(result.stderr)")
        }
    }
}

@Suite struct ValidateCommandTests {
    @Test func aLookupWithNoRowsIsWarnedAbout() throws {
        let lookups = TestSupport.makeTemporaryDirectory("ferry-empty-lookups")
        let root = TestSupport.repositoryRoot
        try FileSystem.writeAtomically("spec_no,kingdee_material_number,note\r", to: lookups + "/materials.csv")
        try FileSystem.writeAtomically(try FileSystem.read(root + "/Fixtures/lookups/warehouses.csv"), to: lookups + "/warehouses.csv")
        let out = TestSupport.makeTemporaryDirectory("ferry-empty-lookups-out")
        let result = try TestSupport.runFerry(
            ["transform", "--input", "Fixtures/wdt/export/orders.jsonl", "--output", out, "--lookups", lookups], currentDirectory: root)
        #expect(result.status != 2, "\(result.stderr)")
        #expect(result.stderr.contains("materials.csv:1: warning: lookup 'materials' has no rows below its header"), "\(result.stderr)")
        #expect(!result.stderr.contains("lookup 'warehouses' has no rows"))
    }

    @Test func pointsAtTheExactLineOfABrokenTemplate() throws {
        let dir = TestSupport.makeTemporaryDirectory()
        let original = try FileSystem.readText(TestSupport.repositoryRoot + "/Templates/wdt-stockin-to-kingdee-other-inbound.xml")
        let lines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let target = try #require(lines.firstIndex { $0.contains("name=\"FSTOCKID\"") })
        var broken = lines
        broken[target] = broken[target].replacingOccurrences(of: "lookup=\"warehouses\"", with: "lookup=\"stocks\"")
        try FileSystem.writeAtomically(broken.joined(separator: "\n"), to: dir + "/broken.xml")
        let result = try TestSupport.runFerry(["validate", dir + "/broken.xml"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("\(dir)/broken.xml:\(target + 1): error: field 'FSTOCKID' uses lookup 'stocks', which is not declared"), "\(result.stderr)")

        var xsdBroken = lines
        xsdBroken[target] = "      <reff name=\"FSTOCKID\" path=\"../warehouse_no\"/>"
        try FileSystem.writeAtomically(xsdBroken.joined(separator: "\n"), to: dir + "/xsd.xml")
        let xsd = try TestSupport.runFerry(["validate", dir + "/xsd.xml"])
        #expect(xsd.status == 2)
        #expect(xsd.stderr.hasPrefix("\(dir)/xsd.xml:\(target + 1): error: element '<reff>': This element is not expected."), "\(xsd.stderr)")
    }

    /// Every template under `Fixtures/templates/` gets the golden diagnostics: DOCTYPEs, encodings, the XSD
    /// (two errors with their lines) and libxml2's own parser error; the built-in scheme passes. `.ci/run` diffs a release build's output
    /// against the same files: in release, libxml2 once compiled no schema and checked nothing (README, *Tests*).
    @Test func theFixtureTemplatesGetTheGoldenDiagnostics() throws {
        let root = TestSupport.repositoryRoot
        let templates = try FileManager.default.contentsOfDirectory(atPath: root + "/Fixtures/templates")
            .filter { $0.hasSuffix(".xml") }.sorted().map { "Fixtures/templates/" + $0 }
            + ["Templates/wdt-stockin-to-kingdee-other-inbound.xml"]
        let result = try TestSupport.runFerry(["validate"] + templates, currentDirectory: root)
        #expect(result.status == 2, "\(result.stderr)")
        let out = TestSupport.makeTemporaryDirectory()
        try FileSystem.writeAtomically(result.stdout, to: out + "/stdout.txt")
        try FileSystem.writeAtomically(result.stderr, to: out + "/stderr.txt")
        if let diff = TestSupport.compareDirectories(actual: out, expected: root + "/Fixtures/expected/validate-templates") {
            Issue.record(Comment(rawValue: diff))
        }
    }

    @Test func builtInSchemesValidateAndAreListed() throws {
        let validate = try TestSupport.runFerry(["validate"], currentDirectory: TestSupport.makeTemporaryDirectory())
        #expect(validate.status == 0)
        #expect(validate.stdout == "builtin:wdt-stockin-to-kingdee-other-inbound.xml: ok (wdt-stockin-to-kingdee-other-inbound 1.0.0)\n")
        let schemes = try TestSupport.runFerry(["schemes"])
        #expect(schemes.status == 0 && schemes.stdout.hasPrefix("wdt-stockin-to-kingdee-other-inbound\t1.0.0\t旺店通"))
    }
}

@Suite struct WorkspaceCommandTests {
    @Test func validateChecksTheWorkspaceLookupsAndSettingsAsItsTransformWould() throws {
        let ws = TestSupport.makeTemporaryDirectory() + "/ws"
        #expect(try TestSupport.runFerry(["init", ws]).status == 0)
        let templatePath = ws + "/templates/wdt-stockin-to-kingdee-other-inbound.xml"
        let original = try FileSystem.readText(templatePath)
        let lines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let owner = try #require(lines.firstIndex { $0.contains("name=\"FOwnerIdHead\"") })
        var edited = lines
        edited[owner] = edited[owner].replacingOccurrences(of: "setting=\"org_number\"", with: "setting=\"dept\"")
        try FileSystem.writeAtomically(edited.joined(separator: "\n"), to: templatePath)
        let setting = try TestSupport.runFerry(["validate", "--workspace", ws])
        #expect(setting.status == 2, "\(setting.stdout)")
        #expect(
            setting.stderr.contains("\(templatePath):\(owner + 1): error: the template reads setting 'dept', which is not set"),
            "\(setting.stderr)")

        try FileSystem.writeAtomically(original, to: templatePath)
        let csv = ws + "/lookups/warehouses.csv"
        try FileSystem.writeAtomically(try FileSystem.readText(csv) + "WH-SH01,CK009,重复\n", to: csv)
        let lookup = try TestSupport.runFerry(["validate", "--workspace", ws])
        #expect(lookup.status == 2, "\(lookup.stdout)")
        #expect(lookup.stderr.contains("\(csv):6: error: 'WH-SH01' is listed twice with different values"), "\(lookup.stderr)")
        #expect(!lookup.stdout.contains(": ok"))
    }

    @Test func initThenTransformARunInPlace() throws {
        let ws = TestSupport.makeTemporaryDirectory() + "/ws"
        let initResult = try TestSupport.runFerry(["init", ws])
        #expect(initResult.status == 0, "\(initResult.stderr)")
        #expect(initResult.stdout.contains("\(ws)/ferry.yaml"))
        let again = try TestSupport.runFerry(["init", ws])
        #expect(again.status == 2 && again.stderr.contains("a workspace already exists here"))

        let run = "20260112T000000Z"
        let extract = "\(ws)/runs/\(run)/extract/20260101T000000-20260130T235959"
        try FileSystem.createDirectory(extract)
        for page in ["page-00000.json", "page-00001.json"] {
            try FileSystem.writeAtomically(
                FileSystem.read(TestSupport.fixturesDirectory + "/wdt/qimen/" + page), to: extract + "/" + page)
        }
        try FileSystem.writeAtomically("{\"stage\":\"extract\"}", to: "\(ws)/runs/\(run)/extract/manifest.json")
        let validate = try TestSupport.runFerry(["validate", "--workspace", ws])
        #expect(validate.status == 0, "\(validate.stderr)")
        let result = try TestSupport.runFerry(["transform", "--workspace", ws, "--run", run, "--org", "300"])
        #expect(result.status == 1, "RK2601070004 is rejected: \(result.stderr)")
        let out = "\(ws)/runs/\(run)/transform"
        let payload = try JSONReader.parse(FileSystem.read(out + "/RK2601050001.json"))
        #expect(payload["data"]?["Model"]?["FStockOrgId"] == ["FNumber": "300"])
        #expect(payload["data"]?["Model"]?["FEntity"]?.arrayValue?.first?["FSTOCKID"] == ["FNumber": "CK001"])
        #expect(FileSystem.exists(out + "/RK2601070004.reject.json") && FileSystem.exists(out + "/manifest.json"))
        let latest = try TestSupport.runFerry(["transform", "--workspace", ws])
        #expect(latest.status == 1 && latest.stderr.contains("transform: run \(run)"))

        // Another process holding the run's lock stops a second one from working on it.
        let lock = try FileLock(path: "\(ws)/runs/\(run)/.lock", purpose: "run \(run)")
        let locked = try TestSupport.runFerry(["transform", "--workspace", ws, "--run", run])
        lock.release()
        #expect(locked.status == 2 && locked.stderr.contains("run \(run) is locked by another Ferry process"), "\(locked.stderr)")
    }

    @Test func aTransformKilledPartWayIsNotLoadedAndTheNextTransformCleansUp() throws {
        let ws = TestSupport.makeTemporaryDirectory() + "/ws"
        #expect(try TestSupport.runFerry(["init", ws]).status == 0)
        let run = "20260112T000000Z"
        let extract = "\(ws)/runs/\(run)/extract/20260101T000000-20260130T235959"
        try FileSystem.createDirectory(extract)
        // Enough orders in enough files that the transform is still writing when it is killed.
        let order = String(try FileSystem.readText(TestSupport.fixturesDirectory + "/wdt/export/orders.jsonl")
            .split(separator: "\n")[0])
        #expect(order.contains("\"RK2601110009\""))
        let (files, perFile) = (8, 3000)
        for f in 0..<files {
            let lines = (0..<perFile).map { i in
                order.replacingOccurrences(of: "RK2601110009", with: "RK9" + String(format: "%02d%05d", f, i)) + "\n"
            }
            try FileSystem.writeAtomically(lines.joined(), to: extract + "/orders-\(String(format: "%02d", f)).jsonl")
        }
        let out = "\(ws)/runs/\(run)/transform"
        let marker = out + "/.transform-incomplete"

        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestSupport.ferryBinary)
        process.arguments = ["transform", "--workspace", ws, "--run", run, "--quiet"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Killed once it has written some outputs, well before it has written them all.
        var written = 0
        while process.isRunning {
            written = FileSystem.exists(marker) ? FileSystem.list(out).count : 0
            if written > 50 { break }
            usleep(2_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try #require(written > 50 && FileSystem.exists(marker), "killed part way (\(written) files written)")
        #expect(!FileSystem.exists(out + "/manifest.json"))

        var env = ProcessInfo.processInfo.environment
        for key in ["URL", "ACCT_ID", "USERNAME", "APP_ID", "APP_SECRET"] { env["KINGDEE_" + key] = "x_y" }
        let refused = try TestSupport.runFerry(["load", "--workspace", ws, "--run", run, "--dry-run"], environment: env)
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains(".transform-incomplete") && refused.stderr.contains("run `ferry transform` again"))

        let again = try TestSupport.runFerry(["transform", "--workspace", ws, "--run", run, "--quiet"])
        #expect(again.status == 0 || again.status == 1, "\(again.stderr)")
        #expect(!FileSystem.exists(marker))
        let listing = FileSystem.list(out)
        let outputs = listing.filter { $0 != "manifest.json" && $0.hasSuffix(".json") }
        #expect(outputs.count == files * perFile, "one payload or reject file per order, nothing left over")
        // New files are created in place: one the kill cut short was replaced, not kept.
        for name in outputs {
            #expect((try? JSONReader.parse(try FileSystem.read(out + "/" + name))) != nil, "\(name) is whole")
        }
        #expect(listing.allSatisfy { !$0.hasPrefix(".") }, "no temporary files: \(listing.filter { $0.hasPrefix(".") })")
        let planned = try TestSupport.runFerry(["load", "--workspace", ws, "--run", run, "--dry-run"], environment: env)
        #expect(planned.status != 2, "\(planned.stderr)")
    }
}

/// A bill number handed over through the binary: the document that waited for it gets it, whatever the
/// read order, and a rerun changes nothing.
@Suite struct BillNumberHandOverCommandTests {
    let root = TestSupport.repositoryRoot

    /// One order of key `key`, version `hour`, whose bill number (from `src_order_no`) is `number`.
    func order(_ key: String, hour: Int, number: String) -> String {
        #"{"stockin_no": "\#(key)", "src_order_no": "\#(number)", "warehouse_no": "WH-GZ01", "order_type": "7", "#
            + #""stockin_time": "2026-01-11 10:00:00", "status": "80", "modified": "2026-01-11 0\#(hour):00:00", "#
            + #""details_list": [{"spec_no": "TS-001-WHT-M", "goods_count": "1", "cost_price": "1"}]}"#
    }

    @Test func theWaitingDocumentGetsTheNumberInEitherReadOrder() throws {
        let template = TestSupport.makeTemporaryDirectory() + "/numbered-by-source-order.xml"
        let builtIn = try FileSystem.readText(root + "/Templates/wdt-stockin-to-kingdee-other-inbound.xml")
        let numbered = builtIn.replacingOccurrences(
            of: #"<field name="FBillNo" path="stockin_no" required="true"/>"#,
            with: #"<field name="FBillNo" path="src_order_no" required="true"/>"#)
        #expect(numbered != builtIn)
        try FileSystem.writeAtomically(numbered, to: template)
        // A holds N, B waits for N, then A's newer version moves to M.
        let first = [order("A", hour: 1, number: "N"), order("B", hour: 1, number: "N")]
        let second = [order("A", hour: 2, number: "M")]
        var payloads: [[String: [UInt8]]] = []
        for groups in [[first, second], [second, first]] {
            let input = TestSupport.makeTemporaryDirectory(), out = TestSupport.makeTemporaryDirectory()
            for (i, lines) in groups.enumerated() {
                try FileSystem.writeAtomically(lines.joined(separator: "\n") + "\n", to: input + "/orders-\(i).jsonl")
            }
            let arguments = ["transform", "--input", input, "--output", out, "--template", template, "--lookups", "Fixtures/lookups"]
            let result = try TestSupport.runFerry(arguments, currentDirectory: root)
            #expect(result.status == 0, "nothing is left rejected: \(result.stderr)")
            #expect(result.stderr.contains("3 document(s) in 2 file(s) → 2 payload(s), 0 rejected, 0 filtered, 1 superseded"), "\(result.stderr)")
            let names = FileSystem.list(out).filter { !$0.hasPrefix(".") }.sorted()
            #expect(names == ["M.json", "N.json", "manifest.json"], "\(names)")
            let manifest = try JSONReader.parse(try FileSystem.read(out + "/manifest.json"))
            let owners = (manifest["outputs"]?.arrayValue ?? []).map { "\($0["key"]?.stringValue ?? "-")=\($0["file"]?.stringValue ?? "-")" }
            #expect(Set(owners) == ["A=M.json", "B=N.json"], "\(owners)")
            payloads.append(["M.json": try FileSystem.read(out + "/M.json"), "N.json": try FileSystem.read(out + "/N.json")])
            // A rerun into the same directory writes the same bytes.
            let before = try FileSystem.read(out + "/manifest.json")
            let again = try TestSupport.runFerry(arguments, currentDirectory: root)
            let after = try FileSystem.read(out + "/manifest.json")
            #expect(again.status == 0 && after == before, "\(again.stderr)")
        }
        #expect(payloads.count == 2 && payloads[0] == payloads[1], "the payloads do not depend on the read order")
    }
}

/// README's recipe for booking on the audit date: FDate read from `check_time` instead of `stockin_time`.
@Suite struct BusinessDateCommandTests {
    @Test func fDateCanBeReadFromTheAuditTime() throws {
        let root = TestSupport.repositoryRoot
        let dir = TestSupport.makeTemporaryDirectory()
        let builtIn = try FileSystem.readText(root + "/Templates/wdt-stockin-to-kingdee-other-inbound.xml")
        let audited = builtIn.replacingOccurrences(
            of: #"<field name="FDate" path="stockin_time""#, with: #"<field name="FDate" path="check_time""#)
        #expect(audited != builtIn)
        try FileSystem.writeAtomically(audited, to: dir + "/audited.xml")
        let line = #"{"stockin_no": "RK1", "warehouse_no": "WH-GZ01", "order_type": "7", "status": "80", "#
            + #""stockin_time": "2026-01-11 23:50:00", "check_time": "2026-01-12 00:10:00", "modified": "2026-01-12 00:10:00", "#
            + #""details_list": [{"spec_no": "TS-001-WHT-M", "goods_count": "1", "cost_price": "1"}]}"#
        try FileSystem.writeAtomically(line + "\n", to: dir + "/in/orders.jsonl")
        let validate = try TestSupport.runFerry(["validate", dir + "/audited.xml"], currentDirectory: root)
        #expect(validate.status == 0, "check_time is a field of the source API: \(validate.stdout)\(validate.stderr)")
        for (template, date) in [(dir + "/audited.xml", "2026-01-12"), (nil, "2026-01-11")] {
            let out = TestSupport.makeTemporaryDirectory()
            let result = try TestSupport.runFerry(
                ["transform", "--input", dir + "/in", "--output", out, "--lookups", "Fixtures/lookups"]
                    + (template.map { ["--template", $0] } ?? []),
                currentDirectory: root)
            #expect(result.status == 0, "\(result.stderr)")
            let payload = try JSONReader.parse(try FileSystem.read(out + "/RK1.json"))
            #expect(payload["data"]?["Model"]?["FDate"]?.stringValue == date)
        }
    }
}
