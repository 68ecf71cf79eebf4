extension SyncEngine {
    /// A host that answered the probe; the connection is still open and the caller closes it.
    struct ProbedHost {
        let connection: SSHConnection
        let identity: SSHIdentity
        let probe: HostProbe
        /// With `keepShell`: the root shell that ran the probe, waiting for
        /// more input after its reply, for the apply (`runApply(_:rootFiles:on:in:job:)`).
        var shell: ProbeShell?
    }

    /// The probe's shell, left reading its input after the reply.
    struct ProbeShell {
        let command: RemoteCommand
        /// Bytes of stdout that were the probe's reply; the apply's reply follows them.
        let replyLength: Int
    }

    /// The probe's outcome for one host.
    enum ProbeOutcome {
        case probed(ProbedHost)
        /// Connecting, authenticating, becoming root or the probe failed; nothing stays open.
        case failed(HostResult)
    }

    /// Connects to `job`'s host, authenticates and runs the read-only probe
    /// (with the doctor part when `diagnostics` is set): the first half of
    /// `converge`, shared with `keysync doctor`. With `keepShell` (push),
    /// the shell that ran the probe keeps reading its input after the reply,
    /// which ends with a nonce line no file content can fake, so an apply
    /// sent next runs without a second `sudo`, shell and channel; the
    /// caller sends it or abandons the shell (docs/sync.md, "One shell for
    /// probe and apply").
    func connectAndProbe(_ job: HostJob, diagnostics: ProbeScript.Diagnostics? = nil, keepShell: Bool = false) -> ProbeOutcome {
        let connected: (connection: SSHConnection, identity: SSHIdentity)
        do { connected = try connectAuthenticated(job).get() } catch { return .failed(error.result) }
        let phase = HostPhaseLog(logger: settings.logger, host: job.host).start(.probe)
        let outcome = probe(job, on: connected.connection, identity: connected.identity, diagnostics: diagnostics,
                            keepShell: keepShell)
        if case .probed = outcome { phase.end(ok: true) } else { phase.end(ok: false) }
        return outcome
    }

    /// `job`'s identity and a connection authenticated with it (push, doctor,
    /// adopt and offboard all start so); the failure is the host's result:
    /// the identity did not load, or connecting or the login failed.
    func connectAuthenticated(_ job: HostJob) -> Result<(connection: SSHConnection, identity: SSHIdentity), Failure> {
        let identity: SSHIdentity
        switch identities[job.identity] {
        case .success(let loaded)?: identity = loaded
        case .failure(let error)?: return .failure(Failure(result: .failed(job.host, kind: error.kind, error: error.description)))
        case nil: return .failure(Failure(result: .failed(job.host, kind: .authFailed, error: "\(job.host): no identity")))
        }
        do {
            return .success((try connect(job, identity: identity), identity))
        } catch {
            return .failure(Failure(result: .failed(job.host, kind: error.kind, error: error.description)))
        }
    }

    /// An authenticated connection to `job`'s host as push and check make
    /// theirs (host key checked; through `job.jumps` on this worker thread's
    /// jump host connections): for `keysync-bench stress`.
    public func authenticatedConnection(_ job: HostJob) throws(SSHError) -> SSHConnection {
        switch identities[job.identity] {
        case .success(let identity)?: return try connect(job, identity: identity)
        case .failure(let error)?: throw error
        case nil: throw .identity(path: "\(job.identity)", reason: "not loaded")
        }
    }

    /// Opens a connection to `job`'s host (host key checked) and
    /// authenticates with `identity`, logging both phases.
    func connect(_ job: HostJob, identity: SSHIdentity) throws(SSHError) -> SSHConnection {
        let log = HostPhaseLog(logger: settings.logger, host: job.host)
        let connection = try log.measure(.connect) { () throws(SSHError) in
            try open(job.endpoint, through: job.jumps)
        }
        try log.measure(.auth) { () throws(SSHError) in try connection.authenticate(with: identity) }
        return connection
    }

    /// A connection to `endpoint` (host key checked, not authenticated):
    /// direct, or through the jump hosts `jumps` (outermost first) with
    /// this worker's connections to them (see ``JumpPool``).
    func open(_ endpoint: SSHEndpoint, through jumps: [JumpHop]) throws(SSHError) -> SSHConnection {
        guard !jumps.isEmpty else { return try SSHConnection(endpoint: endpoint, hostKeys: hostKeys) }
        let identities = identities
        return try jumpPool.connect(to: endpoint, through: jumps, hostKeys: hostKeys) { source in
            identities[source] ?? .failure(.identity(path: "\(source)", reason: "not loaded"))
        }
    }

    /// Runs the probe on an authenticated `connection`, which is closed when it fails.
    private func probe(_ job: HostJob, on connection: SSHConnection, identity: SSHIdentity,
                       diagnostics: ProbeScript.Diagnostics?, keepShell: Bool) -> ProbeOutcome {
        let label = job.endpoint.label
        let requests = job.accounts.map { ProbeRequest(account: $0.name, uid: $0.uid.map(Int.init), gid: $0.gid.map(Int.init), group: $0.groupName) }
        let nonce = ProbeScript.makeNonce()
        // Kept for a timeout: its partial reply says where the probe stopped.
        var running: RemoteCommand?
        do {
            // sshd's version only matters where a grant ends later (doctor asks for it anyway).
            let ends = diagnostics != nil ? [] : job.accounts.flatMap { $0.blocks.flatMap(\.entries) }
                .compactMap(\.until).filter { until in settings.plan.now.map { until > $0 } ?? true }
                .map { Int($0.timeIntervalSince1970.rounded(.down)) }
            let logins = diagnostics == nil ? job.logins : nil
            let sweep = diagnostics == nil && job.rootFileSweep != nil
            let script = ProbeScript.render(requests, nonce: nonce, diagnostics: diagnostics, grantEnds: ends,
                                            rootFiles: job.probedRootFiles, sweepRootFiles: sweep, logins: logins)
            let limit = ProbeScript.replyLimit(accounts: requests.count + job.probedRootFiles.count + (sweep ? RootFiles.Sweep.replyFiles : 0),
                                               diagnostics: diagnostics != nil)
                + (logins == nil ? 0 : ProbeScript.Logins.replyBytes)
            let reply: ExecResult
            var shell: ProbeShell?
            let command = try connection.start(job.become.shellCommand, timeout: job.commandTimeout, outputLimit: limit)
            running = command
            command.send(Array(script.utf8))
            if keepShell {
                if try command.read(untilStdoutEndsWith: ProbeScript.endMarker(nonce: nonce)) {
                    // The probe ran to its end line; its shell now waits for the apply or EOF.
                    reply = ExecResult(stdout: command.stdout, stderr: command.stderr, exitStatus: 0)
                    shell = ProbeShell(command: command, replyLength: command.stdout.count)
                } else {
                    // It ended without the end line (sudo refused, the shell failed): as a plain exec.
                    reply = try command.finish()
                }
            } else {
                reply = try command.finish()
            }
            if let failure = Self.becomeFailure(reply, label: label, become: job.become) {
                connection.close()
                return .failed(failure.named(job.host))
            }
            return .probed(ProbedHost(connection: connection, identity: identity, probe: try HostProbe(reply: reply.stdout, nonce: nonce),
                                      shell: shell))
        } catch let error as SSHError {
            connection.close()
            // Named only when its read was open for at least half the
            // timeout, bytes or no bytes (a read that dribbles is held too):
            // a slow read before it does not put the blame on the next one.
            if error.kind == .commandTimeout, let running, let (account, frame) = HostProbe.stalledAccount(in: running.stdout, nonce: nonce),
               (running.seconds(since: frame) ?? 0) >= job.commandTimeout / 2 {
                var result = HostResult.failed(job.host, kind: .accountStalled, error: Self.stallText(account, label: label, seconds: job.commandTimeout))
                result.stalledAccount = account
                return .failed(result)
            }
            return .failed(.failed(job.host, kind: error.kind, error: error.description))
        } catch {
            connection.close()
            return .failed(.failed(job.host, kind: .probeFailed, error: "\(label): \(error)"))
        }
    }

    /// Why a host's probe stopped in `account`'s part (``HostProbe/stalledAccount(in:nonce:)``).
    static func stallText(_ account: String, label: String, seconds: Double) -> String {
        "\(label): reading the keys file of \(account) as \(account) did not finish in \(Int(seconds)) s (command_timeout): "
            + "a process of that account stopped keysync's read, or the file never answers (a FUSE or hung NFS mount in its home)"
    }
}
