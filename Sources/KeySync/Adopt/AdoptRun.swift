import Foundation
import Logging

/// `keysync adopt`: reads every account's keys files on a fleet kept by
/// hand and drafts the inventory that grants exactly what is there
/// (``AdoptDraft``). Read-only on every host; records nothing in the
/// database (the first `push` of the draft is the first run).
public struct AdoptRun: Sendable {
    /// The hosts to read, with how to reach them.
    public var hosts: [InventoryHost]
    /// Only these accounts; empty: every account that has a keys file.
    public var accounts: [String]
    /// Trust and record (in known_hosts) the key of a host not in known_hosts yet.
    public var acceptNewHostKeys: Bool
    /// Hosts in flight at once.
    public var parallel: Int
    /// Fingerprints the source inventory revokes: listed, never adopted.
    public var revoked: Set<String>
    /// `defaults.parallel` of the source inventory, kept in the draft.
    public var draftParallel: Int?
    /// Where each host's phases (connect, auth, scan) are logged.
    public var logger: Logger = .disabled

    public init(hosts: [InventoryHost], accounts: [String] = [], acceptNewHostKeys: Bool = false,
                parallel: Int = 64, revoked: Set<String> = [], draftParallel: Int? = nil) {
        self.hosts = hosts
        self.accounts = accounts
        self.acceptNewHostKeys = acceptNewHostKeys
        self.parallel = parallel
        self.revoked = revoked
        self.draftParallel = draftParallel
    }

    /// The hosts of `--hosts FILE`, each reached with the given (or built-in) settings.
    public static func hosts(_ entries: [AdoptHostList.Entry], user: String, credential: SSHCredential,
                             knownHosts: String, become: Become = .sudo) -> [InventoryHost] {
        entries.map {
            InventoryHost(name: $0.name, address: $0.address, port: $0.port ?? 22, user: user, credential: credential,
                          knownHosts: knownHosts, become: become)
        }
    }

    /// Why `name` cannot be an `--account` (nor a role's `account:`), or nil;
    /// the name is quoted safely in the reason.
    public static func accountProblem(_ name: String) -> String? {
        InventoryRules.unixNameProblem(name).map { "--account \(UnsafeText.quoted(name)) \($0)" }
    }

    /// What `execute` returns: each host's scan and the draft.
    public struct Report: Sendable {
        public var scans: [AdoptHostScan]
        public var draft: AdoptDraft
        /// Host keys `--accept-new-host-keys` appended to known_hosts.
        public var acceptedHostKeys: [AcceptedHostKey]
        public var interrupted: Bool
        public var seconds: Double

        /// 130 interrupted, 3 a host could not be read (the draft lists it), else 0.
        public var exitCode: Int32 {
            if interrupted { return 130 }
            return scans.contains { $0.result.status == .failed } ? 3 : 0
        }
    }

    /// Reads every host (at most `parallel` at once) and builds the draft.
    /// Throws ``SyncError`` before contacting any host when an identity
    /// cannot be loaded or a strict known_hosts file is missing.
    public func execute(cancellation: Cancellation = Cancellation(), now: Date = Date(),
                        passphrase: @escaping (String) -> String? = { _ in nil },
                        progress: (@Sendable (ParallelRunner.Progress, HostResult) -> Void)? = nil) throws(SyncError) -> Report {
        let started = Date()
        let jobs = hosts.map { SyncRun.job(for: $0, accounts: [], acceptNewHostKeys: acceptNewHostKeys) }
        let settings = SyncEngine.Settings(mode: .check, dryRun: true, parallel: parallel, logger: logger)
        let engine = SyncEngine(jobs: jobs, settings: settings, cancellation: cancellation, passphrase: passphrase)
        if let problem = engine.inputProblem(jobs) { throw problem }
        let scans = ParallelRunner(width: parallel).run(jobs, onResult: { _, scan, done in
            progress?(done, scan.result)
        }) { job in engine.adoptScan(job) }
        let inputs = zip(hosts, scans).map { host, scan in
            AdoptDraft.HostInput(host: DraftHost(host), sections: scan.sections,
                                 error: scan.result.status == .failed ? scan.result.error ?? "failed" : nil)
        }
        var draft = AdoptDraft(inputs, accounts: accounts, revoked: revoked, now: now)
        draft.parallel = draftParallel
        return Report(scans: scans, draft: draft, acceptedHostKeys: scans.compactMap(\.result.acceptedHostKey),
                      interrupted: cancellation.isCancelled, seconds: Date().timeIntervalSince(started))
    }
}
