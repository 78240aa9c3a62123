import FerryCore
import FerrySchemes

extension MappingTemplate {
    /// Kingdee save options every payload carries, with Kingdee's documented defaults, in this order;
    /// a template's `<option>` overrides the value. Other options follow in template order.
    public static let standardOptions: [(name: String, value: JSONValue)] = [
        ("IsDeleteEntry", .bool(true)),
        ("IsVerifyBaseDataField", .bool(false)),
        ("ValidateFlag", .bool(true)),
        ("NumberSearch", .bool(true)),
        ("IsAutoSubmitAndAudit", .bool(false)),
    ]

    /// Other save options Kingdee documents (an unknown name is a warning).
    static let otherKnownOptions: Set<String> = [
        "NeedUpDateFields", "NeedReturnFields", "SubSystemId", "IsEntryBatchFill", "IsAutoAdjustField",
        "InterationFlags", "IgnoreInterationFlag", "IsControlPrecision", "ValidateRepeatJson", "Creator",
    ]

    /// Reads, validates (XSD, then meaning) and builds the template at `path`.
    ///
    /// - Returns: the template when there is no error, and every diagnostic (warnings included).
    public static func load(
        path: String, schemaPath: String = BuiltInSchemes.schemaPath
    ) -> (template: MappingTemplate?, diagnostics: [Diagnostic]) {
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.read(path)
        } catch {
            return (nil, [error])
        }
        return parse(bytes, file: path, schemaPath: schemaPath)
    }

    /// Validates (XSD, then meaning) and builds a template from its bytes.
    ///
    /// - Returns: the template when there is no error, and every diagnostic (warnings included).
    public static func parse(
        _ bytes: [UInt8], file: String, schemaPath: String = BuiltInSchemes.schemaPath
    ) -> (template: MappingTemplate?, diagnostics: [Diagnostic]) {
        let (root, xmlDiagnostics) = XMLTree.parse(bytes, file: file, schemaPath: schemaPath)
        guard let root, !xmlDiagnostics.contains(where: { $0.severity == .error }) else {
            return (nil, xmlDiagnostics)
        }
        var builder = TemplateBuilder(file: file)
        let template = builder.build(root, sha256: Hashing.sha256Hex(bytes))
        let diagnostics = xmlDiagnostics + builder.diagnostics.sorted { ($0.line ?? 0) < ($1.line ?? 0) }
        if diagnostics.contains(where: { $0.severity == .error }) { return (nil, diagnostics) }
        return (template, diagnostics)
    }
}

/// Turns a schema-valid XML tree into a `MappingTemplate`, checking what the XSD cannot.
private struct TemplateBuilder {
    let file: String
    var diagnostics: [Diagnostic] = []
    var lookupNames: Set<String> = []
    var lookups: [String: LookupSpec] = [:]
    var knownFields: SourceAPIs.Fields?

    init(file: String) {
        self.file = file
    }

    mutating func error(_ message: String, _ line: Int) {
        diagnostics.append(.error(message, file: file, line: line))
    }

    mutating func warning(_ message: String, _ line: Int) {
        diagnostics.append(.warning(message, file: file, line: line))
    }

    /// An `xs:boolean` attribute, read as XSD reads it: surrounding white space does not count.
    func bool(_ element: XMLElement, _ name: String, default value: Bool) -> Bool {
        guard let text = element.attribute(name)?.trimmingCharactersInSpaces() else { return value }
        return text == "true" || text == "1"
    }

    /// An `xs:nonNegativeInteger` attribute (surrounding white space does not count), at most `maximum`:
    /// nil when absent; an error when it is larger, so that no value is silently ignored.
    mutating func count(_ element: XMLElement, _ name: String, maximum: Int, field: String) -> Int? {
        guard let text = element.attribute(name)?.trimmingCharactersInSpaces() else { return nil }
        guard let n = Int(text), n >= 0, n <= maximum else {
            error("\(field): \(name)=\"\(text)\" must be a whole number from 0 to \(maximum)", element.line)
            return nil
        }
        return n
    }

