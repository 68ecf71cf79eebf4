import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore",
            abstract: "Restore a host file from a snapshot taken before a write (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "restore") }
    }
}
