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

/// A thread-safe counter: `next()` gives 1, 2, 3, … to whichever thread asks (temporary file names,
/// chunks of work handed out to workers).
final class Counter: @unchecked Sendable {
    private let lock = Mutex()
    private var value = 0

    func next() -> Int {
        lock.withLock {
            value += 1
            return value
        }
    }
}
