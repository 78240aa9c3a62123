import ArgumentParser
import FerryCore

/// `ferry extract`.
struct ExtractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "extract", abstract: "Not built yet.")

    func run() async throws {
        try await runCommand {
            throw Diagnostic.error("`ferry extract` is not built yet")
        }
    }
}
