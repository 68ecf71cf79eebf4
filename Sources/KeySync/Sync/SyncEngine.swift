import Foundation
import Logging
import Synchronization

/// Converges (`push`) or checks (`check`) hosts: per host one connection,
/// one probe, pure planning, and at most one apply.
public struct SyncEngine: Sendable {
    public enum Mode: String, Sendable {
        case check, push
    }

    /// Settings for one run.
    public struct Settings: Sendable {
        public var mode: Mode
        public var dryRun: Bool
        public var parallel: Int
        public var plan: PlanOptions
        /// Where each host's phases (connect, auth, probe, apply) are logged
        /// with their milliseconds (``HostPhase``); nowhere by default.
        public var logger: Logger

        public init(mode: Mode, dryRun: Bool = false, parallel: Int = 64, plan: PlanOptions = PlanOptions(),
                    logger: Logger = .disabled) {
            self.mode = mode
            self.dryRun = dryRun
            self.parallel = parallel
            self.plan = plan
            self.logger = logger
        }
    }

    /// Called on the worker before apply with the content about to be
    /// replaced; throwing cancels the write (no snapshot, no write).
    public typealias SnapshotHook = @Sendable (_ host: String, _ snapshots: [Snapshot]) throws -> Void

    public let settings: Settings
    public let hostKeys: HostKeyVerifier
    let identities: [SSHIdentitySource: Result<SSHIdentity, SSHError>]
    /// Set by a signal handler: hosts not yet started are skipped.
    public let cancellation: Cancellation
    /// Connections to jump hosts, each owned by one worker thread (see ``JumpPool``).
    public let jumpPool: JumpPool
    /// manage_sshd: one host at a time changes sshd (``SSHDChangeGate``).
    let sshdGate = SSHDChangeGate()

    /// Loads each distinct identity once (asking for a passphrase at most once each).
    public init(jobs: [HostJob], settings: Settings, hostKeys: HostKeyVerifier = HostKeyVerifier(),
                cancellation: Cancellation = Cancellation(), passphrase: (String) -> String? = { _ in nil },
                jumpPool: JumpPool = JumpPool()) {
        var settings = settings
        // Grants are judged at one moment per run (planning never reads the clock).
        if settings.plan.now == nil { settings.plan.now = Date() }
        self.settings = settings
        self.hostKeys = hostKeys
        self.cancellation = cancellation
        self.jumpPool = jumpPool
        var loaded: [SSHIdentitySource: Result<SSHIdentity, SSHError>] = [:]
        for source in Set(jobs.flatMap(\.allIdentities)) {
            let label: String
            if case .file(let path) = source { label = path } else { label = "ssh-agent" }
            loaded[source] = Result { () throws(SSHError) in try SSHIdentity.load(source) { passphrase(label) } }
        }
        identities = loaded
    }

    /// Inputs that would fail every host using them before it is contacted:
    /// an identity that cannot be loaded, or a missing known_hosts file under
    /// strict host-key checking. `nil` when there is nothing to refuse.
    public func inputProblem(_ jobs: [HostJob]) -> SyncError? {
        var problems: [SyncError] = []
        var byIdentity: [SSHIdentitySource: [String]] = [:]
        for job in jobs {
            for source in Set(job.allIdentities) { byIdentity[source, default: []].append(job.host) }
        }
        for (source, hosts) in byIdentity.sorted(by: { $0.value[0] < $1.value[0] }) {
            if case .failure(let error)? = identities[source] {
                problems.append(.identity(error, hosts: hosts))
            }
        }
        var missing: [String: [String]] = [:], notFiles: [String: [String]] = [:]
        for job in jobs {
            let policies = [job.endpoint.hostKeyPolicy] + job.jumps.map(\.endpoint.hostKeyPolicy)
            for path in Set(policies.compactMap(\.strictPath)) {
                var folder: ObjCBool = false
                if !FileManager.default.fileExists(atPath: path, isDirectory: &folder) {
                    missing[path, default: []].append(job.host)
                } else if folder.boolValue {
                    notFiles[path, default: []].append(job.host)
                }
            }
        }
        for (path, hosts) in missing.sorted(by: { $0.key < $1.key }) {
            problems.append(.knownHostsMissing(path: path, hosts: hosts))
        }
        for (path, hosts) in notFiles.sorted(by: { $0.key < $1.key }) {
            problems.append(.knownHostsNotAFile(path: path, hosts: hosts))
        }
        return problems.count > 1 ? .several(problems) : problems.first
    }

