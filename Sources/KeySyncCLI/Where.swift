import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct Where: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "where",
            abstract: "Every host and account where a key was last seen (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "where") }
    }
}
