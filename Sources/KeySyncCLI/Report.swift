import ArgumentParser
import Foundation
import KeySync

extension ReportFormat: ExpressibleByArgument {}

extension KeySyncCommand {
    /// `keysync report`: open drift and drift over time, from the database only (no SSH).
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Report open drift and drift over time from the database (no SSH).",
            discussion: "Exit 0 even when drift is open (a report is not a check); 1 on bad usage or a missing database or inventory. With --expiring, the grants that end soon, from the inventory. With --unused, the grants with no login seen in the window (from the logins push and check read in sshd's log), each with since when its hosts are watched."
        )

        @Option(name: .customLong("db"), help: "SQLite database (default: $KEYSYNC_DB, then ./keysync.db); repeat it to report over several at once, e.g. one per --shard or controller.")
        var databases: [String] = []
        @OptionGroup var inventoryOption: InventoryOption

        @Option(help: "History window: an age (30m, 12h, 7d, 2w) or an ISO 8601 date. Open drift is always shown, however old.")
        var since = "7d"

        @Option(help: "Output format.")
        var format: ReportFormat = .table

        @Option(help: "Write to this file atomically (temp file + rename) instead of stdout.")
        var output: String?

        @Option(help: "Only the hosts and role accounts of this project (repeatable; needs the inventory).")
        var project: [String] = []

        @Option(help: "Only this host (repeatable).")
        var host: [String] = []

        @Option(help: "Only this drift kind, e.g. file_mode or revoked_key (repeatable).")
        var kind: [String] = []

        @Option(help: "Instead of drift: the inventory's grants (until:) that end within this age (14d) or by this date, and those already ended. Needs the inventory, not the database.")
        var expiring: String?

        @Option(help: "Instead of drift: the inventory's grants with no login seen in this window (90d, or an ISO 8601 date), with since when each host is watched; 0d: none since the latest scan of each host. Needs the inventory and the database.")
        var unused: String?

        func validate() throws {
            guard let sinceSpec = TimeSpec(since) else { throw ValidationError("--since: expected \(TimeSpec.expected), got \"\(since)\"") }
            guard !sinceSpec.isFuture() else { throw ValidationError("--since \(since) is in the future") }
            let unknown = kind.filter { DriftKind(rawValue: $0) == nil }
            guard unknown.isEmpty else {
                throw ValidationError("unknown drift kind \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")); valid kinds: "
                                      + DriftKind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            if output?.isEmpty == true { throw ValidationError("--output needs a file name") }
            if let expiring {
                guard TimeSpec(expiring) != nil else { throw ValidationError("--expiring: expected \(TimeSpec.expected), got \"\(expiring)\"") }
                guard kind.isEmpty else { throw ValidationError("--kind selects drift; it does not apply to --expiring") }
            }
            if let unused {
                guard let unusedSpec = TimeSpec(unused, allowingZero: true) else { throw ValidationError("--unused: expected \(TimeSpec.expected), got \"\(unused)\"") }
                guard !unusedSpec.isFuture() else { throw ValidationError("--unused \(unused) is in the future") }
                guard kind.isEmpty else { throw ValidationError("--kind selects drift; it does not apply to --unused") }
                guard expiring == nil else { throw ValidationError("--unused and --expiring are two reports; ask for one") }
                // Merged databases carry runs and drift, not the login history.
                guard databases.count <= 1 else { throw ValidationError("--unused reads the logins of one database; give one --db") }
            }
        }

        func run() throws {
            let colour = output == nil && format == .table && isatty(STDOUT_FILENO) != 0
                && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            try emit(render(colour: colour), to: output, mode: format.fileMode)
        }

        /// The one database, or every `--db` merged into one (SQLite ATTACH).
        func openStore() throws -> Store {
            guard databases.count > 1 else {
                var single = DatabaseOption()
                single.db = databases.first
                return try single.openStoreForReading()
            }
            // One file named twice (a.db and ./a.db) would be counted twice, and SQLite says only "database is locked".
            var seen: [String: String] = [:]
            for path in databases {
                var info = stat()
                guard stat(path, &info) == 0 else { continue }
                let id = "\(info.st_dev):\(info.st_ino)"
                if let first = seen[id] {
                    printError("error: --db \(first) and --db \(path) are the same file; name each database once")
                    throw ExitCode(1)
                }
                seen[id] = path
            }
            for path in databases where !FileManager.default.fileExists(atPath: path) {
                printError("error: no keysync database at \(path)")
                throw ExitCode(1)
            }
            for path in databases { try DatabaseOption.refuseEmptyFile(path) }
            return try exitOnError { try Store.merged(paths: databases) }
        }

        /// A `--host` no run ever recorded is a typo, not a healthy host (a
        /// Prometheus job scoped to it would say `keysync_hosts_failed 0` for ever).
        static func requireRecorded(hosts: [String], in store: Store) throws {
            guard !hosts.isEmpty else { return }
            let recorded = try store.recordedHosts()
            let known = Set(recorded)
            let unknown = hosts.filter { !known.contains($0) }
            guard unknown.isEmpty else {
                let seen = recorded.prefix(10).joined(separator: ", ") + (recorded.count > 10 ? ", …" : "")
                throw ValidationError("no run recorded host \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")) in the database"
                                      + (recorded.isEmpty ? "" : "; hosts recorded: \(seen)"))
            }
        }

        /// The report in the chosen format; errors are printed and exit 1.
        func render(colour: Bool = false, now: Date = Date()) throws -> String {
            if let expiring {
                let inventory = try inventoryOption.loadInventory()
                let report = try exitOnError {
                    try ExpiringGrantsReport(inventory: inventory, within: TimeSpec(expiring)!, projects: project, hosts: host, now: now)
                }
                return format.render(report, colour: colour)
            }
            if let unused {
                let inventory = try inventoryOption.loadInventory()
                let store = try openStore()
                let report = try exitOnError {
                    try UnusedGrantsReport(inventory: inventory, history: try store.loginHistory(), within: TimeSpec(unused, allowingZero: true)!,
                                           projects: project, hosts: host, now: now)
                }
                return format.render(report, colour: colour)
            }
            var filter = Store.DriftFilter.selecting(hosts: host, kinds: kind)
            if !project.isEmpty {
                let path = inventoryOption.resolvedInventoryPath
                guard FileManager.default.fileExists(atPath: path) else {
                    printError("error: --project needs the inventory to know the project's hosts and accounts, and \(path) does not exist (use --inventory or KEYSYNC_INVENTORY)")
                    throw ExitCode(1)
                }
                try exitOnError { try filter.restrict(toProjects: project, in: try inventoryOption.loadInventory()) }
            }
            let store = try openStore()
            try exitOnError { try Self.requireRecorded(hosts: host, in: store) }
            let report = try exitOnError {
                try DriftReport(store: store, since: TimeSpec(since)!.date(relativeTo: now), filter: filter, generatedAt: now)
            }
            return format.render(report, colour: colour)
        }
    }
}
