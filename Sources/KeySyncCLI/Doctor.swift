import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct Doctor: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "doctor",
            abstract: "Explain why a role login would fail, with the fix (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "doctor") }
    }
}
