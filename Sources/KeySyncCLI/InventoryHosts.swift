import ArgumentParser
import Foundation
import KeySync

extension KeySyncCommand {
    /// `keysync inventory hosts`: what a push would target, resolved: hosts, accounts, blocks, keys.
    struct InventoryHosts: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hosts",
            abstract: "Show the resolved hosts, accounts and keys (fingerprints) a push would target."
        )

        @OptionGroup var inventoryOption: InventoryOption
        @OptionGroup var selection: SelectionOptions
        @OptionGroup var output: TableOutputOptions

        func run() throws {
            let inventory = try inventoryOption.loadInventory()
            let targets = try selection.targets(in: inventory)
            if targets.isEmpty { printError("no host has managed accounts in this selection") }
            print(output.json ? try Self.json(targets, of: inventory) : Self.table(targets))
        }

        /// One row per key of each block of each account of each host; `-` for an empty block.
        static func table(_ targets: [HostTarget]) -> String {
            var rows = [["HOST", "ADDRESS", "LOGIN", "ACCOUNT", "UID", "PROJECT", "ROLE", "KEY", "FINGERPRINT"]]
            for target in targets {
                let host = target.host
                let address = host.address.contains(":") ? "[\(host.address)]:\(host.port)" : "\(host.address):\(host.port)"
                for account in target.accounts {
                    for block in account.blocks {
                        let prefix = [host.name, address, host.user, account.name + (account.exclusive ? " (exclusive)" : ""),
                                      account.uid.map(String.init) ?? "-", block.project, block.role]
                        rows += block.entries.isEmpty ? [prefix + ["-", "-"]]
                            : block.entries.map { prefix + [$0.keyName, $0.key.fingerprint] }
                    }
                }
            }
            let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
            return rows.map { row in
                zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingTrailingSpaces()
            }.joined(separator: "\n")
        }

        /// `{"inventory", "inventory_hash", "revoked", "hosts": [{"host", …, "accounts": [{"account", …,
        /// "blocks": [{"project", "role", "keys": [{"name", "type", "fingerprint", "options", "until"}]}]}]}]}`;
        /// absent optional values are left out.
        static func json(_ targets: [HostTarget], of inventory: KeySync.Inventory) throws -> String {
            let document = Document(
                inventory: inventory.path, inventory_hash: inventory.inventoryHash,
                revoked: inventory.revokedFingerprints.sorted(),
                hosts: targets.map { target in
                    let host = target.host
                    var identity: String?
                    if case .identity(let path) = host.credential { identity = path }
                    return .init(
                        host: host.name, address: host.address, port: host.port, user: host.user,
                        identity: identity, agent: host.credential == .agent, known_hosts: host.knownHosts,
                        become: host.become.rawValue, connect_timeout: host.connectTimeout,
                        command_timeout: host.commandTimeout, groups: host.groups,
                        accounts: target.accounts.map { account in
                            .init(account: account.name, uid: account.uid, gid: account.gid, group: account.group,
                                  shell: account.shell, home: account.home, create: account.create,
                                  exclusive: account.exclusive,
                                  blocks: account.blocks.map { block in
                                      .init(project: block.project, role: block.role, keys: block.entries.map {
                                          .init(name: $0.keyName, type: $0.key.type, fingerprint: $0.key.fingerprint, options: $0.options,
                                                until: $0.until?.formatted(Date.ISO8601FormatStyle()))
                                      })
                                  })
                        })
                })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(document), as: UTF8.self)
        }

        // JSON field names are a contract; they follow the inventory's snake_case keys.
        private struct Document: Encodable {
            struct Host: Encodable {
                let host, address: String, port: Int, user: String, identity: String?, agent: Bool
                let known_hosts, become: String, connect_timeout, command_timeout: Double
                let groups: [String], accounts: [Account]
            }
            struct Account: Encodable {
                let account: String, uid, gid: UInt32?, group, shell, home: String?
                let create, exclusive: Bool, blocks: [Block]
            }
            struct Block: Encodable { let project, role: String, keys: [Key] }
            struct Key: Encodable { let name, type, fingerprint: String, options, until: String? }
            let inventory, inventory_hash: String, revoked: [String], hosts: [Host]
        }
    }
}

private extension String {
    func trimmingTrailingSpaces() -> String {
        String(reversed().drop { $0 == " " }.reversed())
    }
}
