import Foundation

/// A small lock for state shared between tasks (Foundation's `NSLock`, with a scoped helper).
public final class Mutex: @unchecked Sendable {
    private let lock = NSLock()

    /// Creates an unlocked mutex.
    public init() {}

    /// Runs `body` while holding the lock.
    @discardableResult
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
