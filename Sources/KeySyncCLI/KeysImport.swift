import ArgumentParser
import Foundation
import KeySync

extension KeySyncCommand {
    /// `keysync keys import FILE [--name NAME]`
    struct KeysImport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Print the OpenSSH public line of a key file, and an inventory snippet for it.",
            discussion: """
                Reads OpenSSH .pub, RFC 4716, PuTTY .ppk (v2, v3), OpenSSH private keys and unencrypted \
                PEM private keys (PKCS#1, PKCS#8, SEC1). Only the public key is printed.
                """
        )

        @Argument(help: "The key file.")
        var file: String

        @Option(help: "Key name for the inventory snippet (default: the file name without extension).")
        var name: String?

        func validate() throws {
            if let name, name.isEmpty || name.contains(where: { $0.isWhitespace || $0 == ":" }) {
                throw ValidationError("--name must be non-empty, without blanks or colons.")
            }
        }

        func run() throws {
            let key = try KeyImporter.importKey(contentsOf: file)
            let keyName = name ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
            let quoted = key.openSSHLine.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"")
            print(key.openSSHLine)
            print("""

                # inventory snippet (\(key.fingerprint)):
                keys:
                  \(keyName):
                    public: "\(quoted)"
                """)
        }
    }
}
