import Foundation
import FerryCore

/// One page of `wdt.stockin.order.query`, as parsed from either gateway's response.
public struct WDTPage: Sendable {
    /// `total_count`: documents matching the request, over all pages (`nil` when the page did not say).
    public var totalCount: Int?
    /// `stockin_list`, each order as received.
    public var orders: [JSONValue]

    /// Creates a page.
    public init(totalCount: Int?, orders: [JSONValue]) {
        self.totalCount = totalCount
        self.orders = orders
    }

    /// The document key of an order: `stockin_no`, else `order_no`, else `stockin_id:<id>`.
    public static func documentKey(_ order: JSONValue) -> String {
        if let no = order["stockin_no"]?.scalarText, !no.isEmpty { return no }
        if let no = order["order_no"]?.scalarText, !no.isEmpty { return no }
        return "stockin_id:" + (order["stockin_id"]?.scalarText ?? "?")
    }
}

/// Parses response bodies of both gateways into pages or typed errors.
public enum WDTResponseParser {
    /// Parses a response body.
    ///
    /// Accepted shapes: Qimen `{"response":{"errorcode":0,"total_count":N,"stockin_list":[…]}}`, the open
    /// API `{"code":0,"message":"","total_count":N,"stockin_list":[…]}`. Errors: `{"error_response":{code,
    /// msg,sub_code,sub_msg}}`, `response.flag == "failure"`, `errorcode ≠ 0`, `code ≠ 0`. Numbers may come
    /// as strings.
    ///
    /// - Throws: `WDTError` for an error answer (classified) or an unreadable body (`.malformedResponse`).
    public static func parse(_ body: [UInt8], listKey: String = "stockin_list") throws(WDTError) -> WDTPage {
        let root: JSONValue
        do {
            root = try JSONReader.parse(body)
        } catch {
            throw WDTError(kind: .malformedResponse, message: "the body is not JSON (\(error.description))")
        }
        guard case .object(let top) = root else {
            throw WDTError(kind: .malformedResponse, message: "expected a JSON object, got \(root.kindDescription)")
        }
        if let errorResponse = top["error_response"] {
            throw gatewayError(errorResponse)
        }
        var payload = top
        if let inner = top["response"] {
            guard case .object(let object) = inner else {
                throw WDTError(kind: .malformedResponse, message: "'response' is \(inner.kindDescription), not an object")
            }
            payload = object
        }
        if let flag = payload["flag"]?.scalarText, flag.lowercased() == "failure" {
            throw gatewayError(.object(payload))
        }
        for key in ["errorcode", "code"] {
            if let code = payload[key]?.scalarText, !isZero(code) {
                throw gatewayError(.object(payload))
            }
        }
        var total: Int?
        if let value = payload["total_count"], value != .null {
            guard let text = value.scalarText, let number = Int(text.trimmingCharacters(in: .whitespaces)), number >= 0
            else {
                throw WDTError(kind: .malformedResponse, message: "total_count is not a whole number: \(JSONWriter(style: .compact).string(value))")
            }
            total = number
        }
        var orders: [JSONValue] = []
        if let list = payload[listKey], list != .null {
            guard case .array(let array) = list else {
                throw WDTError(kind: .malformedResponse, message: "'\(listKey)' is \(list.kindDescription), not an array")
            }
            orders = array
        }
        if payload[listKey] == nil && total == nil {
            throw WDTError(kind: .malformedResponse, message: "neither total_count nor \(listKey) is in the response")
        }
        return WDTPage(totalCount: total, orders: orders)
    }

    static func isZero(_ text: String) -> Bool {
        let t = text.trimmingCharacters(in: .whitespaces)
        return t.isEmpty || t == "0" || t.lowercased() == "success"
    }

    static func gatewayError(_ value: JSONValue) -> WDTError {
        let code = (value["code"] ?? value["errorcode"])?.scalarText
        let subCode = value["sub_code"]?.scalarText
        let texts = [value["msg"], value["message"], value["sub_msg"], value["sub_message"]]
            .compactMap { $0?.scalarText }.filter { !$0.isEmpty }
        let message = texts.isEmpty ? "no message" : texts.joined(separator: ": ")
        let kind = WDTError.classify(code: code, subCode: subCode, message: message)
        return WDTError(
            kind: kind, code: code, subCode: subCode, message: message,
            retryAfterSeconds: kind == .rateLimited ? WDTError.banSeconds(in: message) : nil)
    }
}
