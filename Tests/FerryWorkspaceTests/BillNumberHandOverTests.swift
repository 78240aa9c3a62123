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

    /// Seeded random documents for the property tests: keys, mostly newer versions (sometimes an older one
    /// read later), numbers in both cases, and fates.
    struct Mix {
        private var state: UInt64
        private var hours: [String: Int] = [:]

        init(seed: Int) { state = UInt64(seed + 1) &* 0x9E37_79B9_7F4A_7C15 }

        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }

        mutating func line(numbers: [String]) -> String {
            let key = ["A", "B", "C", "D", "E"][next(5)]
            let hour = next(5) == 0 ? max(0, (hours[key] ?? 1) - 1) : (hours[key] ?? 0) + 1
            hours[key] = max(hours[key] ?? 0, hour)
            let fate: Fate = [.bill, .bill, .bill, .bill, .rejected, .filtered][next(6)]
            return BillNumberHandOverTests.doc(key, hour, numbers[next(numbers.count)], fate)
        }
    }

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
        var outputs: [String: String] { Dictionary((manifest["outputs"]?.arrayValue ?? []).map { (($0["key"]?.stringValue ?? $0["file"]!.stringValue!), $0["file"]!.stringValue!) }, uniquingKeysWith: { a, _ in a }) }
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
        #expect(listed.isSubset(of: onDisk) && onDisk.subtracting(listed).isSubset(of: kept), "on disk: \(onDisk.sorted()), listed: \(listed.sorted())", sourceLocation: sourceLocation)
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
        let holders = Dictionary(outputs.map { ($0["bill_number"]!.stringValue!.lowercased(), $0["key"]?.stringValue ?? $0["file"]!.stringValue!) }, uniquingKeysWith: { a, _ in a })
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

    @Test func severalWaitersGetTheNumberInTurn() throws {
        let o = try Self.run([[
            Self.doc("A", 1, "N"), Self.doc("B", 1, "N"), Self.doc("C", 1, "n"), Self.doc("A", 2, "M"),
            Self.doc("B", 2, "P"), Self.doc("D", 1, "N"),
        ]])
        #expect(o.outputs == ["A": "M.json", "B": "P.json", "C": "n.json"])
        #expect(o.rejectedKeys == ["D"])
    }

    @Test func aChainOfHandOvers() throws {
        let o = try Self.run([[
            Self.doc("A", 1, "N"), Self.doc("B", 1, "M"), Self.doc("C", 1, "M"), Self.doc("B", 2, "N"),
            Self.doc("A", 2, "Q"),
        ]])
        #expect(o.outputs == ["A": "Q.json", "B": "N.json", "C": "M.json"])
        #expect(o.rejectedKeys.isEmpty)
    }

    @Test func aHolderThatMovesBackWaitsItsTurn() throws {
        let o = try Self.run([[
            Self.doc("A", 1, "N"), Self.doc("B", 1, "N"), Self.doc("A", 2, "M"), Self.doc("A", 3, "N"),
        ]])
        #expect(o.outputs == ["B": "N.json"])
        #expect(o.rejectedKeys == ["A"])
        #expect(o.files["M.json"] == nil)
    }

    @Test(arguments: [Fate.rejected, .filtered])
    func aHolderFilteredOrRejectedGivesItsNumberUp(fate: Fate) throws {
        let o = try Self.run([[Self.doc("A", 1, "N"), Self.doc("B", 1, "N"), Self.doc("A", 2, "N", fate)]])
        #expect(o.outputs == ["B": "N.json"])
        #expect(o.rejectedKeys == (fate == .rejected ? ["A"] : []))
    }

    @Test func aWaiterWhoseNewerVersionMovesAwayOrComesBack() throws {
        let o = try Self.run([[
            Self.doc("A", 1, "N"), Self.doc("B", 1, "N"), Self.doc("B", 2, "P"), Self.doc("C", 1, "N"),
            Self.doc("B", 3, "N"), Self.doc("A", 2, "M"),
        ]])
        #expect(o.outputs == ["A": "M.json", "C": "N.json"])
        #expect(o.rejectedKeys == ["B"])
    }

    @Test func handedOverAcrossFilesAndARerunChangesNothing() throws {
        let out = TestSupport.makeTemporaryDirectory()
        let groups = [[Self.doc("A", 1, "N"), Self.doc("B", 1, "N")], [Self.doc("C", 1, "N")], [Self.doc("A", 2, "M"), Self.doc("B", 2, "N")]]
        let first = try Self.run(groups, out: out)
        #expect(first.outputs == ["A": "M.json", "B": "N.json"])
        let second = try Self.run(groups, out: out)
        let payloads = { (o: Outcome) in o.hashes.filter { !$0.key.hasSuffix(".reject.json") && $0.key != "manifest.json" } }
        #expect(payloads(second) == payloads(first))
        #expect(second.outputs == first.outputs && second.rejectedKeys == ["C"])
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

    /// A rerun over a directory whose handed-over payloads were loaded changes nothing and warns of nothing.
    @Test func aRerunOverLoadedHandedOverPayloads() throws {
        let out = TestSupport.makeTemporaryDirectory()
        let groups = [[Self.doc("A", 1, "N"), Self.doc("B", 1, "N"), Self.doc("C", 1, "N"), Self.doc("A", 2, "M")]]
        let first = try Self.run(groups, out: out)
        for name in ["N", "M"] { try FileSystem.writeAtomically("{}", to: out + "/\(name).receipt.json") }
        let second = try Self.run(groups, out: out)
        #expect(second.outputs == first.outputs && second.rejectedKeys == ["C"])
        #expect(second.files["N.json"] == first.files["N.json"] && second.files["M.json"] == first.files["M.json"])
        #expect(!second.summary.diagnostics.contains { $0.severity == .warning })
    }

    /// A loaded payload whose document gives its number up to a waiting one holds the waiting one's bill
    /// (it produces that file now: nothing to warn about); under a number in another case, it is kept, with a warning.
    @Test(arguments: ["N", "n"])
    func aLoadedHolderGivesItsNumberUp(waiterNumber: String) throws {
        let out = TestSupport.makeTemporaryDirectory()
        try Self.run([[Self.doc("A", 1, "N")]], out: out)
        try FileSystem.writeAtomically("{}", to: out + "/N.receipt.json")
        let o = try Self.run(
            [[Self.doc("A", 1, "N"), Self.doc("B", 1, waiterNumber), Self.doc("A", 2, "M")]], out: out,
            kept: waiterNumber == "N" ? [] : ["N.json"])
        #expect(o.outputs == ["A": "M.json", "B": waiterNumber + ".json"])
        let warnings = o.summary.diagnostics.filter { $0.severity == .warning }.map(\.file)
        #expect(warnings == (waiterNumber == "N" ? [] : [out + "/N.json"]))
    }

    /// A transform that stopped part way through hand-overs is cleaned up by the next.
    @Test func aRunThatStoppedPartWayThroughAHandOver() throws {
        let out = TestSupport.makeTemporaryDirectory()
        let groups = [[Self.doc("A", 1, "N"), Self.doc("B", 1, "N"), Self.doc("C", 1, "N")], [Self.doc("A", 2, "M"), Self.doc("B", 2, "P")]]
        try FileSystem.createDirectory(out + "/P.json")
        #expect(throws: StageFailure.self) { try Self.run(groups, out: out) }
        #expect(FileSystem.exists(TransformMarker.path(in: out)))
        #expect(rmdir(out + "/P.json") == 0)
        let o = try Self.run([groups[0], [Self.doc("A", 2, "M")]], out: out)
        #expect(o.outputs == ["A": "M.json", "B": "N.json"])
        #expect(o.rejectedKeys == ["C"])
    }

    /// A document handed a number whose newer version is rejected or filtered passes it on.
    @Test(arguments: [Fate.rejected, .filtered])
    func aHandedOverDocumentPassesTheNumberOn(fate: Fate) throws {
        let o = try Self.run([
            [Self.doc("A", 1, "N"), Self.doc("B", 1, "n"), Self.doc("C", 1, "N")], [Self.doc("A", 2, "M")],
            [Self.doc("B", 2, "N", fate), Self.doc("B", 0, "Q")],
        ])
        #expect(o.outputs == ["A": "M.json", "C": "N.json"])
        #expect(o.rejectedKeys == (fate == .rejected ? ["B"] : []))
        #expect(o.manifest["duplicates"]?.arrayValue?.map { $0["key"]?.stringValue ?? "" } == ["A", "B"])
        let b = o.manifest["duplicates"]?.arrayValue?.last
        #expect(b?["used"]?["version"]?.stringValue == "2026-01-11 02:00:00")
        #expect(b?["superseded"]?.arrayValue?.compactMap { $0["version"]?.stringValue } == ["2026-01-11 01:00:00", "2026-01-11 00:00:00"])
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

    /// Random mixes of keys, versions, numbers (in both cases) and fates, spread over files: every
    /// invariant `run` checks holds, and a rerun over the same directory (receipts beside some payloads)
    /// gives the same files.
    @Test(arguments: 0..<40)
    func randomMixes(seed: Int) throws {
        var mix = Mix(seed: seed)
        func next(_ n: Int) -> Int { mix.next(n) }
        var groups: [[String]] = []
        for _ in 0..<(1 + next(3)) {
            var lines: [String] = []
            for _ in 0..<(1 + next(6)) { lines.append(mix.line(numbers: ["N", "n", "M", "P"])) }
            groups.append(lines)
        }
        let input = TestSupport.makeTemporaryDirectory()
        for (i, lines) in groups.enumerated() {
            try FileSystem.writeAtomically(lines.joined(separator: "\n") + "\n", to: input + "/orders-\(i).jsonl")
        }
        let out = TestSupport.makeTemporaryDirectory()
        try Self.run(groups, out: out)
        let request = TransformRequest(
            inputs: [input], outputDirectory: out, templatePath: Self.template,
            lookupsDirectory: TestSupport.fixturesDirectory + "/lookups", settings: ["org_number": "100"])
        _ = try TransformRunner.run(request)
        var before: [String: [UInt8]] = [:]
        for name in FileSystem.list(out) where !name.hasPrefix(".") { before[name] = try FileSystem.read(out + "/" + name) }
        for name in before.keys where name.hasSuffix(".json") && !name.hasSuffix(".reject.json") && name != "manifest.json" && next(2) == 0 {
            try FileSystem.writeAtomically("{}", to: out + "/" + name.dropLast(5) + ".receipt.json")
        }
        _ = try TransformRunner.run(request)
        var after: [String: [UInt8]] = [:]
        for name in FileSystem.list(out) where !name.hasPrefix(".") && !name.hasSuffix(".receipt.json") { after[name] = try FileSystem.read(out + "/" + name) }
        #expect(after == before, "\(groups)")
    }

    /// Random mixes transformed, some payloads loaded, then transformed again with some documents gone and
    /// others added: every invariant `run` checks holds, and a loaded payload the rerun does not list is
    /// still there, holding what was loaded.
    @Test(arguments: 0..<60)
    func randomReruns(seed: Int) throws {
        var mix = Mix(seed: seed + 999)
        func next(_ n: Int) -> Int { mix.next(n) }
        func lines(_ count: Int) -> [String] {
            (0..<count).map { _ in
                var line = mix.line(numbers: ["N", "n", "M", "P", "Q"])
                if next(3) == 0 { line = line.replacingOccurrences(of: #""goods_count": "1""#, with: #""goods_count": "2""#) }
                return line
            }
        }
        let first = [lines(1 + next(8)), lines(next(6))]
        let out = TestSupport.makeTemporaryDirectory()
        try Self.run(first, out: out)
        var loaded: [String: [UInt8]] = [:]
        for name in FileSystem.list(out) where name.hasSuffix(".json") && !name.hasSuffix(".reject.json") && name != "manifest.json" && next(2) == 0 {
            try FileSystem.writeAtomically("{}", to: out + "/" + name.dropLast(5) + ".receipt.json")
            loaded[name] = try FileSystem.read(out + "/" + name)
        }
        var second = first.map { $0.filter { _ in next(3) != 0 } }
        second.append(lines(next(6)))
        let o = try Self.run(second, out: out, kept: Set(loaded.keys))
        let listed = Set(o.outputs.values)
        for (name, bytes) in loaded where !listed.contains(name) {
            #expect(FileSystem.exists(out + "/" + name), "\(name) loaded, removed: \(first) -> \(second)")
            #expect((try? FileSystem.read(out + "/" + name)) == bytes, "\(name) loaded, changed: \(first) -> \(second)")
        }
    }

    /// A key whose last version is filtered out holds no number in the end: the others come out as if it
    /// had never been read (hand-overs give them what they would have had), wherever its versions were.
    @Test(arguments: 0..<60)
    func aKeyThatEndsFilteredOutChangesNothingForTheOthers(seed: Int) throws {
        var mix = Mix(seed: seed + 4999)
        func next(_ n: Int) -> Int { mix.next(n) }
        var hour = 0
        var keyed: [(key: String, line: String)] = []
        for _ in 0..<(2 + next(9)) {
            let key = ["A", "B", "C", "D", "K"][next(5)]
            hour += 1
            let fate: Fate = [.bill, .bill, .bill, .bill, .bill, .rejected][next(6)]
            keyed.append((key, Self.doc(key, hour, ["N", "n", "M", "P"][next(4)], fate)))
        }
        keyed.append(("K", Self.doc("K", hour + 1, "Z", .filtered)))
        let with = try Self.run([keyed.map(\.line)])
        let without = try Self.run([keyed.filter { $0.key != "K" }.map(\.line)])
        func view(_ o: Outcome) -> [String] {
            var out: [String] = o.outputs.filter { $0.key != "K" }.map { "\($0.key)=\($0.value)" }.sorted()
            for entry in o.manifest["rejected"]?.arrayValue ?? [] where entry["key"]?.stringValue != "K" {
                let reject = try! JSONReader.parse(o.files[entry["file"]!.stringValue!]!)
                out.append("\(entry["key"]!.stringValue!): " + (reject["reasons"]?.arrayValue ?? []).compactMap { $0["message"]?.stringValue }.joined())
            }
            return out
        }
        #expect(view(with) == view(without), "\(keyed.map { $0.line.components(separatedBy: ", \"warehouse")[0] })")
    }

    /// Numbers that differ only in case are one bill also when their file names need a hash (a space, a
    /// slash): the hash of the number must not tell them apart. The number goes over when the holder
    /// gives it up.
    @Test func numbersWithHashedFileNamesThatDifferOnlyInCaseAreOneBill() throws {
        let o = try Self.run([[Self.doc("A", 1, "RK 1"), Self.doc("B", 1, "rk 1"), Self.doc("C", 1, "RK/1")]])
        #expect(o.outputKeys == ["A", "C"] && o.rejectedKeys == ["B"])
        let handed = try Self.run([[Self.doc("A", 1, "RK 1"), Self.doc("B", 1, "rk 1"), Self.doc("A", 2, "M")]])
        #expect(handed.outputs == ["A": "M.json", "B": SafeFileName.make("rk 1") + ".json"])
        #expect(handed.rejectedKeys.isEmpty)
    }
}
