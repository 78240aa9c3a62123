import FerryCore
import FerryTemplate

/// Where a source document was read from: the file, its JSON path, and (for JSON Lines) its line.
public struct DocumentOrigin: Sendable, Hashable, CustomStringConvertible {
    /// The input file, as named by the caller.
    public var file: String
    /// JSON path of the document inside the file, e.g. `$.response.stockin_list[3]`.
    public var jsonPath: String
    /// 1-based line, for JSON Lines inputs.
    public var line: Int?
    /// Position of the file among all inputs (sorted order), for "most recent wins" ties.
    public var fileIndex: Int
    /// Position of the document inside its file.
    public var position: Int

    /// Creates an origin.
    public init(file: String, jsonPath: String, line: Int?, fileIndex: Int, position: Int) {
        self.file = file
        self.jsonPath = jsonPath
        self.line = line
        self.fileIndex = fileIndex
        self.position = position
    }

    /// `file:line` or `file $.path`.
    public var description: String {
        if let line { return "\(file):\(line)" }
        return "\(file) \(jsonPath)"
    }
}

/// One 旺店通 stock-in order (查询入库单管理 `stockin_list` element), as read from an input file.
public struct StockInOrder: Sendable, Hashable {
    /// The document key (`stockin_no`), if present.
    public var key: String?
    /// The version (`modified`), if present; the highest version of a key wins.
    public var version: String?
    /// The order as received (numbers keep their text).
    public var document: JSONValue
    /// Where it was read from.
    public var origin: DocumentOrigin
    /// JSON paths of members whose name the order repeats in one object, among those the template reads
    /// (`JSONValue.repeatedMembers(at:)`): such an order is rejected, not mapped from a guess.
    public var repeatedMembers: [String]

    /// Creates an order.
    public init(key: String?, version: String?, document: JSONValue, origin: DocumentOrigin, repeatedMembers: [String] = []) {
        self.key = key
        self.version = version
        self.document = document
        self.origin = origin
        self.repeatedMembers = repeatedMembers
    }
}

/// The recognised shapes of an input file.
public enum InputShape: String, Sendable, Hashable {
    /// A Qimen response page: `{"response": {"errorcode": 0, "total_count": N, "stockin_list": […]}}`.
    case qimenPage = "qimen-page"
    /// A direct open-API page: `{"code": 0, "total_count": N, "stockin_list": […]}`.
    case openAPIPage = "openapi-page"
    /// A JSON array of orders.
    case array
    /// JSON Lines: one order per line.
    case jsonLines = "json-lines"
    /// A single order object.
    case single
}

/// The orders of one input file, and what was wrong with it.
public struct InputFile: Sendable {
    /// The file, as named by the caller.
    public var file: String
    /// The shape recognised, or `nil` when none was.
    public var shape: InputShape?
    /// The orders read.
    public var orders: [StockInOrder]
    /// Problems: an error means some or all of the file's documents could not be read.
    public var diagnostics: [Diagnostic]
    /// SHA-256 of the file's bytes.
    public var sha256: String

    /// Creates an input file record.
    public init(file: String, shape: InputShape?, orders: [StockInOrder], diagnostics: [Diagnostic], sha256: String) {
        self.file = file
        self.shape = shape
        self.orders = orders
        self.diagnostics = diagnostics
        self.sha256 = sha256
    }
}

