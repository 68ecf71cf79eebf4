import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct KeysFingerprint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fingerprint",
            abstract: "Print key fingerprints like ssh-keygen -lf (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "keys fingerprint") }
    }
}