    mutating func build(_ root: XMLElement, sha256: String) -> MappingTemplate {
        var source = SourceSpec(api: "", list: "", key: "", versionField: nil, parameters: [], line: root.line)
        var target = TargetSpec(form: "", operation: "BatchSave", numberField: "", options: [], line: root.line)
        var filters: [FilterSpec] = []
        var bill: [FieldSpec] = []
        var description = ""
        var billLine = root.line
        for child in root.children {
            switch child.name {
            case "description":
                description = child.text.trimmingCharactersInSpaces()
            case "source":
                source = buildSource(child)
            case "target":
                target = buildTarget(child)
            case "lookup", "map":
                buildLookup(child)
            case "filter":
                if let filter = buildFilter(child) { filters.append(filter) }
            case "bill":
                billLine = child.line
                bill = buildFields(child.children, depth: 0, arrayFields: [knownFields?.document])
            default:
                break
            }
        }
        checkNumberField(target, bill: bill, line: billLine)
        checkConditionsOnRoundedValues(filters: filters, bill: bill)
        return MappingTemplate(
            name: root.attribute("name") ?? "", version: root.attribute("version") ?? "", description: description,
            file: file, sha256: sha256, source: source, target: target, lookups: lookups, filters: filters, bill: bill)
    }

    mutating func buildSource(_ element: XMLElement) -> SourceSpec {
        let api = element.attribute("api") ?? ""
        knownFields = SourceAPIs.known[api]
        if knownFields == nil {
            warning("source api '\(api)' is not one Ferry knows; paths cannot be checked against its fields", element.line)
        }
        // A misspelt key, version or list is valid XML but loses every document: each is rejected for want of
        // its key, or no page has the list.
        if let known = knownFields {
            for (attribute, effect) in [
                ("key", "every document would be rejected as one that cannot be identified"),
                ("version", "no document would have it, so of two versions of a document the one read last would be kept"),
            ] {
                guard let value = element.attribute(attribute), !known.document.contains(value) else { continue }
                warning(
                    "source \(attribute) '\(value)' is not a field of a source document\(didYouMean(value, in: known.document)); "
                        + effect, element.line)
            }
            if let list = known.list, let value = element.attribute("list"), value != list {
                warning(
                    "source list '\(value)' is not the member of \(api) pages that holds the documents ('\(list)'); "
                        + "no page would yield a document", element.line)
            }
        }
        var parameters: [(name: String, value: String)] = []
        for param in element.children where param.name == "param" {
            let name = param.attribute("name") ?? ""
            if parameters.contains(where: { $0.name == name }) {
                error("request parameter '\(name)' is given twice", param.line)
            }
            if ["page_no", "page_size", "start_time", "end_time", "sign", "timestamp"].contains(name) {
                error("request parameter '\(name)' is set by Ferry itself; remove it from <source>", param.line)
            }
            parameters.append((name, param.text.trimmingCharactersInSpaces()))
        }
        return SourceSpec(
            api: api, list: element.attribute("list") ?? "", key: element.attribute("key") ?? "",
            versionField: element.attribute("version"), parameters: parameters, line: element.line)
    }

    mutating func buildTarget(_ element: XMLElement) -> TargetSpec {
        var declared: [(name: String, value: JSONValue, line: Int)] = []
        for option in element.children where option.name == "option" {
            let name = option.attribute("name") ?? ""
            if declared.contains(where: { $0.name == name }) {
                error("option '\(name)' is given twice", option.line)
                continue
            }
            let known = MappingTemplate.standardOptions.contains { $0.name == name }
                || MappingTemplate.otherKnownOptions.contains(name)
            if !known { warning("'\(name)' is not a Kingdee save option Ferry knows; it is sent as written", option.line) }
            let text = option.text.trimmingCharactersInSpaces()
            let value = Self.optionValue(text)
            // The standard options are switches: anything else would be sent as a string Kingdee refuses in every batch.
            if MappingTemplate.standardOptions.contains(where: { $0.name == name }), value != .bool(true), value != .bool(false) {
                error("option '\(name)' is true or false, not '\(text)'", option.line)
            }
            declared.append((name, value, option.line))
        }
        var options: [SaveOption] = []
        for (name, value) in MappingTemplate.standardOptions {
            options.append(SaveOption(name: name, value: declared.first { $0.name == name }?.value ?? value))
        }
        for option in declared where !MappingTemplate.standardOptions.contains(where: { $0.name == option.name }) {
            options.append(SaveOption(name: option.name, value: option.value))
        }
        return TargetSpec(
            form: element.attribute("form") ?? "", operation: element.attribute("operation") ?? "BatchSave",
            numberField: element.attribute("number") ?? "", options: options, line: element.line)
    }