/// Reads input files of any supported shape into `StockInOrder`s. Pure: bytes in, values out.
public enum InputReader {
    /// Reads one input file's bytes.
    ///
    /// - Parameters:
    ///   - bytes: the file's content.
    ///   - file: the name used in origins and diagnostics.
    ///   - fileIndex: the file's position among all inputs.
    ///   - source: the template's `<source>` (list name, key and version fields).
    ///   - keeping: when given, members of the file not named in it are left out of the documents (see
    ///     `keySet(for:)`); every byte of the file is still checked.
    ///   - sha256: the SHA-256 (hex) of `bytes` when the caller has it already; otherwise it is computed.
    public static func read(
        _ bytes: [UInt8], file: String, fileIndex: Int, source: SourceSpec, keeping: JSONKeySet? = nil,
        sha256: String? = nil
    ) -> InputFile {
        var input = InputFile(
            file: file, shape: nil, orders: [], diagnostics: [], sha256: sha256 ?? Hashing.sha256Hex(bytes))
        if let encoding = TextEncoding.wide(bytes) {
            input.diagnostics.append(
                .error(
                    "the file is \(encoding), not UTF-8; no document of this file was read: save or export it as UTF-8 "
                        + "(iconv -f \(encoding) -t UTF-8), then run transform again",
                    file: file, line: 1, column: 1))
            return input
        }
        let lower = file.lowercased()
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") {
            readLines(bytes, into: &input, fileIndex: fileIndex, source: source, keeping: keeping)
            return input
        }
        let value: JSONValue
        var repeatsKeptName = false
        do {
            value = try JSONReader.parse(bytes, keeping: keeping, repeatsKeptName: &repeatsKeptName)
        } catch {
            // Several values one after another: JSON Lines without the .jsonl name.
            if error.message.hasPrefix("unexpected") && error.message.hasSuffix("after the end of the JSON value")
                && error.line > 1, case .success(let first)? = JSONReader.parseLines(bytes).first?.result,
                first.objectValue != nil
            {
                readLines(bytes, into: &input, fileIndex: fileIndex, source: source, keeping: keeping)
                return input
            }
            input.diagnostics.append(
                .error(
                    "\(error.message)\(encodingHint(error.message)); no document of this file was read: fix or re-export it, "
                        + "then run transform again",
                    file: file, line: error.line, column: error.column))
            return input
        }
        readValue(value, into: &input, fileIndex: fileIndex, source: source)
        if repeatsKeptName { assignRepeatedMembers(value.repeatedMembers(at: "$"), in: &input) }
        return input
    }

    /// Gives each order the repeated members inside it; a repeated member outside every order (a page's
    /// `stockin_list` twice: the first list's orders would be lost) refuses the whole file.
    private static func assignRepeatedMembers(_ paths: [String], in input: inout InputFile) {
        var outside = paths
        for i in input.orders.indices {
            let base = input.orders[i].origin.jsonPath
            let inside = paths.filter { $0.hasPrefix(base + ".") || $0.hasPrefix(base + "[") }
            guard !inside.isEmpty else { continue }
            input.orders[i].repeatedMembers = inside
            outside.removeAll { inside.contains($0) }
        }
        guard let first = outside.first else { return }
        input.orders = []
        input.diagnostics.append(
            .error(
                "the member '\(first.split(separator: ".").last ?? "")' appears more than once in its object, and JSON does not say "
                    + "which one counts; no document of this file was read: fix or re-export the file, then run transform again",
                file: input.file, jsonPath: first))
    }

    /// What to do about text that is not UTF-8: Chinese exports from Windows tools are often GBK/GB18030.
    static func encodingHint(_ message: String) -> String {
        message.hasPrefix("invalid UTF-8")
            ? " (\(TextEncoding.notUTF8Advice))" : ""
    }

    private static func readLines(
        _ bytes: [UInt8], into input: inout InputFile, fileIndex: Int, source: SourceSpec, keeping: JSONKeySet?
    ) {
        input.shape = .jsonLines
        for line in JSONReader.parseLines(bytes, keeping: keeping) {
            switch line.result {
            case .failure(let error):
                input.diagnostics.append(
                    .error(
                        "\(error.message)\(encodingHint(error.message)); this line's document was not read", file: input.file,
                        line: line.number, column: error.column))
            case .success(let value):
                let origin = DocumentOrigin(file: input.file, jsonPath: "$", line: line.number, fileIndex: fileIndex, position: line.number)
                if case .object = value {
                    var document = order(value, origin: origin, source: source)
                    if line.repeatsKeptName { document.repeatedMembers = value.repeatedMembers(at: "$") }
                    input.orders.append(document)
                } else {
                    input.diagnostics.append(
                        .error("expected an order object but found \(value.kindDescription); this line was not read", file: input.file, line: line.number))
                }
            }
        }
    }

    /// The fields of an error response that its message quotes.
    static let errorFields = ["errorcode", "code", "msg", "message", "sub_code", "sub_msg", "sub_message"]

    /// The member names of the page wrappers and error responses this reader looks at (derived from the
    /// names it reads, so a field added to an error message cannot be left out of the key set).
    static let wrapperKeys = ["error_response", "response", "flag", "total_count"] + errorFields

    /// The members a transform with `template` can see: what the template reads, the page wrappers and
    /// error responses; values that a condition tests are kept whole. Reading only these builds a fraction
    /// of each document (a template reads about a third of a WDT order's fields).
    public static func keySet(for template: MappingTemplate) -> JSONKeySet {
        JSONKeySet(template.sourceKeys.union(wrapperKeys), wholeNames: template.sourceKeysTestedWhole)
    }

    private static func readValue(_ value: JSONValue, into input: inout InputFile, fileIndex: Int, source: SourceSpec) {
        let file = input.file
        switch value {
        case .array(let elements):
            input.shape = .array
            readList(elements, basePath: "$", into: &input, fileIndex: fileIndex, source: source)
        case .object(let object):
            if let errorResponse = object["error_response"] {
                input.diagnostics.append(.error(describeError(errorResponse, kind: "Qimen gateway error"), file: file, jsonPath: "$.error_response"))
                return
            }
            if let response = object["response"], case .object(let body) = response {
                input.shape = .qimenPage
                if isErrorResponse(body) {
                    input.diagnostics.append(.error(describeError(response, kind: "WDT error response"), file: file, jsonPath: "$.response"))
                    return
                }
                readListMember(body, basePath: "$.response", into: &input, fileIndex: fileIndex, source: source)
                return
            }
            // A page of the direct open API, or an error answer (an order of its own has a stockin_no).
            if object[source.key] == nil && (object["code"] != nil || object["flag"] != nil || object["errorcode"] != nil) {
                input.shape = .openAPIPage
                if isErrorResponse(object) {
                    input.diagnostics.append(.error(describeError(value, kind: "WDT error response"), file: file, jsonPath: "$"))
                    return
                }
                readListMember(object, basePath: "$", into: &input, fileIndex: fileIndex, source: source)
                return
            }
            if object[source.list] != nil {
                input.shape = .openAPIPage
                readListMember(object, basePath: "$", into: &input, fileIndex: fileIndex, source: source)
                return
            }
            if object[source.key] != nil {
                input.shape = .single
                let origin = DocumentOrigin(file: file, jsonPath: "$", line: nil, fileIndex: fileIndex, position: 0)
                input.orders.append(order(value, origin: origin, source: source))
                return
            }
            input.diagnostics.append(unrecognised(file, source: source))
        default:
            input.diagnostics.append(unrecognised(file, source: source))
        }
    }

    /// Whether a page body is a WDT error: `flag` "failure" (any case), or an `errorcode` or `code` other
    /// than 0, as the extract reads pages (`WDTResponseParser`).
    static func isErrorResponse(_ body: JSONObject) -> Bool {
        if let flag = body["flag"]?.scalarText, flag.lowercased() == "failure" { return true }
        for key in ["errorcode", "code"] {
            guard let code = body[key]?.scalarText?.trimmingCharacters(in: .whitespaces) else { continue }
            if !(code.isEmpty || code == "0" || code.lowercased() == "success") { return true }
        }
        return false
    }

    private static func readListMember(
        _ object: JSONObject, basePath: String, into input: inout InputFile, fileIndex: Int, source: SourceSpec
    ) {
        // A page with neither a list nor a total is no page: an error body of another shape, or a cut file.
        if object[source.list] == nil && object["total_count"] == nil {
            input.diagnostics.append(
                .error(
                    "the page has neither '\(source.list)' nor 'total_count', so it is not a WDT page of orders; "
                        + "check the file (an error answer, or a page cut short) and extract it again",
                    file: input.file, jsonPath: basePath))
            return
        }
        switch object[source.list] {
        case .array(let elements):
            readList(elements, basePath: "\(basePath).\(source.list)", into: &input, fileIndex: fileIndex, source: source)
        case .none, .null:
            // WDT sends `"stockin_list": null` (or nothing) on an empty page; either is only fine with no
            // total (or a total of 0): a page that counts orders but holds none lost them.
            if let total = object["total_count"]?.scalarText, let n = ExactDecimal(total), !n.isZero {
                if object[source.list] == nil {
                    input.diagnostics.append(
                        .error(
                            "the page says total_count \(total) but has no '\(source.list)'; extract the page again",
                            file: input.file, jsonPath: basePath))
                } else {
                    input.diagnostics.append(
                        .error(
                            "the page says total_count \(total) but its '\(source.list)' is null; extract the page again",
                            file: input.file, jsonPath: "\(basePath).\(source.list)"))
                }
            }
        case .some(let other):
            input.diagnostics.append(
                .error("'\(source.list)' should be an array but is \(other.kindDescription)", file: input.file, jsonPath: "\(basePath).\(source.list)"))
        }
    }

    private static func readList(
        _ elements: [JSONValue], basePath: String, into input: inout InputFile, fileIndex: Int, source: SourceSpec
    ) {
        for (i, element) in elements.enumerated() {
            let path = "\(basePath)[\(i)]"
            guard case .object = element else {
                input.diagnostics.append(
                    .error("expected an order object but found \(element.kindDescription); this element was not read", file: input.file, jsonPath: path))
                continue
            }
            let origin = DocumentOrigin(file: input.file, jsonPath: path, line: nil, fileIndex: fileIndex, position: i)
            input.orders.append(order(element, origin: origin, source: source))
        }
    }

    private static func order(_ value: JSONValue, origin: DocumentOrigin, source: SourceSpec) -> StockInOrder {
        let key = value[source.key]?.scalarText.flatMap { $0.isEmpty ? nil : $0 }
        let version = source.versionField.flatMap { value[$0]?.scalarText }
        return StockInOrder(key: key, version: version, document: value, origin: origin)
    }

    private static func describeError(_ value: JSONValue, kind: String) -> String {
        let fields = errorFields
            .compactMap { name in value[name]?.scalarText.map { "\(name) \($0)" } }
        return "the file is a \(kind) (\(fields.joined(separator: ", "))), not a page of orders; extract it again"
    }

    private static func unrecognised(_ file: String, source: SourceSpec) -> Diagnostic {
        .error(
            "not a recognised input: expected a WDT page ({\"response\":{…\"\(source.list)\":[…]}} or "
                + "{\"code\":0,…,\"\(source.list)\":[…]}), a JSON array of orders, or JSON Lines (.jsonl)",
            file: file)
    }
}
