import ArgumentParser
import Foundation
import KeySync

extension KeySyncCommand {
    /// `keysync doctor`: why a role login fails, with the evidence and the fix.
    struct Doctor: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "doctor",
            abstract: "Explain why a role login would fail, with the evidence and the fix.",
            discussion: """
                Without --fix, read-only: one probe per host, nothing written on hosts or in the database. \
                --fix applies the safe fixes (owners and modes of home, .ssh and authorized_keys; unlocking \
                accounts the inventory creates) through push's write path, records a doctor-fix run, and \
                examines again. Exit 0 when no finding (left) is an error, 2 when one is, 3 if any host \
                failed (3 wins).
                """
        )

        @OptionGroup var inventoryOption: InventoryOption
        @OptionGroup var databaseOption: DatabaseOption
        @OptionGroup var selection: SelectionOptions

        @Option(name: .long, help: ArgumentHelp("Only this account (Unix name).", valueName: "name"))
        var account: String?

        @Option(name: .long, help: ArgumentHelp("Only accounts granted this inventory key, and only its per-key findings.", valueName: "name"))
        var key: String?

        @Option(name: .customLong("sshd-log"), help: ArgumentHelp("A log file on the hosts to search for sshd lines (repeatable), besides auth.log, secure, sshd's own log file and the journal.", valueName: "path"))
        var sshdLog: [String] = []

        @Option(name: .customLong("log-lines"), help: ArgumentHelp("sshd log lines quoted per account.", valueName: "n"))
        var logLines = 10

        @Option(name: .customLong("try-login"), help: ArgumentHelp("Also log in as each account with this private key (before probing) and quote the server's answer; given an OpenSSH user certificate (*-cert.pub), explain whether sshd would take it.", valueName: "private-key|certificate"))
        var tryLogin: String?

        @OptionGroup var parallelOption: ParallelOption

        @Flag(name: .long, help: "Apply the safe fixes (owners, modes, unlock of accounts the inventory creates), record them, and examine again.")
        var fix = false

        @OptionGroup var output: OutputOptions

        @Flag(name: .long, help: "Text output: also show info findings (the sshd log lines, logins that worked).")
        var verbose = false

        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if logLines < 0 || logLines > 1000 { throw ValidationError("--log-lines must be between 0 and 1000") }
            if let tryLogin, !FileManager.default.isReadableFile(atPath: (tryLogin as NSString).expandingTildeInPath) {
                throw ValidationError("--try-login \(tryLogin): no such file, or not readable")
            }
        }

        func run() throws {
            let inventory = try inventoryOption.loadInventory()
            if let key, inventory.key(named: key) == nil {
                printError("error: unknown key \"\(key)\" (not under keys: in \(inventoryOption.resolvedInventoryPath))")
                throw ExitCode(1)
            }
            let targets = DoctorRun.narrow(try selection.targets(in: inventory), account: account, key: key)
            if targets.isEmpty && (account != nil || key != nil) {
                let what = [account.map { "account \"\($0)\"" }, key.map { "key \"\($0)\"" }].compactMap { $0 }.joined(separator: " with ")
                printError("error: no selected host has \(what)")
                throw ExitCode(1)
            }
            // Keys under rotation: expect what push would write. Without --fix
            // read only, and only an existing database; --fix records its run (creating the database, as push does).
            let database = databaseOption.resolvedDatabasePath
            guard fix else {
                var rotations: RotationOverlay?
                if FileManager.default.fileExists(atPath: database) {
                    try DatabaseOption.refuseEmptyFile(database)
                    rotations = try exitOnError { try RotationOverlay.load(from: try Store(path: database), inventory: inventory) }
                }
                return try examine(inventory, targets: targets, rotations: rotations, store: nil)
            }
            // A database --fix creates is removed again when it fails before recording anything (withStore).
            try databaseOption.withStore { store in
                let rotations = try exitOnError { try RotationOverlay.load(from: store, inventory: inventory) }
                try examine(inventory, targets: targets, rotations: rotations, store: store)
            }
        }

        private func examine(_ inventory: KeySync.Inventory, targets: [HostTarget], rotations: RotationOverlay?, store: Store?) throws {
            let selectionText = (selection.arguments + [account.map { "--account \($0)" }, key.map { "--key \($0)" }].compactMap { $0 })
                .joined(separator: " ")
            let run = DoctorRun(inventory: inventory, targets: targets, options: DoctorRun.Options(
                parallel: parallelOption.width(for: inventory), key: key,
                diagnostics: ProbeScript.Diagnostics(logPaths: sshdLog, logLines: logLines), tryLogin: tryLogin,
                rotations: rotations, fix: fix, selectionText: selectionText, logger: logging.logger))
            let report = try exitOnError {
                try ProgressLine.interruptible(showing: !output.json && logging.quiet) { cancellation, progress in
                    try run.execute(store: store, cancellation: cancellation, passphrase: Passphrase.prompt) { done, host in
                        progress.update(done: done.done, total: done.total, failed: host.status == .failed)
                    }
                }
            }
            try output.print(report, text: report.text(verbose: verbose))
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }
}
