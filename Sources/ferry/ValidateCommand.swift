import ArgumentParser
import FerryCore

/// `ferry validate`.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "validate", abstract: "Not built yet.")

    func run() async throws {
        try await runCommand {
            throw Diagnostic.error("`ferry validate` is not built yet")
        }
    }
}
