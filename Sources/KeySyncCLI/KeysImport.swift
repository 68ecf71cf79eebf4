import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct KeysImport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Convert a key file to an OpenSSH public line (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "keys import") }
    }
}
