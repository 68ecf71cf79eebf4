import ArgumentParser
import Foundation
import KeySync

/// Options shared by `push` and `check`.
struct SyncOptions: ParsableArguments {
    @OptionGroup var inventoryOption: InventoryOption
    @OptionGroup var databaseOption: DatabaseOption
    @OptionGroup var selection: SelectionOptions

    @Option(name: .long, help: "Hosts in flight at once (default: inventory `parallel`, else 64).")
    var parallel: Int?

    @Flag(name: .long, help: "Print one JSON document instead of text.")
    var json = false

    @Flag(name: .customLong("accept-new-host-keys"),
          help: "Trust and record the key of a host not yet in known_hosts (a changed key is still refused).")
    var acceptNewHostKeys = false

    func validate() throws {
        if let parallel, parallel < 1 || parallel > 1024 {
            throw ValidationError("--parallel must be between 1 and 1024")
        }
    }
}

/// Runs push or check and prints the result; shared by both commands.
enum SyncCommandRunner {
    static func run(_ options: SyncOptions, mode: SyncEngine.Mode, dryRun: Bool = false,
                    force: Bool = false, fixHome: Bool = false) throws {
        let inventory = try options.inventoryOption.loadInventory()
        // Hosts in no selected project stay in: the database may know blocks there that are stale now.
        let targets = try options.selection.targets(in: inventory, includingHostsWithoutBlocks: true)
        let store: Store
        do {
            store = try Store(path: options.databaseOption.resolvedDatabasePath)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        let settings = SyncEngine.Settings(
            mode: mode, dryRun: dryRun, parallel: options.parallel ?? inventory.parallel,
            plan: PlanOptions(force: force, fixHome: fixHome))
        let selection = (options.selection.project.map { "--project \($0)" } + options.selection.host.map { "--host \($0)" }
            + options.selection.group.map { "--group \($0)" }).joined(separator: " ")
        var run = SyncRun(inventory: inventory, targets: targets, settings: settings,
                          acceptNewHostKeys: options.acceptNewHostKeys, selectionText: selection)
        run.departedHosts = options.selection.departedListing
        run.readsFormerAccounts = true
        let report = try ProgressLine.interruptible(showing: !options.json) { cancellation, progress in
            try run.execute(store: store, cancellation: cancellation, passphrase: Passphrase.prompt) { done, result in
                progress.update(done: done.done, total: done.total, failed: result.status == .failed)
            }
        }
        if options.json {
            print(try JSONOutput.string(report))
        } else {
            print(report.text(mode: mode, dryRun: dryRun), terminator: "")
        }
        let code = report.exitCode(for: mode, dryRun: dryRun)
        if code != 0 { throw ExitCode(code) }
    }
}

/// JSON with stable key order; control characters from hosts only as `\u` escapes.
enum JSONOutput {
    static func string<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self).jsonControlsEscaped
    }
}

/// Asks for a key passphrase on the terminal, once per key.
enum Passphrase {
    static func prompt(_ label: String) -> String? {
        guard isatty(STDIN_FILENO) != 0, let raw = getpass("Passphrase for \(label): ") else { return nil }
        return String(cString: raw)
    }
}

/// `hosts done/total, failures, rate` on stderr, redrawn in place on a terminal.
final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private let started = Date()
    private let lock = NSLock()
    private var failed = 0

    init(enabled: Bool) { self.enabled = enabled }

    func update(done: Int, total: Int, failed isFailure: Bool) {
        guard enabled else { return }
        lock.withLock {
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

/// SIGINT/SIGTERM: stop starting hosts; in-flight hosts finish their step.
final class InterruptHandler {
    private var sources: [DispatchSourceSignal] = []

    init(_ handler: @escaping @Sendable () -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            sources.append(source)
        }
    }

    func restore() {
        sources.forEach { $0.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
