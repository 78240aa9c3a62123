import FerryCore
import FerryKingdee
import FerryTestSupport
import Foundation
import KingdeeSandbox
import Testing

/// `ferry load` as a process: flags, exit codes, output.
struct LoadCommandTests {
    @Test func loadsAndExitsZeroThenDryRunListsNothingToSend() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let workspace = try CrashTests.Workspace("cli")
        let numbers = try PayloadGenerator.write(count: 7, into: workspace.run.transform)
        let env = CrashTests.environment(server)

        let dryBefore = workspace.run.snapshot()
        let dry = try await FerryProcess.run(["load", "--workspace", workspace.root, "--dry-run"], environment: env)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("batch 1: STK_MISCELLANEOUS, 7 document(s)"))
        #expect(dry.stdout.contains("\(numbers[0]).json  FBillNo \(numbers[0])"))
        #expect(workspace.run.snapshot() == dryBefore, "a dry run writes nothing")
        #expect(server.store.requestCounts.isEmpty, "a dry run sends nothing")

        let load = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(load.status == 0, "\(load.stderr)")
        #expect(load.stderr.contains("loaded:            7"))
        #expect(server.store.bills.count == 7)

        let again = try await FerryProcess.run(["load", "--workspace", workspace.root, "--dry-run"], environment: env)
        #expect(again.status == 0)
        #expect(again.stdout.contains("already loaded: \(numbers[6]).json"))
        #expect(!again.stdout.contains("batch 1"))
    }

    @Test func failedDocumentsExitOneAndRetryFailedFixesThem() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let workspace = try CrashTests.Workspace("cli-fail")
        let numbers = try PayloadGenerator.write(count: 3, into: workspace.run.transform) { i, number in
            i == 2 ? PayloadGenerator.payload(billNumber: number, material: "7.77.777") : nil
        }
        var env = CrashTests.environment(server)
        env["KINGDEE_PASSWORD"] = nil  // signature auth never reads target.password
        let first = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(first.status == 1)
        #expect(first.stderr.contains("data 1"))
        // Not retried, the failure stands: the load and its dry run say so alike.
        let plain = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(plain.status == 1, "\(plain.stderr)")
        let dry = try await FerryProcess.run(["load", "--workspace", workspace.root, "--dry-run"], environment: env)
        #expect(dry.status == 1 && dry.stdout.contains("failed earlier (use --retry-failed): \(numbers[1]).json"), "\(dry.stdout)")
        let dryRetry = try await FerryProcess.run(["load", "--workspace", workspace.root, "--dry-run", "--retry-failed"], environment: env)
        #expect(dryRetry.status == 0 && dryRetry.stdout.contains("\(numbers[1]).json  FBillNo"), "\(dryRetry.stdout)")
        server.updateMasterData { $0.materials.insert("7.77.777") }
        let retried = try await FerryProcess.run(["load", "--workspace", workspace.root, "--retry-failed"], environment: env)
        #expect(retried.status == 0, "\(retried.stderr)")
        #expect(workspace.run.receipt(numbers[1]) != nil && workspace.run.error(numbers[1]) == nil)
    }

    @Test func configurationProblemsExitTwoAndUsageExitsSixtyFour() async throws {
        let workspace = try CrashTests.Workspace("cli-config")
        try PayloadGenerator.write(count: 1, into: workspace.run.transform)
        var env = ProcessInfo.processInfo.environment
        env["KINGDEE_APP_SECRET"] = nil
        env["KINGDEE_URL"] = nil
        let missing = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("KINGDEE_URL"))
        #expect(missing.stderr.contains("ferry.yaml:"))
        let noRun = try await FerryProcess.run(["load", "--workspace", workspace.root, "--run", "20991231T000000Z", "--dry-run"])
        #expect(noRun.status == 2)
        let usage = try await FerryProcess.run(["load", "--no-such-flag"])
        #expect(usage.status == 64)
        #expect(FileSystem.list(workspace.run.runDirectory + "/load").isEmpty)
    }

    @Test(arguments: ["100001_MTIzNDU2", "100001_MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0_x", "100001_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"])
    func anAppIDTheSignatureCannotUseIsAConfigurationError(_ appID: String) async throws {
        // The SDK signs with the decoded 32-character half of the app id; any other app id signs with an
        // empty key, which Kingdee can only refuse.
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let workspace = try CrashTests.Workspace("cli-appid")
        try PayloadGenerator.write(count: 1, into: workspace.run.transform)
        var env = CrashTests.environment(server)
        env["KINGDEE_APP_ID"] = appID
        let load = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(load.status == 2)
        #expect(load.stderr.contains("target.app_id must look like <clientId>_<32 characters>"), "\(load.stderr)")
        #expect(server.store.requestCounts.isEmpty, "nothing sent")
    }

    @Test func aProxyFerryCannotUseStopsTheLoadBeforeAnythingIsSent() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let workspace = try CrashTests.Workspace("bad-proxy")
        try PayloadGenerator.write(count: 3, into: workspace.run.transform)
        var env = CrashTests.environment(server).filter { !$0.key.lowercased().hasSuffix("_proxy") }
        // The sandbox is http://127.0.0.1: http_proxy applies, and an https:// proxy is one Ferry cannot use.
        env["http_proxy"] = "https://ferry:s3cret-proxy-pw@proxy.invalid:3128"
        let load = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(load.status == 2, "\(load.stderr)")
        #expect(load.stderr.contains("http_proxy (https://ferry:***@proxy.invalid:3128)"), "\(load.stderr)")
        #expect(load.stderr.contains("socks5://") && load.stderr.contains("add 127.0.0.1 to no_proxy"), "\(load.stderr)")
        #expect(!load.stderr.contains("s3cret-proxy-pw") && !load.stdout.contains("s3cret-proxy-pw"))
        #expect(server.store.requestCounts.isEmpty, "nothing sent")
        #expect(!FileSystem.exists(LoadRunner.journalPath(run: workspace.run.runDirectory)), "nothing journalled")
        #expect(TestSupport.filesContaining("s3cret-proxy-pw", under: workspace.root).isEmpty)
        // A host no_proxy names needs no proxy.
        env["no_proxy"] = "127.0.0.1"
        let direct = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(direct.status == 0, "\(direct.stderr)")
        #expect(server.store.bills.count == 3)
    }

    @Test func aRunLockedByAnotherProcessIsNotLoaded() async throws {
        let workspace = try CrashTests.Workspace("cli-lock")
        try PayloadGenerator.write(count: 1, into: workspace.run.transform)
        let lock = try FileLock(path: workspace.run.runDirectory + "/.lock", purpose: "test")
        defer { lock.release() }
        var env = ProcessInfo.processInfo.environment
        for key in ["URL", "ACCT_ID", "USERNAME", "APP_ID", "APP_SECRET"] { env["KINGDEE_" + key] = "x_y" }
        env["KINGDEE_APP_ID"] = "x_MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0"
        let locked = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(locked.status == 2)
        #expect(locked.stderr.contains("locked by another Ferry process"))
    }

    @Test func anotherRunOfTheWorkspaceIsNotLoadedWhileOneIsBeingLoaded() async throws {
        let server = try await KingdeeSandboxServer.start()
        defer { Task { await server.stop() } }
        let workspace = try CrashTests.Workspace("cli-load-lock")
        try PayloadGenerator.write(count: 2, into: workspace.run.transform)
        // Another process is loading some run of this workspace.
        let loading = try FileLock(path: workspace.root + "/.load.lock", purpose: "test")
        let env = CrashTests.environment(server)
        let blocked = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(blocked.status == 2)
        #expect(blocked.stderr.contains("loading from this workspace is locked by another Ferry process"), "\(blocked.stderr)")
        #expect(server.store.requestCounts.isEmpty, "nothing sent")
        // A dry run sends nothing, so it does not wait for the lock.
        let dry = try await FerryProcess.run(["load", "--workspace", workspace.root, "--dry-run"], environment: env)
        #expect(dry.status == 0, "\(dry.stderr)")
        loading.release()
        let load = try await FerryProcess.run(["load", "--workspace", workspace.root], environment: env)
        #expect(load.status == 0, "\(load.stderr)")
        #expect(server.store.bills.count == 2)
    }
}
