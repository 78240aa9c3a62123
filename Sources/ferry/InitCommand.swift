import ArgumentParser
import FerryCore
import FerrySchemes
import FerryWorkspace

/// `ferry init DIR [--scheme NAME]`: creates a workspace.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a workspace: ferry.yaml, a copy of the scheme template, example lookups and runs/.")

    @Argument(help: "The directory to create the workspace in.")
    var directory: String

    @Option(help: "The built-in scheme to start from (see `ferry schemes`).")
    var scheme: String = BuiltInSchemes.defaultSchemeName

    func run() async throws {
        try await runCommand {
            let created = try WorkspaceInitializer.create(at: directory, scheme: scheme)
            for file in created { print(Workspace.join(directory, file)) }
            Console.error(
                """
                Created a workspace in \(directory). Next:
                  1. export the variables ferry.yaml reads (WDT_URL, WDT_SID, WDT_APP_KEY, WDT_APP_SECRET, \
                WDT_TARGET_APP_KEY, KINGDEE_URL, KINGDEE_ACCT_ID, KINGDEE_USERNAME, KINGDEE_APP_ID, KINGDEE_APP_SECRET)
                  2. edit lookups/*.csv and templates/\(scheme).xml, then `ferry validate --workspace \(directory)`
                """)
            return .success
        }
    }
}
