import FerryCore
import FerryWorkspace
import Testing

@Suite struct WorkspaceConfigTests {
    let text = """
        version: 1
        org_number: "200"
        settings:
          dept: BM01
        source:
          api: wdt-openapi
          url: ${WDT_URL}
          app_secret: ${WDT_APP_SECRET}
          page_size: 50
        target:
          password: "p$$w${SUFFIX}"
          insecure_tls: yes
        """

    @Test func interpolatesLazilyAndNamesAMissingVariable() throws {
        let config = try WorkspaceConfig(text: text, file: "ferry.yaml")
        let env = ["WDT_URL": "http://127.0.0.1:9/router/qm", "SUFFIX": "!"]
        #expect(try config.optionalString("source.url", environment: env) == "http://127.0.0.1:9/router/qm")
        #expect(try config.optionalString("target.password", environment: env) == "p$w!")
        #expect(try config.int("source.page_size", default: 100, range: 1...100) == 50)
        #expect(try config.bool("target.insecure_tls", default: false))
        #expect(try config.templateSettings(environment: env) == ["org_number": "200", "dept": "BM01"])
        do {
            _ = try config.string("source.app_secret", environment: env, purpose: "to sign WDT requests")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "ferry.yaml:8: error: environment variable WDT_APP_SECRET is not set (needed by 'source.app_secret'); export WDT_APP_SECRET=... (a secret: keep it in the environment, not in ferry.yaml)")
        }
        // A setting that is not a secret may be written in the file instead.
        let url = try #require(throws: Diagnostic.self) { try config.string("source.url", environment: [:], purpose: "to extract") }
        #expect(url.message.hasSuffix("export WDT_URL=... or write the value in ferry.yaml"), "\(url)")
    }

    /// A variable that is set but empty: the setting is written, so "add it to ferry.yaml" is no help.
    @Test func aRequiredSettingWhoseVariableIsEmptyNamesIt() throws {
        let config = try WorkspaceConfig(text: text, file: "ferry.yaml")
        #expect(throws: Diagnostic.error(
            "'source.app_secret' is required to sign WDT requests, but '${WDT_APP_SECRET}' is empty; give it a value",
            file: "ferry.yaml", line: 8)) {
            try config.string("source.app_secret", environment: ["WDT_APP_SECRET": ""], purpose: "to sign WDT requests")
        }
        #expect(throws: Diagnostic.error("'source.sid' is required to sign WDT requests; add it to ferry.yaml", file: "ferry.yaml")) {
            try config.string("source.sid", environment: [:], purpose: "to sign WDT requests")
        }
    }

    @Test func unknownKeysAndBadValuesPointAtTheirLine() throws {
        #expect(throws: Diagnostic.error("unknown setting 'source.pagesize'; see README.md (\"ferry.yaml\") for the settings Ferry knows", file: "f.yaml", line: 3)) {
            try WorkspaceConfig(text: "version: 1\nsource:\n  pagesize: 10\n", file: "f.yaml")
        }
        #expect(throws: Diagnostic.self) { try WorkspaceConfig(text: "version: 9\n", file: "f.yaml") }
        let config = try WorkspaceConfig(text: "source:\n  page_size: 500\n", file: "f.yaml")
        #expect(throws: Diagnostic.error("'source.page_size' must be a whole number from 1 to 100, not '500'", file: "f.yaml", line: 2)) {
            try config.int("source.page_size", default: 100, range: 1...100)
        }
    }

    /// A key written twice is a mistake YAML forbids; the later one must not silently win.
    @Test func aKeyWrittenTwiceIsAnErrorAtItsSecondLine() throws {
        #expect(throws: Diagnostic.error(
            "'source.app_secret' is written twice (also at line 3); keep one", file: "f.yaml", line: 4)) {
            try WorkspaceConfig(text: "version: 1\nsource:\n  app_secret: ${WDT_APP_SECRET}\n  app_secret: old\n", file: "f.yaml")
        }
        #expect(throws: Diagnostic.error("'source' is written twice (also at line 2); keep one", file: "f.yaml", line: 4)) {
            try WorkspaceConfig(text: "version: 1\nsource:\n  sid: a\nsource:\n  app_key: b\n", file: "f.yaml")
        }
    }

    @Test func yamlSyntaxErrorsHaveALine() {
        do {
            _ = try WorkspaceConfig(text: "version: 1\nsource:\n  url: [unclosed\n", file: "f.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.file == "f.yaml" && error.line != nil && error.message.hasPrefix("invalid YAML"), "\(error)")
        }
    }
}
