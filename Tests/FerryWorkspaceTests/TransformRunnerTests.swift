import FerryCore
import FerrySchemes
import FerryTestSupport
@testable import FerryWorkspace
import Foundation
import Testing

private let fixtures = TestSupport.fixturesDirectory

private func request(_ inputs: [String], output: String, lookups: String? = fixtures + "/lookups", settings: [String: String] = ["org_number": "100"]) -> TransformRequest {
    TransformRequest(
        inputs: inputs, outputDirectory: output, templatePath: BuiltInSchemes.path(BuiltInSchemes.templateFileNames[0]),
        lookupsDirectory: lookups, settings: settings)
}

private func files(_ directory: String) -> [String: [UInt8]] {
    var result: [String: [UInt8]] = [:]
    for name in FileSystem.list(directory) { result[name] = try? FileSystem.read(directory + "/" + name) }
    return result
}

@Suite struct TransformRunnerTests {
    @Test func twoRunsGiveIdenticalBytes() throws {
        let a = TestSupport.makeTemporaryDirectory(), b = TestSupport.makeTemporaryDirectory()
        let inputs = [fixtures + "/wdt", fixtures + "/malformed"]
        let first = try TransformRunner.run(request(inputs, output: a))
        let second = try TransformRunner.run(request(inputs, output: b))
        #expect(first.payloads == 6 && first.rejected == 4 && first.filtered == 2 && first.superseded == 1)
        #expect(second.payloads == first.payloads)
        let filesA = files(a), filesB = files(b)
        #expect(filesA.keys.sorted() == filesB.keys.sorted())
        for (name, bytes) in filesA { #expect(filesB[name] == bytes, "\(name) differs between runs") }
    }

    @Test func rerunRemovesStaleOutputsButKeepsLoadedOnes() throws {
        let out = TestSupport.makeTemporaryDirectory()
        let input = TestSupport.makeTemporaryDirectory()
        try TestSupport.copyDirectory(fixtures + "/wdt/qimen", to: input + "/qimen")
        _ = try TransformRunner.run(request([input], output: out))
        #expect(FileSystem.exists(out + "/RK2601050001.json") && FileSystem.exists(out + "/RK2601060002.json"))
        try FileSystem.writeAtomically("{}", to: out + "/RK2601060002.receipt.json")
        try FileSystem.remove(input + "/qimen/page-00000.json")
        let summary = try TransformRunner.run(request([input], output: out))
        #expect(!FileSystem.exists(out + "/RK2601050001.json"), "a payload no longer produced is removed")
        #expect(FileSystem.exists(out + "/RK2601060002.json"), "a payload with a receipt is kept")
        #expect(summary.diagnostics.contains { $0.severity == .warning && $0.message.contains("has a receipt") })
        #expect(FileSystem.exists(out + "/RK2601070004.reject.json"))
    }

    @Test func billNumbersThatDifferOnlyInCaseAreOneBill() throws {
        let input = TestSupport.makeTemporaryDirectory()
        let order = try FileSystem.readText(fixtures + "/wdt/export/orders.jsonl").split(separator: "\n")[0]
        #expect(order.contains("RK2601110009"))
        let lines = ["RK2601110009", "rk2601110009", "RK2601110010"].map { order.replacingOccurrences(of: "RK2601110009", with: $0) }
        try FileSystem.writeAtomically(lines.joined(separator: "\n") + "\n", to: input + "/orders.jsonl")
        let out = TestSupport.makeTemporaryDirectory()
        let summary = try TransformRunner.run(request([input], output: out))
        #expect(summary.payloads == 2 && summary.rejected == 1)
        #expect(FileSystem.exists(out + "/RK2601110009.json") && !FileSystem.exists(out + "/rk2601110009.json"))
        let reject = try JSONReader.parse(try FileSystem.read(out + "/rk2601110009.reject.json"))
        #expect(reject["reasons"]?.arrayValue?.first?["message"]?.stringValue?.contains("also produced by RK2601110009") == true)
    }

    /// A document rejected because another key held its bill number gets the number once that key's newer
    /// version gives it up: the result does not depend on which of the two was read first.
    @Test func aBillNumberGivenUpByANewerVersionGoesToTheDocumentWaitingForIt() throws {
        let builtIn = try FileSystem.readText(BuiltInSchemes.path(BuiltInSchemes.templateFileNames[0]))
        let numberField = #"<field name="FBillNo" path="stockin_no" required="true"/>"#
        #expect(builtIn.contains(numberField))
        let template = TestSupport.makeTemporaryDirectory() + "/numbered-by-source-order.xml"
        try FileSystem.writeAtomically(
            builtIn.replacingOccurrences(of: numberField, with: #"<field name="FBillNo" path="src_order_no" required="true"/>"#),
            to: template)
        let order = String(try FileSystem.readText(fixtures + "/wdt/export/orders.jsonl").split(separator: "\n")[0])
        func version(_ key: String, modified: String, number: String) -> String {
            order.replacingOccurrences(of: "RK2601110009", with: key)
                .replacingOccurrences(of: #""modified": "2026-01-11 10:00:00""#, with: #""modified": "\#(modified)""#)
                .replacingOccurrences(of: "{", with: #"{"src_order_no": "\#(number)", "#, options: [], range: order.range(of: "{"))
        }
        let holderFirst = version("RK-A", modified: "2026-01-11 10:00:00", number: "N1")
        let waiter = version("RK-B", modified: "2026-01-11 10:00:00", number: "N1")
        let holderMoves = version("RK-A", modified: "2026-01-11 12:00:00", number: "N2")
        var outputs: [[String: String]] = []
        for lines in [[holderFirst, waiter, holderMoves], [waiter, holderFirst, holderMoves]] {
            let input = TestSupport.makeTemporaryDirectory(), out = TestSupport.makeTemporaryDirectory()
            try FileSystem.writeAtomically(lines.joined(separator: "\n") + "\n", to: input + "/orders.jsonl")
            let summary = try TransformRunner.run(
                TransformRequest(
                    inputs: [input], outputDirectory: out, templatePath: template, lookupsDirectory: fixtures + "/lookups",
                    settings: ["org_number": "100"]))
            #expect(summary.payloads == 2 && summary.rejected == 0 && summary.superseded == 1)
            #expect(!summary.diagnostics.contains { $0.severity == .error }, "\(summary.diagnostics)")
            var written = files(out)
            #expect(written.keys.sorted() == ["N1.json", "N2.json", "manifest.json"])
            #expect(String(decoding: written["N1.json"] ?? [], as: UTF8.self).contains("N1"))
            let manifest = try JSONReader.parse(written.removeValue(forKey: "manifest.json") ?? [])
            let listed = manifest["outputs"]?.arrayValue?.map { "\($0["key"]?.stringValue ?? "?"):\($0["file"]?.stringValue ?? "?")" }
            #expect(listed == ["RK-B:N1.json", "RK-A:N2.json"], "listed in input order")
            #expect(manifest["rejected"]?.arrayValue?.isEmpty == true)
            #expect(manifest["counts"]?["payloads"]?.scalarText == "2" && manifest["counts"]?["rejected"]?.scalarText == "0")
            outputs.append(written.mapValues { Hashing.sha256Hex($0) })
            // A rerun over its own outputs changes nothing.
            let before = files(out)
            _ = try TransformRunner.run(
                TransformRequest(
                    inputs: [input], outputDirectory: out, templatePath: template, lookupsDirectory: fixtures + "/lookups",
                    settings: ["org_number": "100"]))
            #expect(files(out) == before, "a rerun gives the same files")
        }
        #expect(outputs[0] == outputs[1], "the payloads do not depend on the order the documents were read in")
    }

    @Test func missingSettingStopsTheStageNamingTheTemplateLine() throws {
        do {
            _ = try TransformRunner.run(request([fixtures + "/wdt"], output: TestSupport.makeTemporaryDirectory(), settings: [:]))
            Issue.record("expected a failure")
        } catch {
            #expect(error.diagnostics.count == 1)
            #expect(error.diagnostics[0].message.hasPrefix("the template reads setting 'org_number', which is not set"))
            #expect(error.diagnostics[0].line == 36)
        }
    }

    @Test func missingInputPathStopsTheStage() {
        #expect(throws: StageFailure.self) {
            try TransformRunner.run(request([fixtures + "/no-such-dir"], output: TestSupport.makeTemporaryDirectory()))
        }
    }

    @Test func aBrokenTemplateIsReportedBeforeMissingInputs() throws {
        // The inputs are listed (and the first read ahead) before the template loads; what is reported
        // stays in the order of the stage's steps.
        let template = TestSupport.makeTemporaryDirectory() + "/broken.xml"
        try FileSystem.writeAtomically("<scheme", to: template)
        do {
            _ = try TransformRunner.run(
                TransformRequest(
                    inputs: [fixtures + "/no-such-dir"], outputDirectory: TestSupport.makeTemporaryDirectory(),
                    templatePath: template, lookupsDirectory: nil, settings: ["org_number": "100"]))
            Issue.record("expected a failure")
        } catch {
            #expect(!error.diagnostics.isEmpty && error.diagnostics.allSatisfy { $0.file == template })
        }
    }

    @Test func inputsReadAheadAreTheFilesThemselves() throws {
        let directory = TestSupport.makeTemporaryDirectory()
        var names: [String] = []
        for i in 0..<5 {
            names.append(directory + "/\(i).json")
            try FileSystem.writeAtomically(Array(String(repeating: "[\(i)]", count: 1000 * (i + 1)).utf8), to: names[i])
        }
        names.insert(directory + "/missing.json", at: 1)
        func check(_ read: TransformRunner.InputPrefetch.Read, _ name: String) throws {
            switch read.bytes {
            case .success(let bytes):
                #expect(bytes == (try FileSystem.read(name)) && read.sha256 == Hashing.sha256Hex(bytes))
            case .failure(let error):
                #expect(name.hasSuffix("missing.json") && error.file == name && read.sha256 == nil)
            }
        }

        // Left to finish, the prefetch has read the first `count` files: their bytes and SHA-256, or the
        // error reading one gives; each is handed out once; the files after them are the caller's.
        let finished = TransformRunner.InputPrefetch(files: names, count: 4)
        let deadline = Date().addingTimeInterval(10)
        while !finished.isDone && Date() < deadline { Thread.sleep(forTimeInterval: 0.001) }
        for (index, name) in names.enumerated() {
            let read = finished.take(index)
            #expect((read != nil) == (index < 4), "file \(index)")
            if let read { try check(read, name) }
            #expect(finished.take(index) == nil, "a file is handed out once")
        }

        // Taken at once, a file is either read already (or being read: `take` waits) or left to the caller.
        let racing = TransformRunner.InputPrefetch(files: names, count: names.count)
        for (index, name) in names.enumerated() {
            if let read = racing.take(index) { try check(read, name) }
        }
        #expect(racing.isDone)

        // Stopped (the pipeline has started), it starts no other file; what it started is still handed out.
        let stopped = TransformRunner.InputPrefetch(files: names, count: names.count)
        stopped.stop()
        let started = stopped.startedCount
        let until = Date().addingTimeInterval(10)
        while !stopped.isDone && Date() < until { Thread.sleep(forTimeInterval: 0.001) }
        Thread.sleep(forTimeInterval: 0.02)
        #expect(stopped.startedCount == started, "no file is started after stop()")
        var handedOut = 0
        for (index, name) in names.enumerated() {
            if let read = stopped.take(index) {
                handedOut += 1
                try check(read, name)
            }
        }
        #expect(handedOut == started)
    }

    /// Files of an input directory whose names do not say JSON are not read, but named: an export saved as
    /// .txt or .csv is not left out unnoticed. Ferry's own files are skipped without a word.
    @Test func filesNotReadForTheirNamesAreNamedInAWarning() throws {
        let input = TestSupport.makeTemporaryDirectory()
        try TestSupport.copyDirectory(fixtures + "/wdt/qimen", to: input + "/qimen")
        try FileSystem.writeAtomically(try FileSystem.read(fixtures + "/wdt/export/orders-array.json"), to: input + "/orders.txt")
        try FileSystem.writeAtomically("a,b\n", to: input + "/qimen/notes.csv")
        try FileSystem.writeAtomically("{}", to: input + "/qimen/RK1.receipt.json")
        let summary = try TransformRunner.run(request([input], output: TestSupport.makeTemporaryDirectory()))
        #expect(summary.inputFiles == 2)
        let warnings = summary.diagnostics.filter { $0.severity == .warning }.map(\.message)
        #expect(
            warnings == [
                "2 file(s) not read, as their names do not end in .json, .jsonl or .ndjson: \(input)/orders.txt, "
                    + "\(input)/qimen/notes.csv; rename one that holds orders to read it"
            ], "\(warnings)")
    }

    /// A FIFO, socket or device in an input directory (or a link to one) is not opened: a FIFO would block the
    /// transform for ever, /dev/zero never end. Named as an input of its own, it is read.
    @Test func aDeviceOrFIFOInAnInputDirectoryIsReportedNotRead() throws {
        let input = TestSupport.makeTemporaryDirectory()
        try TestSupport.copyDirectory(fixtures + "/wdt/qimen", to: input + "/qimen")
        try FileManager.default.createSymbolicLink(atPath: input + "/qimen/device.json", withDestinationPath: "/dev/null")
        let summary = try TransformRunner.run(request([input], output: TestSupport.makeTemporaryDirectory()))
        #expect(
            summary.diagnostics.filter { $0.file == input + "/qimen/device.json" }.map(\.message) == [
                "not a regular file (a FIFO, socket or device), so it is not read: move it out of the input directory, "
                    + "or name it as an input of its own to read it"
            ], "\(summary.diagnostics)")
        #expect(summary.filesWithErrors == 1 && summary.inputFiles == 3 && summary.payloads > 0)
        let named = try TransformRunner.run(request([input + "/qimen/device.json"], output: TestSupport.makeTemporaryDirectory()))
        #expect(named.diagnostics.contains { $0.message.hasPrefix("the file is empty") }, "\(named.diagnostics)")
    }

    @Test func anUnreadableInputIsReportedAndTheOthersAreTransformed() throws {
        let input = TestSupport.makeTemporaryDirectory()
        try TestSupport.copyDirectory(fixtures + "/wdt/qimen", to: input + "/qimen")
        // Sorted between the two pages, inside the window read ahead.
        try FileManager.default.createSymbolicLink(atPath: input + "/qimen/page-00000b.json", withDestinationPath: input + "/nowhere")
        let out = TestSupport.makeTemporaryDirectory()
        let summary = try TransformRunner.run(request([input], output: out))
        let unreadable = summary.diagnostics.filter { $0.file == input + "/qimen/page-00000b.json" }
        #expect(unreadable.count == 1 && unreadable.first?.message.hasPrefix("cannot read") == true)
        #expect(summary.filesWithErrors == 1 && summary.inputFiles == 3)
        #expect(FileSystem.exists(out + "/RK2601050001.json") && FileSystem.exists(out + "/RK2601060002.json"))
    }

    @Test func optionalLookupFilesMayBeAbsent() throws {
        let out = TestSupport.makeTemporaryDirectory()
        let summary = try TransformRunner.run(request([fixtures + "/wdt/qimen"], output: out, lookups: nil))
        #expect(summary.diagnostics.filter { $0.severity == .warning }.count == 2)
        let payload = try JSONReader.parse(FileSystem.read(out + "/RK2601050001.json"))
        #expect(payload["data"]?["Model"]?["FEntity"]?.arrayValue?.first?["FMATERIALID"] == ["FNumber": "TS-001-BLK-M"])
    }
}

@Suite struct WorkspaceInitializerTests {
    @Test func createsAWorkspaceAndRefusesToOverwriteIt() throws {
        let dir = TestSupport.makeTemporaryDirectory() + "/ws"
        let created = try WorkspaceInitializer.create(at: dir)
        #expect(created.contains("ferry.yaml") && created.contains("templates/wdt-stockin-to-kingdee-other-inbound.xml"))
        #expect(created.contains("lookups/materials.csv") && created.contains("lookups/warehouses.csv"))
        let workspace = try Workspace(root: dir)
        #expect(workspace.templatePath == dir + "/templates/wdt-stockin-to-kingdee-other-inbound.xml")
        #expect(try workspace.config.templateSettings(environment: [:]) == ["org_number": "100"])
        for key in ["source.url", "source.app_secret", "target.app_secret"] {
            #expect(throws: Diagnostic.self) { try workspace.config.optionalString(key, environment: [:]) }
        }
        #expect(throws: Diagnostic.self) { try WorkspaceInitializer.create(at: dir) }
        let id = try workspace.createRun(now: Date(timeIntervalSince1970: 1_764_000_000)).id
        #expect(id == "20251124T160000Z")
        #expect(try workspace.createRun(now: Date(timeIntervalSince1970: 1_764_000_000)).id == "20251124T160000Z-1")
        #expect(workspace.latestRunID() == "20251124T160000Z-1")
        #expect(try workspace.resolveRun(nil) == "20251124T160000Z-1")
        #expect(throws: Diagnostic.self) { try workspace.resolveRun("20990101T000000Z") }
    }

