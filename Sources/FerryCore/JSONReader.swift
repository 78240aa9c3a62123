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
    /// - Parameter keeping: when given, object members whose names it does not hold are checked (a
    ///   syntax error anywhere is still an error) but left out of the value, which saves building what
    ///   nobody reads.
    public static func parse(_ bytes: some Collection<UInt8>, keeping: JSONKeySet? = nil) throws(JSONSyntaxError) -> JSONValue {
        var repeatsKeptName = false
        return try parse(bytes, keeping: keeping, repeatsKeptName: &repeatsKeptName)
    }

    /// Parses one JSON text, also telling whether an object holds a kept member name more than once.
    ///
    /// RFC 8259 leaves the meaning of a repeated name open (this reader's objects answer with the last
    /// one): a caller that must not guess looks for the repetitions (`JSONValue.repeatedMembers`) only
    /// when this says there are some, so the usual input pays one bit test per kept member.
    ///
    /// - Parameter repeatsKeptName: set to `true` when an object repeats a name of `keeping` (members
    ///   inside a value kept whole are not looked at); left alone otherwise.
    /// - Throws: `JSONSyntaxError` with the position of the first problem.
    public static func parse(
        _ bytes: some Collection<UInt8>, keeping: JSONKeySet?, repeatsKeptName: inout Bool
    ) throws(JSONSyntaxError) -> JSONValue {
        let array = Array(bytes)
        do {
            return try array.withUnsafeBufferPointer { buffer in
                guard let keeping else {
                    var parser = Parser(buffer)
                    return try parser.parseDocument()
                }
                return try keeping.withLookup { lookup in
                    var parser = Parser(buffer, keeping: lookup)
                    defer { if parser.repeatsKeptName { repeatsKeptName = true } }
                    return try parser.parseDocument()
                }
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
        /// Whether an object of the line holds a kept member name more than once (see
        /// `parse(_:keeping:repeatsKeptName:)`).
        public var repeatsKeptName = false
    }

    /// Parses JSON Lines: one value per non-blank line. A bad line does not stop the others.
    ///
    /// - Parameter keeping: as for `parse(_:keeping:)`.
    public static func parseLines(_ bytes: [UInt8], keeping: JSONKeySet? = nil) -> [Line] {
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
                    var repeats = false
                    let value = try parse(slice, keeping: keeping, repeatsKeptName: &repeats)
                    lines.append(Line(number: number, result: .success(value), repeatsKeptName: repeats))
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
        /// Member names to keep; `nil` keeps everything (also inside a member kept whole).
        var keeping: JSONKeySet.Lookup?
        /// Whether an object held a kept name more than once.
        var repeatsKeptName = false

        init(_ bytes: UnsafeBufferPointer<UInt8>, keeping: JSONKeySet.Lookup? = nil) {
            self.bytes = bytes
            self.keeping = keeping
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
            // One allocation for a typical record instead of growing 1, 2, 4, 8, 16.
            object.members.reserveCapacity(16)
            // The kept names seen in this object, by number (names past the 64th: looked for in `object`).
            var seen: UInt64 = 0
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw unexpected("a member name in double quotes") }
                var key: String?
                var keepWhole = false
                if let keeping {
                    if let entry = try memberName(in: keeping) {
                        // A kept name is the set's own string (same bytes): no string is made per member.
                        let name = keeping.names[entry]
                        key = name
                        keepWhole = keeping.whole[entry]
                        if entry < 64 {
                            let bit: UInt64 = 1 << UInt64(entry)
                            if seen & bit != 0 { repeatsKeptName = true }
                            seen |= bit
                        } else if object.members.contains(where: { $0.key == name }) {
                            repeatsKeptName = true
                        }
                    }
                } else {
                    key = try parseString()
                }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw unexpected("':' after a member name") }
                index += 1
                skipWhitespace()
                if let key {
                    let value: JSONValue
                    if keepWhole {
                        let saved = keeping
                        keeping = nil
                        defer { keeping = saved }
                        value = try parseValue()
                    } else {
                        value = try parseValue()
                    }
                    object.members.append(JSONObject.Member(key, value))
                } else {
                    try skipValue()
                }
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
            array.reserveCapacity(8)
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
            try scanNumber()
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }

        /// Steps over a number, checking it.
        mutating func scanNumber() throws {
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
        }

        @inline(__always)
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

        mutating func parseString() throws -> String {
            let open = index
            index += 1
            let start = index
            // Fast path: no escapes; ASCII needs no UTF-8 validation.
            var nonASCII = false
            index = scanPlain(from: start, sawNonASCII: &nonASCII)
            if index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                    index += 1
                    if !nonASCII { return String(decoding: slice, as: UTF8.self) }
                    guard let string = String(validating: slice, as: UTF8.self) else {
                        throw Failure(message: "invalid UTF-8 in string", offset: start)
                    }
                    return string
                }
                if byte < 0x20 {
                    throw Failure(message: "unescaped control character in string (use \\n, \\t or \\u00XX)", offset: index)
                }
                // A backslash: the slow path below.
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

        // MARK: Skipping what is not kept

        /// Reads a member name (at its opening quote) and tells whether the member is kept: the name's
        /// number in the key set (its string is `names[entry]`, kept whole when `whole[entry]`), or `nil`.
        /// Plain ASCII names are matched on their bytes, without making a string for names that are skipped.
        mutating func memberName(in keeping: JSONKeySet.Lookup) throws -> Int? {
            let start = index + 1
            var nonASCII = false
            let end = scanPlain(from: start, sawNonASCII: &nonASCII)
            if !nonASCII && end < bytes.count && bytes[end] == UInt8(ascii: "\"") {
                index = end + 1
                return keeping.entry(UnsafeBufferPointer(rebasing: bytes[start..<end]))
            }
            // Escapes, non-ASCII, control characters or no end: read it as any string (same checks, same errors).
            let name = try parseString()
            return Array(name.utf8).withUnsafeBufferPointer { keeping.entry($0) }
        }

        /// Steps over a value, checking it exactly as `parseValue` would, without building it.
        mutating func skipValue() throws {
            guard index < bytes.count else { throw unexpected("a value") }
            switch bytes[index] {
            case UInt8(ascii: "{"): try skipContainer(close: UInt8(ascii: "}"))
            case UInt8(ascii: "["): try skipContainer(close: UInt8(ascii: "]"))
            case UInt8(ascii: "\""): try skipString()
            case UInt8(ascii: "t"): try expectLiteral("true")
            case UInt8(ascii: "f"): try expectLiteral("false")
            case UInt8(ascii: "n"): try expectLiteral("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try scanNumber()
            default: throw unexpected("a value")
            }
        }

        /// Steps over an object (`close` is `}`) or an array (`]`), with the checks and messages of
        /// `parseObject` and `parseArray`.
        mutating func skipContainer(close: UInt8) throws {
            try enter()
            defer { depth -= 1 }
            let isObject = close == UInt8(ascii: "}")
            index += 1
            skipWhitespace()
            if index < bytes.count && bytes[index] == close {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                if isObject {
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw unexpected("a member name in double quotes") }
                    try skipString()
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw unexpected("':' after a member name") }
                    index += 1
                    skipWhitespace()
                }
                try skipValue()
                skipWhitespace()
                guard index < bytes.count else { throw unexpected(isObject ? "',' or '}'" : "',' or ']'") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == close {
                    index += 1
                    return
                }
                throw unexpected(isObject ? "',' or '}'" : "',' or ']'")
            }
        }

        /// Steps over a string, with the checks of `parseString` (strings with escapes are read by it).
        mutating func skipString() throws {
            let open = index
            let start = index + 1
            var nonASCII = false
            let end = scanPlain(from: start, sawNonASCII: &nonASCII)
            if end < bytes.count && bytes[end] == UInt8(ascii: "\"") {
                if nonASCII && !JSONReader.isValidUTF8(UnsafeBufferPointer(rebasing: bytes[start..<end])) {
                    throw Failure(message: "invalid UTF-8 in string", offset: start)
                }
                index = end + 1
                return
            }
            // An escape, a control character or no end: read it as any string (same checks, same errors).
            index = open
            _ = try parseString()
        }

        /// The index of the first byte from `start` on that ends a run of plain string bytes (see
        /// `PlainText.end`).
        @inline(__always)
        func scanPlain(from start: Int, sawNonASCII: inout Bool) -> Int {
            PlainText.end(of: bytes, from: start, sawNonASCII: &sawNonASCII)
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
    /// Whether `bytes` are well-formed UTF-8 (Unicode table 3-7: no overlong forms, no surrogates,
    /// nothing above U+10FFFF), the rule `String(validating:)` applies.
    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = bytes.count
        while i < n {
            let lead = bytes[i]
            if lead < 0x80 {
                i += 1
                continue
            }
            @inline(__always) func isContinuation(_ k: Int) -> Bool { bytes[k] & 0xC0 == 0x80 }
            switch lead {
            case 0xC2...0xDF:
                guard i + 1 < n, isContinuation(i + 1) else { return false }
                i += 2
            case 0xE0...0xEF:
                guard i + 2 < n else { return false }
                let second = bytes[i + 1]
                let low: UInt8 = lead == 0xE0 ? 0xA0 : 0x80
                let high: UInt8 = lead == 0xED ? 0x9F : 0xBF
                guard second >= low, second <= high, isContinuation(i + 2) else { return false }
                i += 3
            case 0xF0...0xF4:
                guard i + 3 < n else { return false }
                let second = bytes[i + 1]
                let low: UInt8 = lead == 0xF0 ? 0x90 : 0x80
                let high: UInt8 = lead == 0xF4 ? 0x8F : 0xBF
                guard second >= low, second <= high, isContinuation(i + 2), isContinuation(i + 3) else { return false }
                i += 4
            default:
                return false
            }
        }
        return true
    }
}

