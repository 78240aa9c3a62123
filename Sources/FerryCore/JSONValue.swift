/// A JSON value that keeps what matters for money and for reproducible files.
///
/// Numbers keep their exact source text (`12.30` stays `12.30`; nothing passes through `Double`), and
/// objects keep their members in order, so writing a value back gives the same keys in the same order.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number, as the exact text of a JSON number (`-12.30`, `1e3`).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The member named `key`, when this is an object that has it.
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// The object, when this is one.
    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    /// The string, when this is one.
    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    /// A scalar as text: strings as they are, numbers in their source form, booleans as `true`/`false`.
    /// `nil` for null, arrays and objects.
    public var scalarText: String? {
        switch self {
        case .string(let s): return s
        case .number(let n): return n
        case .bool(let b): return b ? "true" : "false"
        case .null, .array, .object: return nil
        }
    }

    /// The JSON paths of the members whose name appears more than once in their object, below `path`
    /// (the path of this value), an object's own before those inside its values: each repeated name
    /// once. JSON does not say which of two same-named members counts (`JSONObject` answers with the
    /// last), so a reader of money and quantities names them instead of choosing.
    public func repeatedMembers(at path: String) -> [String] {
        var found: [String] = []
        collectRepeatedMembers(at: path, into: &found)
        return found
    }

    private func collectRepeatedMembers(at path: String, into found: inout [String]) {
        switch self {
        case .object(let object):
            var seen: Set<String> = []
            var reported: Set<String> = []
            for member in object.members {
                if !seen.insert(member.key).inserted, reported.insert(member.key).inserted {
                    found.append(path + "." + member.key)
                }
            }
            for member in object.members {
                member.value.collectRepeatedMembers(at: path + "." + member.key, into: &found)
            }
        case .array(let elements):
            for (i, element) in elements.enumerated() {
                element.collectRepeatedMembers(at: "\(path)[\(i)]", into: &found)
            }
        case .null, .bool, .number, .string:
            break
        }
    }

    /// A short name of the value's kind, for messages ("a string", "an object").
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A JSON object whose members keep their order.
///
/// Looking up a key that occurs twice finds the last occurrence, as most JSON readers do.
public struct JSONObject: Sendable, Hashable {
    /// One `"key": value` member.
    public struct Member: Sendable, Hashable {
        /// The member's key.
        public var key: String
        /// The member's value.
        public var value: JSONValue

        /// Creates a member.
        public init(_ key: String, _ value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The members, in order.
    public var members: [Member]

    /// Creates an object from members in the order given.
    public init(_ members: [Member] = []) {
        self.members = members
    }

    /// The value of the last member named `key`.
    public subscript(key: String) -> JSONValue? {
        var index = members.endIndex
        while index > members.startIndex {
            index -= 1
            if members[index].key == key { return members[index].value }
        }
        return nil
    }

    /// Appends a member (the caller keeps keys unique when it matters).
    public mutating func append(_ key: String, _ value: JSONValue) {
        members.append(Member(key, value))
    }

    /// Replaces the value of `key`, or appends it when absent.
    public mutating func set(_ key: String, _ value: JSONValue) {
        if let index = members.lastIndex(where: { $0.key == key }) {
            members[index].value = value
        } else {
            members.append(Member(key, value))
        }
    }

    /// Whether the object has no members.
    public var isEmpty: Bool { members.isEmpty }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByIntegerLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { JSONObject.Member($0.0, $0.1) }))
    }
}
