import FerryCore
import FerryKingdee
import FerryTemplate
import FerryWDT
import Foundation

/// One document's whole story in a run (`ferry status --document KEY`): where the extract received it
/// (every version), what the transform made of it, every load send and its outcome, its state and what to
/// do next. Built from the overview's document and the manifests the overview read; paths are relative
/// to the workspace (`runs/<id>/…`), so that they can be `cat`-ed from it.
public struct DocumentStory: Sendable, Hashable {
    /// One version of the document the run received (an order received twice has two).
    public struct Version: Sendable, Hashable {
        /// The input file (a page of the extract), relative to the workspace when it is in it.
        public var file: String
        /// Where in the file (`$.response.stockin_list[3]`).
        public var jsonPath: String
        /// The line, for JSON Lines input.
        public var line: Int?
        /// Its version (`modified`), from the transform's manifest or the page.
        public var modified: String?
        /// The extract window whose pages held it (`start … end`), when the run extracted it.
        public var window: String?
        /// That window's verdict (`complete`, `incomplete`).
        public var windowVerdict: String?
        /// Whether the transform used this version (the others were superseded by it).
        public var used: Bool
    }

    /// One reason a transform rejected the document, or an error Kingdee gave.
    public struct Reason: Sendable, Hashable {
        public var field: String?
        /// Where in the input (transform) or the payload entry index (`DIndex`, load).
        public var location: String?
        public var message: String
    }

    /// What the transform made of the (used version of the) document.
    public struct Transform: Sendable, Hashable {
        /// `payload`, `rejected`, `filtered`, or `not_listed` (known from load files only: the transform no
        /// longer produces it).
        public var outcome: String
        /// The payload or reject file.
        public var file: String?
        /// The payload file's SHA-256 (as it is on disk; the manifest's when the file is gone).
        public var sha256: String?
        /// Lines of the bill (payload).
        public var lines: Int?
        /// The rejection reasons.
        public var reasons: [Reason] = []
        /// The filter's reason and what it saw (filtered).
        public var filterReason: String?
        public var filterDetail: String?
    }

    /// The receipt of a loaded document.
    public struct Receipt: Sendable, Hashable {
        public var file: String
        public var kingdeeID: String?
        public var kingdeeNumber: String?
        public var loadedAt: String?
        public var batch: String?
        public var how: String?
        /// When the bill was submitted and audited (`target.after_save`), as the receipt records it.
        public var submittedAt: String?
        public var auditedAt: String?
    }

    /// The error file of a failed document.
    public struct LoadError: Sendable, Hashable {
        public var file: String
        /// `data`, `retryable`, `duplicate`, `config`.
        public var errorClass: String
        /// `kingdee`, or `ferry` (a local check refused it before sending).
        public var source: String?
        public var errors: [Reason]
        public var batch: String?
        public var attempts: Int?
        public var failedAt: String?
    }

    /// The document as `--documents` lists it (key, bill number, state, files, detail).
    public var document: DocumentStatus
    /// Every version received, the used one first.
    public var versions: [Version] = []
    /// The transform's outcome; nil when the transform has not run.
    public var transform: Transform?
    /// Every journal send of its payload, in order.
    public var sends: [LoadJournal.Send] = []
    public var receipt: Receipt?
    public var error: LoadError?
    /// Its earlier failures whose error files a later success replaced (the journal's `superseded`
    /// lines), oldest first.
    public var earlierFailures: [LoadJournal.SupersededError] = []
    /// What to do next: the hints of the problem groups that name it, or what its state calls for.
    public var next: [String] = []

    /// For a saved bill in doubt, the Submit or Audit (`submit`, `audit`) that was sent and never answered:
    /// what is in doubt is that step, not the save. Nil otherwise.
    public var stepInDoubt: String? {
        guard document.state == .inDoubt, receipt != nil else { return nil }
        return sends.last { ($0.kind == "submit" || $0.kind == "audit") && $0.settlement == nil }?.kind
    }

    /// Whether nothing is left to do: loaded (and still produced) or filtered. `ferry status --document`
    /// exits 0 only when every document it shows is.
    public var isDone: Bool {
        (document.state == .loaded && !next.contains { $0.contains("Ferry never deletes bills") }) || document.state == .filtered
    }
}

