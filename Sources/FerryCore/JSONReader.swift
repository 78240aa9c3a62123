/// Why a byte sequence is not JSON, and where.
public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// Byte offset of the problem from the start of the text.
    public var offset: Int
    /// 1-based line of the problem.
    public var line: Int
    /// 1-based column (in bytes) of the problem.
    public var column: Int

    /// `line:column: message`.
    public var description: String { "\(line):\(column): \(message)" }

    /// The error as a diagnostic about `file`.
    public func diagnostic(file: String) -> Diagnostic {
        .error(message, file: file, line: line, column: column)
    }
}

/// A strict RFC 8259 reader working on UTF-8 bytes.
///
/// It keeps number text exactly, keeps object member order, rejects trailing garbage, invalid UTF-8 and
/// unescaped control characters, limits nesting depth, and reports errors with line and column.
/// Foundation's JSON readers are avoided on purpose: they lose number text (`12.30` becomes `12.3`)
/// and are slow on this platform.
public enum JSONReader {
    /// Deepest nesting accepted; deeper input is rejected instead of exhausting the stack.
    public static let maximumDepth = 512

    /// Parses one JSON text.
    ///
    /// - Throws: `JSONSyntaxError` with the position of the first problem.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        let array = Array(bytes)
        do {
            return try array.withUnsafeBufferPointer { buffer in
                var parser = Parser(buffer)
                return try parser.parseDocument()
            }
        } catch let failure as Failure {
            throw syntaxError(failure, in: array)
        } catch {
            fatalError("unexpected error \(error)")
        }
    }

    /// Parses one JSON text given as a string.
    ///
    /// - Throws: `JSONSyntaxError` with the position of the first problem.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// One line of a JSON Lines text: its 1-based line number and its value or its error.
    public struct Line: Sendable {
        /// 1-based line number in the file.
        public var number: Int
        /// The parsed value, or why the line is not JSON (with the line's own number in `line`).
        public var result: Result<JSONValue, JSONSyntaxError>
    }

    /// Parses JSON Lines: one value per non-blank line. A bad line does not stop the others.
    public static func parseLines(_ bytes: [UInt8]) -> [Line] {
        var lines: [Line] = []
        var start = 0
        var number = 1
        let count = bytes.count
        while start <= count {
            var end = start
            while end < count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            let slice = bytes[start..<end]
            if slice.contains(where: { !isWhitespace($0) }) {
                do {
                    lines.append(Line(number: number, result: .success(try parse(slice))))
                } catch {
                    var shifted = error
                    shifted.line = number
                    lines.append(Line(number: number, result: .failure(shifted)))
                }
            }
            start = end + 1
            number += 1
        }
        return lines
    }

    // MARK: - Implementation

    struct Failure: Error {
        var message: String
        var offset: Int
    }

    static func syntaxError(_ failure: Failure, in bytes: [UInt8]) -> JSONSyntaxError {
        var line = 1
        var lineStart = 0
        var index = 0
        let limit = min(failure.offset, bytes.count)
        while index < limit {
            if bytes[index] == UInt8(ascii: "\n") {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        return JSONSyntaxError(
            message: failure.message, offset: failure.offset, line: line, column: failure.offset - lineStart + 1)
    }

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        var depth = 0
        var scratch: [UInt8] = []

        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        mutating func parseDocument() throws -> JSONValue {
            // A UTF-8 byte order mark is tolerated (Windows exports carry one).
            if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { index = 3 }
            skipWhitespace()
            if index >= bytes.count { throw Failure(message: "the file is empty: expected a JSON value", offset: index) }
            let value = try parseValue()
            skipWhitespace()
            if index < bytes.count {
                throw Failure(message: "unexpected \(describe(bytes[index])) after the end of the JSON value", offset: index)
            }
            return value
        }

        @inline(__always)
        mutating func skipWhitespace() {
            while index < bytes.count && JSONReader.isWhitespace(bytes[index]) { index += 1 }
        }

        func describe(_ byte: UInt8) -> String {
            if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
            return "byte 0x" + String(byte, radix: 16, uppercase: true)
        }

        func unexpected(_ expected: String) -> Failure {
            if index >= bytes.count {
                return Failure(message: "unexpected end of data: expected \(expected) (is the file truncated?)", offset: index)
            }
            return Failure(message: "unexpected \(describe(bytes[index])): expected \(expected)", offset: index)
        }

        mutating func parseValue() throws -> JSONValue {
            guard index < bytes.count else { throw unexpected("a value") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return .object(try parseObject())
            case UInt8(ascii: "["): return .array(try parseArray())
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
            default: throw unexpected("a value")
            }
        }

        mutating func expectLiteral(_ literal: StaticString) throws {
            let start = index
            let count = literal.utf8CodeUnitCount
            guard bytes.count - index >= count else {
                throw Failure(message: "unexpected end of data in '\(literal)' (is the file truncated?)", offset: bytes.count)
            }
            let base = literal.utf8Start
            for k in 0..<count where bytes[index + k] != base[k] {
                throw Failure(message: "invalid literal: expected '\(literal)'", offset: start)
            }
            index += count
        }

        mutating func enter() throws {
            depth += 1
            if depth > JSONReader.maximumDepth {
                throw Failure(message: "nesting deeper than \(JSONReader.maximumDepth) levels", offset: index)
            }
        }

        mutating func parseObject() throws -> JSONObject {
            try enter()
            defer { depth -= 1 }
            index += 1
            var object = JSONObject()
            skipWhitespace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
                index += 1
                return object
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw unexpected("a member name in double quotes") }
                let key = try parseString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw unexpected("':' after a member name") }
                index += 1
                skipWhitespace()
                let value = try parseValue()
                object.members.append(JSONObject.Member(key, value))
                skipWhitespace()
                guard index < bytes.count else { throw unexpected("',' or '}'") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return object
                }
                throw unexpected("',' or '}'")
            }
        }

        mutating func parseArray() throws -> [JSONValue] {
            try enter()
            defer { depth -= 1 }
            index += 1
            var array: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
                index += 1
                return array
            }
            while true {
                skipWhitespace()
                array.append(try parseValue())
                skipWhitespace()
                guard index < bytes.count else { throw unexpected("',' or ']'") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return array
                }
                throw unexpected("',' or ']'")
            }
        }

        mutating func parseNumber() throws -> String {
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count else { throw unexpected("a digit") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
                if index < bytes.count, isDigit(bytes[index]) {
                    throw Failure(message: "leading zeros are not allowed in JSON numbers", offset: index)
                }
            } else if isDigit(bytes[index]) {
                while index < bytes.count && isDigit(bytes[index]) { index += 1 }
            } else {
                throw unexpected("a digit")
            }
            if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard index < bytes.count, isDigit(bytes[index]) else { throw unexpected("a digit after '.'") }
                while index < bytes.count && isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
                index += 1
                if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                    index += 1
                }
                guard index < bytes.count, isDigit(bytes[index]) else { throw unexpected("a digit in the exponent") }
                while index < bytes.count && isDigit(bytes[index]) { index += 1 }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }

        @inline(__always)
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

        mutating func parseString() throws -> String {
            let open = index
            index += 1
            let start = index
            // Fast path: no escapes; ASCII needs no UTF-8 validation.
            var isASCII = true
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                    index += 1
                    if isASCII { return String(decoding: slice, as: UTF8.self) }
                    guard let string = String(validating: slice, as: UTF8.self) else {
                        throw Failure(message: "invalid UTF-8 in string", offset: start)
                    }
                    return string
                }
                if byte >= 0x80 { isASCII = false }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 {
                    throw Failure(message: "unescaped control character in string (use \\n, \\t or \\u00XX)", offset: index)
                }
                index += 1
            }
            if index >= bytes.count {
                throw Failure(message: "unterminated string starting here (is the file truncated?)", offset: open)
            }
            // Slow path: escapes present.
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    guard let string = String(validating: scratch, as: UTF8.self) else {
                        throw Failure(message: "invalid UTF-8 in string", offset: start)
                    }
                    return string
                }
                if byte < 0x20 {
                    throw Failure(message: "unescaped control character in string (use \\n, \\t or \\u00XX)", offset: index)
                }
                if byte != UInt8(ascii: "\\") {
                    scratch.append(byte)
                    index += 1
                    continue
                }
                index += 1
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scratch.append(0x22)
                case UInt8(ascii: "\\"): scratch.append(0x5C)
                case UInt8(ascii: "/"): scratch.append(0x2F)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if scalar >= 0xD800 && scalar <= 0xDBFF {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                        else { throw Failure(message: "unpaired high surrogate in \\u escape", offset: index - 6) }
                        index += 2
                        let low = try parseHex4()
                        guard low >= 0xDC00 && low <= 0xDFFF else {
                            throw Failure(message: "invalid low surrogate in \\u escape", offset: index - 6)
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                        throw Failure(message: "unpaired low surrogate in \\u escape", offset: index - 6)
                    }
                    appendUTF8(scalar)
                default:
                    throw Failure(message: "invalid escape sequence '\\\(Character(Unicode.Scalar(escape)))'", offset: index - 2)
                }
            }
            throw Failure(message: "unterminated string starting here (is the file truncated?)", offset: open)
        }

        mutating func parseHex4() throws -> UInt32 {
            guard bytes.count - index >= 4 else {
                throw Failure(message: "unexpected end of data in \\u escape (is the file truncated?)", offset: index)
            }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw Failure(message: "invalid hex digit in \\u escape", offset: index)
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        mutating func appendUTF8(_ scalar: UInt32) {
            switch scalar {
            case 0..<0x80:
                scratch.append(UInt8(scalar))
            case 0x80..<0x800:
                scratch.append(UInt8(0xC0 | (scalar >> 6)))
                scratch.append(UInt8(0x80 | (scalar & 0x3F)))
            case 0x800..<0x10000:
                scratch.append(UInt8(0xE0 | (scalar >> 12)))
                scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
                scratch.append(UInt8(0x80 | (scalar & 0x3F)))
            default:
                scratch.append(UInt8(0xF0 | (scalar >> 18)))
                scratch.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
                scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
                scratch.append(UInt8(0x80 | (scalar & 0x3F)))
            }
        }
    }
}

extension JSONReader {
    /// Reads and parses a JSON file.
    ///
    /// - Throws: a `Diagnostic` naming the file: unreadable, or not JSON (with the line and column).
    public static func parseFile(_ path: String) throws(Diagnostic) -> JSONValue {
        let bytes = try FileSystem.read(path)
        do {
            return try parse(bytes)
        } catch {
            throw error.diagnostic(file: path)
        }
    }
}
