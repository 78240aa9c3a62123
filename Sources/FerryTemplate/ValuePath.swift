import FerryCore

/// A path into a source document: `stockin_no`, `details_list`, `../warehouse_no`, `a.b[0].c`.
///
/// Inside `<entries>`, a path is relative to the current element; each leading `../` steps out to the
/// enclosing document (the order, from inside a line).
public struct ValuePath: Sendable, Hashable, CustomStringConvertible {
    /// One step of a path.
    public enum Segment: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    /// How many enclosing levels to step out first.
    public var parentLevels: Int
    /// The steps, after stepping out.
    public var segments: [Segment]
    /// The path as written.
    public var text: String

    /// The path as written.
    public var description: String { text }

    /// Why a path is not valid.
    public struct SyntaxError: Error, Sendable {
        /// What is wrong.
        public var message: String
    }

    /// Parses a path.
    ///
    /// - Throws: `SyntaxError` for an empty path, an empty step, `..` after the start, or a bad index.
    public init(parsing text: String) throws(SyntaxError) {
        self.text = text
        var rest = Substring(text)
        var levels = 0
        while rest.hasPrefix("../") {
            levels += 1
            rest = rest.dropFirst(3)
        }
        parentLevels = levels
        guard !rest.isEmpty else { throw SyntaxError(message: "'\(text)' names no field") }
        var segments: [Segment] = []
        for piece in rest.split(separator: ".", omittingEmptySubsequences: false) {
            guard !piece.isEmpty else { throw SyntaxError(message: "'\(text)' has an empty step (two dots, or a dot at an end)") }
            if piece == ".." { throw SyntaxError(message: "'\(text)': '..' may only start a path, as '../name'") }
            var name = piece
            var indexes: [Int] = []
            while name.hasSuffix("]") {
                guard let open = name.lastIndex(of: "[") else {
                    throw SyntaxError(message: "'\(text)' has a ']' without '['")
                }
                guard let index = Int(name[name.index(after: open)..<name.index(before: name.endIndex)]), index >= 0 else {
                    throw SyntaxError(message: "'\(text)': an index must be a whole number, as in 'details_list[0]'")
                }
                indexes.insert(index, at: 0)
                name = name[..<open]
            }
            guard !name.isEmpty else { throw SyntaxError(message: "'\(text)' has an index without a field name") }
            for ch in name where ch == "[" || ch == "]" || ch == "{" || ch == "}" || ch == "/" || ch.isWhitespace {
                throw SyntaxError(message: "'\(text)' contains '\(ch)', which cannot appear in a field name")
            }
            segments.append(.key(String(name)))
            segments.append(contentsOf: indexes.map(Segment.index))
        }
        self.segments = segments
    }

    /// The path of the top-level field it starts with (for checks against known source fields).
    public var firstKey: String? {
        if case .key(let key) = segments.first { return key }
        return nil
    }

    /// The value at this path in a stack of enclosing values (outermost first, current last), or `nil`
    /// when a step is missing or steps through a non-container. The fast path of the transform.
    public func value(in stack: [JSONValue]) -> JSONValue? {
        let level = stack.count - 1 - parentLevels
        guard level >= 0 else { return nil }
        var current: JSONValue? = stack[level]
        for segment in segments {
            switch segment {
            case .key(let key):
                current = current?[key]
            case .index(let index):
                if let array = current?.arrayValue, index < array.count {
                    current = array[index]
                } else {
                    current = nil
                }
            }
        }
        return current
    }

    /// The JSON path this path names, built from `basePaths` (one per stack level): for messages only.
    public func jsonPath(basePaths: [String]) -> String {
        let level = basePaths.count - 1 - parentLevels
        guard level >= 0 else { return text }
        var jsonPath = basePaths[level]
        for segment in segments {
            switch segment {
            case .key(let key): jsonPath += "." + key
            case .index(let index): jsonPath += "[\(index)]"
            }
        }
        return jsonPath
    }

