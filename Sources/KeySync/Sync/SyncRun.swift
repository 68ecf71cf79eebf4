import Foundation
import Synchronization

/// The JSON document of `push`/`check --json` (DESIGN.md): run id, one
/// entry per host, and a summary.
public struct RunReport: Codable, Sendable {
    public struct Host: Codable, Sendable {
        public var host: String
        public var status: HostStatus
        /// Why the host failed, for people; `null` when it did not (DESIGN.md lists the field for every host).
        @NullWhenNil public var error: String?
        /// Why the host failed, for machines (``HostFailureKind``: `jump_failed`,
        /// `host_key_mismatch`…; the drift list folds several into `host_unreachable`); `null` when it did not.
        @NullWhenNil public var errorKind: HostFailureKind?
        public var changes: [String]
        public var drift: [DriftItem]
        /// Unified diffs of the files (`push --dry-run` only).
        public var diff: String?
        /// Bytes of sshd's log the probe read for the last use of keys (absent: no scan).
        public var logBytesRead: Int?

        enum CodingKeys: String, CodingKey {
            case host, status, error, errorKind = "error_kind", changes, drift, diff, logBytesRead = "log_bytes_read"
        }

        public init(host: String, status: HostStatus, error: String? = nil, errorKind: HostFailureKind? = nil, changes: [String],
                    drift: [DriftItem], diff: String? = nil, logBytesRead: Int? = nil) {
            (self.host, self.status, self.error, self.errorKind) = (host, status, error, errorKind)
            (self.changes, self.drift, self.diff, self.logBytesRead) = (changes, drift, diff, logBytesRead)
        }
    }

    public struct Summary: Codable, Sendable {
        public var hosts: Int
        public var changed: Int
        public var drift: Int
        public var failed: Int
        public var seconds: Double
    }

    /// The run's id in the database; `null` without one.
    @NullWhenNil public var run: Int64?
    public var hosts: [Host]
    public var summary: Summary
    /// Set when the run stopped early (SIGINT).
    public var interrupted: Bool
    /// Host keys `--accept-new-host-keys` appended to known_hosts in this run,
    /// in host order (always present; empty without the flag).
    public var acceptedHostKeys: [AcceptedHostKey] = []

    enum CodingKeys: String, CodingKey {
        case run, hosts, summary, interrupted, acceptedHostKeys = "accepted_host_keys"
    }

    /// Exit code per DESIGN.md: 3 if any host failed, else 2 for drift
    /// (check only: a push that is done exits 0, its drift — a host that
    /// left the inventory, a refused lockout — is in its output), else 0.
    public func exitCode(for mode: SyncEngine.Mode, dryRun: Bool) -> Int32 {
        if interrupted { return 130 }
        if summary.failed > 0 { return 3 }
        if mode == .check && summary.drift > 0 { return 2 }
        return 0
    }
}

/// One `push` or `check`: builds jobs from an inventory selection, runs the
/// engine, and records everything in the store as results arrive.
public struct SyncRun: Sendable {
    public var inventory: Inventory
    public var targets: [HostTarget]
    public var settings: SyncEngine.Settings
    public var acceptNewHostKeys: Bool
    public var selectionText: String
    /// Recorded as the run's command; nil: `push`, `push-dry-run` or `check` from the mode.
    public var command: String?
    /// Which version of a rotated key each account gets (see docs/rotation.md);
    /// nil: built from the store's rotations when the run has a store.
    public var rotationOverlay: RotationOverlay?
    /// Which hosts that left the inventory to list as `host_departed`
    /// (push and check: all, or those of the selected projects, unless the
    /// selection names hosts or groups). Needs a store.
    public var departedHosts: ManagedHistory.DepartedListing = .none
    /// Also read the accounts the database says still hold keysync blocks
    /// that no selected role names any more, to remove them (push and
    /// check; not a rotation's push, which touches only the accounts due).
    /// Needs a store.
    public var readsFormerAccounts = false
    /// Also read sshd's log on each host since the last scan: the last use
    /// of keys (push and check; issue 21). Needs a store.
    public var readsLogins = false
    /// `--shard K/N`: only the hosts of this shard (targets and departed hosts alike); nil: all.
    public var shard: Shard?
    /// `push --canary N` (manage_sshd): the first N hosts that need a
    /// drop-in change get it alone, and the others only if all of them
    /// passed (``SSHDCanary``); 0: every host in one pass.
    public var canary = 0

