import FerryCore
import FerryTemplate

/// A Kingdee 其他入库单 ready to save: the complete `Save` request body for one document.
public struct OtherInboundBill: Sendable, Hashable {
    /// The bill number (`FBillNo`), which names the payload file and is checked against receipts.
    public var number: String
    /// The complete payload file: `{"formid": …, "data": {…options…, "Model": {…}}}` as pretty JSON
    /// (the bytes `JSONWriter(style: .pretty)` gives), written as the document was mapped.
    public var bytes: [UInt8]
    /// Entry lines written (all entry arrays).
    public var lines: Int
    /// Entry lines dropped by entry filters.
    public var droppedLines: Int

    /// The payload as a value (parsed from `bytes`; for inspection and tests).
    public var payload: JSONValue {
        (try? JSONReader.parse(bytes)) ?? .null
    }
}

/// One reason a document was rejected.
public struct RejectionReason: Sendable, Hashable {
    /// The output field, e.g. `FEntity[2].FMATERIALID`, when the reason is about one.
    public var field: String?
    /// JSON path of the source value, e.g. `$.response.stockin_list[3].details_list[2].spec_no`.
    public var jsonPath: String?
    /// What is wrong and what to do.
    public var message: String
    /// The template line of the field or element involved.
    public var templateLine: Int?

    /// Creates a reason.
    public init(field: String?, jsonPath: String?, message: String, templateLine: Int?) {
        self.field = field
        self.jsonPath = jsonPath
        self.message = message
        self.templateLine = templateLine
    }
}

/// Why a document was skipped by a document filter.
public struct FilterOutcome: Sendable, Hashable {
    /// The filter's reason, or the condition when it has none.
    public var reason: String
    /// The condition and the values it saw, e.g. `status == 80 is false (status = "30")`.
    public var detail: String
    /// Template line of the filter.
    public var templateLine: Int

    /// Creates an outcome.
    public init(reason: String, detail: String, templateLine: Int) {
        self.reason = reason
        self.detail = detail
        self.templateLine = templateLine
    }
}

/// What happened to one source document.
public enum TransformResult: Sendable, Hashable {
    case bill(OtherInboundBill)
    case rejected([RejectionReason])
    case filtered(FilterOutcome)
}

/// Everything a transform needs besides the documents: the template, its lookup tables and settings.
public struct TransformContext: Sendable {
    /// The scheme.
    public var template: MappingTemplate
    /// Lookup tables and maps by name (every name the template declares).
    public var lookups: [String: LookupTable]
    /// Workspace settings (`org_number`, …).
    public var settings: [String: String]

    /// Creates a context. Inline `<map>`s of the template are added to `lookups` automatically.
    public init(template: MappingTemplate, lookups: [String: LookupTable], settings: [String: String]) {
        self.template = template
        var all = lookups
        for (name, spec) in template.lookups {
            if case .inline(let entries) = spec.origin { all[name] = LookupTable(name: name, entries: entries) }
        }
        self.lookups = all
        self.settings = settings
    }

    /// Settings the template reads but the context lacks, with the template line reading each.
    public var missingSettings: [(name: String, line: Int)] {
        template.settingsUsed.filter { settings[$0.key] == nil }.map { ($0.key, $0.value) }.sorted { $0.name < $1.name }
    }
}

/// Maps a 旺店通 stock-in order to a Kingdee 其他入库单 with a template.
///
/// Pure: no clock, no environment, no file system. Every problem in a document is collected, so a
/// rejection lists all of its reasons at once.
public struct Transformer: Sendable {
    /// The template, lookups and settings.
    public let context: TransformContext
    /// The template's fields, made ready for mapping.
    private let plan: [FieldPlan]
    /// Every payload's opening, up to and including `"Model": {`: the form id and the save options.
    private let opening: JSONEmitter

