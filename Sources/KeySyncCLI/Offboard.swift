import ArgumentParser
import KeySync

extension KeySyncCommand {
    /// `keysync offboard PERSON`: remove a leaver's keys from every account on every host.
    struct Offboard: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "offboard",
            abstract: "Remove every key of a person who left from every account on every host.",
            discussion: """
                The person needs `left:` in the inventory (their keys are then revoked for push too); \
                without it offboard refuses and names the line to add. Every host of the inventory is \
                contacted, whatever its projects, and every account with a keys file is read (root and the \
                login user included): the person's key lines are removed wherever they are, managed or not, \
                as the account, after a snapshot, with compare-and-swap; then each host is read again. Like \
                push, offboard refuses (unless --force) to remove the key keysync logs in with from the login \
                user's file. The run is recorded: `keysync history --command offboard`. \
                Exit 0 when none remains anywhere, 1 bad input, 2 a key line remains (listed with host, \
                account, file and line; with --dry-run: was found), 3 a host failed, 130 interrupted.
                """
        )

        @Argument(help: "The person's name under `people:`.")
        var person: String

        @OptionGroup var inventoryOption: InventoryOption
        @OptionGroup var databaseOption: DatabaseOption

        @Flag(name: .long, help: "Read every host and print where the keys are; write nothing on hosts.")
        var dryRun = false

        @Flag(name: .long, help: "Allow what the lockout guard refuses (removing the key keysync logs in with).")
        var force = false

        @OptionGroup var parallelOption: ParallelOption

        @OptionGroup var output: OutputOptions

        @OptionGroup var logging: LoggingOptions

        func run() throws {
            let inventory = try inventoryOption.loadInventory()
            var offboard: OffboardRun
            do {
                offboard = try OffboardRun(inventory: inventory, person: person, dryRun: dryRun, force: force, parallel: parallelOption.parallel)
            } catch {
                if case .notLeft(let diagnostic) = error { printStyled(diagnostic.rendered()) } else { printError(error.description) }
                throw ExitCode(1)
            }
            offboard.settings.logger = logging.logger
            let report = try databaseOption.withStore { store in
                try ProgressLine.interruptible(showing: !output.json && logging.quiet) { cancellation, progress in
                    try offboard.execute(store: store, cancellation: cancellation, passphrase: Passphrase.prompt) { done, outcome in
                        progress.update(done: done.done, total: done.total, failed: outcome.result.status == .failed)
                    }
                }
            }
            try output.print(report, text: report.text())
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }
}