    /// `true`/`false` become booleans, whole numbers numbers, `[a,b]` string arrays; the rest strings.
    static func optionValue(_ text: String) -> JSONValue {
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        if let n = Int(text) { return .number(String(n)) }
        if text.hasPrefix("[") && text.hasSuffix("]") {
            let inner = text.dropFirst().dropLast()
            let items = inner.split(separator: ",").map { String($0).trimmingCharactersInSpaces() }.filter { !$0.isEmpty }
            return .array(items.map { .string($0) })
        }
        return .string(text)
    }

    mutating func buildLookup(_ element: XMLElement) {
        let name = element.attribute("name") ?? ""
        if lookupNames.contains(name) {
            error("a lookup or map named '\(name)' is already declared", element.line)
            return
        }
        lookupNames.insert(name)
        let onMiss = MissBehaviour(rawValue: element.attribute("on-miss") ?? "reject") ?? .reject
        let defaultValue = element.attribute("default")
        if onMiss == .default && defaultValue == nil {
            error("on-miss=\"default\" needs a default=\"…\" value", element.line)
        }
        let origin: LookupSpec.Origin
        if element.name == "lookup" {
            origin = .csv(
                file: element.attribute("file") ?? "", keyColumn: element.attribute("key") ?? "",
                valueColumn: element.attribute("value") ?? "", optional: bool(element, "optional", default: false))
        } else {
            // Keys and values as a lookup file's are read: without surrounding spaces (the value looked up is trimmed too,
            // so " 6 " could never be found as written), and a blank key, which nothing is looked up with, is dropped.
            var entries: [String: String] = [:]
            var firstSeen: [String: (written: String, line: Int)] = [:]
            var warnedBlank = false
            for entry in element.children where entry.name == "entry" {
                let written = entry.attribute("key") ?? ""
                let key = written.trimmingCharactersInSpaces()
                if key.isEmpty {
                    if !warnedBlank {
                        warning(
                            "map '\(name)': an entry with a blank key is never used (a blank value is missing, not looked up); "
                                + "remove it, or give the fields a default=\"…\"", entry.line)
                        warnedBlank = true
                    }
                    continue
                }
                if let first = firstSeen[key] {
                    let spaces = written != key || first.written != key
                    error(
                        "map '\(name)' has key '\(key)' twice (on line \(first.line)"
                            + (first.written != key ? " as '\(first.written)'" : "")
                            + ", and here\(written != key ? " as '\(written)'" : "")"
                            + (spaces ? "; keys are compared without surrounding spaces, as in a lookup file" : "") + "); keep one",
                        entry.line)
                    continue
                }
                firstSeen[key] = (written, entry.line)
                // Values too, as a lookup file's (`value=" CK001"` sends CK001, as the same CSV cell does).
                entries[key] = (entry.attribute("value") ?? "").trimmingCharactersInSpaces()
            }
            origin = .inline(entries)
        }
        lookups[name] = LookupSpec(name: name, origin: origin, onMiss: onMiss, defaultValue: defaultValue, line: element.line)
    }

    mutating func buildFilter(_ element: XMLElement) -> FilterSpec? {
        let text = element.attribute("when") ?? ""
        do {
            let condition = try Expression(parsing: text)
            checkPaths(condition.paths, depth: 0, arrayFields: [knownFields?.document], line: element.line)
            return FilterSpec(condition: condition, text: text, reason: element.attribute("reason"), line: element.line)
        } catch {
            self.error("invalid condition: \(error.message)", element.line)
            return nil
        }
    }

    /// Builds the fields of one object; `arrayFields` holds the known fields per enclosing level.
    mutating func buildFields(_ elements: [XMLElement], depth: Int, arrayFields: [Set<String>?]) -> [FieldSpec] {
        var fields: [FieldSpec] = []
        var seen: [String: Int] = [:]
        for element in elements {
            let name = element.attribute("name") ?? ""
            if let first = seen[name] {
                error("field '\(name)' is already defined on line \(first); each output field may appear once", element.line)
                continue
            }
            seen[name] = element.line
            if element.name == "entries" {
                if let spec = buildEntries(element, depth: depth, arrayFields: arrayFields) {
                    fields.append(FieldSpec(name: name, kind: .entries(spec), line: element.line))
                }
            } else if let value = buildValue(element, depth: depth, arrayFields: arrayFields) {
                fields.append(FieldSpec(name: name, kind: .value(value), line: element.line))
            }
        }
        return fields
    }

