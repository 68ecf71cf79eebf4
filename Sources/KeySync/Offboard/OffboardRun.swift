import Foundation

/// Why `offboard` refused to start: bad input (exit 1), nothing contacted,
/// no run recorded.
public enum OffboardError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No such person under `people:`; `hint` is `; did you mean "x"?` or empty.
    case unknownPerson(String, hint: String)
    /// The person has no `left:`: offboarding someone who has not left, by a
    /// typo in the name, must not be one command away. Says which line to add, where.
    case notLeft(Diagnostic)
    /// The person has no keys in the inventory: there is nothing to look for,
    /// and an offboard that looked for nothing must not report "none remains".
    case noKeys(person: String)

    public var description: String {
        switch self {
        case let .unknownPerson(name, hint):
            return "error: no person \"\(name)\" under people: in the inventory\(hint); nothing was contacted"
        case let .notLeft(diagnostic):
            return diagnostic.description
        case let .noKeys(person):
            return "error: person \"\(person)\" has no keys in the inventory, so there is nothing to look for; nothing was contacted"
        }
    }
}

/// `keysync offboard PERSON`: removes every key of a person who left from
/// every account on every host of the inventory — managed or not, root and
/// the login user included — verifies by reading again, and records the run
/// (command `offboard`, selection the person's name) as the audit record.
///
/// Each host: one connection, a scan of every passwd account's keys files
/// (``ProbeScript/renderScan(nonce:)``), pure planning (``OffboardPlanner``),
/// a snapshot of each file before it is written, push's apply script
/// (compare-and-swap, written as the account), and a second scan. Only the
/// person's key lines go; every other byte stays.
public struct OffboardRun: Sendable {
    public let inventory: Inventory
    public let person: InventoryPerson
    /// The person's keys: fingerprint → key name.
    public let keys: [String: String]
    /// `dryRun`, `parallel`, and `plan.force` for the lockout guard; set
    /// `logger` to log each host's phases.
    public var settings: SyncEngine.Settings

    /// Checks that `name` is a person who has left and has keys.
    ///
    /// - Parameter now: for the date the "add `left:`" message suggests.
    public init(inventory: Inventory, person name: String, dryRun: Bool = false, force: Bool = false,
                parallel: Int? = nil, now: Date = Date()) throws(OffboardError) {
        guard let person = inventory.person(named: name) else {
            throw .unknownPerson(name, hint: inventory.personHint(for: name))
        }
        guard person.left != nil else {
            throw .notLeft(Diagnostic(file: inventory.path, line: person.line, column: person.column,
                message: "person \"\(name)\" has not left: add `left: \(InventoryDate.day(now))` to their entry on line \(person.line), then run offboard again (nothing was contacted)"))
        }
        var keys: [String: String] = [:]
        for keyName in person.keys {
            guard let key = inventory.key(named: keyName), keys[key.fingerprint] == nil else { continue }
            keys[key.fingerprint] = keyName
        }
        guard !keys.isEmpty else { throw .noKeys(person: name) }
        self.inventory = inventory
        self.person = person
        self.keys = keys
        settings = SyncEngine.Settings(mode: .push, dryRun: dryRun, parallel: parallel ?? inventory.parallel,
                                       plan: PlanOptions(revoked: Set(keys.keys), force: force))
    }

    /// Every host of the inventory, in file order, whatever project it is in (or none).
    public var jobs: [HostJob] { inventory.hosts.map { SyncRun.job(for: $0, accounts: []) } }

    /// The command recorded in `runs`.
    public var command: String { settings.dryRun ? "offboard-dry-run" : "offboard" }

