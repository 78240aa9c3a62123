import FerryCore
import FerryKingdee
import FerryPipeline
import FerrySchemes
import FerryTemplate
import FerryWDT
import FerryWorkspace
import Testing

/// `ferry.yaml` → the stages' settings.
@Suite struct StageSettingsTests {
    func source(_ yaml: String) throws -> WDTSourceConfig {
        let name = try #require(BuiltInSchemes.templateFileNames.first)
        let template = try #require(MappingTemplate.load(path: BuiltInSchemes.path(name)).template)
        let config = try WorkspaceConfig(text: "version: 1\nsource:\n  api: wdt-qimen\n" + yaml, file: "ferry.yaml")
        return try WDTSourceConfig.resolved(from: config, scheme: template.source, environment: [:])
    }

    let credentials = """
          url: http://127.0.0.1:9/router/qm
          sid: s
          app_key: k
          app_secret: secret
          target_app_key: t

        """

    @Test func windowPassesDefaultToSixAndCanBeSet() throws {
        #expect(try source(credentials).maxWindowAttempts == 6)
        #expect(try source(credentials + "  max_window_passes: 3\n").maxWindowAttempts == 3)
        // One pass can never be confirmed by a second: refused, at its line, with the range.
        #expect(throws: Diagnostic.error(
            "'source.max_window_passes' must be a whole number from 2 to 50, not '1'", file: "ferry.yaml", line: 9)) {
            try source(credentials + "  max_window_passes: 1\n")
        }
    }

    func target(_ yaml: String) throws -> KingdeeTargetConfig {
        let config = try WorkspaceConfig(text: "version: 1\ntarget:\n  url: http://127.0.0.1:9/k3cloud/\n" + yaml, file: "ferry.yaml")
        return try KingdeeTargetConfig.resolved(from: config, environment: [:], withSecrets: false)
    }

    @Test func theInDoubtCheckMatchesTheStockOrganisationUnlessToldOtherwise() throws {
        #expect(try target("").existenceCheckOrgField == "FStockOrgId")
        #expect(try target("  existence_check_org_field: FOwnerIdHead\n").existenceCheckOrgField == "FOwnerIdHead")
        #expect(try target("  existence_check_org_field: \"\"\n").existenceCheckOrgField == "")
        // It goes into ExecuteBillQuery's FieldKeys: anything but a field key is refused at its line.
        let error = try #require(throws: Diagnostic.self) { try target("  existence_check_org_field: FStockOrgId,FID\n") }
        #expect(error.line == 4 && error.message.contains("must be a field key"), "\(error)")
    }

    /// A server URL must be http(s) with a host, and may not carry a user name or password (neither server
    /// takes one there, and the URL is shown in messages); the message hides it.
    @Test func serverURLsAreHTTPWithoutCredentials() throws {
        let kingdee = { (url: String) throws(Diagnostic) -> KingdeeTargetConfig in
            let config = try WorkspaceConfig(
                text: "version: 1\ntarget:\n  url: \(url)\n  acct_id: a\n  username: u\n  app_id: 123_4567890123456789012345678901\n"
                    + "  app_secret: s\n  auth: appsecret\n", file: "ferry.yaml")
            return try KingdeeTargetConfig.resolved(from: config, environment: [:], withSecrets: true)
        }
        #expect(try kingdee("https://erp.example.com/k3cloud/").url == "https://erp.example.com/k3cloud/")
        for (url, complaint) in [
            ("https://admin:PASSWORD-1@erp.example.com/k3cloud/", "holds a user name or password"),
            ("https://TOKEN-1@erp.example.com/k3cloud/", "holds a user name or password"),
            ("erp.example.com/k3cloud/", "must be an http(s) URL"),
            ("ftp://erp.example.com/", "must be an http(s) URL"),
        ] {
            let error = try #require(throws: Diagnostic.self) { try kingdee(url) }
            #expect(error.line == 3 && error.message.contains("'target.url' \(complaint)"), "\(error)")
            #expect(!error.description.contains("PASSWORD-1") && !error.description.contains("TOKEN-1"), "\(error)")
        }
        let wdt = try #require(throws: Diagnostic.self) {
            try source(credentials.replacingOccurrences(of: "http://127.0.0.1", with: "http://u:PASSWORD-2@127.0.0.1"))
        }
        #expect(wdt.message.contains("'source.url' holds a user name or password ('http://u:***@127.0.0.1:9/router/qm')"), "\(wdt)")
    }
}
