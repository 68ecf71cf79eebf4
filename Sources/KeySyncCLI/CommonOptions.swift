import ArgumentParser
import Foundation

/// `--inventory`, falling back to `$KEYSYNC_INVENTORY`, then `./inventory.yml`.
struct InventoryOption: ParsableArguments {
    @Option(name: .long, help: "Inventory file (default: $KEYSYNC_INVENTORY, then ./inventory.yml).")
    var inventory: String?

    /// The inventory path after the documented fallbacks.
    var resolvedInventoryPath: String {
        if let inventory { return inventory }
        if let env = ProcessInfo.processInfo.environment["KEYSYNC_INVENTORY"], !env.isEmpty { return env }
        return "inventory.yml"
    }
}

/// `--db`, falling back to `$KEYSYNC_DB`, then `./keysync.db`.
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: "SQLite database (default: $KEYSYNC_DB, then ./keysync.db).")
    var db: String?

    var resolvedDatabasePath: String {
        if let db { return db }
        if let env = ProcessInfo.processInfo.environment["KEYSYNC_DB"], !env.isEmpty { return env }
        return "keysync.db"
    }
}

/// Host selection shared by push, check, doctor and rotate.
struct SelectionOptions: ParsableArguments {
    @Option(name: .long, help: "Select a project (repeatable).")
    var project: [String] = []
    @Option(name: .long, help: "Select a host by name (repeatable).")
    var host: [String] = []
    @Option(name: .long, help: "Select a host group (repeatable).")
    var group: [String] = []
}
