import FerryCore
import FerrySchemes
import FerryTemplate
import Foundation

/// Creates workspaces (`ferry init`).
public enum WorkspaceInitializer {
    /// The `ferry.yaml` a new workspace gets. Endpoints and secrets come from the environment.
    public static func configText(scheme: String) -> String {
        """
        # Ferry workspace. Secrets never go in this file: ${NAME} reads the environment variable NAME
        # when a stage needs it (a missing one is an error naming it). See README.md ("ferry.yaml").
        version: 1
        scheme: templates/\(scheme).xml
        # Kingdee stock organisation number; templates read it with setting="org_number".
        org_number: "100"

        # 旺店通·企业奇门 (the source).
        source:
          api: wdt-qimen                # wdt-qimen (奇门网关) or wdt-openapi (直连 openapi2)
          url: ${WDT_URL}
          sid: ${WDT_SID}
          app_key: ${WDT_APP_KEY}
          app_secret: ${WDT_APP_SECRET}
          target_app_key: ${WDT_TARGET_APP_KEY}
          requests_per_second: 1
          page_size: 100
          window_days: 30
          lookback_minutes: 10

        # 金蝶云星空 (the target).
        target:
          url: ${KINGDEE_URL}
          auth: signature               # signature | appsecret | password
          acct_id: ${KINGDEE_ACCT_ID}
          username: ${KINGDEE_USERNAME}
          app_id: ${KINGDEE_APP_ID}
          app_secret: ${KINGDEE_APP_SECRET}
          password: ${KINGDEE_PASSWORD}     # only read when auth is password
          lcid: 2052
          batch_size: 50
          concurrency: 4
          timeout_seconds: 30

        """
    }

    /// The built-in schemes: name, version and description, read from the embedded templates.
    public static func builtInSchemes() -> [(name: String, version: String, description: String, path: String)] {
        BuiltInSchemes.templateFileNames.compactMap { fileName in
            let path = BuiltInSchemes.path(fileName)
            guard let template = MappingTemplate.load(path: path).template else { return nil }
            return (template.name, template.version, template.description, path)
        }
    }

    /// Creates a workspace in `directory` for the built-in scheme `scheme`.
    ///
    /// - Returns: the files created, relative to `directory`.
    /// - Throws: a `Diagnostic` when the scheme is unknown, the directory already holds a `ferry.yaml`,
    ///   or a file cannot be written.
    @discardableResult
    public static func create(at directory: String, scheme: String = BuiltInSchemes.defaultSchemeName) throws(Diagnostic)
        -> [String]
    {
        guard let entry = builtInSchemes().first(where: { $0.name == scheme }) else {
            let names = builtInSchemes().map(\.name).joined(separator: ", ")
            throw .error("no built-in scheme '\(scheme)'; `ferry schemes` lists them (\(names))")
        }
        let configPath = Workspace.configPath(directory)
        if FileSystem.exists(configPath) {
            throw .error("a workspace already exists here; edit it, or choose another directory", file: configPath)
        }
        var created: [String] = []
        func write(_ relative: String, _ bytes: [UInt8]) throws(Diagnostic) {
            try FileSystem.writeAtomically(bytes, to: Workspace.join(directory, relative))
            created.append(relative)
        }
        try write("ferry.yaml", Array(configText(scheme: scheme).utf8))
        try write("templates/\(scheme).xml", FileSystem.read(entry.path))
        for name in FileSystem.list(BuiltInSchemes.lookupsDirectory) where name.hasSuffix(".csv") {
            try write("lookups/\(name)", FileSystem.read(BuiltInSchemes.lookupsDirectory + "/" + name))
        }
        try FileSystem.createDirectory(Workspace.join(directory, "runs"))
        created.append("runs/")
        return created
    }
}
