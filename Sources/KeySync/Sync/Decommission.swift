import Foundation

/// `keysync decommission HOST`: a host keysync managed has left the
/// inventory (`host_departed`); take away the access keysync granted there
/// before the machine goes on without it, or record that the machine is gone.
///
/// The host is reached with what the database recorded when keysync last
/// reached it (address, port, user, credentials, the jump hosts it went
/// through — checked against their known_hosts as push does — and the host key it
/// verified then: the known_hosts line may be gone, and nothing else may
/// answer in the host's place). Every account keysync wrote blocks into or
/// read keys from there is read; every keysync block and every revoked key
/// is removed with push's write rules (snapshot first, compare-and-swap,
/// written as the account) and push's lockout guard (never keysync's own
/// login key, never the last keys of an account, unless `force`). Only when
/// nothing of keysync's is left is the host recorded as decommissioned and
/// no longer reported; otherwise it stays `host_departed` with the reason.
public enum Decommission {
    /// What was asked (JSON `action`).
    public enum Action: String, Codable, Sendable {
        case decommission
        /// `--dry-run`: read, plan, print the diff, write nothing, retire nothing.
        case dryRun = "dry_run"
        /// `--forget`: record the machine as gone without contacting it.
        case forget
    }

    /// Drift that a finished decommission may leave: lines keysync does not
    /// own (a stray marker, a broken or repeated line) grant nothing of keysync's.
    static let harmless: Set<DriftKind> = [.invalidMarker, .invalidLine, .duplicateKey]

    /// Connects to `host` (never under `hosts:` any more) with what the
    /// database recorded, removes keysync's blocks and revoked keys there,
    /// and records a `decommission` run (`decommission-dry-run` with
    /// `dryRun`). Throws ``DecommissionError`` before contacting anything
    /// when the host cannot be decommissioned, ``SyncError`` when the
    /// recorded identity cannot be loaded.
    public static func run(host name: String, inventory: Inventory, store: Store, dryRun: Bool = false, force: Bool = false,
                           passphrase: @escaping (String) -> String? = { _ in nil }) throws -> DecommissionReport {
        let record = try departedRecord(name, inventory: inventory, store: store)
        guard let endpoint = record.endpoint else { throw DecommissionError.noEndpoint(host: name) }
        guard let line = endpoint.hostKey, let hostKey = try? KeyImporter.parsePublicKeyLine(line) else {
            throw DecommissionError.noHostKey(host: name)
        }
        if let other = inventory.hosts.first(where: { $0.address == endpoint.address && $0.port == endpoint.port }) {
            throw DecommissionError.sameAddress(host: name, address: KnownHosts.lookupName(host: endpoint.address, port: endpoint.port),
                                                inventoryHost: other.name)
        }
        var job = try self.job(for: record, endpoint: endpoint, hostKey: hostKey, store: store)
        // Certificate trust keysync wrote there (CA file, principals) goes too.
        job.rootFileSweep = RootFiles.sweep(in: inventory)
        var plan = PlanOptions(revoked: inventory.revokedFingerprints.union(try store.retiredFingerprints()), force: force)
        plan.knownProjects = Set(inventory.projects.map(\.name))
        let engine = SyncEngine(jobs: [job], settings: SyncEngine.Settings(mode: .push, dryRun: dryRun, parallel: 1, plan: plan),
                                passphrase: passphrase)
        if let problem = engine.inputProblem([job]) { throw problem }

        let started = Date()
        let runID = try store.beginRun(command: dryRun ? "decommission-dry-run" : "decommission", selection: name + (dryRun ? " --dry-run" : ""),
                                       inventoryHash: inventory.inventoryHash, startedAt: started)
        var result = engine.run([job], snapshot: { host, snapshots in
            for snapshot in snapshots {
                _ = try store.recordSnapshot(host: host, account: snapshot.account, path: snapshot.path,
                                             content: snapshot.content, runID: runID)
            }
        })[0]
        // Departed hosts keep the record of how they were last reached from the inventory.
        result.endpoint = nil
        let remaining = result.drift.filter { !$0.repairable && !harmless.contains($0.kind) }
        let done = !dryRun && result.status != .failed && remaining.isEmpty
        if !done {
            // Still departed: the open `host_departed` item stays open.
            result.drift.append(DriftItem(account: "", kind: .hostDeparted, detail: ManagedHistory.departedDetail(record)))
            if result.status == .ok { result.status = .drift }
        }
        let recorder = ResultRecorder(store: store, runID: runID)
        recorder.record(result, writes: !dryRun)
        try recorder.finish()
        try store.finishRun(id: runID)
        if done { try store.retireHost(name, as: .decommissioned, runID: runID) }
        return DecommissionReport(
            run: runID, host: name, action: dryRun ? .dryRun : .decommission, address: endpoint.address, port: endpoint.port,
            user: endpoint.user, status: result.status, decommissioned: done, error: result.error, errorKind: result.errorKind,
            accounts: job.accounts.map(\.name), changes: result.changes, drift: result.drift,
            diff: result.diffs.isEmpty ? nil : result.diffs.joined(), remaining: done ? 0 : remaining.count,
            seconds: (Date().timeIntervalSince(started) * 1000).rounded() / 1000)
    }

