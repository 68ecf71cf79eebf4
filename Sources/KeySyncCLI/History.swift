import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "Runs and changes for a host, newest first (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "history") }
    }
}
