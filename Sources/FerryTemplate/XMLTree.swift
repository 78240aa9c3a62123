import CLibXML2
import FerryCore

/// An XML element as plain Swift values, with the line it starts on.
///
/// libxml2 pointers never leave this file: documents are parsed, validated and copied into `XMLElement`
/// trees, then freed.
public struct XMLElement: Sendable, Hashable {
    /// Local name (namespace prefix removed).
    public var name: String
    /// Namespace URI, if any.
    public var namespace: String?
    /// Attributes in document order.
    public var attributes: [(name: String, value: String)]
    /// Child elements in document order.
    public var children: [XMLElement]
    /// Concatenated text content of this element (not of its children).
    public var text: String
    /// 1-based line of the start tag.
    public var line: Int

    /// The value of attribute `name`.
    public func attribute(_ name: String) -> String? {
        attributes.first { $0.name == name }?.value
    }

    public static func == (lhs: XMLElement, rhs: XMLElement) -> Bool {
        lhs.name == rhs.name && lhs.namespace == rhs.namespace && lhs.children == rhs.children
            && lhs.text == rhs.text && lhs.line == rhs.line
            && lhs.attributes.map(\.name) == rhs.attributes.map(\.name)
            && lhs.attributes.map(\.value) == rhs.attributes.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(line)
    }
}

/// Collects libxml2's structured errors as diagnostics. Passed to libxml2 through `userData`.
final class XMLErrorSink {
    let file: String
    var diagnostics: [Diagnostic] = []

    init(file: String) {
        self.file = file
    }
}

/// libxml2's structured error callback (libxml2 2.9: `void (*)(void *, xmlErrorPtr)`).
/// A global function, so it converts to a C function pointer; context travels through `userData`.
private func collectXMLError(_ userData: UnsafeMutableRawPointer?, _ error: xmlErrorPtr?) {
    guard let userData, let error else { return }
    let sink = Unmanaged<XMLErrorSink>.fromOpaque(userData).takeUnretainedValue()
    let e = error.pointee
    var message = e.message.map { String(cString: $0) } ?? "unknown XML error"
    while message.hasSuffix("\n") || message.hasSuffix(" ") { message.removeLast() }
    message = XMLTree.readable(message)
    let severity: Diagnostic.Severity = e.level == XML_ERR_WARNING ? .warning : .error
    let line = e.line > 0 ? Int(e.line) : nil
    let column = e.int2 > 0 ? Int(e.int2) : nil
    sink.diagnostics.append(Diagnostic(severity, message, file: sink.file, line: line, column: column))
}

