import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Helpers shared by Ferry's test targets: temporary directories, the repository root, and running the
/// built `ferry` binary as a real process.
public enum TestSupport {
    /// The repository root (the directory holding Package.swift), found from this source file.
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `Fixtures/` at the repository root.
    public static var fixturesDirectory: String { repositoryRoot + "/Fixtures" }

    /// A new empty directory under the system temporary directory.
    public static func makeTemporaryDirectory(_ label: String = "ferry-test") -> String {
        let path = NSTemporaryDirectory() + "/\(label)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Path of the built `ferry` executable next to the running test bundle (debug or release).
    public static var ferryBinary: String {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("ferry").path
            if FileManager.default.isExecutableFile(atPath: candidate), !FileSystemCheck.isDirectory(candidate) {
                return candidate
            }
            dir.deleteLastPathComponent()
        }
        return repositoryRoot + "/.build/debug/ferry"
    }

    /// What a finished process printed and how it ended.
    public struct ProcessResult: Sendable {
        /// Exit status (or 128 + signal when killed).
        public var status: Int32
        /// Everything written to stdout.
        public var stdout: String
        /// Everything written to stderr.
        public var stderr: String
    }

    /// Runs the built `ferry` with `arguments` and waits for it.
    public static func runFerry(
        _ arguments: [String], environment: [String: String]? = nil, currentDirectory: String? = nil
    ) throws -> ProcessResult {
        try run(ferryBinary, arguments, environment: environment, currentDirectory: currentDirectory)
    }

    /// Runs an executable and waits for it, capturing its output through files (no pipe deadlocks).
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        currentDirectory: String? = nil
    ) throws -> ProcessResult {
        let running = try CapturedProcess(executable, arguments, environment: environment, currentDirectory: currentDirectory)
        running.process.waitUntilExit()
        return running.result()
    }

    /// Every file under `directory` whose bytes contain `needle` (for "no secret on disk" checks).
    public static func filesContaining(_ needle: String, under directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var hits: [String] = []
        let needleBytes = Data(needle.utf8)
        while let relative = enumerator.nextObject() as? String {
            let path = directory + "/" + relative
            guard !FileSystemCheck.isDirectory(path), let data = FileManager.default.contents(atPath: path) else { continue }
            if data.range(of: needleBytes) != nil { hits.append(relative) }
        }
        return hits.sorted()
    }
}

enum FileSystemCheck {
    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }
}

extension TestSupport {
    /// Compares two directory trees byte for byte.
    ///
    /// - Returns: `nil` when equal, else a unified diff (`diff -ruN`) to show in the failure. With
    ///   `FERRY_RECORD_GOLDENS=1` in the environment, `expected` is replaced by `actual` first (and the
    ///   comparison then fails once, saying so, so a re-record is never silent).
    public static func compareDirectories(actual: String, expected: String) -> String? {
        if ProcessInfo.processInfo.environment["FERRY_RECORD_GOLDENS"] == "1" {
            try? FileManager.default.removeItem(atPath: expected)
            try? FileManager.default.createDirectory(
                atPath: (expected as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? FileManager.default.copyItem(atPath: actual, toPath: expected)
            return "recorded a new golden in \(expected); review it with `git diff` and run the tests again"
        }
        guard let result = try? run("/usr/bin/diff", ["-ruN", expected, actual]) else {
            return "could not run diff"
        }
        return result.status == 0 ? nil : "golden mismatch (expected \(expected), actual \(actual)):\n" + result.stdout
    }

    /// Copies a directory tree.
    public static func copyDirectory(_ source: String, to destination: String) throws {
        try? FileManager.default.removeItem(atPath: destination)
        try FileManager.default.copyItem(atPath: source, toPath: destination)
    }
}

extension TestSupport {
    /// Runs the built `ferry` without blocking a thread while it runs (for tests whose sandbox servers
    /// live in the test process: the cooperative pool has only as many threads as cores).
    public static func runFerryAsync(
        _ arguments: [String], environment: [String: String]? = nil, killAfter: Duration? = nil,
        killWhen: (@Sendable () -> Bool)? = nil
    ) async throws -> ProcessResult {
        let running = try CapturedProcess(ferryBinary, arguments, environment: environment, currentDirectory: nil)
        let process = running.process
        if let killAfter {
            try await Task.sleep(for: killAfter)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        if let killWhen {
            // Killed as soon as `killWhen` holds (polled), unless it ends before.
            while process.isRunning && !killWhen() { try await Task.sleep(for: .milliseconds(5)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        while process.isRunning { try await Task.sleep(for: .milliseconds(5)) }
        return running.result()
    }
}

/// A started process whose stdout and stderr go to files (no pipe deadlocks), read back once it ended.
struct CapturedProcess {
    let process = Process()
    private let directory: String
    private let out: FileHandle
    private let err: FileHandle

    /// Starts `executable` with `arguments` (stdin: /dev/null).
    init(_ executable: String, _ arguments: [String], environment: [String: String]?, currentDirectory: String?) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        directory = TestSupport.makeTemporaryDirectory("ferry-proc")
        _ = FileManager.default.createFile(atPath: directory + "/stdout", contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/stderr", contents: nil)
        out = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/stdout"))
        err = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/stderr"))
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// The exit status (128 + the signal when one ended it) and the output; call once the process ended.
    func result() -> TestSupport.ProcessResult {
        try? out.close()
        try? err.close()
        let stdout = (try? String(contentsOfFile: directory + "/stdout", encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: directory + "/stderr", encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: directory)
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return TestSupport.ProcessResult(status: status, stdout: stdout, stderr: stderr)
    }
}
