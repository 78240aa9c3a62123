import FerryCore
import Foundation

/// One Kingdee Save payload in a run's `transform/` directory, checked and ready to batch.
public struct PayloadDocument: Sendable {
    /// The payload's path.
    public var path: String
    /// The file name without `.json`; receipts and error files use it (`<name>.receipt.json`).
    public var name: String
    /// `formid`.
    public var formID: String
    /// `data` without `Model`: the Save options. Only payloads with equal options share a batch.
    public var options: JSONObject
    /// `data.Model` as compact JSON, ready to be spliced into a BatchSave body (kept as bytes: encoding
    /// each model again for every request cost more than the rest of the client).
    public var modelJSON: [UInt8]
    /// `Model.FBillNo`.
    public var billNumber: String
    /// SHA-256 of the file's bytes.
    public var sha256: String
    /// Kingdee's id (`FID`) of the bill saved from this payload, once known (from BatchSave's answer or the
    /// receipt): Submit, Audit and the FDocumentStatus check name the bill by it, not by its number, which
    /// another organisation may use too. `nil` for a payload not saved yet.
    public var billID: String?

    /// The Model field `organization` was taken from (`PayloadDirectory.load`'s `organizationField`, the
    /// load's `KingdeeTargetConfig.existenceCheckOrgField`); empty when none was asked for.
    public var organizationField = ""
    /// `Model.<organizationField>.FNumber` (as `organization(in:field:)` finds it), or `nil` when the bill
    /// has no such field or none was asked for: the organisation an existing bill must share with this one
    /// to be taken for it. Taken while the payload is read (`PayloadDirectory.load`), from the model parsed
    /// then.
    public var organization: String?

    /// `<field>.FNumber` of a bill head (any letter case; or `<field>` when it is a plain value), or `nil`
    /// when the head has no such field or `field` is empty.
    static func organization(in head: JSONObject, field: String) -> String? {
        guard !field.isEmpty,
            let value = head.members.first(where: { $0.key.caseInsensitiveCompare(field) == .orderedSame })?.value
        else { return nil }
        if let reference = value.objectValue {
            return reference.members.first { $0.key.caseInsensitiveCompare("FNumber") == .orderedSame }?.value.scalarText
        }
        return value.scalarText
    }

    /// The batching key: form id plus the options as compact JSON.
    public var groupKey: String {
        formID + "\u{1}" + JSONWriter(style: .compact).string(.object(options))
    }
}

/// The files of a run's write queue (`runs/<id>/transform/`).
public enum PayloadDirectory {
    /// Whether `fileName` is a payload: every `*.json` except `manifest.json`, `*.reject.json`,
    /// `*.receipt.json` and `*.error.json`.
    public static func isPayload(_ fileName: String) -> Bool {
        fileName.hasSuffix(".json") && !fileName.hasPrefix(".") && fileName != "manifest.json"
            && !fileName.hasSuffix(".reject.json") && !fileName.hasSuffix(".receipt.json")
            && !fileName.hasSuffix(".error.json")
    }

    /// The payload files in `directory`, sorted by name; from `listing` (its file names, sorted) when the
    /// caller has already listed the directory.
    public static func payloadFiles(in directory: String, listing: [String]? = nil) -> [String] {
        (listing ?? FileSystem.list(directory)).filter(isPayload).map { directory + "/" + $0 }
    }

    /// A payload's name: its file name without `.json` (`…/RK001.json` → `RK001`).
    public static func name(ofPayload path: String) -> String {
        String(FileSystem.fileName(path).dropLast(".json".count))
    }

    /// `<name>.receipt.json` beside a payload.
    public static func receiptPath(directory: String, name: String) -> String { "\(directory)/\(name).receipt.json" }
    /// `<name>.error.json` beside a payload.
    public static func errorPath(directory: String, name: String) -> String { "\(directory)/\(name).error.json" }

