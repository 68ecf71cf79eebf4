import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Read-only drift check; records drift in the database (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "check") }
    }
}