    public init(inventory: Inventory, targets: [HostTarget], settings: SyncEngine.Settings,
                acceptNewHostKeys: Bool = false, selectionText: String = "",
                command: String? = nil, rotationOverlay: RotationOverlay? = nil) {
        self.inventory = inventory
        self.targets = targets
        self.settings = settings
        self.acceptNewHostKeys = acceptNewHostKeys
        self.selectionText = selectionText
        self.command = command
        self.rotationOverlay = rotationOverlay
    }

    /// The engine jobs for the selected targets.
    public var jobs: [HostJob] {
        let sweep = RootFiles.sweep(in: inventory)  // the same for every host
        return targets.map { target in
            var job = Self.job(for: target.host, accounts: target.accounts, projectScope: target.projectScope, acceptNewHostKeys: acceptNewHostKeys)
            job.rootFiles = RootFiles.files(for: target.host.name, in: inventory)
            job.rootFileSweep = sweep
            if target.host.manageSSHD, let content = SSHDDropIn.content(for: job.rootFiles) {
                job.sshd = HostJob.SSHDManagement(content: content)
            }
            return job
        }
    }

    /// The engine job that reaches `host` with its inventory settings.
    public static func job(for host: InventoryHost, accounts: [AccountTarget], projectScope: Set<String>? = nil,
                           acceptNewHostKeys: Bool = false) -> HostJob {
        let policy: HostKeyPolicy = acceptNewHostKeys ? .acceptNew(path: host.knownHosts) : .knownHosts(path: host.knownHosts)
        return HostJob(host: host.name,
                       endpoint: SSHEndpoint(name: host.name, address: host.address, port: host.port, user: host.user,
                                             connectTimeout: host.connectTimeout, hostKeyPolicy: policy),
                       identity: SSHIdentitySource(host.credential), become: host.become, commandTimeout: host.commandTimeout,
                       accounts: accounts, projectScope: projectScope, jumps: host.jumps.map(JumpHop.init))
    }

