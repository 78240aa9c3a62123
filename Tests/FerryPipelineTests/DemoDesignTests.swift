import FerryCore
@testable import FerryPipeline
import FerryTestSupport
import FerryWorkspace
import Foundation
import Logging
import Testing

@Suite(.serialized) struct DemoDesignTests {
    /// The demo says how many requests broke the sandbox's rate limit; any at all is not as designed, so
    /// the demo must not end with "everything behaved as designed" (exit 0) then.
    @Test func aDemoThatBreaksTheRateLimitIsNotAsDesigned() async throws {
        let dir = TestSupport.makeTemporaryDirectory("ferry-demo-rate") + "/demo"
        try Demo.prepareDirectory(dir)
        let yaml = Demo.configText.replacingOccurrences(of: "requests_per_second: 15", with: "requests_per_second: 500")
        try FileSystem.writeAtomically(yaml, to: Workspace.configPath(dir))
        var options = Demo.sandboxOptions
        options.wdtRateLimit = 2
        let pair = try await SandboxPair.start(options: options)
        let result: Demo.Result
        do {
            result = try await Demo.run(in: dir, pair: pair, progress: { _ in }, logger: Logger(label: "test"))
        } catch {
            await pair.stop()
            throw error
        }
        await pair.stop()
        #expect(pair.wdt.counters.rateViolations > 0)
        #expect(result.surprises.contains { $0.contains("rate limit") }, "\(result.surprises)")
    }
}