extension RunOverview {
    /// Reads a run directory and tells the story of every document whose key (`stockin_no`) or bill number
    /// (`FBillNo`) is `query`, exactly as written; none when no document of the run has it.
    ///
    /// - Throws: a `Diagnostic` when a manifest exists but cannot be read (as `read` does).
    public static func documentStories(
        _ query: String, runDirectory: String, runID: String, template: MappingTemplate? = nil,
        afterSave: KingdeeTargetConfig.AfterSave? = nil
    ) throws(Diagnostic) -> (overview: RunOverview, stories: [DocumentStory]) {
        let (overview, files) = try readWithFiles(
            runDirectory: runDirectory, runID: runID, template: template, afterSave: afterSave)
        var stories = overview.documents.filter { $0.key == query || $0.billNumber == query }.map { document in
            overview.story(of: document, files: files, template: template)
        }
        // Not among the transform's documents: it may be extracted and not transformed yet.
        if stories.isEmpty, let story = overview.extractedStory(query, files: files, template: template) {
            stories = [story]
        }
        return (overview, stories)
    }

    /// The story of a document the extract received and the transform has not read yet: every version whose
    /// key (the scheme's `source key`, `stockin_no`) is `key` in the pages of the extract manifest that the
    /// transform's manifest does not list as inputs with the same SHA-256 — every page before the first
    /// transform, none once the transform has read them all, so that a transformed run reads no page. A page
    /// is parsed only when its bytes hold the key. Nil when no such page has it.
    func extractedStory(_ key: String, files: RunFiles, template: MappingTemplate?) -> DocumentStory? {
        guard let extract = files.extract, !key.isEmpty else { return nil }
        let transformed = Set(
            (files.transform?["inputs"]?.arrayValue ?? []).compactMap { input in
                input["file"]?.stringValue.map { inWorkspace(recorded: $0) + " " + (input["sha256"]?.stringValue ?? "") }
            })
        let keyField = template?.source.key ?? "stockin_no"
        let listField = template?.source.list ?? "stockin_list"
        let versionField = template?.source.versionField ?? "modified"
        // A key JSON never escapes is found in the bytes as written; any other is looked for after parsing.
        let plain = key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) }
        let needle = Array(key.utf8)
        var versions: [DocumentStory.Version] = []
        var pages: [String] = []
        for window in extract.windows where window.verdict != .split {
            for page in window.pages where !transformed.contains(inWorkspace("extract/" + page.file) + " " + page.sha256) {
                guard let bytes = try? FileSystem.read(runDirectory + "/extract/" + page.file),
                    !plain || bytes.firstRange(of: needle) != nil,
                    let root = try? JSONReader.parse(bytes)
                else { continue }
                // Both gateways' pages: Qimen's under `response`, the open API's at the top.
                let (list, path) = root["response"]?[listField]?.arrayValue.map { ($0, "$.response.\(listField)") }
                    ?? (root[listField]?.arrayValue ?? [], "$.\(listField)")
                for (index, order) in list.enumerated() where order[keyField]?.scalarText == key {
                    versions.append(
                        DocumentStory.Version(
                            file: inWorkspace("extract/" + page.file), jsonPath: "\(path)[\(index)]",
                            modified: order[versionField]?.scalarText, window: "\(window.start) … \(window.end)",
                            windowVerdict: window.verdict.rawValue, used: false))
                    if !pages.contains(page.file) { pages.append(page.file) }
                }
            }
        }
        guard !versions.isEmpty else { return nil }
        var story = DocumentStory(
            document: DocumentStatus(
                key: key, billNumber: nil, state: .extracted, files: pages.map { "extract/" + $0 },
                detail: "received by the extract; not transformed yet"))
        story.versions = versions
        story.next = nextSteps(for: story)
        return story
    }

    /// `path` (relative to the run directory) relative to the workspace.
    func inWorkspace(_ path: String) -> String { "runs/\(runID)/" + path }

    /// A path the transform recorded (absolute, or as it was given) relative to the workspace when it is
    /// inside this run or the workspace.
    func inWorkspace(recorded path: String) -> String {
        if let range = path.range(of: "/runs/\(runID)/") { return String(path[path.index(after: range.lowerBound)...]) }
        if path.hasPrefix("runs/\(runID)/") { return path }
        let root = URL(fileURLWithPath: runDirectory).deletingLastPathComponent().deletingLastPathComponent().path + "/"
        return path.hasPrefix(root) ? String(path.dropFirst(root.count)) : path
    }

    private func story(of document: DocumentStatus, files: RunFiles, template: MappingTemplate?) -> DocumentStory {
        var story = DocumentStory(document: document)
        let transformDirectory = runDirectory + "/transform"
        let manifest = files.transform
        func entries(_ section: String) -> [JSONValue] { manifest?[section]?.arrayValue ?? [] }

        // The transform's entry for the document: its payload, reject or filter entry.
        var source: JSONValue?
        let payloadName = document.files.lazy.compactMap(Self.payloadName).first
        if manifest != nil {
            if document.state == .rejected,
                let entry = entries("rejected").first(where: { $0["key"]?.scalarText == document.key })
            {
                let file = entry["file"]?.stringValue ?? ""
                let reject = Self.readJSON(transformDirectory + "/" + file)
                story.transform = DocumentStory.Transform(
                    outcome: "rejected", file: inWorkspace("transform/" + file),
                    reasons: (reject?["reasons"]?.arrayValue ?? []).map { r in
                        DocumentStory.Reason(
                            field: r["field"]?.stringValue,
                            location: r["json_path"]?.stringValue.map { path in
                                path + (r["template_line"]?.scalarText.map { " (template line \($0))" } ?? "")
                            },
                            message: r["message"]?.stringValue ?? "")
                    })
                source = entry["source"]
            } else if document.state == .filtered,
                let entry = entries("filtered").first(where: { $0["key"]?.scalarText == document.key })
            {
                story.transform = DocumentStory.Transform(
                    outcome: "filtered", filterReason: entry["reason"]?.stringValue, filterDetail: entry["detail"]?.stringValue)
                source = entry["source"]
            } else if let payloadName,
                let entry = entries("outputs").first(where: { $0["file"]?.stringValue == payloadName + ".json" })
            {
                let path = transformDirectory + "/" + payloadName + ".json"
                story.transform = DocumentStory.Transform(
                    outcome: "payload", file: inWorkspace("transform/" + payloadName + ".json"),
                    sha256: (try? FileSystem.read(path)).map { Hashing.sha256Hex($0) } ?? entry["sha256"]?.stringValue,
                    lines: entry["lines"]?.scalarText.flatMap { Int($0) })
                source = entry["source"]
            } else {
                story.transform = DocumentStory.Transform(
                    outcome: "not_listed", file: payloadName.map { inWorkspace("transform/" + $0 + ".json") })
            }
        }

        // Every version received: the used one and those it superseded (the manifest's duplicates), each
        // with the window whose pages held it.
        let duplicate = document.key.flatMap { key in entries("duplicates").first { $0["key"]?.scalarText == key } }
        var origins: [(JSONValue, used: Bool)] = []
        if let duplicate {
            if let used = duplicate["used"] { origins.append((used, true)) }
            origins += (duplicate["superseded"]?.arrayValue ?? []).map { ($0, false) }
        } else if let source {
            origins.append((source, true))
        }
        story.versions = origins.map { origin, used in
            version(origin, used: used, extract: files.extract, versionField: template?.source.versionField)
        }

        // Load: every send, and the receipt or error file.
        if let payloadName {
            story.sends = files.journal?.sends(of: payloadName) ?? []
            story.earlierFailures = files.journal?.supersededErrors(of: payloadName) ?? []
            let receiptPath = PayloadDirectory.receiptPath(directory: transformDirectory, name: payloadName)
            if let receipt = Self.readJSON(receiptPath) {
                story.receipt = DocumentStory.Receipt(
                    file: inWorkspace("transform/" + payloadName + ".receipt.json"),
                    kingdeeID: receipt["kingdee"]?["Id"]?.scalarText, kingdeeNumber: receipt["kingdee"]?["Number"]?.scalarText,
                    loadedAt: receipt["loaded_at"]?.stringValue, batch: receipt["batch"]?.stringValue,
                    how: receipt["how"]?.stringValue, submittedAt: receipt["submitted_at"]?.stringValue,
                    auditedAt: receipt["audited_at"]?.stringValue)
            }
            let errorPath = PayloadDirectory.errorPath(directory: transformDirectory, name: payloadName)
            // With a receipt, only a failed Submit or Audit (its error file names the step) is still an error.
            if let error = Self.readJSON(errorPath), story.receipt == nil || error["step"] != nil {
                story.error = DocumentStory.LoadError(
                    file: inWorkspace("transform/" + payloadName + ".error.json"),
                    errorClass: error["class"]?.stringValue ?? "data", source: error["source"]?.stringValue,
                    errors: (error["errors"]?.arrayValue ?? []).map { e in
                        DocumentStory.Reason(
                            field: e["field"]?.stringValue, location: e["DIndex"]?.scalarText.map { "DIndex \($0)" },
                            message: e["message"]?.stringValue ?? "")
                    },
                    batch: error["batch"]?.stringValue, attempts: error["attempts"]?.scalarText.flatMap { Int($0) },
                    failedAt: error["failed_at"]?.stringValue)
            }
        } else if document.state == .inDoubt, let number = document.billNumber, let journal = files.journal {
            // In an unsettled batch, its payload not listed: the journal names it by payload, here its bill number.
            let names = Set(journal.unsettled.flatMap { $0.documents.filter { $0.billNumber == number }.map(\.name) })
            story.sends = names.sorted().flatMap { journal.sends(of: $0) }
            story.earlierFailures = names.sorted().flatMap { journal.supersededErrors(of: $0) }
        }

        story.next = nextSteps(for: story)
        return story
    }

    /// The payload name of a file the overview lists for a document (`transform/RK1.json`,
    /// `transform/RK1.receipt.json`, `transform/RK1.error.json`); nil for a reject file.
    static func payloadName(_ file: String) -> String? {
        guard file.hasPrefix("transform/"), !file.hasSuffix(".reject.json") else { return nil }
        let name = String(file.dropFirst("transform/".count))
        for suffix in [".receipt.json", ".error.json", ".json"] where name.hasSuffix(suffix) {
            return String(name.dropLast(suffix.count))
        }
        return nil
    }

    /// One version, from a manifest origin (`file`, `path`, `line`, and `version` in a duplicates entry).
    private func version(_ origin: JSONValue, used: Bool, extract: ExtractManifest?, versionField: String?) -> DocumentStory.Version {
        let recorded = origin["file"]?.stringValue ?? ""
        let file = inWorkspace(recorded: recorded)
        let jsonPath = origin["path"]?.stringValue ?? "$"
        var version = DocumentStory.Version(
            file: file, jsonPath: jsonPath, line: origin["line"]?.scalarText.flatMap { Int($0) },
            modified: origin["version"]?.scalarText, used: used)
        // The window whose pages include the file (page paths are relative to extract/).
        let prefix = "runs/\(runID)/extract/"
        if let extract, file.hasPrefix(prefix) {
            let page = String(file.dropFirst(prefix.count))
            let directory = page.split(separator: "/").first.map(String.init)
            if let window = extract.windows.first(where: { $0.pages.contains { $0.file == page } })
                ?? extract.windows.first(where: { $0.window.directoryName == directory })
            {
                version.window = "\(window.start) … \(window.end)"
                version.windowVerdict = window.verdict.rawValue
            }
        }
        // A version the manifest does not record (the document was received once): read it from the page.
        if version.modified == nil, origin["version"] == nil, version.line == nil {
            let field = versionField ?? "modified"
            let path = recorded.hasPrefix("/") ? recorded : inputPath(recorded)
            if let value = (try? JSONReader.parseFile(path)).flatMap({ Self.follow(jsonPath, in: $0) }) {
                version.modified = value[field]?.scalarText
            }
        }
        return version
    }

    /// A relative path the transform recorded, as a path from here: under the workspace when it is there.
    private func inputPath(_ recorded: String) -> String {
        let relative = inWorkspace(recorded: recorded)
        guard relative.hasPrefix("runs/\(runID)/") else { return recorded }
        return runDirectory + "/" + relative.dropFirst("runs/\(runID)/".count)
    }

    /// The value at a path the transform wrote (`$.response.stockin_list[3]`, `$[0]`, `$`).
    static func follow(_ path: String, in root: JSONValue) -> JSONValue? {
        guard path.hasPrefix("$") else { return nil }
        var value: JSONValue? = root
        var rest = Substring(path.dropFirst())
        while let first = rest.first, value != nil {
            if first == "." {
                rest = rest.dropFirst()
                let name = rest.prefix { $0 != "." && $0 != "[" }
                value = value?[String(name)]
                rest = rest.dropFirst(name.count)
            } else if first == "[" {
                let digits = rest.dropFirst().prefix { $0 != "]" }
                guard let index = Int(digits), let array = value?.arrayValue, array.indices.contains(index) else { return nil }
                value = array[index]
                rest = rest.dropFirst(digits.count + 2)
            } else {
                return nil
            }
        }
        return value
    }

    /// What to do next: the hints of the problem groups that name the document (or its window), else what
    /// its state calls for.
    private func nextSteps(for story: DocumentStory) -> [String] {
        let document = story.document
        let labels = Set([document.key, document.billNumber].compactMap { $0 })
        let windows = Set(story.versions.compactMap(\.window))
        var hints: [String] = []
        for problem in problems where !problem.documents.isEmpty {
            let names = problem.stage == "extract" ? windows : labels
            guard problem.documents.contains(where: names.contains), !hints.contains(problem.hint) else { continue }
            hints.append(problem.hint)
        }
        if !hints.isEmpty { return hints }
        switch document.state {
        case .loaded: return ["nothing: the bill is in Kingdee"]
        case .filtered: return ["nothing: the scheme's filter leaves it out; change the filter and `ferry transform --run \(runID)` to book it"]
        // Saved, a step `after_save` asks for still to do (a receipt, and for the load a payload to read).
        case .pending where story.receipt != nil && !document.files.contains(where: { PayloadDirectory.isPayload(String($0.split(separator: "/").last ?? "")) }):
            return ["`ferry transform --run \(runID)` writes its payload again, then `ferry load --run \(runID)` asks Kingdee its "
                + "FDocumentStatus and sends only the steps `target.after_save` still asks for"]
        case .pending where story.receipt != nil:
            return ["`ferry load --run \(runID)` asks Kingdee its FDocumentStatus and sends only the steps `target.after_save` "
                + "still asks for"]
        case .pending: return ["`ferry load --run \(runID)` sends it"]
        case .inDoubt:
            if story.stepInDoubt != nil {
                return ["`ferry load --run \(runID)` asks Kingdee its FDocumentStatus and records it in the receipt, then sends "
                    + "only the steps `target.after_save` still asks for (none without its payload)"]
            }
            return ["`ferry load --run \(runID)` asks Kingdee whether it was saved before sending anything"]
        case .rejected: return ["fix the source data, the template or the lookups, then `ferry transform --run \(runID)` and `ferry load --run \(runID)`"]
        case .failed: return ["fix what the error file says, then `ferry load --run \(runID) --retry-failed`"]
        case .changed: return ["compare the payload with the receipt and update the bill in Kingdee by hand (Ferry does not send it twice)"]
        case .extracted: return ["`ferry transform --run \(runID)` transforms it, then `ferry load --run \(runID)` loads it"]
        }
    }
}

