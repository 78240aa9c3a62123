import FerryCore
import Testing

/// Reading with a `JSONKeySet`: what is kept, what is skipped, and that skipped text is checked exactly
/// as strictly (same messages, same positions) as text that is kept.
@Suite struct JSONKeySetTests {
    @Test func keepsOnlyNamedMembersAtEveryDepth() throws {
        let text = #"{"a": 1, "x": {"a": 2}, "b": {"a": "中文", "y": [1, {"z": 0}], "c": null}, "c": [{"a": 4, "d": 5}, 7]}"#
        let value = try JSONReader.parse(Array(text.utf8), keeping: JSONKeySet(["a", "b", "c"]))
        #expect(JSONWriter(style: .compact).string(value) == #"{"a":1,"b":{"a":"中文","c":null},"c":[{"a":4},7]}"#)
    }

    @Test func keepsWholeNamedValuesWhole() throws {
        let text = #"{"a": {"b": 1, "w": {"q": [1, {"r": 2}]}}, "w": {"s": 3}, "t": 4}"#
        let value = try JSONReader.parse(Array(text.utf8), keeping: JSONKeySet(["a"], wholeNames: ["w"]))
        #expect(JSONWriter(style: .compact).string(value) == #"{"a":{"w":{"q":[1,{"r":2}]}},"w":{"s":3}}"#)
    }

    @Test func matchesEscapedAndNonASCIINamesByTheirText() throws {
        let text = #"{"\u0061": 1, "名称": "x", "\u540d\u79f0": "y", "b\"": 2, "skip\n": 3}"#
        let value = try JSONReader.parse(Array(text.utf8), keeping: JSONKeySet(["a", "名称", "b\""]))
        #expect(value.objectValue?.members.map(\.key) == ["a", "名称", "名称", "b\""])
        #expect(value["名称"] == .string("y"))
        #expect(JSONKeySet(["a"]).contains("a") && !JSONKeySet(["a"]).contains("b"))
    }

    /// A kept name twice in one object is told (the value answers with the last; a reader of money must
    /// not guess); a skipped name twice, or a kept name once in each of two objects, is not.
    @Test func tellsWhenAnObjectRepeatsAKeptName() throws {
        func repeats(_ text: String, _ keys: JSONKeySet) throws -> Bool {
            var repeats = false
            _ = try JSONReader.parse(Array(text.utf8), keeping: keys, repeatsKeptName: &repeats)
            return repeats
        }
        let ab = JSONKeySet(["a", "b"], wholeNames: ["w"])
        #expect(try !repeats(#"{"a": 1, "x": 1, "x": 2, "b": {"a": 2, "x": [{"a": 3}]}}"#, ab))
        #expect(try repeats(#"{"a": 1, "b": {"a": 1}, "a": 2}"#, ab))
        #expect(try repeats(#"{"b": [{"a": 1}, {"b": 0, "a": 1, "b": 2}]}"#, ab))
        #expect(try repeats(#"{"a": 1, "\u0061": 2}"#, ab))
        #expect(try !repeats(#"{"w": {"q": 1, "q": 2}}"#, ab), "inside a value kept whole nothing is looked at")
        #expect(try repeats(#"{"w": 1, "w": 2}"#, ab))
        // Names past the 64th are looked for among the members kept so far.
        let many = JSONKeySet((0..<70).map { "n\($0)" })
        #expect(try repeats(#"{"n69": 1, "n3": 0, "n69": 2}"#, many))
        #expect(try !repeats(#"{"n69": 1, "n68": 2, "n3": 0, "n63": 1}"#, many))
        #expect(try repeats(#"{"n63": 1, "n63": 1}"#, many))
        let lines = JSONReader.parseLines(Array("{\"a\": 1}\n{\"a\": 1, \"a\": 2}\n".utf8), keeping: ab)
        #expect(lines.map(\.repeatsKeptName) == [false, true])
    }

    @Test func repeatedMembersAreNamedByTheirPaths() throws {
        let value = try JSONReader.parse(#"{"a": 1, "a": 2, "b": [{"c": 1, "c": 2, "c": 3}, {"d": {"e": 0, "e": 1}}], "a": 3}"#)
        #expect(value.repeatedMembers(at: "$.x") == ["$.x.a", "$.x.b[0].c", "$.x.b[1].d.e"])
        #expect(try JSONReader.parse(#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}"#).repeatedMembers(at: "$").isEmpty)
    }

    /// Invalid JSON inside a skipped member gives the error it gives when everything is kept.
    @Test(arguments: [
        "[1,]", "{\"a\":1,}", "[NaN]", "[-]", "[.1]", "[1e]", "[\"\\u00\"]", "[0x1]", "[\"a\" \"b\"]", "{1:2}", "[\"\t\"]",
        "[1.e5]", "{\"a\" : }", "[\"\\uDD1E\"]", "[\"\\uD834\"]", "[\"\\uD834\\u0041\"]", "[1 2]", "{\"a\":1 \"b\":2}",
        "[nul]", "[True]", "{", "\"abc", "[\"\\a\"]", "[00]", "[-01]", "\"a\nb\"", "{\"k\": \"v\"", "[[[", "tru", "{\"a\" 1}",
        "{\"x\\q\": 1}", "{\"x\n\": 1}", "\"\u{1F600}\\x\"",
    ])
    func skippedTextIsCheckedLikeKeptText(bad: String) {
        let text = "{\"keep\": 1,\n  \"skip\": " + bad + "}"
        let everything = Result { try JSONReader.parse(Array(text.utf8)) }
        let projected = Result { try JSONReader.parse(Array(text.utf8), keeping: JSONKeySet(["keep"])) }
        guard case .failure(let expected as JSONSyntaxError) = everything else {
            Issue.record("accepted invalid JSON: \(text)")
            return
        }
        guard case .failure(let got as JSONSyntaxError) = projected else {
            Issue.record("skipping accepted invalid JSON: \(text)")
            return
        }
        #expect(got == expected)
    }

    @Test func invalidUTF8InASkippedStringIsAnError() {
        for bad: [UInt8] in [[0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE4, 0xB8], [0xC0, 0xAF], [0xFF]] {
            let bytes = Array(#"{"keep": 1, "skip": ""#.utf8) + bad + Array(#""}"#.utf8)
            #expect(throws: JSONSyntaxError.self) { try JSONReader.parse(bytes, keeping: JSONKeySet(["keep"])) }
            let name = Array(#"{""#.utf8) + bad + Array(#"": 1}"#.utf8)
            #expect(throws: JSONSyntaxError.self) { try JSONReader.parse(name, keeping: JSONKeySet(["keep"])) }
        }
    }

    /// Skipped strings are validated by Ferry's own UTF-8 check; it must agree with the standard library's.
    @Test func utf8CheckAgreesWithTheStandardLibrary() {
        var generator = SystemRandomNumberGenerator()
        let interesting: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF,
                                    0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF, 0x8F, 0x90, 0x9F, 0xA0]
        for _ in 0..<60_000 {
            let count = Int.random(in: 0...6, using: &generator)
            let bytes: [UInt8] = (0..<count).map { _ in
                Bool.random(using: &generator) ? interesting.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
            }
            let text = Array(#"{"s": ""#.utf8) + bytes.filter { $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C } + Array(#""}"#.utf8)
            let kept = (try? JSONReader.parse(text)) != nil
            let skipped = (try? JSONReader.parse(text, keeping: JSONKeySet(["t"]))) != nil
            #expect(kept == skipped, "\(bytes)")
        }
    }
}