    /// Reads and checks one payload locally, taking its organisation (`PayloadDocument.organization`:
    /// `Model.<organizationField>.FNumber`; `""`: none) from the same parse.
    ///
    /// - Throws: a `Diagnostic` naming the file and what is wrong: not JSON, no `formid`, no `data.Model`,
    ///   no `Model.FBillNo`, an empty `Model.FEntity`, an entry without FMATERIALID/FSTOCKID/FQty.
    public static func load(_ path: String, organizationField: String = "FStockOrgId") throws(Diagnostic) -> PayloadDocument {
        let bytes = try FileSystem.read(path)
        let value: JSONValue
        do {
            value = try JSONReader.parse(bytes)
        } catch {
            throw error.diagnostic(file: path)
        }
        let name = Self.name(ofPayload: path)
        guard let formID = value["formid"]?.stringValue, !formID.isEmpty else {
            throw .error("the payload has no \"formid\"; it must be a Kingdee Save body {\"formid\", \"data\"}", file: path, jsonPath: "$.formid")
        }
        guard var data = value["data"]?.objectValue else {
            throw .error("the payload has no \"data\" object", file: path, jsonPath: "$.data")
        }
        guard let model = data["Model"], let modelObject = model.objectValue else {
            throw .error("\"data.Model\" must be one bill (an object)", file: path, jsonPath: "$.data.Model")
        }
        // Spaces are what Ferry trims (`Unicode.Scalar.isTrimmedSpace`), as the transform's bill-number check
        // takes them: the load refuses no number the transform let through. Two bytes settle the usual number.
        let billNumber = modelObject["FBillNo"]?.scalarText ?? ""
        let hasSpaceAtEitherEnd = billNumber.hasSpaceAtEitherEnd
        guard !billNumber.isEmpty, !hasSpaceAtEitherEnd || !billNumber.trimmingCharactersInSpaces().isEmpty else {
            throw .error("the bill has no FBillNo; Ferry needs it to load exactly once", file: path, jsonPath: "$.data.Model.FBillNo")
        }
        guard !hasSpaceAtEitherEnd else {
            // Kingdee's answer (and ExecuteBillQuery) may name the bill without them: Ferry could not tell
            // its own bill from another number.
            throw .error(
                "the bill number \"\(billNumber)\" has leading or trailing spaces, which Kingdee may not keep; trim "
                    + "them in the template or the source data, then transform again",
                file: path, jsonPath: "$.data.Model.FBillNo")
        }
        guard let entries = modelObject["FEntity"]?.arrayValue, !entries.isEmpty else {
            throw .error("the bill has no entry lines (FEntity is missing or empty)", file: path, jsonPath: "$.data.Model.FEntity")
        }
        for (i, entry) in entries.enumerated() {
            guard let line = entry.objectValue else {
                throw .error("entry \(i + 1) is not an object", file: path, jsonPath: "$.data.Model.FEntity[\(i)]")
            }
            for key in ["FMATERIALID", "FSTOCKID", "FQty"] where line[key] == nil {
                throw .error("entry \(i + 1) has no \(key)", file: path, jsonPath: "$.data.Model.FEntity[\(i)].\(key)")
            }
        }
        data.members.removeAll { $0.key == "Model" || $0.key == "BatchCount" }
        return PayloadDocument(
            path: path, name: name, formID: formID, options: data, modelJSON: JSONWriter(style: .compact).bytes(model), billNumber: billNumber,
            sha256: Hashing.sha256Hex(bytes), organizationField: organizationField,
            organization: PayloadDocument.organization(in: modelObject, field: organizationField))
    }

    /// Cuts documents into batches of at most `size`, keeping sorted order; only documents with the same
    /// form id and options share a batch.
    public static func batches(_ documents: [PayloadDocument], size: Int) -> [[PayloadDocument]] {
        var order: [String] = []
        var groups: [String: [PayloadDocument]] = [:]
        for document in documents {
            let key = document.groupKey
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(document)
        }
        var result: [[PayloadDocument]] = []
        for key in order {
            let group = groups[key] ?? []
            var start = 0
            while start < group.count {
                result.append(Array(group[start..<min(group.count, start + max(1, size))]))
                start += max(1, size)
            }
        }
        return result
    }
}
