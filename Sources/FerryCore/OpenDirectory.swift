#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory held open for creating many files in it by name (`openat`): the kernel walks its path
/// once, not once per file (a transform creates one file per bill).
public final class OpenDirectory: Sendable {
    /// The directory's path, for messages and for the ways of writing that need a path.
    public let path: String
    private let descriptor: Int32

    /// Opens the existing directory `path`.
    ///
    /// - Throws: a `Diagnostic` naming the directory when it cannot be opened.
    public init(_ path: String) throws(Diagnostic) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileSystem.ioError("cannot open the directory", path) }
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Creates the file `name` in this directory, which must not exist, and writes `bytes` into it under
    /// its final name (not atomically; only for a writer whose directory is
    /// marked unfinished until it is done, `TransformMarker`); without a flush.
    ///
    /// - Returns: `false` when the file exists (nothing was touched: write it another way).
    /// - Throws: a `Diagnostic` naming the file when it cannot be created or written (then it is removed).
    public func writeNew(_ bytes: [UInt8], named name: String) throws(Diagnostic) -> Bool {
        let fd = openat(descriptor, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw FileSystem.ioError("cannot create", path + "/" + name)
        }
        if !FileSystem.writeAll(fd, bytes) {
            let failure = FileSystem.ioError("cannot write", path + "/" + name)
            close(fd)
            unlinkat(descriptor, name, 0)
            throw failure
        }
        close(fd)
        return true
    }
}
