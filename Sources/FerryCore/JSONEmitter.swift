/// Writes JSON as it is produced, without building a `JSONValue` first: the same bytes as
/// `JSONWriter(style: .pretty).bytes(_:)` gives for the value described by the same calls.
///
/// The transform maps every document field by field; writing each member as it is mapped, instead of
/// building a tree that the writer then walks (and that is freed after), saves most of the output's
/// allocations. Containers open lazily, so an object or array that gets no members is written `{}`/`[]`,
/// as `JSONWriter` does.
///
/// ```swift
/// var emitter = JSONEmitter()
/// emitter.beginObject()
/// emitter.key("FBillNo"); emitter.value(.string("RK1"))
/// emitter.key("FEntity"); emitter.beginArray()
/// emitter.element(); emitter.value(.number("1"))
/// emitter.endArray()
/// emitter.endObject()
/// let bytes = emitter.finish()   // == JSONWriter().bytes(["FBillNo": "RK1", "FEntity": [1]])
/// ```
public struct JSONEmitter: Sendable {
    private var out: [UInt8] = []
    /// Members or elements written so far in each open container, innermost last.
    private var counts: [Int] = []
    private let writer = JSONWriter(style: .pretty)
    /// The nesting level of the value written (0 for a whole document).
    private let indent: Int

    /// Starts an empty output.
    public init(capacity: Int = 2048) {
        out.reserveCapacity(capacity)
        indent = 0
    }

    /// Continues `buffer` (which is left empty until `finish(into:)` gives it back) with a value nested
    /// `indent` levels deep: the bytes `JSONWriter(style: .pretty).write(_:into:indent:)` appends.
    public init(appendingTo buffer: inout [UInt8], indent: Int) {
        swap(&out, &buffer)
        self.indent = indent
    }

    /// Opens an object (as the value of the current key or element, or as the top-level value).
    public mutating func beginObject() {
        out.append(UInt8(ascii: "{"))
        counts.append(0)
    }

    /// Closes the innermost object.
    public mutating func endObject() {
        close(UInt8(ascii: "}"))
    }

    /// Opens an array.
    public mutating func beginArray() {
        out.append(UInt8(ascii: "["))
        counts.append(0)
    }

    /// Closes the innermost array.
    public mutating func endArray() {
        close(UInt8(ascii: "]"))
    }

    /// Starts the member `key` of the innermost object; its value follows.
    public mutating func key(_ key: String) {
        separate()
        JSONWriter.writeString(key, into: &out)
        out.append(UInt8(ascii: ":"))
        out.append(0x20)
    }

    /// The bytes `key(_:)` writes after the separator: the quoted, escaped name, a colon and a space
    /// (what a `Key` holds).
    private static func encodedKey(_ key: String) -> [UInt8] {
        var bytes: [UInt8] = []
        JSONWriter.writeString(key, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
        bytes.append(0x20)
        return bytes
    }

    /// A member name encoded once, for a name written again and again (a template's output fields, a
    /// manifest entry's members): pass `bytes` to `key(encoded:)`. Immutable. The bytes are freed with
    /// the key: keep it where it outlives the writing (a `static let`, a plan's `let`), or use
    /// `withExtendedLifetime`.
    ///
    /// A key can also hold a whole member whose value never changes (`init(_:value:depth:)`), written
    /// with `member(encoded:depth:)`: a template's constant fields are the same bytes in every payload.
    public final class Key: @unchecked Sendable {
        /// The name.
        public let name: String
        /// `encodedKey(name)`, owned by the key; for a whole member, followed by the value's bytes.
        public let bytes: UnsafeBufferPointer<UInt8>

        /// Encodes `name`.
        public convenience init(_ name: String) {
            self.init(name, encoded: JSONEmitter.encodedKey(name))
        }

        /// Encodes the member `"name": value`, its value laid out as `value(_:)` writes it where the
        /// emitter's `depth` is `depth`.
        public convenience init(_ name: String, value: JSONValue, depth: Int) {
            var encoded = JSONEmitter.encodedKey(name)
            JSONWriter(style: .pretty).write(value, into: &encoded, indent: depth)
            self.init(name, encoded: encoded)
        }

        /// Joins whole members (`init(_:value:depth:)`, all for `depth`) into one, written with one
        /// `member(encoded:depth:)`: the same bytes as writing each in turn. Its name is theirs, joined by
        /// commas.
        public convenience init(joining members: [Key], depth: Int) {
            var encoded: [UInt8] = []
            for (i, member) in members.enumerated() {
                if i > 0 {
                    encoded.append(UInt8(ascii: ","))
                    JSONWriter.newline(&encoded, indent: depth)
                }
                encoded.append(contentsOf: member.bytes)
            }
            self.init(members.map(\.name).joined(separator: ", "), encoded: encoded)
        }
        private init(_ name: String, encoded: [UInt8]) {
            self.name = name
            let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: encoded.count)
            _ = buffer.initialize(from: encoded)
            bytes = UnsafeBufferPointer(buffer)
        }

        deinit { bytes.deallocate() }
    }

