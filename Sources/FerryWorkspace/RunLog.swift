import FerryCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `runs/<id>/run.json`: when each stage ran in this run, how long it took and how it ended.
///
/// Written by the stage commands and `ferry run`; read by `ferry status` and the report. A stage records
/// its start (with its process id) before it does anything, and replaces that record with its duration and
/// exit code when it ends: a stage killed on the way (SIGKILL, a power cut) leaves its start record, so
/// status can say that it started and did not finish.
public enum RunLog {
    /// One record of `run.json`.
    public struct Record: Sendable, Hashable {
        /// `extract`, `transform` or `load`.
        public var stage: String
        /// When it started (ISO 8601, UTC).
        public var startedAt: String
        /// How long it took; `nil` while it has not finished.
        public var seconds: Double?
        /// Its exit code; `nil` while it has not finished (still running, or killed).
        public var exitCode: Int?
        /// The process that ran it, when recorded.
        public var pid: Int32?
        /// When that process started (`/proc/PID/stat`'s start time, clock ticks after boot), when recorded:
        /// tells it from a later process that got the same id (a container whose first process is Ferry
        /// always has id 1).
        public var processStart: String?
        /// What stopped it, for a stage that could not run (exit 2): the error it printed.
        public var error: String?

        /// Whether the stage ended (with an exit code).
        public var isFinished: Bool { exitCode != nil }

        /// Whether the process that started this unfinished stage is still at work on the run: it holds the
        /// run's lock (`runs/<id>/.lock`; see `FileLock.holders`) and, where both are known, started when the
        /// recorded one did (else it is another process with the same id). Where the system does not list
        /// locks, whether that process still exists.
        public func isRunning(runDirectory: String) -> Bool {
            guard let pid, pid > 0 else { return false }
            if let processStart, let now = RunLog.processStart(pid), now != processStart { return false }
            if let holders = FileLock.holders(of: runDirectory + "/.lock") { return holders.contains(pid) }
            return kill(pid, 0) == 0 || errno == EPERM
        }
    }

    /// When process `pid` started (field 22 of `/proc/PID/stat`), nil where that cannot be read.
    static func processStart(_ pid: Int32) -> String? {
        // The command name (field 2) is in parentheses and may hold spaces: fields are counted after it.
        guard let text = try? FileSystem.readText("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }

    /// This process's id, and its start time when known, for a record.
    private static func processFields() -> [JSONObject.Member] {
        let pid = getpid()
        return [.init("pid", .number(String(pid)))] + (processStart(pid).map { [.init("pid_start", .string($0))] } ?? [])
    }

    /// Records that `stage` starts now in this process.
    ///
    /// - Throws: a `Diagnostic` when the file cannot be written.
    public static func begin(runDirectory: String, stage: String, started: Date) throws(Diagnostic) {
        var stages = entries(runDirectory)
        stages.append(
            .object(
                JSONObject([
                    .init("stage", .string(stage)), .init("started_at", .string(iso8601(started))),
                ] + processFields())))
        try write(stages, runDirectory: runDirectory)
    }

    /// Records how a stage ended: replaces the start record this process wrote for it (see `begin`), or
    /// appends a record when there is none. `error` is what stopped a stage that could not run (the
    /// error it printed, as secret-free as everything Ferry prints), kept so that `ferry status` can say
    /// it later.
    ///
    /// - Throws: a `Diagnostic` when the file cannot be written.
    public static func append(
        runDirectory: String, stage: String, started: Date, finished: Date, exitCode: Int, error: String? = nil
    ) throws(Diagnostic) {
        var stages = entries(runDirectory)
        let record = JSONValue.object(
            JSONObject(
                [
                    .init("stage", .string(stage)),
                    .init("started_at", .string(iso8601(started))),
                    .init("seconds", .number(String(format: "%.3f", finished.timeIntervalSince(started)))),
                    .init("exit", .number(String(exitCode))),
                ] + (error.map { [.init("error", .string($0))] } ?? []) + processFields()))
        let own = stages.lastIndex {
            $0["stage"]?.stringValue == stage && $0["exit"] == nil && $0["pid"]?.scalarText == String(getpid())
                && $0["started_at"]?.stringValue == iso8601(started)
        }
        if let own { stages[own] = record } else { stages.append(record) }
        try write(stages, runDirectory: runDirectory)
    }

    /// Every record of a run, finished or not, in the order the stages started.
    public static func records(runDirectory: String) -> [Record] {
        entries(runDirectory).map { entry in
            Record(
                stage: entry["stage"]?.stringValue ?? "?", startedAt: entry["started_at"]?.stringValue ?? "",
                seconds: entry["seconds"]?.scalarText.flatMap(Double.init),
                exitCode: entry["exit"]?.scalarText.flatMap { Int($0) },
                pid: entry["pid"]?.scalarText.flatMap { Int32($0) }, processStart: entry["pid_start"]?.stringValue,
                error: entry["error"]?.stringValue)
        }
    }

    /// `2026-11-29T08:15:30Z`.
    public static func iso8601(_ date: Date) -> String {
        Timestamp.format(seconds: Int(date.timeIntervalSince1970.rounded(.down)))
    }

    private static func entries(_ runDirectory: String) -> [JSONValue] {
        guard let bytes = try? FileSystem.read(runDirectory + "/run.json"), let value = try? JSONReader.parse(bytes) else {
            return []
        }
        return value["stages"]?.arrayValue ?? []
    }

    private static func write(_ stages: [JSONValue], runDirectory: String) throws(Diagnostic) {
        try FileSystem.writeAtomically(
            JSONWriter().bytes(.object(JSONObject([.init("stages", .array(stages))]))), to: runDirectory + "/run.json")
    }
}