    /// Creates a transformer.
    public init(context: TransformContext) {
        self.context = context
        var emitter = JSONEmitter(capacity: 0)
        emitter.beginObject()
        emitter.key("formid")
        emitter.value(.string(context.template.target.form))
        emitter.key("data")
        emitter.beginObject()
        for option in context.template.target.options {
            emitter.key(option.name)
            emitter.value(option.value)
        }
        emitter.key("Model")
        emitter.beginObject()
        opening = emitter
        plan = FieldPlan.make(context.template.bill, context: context, isTopLevel: true, depth: emitter.depth)
    }

    /// Transforms one document.
    public func transform(_ order: StockInOrder) -> TransformResult {
        let template = context.template
        let document = order.document
        let basePath = order.origin.jsonPath
        var reasons: [RejectionReason] = []
        // Before the filters: a filter reading a repeated member would decide from a guess too.
        if !order.repeatedMembers.isEmpty {
            return .rejected(
                order.repeatedMembers.map { path in
                    RejectionReason(
                        field: nil, jsonPath: path,
                        message: "this member appears more than once in its object, and JSON does not say which value "
                            + "counts; fix the source data or export it again, then transform again",
                        templateLine: nil)
                })
        }
        for filter in template.filters {
            let passes: Bool
            do {
                passes = try filter.condition.evaluate { path in path.value(in: [document]) }
            } catch {
                reasons.append(
                    RejectionReason(
                        field: nil, jsonPath: "\(basePath).\(error.path)", message: "filter: \(error.message)",
                        templateLine: filter.line))
                continue
            }
            if !passes {
                return .filtered(
                    FilterOutcome(
                        reason: filter.reason ?? "filter '\(filter.text)'",
                        detail: describe(filter.condition, text: filter.text, stack: [document], basePaths: [basePath]),
                        templateLine: filter.line))
            }
        }
        if order.key == nil {
            reasons.append(
                RejectionReason(
                    field: nil, jsonPath: "\(basePath).\(template.source.key)",
                    message: "the document has no '\(template.source.key)', so it cannot be identified",
                    templateLine: template.source.line))
        }
        var counts = (lines: 0, dropped: 0)
        var cursor = Cursor(document: document, basePath: basePath)
        // The payload is written as it is mapped; a rejected document's bytes are simply dropped.
        var emitter = opening
        emitter.reserveCapacity(2048)
        var numberValue: JSONValue?
        buildObject(plan, cursor: &cursor, emitter: &emitter, reasons: &reasons, counts: &counts, number: &numberValue)
        emitter.endObject()
        emitter.endObject()
        emitter.endObject()
        var number: String?
        if let value = numberValue {
            number = value.scalarText
            if number == nil || number!.isEmpty {
                reasons.append(
                    RejectionReason(
                        field: template.target.numberField, jsonPath: nil,
                        message: "the bill number must be a non-empty text value", templateLine: template.target.line))
            } else if number!.hasSpaceAtEitherEnd {  // as a lookup key is trimmed; mostly decided from its end bytes
                // Load refuses such a payload (Kingdee may keep the number trimmed, and Ferry could not tell its
                // bill from another number): said here, with the source value's JSON path.
                let field = plan.first { $0.isBillNumber }
                reasons.append(
                    RejectionReason(
                        field: template.target.numberField,
                        jsonPath: field?.sourcePath.map { Cursor(document: document, basePath: basePath).jsonPath($0) },
                        message: "the bill number \"\(number!)\" has leading or trailing spaces, which Kingdee may not keep; "
                            + "trim them in the source data or the template, then transform again",
                        templateLine: field?.line ?? template.target.line))
            }
        } else if !reasons.contains(where: { $0.field == template.target.numberField }) {
            reasons.append(
                RejectionReason(
                    field: template.target.numberField, jsonPath: nil, message: "the bill number is missing",
                    templateLine: template.target.line))
        }
        guard reasons.isEmpty, let number else { return .rejected(reasons) }
        return .bill(OtherInboundBill(number: number, bytes: emitter.finish(), lines: counts.lines, droppedLines: counts.dropped))
    }

