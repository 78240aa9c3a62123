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

    /// A worker told to wait that gets the lock only after the other worker has done all the rest (and
    /// returned) must not sleep: nothing would wake it. (It did, once, in a test run while CI loaded both
    /// cores: the transform hung.) The two workers' steps are played in that order on the state itself.
    @Test func aWorkerToldToWaitAfterTheRestIsDoneDoesNotSleep() throws {
        let log = Log()
        let state = OrderedPipeline.State<Int>(count: 2, window: 1, consume: { (value: Int) throws(Diagnostic) in log.consume(value) })
        guard case .produce(0) = state.next() else { Issue.record("the first worker gets item 0"); return }
        guard case .wait(let seen) = state.next() else { Issue.record("the window is full: wait"); return }
        // The first worker finishes everything while the second has not gone to sleep yet.
        state.put(0, 0)
        state.drain()
        guard case .produce(1) = state.next() else { Issue.record("then item 1"); return }
        state.put(1, 10)
        state.drain()
        guard case .done = state.next() else { Issue.record("then nothing is left"); return }
        #expect(log.consumed == [0, 10])
        // Now the second worker goes to sleep on what it saw: it must return at once.
        let returned = DispatchSemaphore(value: 0)
        Thread {
            state.waitForChange(since: seen)
            returned.signal()
        }.start()
        #expect(returned.wait(timeout: .now() + 10) == .success, "the waiting worker slept through the end")
        guard case .done = state.next() else { Issue.record("and finds nothing left"); return }
    }

    /// With the window full and the next result ready while another worker consumes (slowly), a worker
    /// sleeps until something changes; it once spun instead, thousands of times per result, taking a core
    /// and the lock from the consumer.
    @Test(arguments: [2, 4])
    func workersSleepWhileAnotherConsumes(workers: Int) throws {
        let count = 200
        let log = Log()
        let state = OrderedPipeline.State<Int>(count: count, window: 2) { (value: Int) throws(Diagnostic) in
            usleep(2000)
            log.consume(value)
        }
        state.run(workers: workers, produce: { $0 })
        #expect(state.failure == nil)
        #expect(log.consumed == Array(0..<count))
        // Each put or consumed result wakes each waiting worker about once.
        #expect(state.waitRounds < count * workers * 4, "\(state.waitRounds) waits for \(count) results")
    }

    @Test func nothingToDoIsFine() throws {
        try OrderedPipeline.run(
            count: 0, workers: 2, window: 4, produce: { $0 }, consume: { (_: Int) throws(Diagnostic) in Issue.record("called") })
    }
}
