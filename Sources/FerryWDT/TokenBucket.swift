import Foundation

/// The request-rate limiter shared by every request of a client: at most `rate` requests per second,
/// no bursts (a token bucket holding one token).
///
/// Permits are at least `1 / rate` seconds apart in *actual* time: a waiter that wakes late does not let
/// the next one through early, so a busy machine never bunches requests.
public actor TokenBucket {
    /// Requests per second (fractions allowed: 0.5 is one request every two seconds).
    public let rate: Double
    private var lastGrant: ContinuousClock.Instant?
    private let clock = ContinuousClock()
    private let interval: Duration

    /// Creates a bucket.
    ///
    /// - Parameter rate: requests per second; must be above zero.
    public init(rate: Double) {
        precondition(rate > 0, "a request rate must be above zero")
        self.rate = rate
        self.interval = .nanoseconds(Int64((1_000_000_000 / rate).rounded(.up)))
    }

    /// Waits until a request may be sent.
    ///
    /// - Throws: `CancellationError` when the task is cancelled while waiting.
    public func acquire() async throws {
        while true {
            let now = clock.now
            guard let last = lastGrant, now < last + interval else {
                lastGrant = now
                return
            }
            try await Task.sleep(until: last + interval, clock: clock)
        }
    }
}
