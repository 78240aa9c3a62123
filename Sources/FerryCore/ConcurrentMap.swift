import Foundation

/// `map` on every core, results in input order.
///
/// For CPU-bound work on independent elements (reading and checking files). It blocks the calling
/// thread until every element is done, so call it for bounded batches only.
public enum ConcurrentMap {
    /// `transform` applied to each element of `elements`, in order.
    public static func map<Element, Result: Sendable>(
        _ elements: [Element], _ transform: (Element) -> Result
    ) -> [Result] {
        let count = elements.count
        guard count > 1 else { return elements.map(transform) }
        // A few chunks per core: enough to balance uneven elements, few enough to keep the overhead low.
        let chunks = min(count, max(1, ProcessInfo.processInfo.activeProcessorCount) * 4)
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
                DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                    var index = chunk * count / chunks
                    let end = (chunk + 1) * count / chunks
                    while index < end {
                        results[index] = transform(input[index])
                        index += 1
                    }
                }
            }
        }
        return results.map { $0! }
    }
}
