import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system primitives with durable, atomic writes.
///
/// Every file Ferry stages is written through `writeAtomically`: written whole before it gets its name
/// (an unnamed file linked into place on Linux, see `UnnamedFile`; else a hidden temporary file in the
/// same directory, renamed), with `fsync` of the file and of the directory when durable. A crash leaves
/// either the old file or the new one, never half of one.
public enum FileSystem {
    /// Reads a whole file.
    ///
    /// - Throws: a `Diagnostic` naming the file when it cannot be read.
    public static func read(_ path: String) throws(Diagnostic) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("cannot read", path) }
        defer { close(fd) }
        return try read(descriptor: fd, naming: path)
    }

    /// Reads the whole of the open file `fd`, whose offset is at its start (`path` names it in errors).
    static func read(descriptor fd: Int32, naming path: String) throws(Diagnostic) -> [UInt8] {
        var result: [UInt8] = []
        var info = stat()
        if fstat(fd, &info) == 0, info.st_size > 0 {
            // The usual case: read the size fstat gives straight into the result (no second copy).
            let expected = Int(info.st_size)
            var failed = false
            result = [UInt8](unsafeUninitializedCapacity: expected) { buffer, count in
                while count < expected {
                    let n = Glibc.read(fd, buffer.baseAddress! + count, expected - count)
                    if n < 0 {
                        if errno == EINTR { continue }
                        failed = true
                        return
                    }
                    if n == 0 { return }
                    count += n
                }
            }
            if failed { throw ioError("cannot read", path) }
            if result.count < expected { return result }
        }
        // Whatever is left: a file that grew, or one whose size is not known in advance.
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("cannot read", path)
            }
            if n == 0 { break }
            result.append(contentsOf: buffer[0..<n])
        }
        return result
    }

    /// Reads a whole file as UTF-8 text.
    ///
    /// - Throws: a `Diagnostic` naming the file when it cannot be read or is not UTF-8.
    public static func readText(_ path: String) throws(Diagnostic) -> String {
        let bytes = try read(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .error("the file is not valid UTF-8 text; save it as UTF-8", file: path)
        }
        return text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
    }

    /// Writes `bytes` to `path` atomically and durably, creating parent directories.
    ///
    /// - Throws: a `Diagnostic` naming the file when any step fails; the old file, if any, is untouched.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(Diagnostic) {
        try writeAtomically(bytes, to: path, durable: true)
    }

    /// Writes `bytes` to `path` atomically (the file gets its name only once it is written whole); with
    /// `durable`, also flushes the file and its directory to disk before returning. A stage that writes
    /// many files may write them without `durable` and call `syncFileSystem(containing:)` once before it
    /// records them as written.
    ///
    /// - Throws: a `Diagnostic` naming the file when any step fails; the old file, if any, is untouched.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, durable: Bool) throws(Diagnostic) {
        #if os(Linux)
        if try UnnamedFile.write(bytes, to: path, durable: durable) { return }
        #endif
        try writeRenamingTemporary(bytes, to: path, durable: durable)
    }

    /// `writeAtomically` through a hidden temporary file beside `path`, renamed over it: the way that works
    /// on every file system (and the only one off Linux).
    static func writeRenamingTemporary(_ bytes: [UInt8], to path: String, durable: Bool) throws(Diagnostic) {
        let (fd, temporary, directory) = try createTemporary(for: path)
        if !writeAll(fd, bytes) {
            let failure = ioError("cannot write", path)
            close(fd)
            unlink(temporary)
            throw failure
        }
        if durable && fsync(fd) != 0 {
            let failure = ioError("cannot flush", path)
            close(fd)
            unlink(temporary)
            throw failure
        }
        close(fd)
        if rename(temporary, path) != 0 {
            let failure = ioError("cannot replace", path)
            unlink(temporary)
            throw failure
        }
        if durable { syncDirectory(directory) }
    }

    /// Writes all of `bytes` to `fd` at its current offset, going on after short writes and interrupted
    /// calls; `false` on an error (then `errno` says which).
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    /// Writes all of `bytes` to `fd` at its current offset, going on after short writes and interrupted
    /// calls; `false` on an error (then `errno` says which).
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var written = 0
        while written < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            written += n
        }
        return true
    }

    /// Opens a new hidden temporary file beside `path` (creating the directory when missing) for an
    /// atomic write: `(descriptor, temporary path, directory)`.
    static func createTemporary(for path: String) throws(Diagnostic) -> (Int32, String, String) {
        let (directory, name) = split(path)
        var createdDirectory = false
        for _ in 0..<100 {
            let temporary = temporaryName(directory: directory, name: name)
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 { return (fd, temporary, directory) }
            switch errno {
            case EEXIST:
                // Left by a process that had this id before and died mid-write: take the next number.
                continue
            case ENOENT where !createdDirectory:
                // The directory usually exists: create it only when the first attempt says it does not
                // (one system call per file instead of a directory walk).
                try createDirectory(directory)
                createdDirectory = true
            default:
                throw ioError("cannot create", temporary)
            }
        }
        throw ioError("cannot create a temporary file beside", path)
    }

    /// A hidden name for a temporary file beside `directory/name`: unique in this process (a counter) and
    /// among processes (the process id), without a system call (a random number per file cost a `getrandom`
    /// each). A name left by a process that had this id before and died mid-write may exist: callers create
    /// with `O_EXCL` (or link, which fails the same way) and take the next name.
    static func temporaryName(directory: String, name: String) -> String {
        directory + "/." + name + ".tmp-\(processID)-\(temporaryCounter.next())"
    }

    /// This process's id, asked once (every `getpid` is a system call).
    private static let processID = getpid()

    /// Numbers the temporary files of this process.
    private static let temporaryCounter = Counter()

    /// `path` split at its last `/` into directory (`.` when there is none) and file name.
    public static func split(_ path: String) -> (directory: String, name: String) {
        let utf8 = path.utf8
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return (".", path) }
        let directory = slash == utf8.startIndex ? "/" : String(path[..<slash])
        return (directory, String(path[path.index(after: slash)...]))
    }

    /// The file name of `path` (what follows its last `/`).
    public static func fileName(_ path: String) -> String { split(path).name }

    /// Flushes everything written to the file system holding `path` (one `syncfs`, instead of an
    /// `fsync` per file).
    public static func syncFileSystem(containing path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            sync()
            return
        }
        #if os(Linux)
        if ferry_syncfs(fd) != 0 { sync() }
        #else
        sync()
        #endif
        close(fd)
    }

    /// Writes UTF-8 text atomically; see `writeAtomically(_:to:)`.
    public static func writeAtomically(_ text: String, to path: String) throws(Diagnostic) {
        try writeAtomically(Array(text.utf8), to: path)
    }

    /// Flushes a directory's entries to disk (after a rename or an unlink).
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Creates a directory and its parents when missing, and flushes the entry of each directory it
    /// created to disk (in its parent), so that a file later written durably inside is still reachable
    /// after a power loss on a file system that does not order metadata.
    ///
    /// - Throws: a `Diagnostic` naming the directory when it cannot be created.
    public static func createDirectory(_ path: String) throws(Diagnostic) {
        var created: [String] = []
        var current = path
        while !current.isEmpty, current != "/", current != ".", !exists(current) {
            created.append(current)
            current = split(current).directory
        }
        if created.isEmpty && isDirectory(path) { return }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .error("cannot create directory: \(error.localizedDescription)", file: path)
        }
        for directory in created.reversed() { syncDirectory(split(directory).directory) }
    }

    /// Whether something exists at `path`.
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Whether `path` (or what it links to) is a FIFO, a socket or a device: reading one may block for ever
    /// or never end.
    public static func isSpecialFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        let type = info.st_mode & S_IFMT
        return type == S_IFIFO || type == S_IFSOCK || type == S_IFCHR || type == S_IFBLK
    }

    /// Whether `path` is a directory.
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Removes a file (missing files are fine).
    ///
    /// - Throws: a `Diagnostic` when the file exists and cannot be removed.
    public static func remove(_ path: String) throws(Diagnostic) {
        if unlink(path) != 0 && errno != ENOENT { throw ioError("cannot remove", path) }
    }

    /// The regular files under `path` (recursively), as paths that start with `path`, sorted by byte order
    /// so that every run sees the same order. Hidden entries (names starting with `.`) are skipped.
    ///
    /// Symlinks are followed, and each directory is walked once: at every level the real subdirectories
    /// come first and linked ones after, so a directory reached both ways is listed under its real path,
    /// and a link back up the tree lists nothing again.
    ///
    /// A directory below `path` that cannot be listed (no permission) is returned among the files, so
    /// that reading it says why while the others are still listed.
    ///
    /// - Throws: a `Diagnostic` when `path` itself cannot be listed.
    public static func filesRecursively(under path: String) throws(Diagnostic) -> [String] {
        var result: [String] = []
        var walked: Set<DirectoryIdentity> = []
        try walk(path, into: &result, walked: &walked)
        return result.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// A directory as the file system knows it (device and inode), whatever path reached it.
    private struct DirectoryIdentity: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    private static func walk(_ directory: String, into result: inout [String], walked: inout Set<DirectoryIdentity>)
        throws(Diagnostic)
    {
        var own = stat()
        if stat(directory, &own) == 0 {
            guard walked.insert(DirectoryIdentity(device: UInt64(own.st_dev), inode: UInt64(own.st_ino))).inserted else {
                return
            }
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            let reason = access(directory, R_OK | X_OK) == 0 ? error.localizedDescription : String(cString: strerror(errno))
            throw .error(
                "cannot list the directory (\(reason)): give the user that runs Ferry permission to read and enter it",
                file: directory)
        }
        var linked: [String] = []
        for name in names.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) where !name.hasPrefix(".") {
            let child = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            var info = stat()
            guard lstat(child, &info) == 0 else {
                result.append(child)  // gone since it was listed: reading it says so
                continue
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR where access(child, R_OK | X_OK) != 0: result.append(child)  // reading it says why
            case S_IFDIR: try walk(child, into: &result, walked: &walked)
            case S_IFLNK where isDirectory(child): linked.append(child)
            default: result.append(child)
            }
        }
        for child in linked {
            if access(child, R_OK | X_OK) != 0 {
                result.append(child)
            } else {
                try walk(child, into: &result, walked: &walked)
            }
        }
    }

    /// The entries directly in `path` (names only, sorted), or an empty list when it does not exist.
    public static func list(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    static func ioError(_ what: String, _ path: String) -> Diagnostic {
        let reason = String(cString: strerror(errno))
        return .error("\(what) the file: \(reason)", file: path)
    }
}

