import FerryCore
import FerryPipeline
import FerryTestSupport
import Logging
import Testing

/// The progress bar reads the stages' own progress lines. These tests replay every line of a real demo
/// run (rate-limit retries, an HTTP 500, a lost answer reconciled, data errors) through the counter.
@Suite(.serialized) struct ProgressCounterTests {
    /// Collects the progress lines of a run, in order.
    final class Lines: @unchecked Sendable {
        private let lock = Mutex()
        private var lines: [String] = []
        func add(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    @Test func theBarOfADemoRunEndsFullAndNeverOverflows() async throws {
        let lines = Lines()
        let directory = TestSupport.makeTemporaryDirectory("ferry-progress") + "/demo"
        let result = try await Demo.run(directory: directory, progress: { lines.add($0) }, logger: Logger(label: "test"))
        let all = lines.all
        let loadStart = try #require(all.firstIndex { $0.hasPrefix("load: ") && $0.contains("payload file(s)") }, "\(all)")

        var counter = ProgressCounter()
        var windows = 0
        for (i, line) in all.enumerated() {
            // A new extract pass or the load starting: the window read before must have filled its bar.
            if line.contains("total_count") || i == loadStart, counter.total > 0 {
                #expect(counter.done == counter.total, "before line \(i): \(line)")
            }
            counter.absorb(line)
            if line.contains("total_count") { windows += 1 }
            #expect(counter.done <= counter.total || counter.total == 0, "line \(i): \(line)")
        }
        #expect(windows >= 1)
        // Every payload ends saved, failed, found in doubt or needing no sending: the bar ends full.
        let payloads = FileSystem.list(directory + "/runs").filter { !$0.hasPrefix(".") }
            .flatMap { run in FileSystem.list("\(directory)/runs/\(run)/transform") }
            .filter { $0.hasSuffix(".json") && !$0.hasSuffix(".receipt.json") && !$0.hasSuffix(".error.json")
                && !$0.hasSuffix(".reject.json") && $0 != "manifest.json" }
        #expect(counter.total == payloads.count && counter.total > 0)
        #expect(counter.done == counter.total, "\(all.suffix(from: loadStart).joined(separator: "\n"))")
        _ = result
    }

    @Test func linesItDoesNotKnowChangeNothing() {
        var counter = ProgressCounter()
        counter.absorb("load: 10 payload file(s); sending in batches of up to 5, 2 at a time, while the rest are read")
        counter.absorb("load: B000001 sending 5 document(s)")
        counter.absorb("note: something else entirely, 7 saved in a sentence that is not a load line")
        counter.absorb("load: B000001 4 saved, 1 failed")
        #expect(counter.done == 5 && counter.total == 10)
        counter.absorb("load: 5 payload(s) need no sending (loaded, changed, kept failed or invalid)")
        #expect(counter.done == 10)
    }
}