    mutating func buildEntries(_ element: XMLElement, depth: Int, arrayFields: [Set<String>?]) -> EntriesSpec? {
        guard let path = parsePath(element.attribute("path") ?? "", depth: depth, arrayFields: arrayFields, line: element.line)
        else { return nil }
        let elementFields: Set<String>? = path.parentLevels == 0 && depth == 0 && path.segments.count == 1
            ? path.firstKey.flatMap { knownFields?.arrays[$0] } : nil
        if elementFields == nil, path.parentLevels == 0, depth == 0, path.segments.count == 1, let first = path.firstKey,
            let known = knownFields, known.document.contains(first)
        {
            warning(
                "entries '\(element.attribute("name") ?? "")': '\(first)' is not an array of a source document; "
                    + "every document would be rejected ('\(first)' should be an array)", element.line)
        }
        let inner = arrayFields + [elementFields]
        var condition: Expression?
        let conditionText = element.attribute("when")
        if let conditionText {
            do {
                condition = try Expression(parsing: conditionText)
                checkPaths(condition!.paths, depth: depth + 1, arrayFields: inner, line: element.line)
            } catch {
                self.error("invalid condition: \(error.message)", element.line)
            }
        }
        let fields = buildFields(element.children, depth: depth + 1, arrayFields: inner)
        return EntriesSpec(
            path: path, condition: condition, conditionText: conditionText,
            minimum: count(element, "min", maximum: 1_000_000, field: "entries '\(element.attribute("name") ?? "")'") ?? 0,
            fields: fields)
    }

    mutating func buildValue(_ element: XMLElement, depth: Int, arrayFields: [Set<String>?]) -> ValueSpec? {
        let name = element.attribute("name") ?? ""
        let given = ["path", "const", "template", "setting"].filter { element.attribute($0) != nil }
        guard given.count == 1 else {
            error(
                given.isEmpty
                    ? "field '\(name)' has no value: give exactly one of path, const, template or setting"
                    : "field '\(name)' has \(given.joined(separator: " and ")): give exactly one value source",
                element.line)
            return nil
        }
        let source: ValueSource
        switch given[0] {
        case "path":
            guard let path = parsePath(element.attribute("path")!, depth: depth, arrayFields: arrayFields, line: element.line)
            else { return nil }
            source = .path(path)
        case "const":
            source = .constant(element.attribute("const")!)
        case "template":
            do {
                let template = try StringTemplate(parsing: element.attribute("template")!)
                for case .path(let path) in template.parts {
                    checkPaths([path], depth: depth, arrayFields: arrayFields, line: element.line)
                }
                source = .template(template)
            } catch {
                self.error("field '\(name)': \(error.message)", element.line)
                return nil
            }
        default:
            source = .setting(element.attribute("setting")!)
        }
        let type = ValueType(rawValue: element.attribute("type") ?? "string") ?? .string
        // Kingdee keeps at most 10 decimal places; 20 leaves room and keeps a typo from padding every value.
        let scale = count(element, "scale", maximum: 20, field: "field '\(name)'")
        if scale != nil && type != .decimal {
            error("field '\(name)': scale applies to type=\"decimal\" only", element.line)
        }
        let lookup = element.attribute("lookup")
        let onMiss = element.attribute("on-miss").flatMap(MissBehaviour.init(rawValue:))
        if let lookup {
            if let spec = lookups[lookup] {
                if (onMiss ?? spec.onMiss) == .default && element.attribute("default") == nil && spec.defaultValue == nil {
                    error("field '\(name)': on-miss=\"default\" needs a default=\"…\" on the field or the lookup", element.line)
                }
            } else {
                let declared = lookups.keys.sorted()
                error(
                    "field '\(name)' uses lookup '\(lookup)', which is not declared"
                        + (declared.isEmpty ? " (declare <lookup> or <map> before <bill>)" : "; declared: \(declared.joined(separator: ", "))"),
                    element.line)
            }
        } else if onMiss != nil {
            error("field '\(name)': on-miss applies only together with lookup=\"…\"", element.line)
        }
        if let defaultValue = element.attribute("default"), !defaultValue.isEmpty {
            checkLiteral(defaultValue, type: type, scale: scale, field: name, what: "default", line: element.line)
        }
        if case .constant(let value) = source {
            checkLiteral(value, type: type, scale: scale, field: name, what: "const", line: element.line)
        }
        return ValueSpec(
            source: source, type: type, scale: scale, isRequired: bool(element, "required", default: false),
            defaultValue: element.attribute("default"), lookup: lookup, onMiss: onMiss,
            omitEmpty: bool(element, "omit-empty", default: false),
            referenceKey: element.name == "ref" ? (element.attribute("key") ?? "FNumber") : nil)
    }