    /// The nesting level a value written now is laid out for: what `Key(_:value:depth:)` needs to know.
    public var depth: Int { indent + counts.count }

    /// Writes a whole member, the `bytes` of a `Key(_:value:depth:)` (which the caller keeps alive): the
    /// same bytes as `key(name)` followed by `value(value)`; or the members a `Key(joining:depth:)` holds.
    /// The emitter must be at the `depth` the member was encoded for.
    public mutating func member(encoded bytes: UnsafeBufferPointer<UInt8>, depth: Int) {
        assert(depth == self.depth, "JSONEmitter.member encoded for depth \(depth), written at \(self.depth)")
        separate()
        out.append(contentsOf: bytes)
    }

    /// Writes `{"key": value}`, `key` being the `bytes` of a `Key` (which the caller keeps alive): the same
    /// bytes as `beginObject()`, `key(encoded: key)`, `value(value)`, `endObject()`, without opening a
    /// container. (Kingdee wraps every reference in a one-member object, `{"FNumber": …}`.)
    public mutating func value(_ value: JSONValue, wrappedIn key: UnsafeBufferPointer<UInt8>) {
        let level = depth
        out.append(UInt8(ascii: "{"))
        JSONWriter.newline(&out, indent: level + 1)
        out.append(contentsOf: key)
        writer.write(value, into: &out, indent: level + 1)
        JSONWriter.newline(&out, indent: level)
        out.append(UInt8(ascii: "}"))
    }

    /// Makes room for `capacity` bytes in all (an emitter copied from one that holds a common opening
    /// gets a buffer of its own here, once).
    public mutating func reserveCapacity(_ capacity: Int) {
        out.reserveCapacity(capacity)
    }

    /// Starts a member whose name a `Key` encoded (its `bytes`); the same bytes as `key(_:)`.
    /// (A buffer rather than an array: it is written for every field of every document, and passing an
    /// array costs a reference count each time.)
    public mutating func key(encoded: UnsafeBufferPointer<UInt8>) {
        separate()
        out.append(contentsOf: encoded)
    }

    /// Starts the next element of the innermost array; its value follows.
    public mutating func element() {
        separate()
    }

    /// Writes a whole value (after `key`, `element`, or as the top-level value).
    public mutating func value(_ value: JSONValue) {
        writer.write(value, into: &out, indent: indent + counts.count)
    }

    /// The bytes, with the final newline `JSONWriter` writes. Every container must be closed.
    public mutating func finish() -> [UInt8] {
        precondition(counts.isEmpty, "JSONEmitter.finish with \(counts.count) container(s) open")
        out.append(0x0A)
        return out
    }

    /// Gives the buffer `init(appendingTo:indent:)` took back to `buffer`, with the value appended (no
    /// final newline, as `JSONWriter.write(_:into:indent:)`). Every container must be closed.
    public mutating func finish(into buffer: inout [UInt8]) {
        precondition(counts.isEmpty, "JSONEmitter.finish with \(counts.count) container(s) open")
        swap(&out, &buffer)
    }

    private mutating func separate() {
        if counts[counts.count - 1] > 0 { out.append(UInt8(ascii: ",")) }
        counts[counts.count - 1] += 1
        newline(indent + counts.count)
    }

    private mutating func close(_ bracket: UInt8) {
        let members = counts.removeLast()
        if members > 0 { newline(indent + counts.count) }
        out.append(bracket)
    }

    private mutating func newline(_ indent: Int) {
        JSONWriter.newline(&out, indent: indent)
    }
}
