#if os(Linux)
import Glibc
import Synchronization

/// Atomic writes through an unnamed file: `open(directory, O_TMPFILE)`, write, then `linkat` gives the
/// file its name, complete. Against a hidden temporary file renamed into place, this spares a directory
/// entry and a rename per file: a payload-sized file costs about a third less on this project's ext4 and
/// 15% less on tmpfs, and a whole transform 5–7% less time (BENCHMARKS.md, *Writing files*). A process
/// killed mid-write also leaves nothing behind: the kernel frees an unnamed file with its last descriptor.
///
/// Not every system can do it, and `write` then returns `false` for the caller to rename a temporary file:
/// - file systems without `O_TMPFILE` (the `open` fails; tried again for each file, as another directory
///   may be on another file system);
/// - naming a file by its descriptor (`AT_EMPTY_PATH`) needs Linux 6.10 or CAP_DAC_READ_SEARCH; without
///   them its `/proc/self/fd` path is linked instead, and without `/proc` this way is given up for the rest
///   of the process.
enum UnnamedFile {
    /// How an unnamed file is given its name.
    enum Naming: Int {
        /// `linkat(fd, "", …, AT_EMPTY_PATH)`.
        case byDescriptor
        /// `linkat(AT_FDCWD, "/proc/self/fd/N", …, AT_SYMLINK_FOLLOW)`.
        case byProcPath
        /// Neither works here: files are written by renaming a temporary file.
        case unavailable
    }

    /// The naming that works in this process, learnt from the first files (it only moves down the list).
    private static let learnt = Atomic<Int>(Naming.byDescriptor.rawValue)

    /// The naming `write` uses when not told one.
    static var naming: Naming { Naming(rawValue: learnt.load(ordering: .relaxed))! }

    /// `O_TMPFILE` and `AT_EMPTY_PATH`, which the Glibc module leaves out (they are declared under
    /// `_GNU_SOURCE`). `__O_TMPFILE` has this value on x86-64, arm64 and the other common architectures;
    /// a kernel without `O_TMPFILE` sees a plain `O_DIRECTORY` open for writing and fails with `EISDIR`.
    private static let openUnnamed: Int32 = 0o20_000_000 | O_DIRECTORY
    private static let emptyPath: Int32 = 0x1000

    /// Writes `bytes` to `path` atomically through an unnamed file, creating the directory when missing.
    ///
    /// - Parameter naming: the naming to use; by default the one learnt so far (tests choose).
    /// - Returns: `false` when this way is not available here (`path` is then untouched, nothing was left
    ///   behind, and the caller writes the file another way).
    /// - Throws: a `Diagnostic` naming the file when the directory cannot be created, or the data cannot be
    ///   written, flushed or put in place.
    static func write(_ bytes: [UInt8], to path: String, durable: Bool, naming: Naming? = nil) throws(Diagnostic) -> Bool {
        let naming = naming ?? self.naming
        guard let fd = try create(for: path, naming: naming) else { return false }
        defer { close(fd) }
        if !FileSystem.writeAll(fd, bytes) { throw FileSystem.ioError("cannot write", path) }
        if durable && fsync(fd) != 0 { throw FileSystem.ioError("cannot flush", path) }
        guard try publish(fd, as: path, naming: naming) else { return false }
        if durable { FileSystem.syncDirectory(FileSystem.split(path).directory) }
        return true
    }

    /// Opens a new unnamed file, for writing, in the directory `path` will be in (created when missing).
    ///
    /// - Parameter naming: as for `write`.
    /// - Returns: the descriptor, or `nil` when this way is not available here.
    /// - Throws: a `Diagnostic` naming the directory when it cannot be created.
    /// - Parameter readable: also open it for reading.
    static func create(for path: String, readable: Bool = false, naming: Naming? = nil) throws(Diagnostic) -> Int32? {
        guard (naming ?? self.naming) != .unavailable else { return nil }
        let directory = FileSystem.split(path).directory
        let flags = openUnnamed | (readable ? O_RDWR : O_WRONLY) | O_CLOEXEC
        var fd = open(directory, flags, 0o644)
        if fd < 0 && errno == ENOENT {
            // The directory usually exists: create it only when the first attempt says it does not.
            try FileSystem.createDirectory(directory)
            fd = open(directory, flags, 0o644)
        }
        // No O_TMPFILE on this file system (EOPNOTSUPP, EISDIR), or any other refusal: the renaming way
        // either copes or reports it in its own words.
        return fd >= 0 ? fd : nil
    }

    /// Gives the unnamed file `fd` (from `create`, written) the name `path`, replacing what is there
    /// atomically. The caller still closes `fd`.
    ///
    /// - Returns: `false` when the file cannot be named here (`path` is then untouched).
    /// - Throws: a `Diagnostic` naming the file when the file that is there cannot be replaced.
    static func publish(_ fd: Int32, as path: String, naming: Naming? = nil) throws(Diagnostic) -> Bool {
        let naming = naming ?? self.naming
        switch link(fd, to: path, naming: naming) {
        case .linked:
            return true
        case .exists:
            // Replacing a file: link under a temporary name, then rename over it (atomic, as before).
            let (directory, name) = FileSystem.split(path)
            return try replace(path, directory: directory, name: name, with: fd, naming: naming)
        case .unavailable:
            return false
        }
    }

    private enum LinkOutcome {
        case linked
        case exists
        case unavailable
    }

    /// Gives the unnamed file `fd` the name `path`, learning the naming that works on the way.
    private static func link(_ fd: Int32, to path: String, naming: Naming) -> LinkOutcome {
        var naming = naming
        while true {
            let result: Int32
            switch naming {
            case .byDescriptor: result = linkat(fd, "", AT_FDCWD, path, emptyPath)
            case .byProcPath: result = linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, path, AT_SYMLINK_FOLLOW)
            case .unavailable: return .unavailable
            }
            if result == 0 { return .linked }
            switch errno {
            case EEXIST:
                return .exists
            case ENOENT where naming == .byDescriptor, EPERM where naming == .byDescriptor:
                // No CAP_DAC_READ_SEARCH before Linux 6.10 (ENOENT), or a policy refusing it.
                naming = .byProcPath
            case ENOENT, EPERM, EACCES:
                // No /proc (or no access to it): stop trying for the rest of the process.
                naming = .unavailable
            default:
                // ENOSPC, EROFS, EMLINK, …: the renaming way reports it.
                return .unavailable
            }
            learn(naming)
        }
    }

    /// Records that nothing above `naming` works here.
    private static func learn(_ naming: Naming) {
        var current = learnt.load(ordering: .relaxed)
        while current < naming.rawValue {
            let (exchanged, original) = learnt.compareExchange(
                expected: current, desired: naming.rawValue, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Replaces the existing `path` with the unnamed file `fd`; `false` when it cannot be linked at all.
    private static func replace(
        _ path: String, directory: String, name: String, with fd: Int32, naming: Naming
    ) throws(Diagnostic) -> Bool {
        for _ in 0..<100 {
            let temporary = FileSystem.temporaryName(directory: directory, name: name)
            switch link(fd, to: temporary, naming: naming) {
            case .linked:
                if rename(temporary, path) != 0 {
                    let failure = FileSystem.ioError("cannot replace", path)
                    unlink(temporary)
                    throw failure
                }
                return true
            case .exists:
                // Left by a process that had this id before and died mid-write: take the next number.
                continue
            case .unavailable:
                return false
            }
        }
        throw FileSystem.ioError("cannot create a temporary file beside", path)
    }
}
#endif
