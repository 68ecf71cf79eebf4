import ArgumentParser
import Foundation
import KeySync

extension KeySyncCommand {
    /// `keysync keys fingerprint FILE…`
    struct KeysFingerprint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fingerprint",
            abstract: "Print key fingerprints like ssh-keygen -lf, for any format keysync imports."
        )

        @Argument(help: "Key files: OpenSSH .pub or authorized_keys, RFC 4716, PuTTY .ppk, OpenSSH or PEM private keys.")
        var files: [String]

        func validate() throws {
            guard !files.isEmpty else { throw ValidationError("Give at least one key file.") }
        }

        func run() throws {
            var failed = false
            for file in files {
                do {
                    for key in try KeyImporter.importKeys(contentsOf: file) { print(key.fingerprintLine) }
                } catch {
                    printError("\(error)")
                    failed = true
                }
            }
            if failed { throw ExitCode.failure }
        }
    }
}
