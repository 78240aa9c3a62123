import FerryCore
import FerryPipeline
import FerryTestSupport
import Foundation
import Testing

/// `ferry sandbox` as a person uses it: start it, export what it prints, run the pipeline, Ctrl-C.
@Suite(.serialized) struct SandboxCommandTests {
    @Test func printsTheVariablesThatPointAWorkspaceAtItAndStopsOnInterrupt() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestSupport.ferryBinary)
        process.arguments = ["sandbox", "--orders", "120", "--fault", "kingdee-500"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // Read until the last line of the banner.
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while !text.contains("Ctrl-C stops the servers"), Date() < deadline {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            text += String(decoding: data, as: UTF8.self)
        }
        var environment = ProcessInfo.processInfo.environment
        for line in text.split(separator: "\n") where line.hasPrefix("export ") {
            let assignment = line.dropFirst("export ".count)
            guard let equals = assignment.firstIndex(of: "=") else { continue }
            environment[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
                .trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        }
        for name in ["WDT_URL", "WDT_SID", "WDT_APP_KEY", "WDT_APP_SECRET", "WDT_TARGET_APP_KEY", "KINGDEE_URL",
            "KINGDEE_ACCT_ID", "KINGDEE_USERNAME", "KINGDEE_APP_ID", "KINGDEE_APP_SECRET", "KINGDEE_PASSWORD"]
        {
            #expect(environment[name]?.isEmpty == false, "\(name) is printed: \(text)")
        }

        let dir = TestSupport.makeTemporaryDirectory("ferry-sandbox-cmd") + "/ws"
        try Demo.prepareDirectory(dir)
        let run = try await TestSupport.runFerryAsync(
            ["run", "--workspace", dir, "--since", "2026-10-01 00:00:00", "--until", "2026-10-30 23:59:59"],
            environment: environment)
        #expect(run.status == 0 || run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("extract    complete"), "\(run.stderr)")
        #expect(run.stderr.contains(" loaded, "), "\(run.stderr)")

        kill(process.processIdentifier, SIGINT)
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        #expect(process.terminationStatus == 0)
        #expect(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("ferry sandbox: stopped"))
    }

    /// Kingdee listens on PORT+1, so the highest port leaves it none: a usage error, not a crash (a sandbox
    /// that started anyway is killed after 5 s and fails the test).
    @Test func theHighestPortIsAUsageError() async throws {
        let result = try await TestSupport.runFerryAsync(["sandbox", "--port", "65535"], killAfter: .seconds(5))
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("--port"), "\(result.stderr)")
    }
}
