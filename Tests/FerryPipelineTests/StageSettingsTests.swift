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
}
