import ArgumentParser
import FerryCore

/// `ferry transform`.
struct TransformCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "transform", abstract: "Not built yet.")

    func run() async throws {
        try await runCommand {
            throw Diagnostic.error("`ferry transform` is not built yet")
        }
    }
}
