import ArgumentParser
import Foundation
import KeySync

/// `--inventory`, falling back to `$KEYSYNC_INVENTORY`, then `./inventory.yml`.
struct InventoryOption: ParsableArguments {
    @Option(name: .long, help: "Inventory file (default: $KEYSYNC_INVENTORY, then ./inventory.yml).")
    var inventory: String?

    /// The inventory path after the documented fallbacks.
    var resolvedInventoryPath: String { resolvedInventoryPath(environment: ProcessInfo.processInfo.environment) }

    /// The inventory path after the documented fallbacks, with `environment` standing in for the process's.
    func resolvedInventoryPath(environment: [String: String]) -> String {
        if let inventory { return inventory }
        if let env = environment["KEYSYNC_INVENTORY"], !env.isEmpty { return env }
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

/// Host selection shared by push, check, doctor and `inventory hosts`.
struct SelectionOptions: ParsableArguments {
    @Option(name: .long, help: "Select a project (repeatable).")
    var project: [String] = []
    @Option(name: .long, help: "Select a host by name (repeatable).")
    var host: [String] = []
    @Option(name: .long, help: "Select a host group (repeatable).")
    var group: [String] = []
}

/// `--parallel`, 1 to 4096 as the inventory's `parallel`; without it the inventory's (else 64).
struct ParallelOption: ParsableArguments {
    @Option(name: .long, help: "Hosts in flight at once (default: inventory `parallel`, else 64).")
    var parallel: Int?

    func validate() throws {
        if let parallel, parallel < 1 || parallel > 4096 {
            throw ValidationError("--parallel must be between 1 and 4096 (as the inventory's parallel)")
        }
    }

    /// `--parallel`, else the inventory's `parallel`.
    func width(for inventory: Inventory) -> Int { parallel ?? inventory.parallel }
}

/// `--json` for commands whose other output is text.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON document instead of text.")
    var json = false

    /// Prints `report` as one JSON document (and a line feed), or `text`,
    /// which ends its own lines.
    func print<Report: Encodable>(_ report: Report, text: @autoclosure () -> String) throws {
        if json {
            Swift.print(try JSONOutput.string(report))
        } else {
            Swift.print(text(), terminator: "")
        }
    }
}

/// `--json` for commands whose other output is a table.
struct TableOutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON document instead of a table.")
    var json = false
}

extension InventoryOption {
    /// Loads the inventory and prints its warnings to stderr; on errors prints
    /// every diagnostic to stderr and exits 1.
    func loadInventory() throws -> Inventory {
        do {
            let inventory = try Inventory.load(path: resolvedInventoryPath)
            inventory.warnings.forEach { printStyled($0.rendered()) }
            return inventory
        } catch {
            printBadInput(error.description, error.diagnostics)
            throw ExitCode(1)
        }
    }
}

extension DatabaseOption {
    /// Opens the database, which must exist (report, where, history, prune,
    /// restore and rotate's --status and --resume only read or continue what
    /// other commands recorded); on failure prints why and exits 1.
    func openStore() throws -> Store {
        let path = try existingDatabasePath()
        return try exitOnError { try Store(path: path) }
    }

    /// Opens the database, which must exist, for reading only (report,
    /// history, where, review, rotate --status): nothing is written beside
    /// it, so a copy on a read-only mount or a full disk can be read.
    func openStoreForReading() throws -> Store {
        let path = try existingDatabasePath()
        return try exitOnError { try Store(readingOnly: path) }
    }

    /// The database path, which must name a file that is not empty; else prints why and exits 1.
    private func existingDatabasePath() throws -> String {
        let path = resolvedDatabasePath
        guard FileManager.default.fileExists(atPath: path) else {
            printError("error: no keysync database at \(path); run `keysync check` first, or name it with --db or KEYSYNC_DB")
            throw ExitCode(1)
        }
        try Self.refuseEmptyFile(path)
        return path
    }

    /// An empty file (a mistyped path, a placeholder) is no database: a
    /// command that only reads would make it one and report "no open drift
    /// on 0 hosts". Prints why and exits 1.
    static func refuseEmptyFile(_ path: String) throws {
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size == 0 {
            printError("error: \(path) is an empty file, not a keysync database; run `keysync check` to create one, or name another with --db")
            throw ExitCode(1)
        }
    }

    /// Opens the database, creating it if it does not exist (the commands
    /// that record runs); on failure prints why and exits 1.
    func openOrCreateStore() throws -> Store {
        try exitOnError { try Store(path: resolvedDatabasePath) }
    }

    /// Runs `body` with the database, created if it does not exist (push,
    /// check, rotate, offboard). A database this call created is removed
    /// again when `body` fails with nothing recorded in it: bad input found
    /// only once the run starts (an identity that does not load, a missing
    /// known_hosts, an unknown key to rotate) exits 1 and leaves no file
    /// behind (DESIGN.md: "bad input (nothing touched)").
    func withStore<T>(_ body: (Store) throws -> T) throws -> T {
        let path = resolvedDatabasePath
        let store = try openOrCreateStore()
        do {
            return try body(store)
        } catch {
            // Only a file this process created (O_EXCL), with nothing in it.
            if store.created, (try? store.recordsNothing()) == true, (try? store.closeConnections()) != nil {
                for file in [path, path + "-wal", path + "-shm"] { try? FileManager.default.removeItem(atPath: file) }
            }
            throw error
        }
    }
}

extension SelectionOptions {
    /// The selected hosts of `inventory` (with `includingHostsWithoutBlocks`,
    /// also those no selected project names); unknown names are printed to stderr and exit 1.
    func targets(in inventory: Inventory, includingHostsWithoutBlocks: Bool = false) throws -> [HostTarget] {
        do {
            return try inventory.select(projects: project, hosts: host, groups: group,
                                        includingHostsWithoutBlocks: includingHostsWithoutBlocks)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
    }

    /// The selection as it is recorded with a run: `--project a --host h1 --group web`.
    var arguments: [String] {
        project.map { "--project \($0)" } + host.map { "--host \($0)" } + group.map { "--group \($0)" }
    }

    /// Which departed hosts push and check list: none when hosts or groups
    /// are named (a host that left the inventory is in neither), else those
    /// of the selected projects, or all.
    var departedListing: ManagedHistory.DepartedListing {
        if !host.isEmpty || !group.isEmpty { return .none }
        return project.isEmpty ? .all : .projects(Set(project))
    }
}
