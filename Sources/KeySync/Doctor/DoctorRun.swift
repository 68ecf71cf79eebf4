import Foundation
import Logging

/// One `keysync doctor`: per selected host one connection and one read-only
/// probe with diagnostics (the engine's own connection code), then pure
/// analysis per account. Without `fix` it never writes on a host or in the
/// database; with `fix` see `DoctorRun+Fix.swift`.
public struct DoctorRun: Sendable {
    /// Settings beyond the selection.
    public struct Options: Sendable {
        /// Hosts in flight at once.
        public var parallel: Int
        /// Only findings about this inventory key (account-wide ones stay).
        public var key: String?
        /// Extra log files to search on the hosts, and lines kept per account.
        public var diagnostics: ProbeScript.Diagnostics
        /// A private key to log in with as each account (`--try-login`), before the probe.
        public var tryLogin: String?
        /// Keys under rotation, as push lays them over the inventory (old, old + new or new per host and account).
        public var rotations: RotationOverlay?
        /// `--fix`: apply the safe fixes (``DoctorFixPlan``), then diagnose again.
        public var fix: Bool
        /// The selection as typed, recorded with a `--fix` run.
        public var selectionText: String
        /// Where each host's phases are logged with their milliseconds (``HostPhase``).
        public var logger: Logger

        public init(parallel: Int = 64, key: String? = nil, diagnostics: ProbeScript.Diagnostics = .init(),
                    tryLogin: String? = nil, rotations: RotationOverlay? = nil, fix: Bool = false, selectionText: String = "",
                    logger: Logger = .disabled) {
            self.parallel = parallel
            self.key = key
            self.diagnostics = diagnostics
            self.tryLogin = tryLogin
            self.rotations = rotations
            self.fix = fix
            self.selectionText = selectionText
            self.logger = logger
        }
    }

    public var inventory: Inventory
    public var targets: [HostTarget]
    public var options: Options

    /// A run over `targets` (see ``narrow(_:account:key:)``).
    public init(inventory: Inventory, targets: [HostTarget], options: Options) {
        self.inventory = inventory
        self.targets = targets
        self.options = options
    }

    /// `targets` with only the account `account` and only accounts granted `key`; hosts left without accounts are dropped.
    public static func narrow(_ targets: [HostTarget], account: String?, key: String?) -> [HostTarget] {
        targets.compactMap { target in
            var target = target
            target.accounts = target.accounts.filter { candidate in
                (account == nil || candidate.name == account)
                    && (key == nil || candidate.blocks.contains { $0.entries.contains { $0.keyName == key } })
            }
            return target.accounts.isEmpty ? nil : target
        }
    }

    /// Probes every host (at most `parallel` at once) and examines each
    /// account; with `fix`, applies the safe fixes and examines again,
    /// recording a `doctor-fix` run in `store` when there is one.
    /// Throws when the `--try-login` key cannot be loaded (``SSHError``), when
    /// an identity or known_hosts file would fail every host (``SyncError``,
    /// before any is contacted), or when the run cannot be recorded (``StoreError``).
    public func execute(store: Store? = nil, cancellation: Cancellation = Cancellation(), now: Date = Date(),
                        passphrase: @escaping (String) -> String? = { _ in nil },
                        progress: (@Sendable (ParallelRunner.Progress, DoctorReport.Host) -> Void)? = nil) throws -> DoctorReport {
        let started = Date()
        // A certificate is explained, not used: a private key logs in.
        let certificate = try options.tryLogin.flatMap { path throws(SSHError) in try CertificateLogin.load(path: path) }
        let loginIdentity = try (certificate == nil ? options.tryLogin : nil).map { path throws(SSHError) in
            try SSHIdentity.load(.file(path: path)) { passphrase(path) }
        }
        let targets = options.rotations?.apply(to: targets) ?? targets
        let jobs = SyncRun(inventory: inventory, targets: targets, settings: SyncEngine.Settings(mode: .check)).jobs
        let mode: SyncEngine.Mode = options.fix ? .push : .check
        let engine = SyncEngine(jobs: jobs, settings: SyncEngine.Settings(mode: mode, parallel: options.parallel, logger: options.logger),
                                cancellation: cancellation, passphrase: passphrase)
        // A missing identity or known_hosts is bad input (exit 1, nothing recorded), as for push and check.
        if let problem = engine.inputProblem(jobs) { throw problem }
        let options = self.options
        let recorder = try options.fix ? FixRecorder(store: store, inventory: inventory, selection: options.selectionText, started: started) : nil
        let examiner = Examiner(options: options, now: now, loginIdentity: loginIdentity, engine: engine,
                                certificate: certificate, inventory: inventory)
        let hosts = ParallelRunner(width: options.parallel).run(jobs, onResult: { _, host, done in progress?(done, host) }) { job in
            guard !cancellation.isCancelled else {
                return DoctorReport.Host(host: job.host, error: "\(job.host): not started (interrupted)", accounts: [])
            }
            let logins = examiner.logins(job)
            switch engine.connectAndProbe(job, diagnostics: options.diagnostics) {
            case .failed(let result):
                recorder?.record(result, fixed: [])
                return DoctorReport.Host(host: job.host, error: result.error ?? "\(job.host): probe failed", accounts: [])
            case .probed(let probed):
                let accounts = examiner.examine(job, probed.probe, logins: logins)
                guard let recorder else {
                    probed.connection.close()
                    return DoctorReport.Host(host: job.host, accounts: accounts)
                }
                return Self.fix(job, probed: probed, before: accounts, engine: engine, examiner: examiner, recorder: recorder)
            }
        }
        let interrupted = cancellation.isCancelled
        let seconds = Date().timeIntervalSince(started).milliseconds
        guard let recorder else { return DoctorReport(hosts: hosts, seconds: seconds, interrupted: interrupted) }
        let runID = try recorder.finish(hosts, interrupted: interrupted)
        return DoctorReport(hosts: hosts, seconds: seconds, interrupted: interrupted, fix: true, run: runID)
    }