    /// Where the transform is inside a document: the values it stepped into (outermost first) and, for
    /// messages only, how to name them. Names are built when a problem is reported, never on the way:
    /// building every field's name and JSON path up front cost more than the mapping itself.
    struct Cursor {
        /// The enclosing values, outermost first (the document, then the current line of each `<entries>`).
        var stack: [JSONValue]
        /// The document's JSON path.
        var basePath: String
        /// The `<entries>` stepped into: the source path and element index.
        var sources: [(path: ValuePath, index: Int)] = []
        /// The output entry arrays stepped into: field name and output index.
        var outputs: [(name: String, index: Int)] = []

        init(document: JSONValue, basePath: String) {
            stack = [document]
            stack.reserveCapacity(4)
            self.basePath = basePath
        }

        /// One JSON path per stack level (for messages).
        var basePaths: [String] {
            var paths = [basePath]
            for (path, index) in sources { paths.append(path.jsonPath(basePaths: paths) + "[\(index)]") }
            return paths
        }

        /// `FEntity[2].FMATERIALID` for `name` at the current level.
        func fieldName(_ name: String) -> String {
            outputs.map { "\($0.name)[\($0.index)]." }.joined() + name
        }

        /// The JSON path `path` names from here.
        func jsonPath(_ path: ValuePath) -> String { path.jsonPath(basePaths: basePaths) }
    }

    /// Maps `fields` into the object `emitter` has open. `number` receives the value of the bill-number
    /// field when it is at the top level.
    private func buildObject(
        _ fields: [FieldPlan], cursor: inout Cursor, emitter: inout JSONEmitter, reasons: inout [RejectionReason],
        counts: inout (lines: Int, dropped: Int), number: inout JSONValue?
    ) {
        for field in fields {
            guard let spec = field.entries else {
                if field.isConstant {
                    // The same bytes in every payload, encoded when the plan was made.
                    if let member = field.constantMemberBytes { emitter.member(encoded: member, depth: field.depth) }
                } else if let value = buildValue(field, cursor: cursor, reasons: &reasons) {
                    emitter.key(encoded: field.keyBytes)
                    if let reference = field.referenceKeyBytes {
                        // `{"FNumber": value}`, written as it goes: no object is built for it.
                        emitter.value(value, wrappedIn: reference)
                        if field.isBillNumber, let key = field.referenceKey {
                            number = .object(JSONObject([.init(key, value)]))
                        }
                    } else {
                        emitter.value(value)
                        if field.isBillNumber { number = value }
                    }
                }
                continue
            }
            let source = spec.path.value(in: cursor.stack)
            let elements: [JSONValue]
            switch source {
            case .none, .some(.null):
                elements = []
            case .some(.array(let array)):
                elements = array
            case .some(let other):
                reasons.append(
                    RejectionReason(
                        field: cursor.fieldName(field.name), jsonPath: cursor.jsonPath(spec.path),
                        message: "'\(spec.path.text)' should be an array but is \(other.kindDescription)", templateLine: field.line))
                continue
            }
            emitter.key(encoded: field.encodedKey.bytes)
            emitter.beginArray()
            if field.isBillNumber { number = .array([]) }
            var written = 0
            var dropped = 0
            var undecided = 0
            for (i, element) in elements.enumerated() {
                cursor.stack.append(element)
                cursor.sources.append((spec.path, i))
                defer {
                    cursor.stack.removeLast()
                    cursor.sources.removeLast()
                }
                if let condition = spec.condition {
                    do {
                        let stack = cursor.stack
                        if try !condition.evaluate({ $0.value(in: stack) }) {
                            dropped += 1
                            continue
                        }
                    } catch {
                        reasons.append(
                            RejectionReason(
                                field: "\(cursor.fieldName(field.name))[\(written)]",
                                jsonPath: error.valuePath?.jsonPath(basePaths: cursor.basePaths)
                                    ?? cursor.basePaths.last! + ".\(error.path)",
                                message: "line filter: \(error.message)", templateLine: field.line))
                        undecided += 1
                    }
                }
                guard case .object = element else {
                    reasons.append(
                        RejectionReason(
                            field: "\(cursor.fieldName(field.name))[\(written)]", jsonPath: cursor.basePaths.last!,
                            message: "expected an object but found \(element.kindDescription)", templateLine: field.line))
                    continue
                }
                cursor.outputs.append((field.name, written))
                emitter.element()
                emitter.beginObject()
                buildObject(field.children, cursor: &cursor, emitter: &emitter, reasons: &reasons, counts: &counts, number: &number)
                emitter.endObject()
                cursor.outputs.removeLast()
                written += 1
            }
            emitter.endArray()
            counts.lines += written
            counts.dropped += dropped
            if written < spec.minimum && undecided == 0 {
                let message: String
                if elements.isEmpty {
                    message = "'\(spec.path.text)' has no lines; a bill needs at least \(spec.minimum)"
                } else if let text = spec.conditionText, dropped > 0 {
                    message = "no lines left: \(dropped) of \(elements.count) line(s) were dropped by '\(text)'; "
                        + "a bill needs at least \(spec.minimum)"
                } else {
                    message = "only \(written) line(s); a bill needs at least \(spec.minimum)"
                }
                reasons.append(
                    RejectionReason(
                        field: cursor.fieldName(field.name), jsonPath: cursor.jsonPath(spec.path), message: message,
                        templateLine: field.line))
            }
        }
    }

