import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct Push: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "push",
            abstract: "Converge the selected hosts to the inventory (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "push") }
    }
}