#if os(Linux)
/// glibc's `syncfs(2)` (declared only under _GNU_SOURCE, so not visible through the Glibc module).
@_silgen_name("syncfs")
private func ferry_syncfs(_ fd: Int32) -> Int32
#endif

/// An exclusive advisory lock on a file, held until `release()` or process exit.
///
/// Uses `flock`, so the kernel drops the lock when the process dies (even on SIGKILL): a stale lock file
/// never blocks a later run.
public final class FileLock: @unchecked Sendable {
    private var fd: Int32
    /// The lock file's path.
    public private(set) var path: String

    /// Takes the lock at `path` without waiting.
    ///
    /// - Throws: a `Diagnostic` naming the process that holds it, when another process does.
    public init(path: String, purpose: String) throws(Diagnostic) {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileSystem.createDirectory(directory) }
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystem.ioError("cannot open lock", path) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            // The holder as the kernel lists it; the note in the file names the last process that wrote it,
            // which need not be the holder (a lock taken by another tool, or a holder yet to write its note).
            let listed = Self.holders(of: path).map { $0.sorted().map { "pid \($0)" }.joined(separator: ", ") }
            let holder = listed ?? (try? FileSystem.readText(path))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw .error(
                "\(purpose) is locked by another Ferry process\(holder.isEmpty ? "" : " (\(holder))"); "
                    + "wait for it to finish, or stop it, then try again",
                file: path)
        }
        ftruncate(fd, 0)
        let note = "pid \(getpid())\n"
        _ = note.withCString { Glibc.write(fd, $0, strlen($0)) }
    }

    /// The processes that hold a lock like this one on the file at `path`, without touching the lock (taking
    /// it to test it could make a command that starts at that moment fail). Read from `/proc/locks` (Linux:
    /// a killed process, even one not reaped yet, holds no lock); `nil` where the system does not list
    /// locks. Empty when the file does not exist.
    public static func holders(of path: String) -> Set<Int32>? {
        guard let table = try? FileSystem.readText("/proc/locks") else { return nil }
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        var holders: Set<Int32> = []
        // `1: FLOCK  ADVISORY  WRITE 4242 fe:00:4024567 0 EOF` (a waiter's line has `->` after the number).
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", let pid = Int32(fields[4]),
                let inode = fields[5].split(separator: ":").last.flatMap({ UInt64($0) }), inode == UInt64(info.st_ino)
            else { continue }
            holders.insert(pid)
        }
        return holders
    }

    /// Records that the lock file (or a directory above it) was renamed to `path`: the lock stays held,
    /// since it belongs to the open file, not to its name.
    public func moved(to path: String) {
        self.path = path
    }

    /// Releases the lock.
    public func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}

