import ArgumentParser
import FerryCore

/// `ferry schemes`.
struct SchemesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "schemes", abstract: "Not built yet.")

    func run() async throws {
        try await runCommand {
            throw Diagnostic.error("`ferry schemes` is not built yet")
        }
    }
}