    /// Resolves the path against a stack of enclosing values (outermost first, current last).
    ///
    /// - Returns: the value, or `nil` when a step is missing or steps through a non-container; also the
    ///   JSON path of what was looked up, built from `basePaths` (one per stack level).
    public func resolve(in stack: [JSONValue], basePaths: [String]) -> (value: JSONValue?, jsonPath: String) {
        let level = stack.count - 1 - parentLevels
        guard level >= 0 else { return (nil, text) }
        var current: JSONValue? = stack[level]
        var jsonPath = basePaths[level]
        for segment in segments {
            switch segment {
            case .key(let key):
                jsonPath += "." + key
                current = current?[key]
            case .index(let index):
                jsonPath += "[\(index)]"
                if let array = current?.arrayValue, index < array.count {
                    current = array[index]
                } else {
                    current = nil
                }
            }
        }
        return (current, jsonPath)
    }
}

/// A string with placeholders: `旺店通入库单 {stockin_no} {order_type_name}`, `{$org_number}` for settings,
/// `{{` and `}}` for literal braces.
///
/// When a placeholder is empty, it is dropped together with the space before it (or after it, at the
/// start), so `"A {missing} B"` renders as `"A B"`.
public struct StringTemplate: Sendable, Hashable {
    /// One piece of the template.
    public enum Part: Sendable, Hashable {
        case literal(String)
        case path(ValuePath)
        case setting(String)
    }

    /// The pieces in order.
    public var parts: [Part]
    /// The template as written.
    public var text: String

    /// Parses a template.
    ///
    /// - Throws: `ValuePath.SyntaxError` for an unclosed or empty placeholder or a bad path inside one.
    public init(parsing text: String) throws(ValuePath.SyntaxError) {
        self.text = text
        var parts: [Part] = []
        var literal = ""
        var i = text.startIndex
        while i < text.endIndex {
            let ch = text[i]
            let next = text.index(after: i)
            if ch == "{" && next < text.endIndex && text[next] == "{" {
                literal.append("{")
                i = text.index(after: next)
                continue
            }
            if ch == "}" && next < text.endIndex && text[next] == "}" {
                literal.append("}")
                i = text.index(after: next)
                continue
            }
            if ch == "}" {
                throw ValuePath.SyntaxError(message: "template '\(text)' has a '}' without '{' (write '}}' for a literal brace)")
            }
            if ch == "{" {
                guard let close = text[next...].firstIndex(of: "}") else {
                    throw ValuePath.SyntaxError(message: "template '\(text)' has a '{' that is never closed")
                }
                let inner = String(text[next..<close]).trimmingCharactersInSpaces()
                guard !inner.isEmpty else {
                    throw ValuePath.SyntaxError(message: "template '\(text)' has an empty placeholder '{}'")
                }
                if !literal.isEmpty {
                    parts.append(.literal(literal))
                    literal = ""
                }
                if inner.hasPrefix("$") {
                    let name = String(inner.dropFirst()).trimmingCharactersInSpaces()
                    guard !name.isEmpty else {
                        throw ValuePath.SyntaxError(
                            message: "template '\(text)' has a setting placeholder '{$}' without a name (write '{$NAME}')")
                    }
                    parts.append(.setting(name))
                } else {
                    parts.append(.path(try ValuePath(parsing: inner)))
                }
                i = text.index(after: close)
                continue
            }
            literal.append(ch)
            i = next
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    /// Renders the template with placeholder values (`nil` or empty values are dropped with one space).
    public func render(_ value: (Part) -> String?) -> String {
        var out = ""
        var dropLeadingSpace = false
        for part in parts {
            switch part {
            case .literal(var text):
                if dropLeadingSpace && text.hasPrefix(" ") { text.removeFirst() }
                dropLeadingSpace = false
                out += text
            case .path, .setting:
                let text = value(part) ?? ""
                if !text.isEmpty {
                    out += text
                    dropLeadingSpace = false
                } else if out.hasSuffix(" ") {
                    out.removeLast()
                } else if out.isEmpty {
                    dropLeadingSpace = true
                }
            }
        }
        return out
    }
}
