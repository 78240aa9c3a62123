import ArgumentParser
import FerryCore
import FerrySchemes
import FerryTemplate
import FerryWorkspace

/// `ferry validate [TEMPLATE…]`: checks templates against the XSD and for meaning.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check scheme templates (XSD, then paths, lookups, expressions, duplicate fields).",
        discussion: """
            With no TEMPLATE, checks the workspace's scheme when --workspace (or ./ferry.yaml) is there, \
            with the workspace's lookup files and settings as its transform loads them; otherwise the \
            built-in schemes. Problems print as FILE:LINE: error: MESSAGE; exit 2 when any \
            template has an error.
            """)

    @Argument(help: "Template files to check.")
    var templates: [String] = []

    @Option(help: "A workspace whose scheme to check when no TEMPLATE is given.")
    var workspace: String?

    func run() async throws {
        try await runCommand {
            var paths = templates
            // A workspace's scheme is checked with the workspace's lookup files and settings too, as its
            // transform would load them: what would stop the transform is reported here.
            var space: Workspace?
            if paths.isEmpty {
                let root = workspace ?? "."
                if workspace != nil || FileSystem.exists(Workspace.configPath(root)) {
                    space = try Workspace(root: root)
                    paths = [space!.templatePath]
                } else {
                    paths = BuiltInSchemes.templateFileNames.map(BuiltInSchemes.path)
                }
            }
            var failed = false
            for path in paths {
                let (template, diagnostics) =
                    try space.map { space in
                        TransformRunner.check(
                            templatePath: path, lookupsDirectory: space.lookupsDirectory,
                            settings: try space.config.templateSettings(environment: WorkspaceOptions.environment))
                    } ?? MappingTemplate.load(path: path)
                diagnostics.forEach(Console.print)
                if let template {
                    print("\(BuiltInSchemes.displayName(path)): ok (\(template.name) \(template.version))")
                } else {
                    failed = true
                }
            }
            if failed { throw FerryExit.couldNotRun }
            return .success
        }
    }
}