    /// The text of a value source (nil when absent). The path a message names is `field.sourcePath`: not
    /// returned from here, as copying a path per field and document cost reference counts.
    private func sourceText(_ field: FieldPlan, cursor: borrowing Cursor, reasons: inout [RejectionReason]) -> String? {
        if let key = field.directKey {
            // One key, at a known level: no `ValuePath` copied out of the plan, no walk over its steps.
            let level = cursor.stack.count - 1 - field.directLevels
            return scalarText(level >= 0 ? cursor.stack[level][key] : nil, field, cursor: cursor, reasons: &reasons)
        }
        switch field.source {
        case .constant(let text):
            return text
        case .path(let path):
            return scalarText(path.value(in: cursor.stack), field, cursor: cursor, reasons: &reasons)
        case .template(let template):
            return template.render { part in
                switch part {
                case .literal(let text): return text
                case .setting(let name): return context.settings[name]
                case .path(let path): return path.value(in: cursor.stack)?.scalarText
                }
            }
        }
    }

    /// The text of the value a `.path` source found (nil when absent or null); a reason when it is not
    /// a single value.
    private func scalarText(
        _ value: JSONValue?, _ field: FieldPlan, cursor: borrowing Cursor, reasons: inout [RejectionReason]
    ) -> String? {
        switch value {
        case .none, .some(.null):
            return nil
        case .some(.array), .some(.object):
            let path = field.sourcePath!
            reasons.append(
                RejectionReason(
                    field: cursor.fieldName(field.name), jsonPath: cursor.jsonPath(path),
                    message: "expected a single value at '\(path.text)' but found \(value!.kindDescription)",
                    templateLine: field.line))
            return nil
        case .some(let scalar):
            return scalar.scalarText
        }
    }

    private func buildValue(_ field: FieldPlan, cursor: borrowing Cursor, reasons: inout [RejectionReason]) -> JSONValue? {
        let before = reasons.count
        let text = sourceText(field, cursor: cursor, reasons: &reasons)
        if reasons.count > before { return nil }
        switch field.rules.value(from: text) {
        case .value(let value):
            // A reference field's wrapper (`{"FNumber": …}`) is written by the caller.
            return value
        case .problem(let message):
            reasons.append(
                RejectionReason(
                    field: cursor.fieldName(field.name), jsonPath: field.sourcePath.map(cursor.jsonPath), message: message,
                    templateLine: field.line))
            return nil
        }
    }

