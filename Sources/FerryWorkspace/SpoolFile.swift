import FerryCore
import FerryTransform
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A temporary file that holds what the manifest will list, so a run's memory does not grow with the
/// number of documents.
///
/// The file holds frames (record index, byte count, bytes) appended through a buffer, read back one by
/// offset or all in order. It is unlinked as soon as it is created: the open descriptor keeps it alive,
/// it never shows in the directory, and a run that is killed leaves nothing behind.
final class SpoolFile {
    private var fd: Int32
    private let path: String
    private var buffer: [UInt8] = []
    /// Bytes already written to the file; the buffer's bytes follow them.
    private var flushed = 0
    private static let bufferSize = 1 << 20
    /// A frame's header: the record index (8 bytes) and the byte count (4 bytes), little-endian.
    private static let headerSize = 12

    /// Creates an unlinked spool file in `directory`.
    ///
    /// - Throws: a `Diagnostic` when the file cannot be created.
    init(directory: String) throws(Diagnostic) {
        path = directory + "/.ferry-spool-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.ioError("cannot create the temporary file", path) }
        unlink(path)
        buffer.reserveCapacity(Self.bufferSize)
    }

    deinit { close(fd) }

    /// Appends one frame whose bytes `encode` appends to the buffer it is given (and must not otherwise
    /// change), and returns its offset (for `frame(at:)`): no array is made per frame.
    ///
    /// - Throws: a `Diagnostic` when the file cannot be written.
    @discardableResult
    func append(index: Int, encoding encode: (inout [UInt8]) -> Void) throws(Diagnostic) -> Int {
        let offset = flushed + buffer.count
        Self.appendInteger(UInt64(index), bytes: 8, to: &buffer)
        let countAt = buffer.count
        Self.appendInteger(0, bytes: 4, to: &buffer)
        encode(&buffer)
        let count = buffer.count - countAt - 4
        for i in 0..<4 { buffer[countAt + i] = UInt8(truncatingIfNeeded: count >> (8 * i)) }
        if buffer.count >= Self.bufferSize { try flush() }
        return offset
    }

    /// The bytes of the frame that `append` put at `offset`.
    ///
    /// - Throws: a `Diagnostic` when the file cannot be read.
    func frame(at offset: Int) throws(Diagnostic) -> [UInt8] {
        if offset >= flushed {
            let start = offset - flushed
            let count = Self.integer(buffer, at: start + 8, bytes: 4)
            return Array(buffer[(start + Self.headerSize)..<(start + Self.headerSize + count)])
        }
        let header = try read(at: offset, count: Self.headerSize)
        return try read(at: offset + Self.headerSize, count: Self.integer(header, at: 8, bytes: 4))
    }

    /// Calls `body` with every frame's record index and bytes, in the order they were appended.
    ///
    /// - Throws: a `Diagnostic` when the file cannot be read, or what `body` throws.
    func forEachFrame(_ body: (_ index: Int, _ bytes: ArraySlice<UInt8>) throws(Diagnostic) -> Void) throws(Diagnostic) {
        // The frames already in the file, read back a chunk at a time, then those still in the buffer
        // (which is not written out only to be read back: a frame never straddles the two, as the
        // buffer is flushed whole, after a complete frame).
        var chunk: [UInt8] = []
        var start = 0
        var offset = 0
        var needed = Self.headerSize
        while offset < flushed {
            chunk.removeFirst(start)
            start = 0
            let more = try read(at: offset, count: min(max(Self.bufferSize, needed), flushed - offset))
            chunk += more
            offset += more.count
            needed = try Self.frames(in: chunk, from: &start, body)
        }
        guard start == chunk.count else { throw .error("the temporary file ends inside a record", file: path) }
        var bufferStart = 0
        _ = try Self.frames(in: buffer, from: &bufferStart, body)
    }

    /// Calls `body` with each complete frame of `bytes` from `start` on and moves `start` past them;
    /// returns how many bytes from `start` the next frame needs.
    private static func frames(
        in bytes: [UInt8], from start: inout Int, _ body: (_ index: Int, _ bytes: ArraySlice<UInt8>) throws(Diagnostic) -> Void
    ) throws(Diagnostic) -> Int {
        while bytes.count - start >= headerSize {
            let needed = headerSize + integer(bytes, at: start + 8, bytes: 4)
            guard bytes.count - start >= needed else { return needed }
            try body(integer(bytes, at: start, bytes: 8), bytes[(start + headerSize)..<(start + needed)])
            start += needed
        }
        return headerSize
    }

