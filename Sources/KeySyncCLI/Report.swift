import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Drift reports from the database (no SSH) (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "report") }
    }
}
