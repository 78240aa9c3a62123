import Foundation

/// `map` on every core, results in input order.
///
/// For CPU-bound work on independent elements (reading and checking files). It blocks the calling
/// thread until every element is done, so call it for bounded batches only.
public enum ConcurrentMap {
    /// `transform` applied to each element of `elements`, in order.
    ///
    /// - Parameter workers: how many threads to use at most (default: one per core).
    public static func map<Element, Result: Sendable>(
        _ elements: [Element], workers: Int? = nil, _ transform: (Element) -> Result
    ) -> [Result] {
        let count = elements.count
        let workers = max(1, workers ?? ProcessInfo.processInfo.activeProcessorCount)
        guard count > 1, workers > 1 else { return elements.map(transform) }
        // A few chunks per worker: enough to balance uneven elements, few enough to keep the overhead low.
        let chunks = min(count, workers * 4)
        let results = UnsafeMutableBufferPointer<Result?>.allocate(capacity: count)
        results.initialize(repeating: nil)
        defer {
            results.deinitialize()
            results.deallocate()
        }
        withoutActuallyEscaping(transform) { transform in
            nonisolated(unsafe) let transform = transform
            nonisolated(unsafe) let results = results
            elements.withUnsafeBufferPointer { input in
                nonisolated(unsafe) let input = input
                // `workers` threads, each taking the next chunk until none is left.
                let taken = Counter()
                DispatchQueue.concurrentPerform(iterations: min(workers, chunks)) { _ in
                    while case let chunk = taken.next() - 1, chunk < chunks {
                        var index = chunk * count / chunks
                        let end = (chunk + 1) * count / chunks
                        while index < end {
                            results[index] = transform(input[index])
                            index += 1
                        }
                    }
                }
            }
        }
        return results.map { $0! }
    }
}
