import FerryCore

/// A parsed, validated scheme: what to ask the source for, how to map each source document, what to send.
///
/// Built by `MappingTemplate.load(path:)` or `MappingTemplate.parse(_:file:)`; every part keeps the
/// template line it came from, so transform errors can point back into the template.
public struct MappingTemplate: Sendable {
    /// The scheme's name (`wdt-stockin-to-kingdee-other-inbound`).
    public var name: String
    /// The scheme's version (`1.0.0`), recorded in manifests and receipts.
    public var version: String
    /// A one-line description.
    public var description: String
    /// The template file, as named by the caller.
    public var file: String
    /// SHA-256 of the template file's bytes.
    public var sha256: String
    /// What extract asks for.
    public var source: SourceSpec
    /// What load sends.
    public var target: TargetSpec
    /// Lookup tables (CSV) and inline value maps, by name.
    public var lookups: [String: LookupSpec]
    /// Document filters; a document must pass all of them.
    public var filters: [FilterSpec]
    /// The target document's header fields and entry arrays.
    public var bill: [FieldSpec]

    /// Every workspace setting the template reads (`setting="…"` or `{$name}`), with the first line using it.
    public var settingsUsed: [String: Int] {
        var result: [String: Int] = [:]
        func visit(_ fields: [FieldSpec]) {
            for field in fields {
                switch field.kind {
                case .value(let value):
                    if case .setting(let name) = value.source, result[name] == nil { result[name] = field.line }
                    if case .template(let template) = value.source {
                        for case .setting(let name) in template.parts where result[name] == nil { result[name] = field.line }
                    }
                case .entries(let entries):
                    visit(entries.fields)
                }
            }
        }
        visit(bill)
        return result
    }

    /// Every member name a source document can be read through: each key step of every path the
    /// template reads (fields, placeholders, entries, entry and document filters), and the source's list,
    /// key and version fields. A reader may skip the members of a document not named here (see
    /// `JSONKeySet`): nothing in the transform can see them.
    public var sourceKeys: Set<String> {
        var keys: Set<String> = [source.list, source.key]
        if let version = source.versionField { keys.insert(version) }
        forEachSourcePath { path, _ in
            for case .key(let key) in path.segments { keys.insert(key) }
        }
        return keys
    }

    /// The member names whose values a condition (document or entry filter) tests: the last key step
    /// of each condition's paths. A reader must keep these values whole, since a condition (and the
    /// message saying why it was false) sees the whole value.
    public var sourceKeysTestedWhole: Set<String> {
        var keys: Set<String> = []
        forEachSourcePath { path, isTested in
            guard isTested else { return }
            if case .key(let key)? = path.segments.last(where: { if case .key = $0 { true } else { false } }) {
                keys.insert(key)
            }
        }
        return keys
    }

    /// Calls `body` with every path into source documents the template reads, and whether a condition
    /// tests its value (document and entry filters) rather than mapping it.
    private func forEachSourcePath(_ body: (ValuePath, _ isTested: Bool) -> Void) {
        func visit(_ fields: [FieldSpec]) {
            for field in fields {
                switch field.kind {
                case .value(let value):
                    switch value.source {
                    case .path(let path): body(path, false)
                    case .template(let template):
                        for case .path(let path) in template.parts { body(path, false) }
                    case .constant, .setting: break
                    }
                case .entries(let entries):
                    body(entries.path, false)
                    for path in entries.condition?.paths ?? [] { body(path, true) }
                    visit(entries.fields)
                }
            }
        }
        for filter in filters {
            for path in filter.condition.paths { body(path, true) }
        }
        visit(bill)
    }
}

/// The `<source>` element: the API, its list key, the document key and fixed request parameters.
public struct SourceSpec: Sendable, Hashable {
    /// API method, e.g. `wdt.stockin.order.query`.
    public var api: String
    /// Name of the document array in a response page, e.g. `stockin_list`.
    public var list: String
    /// Field that identifies a document, e.g. `stockin_no`.
    public var key: String
    /// Field that orders versions of one document (later wins), e.g. `modified`.
    public var versionField: String?
    /// Fixed request parameters (`status`, `order_type`, …), in template order.
    public var parameters: [(name: String, value: String)]
    /// Template line.
    public var line: Int

    /// Creates a source description.
    public init(
        api: String, list: String, key: String, versionField: String?, parameters: [(name: String, value: String)], line: Int
    ) {
        self.api = api
        self.list = list
        self.key = key
        self.versionField = versionField
        self.parameters = parameters
        self.line = line
    }

