import FerryCore

/// The entries of a `<lookup>` or `<map>`: key → value.
public struct LookupTable: Sendable, Hashable {
    /// The lookup's name in the template.
    public var name: String
    /// Entries.
    public var entries: [String: String]
    /// The CSV file the entries came from, if any.
    public var file: String?
    /// SHA-256 of the CSV file, if any (recorded in manifests).
    public var sha256: String?

    /// Creates a table.
    public init(name: String, entries: [String: String], file: String? = nil, sha256: String? = nil) {
        self.name = name
        self.entries = entries
        self.file = file
        self.sha256 = sha256
    }

    /// Parses a CSV file's bytes (RFC 4180: commas, double quotes, CRLF or LF, optional UTF-8 BOM).
    ///
    /// The first row names the columns. Keys are trimmed of surrounding spaces; empty keys are skipped.
    ///
    /// - Throws: a `Diagnostic` with the file and line for a missing column, a malformed row, or a key
    ///   listed twice with different values.
    public static func parseCSV(
        _ bytes: [UInt8], file: String, name: String, keyColumn: String, valueColumn: String
    ) throws(Diagnostic) -> LookupTable {
        guard var text = String(validating: bytes, as: UTF8.self) else {
            if let encoding = TextEncoding.wide(bytes) {
                throw .error("the file is \(encoding); save it as UTF-8 CSV (iconv -f \(encoding) -t UTF-8)", file: file, line: 1)
            }
            // Excel on a Chinese Windows saves CSV as GBK: name the line of the first byte that is not UTF-8.
            var parser = Unicode.UTF8.ForwardParser()
            var iterator = bytes.makeIterator()
            var line = 1
            parsing: while true {
                switch parser.parseScalar(from: &iterator) {
                case .valid(let scalar): if scalar.count == 1 && scalar.first == UInt8(ascii: "\n") { line += 1 }
                case .error, .emptyInput: break parsing
                }
            }
            throw .error("\(TextEncoding.notUTF8Advice) (in Excel: Save As, CSV UTF-8)", file: file, line: line)
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let rows = try CSV.rows(text, file: file)
        guard let header = rows.first else {
            throw .error("the file is empty; it needs a header row with columns '\(keyColumn)' and '\(valueColumn)'", file: file, line: 1)
        }
        let columns = header.fields.map { $0.trimmingCharactersInSpaces() }
        guard let keyIndex = columns.firstIndex(of: keyColumn) else {
            throw .error("no column '\(keyColumn)' in the header (columns: \(columns.joined(separator: ", ")))", file: file, line: header.line)
        }
        guard let valueIndex = columns.firstIndex(of: valueColumn) else {
            throw .error("no column '\(valueColumn)' in the header (columns: \(columns.joined(separator: ", ")))", file: file, line: header.line)
        }
        var entries: [String: String] = [:]
        var firstLine: [String: Int] = [:]
        for row in rows.dropFirst() {
            if row.fields.allSatisfy({ $0.trimmingCharactersInSpaces().isEmpty }) { continue }
            guard row.fields.count > max(keyIndex, valueIndex) else {
                throw .error(
                    "the row has \(row.fields.count) columns; the header has \(columns.count)", file: file, line: row.line)
            }
            let key = row.fields[keyIndex].trimmingCharactersInSpaces()
            let value = row.fields[valueIndex].trimmingCharactersInSpaces()
            if key.isEmpty { continue }
            if let existing = entries[key], existing != value {
                throw .error(
                    "'\(key)' is listed twice with different values ('\(existing)' on line \(firstLine[key]!), '\(value)' here); keep one",
                    file: file, line: row.line)
            }
            entries[key] = value
            firstLine[key] = firstLine[key] ?? row.line
        }
        return LookupTable(name: name, entries: entries, file: file, sha256: Hashing.sha256Hex(bytes))
    }
}

/// A small RFC 4180 CSV reader that keeps line numbers.
enum CSV {
    struct Row {
        var fields: [String]
        var line: Int
    }

    static func rows(_ text: String, file: String) throws(Diagnostic) -> [Row] {
        var rows: [Row] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1
        var rowLine = 1
        var chars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending {
                pending = nil
                return p
            }
            return chars.next()
        }
        var sawAnything = false
        while let ch = next() {
            sawAnything = true
            if inQuotes {
                if ch == "\"" {
                    if let after = next() {
                        if after == "\"" {
                            field.unicodeScalars.append("\"")
                        } else {
                            inQuotes = false
                            pending = after
                        }
                    } else {
                        inQuotes = false
                    }
                } else {
                    if ch == "\n" { line += 1 }
                    field.unicodeScalars.append(ch)
                }
                continue
            }
            switch ch {
            case "\"":
                if field.isEmpty {
                    inQuotes = true
                } else {
                    throw .error("a double quote inside an unquoted field; quote the whole field and double the quote (\"\")", file: file, line: line)
                }
            case ",":
                fields.append(field)
                field = ""
            case "\r", "\n":
                // CRLF, LF, or a bare CR (as classic Mac Excel saves CSV) ends a row.
                if ch == "\r", let after = next(), after != "\n" { pending = after }
                fields.append(field)
                rows.append(Row(fields: fields, line: rowLine))
                fields = []
                field = ""
                line += 1
                rowLine = line
            default:
                field.unicodeScalars.append(ch)
            }
        }
        if inQuotes {
            throw .error("a quoted field is never closed", file: file, line: rowLine)
        }
        if sawAnything && (!field.isEmpty || !fields.isEmpty) {
            fields.append(field)
            rows.append(Row(fields: fields, line: rowLine))
        }
        return rows
    }
}