    /// A constant or default must convert to the field's type, and its scale must not round it to zero (the
    /// transform would reject every document it fills).
    mutating func checkLiteral(_ text: String, type: ValueType, scale: Int?, field: String, what: String, line: Int) {
        switch ValueConversion.convert(text, to: type, scale: type == .decimal ? scale : nil) {
        case .failure(let problem):
            error("field '\(field)': \(what) \(problem)", line)
        case .value(.number(let written)):
            if let scale, let problem = ValueConversion.lostToScale(text, written: written, scale: scale) {
                error("field '\(field)': \(what) \(problem)", line)
            }
        default:
            break
        }
    }

    mutating func parsePath(_ text: String, depth: Int, arrayFields: [Set<String>?], line: Int) -> ValuePath? {
        do {
            let path = try ValuePath(parsing: text)
            checkPaths([path], depth: depth, arrayFields: arrayFields, line: line)
            return path
        } catch {
            self.error("invalid path: \(error.message)", line)
            return nil
        }
    }

    mutating func checkPaths(_ paths: [ValuePath], depth: Int, arrayFields: [Set<String>?], line: Int) {
        for path in paths {
            if path.parentLevels > depth {
                error(
                    "path '\(path.text)' steps out \(path.parentLevels) level(s), but only \(depth) enclosing document(s) exist here",
                    line)
                continue
            }
            let level = arrayFields.count - 1 - path.parentLevels
            guard level >= 0, let known = arrayFields[level], let first = path.firstKey else { continue }
            if !known.contains(first) {
                warning(
                    "path '\(path.text)': '\(first)' is not a field of \(knownFieldsName(level))\(didYouMean(first, in: known))", line)
            }
        }
    }

    /// ` (did you mean 'x'?)` for the nearest known name, when it is near enough; else empty.
    func didYouMean(_ name: String, in known: Set<String>) -> String {
        let suggestion = known.min { editDistance($0, name) < editDistance($1, name) }
        return suggestion.map { editDistance($0, name) <= 3 ? " (did you mean '\($0)'?)" : "" } ?? ""
    }

    func knownFieldsName(_ level: Int) -> String {
        level == 0 ? "a source document" : "an element of the source array"
    }

    mutating func checkNumberField(_ target: TargetSpec, bill: [FieldSpec], line: Int) {
        guard !target.numberField.isEmpty else { return }
        guard let field = bill.first(where: { $0.name == target.numberField }) else {
            error(
                "<target number=\"\(target.numberField)\"> names a field that <bill> does not define; "
                    + "the bill number names payload files and matches receipts",
                target.line)
            return
        }
        switch field.kind {
        case .entries:
            error("the bill number field '\(field.name)' is an <entries> array; it must be a <field> giving text", field.line)
        case .value(let value) where value.referenceKey != nil:
            error(
                "the bill number field '\(field.name)' is a <ref>, which renders {\"\(value.referenceKey!)\": …}; "
                    + "it must be a <field> giving text",
                field.line)
        case .value(let value):
            if !value.isRequired {
                warning("the bill number field '\(field.name)' should be required=\"true\"", field.line)
            }
        }
    }
}

extension TemplateBuilder {
    /// A place in a source document, however a path to it is written: the source path of each enclosing
    /// `<entries>`, outermost first, then the path's own steps (`goods_count` in a line of `details_list`,
    /// and `../goods_count` in a line of a nested array of it, name the same place).
    typealias SourcePlace = [[ValuePath.Segment]]

    /// The place `path` names from inside the `<entries>` of `enclosing`; nil when it steps out of the document.
    static func place(_ path: ValuePath, in enclosing: SourcePlace) -> SourcePlace? {
        guard path.parentLevels <= enclosing.count else { return nil }
        return Array(enclosing.prefix(enclosing.count - path.parentLevels)) + [path.segments]
    }

    /// One test of a path against a number in a condition, written `path op literal` (`0 < x` is `x > 0`; a
    /// bare path is `path != 0`): its text as written, and whether a `not` encloses it.
    struct NumericTest {
        var path: ValuePath
        var comparison: Expression.Comparison
        var literal: ExactDecimal
        var text: String
        var isNegated: Bool
    }

