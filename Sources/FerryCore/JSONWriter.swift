/// Writes `JSONValue`s as UTF-8 bytes, deterministically.
///
/// Members are written in the order the object holds them; numbers are written as their exact text;
/// strings escape only what JSON requires (quotes, backslashes, control characters), so Chinese text
/// stays readable. The same value always gives the same bytes.
public struct JSONWriter: Sendable {
    /// Layout of the output.
    public enum Style: Sendable {
        /// Two-space indentation, one member per line, a final newline: for files people read.
        case pretty
        /// No whitespace at all: for request bodies and JSON Lines.
        case compact
    }

    /// The layout used.
    public var style: Style

    /// Creates a writer.
    public init(style: Style = .pretty) {
        self.style = style
    }

    /// The bytes of `value` (with a trailing newline in `.pretty` style).
    public func bytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        write(value, into: &out, indent: 0)
        if style == .pretty { out.append(0x0A) }
        return out
    }

    /// The text of `value`.
    public func string(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    /// Appends `value` to `out`.
    public func write(_ value: JSONValue, into out: inout [UInt8], indent: Int) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let elements):
            if elements.isEmpty {
                out.append(contentsOf: "[]".utf8)
                return
            }
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(&out, indent + 1)
                write(element, into: &out, indent: indent + 1)
            }
            newline(&out, indent)
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            if object.members.isEmpty {
                out.append(contentsOf: "{}".utf8)
                return
            }
            out.append(UInt8(ascii: "{"))
            for (i, member) in object.members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(&out, indent + 1)
                Self.writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                if style == .pretty { out.append(0x20) }
                write(member.value, into: &out, indent: indent + 1)
            }
            newline(&out, indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    @inline(__always)
    private func newline(_ out: inout [UInt8], _ indent: Int) {
        guard style == .pretty else { return }
        Self.newline(&out, indent: indent)
    }

    /// A newline and the spaces of `indent` levels, copied from one literal (a payload has one per
    /// member: appending the spaces one by one showed in profiles).
    static func newline(_ out: inout [UInt8], indent: Int) {
        let lineStart: StaticString = "\n                                                                "
        let count = 1 + 2 * indent
        if count <= lineStart.utf8CodeUnitCount {
            out.append(contentsOf: UnsafeBufferPointer(start: lineStart.utf8Start, count: count))
        } else {
            out.append(0x0A)
            out.append(contentsOf: repeatElement(0x20, count: 2 * indent))
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `string` as a JSON string literal.
    public static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var string = string
        // Most strings need no escape at all: copy them whole.
        let copied: Bool = string.withUTF8 { bytes in
            var nonASCII = false
            guard PlainText.end(of: bytes, from: 0, sawNonASCII: &nonASCII) == bytes.count else { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if copied {
            out.append(UInt8(ascii: "\""))
            return
        }
        let utf8 = string.utf8
        for byte in utf8 {
            switch byte {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case 0x08: out.append(0x5C); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(0x5C); out.append(UInt8(ascii: "f"))
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