/// A file written piece by piece and published atomically by `commit()`, after an `fsync`: until then it
/// is an unnamed file in the target's directory (Linux, see `UnnamedFile`) or a hidden temporary file
/// there, renamed over the target. For large files (manifests) that should not be held in memory whole.
public final class StreamingFile {
    private var fd: Int32
    /// The hidden temporary file renamed into place by `commit()`; `nil` while the file is unnamed.
    private let temporary: String?
    /// The file's final path.
    public let path: String
    private var buffer: [UInt8] = []
    #if os(Linux)
    /// How `commit()` names an unnamed file (tests choose; by default what works in this process).
    var naming: UnnamedFile.Naming?
    #endif

    /// Starts writing `path`.
    ///
    /// - Throws: a `Diagnostic` when the file cannot be created.
    public convenience init(path: String) throws(Diagnostic) {
        try self.init(path: path, unnamed: true)
    }

    /// Starts writing `path`, as an unnamed file when `unnamed` and the system can (tests choose).
    init(path: String, unnamed: Bool) throws(Diagnostic) {
        self.path = path
        buffer.reserveCapacity(1 << 20)
        #if os(Linux)
        // Readable, so that `commit()` can still copy it into a named file if it cannot be named.
        if unnamed, let fd = try UnnamedFile.create(for: path, readable: true) {
            self.fd = fd
            temporary = nil
            return
        }
        #endif
        let (fd, temporary, _) = try FileSystem.createTemporary(for: path)
        self.fd = fd
        self.temporary = temporary
    }

