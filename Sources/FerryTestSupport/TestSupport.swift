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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let dir = makeTemporaryDirectory("ferry-proc")
        let outPath = dir + "/stdout", errPath = dir + "/stderr"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? out.close()
        try? err.close()
        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: dir)
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return ProcessResult(status: status, stdout: stdout, stderr: stderr)
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ferryBinary)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let dir = makeTemporaryDirectory("ferry-proc")
        FileManager.default.createFile(atPath: dir + "/stdout", contents: nil)
        FileManager.default.createFile(atPath: dir + "/stderr", contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/stdout"))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/stderr"))
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
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
        try? out.close()
        try? err.close()
        let stdout = (try? String(contentsOfFile: dir + "/stdout", encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: dir + "/stderr", encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: dir)
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return ProcessResult(status: status, stdout: stdout, stderr: stderr)
    }
}