/// The object member names a `JSONReader` keeps: members with other names are checked and skipped.
///
/// A name is kept with its value filtered the same way at every depth, or kept *whole* (its value is
/// read completely, as a condition that tests an object must see all of it). Names are matched on their
/// UTF-8 bytes, so a skipped member costs no allocation.
public struct JSONKeySet: Sendable {
    /// Open-addressing table of name numbers (+1; 0 is empty), by hash of the name's bytes.
    private var slots: [Int32]
    /// All names' bytes, one after the other; name `i` is `bytes[offsets[i]..<offsets[i + 1]]`.
    private var bytes: [UInt8] = []
    private var offsets: [Int32] = [0]
    private var whole: [Bool] = []
    /// Name `i` as a string, handed out for every member it matches.
    private var names: [String] = []

    /// A set keeping `names`, and keeping `wholeNames` whole (a name in both is kept whole).
    public init(_ names: some Sequence<String>, wholeNames: some Sequence<String> = [String]()) {
        var all: [String: Bool] = [:]
        for name in names { all[name] = all[name] ?? false }
        for name in wholeNames { all[name] = true }
        var size = 16
        while size < all.count * 4 { size *= 2 }
        slots = Array(repeating: 0, count: size)
        for (name, isWhole) in all.sorted(by: { $0.key < $1.key }) {
            let utf8 = Array(name.utf8)
            var slot = utf8.withUnsafeBufferPointer { Self.hash($0) } & (size - 1)
            while slots[slot] != 0 { slot = (slot + 1) & (size - 1) }
            bytes += utf8
            offsets.append(Int32(bytes.count))
            whole.append(isWhole)
            self.names.append(name)
            slots[slot] = Int32(whole.count)
        }
    }

