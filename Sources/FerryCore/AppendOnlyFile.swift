#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A text file that only grows, one line per record: the write-ahead form of a journal.
///
/// Appending a line and flushing it costs one `write` and one `fdatasync`; an atomically replaced file
/// per record (`FileSystem.writeAtomically`) costs a new inode, two flushes and a rename. On a busy disk
/// that is the difference between ~0.1 ms and ~0.8 ms per record (BENCHMARKS.md, *On disk*).
///
/// A crash can leave the last line half written. Such a line was never acknowledged (its flush had not
/// returned): readers skip it (`lines(of:)` leaves out a last line without its newline; a reader that
/// also finds a complete last line it cannot read may treat it the same way), and the next writer opens
/// the file with the length that is valid, which cuts the rest off before the next line goes in.
/// Lines are appended under a lock, so concurrent callers never interleave their bytes.
public final class AppendOnlyFile: @unchecked Sendable {
    /// The file's path.
    public let path: String
    private let lock = Mutex()
    private let descriptor: Int32

    /// Opens (creating it and its directory when missing) the file at `path` for appending, first cutting
    /// it to its first `validLength` bytes when it is longer (a torn last line).
    ///
    /// - Throws: a `Diagnostic` naming the file when it cannot be opened or repaired.
    public init(path: String, validLength: Int) throws(Diagnostic) {
        self.path = path
        var fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 && errno == ENOENT {
            try FileSystem.createDirectory(FileSystem.split(path).directory)
            fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            FileSystem.syncDirectory(FileSystem.split(path).directory)
        }
        guard fd >= 0 else { throw FileSystem.ioError("cannot open", path) }
        descriptor = fd
        if lseek(fd, 0, SEEK_END) > off_t(validLength) {
            guard ftruncate(fd, off_t(validLength)) == 0, fdatasync(fd) == 0 else {
                let failure = FileSystem.ioError("cannot cut the torn last line of", path)
                close(fd)
                throw failure
            }
        }
    }

    deinit { close(descriptor) }

    /// Appends `line` (a newline is added); with `durable`, returns only once it is on disk. A durable
    /// append also makes every earlier line durable.
    ///
    /// - Throws: a `Diagnostic` naming the file when the line cannot be written or flushed. A line that
    ///   could not be written whole (a full disk) is cut off again, so that the next line does not follow a
    ///   torn one in the middle of the file; a line whose flush failed may still be in the file.
    public func append(_ line: [UInt8], durable: Bool) throws(Diagnostic) {
        var record = line
        record.append(UInt8(ascii: "\n"))
        let failed: Diagnostic? = lock.withLock {
            let end = lseek(descriptor, 0, SEEK_END)
            if FileSystem.writeAll(descriptor, record) { return nil }
            let failure = FileSystem.ioError("cannot append to", path)
            if end >= 0 { _ = ftruncate(descriptor, end) }
            return failure
        }
        if let failed { throw failed }
        // Outside the lock: appends made meanwhile by other callers ride on the same flush.
        if durable && fdatasync(descriptor) != 0 { throw FileSystem.ioError("cannot flush", path) }
    }

    /// The complete lines of `bytes` (the content of such a file), each with its 1-based line number;
    /// a last line without its newline is torn and left out.
    public static func lines(of bytes: [UInt8]) -> [(number: Int, bytes: ArraySlice<UInt8>)] {
        // Each slice ends just before its newline: a line's valid length is `slice.endIndex + 1`.
        var result: [(number: Int, bytes: ArraySlice<UInt8>)] = []
        var start = 0
        var number = 1
        while let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            result.append((number, bytes[start..<end]))
            start = end + 1
            number += 1
        }
        return result
    }
}