    /// Examines every account of a probed host, with the `--try-login` findings.
    struct Examiner: Sendable {
        let options: Options
        let now: Date
        let loginIdentity: SSHIdentity?
        /// Connects (through the job's jump hosts, if any) for `--try-login`.
        let engine: SyncEngine
        /// `--try-login CERT` with a user certificate: explained per account.
        var certificate: CertificateLogin? = nil
        var inventory: Inventory? = nil

        /// `--try-login` as each account of `job`, by account; nil without `--try-login`.
        func logins(_ job: HostJob) -> [String: DoctorFinding]? {
            loginIdentity.map { identity in
                Dictionary(uniqueKeysWithValues: job.accounts.map { ($0.name, DoctorRun.tryLogin(job, account: $0.name, identity: identity, engine: engine)) })
            }
        }

        func examine(_ job: HostJob, _ probe: HostProbe, logins: [String: DoctorFinding]?) -> [DoctorReport.Account] {
            let context = Doctor.Context(host: job.host, key: options.key, now: now, rootFiles: job.rootFiles, managesSSHD: job.sshd != nil)
            return job.accounts.map { account in
                var findings = Doctor.examine(account, probe: probe, context: context)
                if let login = logins?[account.name] { findings.insert(login, at: login.severity == .error ? 0 : findings.count) }
                if let certificate, let inventory {
                    let policy = CertificateLogin.Policy(account: account.name, host: job.host, inventory: inventory)
                    let explained = certificate.explain(account: account.name, host: job.host, policy: policy, probe: probe, now: now)
                    findings = explained.filter { $0.severity == .error } + findings + explained.filter { $0.severity != .error }
                }
                return DoctorReport.Account(account: account.name, findings: findings)
            }
        }
    }

    /// A real login as `account` with `identity`, running `true`: what the server answered.
    static func tryLogin(_ job: HostJob, account: String, identity: SSHIdentity, engine: SyncEngine) -> DoctorFinding {
        var endpoint = job.endpoint
        endpoint.user = account
        let key = identity.publicKey.map { "\($0.type) \($0.fingerprint)" } ?? identity.label
        do {
            let connection = try engine.open(endpoint, through: job.jumps)
            defer { connection.close() }
            try connection.authenticate(with: identity)
            // What the session prints is the account's (its ~/.ssh/rc, a shell
            // startup file): a banner is evidence, 64 MiB of it is not.
            let reply = try connection.exec("true", timeout: job.commandTimeout, outputLimit: 64 << 10)
            let lines = (reply.stderrText + reply.stdoutText).split(separator: "\n")
            let output = lines.prefix(20).map { "server: \($0.prefix(200))" } + (lines.count > 20 ? ["server: … \(lines.count - 20) more lines"] : [])
            guard reply.exitStatus == 0 else {
                return DoctorFinding(.error, .loginFailed, "\(account) logged in with \(key), but running `true` failed (exit \(reply.exitStatus)): the session is refused after authentication",
                                     evidence: output)
            }
            return DoctorFinding(.info, .loginWorks, "\(account) logged in with \(key) and ran `true`", evidence: output)
        } catch .channelFailed(_, let reason) where reason.hasPrefix("command output exceeds") {
            // The login worked; the session (its ~/.ssh/rc, a shell startup file) printed more than is kept.
            return DoctorFinding(.info, .loginWorks, "\(account) logged in with \(key); the session printed more than 64 KiB (not kept), so whether `true` ran is unknown",
                                 evidence: ["client: \(reason)"])
        } catch {
            return DoctorFinding(.error, .loginFailed, "logging in as \(account) with \(key) failed", evidence: ["client: \(error.description)"])
        }
    }
}