extension DocumentStory {
    /// The story as text for a terminal: one screen, paths relative to the workspace.
    public func text(runID: String) -> String {
        var lines: [String] = []
        let indent = "             "
        func add(_ label: String, _ text: String) {
            lines.append("  " + label.padding(toLength: 11, withPad: " ", startingAt: 0) + text)
        }
        let id = "document " + (document.key ?? "(no key)")
            + (document.billNumber.map { $0 == document.key ? "" : "  bill \($0)" } ?? "")
        lines.append("\(id)  \(document.state.rawValue)  (run \(runID))")

        // Extract.
        func place(_ v: Version) -> String { "\(v.file) \(v.jsonPath)" + (v.line.map { " line \($0)" } ?? "") }
        func facts(_ v: Version) -> String {
            [v.modified.map { "modified \($0)" }, v.window.map { "window \($0) (\(v.windowVerdict ?? "?"))" }]
                .compactMap { $0 }.joined(separator: ", ")
        }
        if versions.isEmpty {
            add("extract", transform == nil ? "not transformed yet: its page is not known" : "no version on record")
        } else if versions.count == 1, let v = versions.first {
            add("extract", place(v))
            if !facts(v).isEmpty { lines.append(indent + facts(v)) }
        } else if document.state == .extracted {
            add("extract", "\(versions.count) versions received; the transform will use the newest")
            for v in versions {
                lines.append(indent + "received    " + place(v))
                lines.append(indent + "            " + facts(v))
            }
        } else {
            add("extract", "\(versions.count) versions received; the transform used the newest")
            for v in versions {
                lines.append(indent + (v.used ? "used        " : "superseded  ") + place(v))
                lines.append(indent + "            " + facts(v) + (v.used ? "" : " — superseded by the used version"))
            }
        }

        // Transform.
        if let t = transform {
            switch t.outcome {
            case "payload":
                add("transform", "payload \(t.file ?? "")" + (t.lines.map { " (\($0) line(s))" } ?? ""))
                if let sha = t.sha256 { lines.append(indent + "sha256 \(sha)") }
            case "rejected":
                add("transform", "rejected: \(t.file ?? "")")
                for r in t.reasons {
                    lines.append(indent + "- " + (r.field.map { "\($0): " } ?? "") + r.message + (r.location.map { "  [\($0)]" } ?? ""))
                }
            case "filtered":
                add("transform", "filtered: \(t.filterReason ?? "")" + (t.filterDetail.map { " (\($0))" } ?? ""))
            default:
                add("transform", "not in the transform's manifest: the transform no longer produces it"
                    + (t.file.map { " (was \($0))" } ?? ""))
            }
            if let used = versions.first(where: \.used) { lines.append(indent + "read from \(place(used))") }
        } else if document.state == .extracted {
            add("transform", "not yet: the transform has not read " + (document.files.count == 1 ? "its page" : "these pages"))
        } else {
            add("transform", "not run")
        }

        // Load.
        var loadLines: [String] = []
        for s in sends {
            var line = s.batch + (s.kind == "inherited" ? " (inherited from run \(s.fromRun ?? "?") batch \(s.fromBatch ?? "?"))" : "")
                + (s.kind == "submit" || s.kind == "audit" ? " (\(s.kind))" : "")
            if let attempt = s.attempt { line += " attempt \(attempt)" }
            if let at = s.at { line += ", sent \(at)" }
            if let reason = s.reason { line += " (\(reason))" }
            if let settlement = s.settlement {
                // A step call whose answer was lost is settled by asking its bills' FDocumentStatus ("no answer: …").
                line += settlement.kind == "settled"
                    ? (settlement.summary.hasPrefix("no answer") ? ": \(settlement.summary)" : ": answered, \(settlement.summary)")
                    : ": outcome unknown; \(settlement.summary)"
            } else {
                line += ": no answer recorded (in doubt)"
            }
            loadLines.append(line)
        }
        for f in earlierFailures {
            loadLines.append(
                (f.step.map { "\($0) failed earlier" } ?? "failed earlier") + ": class \(f.errorClass)"
                    + (f.source == "ferry" ? " (Ferry's local check; not sent)" : "") + (f.batch.map { ", batch \($0)" } ?? "")
                    + (f.attempts.map { ", \($0) attempt(s)" } ?? "") + (f.failedAt.map { ", at \($0)" } ?? "")
                    + "; its error file was replaced by a later success" + (f.at.map { " at \($0)" } ?? ""))
            for m in f.messages { loadLines.append("- " + (m.field.map { "\($0): " } ?? "") + m.text) }
        }
        if let r = receipt {
            let kingdee = [r.kingdeeID.map { "Kingdee Id \($0)" }, r.kingdeeNumber.map { "number \($0)" }].compactMap { $0 }
            loadLines.append(
                "receipt \(r.file)" + (kingdee.isEmpty ? "" : ": " + kingdee.joined(separator: ", "))
                    + (r.loadedAt.map { ", \(r.how ?? "loaded") at \($0)" } ?? "")
                    + (r.submittedAt.map { ", submitted at \($0)" } ?? "") + (r.auditedAt.map { ", audited at \($0)" } ?? ""))
        }
        if let e = error {
            loadLines.append(
                "error \(e.file): class \(e.errorClass)" + (e.source == "ferry" ? " (Ferry's local check; not sent)" : "")
                    + (e.attempts.map { ", \($0) attempt(s)" } ?? "") + (e.failedAt.map { ", at \($0)" } ?? ""))
            for r in e.errors { loadLines.append("- " + (r.field.map { "\($0): " } ?? "") + r.message) }
        }
        switch document.state {
        case .pending where receipt == nil: loadLines.append("pending: not sent yet")
        case .inDoubt:
            loadLines.append(
                stepInDoubt.map { "in doubt: saved; its \($0) was sent, and no answer says whether Kingdee did it" }
                    ?? "in doubt: sent, and no answer says whether Kingdee saved it")
        case .changed: loadLines.append("changed since loaded: the payload's SHA-256 is not the receipt's; not sent again")
        default: break
        }
        if loadLines.isEmpty && document.state == .extracted {
            add("load", "nothing yet: it has no payload until it is transformed")
        } else if loadLines.isEmpty {
            add("load", transform?.outcome == "payload" || transform?.outcome == "not_listed" ? "not run" : "nothing to load")
        } else {
            add("load", loadLines[0])
            for line in loadLines.dropFirst() { lines.append(indent + line) }
        }

        // A rejected or failed document's reasons are shown above already.
        let detail = [.rejected, .failed, .filtered].contains(document.state) ? nil : document.detail
        add("state", document.state.rawValue + (detail.map { " — \($0)" } ?? ""))
        add("next", next.first ?? "")
        for hint in next.dropFirst() { lines.append(indent + hint) }
        return lines.joined(separator: "\n")
    }

