import FerryCore
import FerrySchemes
import FerryTestSupport
@testable import FerryWorkspace
import Foundation
import Testing

/// Scenarios around bill numbers handed over from a holder whose newer version gives them up, each
/// checked on the files the run wrote and on its `manifest.json`.
@Suite struct BillNumberHandOverTests {
    /// The built-in template with FBillNo read from `src_order_no`, so that two keys can share a number.
    static let template: String = {
        let builtIn = try! FileSystem.readText(BuiltInSchemes.path(BuiltInSchemes.templateFileNames[0]))
        let path = TestSupport.makeTemporaryDirectory() + "/numbered-by-source-order.xml"
        try! FileSystem.writeAtomically(
            builtIn.replacingOccurrences(
                of: #"<field name="FBillNo" path="stockin_no" required="true"/>"#,
                with: #"<field name="FBillNo" path="src_order_no" required="true"/>"#),
            to: path)
        return path
    }()

    enum Fate { case bill, rejected, filtered }

    /// One document of key `key` (none when nil), version `hour`, producing bill number `number`.
    static func doc(_ key: String?, _ hour: Int, _ number: String, _ fate: Fate = .bill) -> String {
        var order: [String] = []
        if let key { order.append(#""stockin_no": "\#(key)""#)}
        order.append(#""src_order_no": "\#(number)""#)
        order.append(#""warehouse_no": "WH-GZ01", "order_type": "7", "stockin_time": "2026-01-11 10:00:00""#)
        order.append(#""status": "\#(fate == .filtered ? "5" : "80")""#)
        order.append(String(format: #""modified": "2026-01-11 %02d:00:00""#, hour))
        order.append(#""details_list": [{"spec_no": "TS-001-WHT-M", "goods_count": "\#(fate == .rejected ? "0" : "1")", "cost_price": "1"}]"#)
        return "{" + order.joined(separator: ", ") + "}"
    }

    struct Outcome {
        var summary: TransformSummary
        var manifest: JSONValue
        var files: [String: [UInt8]]
        /// key (or file) → payload file, for the outputs.
        var outputs: [String: String] { Dictionary(uniqueKeysWithValues: (manifest["outputs"]?.arrayValue ?? []).map { (($0["key"]?.stringValue ?? $0["file"]!.stringValue!), $0["file"]!.stringValue!) }) }
        var outputKeys: [String] { (manifest["outputs"]?.arrayValue ?? []).map { $0["key"]?.stringValue ?? "-" } }
        var rejectedKeys: [String] { (manifest["rejected"]?.arrayValue ?? []).map { $0["key"]?.stringValue ?? "-" } }
        var hashes: [String: String] { files.mapValues { Hashing.sha256Hex($0) } }
    }

    /// Writes `lines` as one JSON Lines file (or several files, one per group) and transforms them into
    /// `out`, then checks what must hold whatever the scenario.
    @discardableResult
    static func run(_ groups: [[String]], out: String = TestSupport.makeTemporaryDirectory(), kept: Set<String> = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        let input = TestSupport.makeTemporaryDirectory()
        for (i, lines) in groups.enumerated() {
            try FileSystem.writeAtomically(lines.joined(separator: "\n") + "\n", to: input + "/orders-\(i).jsonl")
        }
        let summary = try TransformRunner.run(
            TransformRequest(
                inputs: [input], outputDirectory: out, templatePath: template, lookupsDirectory: TestSupport.fixturesDirectory + "/lookups",
                settings: ["org_number": "100"]))
        var files: [String: [UInt8]] = [:]
        for name in FileSystem.list(out) where !name.hasPrefix(".") { files[name] = try FileSystem.read(out + "/" + name) }
        let manifest = try JSONReader.parse(files["manifest.json"] ?? [])
        let outcome = Outcome(summary: summary, manifest: manifest, files: files)
        let outputs = manifest["outputs"]?.arrayValue ?? [], rejected = manifest["rejected"]?.arrayValue ?? []
        let filtered = manifest["filtered"]?.arrayValue ?? [], duplicates = manifest["duplicates"]?.arrayValue ?? []
        let counts = manifest["counts"]
        // Counts match the sections and the summary.
        #expect(counts?["payloads"]?.scalarText == "\(outputs.count)" && summary.payloads == outputs.count, sourceLocation: sourceLocation)
        #expect(counts?["rejected"]?.scalarText == "\(rejected.count)" && summary.rejected == rejected.count, sourceLocation: sourceLocation)
        #expect(counts?["filtered"]?.scalarText == "\(filtered.count)" && summary.filtered == filtered.count, sourceLocation: sourceLocation)
        let supersededListed = duplicates.reduce(0) { $0 + ($1["superseded"]?.arrayValue?.count ?? 0) }
        #expect(counts?["superseded_duplicates"]?.scalarText == "\(supersededListed)" && summary.superseded == supersededListed, sourceLocation: sourceLocation)
        #expect(summary.documents == outputs.count + rejected.count + filtered.count + supersededListed, "every document in one state", sourceLocation: sourceLocation)
        // The files on disk are exactly those listed (and those kept because they were loaded).
        let listed = Set((outputs + rejected).map { $0["file"]!.stringValue! })
        #expect(listed.count == outputs.count + rejected.count, "no file listed twice", sourceLocation: sourceLocation)
        let onDisk = Set(files.keys.filter { $0 != "manifest.json" && !$0.hasSuffix(".receipt.json") })
        #expect(onDisk == listed.union(kept), "on disk: \(onDisk.sorted()), listed: \(listed.sorted())", sourceLocation: sourceLocation)
        #expect(!FileSystem.exists(TransformMarker.path(in: out)), sourceLocation: sourceLocation)
        // Each payload holds what the manifest says; no two share a number, whatever the case.
        for entry in outputs {
            let name = entry["file"]!.stringValue!
            #expect(files[name].map { Hashing.sha256Hex($0) } == entry["sha256"]?.stringValue, "\(name)", sourceLocation: sourceLocation)
        }
        let numbers = outputs.map { $0["bill_number"]!.stringValue!.lowercased() }
        #expect(Set(numbers).count == numbers.count, "\(numbers)", sourceLocation: sourceLocation)
        // Each key is in one state; the outputs are listed in input order.
        let keys = (outputs + rejected + filtered).compactMap { $0["key"]?.stringValue }
        #expect(Set(keys).count == keys.count, "a key in two states: \(keys)", sourceLocation: sourceLocation)
        func place(_ entry: JSONValue) -> String { "\(entry["source"]?["file"]?.stringValue ?? "")\t\(String(format: "%09d", Int(entry["source"]?["line"]?.scalarText ?? "0") ?? 0))" }
        #expect(outputs.map(place) == outputs.map(place).sorted(), "outputs in input order", sourceLocation: sourceLocation)
        #expect(rejected.map(place) == rejected.map(place).sorted(), "rejected in input order", sourceLocation: sourceLocation)
        // Errors are printed for the rejected documents only.
        let erred = Set(summary.diagnostics.filter { $0.severity == .error }.map { "\($0.file ?? ""):\($0.line ?? 0)" })
        let rejectedPlaces = Set(rejected.map { "\($0["source"]?["file"]?.stringValue ?? ""):\($0["source"]?["line"]?.scalarText ?? "0")" })
        #expect(erred == rejectedPlaces, "errors for \(erred.sorted()), rejected \(rejectedPlaces.sorted())", sourceLocation: sourceLocation)
        // A reject file naming the holder of its number names the document that holds it now.
        let holders = Dictionary(uniqueKeysWithValues: outputs.map { ($0["bill_number"]!.stringValue!.lowercased(), $0["key"]?.stringValue ?? $0["file"]!.stringValue!) })
        for entry in rejected {
            let reject = try JSONReader.parse(files[entry["file"]!.stringValue!] ?? [])
            for reason in reject["reasons"]?.arrayValue ?? [] {
                guard let message = reason["message"]?.stringValue, message.hasPrefix("bill number '") else { continue }
                let number = String(message.dropFirst("bill number '".count).prefix { $0 != "'" }).lowercased()
                let holder = message.components(separatedBy: "is also produced by ").last?.components(separatedBy: ";").first
                #expect(holder == holders[number], "\(message)", sourceLocation: sourceLocation)
            }
        }
        return outcome
    }

    /// Runs `lines` in every order that keeps each key's versions in their order... simply: the given
    /// orders, and checks they give the same files.
    static func sameWhateverTheOrder(_ orders: [[String]], sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        let outcomes = try orders.map { try run([$0], sourceLocation: sourceLocation) }
        // Payloads byte for byte; reject files (which say where their document was) by their messages.
        func files(_ o: Outcome) -> [String: String] {
            o.files.filter { $0.key != "manifest.json" }.mapValues { bytes in
                guard let reject = try? JSONReader.parse(bytes), reject["status"]?.stringValue == "rejected" else { return Hashing.sha256Hex(bytes) }
                return (reject["reasons"]?.arrayValue ?? []).compactMap { $0["message"]?.stringValue }.joined(separator: "\n")
            }
        }
        for outcome in outcomes.dropFirst() {
            #expect(files(outcome) == files(outcomes[0]), sourceLocation: sourceLocation)
        }
        return outcomes[0]
    }

    /// A document still waiting after the number went to another names the one that holds it now, as it
    /// would had the first holder never had it.
    @Test func theWaitersLeftNameTheNewHolder() throws {
        let (a1, b, c, a2) = (Self.doc("A", 1, "N"), Self.doc("B", 1, "N"), Self.doc("C", 1, "N"), Self.doc("A", 2, "M"))
        let o = try Self.sameWhateverTheOrder([[a1, b, c, a2], [b, c, a1, a2]])
        #expect(o.outputs == ["A": "M.json", "B": "N.json"])
        #expect(o.rejectedKeys == ["C"])
        let errors = o.summary.diagnostics.filter { $0.severity == .error }.map(\.message)
        #expect(errors.count == 1 && errors.allSatisfy { $0.hasPrefix("C rejected: FBillNo: bill number 'N' is also produced by B;") }, "\(errors)")
    }

    /// A key waiting for a number keeps its place while its newer versions wait for the same number: it
    /// was there first, as it would hold the number had the holder never had it.
    @Test func aWaiterKeepsItsPlaceAcrossItsNewerVersions() throws {
        let (a1, c1, b, c2, a2) = (Self.doc("A", 1, "N"), Self.doc("C", 1, "N"), Self.doc("B", 1, "N"), Self.doc("C", 2, "N"), Self.doc("A", 2, "M"))
        let o = try Self.sameWhateverTheOrder([[a1, c1, b, c2, a2], [c1, b, c2, a1, a2]])
        #expect(o.outputs == ["C": "N.json", "A": "M.json"])
        #expect(o.rejectedKeys == ["B"])
    }

    /// A loaded payload kept for a superseded version holds what was loaded, also when a version read
    /// before the newest one wrote the same file with other bytes.
    @Test func aLoadedPayloadKeepsWhatWasLoaded() throws {
        let out = TestSupport.makeTemporaryDirectory()
        try Self.run([[Self.doc("A", 1, "N")]], out: out)
        let loaded = try FileSystem.read(out + "/N.json")
        try FileSystem.writeAtomically("{}", to: out + "/N.receipt.json")
        let other = Self.doc("A", 2, "N").replacingOccurrences(of: #""goods_count": "1""#, with: #""goods_count": "2""#)
        try Self.run([[Self.doc("A", 1, "N"), other, Self.doc("A", 3, "M")]], out: out, kept: ["N.json"])
        #expect(try FileSystem.read(out + "/N.json") == loaded)
    }
}
