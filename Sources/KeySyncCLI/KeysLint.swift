import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct KeysLint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lint",
            abstract: "Lint an authorized_keys file (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "keys lint") }
    }
}