    private func flush() throws(Diagnostic) {
        var written = 0
        while written < buffer.count {
            let n = buffer.withUnsafeBytes { raw in pwrite(fd, raw.baseAddress! + written, raw.count - written, off_t(flushed + written)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.ioError("cannot write the temporary file", path)
            }
            written += n
        }
        flushed += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    private func read(at offset: Int, count: Int) throws(Diagnostic) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { raw in pread(fd, raw.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.ioError("cannot read the temporary file", path)
            }
            if n == 0 { throw .error("the temporary file is shorter than expected", file: path) }
            done += n
        }
        return bytes
    }

    private static func appendInteger(_ value: UInt64, bytes: Int, to out: inout [UInt8]) {
        for shift in stride(from: 0, to: bytes * 8, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private static func integer(_ bytes: [UInt8], at offset: Int, bytes count: Int) -> Int {
        var value = 0
        for i in 0..<count { value |= Int(bytes[offset + i]) << (8 * i) }
        return value
    }

    private static func ioError(_ what: String, _ path: String) -> Diagnostic {
        .error("\(what): \(String(cString: strerror(errno)))", file: path)
    }
}

/// What deduplication and the manifest's `duplicates` section need to know again about a document after
/// it was absorbed. Kept in a `SpoolFile`, not in memory: it is read back only for keys seen more than once.
struct DocumentDetails {
    /// What became of the document.
    enum Kind: UInt8 {
        case bill, rejected, filtered
        /// A version that lost to one read earlier: never written.
        case superseded
    }

    var kind: Kind
    var version: String?
    var origin: DocumentOrigin
    /// The payload or reject file written for it.
    var fileName: String?
    /// Entry lines dropped by entry filters (payloads only).
    var droppedLines = 0
    /// The payload's bill-number claim (`OutputCollector.claims`) when it is not its base name lowercased.
    var claim: String?

    /// Appends the bytes `init(decoding:)` reads back.
    func encode(into out: inout [UInt8]) {
        out.append(kind.rawValue)
        SpoolRecord.append(droppedLines, to: &out)
        SpoolRecord.append(origin.line ?? -1, to: &out)
        SpoolRecord.append(version, to: &out)
        SpoolRecord.append(fileName, to: &out)
        SpoolRecord.append(origin.file, to: &out)
        SpoolRecord.append(origin.jsonPath, to: &out)
        SpoolRecord.append(claim, to: &out)
    }

    init(
        kind: Kind, version: String?, origin: DocumentOrigin, fileName: String? = nil, droppedLines: Int = 0, claim: String? = nil
    ) {
        self.kind = kind
        self.version = version
        self.origin = origin
        self.fileName = fileName
        self.droppedLines = droppedLines
        self.claim = claim
    }

    /// Reads what `encoded` wrote. (The origin's file index and position are not kept: the manifest does not list them.)
    init(decoding bytes: [UInt8]) {
        var record = SpoolRecord(bytes, from: 1)
        kind = Kind(rawValue: bytes[0]) ?? .superseded
        droppedLines = record.integer()
        let line = record.integer()
        version = record.text()
        fileName = record.text()
        let file = record.text() ?? ""
        let jsonPath = record.text() ?? ""
        claim = record.text()
        origin = DocumentOrigin(file: file, jsonPath: jsonPath, line: line < 0 ? nil : line, fileIndex: 0, position: 0)
    }
}

/// A bill rejected only because another key held its bill number, kept (in a `SpoolFile`) in case that
/// key's newer version gives the number up.
struct WaitingBill {
    var key: String?
    var number: String
    /// The holder its reject file names.
    var holder: String
    var sha256: String
    var lines: Int
    var dropped: Int
    var payload: [UInt8]

    init(key: String?, number: String, holder: String, sha256: String, lines: Int, dropped: Int, payload: [UInt8]) {
        self.key = key
        self.number = number
        self.holder = holder
        self.sha256 = sha256
        self.lines = lines
        self.dropped = dropped
        self.payload = payload
    }

    /// Appends the bytes `init(decoding:)` reads back.
    func encode(into out: inout [UInt8]) {
        SpoolRecord.append(key, to: &out)
        SpoolRecord.append(number, to: &out)
        SpoolRecord.append(holder, to: &out)
        SpoolRecord.append(sha256, to: &out)
        SpoolRecord.append(lines, to: &out)
        SpoolRecord.append(dropped, to: &out)
        SpoolRecord.append(data: payload, to: &out)
    }

    init(decoding bytes: [UInt8]) {
        var record = SpoolRecord(bytes)
        key = record.text()
        number = record.text() ?? ""
        holder = record.text() ?? ""
        sha256 = record.text() ?? ""
        lines = record.integer()
        dropped = record.integer()
        payload = Array(record.data() ?? [])
    }
}

/// Reads the fields of a record kept in a `SpoolFile`, written with its `append` functions: integers
/// as 8 bytes little-endian, texts and byte strings as their count (-1: nil) and then their bytes.
struct SpoolRecord {
    private let bytes: [UInt8]
    private var position: Int

    init(_ bytes: [UInt8], from position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    mutating func integer() -> Int {
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[position + i]) << UInt64(8 * i) }
        position += 8
        return Int(Int64(bitPattern: value))
    }

    mutating func text() -> String? {
        data().map { String(decoding: $0, as: UTF8.self) }
    }

    mutating func data() -> ArraySlice<UInt8>? {
        let count = integer()
        guard count >= 0 else { return nil }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    static func append(_ value: Int, to out: inout [UInt8]) {
        let bits = UInt64(bitPattern: Int64(value))
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: bits >> UInt64(8 * i))) }
    }

    static func append(_ text: String?, to out: inout [UInt8]) {
        guard let text else { return append(-1, to: &out) }
        append(text.utf8.count, to: &out)
        out.append(contentsOf: text.utf8)
    }

    static func append(data: [UInt8], to out: inout [UInt8]) {
        append(data.count, to: &out)
        out.append(contentsOf: data)
    }
}
