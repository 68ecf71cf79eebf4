import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct InventoryHosts: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hosts",
            abstract: "Show the resolved hosts, accounts and keys (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "inventory hosts") }
    }
}
