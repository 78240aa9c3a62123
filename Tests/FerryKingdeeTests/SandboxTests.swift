import FerryCore
import FerryKingdee
import Foundation
import KingdeeSandbox
import Testing

/// The sandbox speaks the body shapes the SDKs use, and Ferry reads its answers.
struct SandboxTests {
    @Test func acceptsPositionalParametersWithDataAsAString() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let client = try KingdeeClient(config: server.target(auth: .password))
        let model = PayloadGenerator.payload(billNumber: "O'BRIEN-1")["data"]?["Model"] ?? .null
        let data = JSONWriter(style: .compact).string(["Model": .array([model])])
        let answer = try await client.call(
            KingdeeClient.Service.batchSave, body: ["parameters": ["STK_MISCELLANEOUS", .string(data)]])
        let status = try #require(KingdeeResponseStatus.find(in: answer))
        #expect(status.isSuccess)
        #expect(status.successes.first?.number == "O'BRIEN-1")
        let found = try await client.existingBills(formID: "STK_MISCELLANEOUS", billNumbers: ["O'BRIEN-1", "NOPE"])
        #expect(found.map(\.number) == ["O'BRIEN-1"])
        #expect(found.first?.status == "A")
        await client.close()
    }

    @Test func anUnknownFormIsAConfigErrorForEveryDocumentWithoutBisecting() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let run = TestRun("form")
        let numbers = try PayloadGenerator.write(count: 4, into: run.transform) { _, number in
            guard case .object(var object) = PayloadGenerator.payload(billNumber: number) else { return nil }
            object.set("formid", "STK_NOSUCHFORM")
            return .object(object)
        }
        let summary = try await LoadRunner.run(runDirectory: run.runDirectory, config: server.target())
        #expect(summary.failed[.config] == 4)
        #expect(summary.requests == 1)
        let error = try #require(run.error(numbers[0]))
        #expect(error["class"]?.stringValue == "config")
        #expect(error["errors"]?.arrayValue?.first?["message"]?.stringValue == "标识为“STK_NOSUCHFORM”的业务对象不存在，或者被删除")
        #expect(error["hint"]?["en"]?.stringValue?.contains("formid") == true)
    }

    @Test func classifiesKingdeeMessages() {
        func cls(_ code: Int, _ message: String) -> KingdeeErrorClass {
            KingdeeErrorClassifier.classify(msgCode: code, messages: [message], fieldNames: [nil])
        }
        #expect(cls(1, "会话信息已丢失，请重新登录") == .retryable)
        #expect(cls(14, "调用限制") == .retryable)
        #expect(cls(11, "单据编号为“A”的其他入库单，第1行分录，物料编码“X”不存在") == .data)
        #expect(cls(11, "字段[客户]是必录字段") == .data)
        #expect(cls(11, "单据编号为“A”的其他入库单已经存在，单据编号不允许重复") == .duplicate)
        #expect(cls(4, "标识为“X”的业务对象不存在，或者被删除") == .config)
        #expect(cls(9, "元数据中标识为 FXxx 的字段不存在") == .config)
        #expect(cls(0, "您没有该功能的操作权限") == .config)
    }
}
