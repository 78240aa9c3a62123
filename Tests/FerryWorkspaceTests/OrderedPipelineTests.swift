import FerryCore
import Foundation
import Testing

@testable import FerryWorkspace

/// The transform's worker pipeline: results consumed in input order, a bounded window, errors stop it.
@Suite struct OrderedPipelineTests {
    final class Log: @unchecked Sendable {
        let lock = NSLock()
        var consumed: [Int] = []
        var producing = 0
        var maxAhead = 0

        func started(_ index: Int) {
            lock.lock()
            maxAhead = max(maxAhead, index - consumed.count)
            lock.unlock()
        }

        func consume(_ value: Int) {
            lock.lock()
            consumed.append(value)
            lock.unlock()
        }
    }

    @Test(arguments: [1, 2, 4])
    func consumesInOrderWithinTheWindow(workers: Int) throws {
        let log = Log()
        try OrderedPipeline.run(
            count: 300, workers: workers, window: 5,
            produce: { index in
                log.started(index)
                // Uneven work, so later items often finish first.
                usleep(UInt32((index * 7919) % 5) * 100)
                return index * 10
            },
            consume: { (value: Int) throws(Diagnostic) in log.consume(value) })
        #expect(log.consumed == (0..<300).map { $0 * 10 })
        #expect(log.maxAhead < 5 + workers, "no worker may run more than the window ahead of the consumer")
    }

    @Test func aFailingConsumerStopsTheWorkersAndIsReported() {
        let log = Log()
        let produced = Log()
        do {
            try OrderedPipeline.run(
                count: 1000, workers: 2, window: 4,
                produce: { index in
                    produced.consume(index)
                    return index
                },
                consume: { (value: Int) throws(Diagnostic) in
                    if value == 10 { throw Diagnostic.error("disk full", file: "out/10.json") }
                    log.consume(value)
                })
            Issue.record("expected the consumer's error")
        } catch {
            #expect(error.description == "out/10.json: error: disk full")
        }
        #expect(log.consumed == Array(0..<10))
        #expect(produced.consumed.count < 30, "workers stop soon after the failure, not after all 1000 items")
    }

    @Test func nothingToDoIsFine() throws {
        try OrderedPipeline.run(
            count: 0, workers: 2, window: 4, produce: { $0 }, consume: { (_: Int) throws(Diagnostic) in Issue.record("called") })
    }
}
