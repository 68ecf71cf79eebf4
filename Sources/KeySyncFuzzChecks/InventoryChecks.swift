import Foundation
import KeySync

/// What the inventory loader promises for *any* bytes, checked on one input.
///
/// Run by the `FuzzInventory` libFuzzer target (Fuzz/) and by
/// `FuzzRegressionTests`. `Inventory.parse` must either return an inventory
/// or throw ``InventoryError/invalid(_:)`` with located diagnostics (never
/// crash or hang); an inventory it returns must be usable: every selection
/// works, and every block and key it asks for can be written by the planner.
public enum InventoryChecks {
    /// The inventory's path: its folder does not exist, so relative `file:` keys are missing.
    public static let path = "/nonexistent-keysync-fuzz/inventory.yml"
    /// What `~` expands to (missing as well).
    public static let home = "/nonexistent-keysync-fuzz/home"

    /// Every violated promise for `bytes`; empty when all hold. Crashes only if the library does.
    public static func check(_ bytes: [UInt8]) -> Violations {
        var v = Violations()
        // `Inventory.load` refuses non-UTF-8 with a located error before parsing;
        // the parser itself still gets the decoded text so it sees every input.
        let text = String(decoding: bytes, as: UTF8.self)
        let inventory: Inventory
        do {
            inventory = try Inventory.parse(text, path: path, homeDirectory: home)
        } catch {
            checkError(error, text, &v)
            return v
        }
        checkDiagnostics(inventory.warnings, text, expecting: .warning, &v)
        checkInventory(inventory, text, &v)
        return v
    }

    static func checkError(_ error: InventoryError, _ text: String, _ v: inout Violations) {
        guard case .invalid(let diagnostics) = error else {
            v.fail("Inventory.parse threw \(error), not located diagnostics")
            return
        }
        v.expect(diagnostics.contains { $0.severity == .error }, "Inventory.parse threw without an error diagnostic: \(error)")
        checkDiagnostics(diagnostics, text, expecting: nil, &v)
    }

    /// Each diagnostic names the file, a line of it and a column on (or just after) that line, and says something.
    static func checkDiagnostics(_ diagnostics: [Diagnostic], _ text: String, expecting severity: Diagnostic.Severity?,
                                 _ v: inout Violations) {
        let lengths = Diagnostic.lineLengths(text)
        for diagnostic in diagnostics {
            let said = "diagnostic \"\(diagnostic)\""
            v.expect(diagnostic.file == path, "\(said) names another file")
            v.expect(!diagnostic.message.isEmpty, "\(said) has no message")
            if let severity { v.expect(diagnostic.severity == severity, "\(said) should be a \(severity.rawValue)") }
            guard (1...lengths.count).contains(diagnostic.line) else {
                v.fail("\(said) is on line \(diagnostic.line) of \(lengths.count)")
                continue
            }
            v.expect((1...(lengths[diagnostic.line - 1] + 1)).contains(diagnostic.column),
                     "\(said) is at column \(diagnostic.column) of a line of \(lengths[diagnostic.line - 1]) characters")
        }
        v.expect(diagnostics == diagnostics.sorted(), "diagnostics are not in file order")
    }

    static func checkInventory(_ inventory: Inventory, _ text: String, _ v: inout Violations) {
        v.expect(inventory.inventoryHash == SHA256Digest.hex(text.utf8), "inventoryHash is not the SHA-256 of the text")
        v.expect((1...4096).contains(inventory.parallel), "parallel \(inventory.parallel) out of range")
        for host in inventory.hosts {
            v.expect(inventory.host(named: host.name) == host, "host \(host.name) is not found by name")
            v.expect((1...65535).contains(host.port), "host \(host.name): port \(host.port)")
            v.expect(!host.user.isEmpty, "host \(host.name) has no user")
            v.expect(host.connectTimeout > 0 && host.commandTimeout > 0, "host \(host.name): timeouts must be > 0")
        }
        for key in inventory.keys {
            v.expect(inventory.key(named: key.name) == key, "key \(key.name) is not found by name")
        }
        // Every selection by names the inventory defines works; one it does not define is refused.
        var selections: [(projects: [String], hosts: [String], groups: [String])] = [([], [], [])]
        selections += inventory.projects.prefix(8).map { ([$0.name], [], []) }
        selections += inventory.hosts.prefix(8).map { ([], [$0.name], []) }
        selections += inventory.groups.keys.sorted().prefix(8).map { ([], [], [$0]) }
        for selection in selections {
            do {
                let targets = try inventory.select(projects: selection.projects, hosts: selection.hosts, groups: selection.groups)
                checkTargets(targets, selection.projects, &v)
            } catch {
                v.fail("select(\(selection)) of defined names threw \(error)")
            }
        }
        do {
            _ = try inventory.select(projects: ["no such project \u{1}"])
            v.fail("select of an undefined project did not throw")
        } catch {
            if case .unknownSelection = error {} else { v.fail("select of an undefined project threw \(error)") }
        }
    }

    /// What the sync planner does with a target: one block per role, every
    /// entry rendered with its options. Nothing may be refused there, or a key
    /// would silently go missing.
    static func checkTargets(_ targets: [HostTarget], _ projects: [String], _ v: inout Violations) {
        for target in targets.prefix(32) {
            v.expect(!target.accounts.isEmpty, "host \(target.host.name) selected without accounts")
            v.expect(target.projectScope == (projects.isEmpty ? nil : Set(projects)), "host \(target.host.name): wrong projectScope")
            for account in target.accounts {
                v.expect(!account.blocks.isEmpty, "host \(target.host.name) account \(account.name) selected without blocks")
                var file = AuthorizedKeysFile(bytes: [])
                var written: [(ManagedBlockID, [AuthorizedKeyEntry])] = []
                for block in account.blocks {
                    if let scope = target.projectScope { v.expect(scope.contains(block.project), "block of an unselected project") }
                    guard let id = try? ManagedBlockID(project: block.project, role: block.role) else {
                        v.fail("project \"\(block.project)\" role \"\(block.role)\" was accepted but cannot be a block marker")
                        continue
                    }
                    var entries: [AuthorizedKeyEntry] = []
                    for desired in block.entries {
                        do {
                            let entry = try AuthorizedKeyEntry(optionsText: desired.options, key: desired.key)
                            entries.append(entry)
                            let again = try AuthorizedKeyEntry.parse(entry.line)
                            v.expect(again.key.blob == desired.key.blob && again.options?.text == entry.options?.text,
                                     "key \(desired.keyName): its line \(debugBytes(Array(entry.line.utf8))) reads back differently")
                        } catch {
                            v.fail("key \(desired.keyName) with options \(desired.options.map { debugBytes(Array($0.utf8)) } ?? "none") was accepted by the inventory but cannot be written: \(error)")
                        }
                    }
                    file = file.replacingBlock(id, with: entries)
                    written.append((id, entries))
                }
                let reread = AuthorizedKeysFile(bytes: file.serialized())
                for (id, entries) in written {
                    let got = reread.managedBlock(id)?.entries.map(\.key.blob)
                    v.expect(got == entries.map(\.key.blob), "account \(account.name): block \(id) does not read back with its keys")
                }
            }
        }
    }
}