    /// Runs and records. `store` may be nil for `--dry-run` without a database.
    /// Throws ``SyncError`` (before recording a run or contacting any host)
    /// when an identity cannot be loaded or a strict known_hosts file is missing.
    public func execute(store: Store?, cancellation: Cancellation = Cancellation(),
                        passphrase: @escaping (String) -> String? = { _ in nil },
                        progress: (@Sendable (ParallelRunner.Progress, HostResult) -> Void)? = nil) throws -> RunReport {
        let started = Date()
        var settings = self.settings
        settings.plan.revoked.formUnion(inventory.revokedFingerprints)
        if let store { settings.plan.revoked.formUnion(try store.retiredFingerprints()) }
        settings.plan.knownProjects = Set(inventory.projects.map(\.name))
        settings.plan.knownFingerprints = Set(inventory.keys.map(\.fingerprint))
        let command = self.command ?? (settings.mode == .push ? (settings.dryRun ? "push-dry-run" : "push") : "check")
        var run = self
        // Accounts keysync left blocks in that no selected role names any
        // more: read too, so stale blocks go (docs/sync.md, "Removing access").
        let history = readsFormerAccounts || departedHosts != .none ? try store.map { try ManagedHistory.load(from: $0) } : nil
        run.targets = readsFormerAccounts ? history?.apply(to: targets, inventory: inventory) ?? targets : targets
        run.targets.removeAll { $0.accounts.isEmpty }
        if let shard { run.targets.removeAll { !shard.contains($0.host.name) } }
        if let overlay = try rotationOverlay ?? store.map({ try RotationOverlay.load(from: $0, inventory: inventory) }) {
            run.targets = overlay.apply(to: run.targets)
        }
        // Runs whose keysync died without a word (SIGKILL, power loss) still say
        // `running`; their process is gone, so close them as interrupted.
        _ = try? store?.interruptAbandonedRuns()
        var jobs = run.jobs
        if readsLogins, let store {
            let states = try store.loginStates(hosts: Set(jobs.map(\.host)))
            for index in jobs.indices { jobs[index].logins = Store.loginRequest(states[jobs[index].host], now: started) }
            let sightings = try store.sightings(of: settings.plan.revoked)
            for index in jobs.indices { jobs[index].revokedSeen = sightings[jobs[index].host] ?? [] }
        }
        let engine = SyncEngine(jobs: jobs, settings: settings, cancellation: cancellation, passphrase: passphrase)
        // Bad input that would fail every host it concerns: refuse before anything is sent or recorded.
        if let problem = engine.inputProblem(jobs) { throw problem }
        let runID = try store?.beginRun(command: command, selection: selectionText,
                                        inventoryHash: inventory.inventoryHash, startedAt: started)
        // A rotation's push (accounts due only) and a `--project` run read part
        // of a host: what they do not list is not gone (Store.openDrift).
        let partialHosts = Set(jobs.filter { !readsFormerAccounts || $0.projectScope != nil }.map(\.host))
        let recorder = ResultRecorder(store: store, runID: runID, partialHosts: partialHosts)
        let writes = settings.mode == .push && !settings.dryRun
        // A host that left the inventory before keysync ever logged in to it
        // holds nothing of keysync's: a whole-fleet run records it as gone
        // (as `decommission --forget` would), so its last failure stops being
        // reported (review s13: `keysync_hosts_failed` stayed up for ever).
        if departedHosts == .all, shard == nil, !settings.dryRun, let store, let runID {
            for name in try store.neverReachedHosts() where inventory.host(named: name) == nil {
                try Decommission.recordForgotten(name, note: "left the inventory before keysync ever logged in to it: recorded as gone",
                                                 store: store, runID: runID)
            }
        }
        let departed = (history?.departedHosts(departedHosts, inventory: inventory) ?? []).filter { shard?.contains($0.host) ?? true }
        for host in departed { recorder.record(host, writes: false, scanned: false) }
        let snapshotHook: SyncEngine.SnapshotHook = { host, snapshots in
            guard let store, let runID else { return }
            for snapshot in snapshots {
                _ = try store.recordSnapshot(host: host, account: snapshot.account, path: snapshot.path,
                                             content: snapshot.content, runID: runID)
            }
        }
        let engineResults: [HostResult]
        if writes, canary > 0, jobs.contains(where: { $0.sshd != nil }) {
            // Hosts run up to three times: only each host's last result is recorded.
            engineResults = SSHDCanary(count: canary).run(jobs, engine: engine, snapshot: snapshotHook) { done, result in
                progress?(done, result)
            }
            for result in engineResults { recorder.record(result, writes: writes) }
        } else {
            engineResults = engine.run(jobs, snapshot: snapshotHook, onResult: { _, result, done in
                recorder.record(result, writes: writes)
                progress?(done, result)
            })
        }

        let interrupted = cancellation.isCancelled
        let results = engineResults + departed
        let hosts = results.map {
            RunReport.Host(host: $0.host, status: $0.status, error: $0.error, errorKind: $0.errorKind, changes: $0.changes, drift: $0.drift,
                           diff: $0.diffs.isEmpty ? nil : $0.diffs.joined(), logBytesRead: $0.logins?.reply.bytesRead)
        }
        // Hosts never started are listed (so the operator sees them) but not counted.
        let done = results.filter { $0.errorKind != .interrupted }
        let summary = RunReport.Summary(
            hosts: done.count,
            changed: done.filter { $0.status == .changed }.count,
            drift: done.filter { $0.status == .drift }.count,
            failed: done.filter { $0.status == .failed }.count,
            seconds: (Date().timeIntervalSince(started) * 1000).rounded() / 1000)
        if let store, let runID {
            try recorder.finish()
            try store.finishRun(id: runID, status: interrupted ? .interrupted : .completed,
                                counts: Store.RunCounts(hosts: summary.hosts, changed: summary.changed,
                                                        drift: summary.drift, failed: summary.failed))
        }
        return RunReport(run: runID, hosts: hosts, summary: summary, interrupted: interrupted,
                         acceptedHostKeys: results.compactMap(\.acceptedHostKey))
    }
}

