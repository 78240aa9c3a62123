import FerryCore
import Testing

/// Strings are scanned eight bytes at a time: a quote, a backslash, a control character or a non-ASCII
/// byte must be found at every position of a word, in kept values, skipped values and member names.
@Suite struct JSONStringScanTests {
    /// Every length up to 40 and every position of the byte that matters, read kept and skipped.
    @Test func stopsAreFoundAtEveryPositionOfAWord() throws {
        let keep = JSONKeySet(["k"])
        for length in 0...40 {
            for position in 0..<max(1, length) {
                // Plain text, then the same with one special piece at `position`.
                let plain = String(repeating: "a", count: length)
                for (inserted, expected) in [("\\\"", "\""), ("\\\\", "\\"), ("\\n", "\n"), ("名", "名"), ("é", "é")] {
                    var chars = Array(plain)
                    if length > 0 { chars.remove(at: position) }
                    let head = String(chars.prefix(position))
                    let tail = String(chars.dropFirst(position))
                    let literal = head + inserted + tail
                    let value = head + expected + tail
                    for padding in 0..<8 {
                        let pad = String(repeating: " ", count: padding)
                        let text = "{\(pad)\"k\": \"\(literal)\", \"skipped\(literal)\": \"\(literal)\", \"\(literal)\": 1}"
                        let all = try JSONReader.parse(text)
                        #expect(all["k"] == .string(value), "\(text)")
                        #expect(all["skipped" + value] == .string(value), "\(text)")
                        #expect(all[value] == .number("1"), "\(text)")
                        let kept = try JSONReader.parse(Array(text.utf8), keeping: keep)
                        #expect(kept.objectValue?.members.map(\.key) == ["k"], "\(text)")
                        #expect(kept["k"] == .string(value), "\(text)")
                    }
                }
            }
        }
    }

    /// A raw control character or invalid UTF-8 anywhere in a string is an error at its own position,
    /// whether the string is kept or skipped.
    @Test func badBytesAreReportedWhereTheyAre() {
        for length in 1...24 {
            for position in 0..<length {
                for (bad, message) in [(UInt8(0x09), "unescaped control character"), (UInt8(0xFF), "invalid UTF-8")] {
                    var string = [UInt8](repeating: UInt8(ascii: "b"), count: length)
                    string[position] = bad
                    for member in ["k", "s"] {
                        let bytes = Array("{\"\(member)\": \"".utf8) + string + Array("\"}".utf8)
                        for keeping in [nil, JSONKeySet(["k"])] {
                            do {
                                _ = try JSONReader.parse(bytes, keeping: keeping)
                                Issue.record("accepted \(bytes)")
                            } catch {
                                #expect(error.message.contains(message), "\(error)")
                                // A control character is reported where it is; invalid UTF-8 at the string's start.
                                let at = bad < 0x20 ? 7 + position : 7
                                #expect(error.offset == at, "\(error) for \(bytes)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// The writer escapes a quote, a backslash or a control character at every position of a word, and
    /// copies everything else (Chinese text included) as it is.
    @Test func theWriterEscapesAtEveryPositionOfAWord() {
        func reference(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\u{01}": out += "\\u0001"
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        for length in 0...40 {
            for position in 0..<max(1, length) {
                for special in ["\"", "\\", "\n", "\u{01}", "名"] {
                    var chars = Array(String(repeating: "x", count: length))
                    if length > 0 { chars[position] = Character(special) } else { chars = [Character(special)] }
                    let text = String(chars)
                    var out: [UInt8] = []
                    JSONWriter.writeString(text, into: &out)
                    #expect(String(decoding: out, as: UTF8.self) == reference(text), "\(text.debugDescription)")
                }
            }
        }
    }
}
