import FerryCore
import Testing

@testable import FerryWDT

struct SignatureTests {
    static let openAPIParameters = [
        "sid": "demo_sid", "appkey": "demo_appkey", "timestamp": "1700000000",
        "start_time": "2024-01-01 00:00:00", "end_time": "2024-01-01 23:59:59", "page_no": "0", "page_size": "40",
    ]

    @Test func openAPIPackedMatchesDocumentVector() {
        #expect(
            WDTSignature.openAPIPacked(Self.openAPIParameters)
                == "06-appkey:0011-demo_appkey;08-end_time:0019-2024-01-01 23:59:59;07-page_no:0001-0;"
                + "09-page_size:0002-40;03-sid:0008-demo_sid;10-start_time:0019-2024-01-01 00:00:00;"
                + "09-timestamp:0010-1700000000")
    }

    @Test func openAPISignMatchesDocumentVector() {
        #expect(WDTSignature.openAPI(Self.openAPIParameters, secret: "demo_secret") == "2b97166d0288c9574e5e5692f82c58ca")
        var signed = Self.openAPIParameters
        signed["sign"] = "ignored"
        #expect(WDTSignature.openAPI(signed, secret: "demo_secret") == "2b97166d0288c9574e5e5692f82c58ca")
    }

    /// Computed independently (Python, `len(str)` vs `len(str.encode())`): Chinese values differ by counting.
    @Test func openAPIChineseValuesCountCharactersOrBytes() {
        let parameters = [
            "sid": "demo_sid", "appkey": "demo_appkey", "timestamp": "1700000000", "warehouse_no": "上海嘉定总仓",
            "remark": "含赠品，单独堆放", "page_no": "0",
        ]
        #expect(
            WDTSignature.openAPIPacked(parameters)
                == "06-appkey:0011-demo_appkey;07-page_no:0001-0;06-remark:0008-含赠品，单独堆放;03-sid:0008-demo_sid;"
                + "09-timestamp:0010-1700000000;12-warehouse_no:0006-上海嘉定总仓")
        #expect(WDTSignature.openAPI(parameters, secret: "demo_secret") == "42fa7e395a5f13a87bc5b9fa61aaf4ae")
        #expect(
            WDTSignature.openAPI(parameters, secret: "demo_secret", counting: .bytes) == "602337e78354e7a975bcd15de3fe854a")
    }

    @Test func openAPILengthWiderThanFieldIsWrittenInFull() {
        let long = String(repeating: "x", count: 12345)
        #expect(WDTSignature.openAPIPacked(["k": long]).hasPrefix("01-k:12345-x"))
    }

    static let qimenParameters = [
        "method": "wdt.stockin.order.query", "app_key": "12345678", "target_app_key": "87654321", "sid": "demo_sid",
        "timestamp": "2024-01-02 10:00:00", "format": "json", "v": "2.0", "sign_method": "md5",
        "start_time": "2024-01-01 00:00:00", "end_time": "2024-01-01 23:59:59", "page_no": "0", "page_size": "40",
    ]

    @Test func qimenSignMatchesDocumentVector() {
        #expect(
            WDTSignature.qimenSigningString(Self.qimenParameters, secret: "qimen_secret")
                == "qimen_secret" + "app_key12345678end_time2024-01-01 23:59:59formatjsonmethodwdt.stockin.order.query"
                + "page_no0page_size40siddemo_sidsign_methodmd5start_time2024-01-01 00:00:00"
                + "target_app_key87654321timestamp2024-01-02 10:00:00v2.0" + "qimen_secret")
        #expect(WDTSignature.qimen(Self.qimenParameters, secret: "qimen_secret") == "165B44FAA5DE35D39E3334B637218903")
    }

    @Test func qimenSignIncludesChineseBusinessParameters() {
        var parameters = Self.qimenParameters
        parameters["warehouse_no"] = "上海嘉定总仓"
        #expect(WDTSignature.qimen(parameters, secret: "qimen_secret") == "1DF2539A686F664E380F10334DD8BD67")
    }

    @Test func clientSignsBothTransportsWithoutLeakingTheSecret() throws {
        let secret = "s3cr3t-value"
        for transport in WDTTransport.allCases {
            let client = try WDTClient(
                config: WDTSourceConfig(
                    transport: transport, url: "http://127.0.0.1:9/x", sid: "sid1", appKey: "key1", appSecret: secret,
                    targetAppKey: "target1", fixedParameters: ["status": "80", "order_type": "6"]))
            let business = client.businessParameters(
                start: WDTTime("2026-01-01 00:00:00")!, end: WDTTime("2026-01-30 23:59:59")!, pageNo: 3)
            let signed = client.signedParameters(business: business, now: WDTTime("2026-02-01 08:00:00")!.date)
            #expect(signed["page_no"] == "3")
            #expect(signed["status"] == "80")
            #expect(!signed.values.contains(secret))
            switch transport {
            case .qimen:
                #expect(signed["timestamp"] == "2026-02-01 08:00:00")
                #expect(signed["sign"] == WDTSignature.qimen(signed, secret: secret))
                #expect(signed["sign"] == signed["sign"]?.uppercased())
            case .openAPI:
                #expect(signed["timestamp"] == String(WDTTime("2026-02-01 08:00:00")!.unixSeconds))
                #expect(signed["sign"] == WDTSignature.openAPI(signed, secret: secret))
            }
            #expect(!WDTClient.formEncode(signed).contains(secret))
        }
    }

    @Test func formEncodingPercentEncodesUTF8AndSpaces() {
        #expect(WDTClient.formEncode(["b": "2026-01-01 00:00:00", "a": "仓"]) == "a=%E4%BB%93&b=2026-01-01%2000%3A00%3A00")
    }
}
