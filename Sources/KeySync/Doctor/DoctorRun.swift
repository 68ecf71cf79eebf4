import Foundation

/// One `keysync doctor`: per selected host one connection and one read-only
/// probe with diagnostics (the engine's own connection code), then pure
/// analysis per account. Never writes on a host or in the database.
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

        public init(parallel: Int = 64, key: String? = nil, diagnostics: ProbeScript.Diagnostics = .init(),
                    tryLogin: String? = nil, rotations: RotationOverlay? = nil) {
            self.parallel = parallel
            self.key = key
            self.diagnostics = diagnostics
            self.tryLogin = tryLogin
            self.rotations = rotations
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

    /// Probes every host (at most `parallel` at once) and examines each account.
    /// Throws only when the `--try-login` key cannot be loaded.
    public func execute(cancellation: Cancellation = Cancellation(), now: Date = Date(),
                        passphrase: @escaping (String) -> String? = { _ in nil },
                        progress: (@Sendable (ParallelRunner.Progress, DoctorReport.Host) -> Void)? = nil) throws(SSHError) -> DoctorReport {
        let started = Date()
        let loginIdentity = try options.tryLogin.map { path throws(SSHError) in
            try SSHIdentity.load(.file(path: path)) { passphrase(path) }
        }
        let targets = options.rotations?.apply(to: targets) ?? targets
        let jobs = SyncRun(inventory: inventory, targets: targets, settings: SyncEngine.Settings(mode: .check)).jobs
        let engine = SyncEngine(jobs: jobs, settings: SyncEngine.Settings(mode: .check, parallel: options.parallel),
                                cancellation: cancellation, passphrase: passphrase)
        let options = self.options
        let hosts = ParallelRunner(width: options.parallel).run(jobs, onResult: { _, host, done in progress?(done, host) }) { job in
            guard !cancellation.isCancelled else {
                return DoctorReport.Host(host: job.host, error: "\(job.host): not started (interrupted)", accounts: [])
            }
            let logins = loginIdentity.map { identity in
                Dictionary(uniqueKeysWithValues: job.accounts.map { ($0.name, Self.tryLogin(job, account: $0.name, identity: identity, hostKeys: engine.hostKeys)) })
            }
            switch engine.connectAndProbe(job, diagnostics: options.diagnostics) {
            case .failed(let result):
                return DoctorReport.Host(host: job.host, error: result.error ?? "\(job.host): probe failed", accounts: [])
            case .probed(let probed):
                probed.connection.close()
                let context = Doctor.Context(host: job.host, key: options.key, now: now)
                return DoctorReport.Host(host: job.host, accounts: job.accounts.map { account in
                    var findings = Doctor.examine(account, probe: probed.probe, context: context)
                    if let login = logins?[account.name] { findings.insert(login, at: login.severity == .error ? 0 : findings.count) }
                    return DoctorReport.Account(account: account.name, findings: findings)
                })
            }
        }
        return DoctorReport(hosts: hosts, seconds: Date().timeIntervalSince(started).milliseconds,
                            interrupted: cancellation.isCancelled)
    }

    /// A real login as `account` with `identity`, running `true`: what the server answered.
    static func tryLogin(_ job: HostJob, account: String, identity: SSHIdentity, hostKeys: HostKeyVerifier) -> DoctorFinding {
        var endpoint = job.endpoint
        endpoint.user = account
        let key = identity.publicKey.map { "\($0.type) \($0.fingerprint)" } ?? identity.label
        do {
            let connection = try SSHConnection(endpoint: endpoint, hostKeys: hostKeys)
            defer { connection.close() }
            try connection.authenticate(with: identity)
            let reply = try connection.exec("true", timeout: job.commandTimeout)
            let output = (reply.stderrText + reply.stdoutText).split(separator: "\n").map { "server: \($0)" }
            guard reply.exitStatus == 0 else {
                return DoctorFinding(.error, .loginFailed, "\(account) logged in with \(key), but running `true` failed (exit \(reply.exitStatus)): the session is refused after authentication",
                                     evidence: output)
            }
            return DoctorFinding(.info, .loginWorks, "\(account) logged in with \(key) and ran `true`", evidence: output)
        } catch {
            return DoctorFinding(.error, .loginFailed, "logging in as \(account) with \(key) failed", evidence: ["client: \(error.description)"])
        }
    }
}
