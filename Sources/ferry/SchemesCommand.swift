import ArgumentParser
import FerryCore
import FerryWorkspace

/// `ferry schemes`: the built-in scheme list.
struct SchemesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schemes", abstract: "List the built-in schemes (name, version, description).")

    func run() async throws {
        try await runCommand {
            for scheme in WorkspaceInitializer.builtInSchemes() {
                print("\(scheme.name)\t\(scheme.version)\t\(scheme.description)")
            }
            return .success
        }
    }
}