    /// Runs on every host and records the run. Throws ``SyncError`` before
    /// contacting any host or recording anything when an identity cannot be
    /// loaded or a known_hosts file is missing; store errors after the run.
    public func execute(store: Store?, cancellation: Cancellation = Cancellation(),
                        passphrase: @escaping (String) -> String? = { _ in nil },
                        progress: (@Sendable (ParallelRunner.Progress, OffboardHostResult) -> Void)? = nil) throws -> OffboardReport {
        let started = Date()
        let jobs = self.jobs
        // The person's keys as they were before a rotation replaced them: a
        // copy of an old key pasted by hand must go too.
        var searched = self.keys, settings = self.settings
        for retired in try store?.retiredKeys() ?? [] where person.keys.contains(retired.keyName) && searched[retired.fingerprint] == nil {
            searched[retired.fingerprint] = retired.keyName + " (retired)"
            settings.plan.revoked.insert(retired.fingerprint)
        }
        let keys = searched
        let keyTypes = Dictionary(inventory.keys.map { ($0.fingerprint, $0.publicKey.type) }, uniquingKeysWith: { first, _ in first })
        let engine = SyncEngine(jobs: jobs, settings: settings, cancellation: cancellation, passphrase: passphrase)
        if let problem = engine.inputProblem(jobs) { throw problem }
        _ = try? store?.interruptAbandonedRuns()
        let runID = try store?.beginRun(command: command, selection: person.name, inventoryHash: inventory.inventoryHash,
                                        startedAt: started)
        let firstError = FirstError()
        let results = ParallelRunner(width: settings.parallel).run(jobs, onResult: { _, outcome, done in
            // A host never started (interrupted) is not recorded: its last result stands.
            if let store, let runID, outcome.result.errorKind != .interrupted {
                do { try store.recordHostResult(Self.record(outcome, keyTypes: keyTypes), runID: runID) } catch { firstError.keep(error) }
            }
            progress?(done, outcome)
        }) { job in
            engine.offboard(job, keys: keys) { host, snapshots in
                guard let store, let runID else { return }
                for snapshot in snapshots {
                    try store.recordSnapshot(host: host, account: snapshot.account, path: snapshot.path,
                                             content: snapshot.content, runID: runID)
                }
            }
        }
        var report = OffboardReport(run: runID, person: person, keys: keys.map { fingerprint, name in
            OffboardReport.Key(name: name, type: inventory.key(named: name)?.publicKey.type ?? "", fingerprint: fingerprint)
        }.sorted { ($0.name, $0.fingerprint) < ($1.name, $1.fingerprint) }, dryRun: settings.dryRun, results: results,
            seconds: Date().timeIntervalSince(started), interrupted: cancellation.isCancelled)
        report.notScanned = try store?.managedHosts().filter { $0.retired == nil && inventory.host(named: $0.host) == nil }
            .map(\.host).sorted() ?? []
        if let store, let runID {
            try firstError.rethrow()
            let s = report.summary
            try store.finishRun(id: runID, status: report.interrupted ? .interrupted : .completed,
                                counts: Store.RunCounts(hosts: s.hosts, changed: report.hosts.filter { $0.status == .changed }.count,
                                                        drift: report.hosts.filter { $0.status == .drift }.count, failed: s.failed))
        }
        return report
    }

    /// The store's record of a host: not a scan (it looked for one person's
    /// keys, so it neither opens nor closes other drift); each key line found
    /// is a `revoked_key` item, `fixed` when it was removed and verified gone,
    /// and a sighting (`keysync where`; a login with it before the removal is
    /// then not `revoked_key_used`).
    static func record(_ outcome: OffboardHostResult, keyTypes: [String: String] = [:]) -> Store.HostRecord {
        var record = Store.HostRecord(outcome.result, scanned: false, repaired: true,
                                      changes: outcome.found.filter(\.removed).map { Store.ChangeRecord(account: $0.finding.account, detail: $0.finding.removal) })
        record.seenKeys += outcome.found.map {
            Store.SeenKey(account: $0.finding.account, fingerprint: $0.finding.fingerprint, keyType: keyTypes[$0.finding.fingerprint] ?? "",
                          comment: $0.finding.key, managed: $0.finding.block != nil)
        }
        return record
    }
}
