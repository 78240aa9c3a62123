import FerryKingdee
import Testing

/// The signature headers must match the official SDK byte for byte.
///
/// Vectors 2 and 3 were produced with the official Python SDK `kingdee-cdp-webapi-sdk` 8.2.0 from PyPI
/// (`pip install kingdee-cdp-webapi-sdk`), by calling `K3CloudApiSdk.InitConfig(...)` and then
/// `WebApiClient.BuildHeader(url)` with `time.time` patched to the fixed timestamp:
///
///     sdk = K3CloudApiSdk(url); sdk.InitConfig(acct, user, app_id, secret, url, lcid, org)
///     with mock.patch("time.time", return_value=float(ts)): h = sdk.BuildHeader(service_url)
///
/// Vector 1 is the worked example of docs/kingdee-webapi.md §1c; the SDK gives the same bytes.
struct SignatureTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var url: String
        var identity: KingdeeSignature.Identity
        var timestamp: String
        var expected: [(String, String)]
        var testDescription: String { url }
    }

    static let vectors: [Vector] = [
        Vector(
            url: "http://erp.example.com/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave.common.kdsvc",
            identity: .init(
                acctID: "5f1e2d3c4b5a69", username: "api_user", appID: "123456_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",
                appSecret: "0123456789abcdef0123456789abcdef", lcid: 2052, orgNumber: "100"),
            timestamp: "1700000000",
            expected: [
                ("X-Api-ClientID", "123456"),
                ("X-Api-Auth-Version", "2.0"),
                ("x-api-timestamp", "1700000000"),
                ("x-api-nonce", "1700000000"),
                ("x-api-signheaders", "x-api-timestamp,x-api-nonce"),
                ("X-Api-Signature", "YTJiNDBhZjc1MjMyYTE2ZTkwMDc3MmFiMDc4OWUxMjEyOTQ2ZDE5NWQ0NWE5MGI5ZGZhMTY1MzBlM2I5NzExYQ=="),
                ("X-Kd-Appkey", "123456_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"),
                ("X-Kd-Appdata", "NWYxZTJkM2M0YjVhNjksYXBpX3VzZXIsMjA1MiwxMDA="),
                ("X-Kd-Signature", "ZDViMzZlZGRhZTUxZDAxYTAyYzY0YjUzMWZiMmMwN2MwM2JkMzgwN2VkMWU0NGFjMTA3OGI5ZmFmNmE2Y2QwOA=="),
            ]),
        Vector(
            url: "https://kd.example.cn:8443/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc",
            identity: .init(
                acctID: "66f0a1b2c3d4e5", username: "集成用户", appID: "298765_q9BzT3+1pLx0/Ym4VdWcRkH2sNuA7eJf",
                appSecret: "f3a9c0e1d2b34c5d8e7f6a5b4c3d2e1f", lcid: 1033, orgNumber: "0"),
            timestamp: "1767225600",
            expected: [
                ("X-Api-ClientID", "298765"),
                ("X-Api-Auth-Version", "2.0"),
                ("x-api-timestamp", "1767225600"),
                ("x-api-nonce", "1767225600"),
                ("x-api-signheaders", "x-api-timestamp,x-api-nonce"),
                ("X-Api-Signature", "Y2Q3ZmQ3ZDE1Y2U2NzYyNDA2MGViMTA2ODM3ZGYwN2U1Y2ZhYTQxZjM1OTk0MzFlN2MxZmI5MTZiMDYyMWU1Nw=="),
                ("X-Kd-Appkey", "298765_q9BzT3+1pLx0/Ym4VdWcRkH2sNuA7eJf"),
                ("X-Kd-Appdata", "NjZmMGExYjJjM2Q0ZTUs6ZuG5oiQ55So5oi3LDEwMzMsMA=="),
                ("X-Kd-Signature", "NmRhMjU5YTA1OGY3NGZjNDVkNTU5OTg2Njg0YmE4NDJmMzEyZTAzMTBlYWY4OGNmYmY3N2E4NGQ1NzNjYzIyZQ=="),
            ]),
        Vector(
            url: "http://127.0.0.1:18080/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc",
            identity: .init(
                acctID: "sandbox", username: "ferry", appID: "100001_MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0",
                appSecret: "sandbox-app-secret", lcid: 2052, orgNumber: "100"),
            timestamp: "1764374400",
            expected: [
                ("X-Api-ClientID", "100001"),
                ("X-Api-Auth-Version", "2.0"),
                ("x-api-timestamp", "1764374400"),
                ("x-api-nonce", "1764374400"),
                ("x-api-signheaders", "x-api-timestamp,x-api-nonce"),
                ("X-Api-Signature", "OWZhYzUxODkzODZmOWE2NGZlZTVkMWM5NDMxYWNjMzk4MmU5Y2RiMjhkYzdmOThiYWMzMTBiODdhMGJjMzNiOQ=="),
                ("X-Kd-Appkey", "100001_MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0"),
                ("X-Kd-Appdata", "c2FuZGJveCxmZXJyeSwyMDUyLDEwMA=="),
                ("X-Kd-Signature", "Yzg5YzM0ZjQ4ODMwNGY5N2E1ZThiN2ZlY2M4ODFmN2UzZTAxNzg1MTJjZmIwYzdlMjZiNzViOWFlZmNhN2E2ZA=="),
            ]),
    ]

    @Test(arguments: vectors)
    func headersMatchTheOfficialSDK(_ vector: Vector) {
        let headers = KingdeeSignature.headers(url: vector.url, identity: vector.identity, timestamp: vector.timestamp)
        #expect(headers.map(\.0) == vector.expected.map(\.0))
        #expect(headers.map(\.1) == vector.expected.map(\.1))
    }

    @Test func decodesTheClientSecretAndPathAsTheWorkedExample() {
        #expect(KingdeeSignature.decodeClientSecret("AAECAwQFBgcICQoLDA0ODxAREhMUFRYX") == "MDE3N2I2PzBrPzg4OD45N3IhK3B1InIk")
        #expect(KingdeeSignature.decodeClientSecret("short") == "")
        #expect(
            KingdeeSignature.encodedPath(
                "http://erp.example.com/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave.common.kdsvc")
                == "%2Fk3cloud%2FKingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave.common.kdsvc")
    }

    @Test func subBatchLayoutFollowsBatchCount() {
        #expect(KingdeeBatchLayout.subBatches(count: 10, batchCount: nil) == [0..<10])
        #expect(KingdeeBatchLayout.subBatches(count: 3, batchCount: 5) == [0..<3])
        #expect(KingdeeBatchLayout.subBatches(count: 100, batchCount: 10).count == 10)
        #expect(KingdeeBatchLayout.subBatches(count: 3, batchCount: 2) == [0..<2, 2..<3])
        #expect(KingdeeBatchLayout.subBatches(count: 12, batchCount: 3) == [0..<4, 4..<8, 8..<12])
    }

    @Test func billNumberFilterEscapesQuotes() {
        #expect(KingdeeClient.billNumberFilter(["a", "b'c"]) == "FBillNo IN ('a','b''c')")
    }
}