    /// `--forget`: records that `host` is gone (a `decommission` run whose
    /// only change says so) without contacting it, so it is no longer
    /// reported. Whatever keysync wrote there stays if the machine still exists.
    /// A host keysync never logged in to (every run failed before the
    /// login) may be forgotten too: nothing of keysync's can be there.
    public static func forget(host name: String, inventory: Inventory, store: Store) throws -> DecommissionReport {
        let neverReached = try store.neverReachedHosts().contains(name)
        if neverReached, inventory.host(named: name) != nil { throw DecommissionError.stillInInventory(host: name) }
        let record = neverReached ? nil : try departedRecord(name, inventory: inventory, store: store)
        let started = Date()
        let runID = try store.beginRun(command: "decommission", selection: name + " --forget",
                                       inventoryHash: inventory.inventoryHash, startedAt: started)
        let result = try recordForgotten(name, note: "recorded as gone without contacting it (--forget); keysync's blocks stay there if the machine still runs",
                                         store: store, runID: runID)
        try store.finishRun(id: runID)
        let endpoint = record?.endpoint
        return DecommissionReport(
            run: runID, host: name, action: .forget, address: endpoint?.address, port: endpoint?.port, user: endpoint?.user,
            status: .ok, decommissioned: true, error: nil, errorKind: nil, accounts: [], changes: result.changes, drift: [],
            diff: nil, remaining: 0, seconds: (Date().timeIntervalSince(started) * 1000).rounded() / 1000)
    }

    /// Records `name` as gone in `runID`: an `ok` result that counts as a
    /// look at the host (`scanned`: the word that there is nothing left to
    /// look at closes its open drift and failure), and the host retired as forgotten.
    @discardableResult
    static func recordForgotten(_ name: String, note: String, store: Store, runID: Int64) throws -> HostResult {
        var result = HostResult(host: name, status: .ok)
        result.changes = [note]
        let recorder = ResultRecorder(store: store, runID: runID)
        recorder.record(result, writes: false, scanned: true)
        try recorder.finish()
        try store.retireHost(name, as: .forgotten, runID: runID)
        return result
    }

    /// The database's record of `name`, which must have left the inventory.
    static func departedRecord(_ name: String, inventory: Inventory, store: Store) throws -> Store.ManagedHost {
        guard inventory.host(named: name) == nil else { throw DecommissionError.stillInInventory(host: name) }
        guard let record = try store.managedHost(named: name) else {
            let known = try store.managedHosts().map(\.host).filter { inventory.host(named: $0) == nil }
            throw DecommissionError.unknownHost(host: name, hint: Suggestion.hint(for: name, in: known))
        }
        return record
    }

    /// The job that reaches the departed host: every account keysync wrote
    /// blocks into or read keys from there, each read only for what keysync
    /// left (``AccountTarget/formerlyManaged``), every block stale.
    static func job(for record: Store.ManagedHost, endpoint: Store.HostEndpoint, hostKey: PublicKey, store: Store) throws -> HostJob {
        let recorded = try store.managedAccounts(host: record.host).map(\.account)
        let seen = try store.keys(host: record.host).map(\.account).filter { $0 != Store.hostKeyAccount }
        let accounts = Set(recorded + seen).sorted().map { name -> AccountTarget in
            var account = AccountTarget(name: name)
            account.formerlyManaged = true
            return account
        }
        return HostJob(host: record.host,
                       endpoint: SSHEndpoint(name: record.host, address: endpoint.address, port: endpoint.port, user: endpoint.user,
                                             connectTimeout: endpoint.connectTimeout, hostKeyPolicy: .recorded(key: hostKey)),
                       identity: endpoint.identity.map { .file(path: $0) } ?? .agent(socketPath: nil),
                       become: Become(rawValue: endpoint.become) ?? .sudo, commandTimeout: endpoint.commandTimeout,
                       accounts: accounts, projectScope: nil, jumps: endpoint.jumps.map(JumpHop.init))
    }
}