    /// `status == 80 is false (status = "30")`.
    private func describe(_ condition: Expression, text: String, stack: [JSONValue], basePaths: [String]) -> String {
        var seen: [String] = []
        var values: [String] = []
        for path in condition.paths where !seen.contains(path.text) {
            seen.append(path.text)
            let value = path.resolve(in: stack, basePaths: basePaths).value
            switch value {
            case .none: values.append("\(path.text) is missing")
            case .some(let v): values.append("\(path.text) = \(JSONWriter(style: .compact).string(v))")
            }
        }
        return "\(text) is false" + (values.isEmpty ? "" : " (\(values.joined(separator: ", ")))")
    }
}

/// A template field made ready for mapping, once per run: its key already encoded, its setting, lookup
/// table and miss behaviour already resolved, entries' fields already planned, and a field whose value
/// is the same in every document (a constant or a setting) already encoded whole.
///
/// Mapping walks these shared, immutable objects (one reference count each) instead of copying
/// `FieldSpec` values, whose strings and arrays each cost a reference count per field and document.
/// (`@unchecked Sendable`: every property is immutable.)
final class FieldPlan: @unchecked Sendable {
    /// Where a value comes from, with settings resolved.
    enum Source: Sendable {
        case constant(String?)
        case path(ValuePath)
        case template(StringTemplate)
    }

    /// The output key.
    let name: String
    /// Template line.
    let line: Int
    /// `"name": ` as `JSONEmitter` writes it.
    let encodedKey: JSONEmitter.Key
    /// `"FNumber": ` for a reference field (its value is wrapped as `{"FNumber": value}`), encoded the same way.
    let encodedReferenceKey: JSONEmitter.Key?
    /// Whether this is the top-level bill-number field.
    let isBillNumber: Bool
    // A value field:
    let source: Source
    /// The path of a `.path` source (what messages about the value name).
    var sourcePath: ValuePath? {
        if case .path(let path) = source { return path }
        return nil
    }
    /// For a `.path` source that is one key (`goods_no`, `../warehouse_no`): the key, looked up
    /// `directLevels` levels out without walking the path.
    let directKey: String?
    /// How many enclosing levels out `directKey` is looked up.
    let directLevels: Int
    let referenceKey: String?
    /// How the source text becomes the value written.
    let rules: ValueRules
    /// Whether every document gets the same value: the source is a constant or a setting, and it maps
    /// without a problem. The value was then mapped once, here. (Never the bill number, which each
    /// document reports.)
    let isConstant: Bool
    /// For a constant field, the whole member `"name": value`, encoded for `depth`; nil when the value is
    /// empty and the field left out.
    let constantMember: JSONEmitter.Key?
    // What mapping reads for every field of every document, as plain values: reading a `Key` out of the
    // plan costs a reference count each time. The bytes belong to the plan's keys.
    /// `encodedKey.bytes`.
    let keyBytes: UnsafeBufferPointer<UInt8>
    /// `encodedReferenceKey?.bytes`.
    let referenceKeyBytes: UnsafeBufferPointer<UInt8>?
    /// `constantMember?.bytes`.
    let constantMemberBytes: UnsafeBufferPointer<UInt8>?
    /// The nesting level of the object the field is a member of (`JSONEmitter.depth`).
    let depth: Int
    // An entries field:
    let entries: EntriesSpec?
    let children: [FieldPlan]

