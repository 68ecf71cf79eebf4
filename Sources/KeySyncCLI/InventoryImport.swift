import ArgumentParser
import Foundation
import KeySync

extension KeySyncCommand {
    /// `keysync inventory import --ansible FILE`: an Ansible host list as keysync `hosts:`.
    struct InventoryImport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Turn an Ansible inventory (INI or YAML) into keysync `defaults:` and `hosts:` with groups.",
            discussion: """
                Reads hosts, groups, children (flattened: a host is in every group above it), ansible_host, \
                ansible_port and ansible_user (host over child group over parent group over all); every other \
                variable is listed in a comment at the top with its line, never dropped silently. Prints \
                inventory YAML on stdout, or writes --output (a new file; an existing one is never overwritten). \
                Next step: `keysync adopt --inventory-hosts` (docs/adopting.md). Exit 0 done, 1 bad input \
                (each problem with file and line; nothing written).
                """
        )

        @Option(name: .long, help: ArgumentHelp("The Ansible inventory file (INI or YAML).", valueName: "file"))
        var ansible: String

        @Option(name: .long, help: ArgumentHelp("Write the inventory to this new file (default: stdout).", valueName: "file"))
        var output: String?

        func validate() throws {
            if let output, FileManager.default.fileExists(atPath: output) {
                throw ValidationError("\(output) exists; import writes a new file and never overwrites one (remove it or name another)")
            }
        }

        func run() throws {
            let inventory: AnsibleInventory
            do {
                inventory = try AnsibleInventory.load(path: ansible)
            } catch {
                printBadInput(error.description, error.diagnostics)
                throw ExitCode(1)
            }
            let text = inventory.text()
            if let output {
                try exitOnError { try AtomicFile.write(Array(text.utf8), to: output, mode: 0o644, replacing: false) }
                printError("imported \(inventory.hosts.count) hosts into \(output); \(inventory.notes.count) not imported (listed at its top)")
            } else {
                print(text, terminator: "")
            }
        }
    }
}
