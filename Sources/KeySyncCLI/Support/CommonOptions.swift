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

/// Host selection shared by push, check, doctor and rotate.
struct SelectionOptions: ParsableArguments {
    @Option(name: .long, help: "Select a project (repeatable).")
    var project: [String] = []
    @Option(name: .long, help: "Select a host by name (repeatable).")
    var host: [String] = []
    @Option(name: .long, help: "Select a host group (repeatable).")
    var group: [String] = []
}

/// Writes one line to stderr (diagnostics and progress never go to stdout).
/// Errors can quote a host (sudo's stderr, a path from the probe): control
/// characters are shown escaped, line feeds between messages kept.
func printError(_ line: String) {
    printStyled(line.terminalSafe(keepingNewlines: true))
}

/// Writes `line` to stderr as it is: for text keysync styled itself
/// (coloured diagnostics, whose messages ``Diagnostic`` already made safe).
func printStyled(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
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
            if error.diagnostics.isEmpty {
                printError(error.description)
            } else {
                printStyled(error.diagnostics.map { $0.rendered() }.joined(separator: "\n"))
            }
            throw ExitCode(1)
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
}

extension SelectionOptions {
    /// Which departed hosts push and check list: none when hosts or groups
    /// are named (a host that left the inventory is in neither), else those
    /// of the selected projects, or all.
    var departedListing: ManagedHistory.DepartedListing {
        if !host.isEmpty || !group.isEmpty { return .none }
        return project.isEmpty ? .all : .projects(Set(project))
    }
}

extension Diagnostic {
    /// `file:line:col: error: message`, with the severity coloured when stderr
    /// is a terminal and `NO_COLOR` is unset.
    func rendered(colour: Bool = isatty(STDERR_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil) -> String {
        guard colour else { return description }
        let code = severity == .error ? "1;31" : "1;35"
        return "\u{1B}[1m\(file):\(line):\(column):\u{1B}[0m \u{1B}[\(code)m\(severity.rawValue):\u{1B}[0m \(message)"
    }
}
