import ArgumentParser
import Foundation
import KeySync
import Synchronization

/// Options shared by `push` and `check`.
struct SyncOptions: ParsableArguments {
    @OptionGroup var inventoryOption: InventoryOption
    @OptionGroup var databaseOption: DatabaseOption
    @OptionGroup var selection: SelectionOptions

    @OptionGroup var parallelOption: ParallelOption
    @OptionGroup var output: OutputOptions

    @Flag(name: .customLong("accept-new-host-keys"),
          help: "Trust and record the key of a host not yet in known_hosts (a changed key is still refused).")
    var acceptNewHostKeys = false

    @Flag(name: .customLong("no-last-use"),
          help: "Do not read sshd's log on the hosts for the last use of keys (see keysync where, report --unused, review).")
    var noLastUse = false
    @Option(help: "Only this share of the selected hosts, K of N (e.g. 2/3): a stable hash of the host name, so every host is in exactly one shard. For several controllers; `report --db A --db B` merges their databases.")
    var shard: String?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let shard, Shard(shard) == nil { throw ValidationError("--shard: expected K/N with 1 ≤ K ≤ N ≤ 10000, got \"\(shard)\"") }
    }
}

/// Runs push or check and prints the result; shared by both commands.
enum SyncCommandRunner {
    static func run(_ options: SyncOptions, mode: SyncEngine.Mode, dryRun: Bool = false,
                    force: Bool = false, fixHome: Bool = false, canary: Int = 0) throws {
        let inventory = try options.inventoryOption.loadInventory()
        // Hosts in no selected project stay in: the database may know blocks there that are stale now.
        let targets = try options.selection.targets(in: inventory, includingHostsWithoutBlocks: true)
        try options.databaseOption.withStore { store in
            try run(options, mode: mode, dryRun: dryRun, force: force, fixHome: fixHome, canary: canary,
                    inventory: inventory, targets: targets, store: store)
        }
    }

    private static func run(_ options: SyncOptions, mode: SyncEngine.Mode, dryRun: Bool, force: Bool, fixHome: Bool, canary: Int,
                            inventory: Inventory, targets: [HostTarget], store: Store) throws {
        let settings = SyncEngine.Settings(
            mode: mode, dryRun: dryRun, parallel: options.parallelOption.width(for: inventory),
            plan: PlanOptions(force: force, fixHome: fixHome), logger: options.logging.logger)
        var run = SyncRun(inventory: inventory, targets: targets, settings: settings,
                          acceptNewHostKeys: options.acceptNewHostKeys,
                          selectionText: options.selection.arguments.joined(separator: " "))
        run.departedHosts = options.selection.departedListing
        run.readsFormerAccounts = true
        run.readsLogins = !options.noLastUse
        run.shard = options.shard.flatMap(Shard.init)
        run.canary = canary
        if let shard = run.shard { run.selectionText += (run.selectionText.isEmpty ? "" : " ") + "--shard \(shard)" }
        let report = try ProgressLine.interruptible(showing: !options.output.json && options.logging.quiet) { cancellation, progress in
            try run.execute(store: store, cancellation: cancellation, passphrase: Passphrase.prompt) { done, result in
                progress.update(done: done.done, total: done.total, failed: result.status == .failed)
            }
        }
        try options.output.print(report, text: report.text(mode: mode, dryRun: dryRun))
        let code = report.exitCode(for: mode, dryRun: dryRun)
        if code != 0 { throw ExitCode(code) }
    }
}

/// `hosts done/total, failures, rate` on stderr, redrawn in place on a terminal.
final class ProgressLine: Sendable {
    private let enabled: Bool
    private let started = Date()
    private let failed = Mutex(0)

    init(enabled: Bool) { self.enabled = enabled }

    func update(done: Int, total: Int, failed isFailure: Bool) {
        guard enabled else { return }
        self.failed.withLock { failed in
            if isFailure { failed += 1 }
            let rate = Double(done) / max(Date().timeIntervalSince(started), 0.001)
            FileHandle.standardError.write(Data("\r\u{1B}[K\(done)/\(total) hosts, \(failed) failed, \(String(format: "%.0f", rate))/s".utf8))
        }
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    /// Runs a fleet operation with Ctrl-C (and SIGTERM) cancelling it and, on
    /// a terminal, a progress line; an error is printed and exits 1.
    static func interruptible<Report>(showing: Bool, _ body: (Cancellation, ProgressLine) throws -> Report) throws -> Report {
        let cancellation = Cancellation()
        let interrupt = InterruptHandler { cancellation.cancel() }
        defer { interrupt.restore() }
        let progress = ProgressLine(enabled: isatty(STDERR_FILENO) != 0 && showing)
        // The progress line goes before anything else is printed.
        return try exitOnError {
            defer { progress.finish() }
            return try body(cancellation, progress)
        }
    }
}
