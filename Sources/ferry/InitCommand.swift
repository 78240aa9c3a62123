import ArgumentParser
import FerryCore

/// `ferry init`.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Not built yet.")

    func run() async throws {
        try await runCommand {
            throw Diagnostic.error("`ferry init` is not built yet")
        }
    }
}
