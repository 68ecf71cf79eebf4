import ArgumentParser
import Foundation
import KeySync

extension KeySyncCommand {
    /// `keysync where`: every host and account where a key was last seen,
    /// managed or not — the first question after a leaked laptop — and its
    /// last use per host, from the logins push and check read in sshd's log.
    struct Where: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "where",
            abstract: "List every host and account where a key was seen, managed or not.",
            discussion: """
                KEY is a SHA256: fingerprint, a public key file (OpenSSH .pub, RFC 4716, PuTTY .ppk, or a \
                private key), a public key line, or a key name from the inventory. Exit 0 when the lookup \
                ran, also when the key was not seen on any host; 1 when KEY cannot be parsed or resolved.
                """
        )

        @OptionGroup var databaseOption: DatabaseOption
        @OptionGroup var inventoryOption: InventoryOption

        @Argument(help: "A SHA256: fingerprint, a public key file or line, or an inventory key name.")
        var key: String

        @OptionGroup var output: TableOutputOptions

        func run() throws {
            print(try render(), terminator: "")
        }

        /// The sightings as text or JSON; errors are printed and exit 1.
        func render() throws -> String {
            let (fingerprint, label) = try exitOnError { try Self.resolve(key, inventory: inventoryOption.loadInventory) }
            let store = try databaseOption.openStoreForReading()
            var report = KeyLocationReport(fingerprint: fingerprint, label: label,
                                           sightings: try exitOnError { try store.whereKey(fingerprint: fingerprint) })
            report.logins = try exitOnError { try store.keyLogins(fingerprint: fingerprint) }
            return output.json ? report.json() : report.text()
        }

        /// Why KEY names no key.
        struct UnknownKey: Error, CustomStringConvertible {
            var description: String
        }

        /// The fingerprint KEY stands for, and how to name it in the output
        /// (`nil` when KEY is the fingerprint). The inventory is loaded only
        /// for a key name.
        static func resolve(_ key: String, inventory: () throws -> KeySync.Inventory) throws -> (String, String?) {
            if key.hasPrefix("SHA256:") {
                let digest = key.dropFirst("SHA256:".count)
                guard digest.count == 43, Data(base64Encoded: digest + "=")?.count == 32 else {
                    throw UnknownKey(description: "\"\(key)\" is not a SHA256 fingerprint (SHA256: and 43 base64 characters, as ssh-keygen -l prints)")
                }
                return (key, nil)
            }
            if FileManager.default.fileExists(atPath: key) {
                do {
                    return (try KeyImporter.importKey(contentsOf: key).fingerprint, key)
                } catch .unreadable(_, let reason) {
                    throw UnknownKey(description: "\(key): \(reason)")
                } catch {
                    throw UnknownKey(description: "\(key): not a key file keysync can read: \(error)")
                }
            }
            if key.contains(" "), let publicKey = try? KeyImporter.parsePublicKeyLine(key) {
                return (publicKey.fingerprint, publicKey.comment.isEmpty ? publicKey.type : publicKey.comment)
            }
            let inventory = try inventory()
            guard let named = inventory.key(named: key) else {
                throw UnknownKey(description: "\"\(key)\" is not a SHA256: fingerprint, a key file, a public key line, or a key in \(inventory.path)")
            }
            return (named.fingerprint, key)
        }
    }
}
