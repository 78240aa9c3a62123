import FerryCore
import Foundation

/// `runs/<id>/run.json`: when each stage ran in this run, how long it took and how it ended.
///
/// Written by the stage commands and `ferry run`; read by `ferry status` and the report.
public enum RunLog {
    /// Appends one stage record.
    ///
    /// - Throws: a `Diagnostic` when the file cannot be written.
    public static func append(
        runDirectory: String, stage: String, started: Date, finished: Date, exitCode: Int
    ) throws(Diagnostic) {
        let path = runDirectory + "/run.json"
        var stages = (try? FileSystem.read(path)).flatMap { try? JSONReader.parse($0) }?["stages"]?.arrayValue ?? []
        stages.append(
            .object(
                JSONObject([
                    .init("stage", .string(stage)),
                    .init("started_at", .string(iso8601(started))),
                    .init("seconds", .number(String(format: "%.3f", finished.timeIntervalSince(started)))),
                    .init("exit", .number(String(exitCode))),
                ])))
        try FileSystem.writeAtomically(
            JSONWriter().bytes(.object(JSONObject([.init("stages", .array(stages))]))), to: path)
    }

    /// The records of a run, oldest first (empty when there are none).
    public static func read(runDirectory: String) -> [(stage: String, startedAt: String, seconds: Double, exitCode: Int)] {
        guard let bytes = try? FileSystem.read(runDirectory + "/run.json"), let value = try? JSONReader.parse(bytes) else {
            return []
        }
        return (value["stages"]?.arrayValue ?? []).map { entry in
            (
                entry["stage"]?.stringValue ?? "?", entry["started_at"]?.stringValue ?? "",
                Double(entry["seconds"]?.scalarText ?? "") ?? 0, Int(entry["exit"]?.scalarText ?? "") ?? 0
            )
        }
    }

    /// `2026-11-29T08:15:30Z`.
    public static func iso8601(_ date: Date) -> String {
        Timestamp.format(seconds: Int(date.timeIntervalSince1970.rounded(.down)))
    }
}