    /// Whether a name is kept.
    public func contains(_ name: String) -> Bool {
        withLookup { lookup in Array(name.utf8).withUnsafeBufferPointer { lookup.decision($0) } } != nil
    }

    /// The set's tables as plain pointers, valid inside `body`: a parser consults them for every member,
    /// and copying the arrays instead would cost a reference count each time.
    func withLookup<R>(_ body: (Lookup) throws -> R) rethrows -> R {
        try slots.withUnsafeBufferPointer { slots in
            try bytes.withUnsafeBufferPointer { bytes in
                try offsets.withUnsafeBufferPointer { offsets in
                    try whole.withUnsafeBufferPointer { whole in
                        try names.withUnsafeBufferPointer { names in
                            try body(Lookup(slots: slots, bytes: bytes, offsets: offsets, whole: whole, names: names))
                        }
                    }
                }
            }
        }
    }

    /// A borrowed view of a key set's tables.
    struct Lookup {
        let slots: UnsafeBufferPointer<Int32>
        let bytes: UnsafeBufferPointer<UInt8>
        let offsets: UnsafeBufferPointer<Int32>
        let whole: UnsafeBufferPointer<Bool>
        let names: UnsafeBufferPointer<String>

        /// `nil` when the name is not kept; otherwise whether it is kept whole.
        func decision(_ name: UnsafeBufferPointer<UInt8>) -> Bool? {
            entry(name).map { whole[$0] }
        }

