import Foundation

/// A token bucket shared by every request of a client: at most `rate` requests per second, no bursts.
///
/// Each `acquire()` reserves the next free slot (slots are `1 / rate` seconds apart) and sleeps until it,
/// so concurrent callers are served in order and the long-run rate never exceeds `rate`.
public actor TokenBucket {
    /// Requests per second (fractions allowed: 0.5 is one request every two seconds).
    public let rate: Double
    private var nextSlot: ContinuousClock.Instant?
    private let clock = ContinuousClock()

    /// Creates a bucket.
    ///
    /// - Parameter rate: requests per second; must be above zero.
    public init(rate: Double) {
        precondition(rate > 0, "a request rate must be above zero")
        self.rate = rate
    }

    /// Waits until a request may be sent.
    ///
    /// - Throws: `CancellationError` when the task is cancelled while waiting.
    public func acquire() async throws {
        let now = clock.now
        let slot = max(now, nextSlot ?? now)
        nextSlot = slot.advanced(by: .seconds(1.0 / rate))
        if slot > now {
            try await Task.sleep(until: slot, clock: clock)
        }
    }
}
