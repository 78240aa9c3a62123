import Foundation

extension JSONReader {
    /// Reads the JSON object in the file at `path` a piece at a time and hands `body` each element of the
    /// arrays that are its top-level members named in `arrays` (with that name), each element parsed on
    /// its own; everything else is only scanned for its structure.
    ///
    /// Memory holds one element and a read buffer, never the file: this is for files that list every
    /// document of a run, such as a transform's `manifest.json` (115 MB for a 1 GiB corpus), read back to
    /// learn what an earlier run wrote.
    ///
    /// - Parameters:
    ///   - keeping: as for `parse(_:keeping:)`, applied to each element.
    /// - Returns: the names of `arrays` the object has (an empty array counts; a member of another type
    ///   does not), so that a caller can tell an empty list from a missing one.
    /// - Throws: a `Diagnostic` naming the file and the line: unreadable, not an object, an element that is
    ///   not JSON or is not an object or array, or a file that ends inside a value.
    @discardableResult
    public static func forEachElement(
        inFile path: String, ofArrays arrays: Set<String>, keeping: JSONKeySet? = nil, _ body: (String, JSONValue) -> Void
    ) throws(Diagnostic) -> Set<String> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .error("cannot read (\(String(cString: strerror(errno))))", file: path) }
        defer { close(fd) }
        var scanner = ElementScanner(arrays: arrays)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .error("cannot read (\(String(cString: strerror(errno))))", file: path)
            }
            if n == 0 { break }
            try buffer.withUnsafeBufferPointer { (all) throws(Diagnostic) in
                try scanner.scan(UnsafeBufferPointer(rebasing: all[0..<n]), file: path, keeping: keeping, body)
            }
        }
        try scanner.finish(file: path)
        return scanner.found
    }

    /// The state of `forEachElement` between reads: where it is in the object's structure, and the bytes
    /// of the element being collected.
    struct ElementScanner {
        let arrays: Set<String>
        var depth = 0
        var line = 1
        var inString = false
        var escaped = false
        var started = false
        /// At the top level, whether the next string is a member name.
        var expectName = false
        var name: [UInt8]?
        var member: String?
        /// Inside one of the wanted arrays (depth 2).
        var inWantedArray = false
        /// The wanted arrays met so far.
        var found: Set<String> = []
        var element: [UInt8]?
        var elementLine = 0

        init(arrays: Set<String>) {
            self.arrays = arrays
        }

        /// Scans one piece of the file. An element is copied a slice at a time (from where it starts in this
        /// piece to where it ends, or to the piece's end), and the inside of a string is skipped to the next
        /// quote, backslash or line break: a byte-at-a-time copy read a 1 GiB run's manifest at ~50 MB/s.
        mutating func scan(
            _ bytes: UnsafeBufferPointer<UInt8>, file: String, keeping: JSONKeySet?, _ body: (String, JSONValue) -> Void
        ) throws(Diagnostic) {
            let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
            let count = bytes.count
            /// Where the element being collected starts in this piece (0: it began in an earlier one).
            var start: Int? = element == nil ? nil : 0
            var i = 0
            while i < count {
                if inString && !escaped && name == nil {
                    while i < count, bytes[i] != quote, bytes[i] != backslash, bytes[i] != 0x0A { i += 1 }
                    if i == count { break }
                }
                let index = i
                let byte = bytes[index]
                i += 1
                if byte == 0x0A { line += 1 }
                if inString {
                    if escaped {
                        escaped = false
                    } else if byte == backslash {
                        escaped = true
                    } else if byte == quote {
                        inString = false
                        if let text = name {
                            name = nil
                            member = (try? JSONReader.parse([quote] + text + [quote]))?.stringValue
                            continue
                        }
                    }
                    name?.append(byte)
                    continue
                }
                switch byte {
                case quote:
                    if depth == 2 && inWantedArray && element == nil { throw notAContainer(file) }
                    inString = true
                    if depth == 1 && expectName { name = [] }
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    if depth == 0 {
                        guard byte == UInt8(ascii: "{"), !started else {
                            throw .error("expected one JSON object", file: file, line: line)
                        }
                        started = true
                        expectName = true
                    }
                    if depth == 2 && inWantedArray && element == nil {
                        element = []
                        start = index
                        elementLine = line
                    }
                    depth += 1
                    if depth == 2 && byte == UInt8(ascii: "["), let member, arrays.contains(member) {
                        inWantedArray = true
                        found.insert(member)
                    }
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth < 0 { throw .error("unexpected '\(Character(Unicode.Scalar(byte)))'", file: file, line: line) }
                    if depth == 2, var collected = element {
                        element = nil
                        collected.append(contentsOf: bytes[start!...index])
                        start = nil
                        do {
                            body(member ?? "", try JSONReader.parse(collected, keeping: keeping))
                        } catch {
                            throw .error(error.message, file: file, line: elementLine + error.line - 1)
                        }
                    }
                    if depth == 1 { inWantedArray = false }
                case UInt8(ascii: ","):
                    if depth == 1 { expectName = true }
                case UInt8(ascii: ":"):
                    if depth == 1 { expectName = false }
                case 0x20, 0x0A, 0x0D, 0x09:
                    break
                default:
                    if depth == 0 { throw .error("expected one JSON object", file: file, line: line) }
                    if depth == 2 && inWantedArray && element == nil { throw notAContainer(file) }
                }
            }
            if let start, element != nil { element!.append(contentsOf: bytes[start...]) }
        }

        func notAContainer(_ file: String) -> Diagnostic {
            .error("'\(member ?? "")' should hold objects or arrays", file: file, line: line)
        }

        func finish(file: String) throws(Diagnostic) {
            if !started || depth != 0 || inString {
                throw .error("unexpected end of data (is the file truncated?)", file: file, line: line)
            }
        }
    }
}