    /// The story as a JSON object (a member of `document.matches` in `ferry status --document --json`).
    public var json: JSONValue {
        func s(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        func n(_ value: Int?) -> JSONValue { value.map { .number(String($0)) } ?? .null }
        func reasons(_ list: [Reason]) -> JSONValue {
            .array(list.map { ["field": s($0.field), "location": s($0.location), "message": .string($0.message)] })
        }
        let transformValue: JSONValue = transform.map { t in
            [
                "outcome": .string(t.outcome), "file": s(t.file), "sha256": s(t.sha256), "lines": n(t.lines),
                "reasons": reasons(t.reasons), "filter_reason": s(t.filterReason), "filter_detail": s(t.filterDetail),
            ]
        } ?? .null
        return [
            "key": s(document.key), "bill_number": s(document.billNumber), "state": .string(document.state.rawValue),
            "detail": s(document.detail),
            "versions": .array(
                versions.map { v in
                    [
                        "file": .string(v.file), "json_path": .string(v.jsonPath), "line": n(v.line), "modified": s(v.modified),
                        "window": s(v.window), "window_verdict": s(v.windowVerdict), "used": .bool(v.used),
                    ]
                }),
            "transform": transformValue,
            "sends": .array(
                sends.map { send in
                    [
                        "batch": .string(send.batch), "kind": .string(send.kind), "at": s(send.at), "attempt": n(send.attempt),
                        "reason": s(send.reason), "from_run": s(send.fromRun), "from_batch": s(send.fromBatch),
                        "settlement": send.settlement.map { st in
                            ["kind": .string(st.kind), "at": s(st.at), "summary": .string(st.summary)]
                        } ?? .null,
                    ]
                }),
            "receipt": receipt.map { r in
                [
                    "file": .string(r.file), "kingdee_id": s(r.kingdeeID), "kingdee_number": s(r.kingdeeNumber),
                    "loaded_at": s(r.loadedAt), "batch": s(r.batch), "how": s(r.how),
                    "submitted_at": s(r.submittedAt), "audited_at": s(r.auditedAt),
                ]
            } ?? .null,
            "earlier_failures": .array(
                earlierFailures.map { f in
                    [
                        "superseded_at": s(f.at), "failed_at": s(f.failedAt), "class": .string(f.errorClass), "step": s(f.step),
                        "source": s(f.source), "batch": s(f.batch), "attempts": n(f.attempts),
                        "errors": reasons(
                            f.messages.map { Reason(field: $0.field, location: $0.dIndex.map { "DIndex \($0)" }, message: $0.text) }),
                    ]
                }),
            "error": error.map { e in
                [
                    "file": .string(e.file), "class": .string(e.errorClass), "source": s(e.source), "errors": reasons(e.errors),
                    "batch": s(e.batch), "attempts": n(e.attempts), "failed_at": s(e.failedAt),
                ]
            } ?? .null,
            "next": .array(next.map(JSONValue.string)),
            "done": .bool(isDone),
        ]
    }
}

extension RunOverview {
    /// `ferry status --document KEY --json`: the overview (without its document list) and `document`, the
    /// query and the story of every document that matched it.
    public func json(document query: String, stories: [DocumentStory]) -> JSONValue {
        guard case .object(var object) = json(includeDocuments: false) else { return .null }
        object.append("document", ["query": .string(query), "matches": .array(stories.map(\.json))])
        return .object(object)
    }
}
