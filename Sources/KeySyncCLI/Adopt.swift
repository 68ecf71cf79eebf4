import ArgumentParser
import Foundation
import KeySync

extension KeySyncCommand {
    /// `keysync adopt`: draft an inventory from what a hand-kept fleet already has.
    struct Adopt: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "adopt",
            abstract: "Read the keys a hand-kept fleet already has and write an inventory draft that grants exactly those.",
            discussion: """
                Connects to every host (--hosts FILE: one `NAME ADDRESS[:PORT]` a line; or --inventory-hosts: \
                `defaults:` and `hosts:` of --inventory, which needs no keys or projects yet), with strict host \
                keys as push has them, and reads every account's authorized_keys (or only --account) with the \
                same read-only scan as offboard. Nothing is written on any host and nothing in the database. \
                The draft names one key per distinct key, a role with `adopt: true` per account (uid, gid, \
                shell and home as found) and one project per set of hosts that share the same roles; lines \
                not adopted (unparseable, duplicates, weak or revoked-looking keys) are listed at its top with \
                host, file and line. `keysync push --dry-run` on the draft adds and removes no key. \
                See docs/adopting.md. Exit 0 done, 1 bad input (nothing contacted), 3 a host could not be \
                read (the draft is still written and lists it), 130 interrupted (nothing written).
                """
        )

        @Option(name: .long, help: ArgumentHelp("Hosts to read: one `NAME ADDRESS[:PORT]` a line.", valueName: "file"))
        var hosts: String?

        @Flag(name: .long, help: "Read the hosts of --inventory (its `defaults:` and `hosts:`).")
        var inventoryHosts = false

        @OptionGroup var inventoryOption: InventoryOption

        @Option(name: .long, help: ArgumentHelp("Only this account (repeatable; default: every account with a keys file).",
                                                valueName: "account"))
        var account: [String] = []

        @Option(name: .long, help: ArgumentHelp("Write the draft to this new file (default: stdout); an existing file is never overwritten.",
                                                valueName: "file"))
        var output: String?

        @Option(name: .long, help: "With --hosts: login user (default: your user name).")
        var user: String?

        @Option(name: .long, help: ArgumentHelp("With --hosts: private key (default: ~/.ssh/id_ed25519).", valueName: "file"))
        var identity: String?

        @Option(name: .long, help: ArgumentHelp("With --hosts: known_hosts file (default: ~/.ssh/known_hosts).", valueName: "file"))
        var knownHosts: String?

        @Option(name: .long, help: ArgumentHelp("With --hosts: sudo, or none when the login user is root (default: sudo).",
                                                valueName: "sudo|none"))
        var become: String?

        @Flag(name: .customLong("accept-new-host-keys"),
              help: "Trust and record the key of a host not yet in known_hosts (a changed key is still refused).")
        var acceptNewHostKeys = false

        @OptionGroup var parallelOption: ParallelOption

        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if (hosts != nil) == inventoryHosts {
                throw ValidationError("give either --hosts FILE or --inventory-hosts")
            }
            if inventoryHosts {
                let given = [("--user", user), ("--identity", identity), ("--known-hosts", knownHosts), ("--become", become)]
                    .filter { $0.1 != nil }.map(\.0)
                if !given.isEmpty {
                    throw ValidationError("\(given.joined(separator: ", ")) go with --hosts; with --inventory-hosts the inventory's defaults and hosts say how to connect")
                }
            } else if inventoryOption.inventory != nil {
                throw ValidationError("--inventory goes with --inventory-hosts; --hosts FILE needs no inventory")
            }
            if let become, Become(rawValue: become) == nil {
                throw ValidationError("--become must be sudo or none")
            }
            for name in account {
                if let problem = AdoptRun.accountProblem(name) { throw ValidationError(problem) }
            }
            for (flag, value) in [("--user", user), ("--identity", identity), ("--known-hosts", knownHosts), ("--output", output)] {
                if let value, value.isEmpty { throw ValidationError("\(flag) must not be empty") }
            }
            if let output, FileManager.default.fileExists(atPath: output) {
                throw ValidationError("\(output) exists; adopt writes a new file and never overwrites one (remove it or name another)")
            }
        }

        func run() throws {
            var adopt: AdoptRun
            if let hosts {
                let entries: [AdoptHostList.Entry]
                do {
                    entries = try AdoptHostList.load(path: hosts)
                } catch {
                    printBadInput(error.description, error.diagnostics)
                    throw ExitCode(1)
                }
                let home = FileManager.default.homeDirectoryForCurrentUser.path
                let here = FileManager.default.currentDirectoryPath
                // Absolute in the draft: an inventory resolves relative paths
                // against its own folder, which --output may put elsewhere.
                func expand(_ path: String) -> String {
                    let expanded = path == "~" || path.hasPrefix("~/") ? home + path.dropFirst() : path
                    return expanded.hasPrefix("/") ? expanded : (here as NSString).appendingPathComponent(expanded)
                }
                adopt = AdoptRun(
                    hosts: AdoptRun.hosts(entries, user: user ?? NSUserName(),
                                          credential: .identity(path: expand(identity ?? "~/.ssh/id_ed25519")),
                                          knownHosts: expand(knownHosts ?? "~/.ssh/known_hosts"),
                                          become: become.flatMap(Become.init(rawValue:)) ?? .sudo),
                    accounts: account, acceptNewHostKeys: acceptNewHostKeys, parallel: parallelOption.parallel ?? 64)
            } else {
                let inventory = try inventoryOption.loadInventory()
                if inventory.hosts.isEmpty {
                    printError("error: \(inventory.path) names no host under hosts:; nothing was contacted")
                    throw ExitCode(1)
                }
                adopt = AdoptRun(hosts: inventory.hosts, accounts: account, acceptNewHostKeys: acceptNewHostKeys,
                                 parallel: parallelOption.width(for: inventory), revoked: inventory.revokedFingerprints,
                                 draftParallel: inventory.parallel)
            }
            adopt.logger = logging.logger
            let report = try ProgressLine.interruptible(showing: logging.quiet) { cancellation, progress in
                try adopt.execute(cancellation: cancellation, passphrase: Passphrase.prompt) { done, result in
                    progress.update(done: done.done, total: done.total, failed: result.status == .failed)
                }
            }
            for accepted in report.acceptedHostKeys {
                printError("\(accepted.host): accepted new host key \(accepted.keyType) \(accepted.fingerprint), recorded in \(accepted.knownHosts)")
            }
            for failure in report.draft.failures { printError("\(failure.host): failed: \(failure.error)") }
            if report.interrupted {
                printError("interrupted; no draft written")
                throw ExitCode(130)
            }
            let text = report.draft.text()
            if let output {
                // A file that appeared since validate() is still not overwritten (linked into place, not renamed).
                try exitOnError { try AtomicFile.write(Array(text.utf8), to: output, mode: 0o600, replacing: false) }
            } else {
                print(text, terminator: "")
            }
            let draft = report.draft
            printError("adopt: \(draft.hostsRead) of \(draft.hosts.count) hosts read, \(draft.keys.count) keys, "
                + "\(draft.projects.count) project\(draft.projects.count == 1 ? "" : "s"), \(draft.notes.count) notes (lines not adopted, listed at the top of the draft)"
                + (output.map { "; wrote \($0)" } ?? ""))
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }
}