    /// `depth`: the nesting level of the object the field is a member of, as `JSONEmitter.depth` counts.
    private init(_ field: FieldSpec, context: TransformContext, isTopLevel: Bool, depth: Int) {
        name = field.name
        line = field.line
        encodedKey = JSONEmitter.Key(field.name)
        isBillNumber = isTopLevel && field.name == context.template.target.numberField
        switch field.kind {
        case .value(let value):
            switch value.source {
            case .constant(let text): source = .constant(text)
            case .setting(let name): source = .constant(context.settings[name])
            case .path(let path): source = .path(path)
            case .template(let template): source = .template(template)
            }
            referenceKey = value.referenceKey
            encodedReferenceKey = value.referenceKey.map(JSONEmitter.Key.init)
            let declared = value.lookup.flatMap { context.template.lookups[$0] }
            let requiredMessage: String
            switch value.source {
            case .path(let path): requiredMessage = "required value is missing or empty (source '\(path.text)')"
            case .setting(let name): requiredMessage = "required setting '\(name)' is empty"
            default: requiredMessage = "required value is empty"
            }
            rules = ValueRules(
                type: value.type, scale: value.scale, isRequired: value.isRequired, requiredMessage: requiredMessage,
                defaultValue: value.defaultValue, omitEmpty: value.omitEmpty,
                lookup: value.lookup.flatMap { context.lookups[$0] }, lookupName: value.lookup,
                onMiss: value.onMiss ?? declared?.onMiss ?? .reject, missDefault: value.defaultValue ?? declared?.defaultValue,
                isReference: value.referenceKey != nil)
            if !isBillNumber, case .constant(let text) = source, case .value(let constantValue) = rules.value(from: text) {
                isConstant = true
                constantMember = constantValue.map { constantValue in
                    let written = value.referenceKey.map { JSONValue.object(JSONObject([.init($0, constantValue)])) } ?? constantValue
                    return JSONEmitter.Key(field.name, value: written, depth: depth)
                }
            } else {
                isConstant = false
                constantMember = nil
            }
            entries = nil
            children = []
        case .entries(let spec):
            source = .constant(nil)
            referenceKey = nil
            encodedReferenceKey = nil
            rules = ValueRules(
                type: .string, scale: nil, isRequired: false, requiredMessage: "required value is empty", defaultValue: nil,
                omitEmpty: false, lookup: nil, lookupName: nil, onMiss: .reject, missDefault: nil)
            isConstant = false
            constantMember = nil
            entries = spec
            // An entries array is a member at `depth`; its elements one level in; their members one more.
            children = FieldPlan.make(spec.fields, context: context, isTopLevel: false, depth: depth + 2)
        }
        if case .path(let path) = source, path.segments.count == 1, case .key(let key) = path.segments[0] {
            directKey = key
            directLevels = path.parentLevels
        } else {
            directKey = nil
            directLevels = 0
        }
        keyBytes = encodedKey.bytes
        referenceKeyBytes = encodedReferenceKey?.bytes
        constantMemberBytes = constantMember?.bytes
        self.depth = depth
    }

    /// A run of constant fields that are written one after the other, as one plan: their members joined
    /// into one encoded `Key`, copied with one append (four of the eleven fields of a line in the
    /// built-in scheme follow each other).
    private init(joining run: [FieldPlan]) {
        let first = run[0]
        name = first.name
        line = first.line
        encodedKey = first.encodedKey
        encodedReferenceKey = nil
        isBillNumber = false
        source = first.source
        referenceKey = nil
        rules = first.rules
        isConstant = true
        constantMember = JSONEmitter.Key(joining: run.map { $0.constantMember! }, depth: first.depth)
        entries = nil
        children = []
        directKey = nil
        directLevels = 0
        keyBytes = encodedKey.bytes
        referenceKeyBytes = nil
        constantMemberBytes = constantMember?.bytes
        depth = first.depth
    }

    /// Plans `fields` (and, recursively, the fields of their entries), members of an object at `depth`.
    static func make(_ fields: [FieldSpec], context: TransformContext, isTopLevel: Bool, depth: Int) -> [FieldPlan] {
        var plans: [FieldPlan] = []
        var run: [FieldPlan] = []
        func endRun() {
            if run.count == 1 { plans.append(run[0]) } else if run.count > 1 { plans.append(FieldPlan(joining: run)) }
            run = []
        }
        for field in fields {
            let plan = FieldPlan(field, context: context, isTopLevel: isTopLevel, depth: depth)
            if plan.isConstant {
                // A constant left out (empty) writes nothing, so the run goes on around it.
                if plan.constantMember != nil { run.append(plan) }
                continue
            }
            endRun()
            plans.append(plan)
        }
        endRun()
        return plans
    }
}

/// How a value field's source text becomes the value written: default, lookup, conversion, and the
/// required and omit-empty checks. The same for every document, so a constant's outcome is worked out once.
struct ValueRules {
    /// What becomes of a text.
    enum Outcome {
        /// The value to write; nil writes nothing.
        case value(JSONValue?)
        /// Why the document cannot have this value (the message of its rejection reason).
        case problem(String)
    }

