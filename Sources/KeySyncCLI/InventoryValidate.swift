import ArgumentParser
import KeySync

extension KeySyncCommand {
    /// `keysync inventory validate`: every problem in the inventory, located; exit 1 if any.
    struct InventoryValidate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Check the inventory; print every problem as file:line:col (exit 1 if any)."
        )

        @OptionGroup var inventoryOption: InventoryOption

        func run() throws {
            print(Self.summary(of: try inventoryOption.loadInventory()))
        }

        /// `inventory.yml: ok — 3 projects, 12 hosts, 5 keys, 2 people, 1 revoked, 2 certificate revocations`
        /// (people and certificate revocations only when there are any).
        static func summary(of inventory: KeySync.Inventory) -> String {
            func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
            var parts = [count(inventory.projects.count, "project"), count(inventory.hosts.count, "host"),
                         count(inventory.keys.count, "key"), "\(inventory.revokedFingerprints.count) revoked"]
            if !inventory.people.isEmpty { parts.insert(count(inventory.people.count, "person").replacingOccurrences(of: "persons", with: "people"), at: 3) }
            // Certificate entries (by CA serial or key ID) go into the KRL, not the key count.
            if !inventory.revokedCertificates.isEmpty { parts.append(count(inventory.revokedCertificates.count, "certificate revocation")) }
            if !inventory.warnings.isEmpty { parts.append(count(inventory.warnings.count, "warning")) }
            return "\(inventory.path): ok — " + parts.joined(separator: ", ")
        }
    }
}
