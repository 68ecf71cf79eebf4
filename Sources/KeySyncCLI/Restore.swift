import ArgumentParser
import KeySync

extension KeySyncCommand {
    /// `keysync restore`: put back the content a run wrote over, from its snapshots.
    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore",
            abstract: "Restore files on a host to their content before a run wrote them.",
            discussion: """
                --dry-run prints the files and the content they would get back. Otherwise keysync connects \
                with the inventory's settings, refuses symlinks and paths sshd no longer reads, keeps a snapshot \
                of the current content (so the restore itself can be undone), and writes only if the file still \
                has the content it just read. A file that did not exist before the run is never deleted. \
                Keys revoked since (inventory `revoked:`, keys retired by rotations) are left out of what is \
                restored, each one listed. Like push, restore refuses (lockout_refused) to remove the key \
                keysync logs in with or to leave an account that has keys with none, unless --force. \
                Exit 0 restored, 1 bad input, 3 the host failed.
                """
        )

        @OptionGroup var databaseOption: DatabaseOption
        @OptionGroup var inventoryOption: InventoryOption

        @Option(help: "The host to restore.")
        var host: String

        @Option(name: .customLong("run"), help: "The run whose writes to undo (see `keysync history --host H`).")
        var runID: Int64

        @Option(help: "Only this account's file.")
        var account: String?

        @Flag(name: .long, help: "Print what would be restored and write nothing.")
        var dryRun = false

        @Flag(name: .long, help: "Allow a restore the lockout guard refuses (removing keysync's own login key, emptying an account); revoked keys still stay out.")
        var force = false

        func run() throws {
            // The plan is printed once the inputs are known good (inventory,
            // identity, known_hosts): printed before an exit 1 it would read like a result.
            let plan = try render()
            guard !dryRun else { return print(plan, terminator: "") }
            let inventory = try inventoryOption.loadInventory()
            let store = try databaseOption.openStore()
            let outcome: Result<(run: Int64, result: HostResult), any Error>
            do {
                outcome = .success(try SyncRun.restore(inventory: inventory, store: store, host: host, runID: runID, account: account,
                                                       force: force, passphrase: Passphrase.prompt))
            } catch {
                outcome = .failure(error)
            }
            // A restore the plan itself refuses (root files only) shows the plan with its error.
            if case .failure(let error) = outcome, error is SyncError {} else { print(plan, terminator: "") }
            let (restoreRun, result) = try exitOnError { try outcome.get() }
            result.changes.forEach { print("\(host.terminalSafe()): \($0.terminalSafe())") }
            switch result.status {
            case .failed:
                print("\(host.terminalSafe()): FAILED: \((result.error ?? "unknown error").terminalSafe()) (run \(restoreRun))")
                throw ExitCode(3)
            case .ok:
                print("\(host.terminalSafe()): already as before run \(runID); nothing written (run \(restoreRun))")
            default:
                print("restored (run \(restoreRun))")
            }
        }

        /// The files run `--run` wrote on `--host` and (with `--dry-run`) their earlier content;
        /// errors are printed and exit 1.
        func render() throws -> String {
            let store = try databaseOption.openStore()
            // The content shown is what the restore writes: without the keys revoked now (the inventory's and
            // the rotations' retired ones), so the dry run reads the inventory as the restore does.
            let revoked = dryRun ? try inventoryOption.loadInventory().revokedFingerprints : []
            let plan = try exitOnError {
                guard let run = try store.run(id: runID) else { throw StoreError.unknownRun(path: store.path, id: runID) }
                return RestorePlan(host: host, run: run, snapshots: try store.snapshots(host: host, runID: runID, account: account),
                                   revoked: dryRun ? revoked.union(try store.retiredFingerprints()) : [])
            }
            guard !plan.snapshots.isEmpty else {
                printError("error: run \(runID) wrote no file on \(host)\(account.map { " for account \($0)" } ?? "") (no snapshot); `keysync history --host \(host)` lists the runs that did")
                throw ExitCode(1)
            }
            return plan.text(content: dryRun)
        }
    }
}
