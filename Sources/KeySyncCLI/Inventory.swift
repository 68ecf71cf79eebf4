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

        /// No subcommand: bad usage (exit 1), not help on stdout with exit 0.
        func run() throws { throw ValidationError("a subcommand is needed; see keysync inventory --help") }
    }
}