/// Writes host results as they arrive, a batch per transaction (up to
/// `batchSize` hosts, or whatever arrived within `batchDelay`), so the
/// database costs a few transactions per run instead of one per host.
/// `finish()` writes the rest: an interrupted run (SIGINT) keeps every host
/// it finished; only a SIGKILL can lose the last batch (those hosts are
/// probed again by the next run; nothing on them depends on it).
final class ResultRecorder: Sendable {
    static let batchSize = 64
    static let batchDelay: TimeInterval = 0.5

    /// Records not written yet, and when the oldest of them arrived.
    private struct Pending {
        var records: [Store.HostRecord] = []
        var since: Date?

        /// Takes every record, leaving none.
        mutating func take() -> [Store.HostRecord] {
            defer { (records, since) = ([], nil) }
            return records
        }
    }

    private let store: Store?
    private let runID: Int64?
    /// Hosts the run reads only some accounts of (``Store/HostRecord/partial``).
    private let partialHosts: Set<String>
    private let pending = Mutex(Pending())
    private let firstError = FirstError()

    init(store: Store?, runID: Int64?, partialHosts: Set<String> = []) {
        self.store = store
        self.runID = runID
        self.partialHosts = partialHosts
    }

    /// Queues a host's result. A host the run never started (interrupted
    /// before its turn) is not recorded: it was not looked at, and a `failed`
    /// result would hide its last real state (and its open items) in reports.
    func record(_ result: HostResult, writes: Bool, scanned: Bool? = nil) {
        guard store != nil, runID != nil, result.errorKind != .interrupted else { return }
        // A host that failed only after its probe was read whole and planned
        // (one account's write conflicted or failed, a revocation could not
        // land) was looked at: its items are the whole picture, so it closes
        // what it no longer lists, and the accounts whose writes stood have
        // their items fixed (another account's conflict does not undo them).
        // (A keys file too large or unreadable is not seen whole.)
        let scanned = scanned ?? (result.status != .failed
            || (result.listsWholeHost && !result.drift.contains { $0.kind == .fileTooLarge || $0.kind == .fileUnreadable }))
        // Failed only because accounts were left out (they held the host):
        // everything else this run did stands.
        let repaired = writes && (result.status != .failed || result.failedOnlyByLeavingOut)
        var record = Store.HostRecord(result, scanned: scanned, repaired: repaired,
                                      repairedAccounts: writes ? result.writtenAccounts : [])
        record.partial = partialHosts.contains(result.host)
        if scanned && !result.accountsLeftOut.isEmpty {
            // The accounts left out were not read: their open items go on as
            // they were (listed unfixed), so the run is a whole scan for the
            // rest (what it no longer lists closes, prune moves on). Without
            // the store's answer, the run closes nothing it does not list.
            let leftOut = Set(result.accountsLeftOut)
            // (The account filter also passes host-wide items: only the left-out accounts' own are carried.)
            if let open = try? store?.openDrift(Store.DriftFilter(hosts: [result.host], accounts: leftOut)) {
                record.drift += open.filter { leftOut.contains($0.account) }.map { Store.DriftRecord(account: $0.account, kind: $0.kind, detail: $0.detail, fingerprint: $0.fingerprint) }
            } else {
                record.partial = true
            }
        }
        let now = Date()
        let batch: [Store.HostRecord] = pending.withLock { pending in
            pending.records.append(record)
            let since = pending.since ?? now
            pending.since = since
            guard pending.records.count >= Self.batchSize || now.timeIntervalSince(since) >= Self.batchDelay else { return [] }
            return pending.take()
        }
        write(batch)
    }

    /// Writes what is still pending, then throws the first error any write met.
    func finish() throws {
        write(pending.withLock { $0.take() })
        try firstError.rethrow()
    }

    private func write(_ batch: [Store.HostRecord]) {
        guard let store, let runID, !batch.isEmpty else { return }
        do {
            try store.recordHostResults(batch, runID: runID)
        } catch {
            firstError.keep(error)
        }
    }
}
