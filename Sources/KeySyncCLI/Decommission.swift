import ArgumentParser
import KeySync

extension KeySyncCommand {
    /// `keysync decommission HOST`: take keysync's access away from a host that left the inventory.
    struct Decommission: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "decommission",
            abstract: "Remove keysync's blocks and revoked keys from a host that left the inventory, or record that it is gone.",
            discussion: """
                The host must no longer be under hosts: (push and check list it as host_departed). keysync \
                connects with the address, port, user, credentials and host key it recorded when it last reached \
                the host, reads every account it wrote blocks into or saw keys in, and removes every keysync block \
                and revoked key there with push's rules (snapshot first, compare-and-swap, written as the account). \
                Like push it refuses (lockout_refused) to remove the key keysync logs in with or an account's last \
                keys, unless --force. Only when nothing of keysync's is left is the host recorded as decommissioned \
                and no longer reported. --forget records that the machine is gone without contacting it. \
                Exit 0 done, 1 bad input (nothing contacted), 2 something stays (still host_departed), 3 the host failed.
                """
        )

        @OptionGroup var inventoryOption: InventoryOption
        @OptionGroup var databaseOption: DatabaseOption

        @Argument(help: "The host's name, as it was under hosts: in the inventory.")
        var host: String

        @Flag(name: .long, help: "Print the diff per account and write nothing; the host stays reported.")
        var dryRun = false

        @Flag(name: .long, help: "Record that the machine is gone without contacting it.")
        var forget = false

        @Flag(name: .long, help: "Allow removals the lockout guard refuses (keysync's own login key, an account's last keys).")
        var force = false

        @OptionGroup var output: OutputOptions

        func validate() throws {
            if forget && (dryRun || force) { throw ValidationError("--forget contacts nothing: it cannot be combined with --dry-run or --force") }
        }

        func run() throws {
            let inventory = try inventoryOption.loadInventory()
            let store = try databaseOption.openStore()
            let report = try exitOnError {
                forget ? try KeySync.Decommission.forget(host: host, inventory: inventory, store: store)
                    : try KeySync.Decommission.run(host: host, inventory: inventory, store: store, dryRun: dryRun,
                                                   force: force, passphrase: Passphrase.prompt)
            }
            try output.print(report, text: report.text())
            if !output.json && report.errorKind == .hostKeyMismatch {
                printError("hint: a rebuilt machine holds none of keysync's blocks; `keysync decommission \(host) --forget` records it as gone")
            }
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }
}