    /// The tests of paths against numbers in `condition`, in order.
    static func numericTests(_ condition: Expression, isNegated: Bool = false) -> [NumericTest] {
        switch condition {
        case .or(let a, let b), .and(let a, let b):
            return numericTests(a, isNegated: isNegated) + numericTests(b, isNegated: isNegated)
        case .not(let a):
            return numericTests(a, isNegated: !isNegated)
        case .truthy(.path(let path)):
            return [NumericTest(path: path, comparison: .notEqual, literal: ExactDecimal(0), text: condition.text, isNegated: isNegated)]
        case .compare(.path(let path), let comparison, .number(let literal)):
            return [NumericTest(path: path, comparison: comparison, literal: literal, text: condition.text, isNegated: isNegated)]
        case .compare(.number(let literal), let comparison, .path(let path)):
            let mirrored: Expression.Comparison
            switch comparison {
            case .less: mirrored = .greater
            case .lessOrEqual: mirrored = .greaterOrEqual
            case .greater: mirrored = .less
            case .greaterOrEqual: mirrored = .lessOrEqual
            case .equal, .notEqual: mirrored = comparison
            }
            return [NumericTest(path: path, comparison: mirrored, literal: literal, text: condition.text, isNegated: isNegated)]
        default:
            return []
        }
    }

    /// Warns when a condition (document or line filter) compares a value with a number while a field with a
    /// `scale` sends the same value rounded: the condition sees 0.004 and lets it through `goods_count > 0`,
    /// the field would send 0.00 (and the transform rejects the document rather than book zero). Only a path
    /// that a scaled field maps is warned about, once per condition, naming the first such field.
    mutating func checkConditionsOnRoundedValues(filters: [FilterSpec], bill: [FieldSpec]) {
        var rounded: [SourcePlace: (name: String, line: Int, scale: Int)] = [:]
        var conditions: [(condition: Expression, text: String, line: Int, enclosing: SourcePlace)] =
            filters.map { ($0.condition, $0.text, $0.line, []) }
        func visit(_ fields: [FieldSpec], enclosing: SourcePlace) {
            for field in fields {
                switch field.kind {
                case .value(let value):
                    guard value.type == .decimal, let scale = value.scale, case .path(let path) = value.source,
                        let place = Self.place(path, in: enclosing), rounded[place] == nil
                    else { continue }
                    rounded[place] = (field.name, field.line, scale)
                case .entries(let spec):
                    guard let inner = Self.place(spec.path, in: enclosing) else { continue }
                    if let condition = spec.condition {
                        conditions.append((condition, spec.conditionText ?? condition.text, field.line, inner))
                    }
                    visit(spec.fields, enclosing: inner)
                }
            }
        }
        visit(bill, enclosing: [])
        guard !rounded.isEmpty else { return }
        for condition in conditions {
            var warned: Set<SourcePlace> = []
            for test in Self.numericTests(condition.condition) {
                guard let place = Self.place(test.path, in: condition.enclosing), let field = rounded[place],
                    warned.insert(place).inserted
                else { continue }
                let path = test.path.text
                let half = ValueConversion.halfUnit(scale: field.scale)
                var message = "condition '\(condition.text)' tests \(path) unrounded, but field '\(field.name)' "
                    + "(line \(field.line)) rounds it to scale \(field.scale): "
                // For a test against zero that lets small values through: the condition to write instead.
                var suggestion: String?
                if test.literal.isZero && !test.isNegated {
                    switch test.comparison {
                    case .greater: suggestion = "\(path) >= \(half)"
                    case .less: suggestion = "\(path) <= -\(half)"
                    case .notEqual: suggestion = "\(path) >= \(half) or \(path) <= -\(half)"
                    default: suggestion = nil
                    }
                }
                if let suggestion {
                    // What the usual `goods_count > 0` lets through and the field would send as zero: a value just
                    // under half a unit (0.004 for 0.005).
                    let example = (test.comparison == .less ? "-" : "") + half.dropLast() + "4"
                    message += "\(example) passes '\(test.text)' and would be sent as "
                        + "\(ExactDecimal(0).rounded(toScale: field.scale)), which rejects the document; "
                        + "compare against half a unit of the scale (\(suggestion)), or remove the scale"
                } else {
                    message += "a value less than \(half) from the limit \(test.literal) can pass or fail '\(test.text)' "
                        + "unrounded and be sent rounded the other way; move the limit by half a unit of the scale "
                        + "(\(half)), or remove the scale"
                }
                warning(message, condition.line)
            }
        }
    }
}

/// Levenshtein distance, for "did you mean" hints.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
