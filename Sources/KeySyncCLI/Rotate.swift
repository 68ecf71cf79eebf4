import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Phased rotation of a shared project-role key (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "rotate") }
    }
}
