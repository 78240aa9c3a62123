import FerryCore
import Foundation
import Yams

/// A setting from `ferry.yaml`, as written, with its line, so every message can point at it.
public struct ConfigEntry: Sendable, Hashable {
    /// Dotted key, such as `source.app_secret`.
    public var key: String
    /// The text as written (before `${NAME}` interpolation).
    public var raw: String
    /// 1-based line in `ferry.yaml`.
    public var line: Int
}

/// The parsed `ferry.yaml` of a workspace.
///
/// Values are kept as written and interpolated only when a stage asks for them, so a missing
/// `WDT_APP_SECRET` stops `ferry extract` with a message naming it but never stops an offline
/// `ferry transform`. `${NAME}` reads the environment variable `NAME`; `$$` is a literal `$`.
public struct WorkspaceConfig: Sendable {
    /// The highest `version:` this Ferry understands.
    public static let highestSupportedVersion = 1

    /// Every key Ferry knows. An unknown key is an error (it is nearly always a typo).
    public static let knownKeys: Set<String> = [
        "version", "scheme", "org_number", "settings",
        "source.api", "source.url", "source.sid", "source.app_key", "source.app_secret", "source.target_app_key",
        "source.method", "source.requests_per_second", "source.page_size", "source.window_days",
        "source.lookback_minutes", "source.lag_seconds", "source.timeout_seconds", "source.max_retries",
        "source.start", "source.max_window_documents", "source.chinese_length", "source.retry_delay_seconds",
        "source.max_window_passes",
        "target.url", "target.auth", "target.acct_id", "target.username", "target.app_id", "target.app_secret",
        "target.password", "target.lcid", "target.org_number", "target.batch_size", "target.batch_count",
        "target.concurrency", "target.timeout_seconds", "target.insecure_tls", "target.max_retries",
        "target.retry_delay_seconds", "target.in_doubt_recheck_seconds", "target.existence_check_org_field",
        "target.after_save", "target.audit_interaction_flags",
    ]

    /// The keys that hold secrets: their values come from the environment, never from the file itself (a
    /// missing variable's message does not suggest writing the value there).
    public static let secretKeys: Set<String> = ["source.app_secret", "target.app_secret", "target.password"]

    /// Path of the `ferry.yaml` file, as given.
    public var file: String
    /// Entries by dotted key. Free-form `settings.NAME` entries are kept too.
    public var entries: [String: ConfigEntry]

