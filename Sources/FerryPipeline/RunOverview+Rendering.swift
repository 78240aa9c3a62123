import FerryCore

extension RunOverview {
    /// The stages whose latest attempt could not run (exit 2) and did not start again since, each with
    /// what to say about it: the run is not clean, though the counts an earlier attempt left may all look done.
    public var stagesThatCouldNotRun: [(stage: String, advice: String)] {
        let unfinishedStages = Set(unfinished.map(\.stage))
        let latest = Dictionary(timings.map { ($0.stage, $0) }, uniquingKeysWith: { $1 })
        return ["extract", "transform", "load"].compactMap { stage in
            guard let timing = latest[stage], timing.exitCode == 2, !unfinishedStages.contains(stage) else { return nil }
            let rerun = "`ferry \(stage) --run \(runID)`"
            guard let error = timing.error else {
                return (stage, "latest attempt could not run (exit 2, started \(timing.startedAt)): fix what it reported, then \(rerun)")
            }
            return (stage, "latest attempt could not run (exit 2, started \(timing.startedAt)): \(error) — fix that, then \(rerun)")
        }
    }

    /// The schema name written as `schema` in `ferry status --json`.
    public static let schemaName = "ferry-status-1"

    /// The overview as JSON, following the `ferry-status-1` schema (README.md, "ferry status --json").
    ///
    /// - Parameter includeDocuments: whether to list every document (`--documents`).
    public func json(includeDocuments: Bool, state: DocumentState? = nil) -> JSONValue {
        func n(_ value: Int) -> JSONValue { .number(String(value)) }
        func s(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        let extractValue: JSONValue = [
            "state": .string(extract.state), "range_start": s(extract.rangeStart), "range_end": s(extract.rangeEnd),
            "windows": n(extract.windows), "windows_complete": n(extract.completeWindows),
            "windows_incomplete": n(extract.incompleteWindows), "windows_split": n(extract.splitWindows),
            "pages": n(extract.pages), "documents": n(extract.documents), "duplicates": n(extract.duplicates),
        ]
        let transformValue: JSONValue = [
            "state": .string(transform.state), "documents": n(transform.documents), "payloads": n(transform.payloads),
            "rejected": n(transform.rejected), "filtered": n(transform.filtered),
            "superseded_duplicates": n(transform.supersededDuplicates), "files_with_errors": n(transform.filesWithErrors),
            "dropped_lines": n(transform.droppedLines),
        ]
        let byClass = JSONObject(load.failedByClass.keys.sorted().map { .init($0, n(load.failedByClass[$0]!)) })
        let loadValue: JSONValue = [
            "state": .string(load.state), "payloads": n(load.payloads), "loaded": n(load.loaded), "failed": n(load.failed),
            "in_doubt": n(load.inDoubt), "pending": n(load.pending), "changed": n(load.changed),
            "not_produced": n(load.notProduced), "failed_by_class": .object(byClass),
        ]
        var counts = JSONObject()
        for documentState in DocumentState.overviewStates {
            counts.append(documentState.rawValue, n(documents.filter { $0.state == documentState }.count))
        }
        var object = JSONObject([
            .init("schema", .string(Self.schemaName)),
            .init("run", ["id": .string(runID), "directory": .string(runDirectory), "clean": .bool(isClean)]),
            .init("stages", ["extract": extractValue, "transform": transformValue, "load": loadValue]),
            .init("document_states", .object(counts)),
            .init(
                "problems",
                .array(
                    problems.map { p in
                        [
                            "stage": .string(p.stage), "class": .string(p.errorClass), "message": .string(p.message),
                            "field": s(p.field), "count": n(p.documents.count),
                            "documents": .array(p.documents.map(JSONValue.string)),
                            "values": .array(p.values.map(JSONValue.string)), "hint": .string(p.hint),
                        ]
                    })),
            .init(
                "timings",
                .array(
                    timings.map { t in
                        [
                            "stage": .string(t.stage), "started_at": .string(t.startedAt),
                            "seconds": .number(String(format: "%.3f", t.seconds)), "exit": n(t.exitCode), "error": s(t.error),
                        ]
                    })),
            .init(
                "unfinished",
                .array(
                    unfinished.map { u in
                        [
                            "stage": .string(u.stage), "started_at": .string(u.startedAt),
                            "pid": u.pid.map { .number(String($0)) } ?? .null, "running": .bool(u.isRunning),
                        ]
                    })),
        ])
        if includeDocuments {
            object.append(
                "documents",
                .array(
                    documents.filter { state == nil || $0.state == state }.map { d in
                        [
                            "key": s(d.key), "bill_number": s(d.billNumber), "state": .string(d.state.rawValue),
                            "files": .array(d.files.map(JSONValue.string)), "detail": s(d.detail),
                        ]
                    }))
        }
        return .object(object)
    }

    /// The overview as text for a terminal: stage counts, then problems with hints.
    public func text(includeDocuments: Bool, state: DocumentState? = nil) -> String {
        var lines: [String] = ["run \(runID)  (\(runDirectory))"]
        switch extract.state {
        case "not_started":
            lines.append("  extract    not run")
        default:
            lines.append(
                "  extract    \(extract.state): \(extract.windows) window(s) (\(extract.completeWindows) complete, "
                    + "\(extract.incompleteWindows) incomplete), \(extract.pages) page(s), \(extract.documents) document(s)"
                    + (extract.duplicates > 0 ? ", \(extract.duplicates) repeated" : "")
                    + (extract.rangeStart.map { "  [\($0) … \(extract.rangeEnd ?? "")]" } ?? ""))
        }
        if transform.state == "not_started" {
            lines.append("  transform  not run")
        } else {
            lines.append(
                "  transform  \(transform.documents) document(s) → \(transform.payloads) payload(s), \(transform.rejected) rejected, "
                    + "\(transform.filtered) filtered, \(transform.supersededDuplicates) superseded duplicate(s)"
                    + (transform.filesWithErrors > 0 ? ", \(transform.filesWithErrors) unreadable file(s)" : ""))
        }
        if load.state == "not_started" {
            lines.append("  load       not run (\(load.payloads) payload(s) pending)")
        } else {
            let classes = load.failedByClass.keys.sorted().map { "\($0) \(load.failedByClass[$0]!)" }.joined(separator: ", ")
            lines.append(
                "  load       \(load.loaded) loaded, \(load.failed) failed\(classes.isEmpty ? "" : " (\(classes))"), "
                    + "\(load.inDoubt) in doubt, \(load.pending) pending, \(load.changed) changed"
                    + (load.notProduced > 0 ? ", \(load.notProduced) loaded earlier but no longer produced" : ""))
        }
        // A stage whose latest attempt could not run (exit 2) keeps the run from being clean, while the counts
        // above come from the files an earlier attempt left and may all look done: say which one it was.
        for (stage, advice) in stagesThatCouldNotRun {
            lines.append("  \(stage.padding(toLength: 9, withPad: " ", startingAt: 0))  \(advice)")
        }
        if problems.isEmpty {
            lines.append(isClean ? "no problems" : "no problems recorded, but the run is not finished: see the stages above")
        } else {
            lines.append("problems:")
            for p in problems {
                let docs = p.documents.prefix(5).joined(separator: ", ") + (p.documents.count > 5 ? ", …" : "")
                let values = p.values.isEmpty ? "" : " for " + p.values.prefix(6).joined(separator: ", ") + (p.values.count > 6 ? ", …" : "")
                if p.documents.isEmpty {
                    // A problem of a stage, not of documents (a stage that did not finish).
                    lines.append("  [\(p.stage)/\(p.errorClass)] \(p.message)\(values)")
                } else {
                    lines.append(
                        "  [\(p.stage)/\(p.errorClass)] \(p.documents.count) document(s): \(p.field.map { "\($0): " } ?? "")\(p.message)\(values)")
                    lines.append("      documents: \(docs)")
                }
                lines.append("      → \(p.hint)")
            }
        }
        if includeDocuments {
            lines.append("documents:")
            for d in documents where state == nil || d.state == state {
                let id = [d.key, d.billNumber.flatMap { $0 == d.key ? nil : $0 }].compactMap { $0 }.joined(separator: " / ")
                lines.append(
                    "  \(d.state.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(id)  \(d.files.joined(separator: " "))"
                        + (d.detail.map { "  — \($0)" } ?? ""))
            }
        }
        return lines.joined(separator: "\n")
    }
}