/// Parsing and XSD validation through libxml2.
public enum XMLTree {
    /// Parses `bytes` as XML and, when `schemaPath` is given, validates the document against that XSD.
    ///
    /// Pure apart from reading the XSD file. Errors are returned, not thrown, so that every problem in a
    /// template is reported at once.
    ///
    /// - Parameters:
    ///   - bytes: the document.
    ///   - file: the name used in diagnostics.
    ///   - schemaPath: the XSD file, or `nil` to skip validation.
    /// - Returns: the root element (nil when the document is not well-formed) and all diagnostics.
    public static func parse(
        _ bytes: [UInt8], file: String, schemaPath: String?
    ) -> (root: XMLElement?, diagnostics: [Diagnostic]) {
        // Templates are read as UTF-8 whatever their declaration says, and with no DTD: say so plainly
        // rather than pass on what libxml2 makes of them.
        if bytes.drop(while: { [0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF].contains($0) }).isEmpty {
            return (
                nil,
                [
                    .error(
                        "the template is empty; write a <scheme> (`ferry init` copies the built-in one into templates/)",
                        file: file, line: 1)
                ]
            )
        }
        if let encoding = TextEncoding.wide(bytes) {
            return (
                nil,
                [
                    .error(
                        "the template is \(encoding); templates are read as UTF-8: save it as UTF-8 (iconv -f \(encoding) -t UTF-8)",
                        file: file, line: 1)
                ]
            )
        }
        if let line = doctypeLine(bytes) {
            return (
                nil,
                [
                    .error(
                        "a template may not have a <!DOCTYPE> (a DTD or entities, which Ferry never expands or fetches): "
                            + "remove it, and write the text itself where an entity (&name;) was used",
                        file: file, line: line)
                ]
            )
        }
        xmlInitParser()
        let sink = XMLErrorSink(file: file)
        return withExtendedLifetime(sink) {
            let context = Unmanaged.passUnretained(sink).toOpaque()
            // xmlReadMemory reports through the thread-local handler: set and clear it in this one
            // synchronous scope (no suspension point in between).
            xmlSetStructuredErrorFunc(context, collectXMLError)
            defer { xmlSetStructuredErrorFunc(nil, nil) }
            let options = Int32(
                XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue | XML_PARSE_NOERROR.rawValue
                    | XML_PARSE_NOWARNING.rawValue)
            let document: xmlDocPtr? = bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { chars in
                    xmlReadMemory(chars.baseAddress, Int32(chars.count), file, "UTF-8", options)
                }
            }
            guard let document else {
                if sink.diagnostics.isEmpty {
                    sink.diagnostics.append(.error("the file is not well-formed XML", file: file))
                }
                return (nil, sink.diagnostics)
            }
            defer { xmlFreeDoc(document) }
            if let schemaPath {
                validate(document, schemaPath: schemaPath, sink: sink)
            }
            guard let root = xmlDocGetRootElement(document) else {
                sink.diagnostics.append(.error("the document has no root element", file: file))
                return (nil, sink.diagnostics)
            }
            return (convert(root), sink.diagnostics)
        }
    }

    private static func validate(_ document: xmlDocPtr, schemaPath: String, sink: XMLErrorSink) {
        let schemaSink = XMLErrorSink(file: schemaPath)
        withExtendedLifetime(schemaSink) {
            // Parse the XSD from a file path: libxml2 owns the bytes, so there is no buffer-lifetime trap
            // (xmlSchemaNewMemParserCtxt does not copy its buffer and fails only in release builds).
            guard let parserContext = xmlSchemaNewParserCtxt(schemaPath) else {
                sink.diagnostics.append(.error("cannot read the template schema", file: schemaPath))
                return
            }
            defer { xmlSchemaFreeParserCtxt(parserContext) }
            let schemaContext = Unmanaged.passUnretained(schemaSink).toOpaque()
            xmlSchemaSetParserStructuredErrors(parserContext, collectXMLError, schemaContext)
            guard let schema = xmlSchemaParse(parserContext) else {
                sink.diagnostics.append(
                    .error("the template schema does not compile: \(schemaSink.diagnostics.first?.message ?? "unknown error")",
                        file: schemaPath))
                return
            }
            defer { xmlSchemaFree(schema) }
            guard let validContext = xmlSchemaNewValidCtxt(schema) else { return }
            defer { xmlSchemaFreeValidCtxt(validContext) }
            xmlSchemaSetValidStructuredErrors(validContext, collectXMLError, Unmanaged.passUnretained(sink).toOpaque())
            _ = xmlSchemaValidateDoc(validContext, document)
        }
    }

    private static func convert(_ node: xmlNodePtr) -> XMLElement {
        var attributes: [(name: String, value: String)] = []
        var attribute = node.pointee.properties
        while let a = attribute {
            let name = String(cString: a.pointee.name)
            var value = ""
            if let raw = xmlNodeListGetString(node.pointee.doc, a.pointee.children, 1) {
                value = String(cString: raw)
                ferry_xml_free(raw)
            }
            attributes.append((name, value))
            attribute = a.pointee.next
        }
        var children: [XMLElement] = []
        var text = ""
        var child = node.pointee.children
        while let c = child {
            switch c.pointee.type {
            case XML_ELEMENT_NODE:
                children.append(convert(c))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = c.pointee.content { text += String(cString: content) }
            default:
                break
            }
            child = c.pointee.next
        }
        let namespace = node.pointee.ns.flatMap { ns in ns.pointee.href.map { String(cString: $0) } }
        return XMLElement(
            name: String(cString: node.pointee.name), namespace: namespace, attributes: attributes,
            children: children, text: text, line: Int(xmlGetLineNo(node)))
    }

    /// The line of the document type declaration in the prolog (before the root element), outside comments
    /// and processing instructions, or `nil` when there is none.
    static func doctypeLine(_ bytes: [UInt8]) -> Int? {
        var line = 1
        var i = 0
        func starts(_ text: StaticString, at index: Int) -> Bool {
            text.withUTF8Buffer { pattern in
                index + pattern.count <= bytes.count && pattern.indices.allSatisfy { bytes[index + $0] == pattern[$0] }
            }
        }
        func skip(to end: StaticString) {
            while i < bytes.count, !starts(end, at: i) {
                if bytes[i] == UInt8(ascii: "\n") { line += 1 }
                i += 1
            }
            i += end.utf8CodeUnitCount
        }
        while i < bytes.count {
            if starts("<!--", at: i) {
                skip(to: "-->")
            } else if starts("<?", at: i) {
                skip(to: "?>")
            } else if starts("<!DOCTYPE", at: i) {
                return line
            } else if bytes[i] == UInt8(ascii: "<") {
                return nil  // the root element: a DOCTYPE can only come before it
            } else {
                if bytes[i] == UInt8(ascii: "\n") { line += 1 }
                i += 1
            }
        }
        return nil
    }

    /// Shortens libxml2's schema messages: `{urn:ferry:scheme:1}field` becomes `<field>`; says what to do
    /// about text that is not UTF-8 (libxml2's advice to declare the encoding does not apply: templates are
    /// read as UTF-8).
    static func readable(_ message: String) -> String {
        if message.hasPrefix("Input is not proper UTF-8") {
            let bytes = message.range(of: "Bytes: ").map { " (bytes " + message[$0.upperBound...] + ")" } ?? ""
            return "\(TextEncoding.notUTF8Advice)\(bytes); templates are read as UTF-8, whatever their encoding declaration says"
        }
        var result = message
        let prefix = "{urn:ferry:scheme:1}"
        while let range = result.range(of: prefix) {
            var end = range.upperBound
            while end < result.endIndex, result[end].isLetter || result[end].isNumber || result[end] == "-" {
                end = result.index(after: end)
            }
            let name = result[range.upperBound..<end]
            result.replaceSubrange(range.lowerBound..<end, with: "<\(name)>")
        }
        return result.replacingOccurrences(of: "Element '<", with: "element '<")
    }
}