    /// Runs every job with at most `parallel` hosts in flight; results in job order.
    public func run(_ jobs: [HostJob], snapshot: SnapshotHook? = nil,
                    onResult: (@Sendable (Int, HostResult, ParallelRunner.Progress) -> Void)? = nil) -> [HostResult] {
        defer { jumpPool.closeAll() }
        return ParallelRunner(width: settings.parallel).run(jobs, onResult: onResult) { job in
            let started = DispatchTime.now()
            var result = cancellation.isCancelled
                ? HostResult.failed(job.host, kind: .interrupted, error: "\(job.host): not started (interrupted)")
                : converge(job, snapshot: snapshot)
            result.acceptedHostKey = hostKeys.acceptedKey(forHost: job.host)
            result.milliseconds = Int((DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1_000_000)
            return result
        }
    }

    /// How many accounts of one host may hold it before the host is given
    /// up. Each stall costs a command_timeout of the probe or of the apply,
    /// so a host takes at most 3 × (probe + apply) timeouts.
    static let stalledAccountsPerHost = 2

    /// One host, start to end. Never throws: every failure becomes a `failed` result.
    ///
    /// A host held until command_timeout by one account's read or write as
    /// that account (its processes stopped, or a file that never answers)
    /// is run again without that account: one account's owner must not keep
    /// keysync from the host's other accounts, its KRL and its root files (a
    /// revocation there lands). The host is still failed, naming the
    /// account; the run records it as a whole scan for the rest, with the
    /// left-out account's open items carried (``HostResult/accountsLeftOut``).
    func converge(_ job: HostJob, snapshot: SnapshotHook?) -> HostResult {
        var job = job
        var leftOut: [(account: String, why: String)] = []
        var earlier: [HostResult] = []
        while true {
            let result = convergeOnce(job, snapshot: snapshot)
            guard let account = result.stalledAccount, leftOut.count < Self.stalledAccountsPerHost,
                  !cancellation.isCancelled, job.accounts.contains(where: { $0.name == account }) else {
                return Self.leavingOut(leftOut, from: Self.carrying(earlier, into: result))
            }
            if result.wroteFiles || !result.appliedAccounts.isEmpty { earlier.append(result) }
            leftOut.append((account, result.error ?? account))
            job.accounts.removeAll { $0.name == account }
        }
    }

    /// `result` with what earlier tries of the host did before an apply
    /// stalled (accounts written or done: created, unlocked, home fixed):
    /// their files (the first try's hash before; the retry's hash after when
    /// it wrote the file again), their repairable drift (recorded fixed),
    /// their changes and snapshots. The retry found them in sync and says
    /// nothing of them.
    static func carrying(_ earlier: [HostResult], into result: HostResult) -> HostResult {
        var result = result
        for attempt in earlier {
            let applied = attempt.appliedAccounts.union(attempt.writtenAccounts)
            for (path, file) in attempt.files where attempt.writtenAccounts.contains(file.account) {
                if let again = result.files[path], again.hashAfter != nil {
                    result.files[path]?.hashBefore = file.hashBefore
                } else {
                    result.files[path] = file
                }
            }
            let listed = Set(result.drift.map { "\($0.account) \($0.kind) \($0.detail)" })
            result.drift += attempt.drift.filter { applied.contains($0.account) && $0.repairable && !listed.contains("\($0.account) \($0.kind) \($0.detail)") }
            result.changes = applied.sorted().flatMap { attempt.changesByAccount[$0] ?? [] } + result.changes
            result.snapshots = attempt.snapshots.filter { attempt.writtenAccounts.contains($0.account) } + result.snapshots
        }
        return result
    }

    /// `result` of a run without the accounts in `leftOut` (each with the
    /// error of the try it stalled): failed, saying why, whatever else it did.
    static func leavingOut(_ leftOut: [(account: String, why: String)], from result: HostResult) -> HostResult {
        guard !leftOut.isEmpty else { return result }
        var result = result
        let why = leftOut.map { $0.why + "; left out, the host's other accounts were done" }
        result.error = ((result.error.map { [$0] } ?? []) + why).joined(separator: "; ")
        if result.status != .failed {
            result.status = .failed
            result.errorKind = .accountStalled
            result.failedOnlyByLeavingOut = true
        }
        result.accountsLeftOut = leftOut.map(\.account)
        return result
    }

    private func convergeOnce(_ job: HostJob, snapshot: SnapshotHook?) -> HostResult {
        let probed: ProbedHost
        // A push keeps the probe's shell for the apply; check and dry runs never write.
        switch connectAndProbe(job, keepShell: settings.mode == .push && !settings.dryRun) {
        case .probed(let host): probed = host
        case .failed(let result): return result
        }
        let (connection, identity, probe) = (probed.connection, probed.identity, probed.probe)
        // Whatever ends this host, the probe's shell is not waited for: EOF, then the connection closes.
        defer {
            probed.shell?.command.abandon()
            connection.close()
        }
        let label = job.endpoint.label

        var options = settings.plan
        options.loginUser = job.endpoint.user
        options.loginKeyFingerprint = options.loginKeyFingerprint ?? Self.loginKeyFingerprint(connection, identity)
        let plan = SyncPlanner.plan(probe: probe, accounts: job.accounts, scope: job.projectScope, options: options)
        var result = HostResult(host: job.host, status: .ok)
        if let failure = plan.failure {
            result = .failed(job.host, kind: .planFailed, error: "\(label): \(failure)")
        }
        result.endpoint = Self.endpoint(job, hostKey: connection.hostKey)
        if let request = job.logins, let reply = probe.logins {
            result.logins = LoginScanResult(request: request, reply: reply, scannedAt: Date(), loginAccount: job.endpoint.user)
        }
        for account in plan.accounts {
            result.drift += account.drift
            result.seenKeys += account.seenKeys
            if let path = account.path { result.noteHash(before: account.oldHash, account: account.account, path: path) }
            if let blocks = account.blocksBefore { result.accountBlocks[account.account] = blocks }
        }
        if let logins = result.logins?.reply {
            result.drift += Self.revokedKeysUsed(logins, revoked: options.revoked, found: result.drift, seen: job.revokedSeen)
        }
        guard plan.failure == nil else { return result }
        result.listsWholeHost = true

        let applies = plan.accounts.compactMap(\.apply)
        result.changes = plan.accounts.flatMap(\.changes)
        result.changesByAccount = Dictionary(plan.accounts.map { ($0.account, $0.changes) }, uniquingKeysWith: +)
        // Files under /etc/ssh/keysync (issue 19): planned apart from the accounts, written in the same apply.
        // Files keysync left there that no grant needs now are planned emptied (RootFiles.Sweep).
        let swept = job.rootFileSweep?.files(found: probe.rootFiles, planned: job.rootFiles) ?? []
        let (rootFiles, sparedLoginKey) = RootFiles.sparingLoginKey(job.rootFiles + swept, fingerprint: options.loginKeyFingerprint,
                                                                    force: options.force)
        let rootPlan = RootFilesPlan.plan(rootFiles, probe: probe.rootFiles, sshd: probe.sections.first?.sshd,
                                          leftOver: Set(swept.map(\.path)))
        if let sparedLoginKey { result.drift.append(sparedLoginKey) }
        result.drift += rootPlan.drift
        result.changes += rootPlan.changes
        // manage_sshd: the drop-in, installed after the files it names (sshd refuses every key while RevokedKeys is missing).
        let sshdPlan = job.sshd.map { SSHDDropInPlan.plan($0, probe: probe.rootFiles) } ?? SSHDDropInPlan()
        result.drift += sshdPlan.drift
        if case .install = sshdPlan.action {
            result.changes.append("write \(SSHDDropIn.path), check it with sshd -t and sshd -T, reload sshd, log in again")
            // The drop-in is what makes sshd use the files.
            for index in result.drift.indices where result.drift[index].kind == .sshdConfigMissing { result.drift[index].repairable = true }
        }
        if settings.dryRun {
            result.diffs = plan.accounts.compactMap(\.diff).filter { !$0.isEmpty }
        }
        guard settings.mode == .push, !settings.dryRun, !applies.isEmpty || !rootPlan.writes.isEmpty || sshdPlan.action != .none else {
            switch settings.mode {
            case .check:
                result.changes = []
                result.status = result.drift.isEmpty ? .ok : .drift
            case .push:
                // A dry run is `changed` only where the push would write: a
                // lockout refusal is a line of `changes` but writes nothing.
                var installs = false
                if case .install = sshdPlan.action { installs = true }
                let wouldWrite = !applies.isEmpty || !rootPlan.writes.isEmpty || installs
                result.status = settings.dryRun && wouldWrite ? .changed
                    : unresolved(result.drift).isEmpty ? .ok : .drift
                Self.failIfRevocationBlocked(&result, label: label)
            }
            return result
        }

        if let refusal = Self.writeRefusal(probe, job: job) { return refusal }
        if case .refuse(let kind, let reason) = sshdPlan.action {
            var refused = HostResult.failed(job.host, kind: kind, error: "\(label): \(reason)")
            refused.drift = result.drift + refused.drift
            return refused
        }
        let snapshots = plan.accounts.compactMap { account -> Snapshot? in
            guard let write = account.apply?.write else { return nil }
            return Snapshot(account: account.account, path: account.path ?? write.path, content: account.oldContent)
        } + rootPlan.snapshots + sshdPlan.snapshots
        do {
            try snapshot?(job.host, snapshots)
        } catch {
            return .failed(job.host, kind: .storeFailed, error: "\(label): snapshot not recorded, nothing written: \(error)")
        }
        result.snapshots = snapshots

        var outcomes: [String: ApplyOutcome] = [:]
        if !applies.isEmpty || !rootPlan.writes.isEmpty {
            switch runApply(applies, rootFiles: rootPlan.writes, on: connection, in: probed.shell, job: job, namingStalls: true) {
            case .success(let found): outcomes = found
            case .failure(let failure):
                var failed = failure.result
                failed.drift = result.drift + failed.drift
                failed.listsWholeHost = failed.stalledAccount == nil
                if failed.stalledAccount != nil {
                    // What the apply did before the stall stood: converge carries it into the retry's result.
                    failed.files = result.files
                    failed.noteWritten(Self.collect(failure.outcomes, for: applies).written, by: applies)
                    failed.changesByAccount = result.changesByAccount
                    failed.appliedAccounts = Set(failure.outcomes.compactMap { account, outcome in
                        switch outcome {
                        case .written, .done: account
                        case .conflict, .failed: nil
                        }
                    })
                    failed.changes = failed.appliedAccounts.sorted().flatMap { result.changesByAccount[$0] ?? [] }
                    failed.snapshots = snapshots
                }
                return failed
            }
        }
        // Done with the probe's shell (the drop-in below runs commands of its own).
        probed.shell?.command.abandon()

        let applied = Self.collect(outcomes, for: applies)
        result.noteWritten(applied.written, by: applies)
        for account in plan.accounts {
            guard let path = account.path, applied.written[path] != nil, let new = account.newContent else { continue }
            result.accountBlocks[account.account] = AuthorizedKeysFile(bytes: new).heldBlockIDs
        }
        result.drift += applied.conflicts.map { DriftItem(account: $0.account, kind: .conflict, detail: $0.reason) }
        var errors = applied.problems
        for write in rootPlan.writes {
            switch outcomes[write.path] {
            case .written?: continue
            case .conflict(let reason)?:
                result.drift.append(DriftItem(account: "", kind: .conflict, detail: reason))
                errors.append("\(write.path): conflict: \(reason)")
            case .failed(let reason)?: errors.append("\(write.path): \(reason)")
            case .done?, nil: errors.append("\(write.path): no result from apply")
            }
            // Not written: its drift stays open.
            for index in result.drift.indices where result.drift[index].detail.hasPrefix(write.path + " ") {
                result.drift[index].repairable = false
            }
        }
        if errors.isEmpty, case .install(let write, let previous) = sshdPlan.action {
            installDropIn(write, previous: previous, job: job, connection: connection, identity: identity, into: &result)
        } else if case .install = sshdPlan.action {
            for index in result.drift.indices where result.drift[index].kind == .sshdDropinChanged {
                result.drift[index].repairable = false
                result.drift[index].detail += "; not written: the other writes on the host failed"
            }
        }
        if !errors.isEmpty {
            result.status = .failed
            result.errorKind = result.drift.contains { $0.kind == .conflict } ? .conflict : .applyFailed
            result.error = "\(label): " + errors.joined(separator: "; ")
        } else if result.status != .failed {
            // Something was written: `changed`, even if drift push cannot repair remains (it is listed).
            // (A failed drop-in step has set its own error and kind.)
            result.status = .changed
        }
        Self.failIfRevocationBlocked(&result, label: label)
        return result
    }

    /// Accepted logins with a revoked key in the part of sshd's log this scan
    /// read (review s15 removal #7): where keysync never found that key in
    /// that account's files — not in this run (`found`: a `revoked_key` item
    /// it removes or reports), not before (`seen`: the database's sightings;
    /// a login may predate the push or offboard that removed that copy) —
    /// the key grants access from somewhere keysync does not read. A source
    /// read for the first time is left out: its old lines may be from before
    /// the revocation.
    static func revokedKeysUsed(_ logins: LoginScanReply, revoked: Set<String>, found: [DriftItem],
                                seen: Set<[String]> = []) -> [DriftItem] {
        guard !logins.firstScan, !revoked.isEmpty else { return [] }
        let located = seen.union(found.filter { $0.kind == .revokedKey }.map { [$0.account, $0.fingerprint ?? ""] })
        return logins.uses.filter { revoked.contains($0.fingerprint) && !located.contains([$0.account, $0.fingerprint]) }.map { use in
            let when = use.last.map { " last at " + Date(timeIntervalSince1970: TimeInterval($0)).reportText } ?? ""
            let from = use.address.isEmpty ? "" : " from " + String(use.address.prefix(64))
            let certificate = use.certificateID.map { " (certificate \(UnsafeText.quoted(String($0.prefix(100)))))" } ?? ""
            return DriftItem(account: use.account, kind: .revokedKeyUsed,
                             detail: "sshd accepted revoked key \(use.fingerprint)\(certificate) for \(use.account) \(use.count.counted("time"))"
                                + "\(from)\(when) since the last scan, and keysync never found it in \(use.account)'s keys files: it grants access "
                                + "from a keys file keysync does not read (a Match block for other clients, AuthorizedKeysCommand, "
                                + "an account the inventory does not name); `keysync where \(use.fingerprint)` lists where it was seen",
                             fingerprint: use.fingerprint)
        }
    }

    /// A push that cannot make a revocation land on a host must not look
    /// like success: a revoked key left where keysync cannot write, or a
    /// keys file too large or unreadable (it may hold one), fails the host.
    static func failIfRevocationBlocked(_ result: inout HostResult, label: String) {
        let unread = result.drift.filter { $0.kind == .fileTooLarge || $0.kind == .fileUnreadable }
        // A KRL that could not be written leaves revocations off the host too.
        let revoked = result.drift.filter { ($0.kind == .revokedKey || $0.kind == .krlStale) && !$0.repairable }
        guard !unread.isEmpty || !revoked.isEmpty else { return }
        let reasons = (unread + revoked).map { "\($0.account): \($0.detail)" }
        let message = "\(label): " + reasons.joined(separator: "; ")
        result.error = result.error.map { $0 + "; " + message } ?? message
        if result.status != .failed {
            result.errorKind = unread.contains { $0.kind == .fileTooLarge } ? .fileTooLarge : .revocationBlocked
            result.status = .failed
        }
    }

    /// The key the lockout guard protects: the one the server accepted on
    /// this connection (with `agent: true`, the agent key that worked), else
    /// the identity's own public key.
    static func loginKeyFingerprint(_ connection: SSHConnection, _ identity: SSHIdentity) -> String? {
        connection.authenticatedKey?.fingerprint ?? identity.publicKey?.fingerprint
    }

    /// How `job` reached its host, which presented `hostKey`: recorded in the
    /// database, so `keysync decommission` can reach it after it left the inventory.
    static func endpoint(_ job: HostJob, hostKey: PublicKey?) -> Store.HostEndpoint {
        var identity: String?
        if case .file(let path) = job.identity { identity = path }
        var knownHosts: String?
        switch job.endpoint.hostKeyPolicy {
        case .knownHosts(let path), .acceptNew(let path): knownHosts = path
        case .recorded: knownHosts = nil
        }
        return Store.HostEndpoint(address: job.endpoint.address, port: job.endpoint.port, user: job.endpoint.user,
                                  identity: identity, become: job.become.rawValue,
                                  connectTimeout: job.endpoint.connectTimeout, commandTimeout: job.commandTimeout,
                                  hostKey: hostKey.map { "\($0.type) \($0.base64)" }, knownHosts: knownHosts,
                                  jumps: job.jumps.map(Store.RecordedJump.init))
    }

    /// Why nothing may be written on this host, or nil: writes need root and setpriv.
    static func writeRefusal(_ probe: HostProbe, job: HostJob) -> HostResult? {
        let label = job.endpoint.label
        if probe.euid != 0 {
            return .failed(job.host, kind: .sudoFailed,
                           error: "\(label): the probe did not run as root (euid \(probe.euid.map(String.init) ?? "?")); use become: sudo, or log in as root with become: none; nothing changed")
        }
        if !probe.hasSetpriv {
            return .failed(job.host, kind: .applyFailed,
                           error: "\(label): setpriv (util-linux) is missing; keysync writes files as the account with it; nothing changed")
        }
        return nil
    }

    /// A failed host as an `Error`, for `Result`.
    struct Failure: Error {
        let result: HostResult
        /// An apply that stopped part way: what it reported before (``ApplyScript/partialOutcomes(from:nonce:)``).
        var outcomes: [String: ApplyOutcome] = [:]
    }

    /// Runs the apply script for `applies` and parses one outcome per
    /// account (logged as the host's `apply` phase): in `shell`, the probe's
    /// root shell, when there is one, else in a new root shell.
    /// With `namingStalls` (push, which retries without the account): a
    /// timeout inside an account's commands as that account fails the host
    /// `account_stalled` with what the apply reported before it.
    func runApply(_ applies: [AccountApply], rootFiles: [FileWrite] = [], on connection: SSHConnection,
                  in shell: ProbeShell? = nil, job: HostJob, namingStalls: Bool = false) -> Result<[String: ApplyOutcome], Failure> {
        let phase = HostPhaseLog(logger: settings.logger, host: job.host).start(.apply)
        let result = Self.applyScript(applies, rootFiles: rootFiles, on: connection, in: shell, job: job, namingStalls: namingStalls)
        phase.end(ok: (try? result.get()) != nil)
        return result
    }

    /// Why a host's apply stopped in `account`'s part (``ApplyScript/stalledAccount(in:nonce:)``).
    static func applyStallText(_ account: String, label: String, seconds: Double) -> String {
        "\(label): the apply did not finish for \(account) in \(Int(seconds)) s (command_timeout): a process of that account stopped "
            + "keysync's write as \(account), or its home never answers (a FUSE or hung NFS mount); the files before it were written"
    }

    /// One result line per account and step: a megabyte is far more than a real apply prints.
    static let applyOutputLimit = 1 << 20

    private static func applyScript(_ applies: [AccountApply], rootFiles: [FileWrite], on connection: SSHConnection,
                                    in shell: ProbeShell?, job: HostJob, namingStalls: Bool) -> Result<[String: ApplyOutcome], Failure> {
        let label = job.endpoint.label
        let nonce = ProbeScript.makeNonce()
        // Kept for a timeout: its partial reply says which account the apply stopped in.
        var running: (command: RemoteCommand, skip: Int)?
        do {
            let script = Array(ApplyScript.render(applies, nonce: nonce, rootFiles: rootFiles).utf8)
            guard let shell else {
                let command = try connection.start(job.become.shellCommand, timeout: job.commandTimeout, outputLimit: applyOutputLimit)
                running = (command, 0)
                command.send(script)
                let reply = try command.finish()
                if let failure = becomeFailure(reply, label: label, become: job.become) { return .failure(Failure(result: failure.named(job.host))) }
                return .success(try ApplyScript.outcomes(from: reply.stdout, nonce: nonce))
            }
            // The shell is root already (sudo succeeded for the probe): the
            // apply's own command_timeout starts now, the planning before it
            // does not count. EOF after the script: the shell exits when it is done.
            running = (shell.command, shell.replyLength)
            shell.command.restart(timeout: job.commandTimeout, outputLimit: applyOutputLimit)
            shell.command.send(script)
            let reply = try shell.command.finish()
            return .success(try ApplyScript.outcomes(from: reply, after: shell.replyLength, nonce: nonce))
        } catch let error as SSHError {
            // The account whose commands were under way for at least half
            // the timeout (a slow step before them does not blame it).
            if namingStalls, error.kind == .commandTimeout, let running {
                let partial = Array(running.command.stdout.dropFirst(running.skip))
                if let (account, marker) = ApplyScript.stalledAccount(in: partial, nonce: nonce),
                   (running.command.seconds(since: running.skip + marker) ?? 0) >= job.commandTimeout / 2 {
                    var result = HostResult.failed(job.host, kind: .accountStalled, error: applyStallText(account, label: label, seconds: job.commandTimeout))
                    result.stalledAccount = account
                    return .failure(Failure(result: result, outcomes: ApplyScript.partialOutcomes(from: partial, nonce: nonce)))
                }
            }
            return .failure(Failure(result: .failed(job.host, kind: error.kind,
                                                    error: "\(error.description) (during apply; the file is either old or new, never partial)")))
        } catch {
            return .failure(Failure(result: .failed(job.host, kind: .applyFailed, error: "\(label): \(error)")))
        }
    }

    /// What an apply reply says about `applies`: the hashes written (by path),
    /// the compare-and-swap conflicts, and one message per account not applied.
    struct AppliedOutcomes {
        var written: [String: String] = [:]
        var conflicts: [(account: String, reason: String)] = []
        var problems: [String] = []
    }

    static func collect(_ outcomes: [String: ApplyOutcome], for applies: [AccountApply]) -> AppliedOutcomes {
        var applied = AppliedOutcomes()
        for apply in applies {
            switch outcomes[apply.account] {
            case .written(let hash)?:
                if let path = apply.write?.path { applied.written[path] = hash }
            case .done?:
                break
            case .conflict(let reason)?:
                applied.conflicts.append((apply.account, reason))
                applied.problems.append("\(apply.account): conflict: \(reason)")
            case .failed(let reason)?:
                applied.problems.append("\(apply.account): \(reason)")
            case nil:
                applied.problems.append("\(apply.account): no result from apply")
            }
        }
        return applied
    }

    /// Drift that push reports but does not repair.
    private func unresolved(_ drift: [DriftItem]) -> [DriftItem] {
        drift.filter { !$0.repairable }
    }

    /// Recognises sudo asking for a password or missing, before parsing.
    static func becomeFailure(_ reply: ExecResult, label: String, become: Become) -> HostResult? {
        guard reply.exitStatus != 0 || reply.stdout.isEmpty else { return nil }
        let stderr = reply.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
        let starts = reply.stdout.starts(with: Array(ProbeScript.marker.utf8)) || reply.stdout.starts(with: Array(ApplyScript.marker.utf8))
        if starts && reply.exitStatus == 0 { return nil }
        if become == .sudo && (stderr.contains("sudo:") || reply.exitStatus == 127 || reply.exitStatus == 1 && !starts) {
            let reason: String
            if stderr.contains("password is required") || stderr.contains("a terminal is required") {
                reason = "sudo asks for a password; give the login user NOPASSWD sudo (or become: none when logging in as root)"
            } else if reply.exitStatus == 127 || stderr.contains("not found") {
                reason = "sudo is not installed on the host"
            } else {
                reason = "sudo failed: \(stderr.prefix(300))"
            }
            return .failed("", kind: .sudoFailed, error: "\(label): \(reason); nothing changed")
        }
        guard starts else {
            return .failed("", kind: .probeFailed, error: "\(label): remote shell failed (exit \(reply.exitStatus)): \(stderr.prefix(300))")
        }
        return nil
    }
}

extension HostResult {
    func named(_ host: String) -> HostResult {
        var copy = self
        copy.host = host
        return copy
    }
}

/// A flag shared between a signal handler and the workers.
public final class Cancellation: Sendable {
    private let cancelled = Mutex(false)

    public init() {}

    public var isCancelled: Bool { cancelled.withLock { $0 } }

    public func cancel() { cancelled.withLock { $0 = true } }
}
