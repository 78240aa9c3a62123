import FerryCore
import Foundation
import Testing

@testable import FerryWDT

struct ResponseParserTests {
    func parse(_ text: String) throws(WDTError) -> WDTPage { try WDTResponseParser.parse(Array(text.utf8)) }

    func error(_ text: String) -> WDTError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func qimenSuccessWithTotalAsString() throws {
        let page = try parse(#"{"response":{"errorcode":0,"total_count":"2","stockin_list":[{"stockin_no":"RK1"},{"stockin_no":"RK2"}]}}"#)
        #expect(page.totalCount == 2)
        #expect(page.orders.map(WDTPage.documentKey) == ["RK1", "RK2"])
    }

    @Test func openAPISuccessAndEmptyList() throws {
        let page = try parse(#"{"code":0,"message":"","total_count":0,"stockin_list":null}"#)
        #expect(page.totalCount == 0 && page.orders.isEmpty)
    }

    @Test func errorResponseIsTyped() throws {
        let e = try #require(error(#"{"error_response":{"code":25,"msg":"Invalid signature","sub_code":"isv.invalid-signature","sub_msg":"签名错误"}}"#))
        #expect(e.kind == .signature && e.code == "25" && e.subCode == "isv.invalid-signature" && !e.isRetryable)
        #expect(e.description.contains("source.app_secret"))
    }

    @Test func frequencyLimitsAreRetryableInEveryShape() throws {
        let shapes = [
            #"{"error_response":{"code":7,"msg":"App Call Limited","sub_code":"accesscontrol.limited-by-app-access-count"}}"#,
            #"{"response":{"flag":"failure","code":"100","message":"超过每分钟最大调用频率限制，请稍后重试","sub_code":"wdt.frequency-limit"}}"#,
            #"{"response":{"errorcode":100,"message":"超过每分钟最大并发次数限制，请稍后重试"}}"#,
            #"{"code":1012,"message":"接口调用频率超限"}"#,
        ]
        for shape in shapes {
            let e = try #require(error(shape))
            #expect(e.kind == .rateLimited, "\(shape)")
            #expect(e.isRetryable)
        }
    }

    @Test func aBanTheGatewayAnnouncesIsHowLongToWait() throws {
        let ban = try #require(error(
            #"{"error_response":{"code":7,"msg":"App Call Limited","sub_code":"accesscontrol.limited-by-app-access-count","sub_msg":"This ban will last for 71 more seconds"}}"#))
        #expect(ban.kind == .rateLimited && ban.retryAfterSeconds == 71)
        let business = try #require(error(#"{"code":1012,"message":"接口调用频率超限"}"#))
        #expect(business.retryAfterSeconds == nil)
        #expect(WDTError.banSeconds(in: "This ban will last for 1 more seconds") == 1)
        #expect(WDTError.banSeconds(in: "ban will last for a while") == nil)
        #expect(WDTError.banSeconds(in: "ban will last for 5 minutes") == nil)
    }

    @Test func retryAfterIsSecondsOrAnHTTPDate() {
        let now = Date(timeIntervalSince1970: 1_795_914_000)  // Sun, 29 Nov 2026 01:00:00 GMT
        #expect(WDTError.retryAfterSeconds(header: "120", now: now) == 120)
        #expect(WDTError.retryAfterSeconds(header: " 0 ", now: now) == 0)
        #expect(WDTError.retryAfterSeconds(header: "Sun, 29 Nov 2026 01:01:30 GMT", now: now) == 90)
        #expect(WDTError.retryAfterSeconds(header: "Sun, 01 Nov 2026 00:00:00 GMT", now: now) == 0, "a past date: no wait")
        #expect(WDTError.retryAfterSeconds(header: "soon", now: now) == nil)
        #expect(WDTError.retryAfterSeconds(header: nil, now: now) == nil)
    }

    @Test func fatalErrorsAreClassifiedByCause() throws {
        let cases: [(String, WDTError.Kind)] = [
            (#"{"code":1010,"message":"签名错误"}"#, .signature),
            (#"{"code":1030,"message":"时间戳错误，与服务器时间误差超过5分钟"}"#, .timestamp),
            // WDT's own code 7 is a timestamp error (错误码说明), not TOP's "App Call Limited".
            (#"{"code":7,"message":"时间戳错误，与服务器时间误差两分钟内合法"}"#, .timestamp),
            (#"{"response":{"errorcode":7,"message":"时间戳错误"}}"#, .timestamp),
            (#"{"error_response":{"code":29,"msg":"Invalid app Key"}}"#, .permission),
            (#"{"response":{"errorcode":100,"message":"您的查询时间过宽,查询时间不能大于30天"}}"#, .parameter),
            (#"{"response":{"errorcode":100,"message":"无仓库访问权限"}}"#, .permission),
            (#"{"code":1020,"message":"系统异常，请稍后再试！","total_count":null,"stockin_list":null}"#, .server),
            // TOP's public error codes: 10 is Service Currently Unavailable (服务不可用), with or without a sub-code.
            (#"{"error_response":{"code":10,"msg":"Service Currently Unavailable"}}"#, .server),
            (#"{"error_response":{"code":10,"msg":"服务不可用"}}"#, .server),
            (#"{"error_response":{"code":10,"msg":"Service Currently Unavailable","sub_code":"isp.service-unavailable"}}"#, .server),
            (#"{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isp.remote-service-timeout"}}"#, .server),
            (#"{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isv.invalid-parameter"}}"#, .parameter),
            (#"{"error_response":{"code":8,"msg":"App Call Exceeds Limited Frequency"}}"#, .rateLimited),
            (#"{"error_response":{"code":11,"msg":"Insufficient ISV Permissions"}}"#, .permission),
            (#"{"error_response":{"code":31,"msg":"Invalid Timestamp"}}"#, .timestamp),
            (#"{"error_response":{"code":41,"msg":"Invalid Arguments"}}"#, .parameter),
        ]
        for (body, kind) in cases {
            let e = try #require(error(body))
            #expect(e.kind == kind, "\(body)")
        }
    }

    @Test func malformedBodiesAreRetryable() throws {
        for body in ["<html>502</html>", #"{"response":{"errorcode":0}}"#, #"{"response":{"errorcode":0,"total_count":"x","stockin_list":[]}}"#] {
            let e = try #require(error(body))
            #expect(e.kind == .malformedResponse && e.isRetryable, "\(body)")
        }
    }

    @Test func httpDateParsing() {
        #expect(WDTClient.parseHTTPDate("Sun, 29 Nov 2026 00:11:26 GMT") == 1_795_911_086)
        #expect(WDTClient.parseHTTPDate("garbage") == nil)
    }
}