    @Test func generatedConfigReadsExactlyTheDocumentedVariables() throws {
        let text = WorkspaceInitializer.configText(scheme: "x").split(separator: "\n")
            .map { $0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "" }.joined(separator: "\n")
        var names: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            let end = rest[start.upperBound...].firstIndex(of: "}")!
            names.append(String(rest[start.upperBound..<end]))
            rest = rest[end...]
        }
        #expect(names == [
            "WDT_URL", "WDT_SID", "WDT_APP_KEY", "WDT_APP_SECRET", "WDT_TARGET_APP_KEY", "KINGDEE_URL", "KINGDEE_ACCT_ID",
            "KINGDEE_USERNAME", "KINGDEE_APP_ID", "KINGDEE_APP_SECRET", "KINGDEE_PASSWORD",
        ])
    }
}

@Suite struct StreamingDeduplicationTests {
    func order(_ modified: String, count: String) -> String {
        #"{"stockin_no":"RK1","status":"80","warehouse_no":"WH-SH01","stockin_time":"2026-01-05 10:00:00","modified":"\#(modified)","details_list":[{"spec_no":"A","goods_count":"\#(count)","cost_price":"1"}]}"#
    }

    @Test(arguments: [(true, "a"), (false, "a"), (true, "b"), (false, "b")])
    func theNewestVersionDecidesWhateverTheReadOrder(newestIsGood: Bool, newestFile: String) throws {
        let input = TestSupport.makeTemporaryDirectory()
        let out = TestSupport.makeTemporaryDirectory()
        let newest = order("2026-01-06 00:00:00", count: newestIsGood ? "2" : "0")
        let oldest = order("2026-01-05 00:00:00", count: newestIsGood ? "0" : "2")
        try FileSystem.writeAtomically("[\(newestFile == "a" ? newest : oldest)]", to: input + "/a.json")
        try FileSystem.writeAtomically("[\(newestFile == "a" ? oldest : newest)]", to: input + "/b.json")
        let summary = try TransformRunner.run(request([input], output: out))
        #expect(summary.superseded == 1 && summary.documents == 2)
        #expect(FileSystem.exists(out + "/RK1.json") == newestIsGood)
        #expect(FileSystem.exists(out + "/RK1.reject.json") == !newestIsGood)
        let manifest = try JSONReader.parse(FileSystem.read(out + "/manifest.json"))
        #expect(manifest["duplicates"]?.arrayValue?.first?["used"]?["version"] == "2026-01-06 00:00:00")
    }

