import ArgumentParser
import KeySync

extension KeySyncCommand {
    /// `keysync restore`: put back the content a run wrote over, from its snapshots.
    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore",
            abstract: "Restore files on a host to their content before a run wrote them (only --dry-run works yet).",
            discussion: "--dry-run prints the files and the content they would get back. Writing is not implemented yet: without --dry-run the command lists the files and exits 1."
        )

        @OptionGroup var databaseOption: DatabaseOption

        @Option(help: "The host to restore.")
        var host: String

        @Option(name: .customLong("run"), help: "The run whose writes to undo (see `keysync history --host H`).")
        var runID: Int64

        @Option(help: "Only this account's file.")
        var account: String?

        @Flag(name: .long, help: "Print what would be restored and write nothing.")
        var dryRun = false

        func run() throws {
            print(try render(), terminator: "")
            guard dryRun else {
                // TODO(lead): write the snapshots back over SSH with push's safety rules: connect like
                // SyncRun (host-key policy, become), refuse symlinks (lstat home, .ssh, file), compare-and-swap
                // against the file's current hash (the run's hash_after, or re-probe and confirm), keep a
                // snapshot of the current content first, write via temp file + fsync + rename as the account
                // with 0600 / .ssh 0700, remove the file where the snapshot says it did not exist, and
                // record a `restore` run (HostRecord scanned: false).
                printError("error: restore writing is not implemented yet; nothing was written (use --dry-run to see the content)")
                throw ExitCode(1)
            }
        }

        /// The files run `--run` wrote on `--host` and (with `--dry-run`) their earlier content;
        /// errors are printed and exit 1.
        func render() throws -> String {
            let store = try databaseOption.openStore()
            let plan = try exitOnError {
                guard let run = try store.run(id: runID) else { throw StoreError.unknownRun(path: store.path, id: runID) }
                return RestorePlan(host: host, run: run, snapshots: try store.snapshots(host: host, runID: runID, account: account))
            }
            guard !plan.snapshots.isEmpty else {
                printError("error: run \(runID) wrote no file on \(host)\(account.map { " for account \($0)" } ?? "") (no snapshot); `keysync history --host \(host)` lists the runs that did")
                throw ExitCode(1)
            }
            return plan.text(content: dryRun)
        }
    }
}