    public static func == (lhs: SourceSpec, rhs: SourceSpec) -> Bool {
        lhs.api == rhs.api && lhs.list == rhs.list && lhs.key == rhs.key && lhs.versionField == rhs.versionField
            && lhs.parameters.map(\.name) == rhs.parameters.map(\.name)
            && lhs.parameters.map(\.value) == rhs.parameters.map(\.value)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(api) }
}

/// The `<target>` element: form id, operation, the bill-number field and Kingdee save options.
public struct TargetSpec: Sendable, Hashable {
    /// Kingdee form id, e.g. `STK_MISCELLANEOUS`.
    public var form: String
    /// `BatchSave` or `Save`.
    public var operation: String
    /// The header field that holds the bill number (names payload files, checks receipts), e.g. `FBillNo`.
    public var numberField: String
    /// Save options in the order they are written into every payload.
    public var options: [SaveOption]
    /// Template line.
    public var line: Int
}

/// One Kingdee save option (`IsDeleteEntry`, …) and its JSON value.
public struct SaveOption: Sendable, Hashable {
    /// Option name.
    public var name: String
    /// Value written into `data`.
    public var value: JSONValue
}

/// What to do when a lookup has no entry for a value.
public enum MissBehaviour: String, Sendable, Hashable {
    /// Reject the document, naming the value and the table.
    case reject
    /// Use the value unchanged.
    case pass
    /// Use the lookup's (or field's) `default`.
    case `default`
}

/// A `<lookup>` (CSV file) or `<map>` (inline) declaration.
public struct LookupSpec: Sendable, Hashable {
    /// Where the entries come from.
    public enum Origin: Sendable, Hashable {
        /// A CSV file in the lookups directory, with key and value column names; `optional` files may be absent.
        case csv(file: String, keyColumn: String, valueColumn: String, optional: Bool)
        /// Entries written in the template.
        case inline([String: String])
    }

    /// The name fields refer to with `lookup="…"`.
    public var name: String
    /// Where the entries come from.
    public var origin: Origin
    /// What a miss does, unless a field overrides it.
    public var onMiss: MissBehaviour
    /// The value used when `onMiss` is `.default`.
    public var defaultValue: String?
    /// Template line.
    public var line: Int
}

/// A `<filter>`: documents for which `condition` is false are skipped.
public struct FilterSpec: Sendable, Hashable {
    /// The parsed `when` expression.
    public var condition: Expression
    /// The expression as written.
    public var text: String
    /// Why documents are filtered, for the manifest.
    public var reason: String?
    /// Template line.
    public var line: Int
}

/// A field of the target document: a value, or an array of entries built from a source array.
public struct FieldSpec: Sendable, Hashable {
    /// What the field holds.
    public enum Kind: Sendable, Hashable {
        case value(ValueSpec)
        case entries(EntriesSpec)
    }

    /// The output key, e.g. `FBillNo` or `FEntity`.
    public var name: String
    /// What it holds.
    public var kind: Kind
    /// Template line.
    public var line: Int
}

/// Where a field's value comes from.
public enum ValueSource: Sendable, Hashable {
    /// A path into the source document.
    case path(ValuePath)
    /// A constant.
    case constant(String)
    /// A string with `{path}` placeholders.
    case template(StringTemplate)
    /// A workspace setting (e.g. `org_number`).
    case setting(String)
}

/// The conversion applied to a value.
public enum ValueType: String, Sendable, Hashable {
    case string, decimal, integer, bool, date, datetime
}

/// A `<field>` or `<ref>`: source, conversion and rendering of one value.
public struct ValueSpec: Sendable, Hashable {
    /// Where the value comes from.
    public var source: ValueSource
    /// The conversion.
    public var type: ValueType
    /// For decimals: the number of fraction digits to round or pad to.
    public var scale: Int?
    /// Whether a missing or empty value rejects the document.
    public var isRequired: Bool
    /// Used when the source value is missing or empty.
    public var defaultValue: String?
    /// Lookup or map to pass the value through.
    public var lookup: String?
    /// Overrides the lookup's miss behaviour for this field.
    public var onMiss: MissBehaviour?
    /// Leave the key out when the value is missing or empty.
    public var omitEmpty: Bool
    /// For `<ref>`: the key of the base-data object (`FNumber`); `nil` for plain fields.
    public var referenceKey: String?
}

/// An `<entries>` element: an array of objects, one per element of a source array.
public struct EntriesSpec: Sendable, Hashable {
    /// The source array, relative to the enclosing document.
    public var path: ValuePath
    /// Entry filter: elements for which it is false are dropped.
    public var condition: Expression?
    /// The filter as written.
    public var conditionText: String?
    /// Fewer entries than this (after filtering) rejects the document.
    public var minimum: Int
    /// The fields of each entry.
    public var fields: [FieldSpec]
}
