import FerryCore
import FerryTestSupport
import Testing

/// `JSONReader.forEachElement`: the elements of named top-level arrays, read a piece at a time.
@Suite struct JSONElementStreamTests {
    private func elements(_ text: String, arrays: Set<String> = ["a", "c"], keeping: JSONKeySet? = nil) throws -> [String] {
        let dir = TestSupport.makeTemporaryDirectory("ferry-element-stream")
        try FileSystem.writeAtomically(text, to: dir + "/m.json")
        var seen: [String] = []
        try JSONReader.forEachElement(inFile: dir + "/m.json", ofArrays: arrays, keeping: keeping) { name, value in
            seen.append(name + "=" + JSONWriter(style: .compact).string(value))
        }
        return seen
    }

    @Test func handsOverTheElementsOfTheNamedArraysOnly() throws {
        let text = #"""
            {"x": "a", "a": [{"f": "{[\"]}"}, [1, 2]], "b": [{"f": 1}], "n": {"a": [{"f": 9}]},
             "\u0063": [{"f": "c1", "g": {"h": "]"}}, {}], "z": [1]}
            """#
        #expect(try elements(text) == [#"a={"f":"{[\"]}"}"#, "a=[1,2]", #"c={"f":"c1","g":{"h":"]"}}"#, "c={}"])
        #expect(try elements(text, keeping: JSONKeySet(["f"])) == [#"a={"f":"{[\"]}"}"#, "a=[1,2]", #"c={"f":"c1"}"#, "c={}"])
        #expect(try elements(#"{"a": []}"#).isEmpty)
    }

    /// It says which of the named arrays the object has: an empty one counts, a missing one, one nested
    /// deeper or a member of another type does not.
    @Test(arguments: [
        (#"{"a": [], "b": [{}]}"#, ["a"]),
        (#"{"a": [{"f": 1}], "c": [[1]]}"#, ["a", "c"]),
        (#"{"b": [], "n": {"a": []}}"#, []),
        (#"{"a": 3, "c": {"x": []}}"#, []),
    ] as [(String, Set<String>)])
    func returnsTheNamedArraysItFound(text: String, expected: Set<String>) throws {
        let dir = TestSupport.makeTemporaryDirectory("ferry-element-stream")
        try FileSystem.writeAtomically(text, to: dir + "/m.json")
        let found = try JSONReader.forEachElement(inFile: dir + "/m.json", ofArrays: ["a", "c"]) { _, _ in }
        #expect(found == expected, "\(text)")
    }

    /// Elements that straddle the reader's 64 KiB pieces come out whole.
    @Test func readsFilesLargerThanOnePiece() throws {
        var text = "{\"head\": \"" + String(repeating: "x", count: 70_000) + "\",\n \"a\": [\n"
        for i in 0..<5_000 { text += (i == 0 ? "" : ",\n") + "  {\"file\": \"RK\(i).json\", \"pad\": \"\(String(repeating: "中", count: i % 40))\"}" }
        text += "\n]}\n"
        let got = try elements(text, keeping: JSONKeySet(["file"]))
        #expect(got.count == 5_000)
        #expect(got.first == #"a={"file":"RK0.json"}"# && got.last == #"a={"file":"RK4999.json"}"#)
    }

    @Test(arguments: [
        ("{\"a\": [{\"f\": 1}", "unexpected end of data"),
        ("{\"a\": [1, 2]}", "should hold objects or arrays"),
        ("{\"a\": [\"s\"]}", "should hold objects or arrays"),
        ("[{\"a\": []}]", "expected one JSON object"),
        ("{\"a\": [\n{\"f\": 01}]}", "leading zeros"),
        ("", "unexpected end of data"),
    ])
    func badFilesAreErrorsNamingTheFile(text: String, message: String) {
        do {
            _ = try elements(text)
            Issue.record("accepted: \(text)")
        } catch {
            let text = "\(error)"
            #expect(text.contains("m.json") && text.contains(message), "\(text)")
        }
    }
}
