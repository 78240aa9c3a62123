/// A problem found in a user's file, template, document, request or response.
///
/// Printed compiler-style, so editors and `grep` can use it:
/// `path:line:column: error: message`, or `path: error: $.json.path: message` when the position is a
/// JSON path rather than a line. Recoverable problems are collected as values; only problems that stop a
/// whole stage are thrown.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    /// How bad a diagnostic is.
    public enum Severity: String, Sendable, Hashable, Codable {
        case note, warning, error
    }

    /// How bad it is.
    public var severity: Severity
    /// What is wrong and, where known, what to do about it. Never contains a secret.
    public var message: String
    /// The file the problem is in, as the user named it (relative paths stay relative).
    public var file: String?
    /// 1-based line, when known.
    public var line: Int?
    /// 1-based column, when known.
    public var column: Int?
    /// A JSON path such as `$.response.stockin_list[3].goods_count`, when the position is inside JSON.
    public var jsonPath: String?

    /// Creates a diagnostic.
    public init(
        _ severity: Severity,
        _ message: String,
        file: String? = nil,
        line: Int? = nil,
        column: Int? = nil,
        jsonPath: String? = nil
    ) {
        self.severity = severity
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.jsonPath = jsonPath
    }

    /// An error diagnostic.
    public static func error(
        _ message: String, file: String? = nil, line: Int? = nil, column: Int? = nil, jsonPath: String? = nil
    ) -> Diagnostic {
        Diagnostic(.error, message, file: file, line: line, column: column, jsonPath: jsonPath)
    }

    /// A warning diagnostic.
    public static func warning(
        _ message: String, file: String? = nil, line: Int? = nil, column: Int? = nil, jsonPath: String? = nil
    ) -> Diagnostic {
        Diagnostic(.warning, message, file: file, line: line, column: column, jsonPath: jsonPath)
    }

    /// The compiler-style rendering: `path:line:column: severity: [jsonPath: ]message`.
    public var description: String {
        var prefix = ""
        if let file {
            prefix = file
            if let line {
                prefix += ":\(line)"
                if let column { prefix += ":\(column)" }
            }
            prefix += ": "
        }
        let at = jsonPath.map { "\($0): " } ?? ""
        return "\(prefix)\(severity.rawValue): \(at)\(message)"
    }
}

/// Where a stage sends the diagnostics it can survive.
///
/// Collectors are values the caller owns; a stage never prints.
public final class DiagnosticLog: @unchecked Sendable {
    private let lock = Mutex()
    private var storage: [Diagnostic] = []

    /// Creates an empty log.
    public init() {}

    /// Records a diagnostic.
    public func emit(_ diagnostic: Diagnostic) {
        lock.withLock { storage.append(diagnostic) }
    }

    /// Everything recorded so far, in emission order.
    public var diagnostics: [Diagnostic] { lock.withLock { storage } }

    /// Whether any error was recorded.
    public var hasErrors: Bool { lock.withLock { storage.contains { $0.severity == .error } } }
}
