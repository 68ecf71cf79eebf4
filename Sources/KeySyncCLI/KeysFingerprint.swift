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

/// Writes a diagnostic line to standard error.
private func printError(_ message: String) {
    var standardError = StandardError()
    print(message, to: &standardError)
}

private struct StandardError: TextOutputStream {
    mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}