    let type: ValueType
    let scale: Int?
    let isRequired: Bool
    /// What a required field with an empty value reports.
    let requiredMessage: String
    let defaultValue: String?
    let omitEmpty: Bool
    /// The lookup table, when the field has one and the context holds it.
    let lookup: LookupTable?
    /// The lookup's name in the template.
    let lookupName: String?
    /// What a lookup miss does (the field's, else the lookup's, else reject).
    let onMiss: MissBehaviour
    /// The value a miss gives with `on-miss="default"`.
    let missDefault: String?
    /// Whether the value is a base-data code sent as `{"FNumber": …}` (a `<ref>`).
    var isReference = false

    /// `key` without surrounding white space, when it has any (nil otherwise: the exact key was tried).
    /// Trimmed by the rule lookup files and `<map>` entries are (`Unicode.Scalar.isTrimmedSpace`), so a value
    /// finds the entry whose key was written as it is.
    static func trimmedKey(_ key: String) -> String? {
        // `hasSpaceAtEitherEnd` settles most keys from two bytes, without Unicode's property tables (2% of a
        // transform's time when every miss asked them).
        key.hasSpaceAtEitherEnd ? key.trimmingCharactersInSpaces() : nil
    }

    /// The value `source` gives (nil: the source is absent).
    func value(from source: String?) -> Outcome {
        var text = source
        // Empty as the conversion sees it: a blank number or date is empty too, and takes the default. So is a
        // blank code in a field with a lookup or in a reference: no entry has a blank key, no base data has a
        // blank number, and a blank reference is never sent.
        let blankIsMissing = type != .string || lookupName != nil || isReference
        let isEmpty = text == nil || text!.isEmpty || (blankIsMissing && ValueConversion.isBlank(text!))
        // Nor is it looked up: without a default it is missing, not a lookup miss (whatever the on-miss).
        if isEmpty { text = defaultValue ?? (blankIsMissing ? nil : text) }
        var mappedFrom: String?  // the key, when the lookup gave the value
        if let table = lookup, let key = text, !key.isEmpty {
            // Keys are trimmed in the lookup file; so is the value looked up ("WH-SH01 " is WH-SH01).
            if let mapped = table.entries[key] ?? Self.trimmedKey(key).flatMap({ table.entries[$0] }) {
                text = mapped
                mappedFrom = key
            } else {
                switch onMiss {
                case .pass:
                    break
                case .default:
                    text = missDefault
                case .reject:
                    let whereFrom = table.file.map { "\($0)" } ?? "map '\(lookupName ?? table.name)'"
                    return .problem("'\(key)' is not in \(whereFrom); add it there (or set on-miss=\"pass\" or \"default\")")
                }
            }
        }
        var converted: JSONValue?
        if let text {
            switch ValueConversion.convert(text, to: type, scale: scale) {
            case .value(let value):
                // A scale never turns a value into zero unseen (0.004 at scale 2 would be booked as nothing; a line
                // filter such as `goods_count > 0` tests the value before it is rounded).
                if let scale, case .number(let written) = value,
                    let problem = ValueConversion.lostToScale(text, written: written, scale: scale)
                {
                    return .problem(problem)
                }
                converted = value
            case .empty: converted = nil
            case .failure(let problem): return .problem(problem)
            }
        }
        let convertedIsEmpty = converted == nil || converted == .string("")
        if isRequired && convertedIsEmpty {
            // The source had a value: say that the lookup's entry for it is empty, not that the value is missing.
            if let key = mappedFrom, let table = lookup {
                let whereFrom = table.file.map { "\($0)" } ?? "map '\(lookupName ?? table.name)'"
                return .problem("'\(key)' maps to an empty value in \(whereFrom); fill it in there")
            }
            return .problem(requiredMessage)
        }
        if omitEmpty && convertedIsEmpty { return .value(nil) }
        return .value(converted)
    }
}
