import ArgumentParser
import FerryCore
import Foundation

/// The `ferry` command: 旺店通·企业奇门 stock-in orders → 金蝶云星空 其他入库单, through files.
@main
struct Ferry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Batch ETL from 旺店通·企业奇门 (WDT) to 金蝶云星空 (Kingdee K/3 Cloud), through files you can read.",
        discussion: """
            Exit codes: 0 all good; 1 ran, but some documents were rejected or failed, or an input file \
            could not be read (for run and status: the run is not clean); 2 could not run (configuration, \
            template, a missing setting or lookup file, an input path that does not exist, a run locked by \
            another process); 64 usage.
            """,
        version: FerryVersion.current,
        subcommands: [
            InitCommand.self, SchemesCommand.self, ValidateCommand.self,
            ExtractCommand.self, TransformCommand.self, LoadCommand.self,
            RunCommand.self, StatusCommand.self, DemoCommand.self, SandboxCommand.self,
        ]
    )
}
