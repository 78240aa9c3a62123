/// What kind of failure a document met, and so what a person should do about it.
public enum KingdeeErrorClass: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Transient: network, HTTP 5xx, timeout, session lost, MsgCode 14 call limit. Ferry retries these by
    /// itself, and a plain `ferry load` re-posts them.
    case retryable
    /// The document's data: base data not found (物料、仓库…), a required field missing, validation.
    case data
    /// The bill number already exists in Kingdee (and Ferry did not create it).
    case duplicate
    /// Ferry's configuration or Kingdee's set-up: form id, field key, permission, licence.
    case config

    /// Orders classes for summaries.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
    }
}

/// A hint in Chinese and English saying what to do.
public struct KingdeeHint: Sendable, Hashable {
    /// 中文提示。
    public var zh: String
    /// English hint.
    public var en: String
}

/// Classifies Kingdee error messages and writes hints. Pure.
public enum KingdeeErrorClassifier {
    /// The class of one document's failure, from the MsgCode, the messages and the field names.
    public static func classify(msgCode: Int, messages: [String], fieldNames: [String?]) -> KingdeeErrorClass {
        let text = messages.joined(separator: "\n")
        func has(_ words: String...) -> Bool { words.contains { text.contains($0) } }
        if [1, 6, 13, 14].contains(msgCode) || has("会话信息已丢失", "调用限制", "网控冲突", "超时", "事务已中止") {
            return .retryable
        }
        if has("已经存在", "已存在", "编号重复", "不允许重复", "重复的单据编号") { return .duplicate }
        if [2, 4, 7, 15].contains(msgCode) || has("元数据中标识为", "业务对象不存在", "没有该功能的操作权限", "没有权限", "许可") {
            return .config
        }
        if msgCode == 9 && has("字段不存在") && !has("编码") { return .config }
        return .data
    }

    /// A hint for a failure of `errorClass`, specific where the message says enough.
    public static func hint(for errorClass: KingdeeErrorClass, messages: [String], billNumber: String) -> KingdeeHint {
        let text = messages.joined(separator: "\n")
        switch errorClass {
        case .retryable:
            return KingdeeHint(
                zh: "金蝶暂时不可用（网络、超时、会话丢失或调用限制）。稍后再次运行 ferry load，Ferry 会自动重发；若反复出现，请检查网络与金蝶服务器负载，或调小 target.concurrency / target.batch_size。",
                en: "Kingdee was temporarily unavailable (network, timeout, lost session or call limit). Run `ferry load` again later; Ferry re-posts these by itself. If it keeps happening, check the network and the server load, or lower target.concurrency / target.batch_size.")
        case .duplicate:
            return KingdeeHint(
                zh: "金蝶中已存在单据编号“\(billNumber)”，且不是本次 Ferry 创建的。请在金蝶中核对该单据：若确为同一张单据，删除本错误文件即可；若是不同单据，请修改编号规则后重新 transform。",
                en: "Kingdee already has a bill numbered \(billNumber) that this Ferry run did not create. Check it in Kingdee: if it is the same document, delete this error file; if not, change the numbering and transform again.")
        case .config:
            return KingdeeHint(
                zh: "这是配置或权限问题（表单标识、字段标识、功能权限或许可），不是单据数据的问题。请检查模板中的 formid 与字段标识、集成用户在金蝶中的权限，然后运行 ferry load --retry-failed。",
                en: "This is a configuration or permission problem (form id, field key, permission or licence), not a problem of this document. Check the template's formid and field keys and the integration user's permissions in Kingdee, then run `ferry load --retry-failed`.")
        case .data:
            if text.contains("不存在") {
                return KingdeeHint(
                    zh: "单据引用的基础资料在金蝶中不存在或已禁用（见上方消息中的编码）。请在金蝶中创建/启用该资料，或修正 lookups 中的对照后重新 transform，然后运行 ferry load --retry-failed。",
                    en: "The document refers to base data that Kingdee does not have or has disabled (the code is in the message above). Create or enable it in Kingdee, or fix the lookup and transform again, then run `ferry load --retry-failed`.")
            }
            if text.contains("必录") || text.contains("必填") {
                return KingdeeHint(
                    zh: "单据缺少金蝶要求的必录字段。请在模板或源单中补齐该字段，重新 transform 后运行 ferry load --retry-failed。",
                    en: "The document lacks a field Kingdee requires. Fill it in the template or the source order, transform again, then run `ferry load --retry-failed`.")
            }
            return KingdeeHint(
                zh: "金蝶校验未通过（见上方消息）。请修正源数据、对照表或模板，重新 transform（或手工修改该 payload），然后运行 ferry load --retry-failed。",
                en: "Kingdee's validation rejected the document (see the messages above). Fix the source data, the lookups or the template and transform again (or edit the payload by hand), then run `ferry load --retry-failed`.")
        }
    }
}
