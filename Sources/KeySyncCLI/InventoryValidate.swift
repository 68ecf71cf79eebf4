import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct InventoryValidate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Validate the inventory (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "inventory validate") }
    }
}