        /// The number of the kept name with these bytes (an index into `whole` and `names`), or `nil`.
        @inline(__always)
        func entry(_ name: UnsafeBufferPointer<UInt8>) -> Int? {
            let mask = slots.count - 1
            var slot = JSONKeySet.hash(name) & mask
            while true {
                let entry = Int(slots[slot])
                if entry == 0 { return nil }
                let start = Int(offsets[entry - 1])
                let end = Int(offsets[entry])
                if end - start == name.count {
                    var k = 0
                    while k < name.count && bytes[start + k] == name[k] { k += 1 }
                    if k == name.count { return entry - 1 }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// A cheap hash of a name: its length and three of its bytes (collisions are settled by comparing
    /// the bytes; a template names a few dozen members).
    @inline(__always)
    fileprivate static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let n = bytes.count
        guard n > 0 else { return 0 }
        return n &* 0x9E37 ^ Int(bytes[0]) &* 0x3B ^ Int(bytes[n / 2]) &* 0x1F3 ^ Int(bytes[n - 1]) &* 0x7
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

/// Finding where a run of string bytes that need no escaping ends, eight bytes at a time: most strings
/// are long runs of Chinese text with nothing to stop at. Shared by the reader and the writer.
enum PlainText {
    /// The index of the first byte from `start` on that is a quote, a backslash or a control character
    /// (below 0x20), or `bytes.count`. Sets `sawNonASCII` when a byte of 0x80 or above comes before it.
    @inline(__always)
    static func end(of bytes: UnsafeBufferPointer<UInt8>, from start: Int, sawNonASCII: inout Bool) -> Int {
        let n = bytes.count
        guard start < n, let base = bytes.baseAddress else { return n }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var high: UInt64 = 0
        var i = start
        while n - i >= 8 {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
            // The high bit of each byte that is '"', '\\' or below 0x20. Bytes above the first such byte
            // may be flagged wrongly (a borrow), the lowest flagged one never is.
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let stops = ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (word &- ones &* 0x20) & ~word) & highs
            if stops != 0 {
                let before = stops.trailingZeroBitCount / 8
                if before > 0 { high |= word & (UInt64.max >> UInt64(64 - 8 * before)) & highs }
                if high != 0 { sawNonASCII = true }
                return i + before
            }
            high |= word & highs
            i += 8
        }
        if high != 0 { sawNonASCII = true }
        while i < n {
            let byte = base[i]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { return i }
            if byte >= 0x80 { sawNonASCII = true }
            i += 1
        }
        return n
    }
}
