import FerryCore
import Testing

@Suite struct JSONReaderTests {
    @Test func keepsNumberTextAndMemberOrder() throws {
        let value = try JSONReader.parse(#"{"b": 12.30, "a": -0.0, "c": 1e3, "d": 123456789012345678901234567890.120}"#)
        let object = try #require(value.objectValue)
        #expect(object.members.map(\.key) == ["b", "a", "c", "d"])
        #expect(value["b"] == .number("12.30"))
        #expect(value["a"] == .number("-0.0"))
        #expect(value["c"] == .number("1e3"))
        #expect(value["d"] == .number("123456789012345678901234567890.120"))
        #expect(JSONWriter(style: .compact).string(value) == #"{"b":12.30,"a":-0.0,"c":1e3,"d":123456789012345678901234567890.120}"#)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONReader.parse(#"["\u4e2d\u6587", "\ud83d\ude00", "a\"b\\c\/d\n\t", "纯棉T恤"]"#)
        #expect(value == .array([.string("中文"), .string("😀"), .string("a\"b\\c/d\n\t"), .string("纯棉T恤")]))
    }

    @Test(arguments: [
        ("", 1, 1, "the file is empty"),
        ("{\"a\": 1", 1, 8, "unexpected end of data"),
        ("{\"a\": 1,\n \"b\": [1, 2", 2, 12, "unexpected end of data"),
        ("[1, 2,]", 1, 7, "expected a value"),
        ("{\"a\" 1}", 1, 6, "expected ':'"),
        ("[01]", 1, 3, "leading zeros"),
        ("[1.]", 1, 4, "a digit after '.'"),
        ("[\"a\nb\"]", 1, 4, "unescaped control character"),
        ("[\"\\ud800\"]", 1, 3, "unpaired high surrogate"),
        ("[\"\\x\"]", 1, 3, "invalid escape"),
        ("[tru]", 1, 2, "invalid literal"),
        ("{} {}", 1, 4, "after the end of the JSON value"),
        ("{\"a\": \"unterminated", 1, 7, "unterminated string"),
        ("'single'", 1, 1, "expected a value"),
    ])
    func rejectsInvalidJSONWithPosition(text: String, line: Int, column: Int, message: String) {
        do {
            _ = try JSONReader.parse(text)
            Issue.record("accepted invalid JSON: \(text)")
        } catch {
            #expect(error.line == line, "\(text): \(error)")
            #expect(error.column == column, "\(text): \(error)")
            #expect(error.message.contains(message), "\(text): \(error)")
        }
    }

    @Test func acceptsValidEdgeCases() throws {
        for text in ["0", "-0", "1E+2", "1e-7", "\"\"", "[]", "{}", "[[[]]]", " \n\t[1] ", "\u{FEFF}{\"a\":null}", "true", "null"] {
            _ = try JSONReader.parse(text)
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONSyntaxError.self) { try JSONReader.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func limitsNestingDepth() throws {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONSyntaxError.self) { try JSONReader.parse(deep) }
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        _ = try JSONReader.parse(fine)
    }

    @Test func readsHugeStrings() throws {
        let big = String(repeating: "仓库", count: 500_000)
        let value = try JSONReader.parse("[\"\(big)\"]")
        #expect(value.arrayValue?.first?.stringValue?.count == 1_000_000)
    }

    @Test func parsesJSONLinesIndependently() {
        let lines = JSONReader.parseLines(Array("{\"a\":1}\n\n{\"b\":\n{\"c\":3}\n".utf8))
        #expect(lines.count == 3)
        #expect(lines[0].number == 1)
        if case .failure(let error) = lines[1].result {
            #expect(error.line == 3)
        } else {
            Issue.record("line 3 should fail")
        }
        #expect(lines[2].number == 4)
        if case .success(let value) = lines[2].result { #expect(value["c"] == .number("3")) }
    }

    @Test func writerRoundTripsAndEscapesOnlyWhatItMust() throws {
        let text = #"{"中文":"a\"b\\c\u0001\n","n":[1.50,-2,3e-2],"o":{},"e":[]}"#
        let value = try JSONReader.parse(text)
        let compact = JSONWriter(style: .compact).string(value)
        #expect(compact == #"{"中文":"a\"b\\c\u0001\n","n":[1.50,-2,3e-2],"o":{},"e":[]}"#)
        let pretty = JSONWriter(style: .pretty).string(value)
        #expect(try JSONReader.parse(pretty) == value)
        #expect(pretty.hasSuffix("}\n"))
        #expect(pretty.contains("\n  \"n\": [\n    1.50,"))
    }

    @Test func duplicateKeysResolveToTheLast() throws {
        let value = try JSONReader.parse(#"{"a":1,"a":2}"#)
        #expect(value["a"] == .number("2"))
    }

    /// Indentation past the levels the writer copies from one literal (32) is written the same way.
    @Test func deepIndentationIsTwoSpacesPerLevel() throws {
        var value: JSONValue = .number("1")
        for _ in 0..<40 { value = .array([value]) }
        let text = JSONWriter(style: .pretty).string(value)
        var expected = "1"
        for level in stride(from: 39, through: 0, by: -1) {
            let inner = String(repeating: "  ", count: level + 1)
            let outer = String(repeating: "  ", count: level)
            expected = "[\n" + inner + expected + "\n" + outer + "]"
        }
        #expect(text == expected + "\n")
        #expect(try JSONReader.parse(text) == value)
        var emitter = JSONEmitter()
        for _ in 0..<40 {
            emitter.beginArray()
            emitter.element()
        }
        emitter.value(.number("1"))
        for _ in 0..<40 { emitter.endArray() }
        #expect(String(decoding: emitter.finish(), as: UTF8.self) == text)
    }

    /// The emitter the transform writes payloads with gives exactly the writer's bytes, whichever way a
    /// member is written: key and value, an encoded key, a whole member encoded ahead, a one-member wrapper.
    @Test func emitterWritesWhatTheWriterWrites() {
        var state: UInt64 = 42
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        func random(_ depth: Int) -> JSONValue {
            switch next(depth > 3 ? 4 : 7) {
            case 0: return .string(["", "RK0001", "旺店通 \"入库\"", "a\nb"][next(4)])
            case 1: return .number(["0", "12.30", "-1e3"][next(3)])
            case 2: return .bool(next(2) == 0)
            case 3: return .null
            case 4, 5:
                return .object(JSONObject((0..<next(4)).map { i in .init(["FNumber", "键", "k\(i)"][next(3)], random(depth + 1)) }))
            default:
                return .array((0..<next(4)).map { _ in random(depth + 1) })
            }
        }
        // Emits containers member by member, and scalars (or, at random, whole sub-trees) with `value`.
        func emit(_ value: JSONValue, into emitter: inout JSONEmitter) {
            switch value {
            case .object(let object) where next(3) > 0:
                emitter.beginObject()
                for member in object.members {
                    switch next(3) {
                    case 0:
                        emitter.key(member.key)
                    case 1:
                        let key = JSONEmitter.Key(member.key)
                        withExtendedLifetime(key) { emitter.key(encoded: key.bytes) }
                    default:
                        // The whole member encoded ahead, as a template's constant fields are.
                        let depth = emitter.depth
                        let whole = JSONEmitter.Key(member.key, value: member.value, depth: depth)
                        withExtendedLifetime(whole) { emitter.member(encoded: whole.bytes, depth: depth) }
                        continue
                    }
                    emit(member.value, into: &emitter)
                }
                emitter.endObject()
            case .object(let object) where object.members.count == 1 && next(2) == 0:
                // A reference's one-member wrapper, written without opening a container.
                let key = JSONEmitter.Key(object.members[0].key)
                withExtendedLifetime(key) { emitter.value(object.members[0].value, wrappedIn: key.bytes) }
            case .array(let items) where next(3) > 0:
                emitter.beginArray()
                for item in items {
                    emitter.element()
                    emit(item, into: &emitter)
                }
                emitter.endArray()
            default:
                emitter.value(value)
            }
        }
        for _ in 0..<2000 {
            let value = random(0)
            var emitter = JSONEmitter()
            emit(value, into: &emitter)
            let emitted = emitter.finish()
            #expect(emitted == JSONWriter(style: .pretty).bytes(value), "\(JSONWriter(style: .compact).string(value))")

            // Nested, appending to bytes already there (as manifest entries are spooled).
            let indent = next(4)
            var expected: [UInt8] = Array("prefix".utf8)
            JSONWriter(style: .pretty).write(value, into: &expected, indent: indent)
            var buffer: [UInt8] = Array("prefix".utf8)
            var nested = JSONEmitter(appendingTo: &buffer, indent: indent)
            #expect(buffer.isEmpty)
            emit(value, into: &nested)
            nested.finish(into: &buffer)
            #expect(buffer == expected, "indent \(indent): \(JSONWriter(style: .compact).string(value))")
        }
    }
}
