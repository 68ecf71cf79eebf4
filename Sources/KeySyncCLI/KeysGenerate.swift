import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct KeysGenerate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Generate a new key pair for rotation (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "keys generate") }
    }
}