    /// Parses `ferry.yaml` text.
    ///
    /// - Throws: a `Diagnostic` with the file and line for YAML syntax errors, unknown keys, an
    ///   unsupported `version`, or a value that is not a scalar.
    public init(text: String, file: String) throws(Diagnostic) {
        self.file = file
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.diagnostic(for: error, file: file)
        } catch {
            throw .error("cannot read YAML: \(error)", file: file)
        }
        var entries: [String: ConfigEntry] = [:]
        if let node {
            guard case .mapping(let mapping) = node else {
                throw .error("expected a mapping of settings at the top level", file: file, line: node.mark?.line)
            }
            try Self.flatten(mapping, prefix: "", file: file, into: &entries)
        }
        self.entries = entries
        for entry in entries.values.sorted(by: { $0.line < $1.line }) {
            if entry.key.hasPrefix("settings.") { continue }
            if !Self.knownKeys.contains(entry.key) {
                throw .error(
                    "unknown setting '\(entry.key)'; see README.md (\"ferry.yaml\") for the settings Ferry knows",
                    file: file, line: entry.line)
            }
        }
        if let version = entries["version"] {
            guard let number = Int(version.raw), number >= 1, number <= Self.highestSupportedVersion else {
                throw .error(
                    "unsupported version '\(version.raw)'; this Ferry reads version 1 to \(Self.highestSupportedVersion)",
                    file: file, line: version.line)
            }
        }
    }

    /// Reads and parses a `ferry.yaml` file.
    ///
    /// - Throws: a `Diagnostic` when the file cannot be read or parsed.
    public static func load(_ path: String) throws(Diagnostic) -> WorkspaceConfig {
        try WorkspaceConfig(text: FileSystem.readText(path), file: path)
    }

    private static func flatten(
        _ mapping: Node.Mapping, prefix: String, file: String, into entries: inout [String: ConfigEntry]
    ) throws(Diagnostic) {
        var seen: [String: Int] = [:]
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                throw .error("setting names must be plain words", file: file, line: keyNode.mark?.line)
            }
            let key = prefix + keyScalar.string
            // YAML forbids a key twice in one mapping; the later one must not silently win.
            if let first = seen[key] {
                throw .error(
                    "'\(key)' is written twice (also at line \(first)); keep one", file: file, line: keyNode.mark?.line)
            }
            seen[key] = keyNode.mark?.line ?? 0
            switch valueNode {
            case .scalar(let scalar):
                let isNull = scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
                if isNull { continue }
                entries[key] = ConfigEntry(key: key, raw: scalar.string, line: valueNode.mark?.line ?? 0)
            case .mapping(let child):
                try flatten(child, prefix: key + ".", file: file, into: &entries)
            case .sequence:
                throw .error("'\(key)' must be a single value, not a list", file: file, line: valueNode.mark?.line)
            }
        }
    }

    private static func diagnostic(for error: YamlError, file: String) -> Diagnostic {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return .error("invalid YAML: \(problem)", file: file, line: mark.line, column: mark.column)
        default:
            return .error("invalid YAML: \(error)", file: file)
        }
    }

    // MARK: - Typed access

    /// The entry for `key`, if written.
    public func entry(_ key: String) -> ConfigEntry? { entries[key] }

    /// The interpolated value of `key`, or `nil` when the key is not written.
    ///
    /// - Throws: a `Diagnostic` at the key's line when it names an environment variable that is not set.
    public func optionalString(_ key: String, environment: [String: String]) throws(Diagnostic) -> String? {
        guard let entry = entries[key] else { return nil }
        return try interpolate(entry, environment: environment)
    }

    /// The interpolated value of a required `key`.
    ///
    /// - Throws: a `Diagnostic` when the key is missing or names an environment variable that is not set.
    public func string(_ key: String, environment: [String: String], purpose: String) throws(Diagnostic) -> String {
        guard let value = try optionalString(key, environment: environment), !value.isEmpty else {
            if let entry = entries[key] {
                // Written, but empty (a variable set to ""): adding it to ferry.yaml would not help.
                throw .error(
                    "'\(key)' is required \(purpose), but '\(entry.raw)' is empty; give it a value", file: file,
                    line: entry.line)
            }
            throw .error("'\(key)' is required \(purpose); add it to ferry.yaml", file: file, line: entries[key]?.line)
        }
        return value
    }

    /// An integer setting with a default; `range` bounds it.
    ///
    /// - Throws: a `Diagnostic` at the key's line when the value is not a whole number in `range`.
    public func int(
        _ key: String, default value: Int, range: ClosedRange<Int>, environment: [String: String] = [:]
    ) throws(Diagnostic) -> Int {
        guard let entry = entries[key] else { return value }
        let text = try interpolate(entry, environment: environment)
        guard let number = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            throw .error(
                "'\(key)' must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'",
                file: file, line: entry.line)
        }
        return number
    }

    /// A non-negative number setting (such as a request rate) with a default.
    ///
    /// - Throws: a `Diagnostic` at the key's line when the value is not a number in `range`.
    public func number(
        _ key: String, default value: Double, range: ClosedRange<Double>, environment: [String: String] = [:]
    ) throws(Diagnostic) -> Double {
        guard let entry = entries[key] else { return value }
        let text = try interpolate(entry, environment: environment)
        guard let number = Double(text.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            throw .error(
                "'\(key)' must be a number from \(range.lowerBound) to \(range.upperBound), not '\(text)'",
                file: file, line: entry.line)
        }
        return number
    }

    /// A boolean setting (`true`/`false`, `yes`/`no`) with a default.
    ///
    /// - Throws: a `Diagnostic` at the key's line when the value is not a boolean.
    public func bool(_ key: String, default value: Bool, environment: [String: String] = [:]) throws(Diagnostic) -> Bool {
        guard let entry = entries[key] else { return value }
        switch try interpolate(entry, environment: environment).lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw .error("'\(key)' must be true or false, not '\(entry.raw)'", file: file, line: entry.line)
        }
    }

    /// One of a fixed set of words, with a default.
    ///
    /// - Throws: a `Diagnostic` at the key's line when the value is not one of `choices`.
    public func choice(
        _ key: String, default value: String, choices: [String], environment: [String: String] = [:]
    ) throws(Diagnostic) -> String {
        guard let entry = entries[key] else { return value }
        let text = try interpolate(entry, environment: environment)
        guard choices.contains(text) else {
            throw .error(
                "'\(key)' must be one of \(choices.joined(separator: ", ")), not '\(text)'", file: file, line: entry.line)
        }
        return text
    }

    /// The workspace settings templates can read with `setting="NAME"`: `org_number` plus every
    /// `settings.NAME` entry, interpolated.
    ///
    /// - Throws: a `Diagnostic` when a setting names an environment variable that is not set.
    public func templateSettings(environment: [String: String]) throws(Diagnostic) -> [String: String] {
        var result: [String: String] = ["org_number": "100"]
        for entry in entries.values where entry.key == "org_number" || entry.key.hasPrefix("settings.") {
            let name = entry.key.hasPrefix("settings.") ? String(entry.key.dropFirst("settings.".count)) : entry.key
            result[name] = try interpolate(entry, environment: environment)
        }
        return result
    }

    /// Replaces `${NAME}` with environment variables and `$$` with `$`.
    ///
    /// - Throws: a `Diagnostic` at the entry's line naming the first variable that is not set.
    public func interpolate(_ entry: ConfigEntry, environment: [String: String]) throws(Diagnostic) -> String {
        var out = ""
        var rest = entry.raw[...]
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest.index(after: dollar)
            if after < rest.endIndex && rest[after] == "$" {
                out += "$"
                rest = rest[rest.index(after: after)...]
                continue
            }
            guard after < rest.endIndex, rest[after] == "{", let close = rest[after...].firstIndex(of: "}") else {
                out += "$"
                rest = rest[after...]
                continue
            }
            let name = String(rest[rest.index(after: after)..<close])
            guard let value = environment[name] else {
                let instead = Self.secretKeys.contains(entry.key)
                    ? " (a secret: keep it in the environment, not in ferry.yaml)" : " or write the value in ferry.yaml"
                throw .error(
                    "environment variable \(name) is not set (needed by '\(entry.key)'); export \(name)=...\(instead)",
                    file: file, line: entry.line)
            }
            out += value
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return out
    }
}
