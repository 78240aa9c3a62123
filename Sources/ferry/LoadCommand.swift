import ArgumentParser
import FerryCore

/// `ferry load`.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load", abstract: "Not built yet.")

    func run() async throws {
        try await runCommand {
            throw Diagnostic.error("`ferry load` is not built yet")
        }
    }
}