    /// A transform that stops part way leaves `.transform-incomplete`, naming what it may have written (no
    /// manifest lists it); the next transform removes those files it no longer produces, and a finished
    /// transform leaves no marker.
    @Test func aTransformThatStopsPartWayIsCleanedUpByTheNext() throws {
        let input = TestSupport.makeTemporaryDirectory()
        let out = TestSupport.makeTemporaryDirectory()
        try FileSystem.writeAtomically("[\(order("2026-01-05 00:00:00", count: "2"))]", to: input + "/a.json")
        let second = order("2026-01-05 00:00:00", count: "2").replacingOccurrences(of: #""RK1""#, with: #""RK2""#)
        try FileSystem.writeAtomically("[\(second)]", to: input + "/b.json")
        // RK2's payload cannot be written (a directory is in the way): the run stops after RK1's.
        try FileSystem.createDirectory(out + "/RK2.json")
        #expect(throws: StageFailure.self) { try TransformRunner.run(request([input], output: out)) }
        let marker = TransformMarker.path(in: out)
        #expect(FileSystem.exists(out + "/RK1.json") && !FileSystem.exists(out + "/manifest.json"))
        #expect(TransformMarker.names(in: try FileSystem.read(marker)).contains("RK1.json"))

        // A crash as a line was being added would have left it torn: the next run cuts it off before it
        // adds its own lines (and stops the same way), so every line of the marker still reads.
        try FileSystem.writeAtomically(try FileSystem.read(marker) + Array(#"["RK7.js"#.utf8), to: marker)
        #expect(throws: StageFailure.self) { try TransformRunner.run(request([input], output: out)) }
        let lines = AppendOnlyFile.lines(of: try FileSystem.read(marker))
        #expect(!lines.isEmpty && lines.allSatisfy { (try? JSONReader.parse($0.bytes))?.arrayValue != nil })
        #expect(!(try FileSystem.readText(marker)).contains("RK7"))
        // RK1 has left the inputs since, and the way is clear: the next run removes RK1's payload.
        try FileSystem.remove(input + "/a.json")
        #expect(rmdir(out + "/RK2.json") == 0)
        let summary = try TransformRunner.run(request([input], output: out))
        #expect(summary.payloads == 1)
        #expect(!FileSystem.exists(out + "/RK1.json"), "written by the run that stopped, produced by none since")
        #expect(FileSystem.exists(out + "/RK2.json"))
        #expect(!FileSystem.exists(marker), "a finished transform leaves no marker")
        #expect(summary.diagnostics.filter { $0.severity == .error }.isEmpty)
    }

    /// A payload loaded into Kingdee (it has a receipt) is never deleted by a transform, also when a newer
    /// version of its document, read in a later run, is filtered out or rejected: it is kept, with a
    /// warning that says so. When the newer version gives the same payload file, there is nothing to warn.
    @Test(arguments: [("5", "2", false), ("80", "0", false), ("80", "3", true)])
    func aLoadedPayloadSupersededByANewerVersionIsKept(status: String, count: String, newerIsPayload: Bool) throws {
        let input = TestSupport.makeTemporaryDirectory()
        let out = TestSupport.makeTemporaryDirectory()
        try FileSystem.writeAtomically("[\(order("2026-01-05 00:00:00", count: "2"))]", to: input + "/a.json")
        _ = try TransformRunner.run(request([input], output: out))
        let loaded = try FileSystem.read(out + "/RK1.json")
        try FileSystem.writeAtomically("{}", to: out + "/RK1.receipt.json")

        let newer = order("2026-01-06 00:00:00", count: count).replacingOccurrences(of: #""status":"80""#, with: #""status":"\#(status)""#)
        try FileSystem.writeAtomically("[\(newer)]", to: input + "/b.json")
        let summary = try TransformRunner.run(request([input], output: out))
        #expect(summary.superseded == 1 && summary.payloads == (newerIsPayload ? 1 : 0))
        #expect(FileSystem.exists(out + "/RK1.json"), "a payload with a receipt is kept")
        let kept = summary.diagnostics.filter { $0.severity == .warning && $0.message.contains("has a receipt") }
        if newerIsPayload {
            #expect(kept.isEmpty, "the payload is produced again: \(kept)")
            #expect(try FileSystem.read(out + "/RK1.json") != loaded, "it holds the newer version")
        } else {
            #expect(kept.map(\.file) == [out + "/RK1.json"], "one warning, naming the payload")
            #expect(try FileSystem.read(out + "/RK1.json") == loaded, "it holds what was loaded")
        }

        // The next run reads both versions again: it says the same, and still keeps the payload.
        let again = try TransformRunner.run(request([input], output: out))
        #expect(FileSystem.exists(out + "/RK1.json"))
        #expect(again.diagnostics.filter { $0.severity == .warning && $0.message.contains("has a receipt") }.map(\.file) == kept.map(\.file))
    }
}