    /// Appends bytes (buffered).
    ///
    /// - Throws: a `Diagnostic` when the data cannot be written.
    public func write(_ bytes: some Sequence<UInt8>) throws(Diagnostic) {
        // Arrays, slices and UTF-8 views are copied whole: called from another module, this generic is
        // not specialised, and the general `append(contentsOf:)` then takes a byte at a time.
        if bytes.withContiguousStorageIfAvailable({ buffer.append(contentsOf: $0) }) == nil {
            buffer.append(contentsOf: bytes)
        }
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Appends UTF-8 text (buffered).
    ///
    /// - Throws: a `Diagnostic` when the data cannot be written.
    public func write(_ text: String) throws(Diagnostic) {
        try write(text.utf8)
    }

    private func flush() throws(Diagnostic) {
        if !FileSystem.writeAll(fd, buffer) { throw FileSystem.ioError("cannot write", path) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, `fsync`s and puts the file in place.
    ///
    /// - Throws: a `Diagnostic` when any step fails (the target is then untouched).
    public func commit() throws(Diagnostic) {
        try flush()
        if fsync(fd) != 0 { throw FileSystem.ioError("cannot flush", path) }
        if let temporary {
            close(fd)
            fd = -1
            if rename(temporary, path) != 0 {
                let failure = FileSystem.ioError("cannot replace", path)
                unlink(temporary)
                throw failure
            }
        } else {
            #if os(Linux)
            if try !UnnamedFile.publish(fd, as: path, naming: naming) { try publishCopy() }
            #endif
            close(fd)
            fd = -1
        }
        FileSystem.syncDirectory(FileSystem.split(path).directory)
    }

    #if os(Linux)
    /// Puts a copy of the unnamed file in place through a hidden temporary file, for when the unnamed
    /// file cannot be named here (no `/proc`, and a kernel that refuses `AT_EMPTY_PATH`). The copy is
    /// read into memory whole: acceptable for a fallback that systems Ferry runs on do not take.
    private func publishCopy() throws(Diagnostic) {
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw FileSystem.ioError("cannot read back", path) }
        try FileSystem.writeRenamingTemporary(FileSystem.read(descriptor: fd, naming: path), to: path, durable: true)
    }
    #endif

    deinit {
        if fd >= 0 {
            close(fd)
            // An unnamed file vanishes with its descriptor; a named temporary file is removed.
            if let temporary { unlink(temporary) }
        }
    }
}
