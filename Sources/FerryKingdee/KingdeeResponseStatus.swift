import FerryCore

/// `Result.ResponseStatus` of a Kingdee answer: success flag, MsgCode, per-document errors and successes.
public struct KingdeeResponseStatus: Sendable, Hashable {
    /// One entry of `Errors`.
    public struct ErrorEntry: Sendable, Hashable {
        /// `FieldName`, when Kingdee names one.
        public var fieldName: String?
        /// `Message`, verbatim.
        public var message: String
        /// `DIndex`: the model's position (relative to its sub-batch when `BatchCount` is set), when given.
        public var dIndex: Int?

        /// Creates an entry.
        public init(fieldName: String?, message: String, dIndex: Int?) {
            self.fieldName = fieldName
            self.message = message
            self.dIndex = dIndex
        }
    }

    /// One entry of `SuccessEntitys`.
    public struct SuccessEntry: Sendable, Hashable {
        /// `Id` (内码), as Kingdee wrote it (number or string).
        public var id: JSONValue
        /// `Number` (单据编号).
        public var number: String
        /// `DIndex`.
        public var dIndex: Int?

        /// Creates an entry.
        public init(id: JSONValue, number: String, dIndex: Int?) {
            self.id = id
            self.number = number
            self.dIndex = dIndex
        }
    }

    /// `IsSuccess` (a boolean or the text "true").
    public var isSuccess: Bool
    /// `MsgCode` (0 when absent).
    public var msgCode: Int
    /// `Errors`.
    public var errors: [ErrorEntry]
    /// `SuccessEntitys`.
    public var successes: [SuccessEntry]

    /// Creates a status.
    public init(isSuccess: Bool, msgCode: Int, errors: [ErrorEntry], successes: [SuccessEntry]) {
        self.isSuccess = isSuccess
        self.msgCode = msgCode
        self.errors = errors
        self.successes = successes
    }

    /// Reads a `ResponseStatus` object.
    public init(_ object: JSONObject) {
        isSuccess = object["IsSuccess"]?.scalarText?.lowercased() == "true"
        msgCode = Int(object["MsgCode"]?.scalarText ?? "") ?? 0
        errors = (object["Errors"]?.arrayValue ?? []).compactMap { entry in
            guard let e = entry.objectValue else { return nil }
            let field = e["FieldName"]?.scalarText
            return ErrorEntry(
                fieldName: (field?.isEmpty ?? true) ? nil : field, message: e["Message"]?.scalarText ?? "",
                dIndex: e["DIndex"]?.scalarText.flatMap { Int($0) })
        }
        successes = (object["SuccessEntitys"]?.arrayValue ?? []).compactMap { entry in
            guard let s = entry.objectValue else { return nil }
            return SuccessEntry(
                id: s["Id"] ?? .null, number: s["Number"]?.scalarText ?? "",
                dIndex: s["DIndex"]?.scalarText.flatMap { Int($0) })
        }
    }

    /// The `ResponseStatus` in an answer: `Result.ResponseStatus`, or the `[[{"Result":…}]]` wrapping of
    /// failed queries.
    public static func find(in value: JSONValue) -> KingdeeResponseStatus? {
        if let status = value["Result"]?["ResponseStatus"]?.objectValue { return KingdeeResponseStatus(status) }
        if let status = value["ResponseStatus"]?.objectValue { return KingdeeResponseStatus(status) }
        if let array = value.arrayValue, let first = array.first {
            return find(in: first)
        }
        return nil
    }

    /// This status as JSON, the shape Kingdee sends (used by the sandbox).
    public var json: JSONValue {
        var object = JSONObject()
        if !isSuccess { object.append("ErrorCode", 500) }
        object.append("IsSuccess", .bool(isSuccess))
        object.append(
            "Errors",
            .array(errors.map { e in
                ["FieldName": e.fieldName.map { .string($0) } ?? .null, "Message": .string(e.message),
                 "DIndex": e.dIndex.map { .number(String($0)) } ?? .null]
            }))
        object.append(
            "SuccessEntitys",
            .array(successes.map { s in
                ["Id": s.id, "Number": .string(s.number), "DIndex": s.dIndex.map { .number(String($0)) } ?? .null]
            }))
        object.append("SuccessMessages", [])
        object.append("MsgCode", .number(String(msgCode)))
        return .object(object)
    }
}

/// How BatchSave splits a request when `BatchCount` is set, and so what `DIndex` is relative to.
///
/// Kingdee: "例如传入100张单据数据，此参数设定为10，则表示…以10个单据为一批，分10批，同时并发保存", and
/// `BatchCount` is ignored unless there are more models than it ("数据包数应大于此值，否则无效"). Ferry (and
/// the sandbox) therefore cut `n` models into `BatchCount` consecutive sub-batches of `ceil(n / BatchCount)`
/// models (the last one shorter), and DIndex counts from 0 inside each sub-batch.
public enum KingdeeBatchLayout {
    /// The sub-batches of `count` models as index ranges into the request's `Model` array.
    public static func subBatches(count: Int, batchCount: Int?) -> [Range<Int>] {
        guard count > 0 else { return [] }
        guard let batchCount, batchCount > 1, count > batchCount else { return [0..<count] }
        let size = (count + batchCount - 1) / batchCount
        return stride(from: 0, to: count, by: size).map { $0..<min(count, $0 + size) }
    }
}
