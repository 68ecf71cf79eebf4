import ArgumentParser
import KeySync

extension KeySyncCommand {
    /// `keysync inventory …`: offline inventory tools.
    struct Inventory: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inventory",
            abstract: "Offline inventory tools: validate, hosts, import.",
            subcommands: [InventoryValidate.self, InventoryHosts.self, InventoryImport.self]
        )
    }
}