/// Why `keysync decommission` did not start (nothing was contacted or recorded).
public enum DecommissionError: Error, Equatable, Sendable, CustomStringConvertible {
    case stillInInventory(host: String)
    case unknownHost(host: String, hint: String)
    /// Only runs from before schema v2 reached it: no address is recorded.
    case noEndpoint(host: String)
    case noHostKey(host: String)
    /// Another inventory host has the departed host's address: probably the
    /// same machine under a new name, whose blocks a decommission would take away.
    case sameAddress(host: String, address: String, inventoryHost: String)

    public var description: String {
        switch self {
        case .stillInInventory(let host):
            return "host \"\(host)\" is still under hosts: in the inventory; remove it there first (push removes blocks of projects it left)"
        case let .unknownHost(host, hint):
            return "keysync has no record of reaching a host \"\(host)\"\(hint)"
        case .noEndpoint(let host):
            return "keysync reached \"\(host)\" only before it recorded addresses; put it back under hosts: for one push, remove it again and decommission it, or use --forget if the machine is gone"
        case .noHostKey(let host):
            return "keysync recorded no host key for \"\(host)\"; put it back under hosts: for one push, remove it again and decommission it, or use --forget if the machine is gone"
        case let .sameAddress(host, address, inventoryHost):
            return "\"\(host)\" was reached at \(address), which is now inventory host \"\(inventoryHost)\": decommissioning would remove the blocks \(inventoryHost) is granted; if it is the same machine renamed, use --forget"
        }
    }
}

/// The JSON document of `keysync decommission --json` (docs/sync.md).
public struct DecommissionReport: Codable, Sendable {
    public var run: Int64
    public var host: String
    public var action: Decommission.Action
    /// Where it was reached (from the database); absent for a host known only from runs before schema v2.
    public var address: String?
    public var port: Int?
    public var user: String?
    /// As for push: `ok` nothing to remove, `changed` removed, `drift` something stays, `failed`.
    public var status: HostStatus
    /// Recorded as decommissioned or forgotten: no longer reported as `host_departed`.
    public var decommissioned: Bool
    public var error: String?
    public var errorKind: HostFailureKind?
    /// The accounts read.
    public var accounts: [String]
    public var changes: [String]
    public var drift: [DriftItem]
    /// Unified diffs (`--dry-run`).
    public var diff: String?
    /// Drift items that keep the host from being decommissioned.
    public var remaining: Int
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case run, host, action, address, port, user, status, decommissioned, error, errorKind = "error_kind"
        case accounts, changes, drift, diff, remaining, seconds
    }

    /// 0 decommissioned, forgotten, or (dry run) nothing would stay; 2 something
    /// stays (the host is still `host_departed`); 3 the host failed.
    public var exitCode: Int32 {
        if status == .failed { return 3 }
        return remaining > 0 ? 2 : 0
    }

    /// What `keysync decommission` prints without `--json`; host text is made terminal-safe.
    public func text() -> String {
        let name = host.terminalSafe()
        var out = ""
        if status == .failed {
            out += "\(name): FAILED: \((error ?? "unknown error").terminalSafe())\n"
        } else if !changes.isEmpty {
            let verb = action == .dryRun ? "would change" : status == .changed ? "changed" : "nothing written"
            out += "\(name): \(verb): \(changes.joined(separator: "; ").terminalSafe())\n"
        }
        if let diff { out += diff.terminalSafe(keepingNewlines: true) + (diff.hasSuffix("\n") ? "" : "\n") }
        for item in drift where item.kind != .hostDeparted {
            let account = item.account.isEmpty ? "" : "\(item.account.terminalSafe()): "
            let note = action == .decommission && !item.repairable ? " (not repaired)" : ""
            out += "  \(item.kind.rawValue): \(account)\(item.detail.terminalSafe())\(note)\n"
        }
        switch action {
        case .forget:
            out += "\(name): recorded as gone, not contacted; no longer reported (run \(run))\n"
        case .dryRun:
            out += "\(name): dry run, nothing written (run \(run))\n"
        case .decommission where decommissioned:
            out += "\(name): decommissioned: no keysync block, revoked key or certificate trust left in \(accounts.count.counted("account")); no longer reported (run \(run))\n"
        case .decommission:
            out += "\(name): NOT decommissioned: \(status == .failed ? "the host failed" : "\(remaining) item(s) above stay") (still reported as host_departed; run \(run))\n"
        }
        return out
    }
}
