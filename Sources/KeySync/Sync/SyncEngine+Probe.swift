extension SyncEngine {
    /// A host that answered the probe; the connection is still open and the caller closes it.
    struct ProbedHost {
        let connection: SSHConnection
        let identity: SSHIdentity
        let probe: HostProbe
        /// With `keepShell`: the root shell that ran the probe, still reading
        /// its input, for the apply script (`runApply(_:in:job:)`).
        var shell: ProbeShell?
    }

    /// The probe's shell left waiting for more input after its reply.
    struct ProbeShell {
        let command: RemoteCommand
        /// Bytes of stdout that were the probe's reply.
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
    /// `converge`, shared with `keysync doctor`. With `keepShell`, the shell
    /// that ran the probe keeps reading its input after the reply (which ends
    /// with a nonce line no file content can fake), so an apply script sent
    /// next runs without a second `sudo` and channel.
    func connectAndProbe(_ job: HostJob, diagnostics: ProbeScript.Diagnostics? = nil, keepShell: Bool = false) -> ProbeOutcome {
        let identity: SSHIdentity
        switch identities[job.identity] {
        case .success(let loaded)?: identity = loaded
        case .failure(let error)?: return .failed(.failed(job.host, kind: error.kind, error: error.description))
        case nil: return .failed(.failed(job.host, kind: "auth_failed", error: "\(job.host): no identity"))
        }
        let connection: SSHConnection
        do {
            connection = try SSHConnection(endpoint: job.endpoint, hostKeys: hostKeys)
            try connection.authenticate(with: identity)
        } catch {
            return .failed(.failed(job.host, kind: error.kind, error: error.description))
        }
        let label = job.endpoint.label
        let requests = job.accounts.map { ProbeRequest(account: $0.name, uid: $0.uid.map(Int.init), gid: $0.gid.map(Int.init), group: $0.groupName) }
        do {
            let nonce = ProbeScript.makeNonce()
            let script = ProbeScript.render(requests, nonce: nonce, diagnostics: diagnostics)
            let command = try connection.start(job.become.shellCommand, timeout: job.commandTimeout)
            command.send(Array(script.utf8))
            if !keepShell { command.closeInput() }
            let replied = try command.read(untilStdoutEndsWith: ProbeScript.endLine(nonce: nonce))
            let reply = keepShell && replied
                ? ExecResult(stdout: command.stdout, stderr: command.stderr, exitStatus: 0)
                : try command.finish()
            if let failure = Self.becomeFailure(reply, label: label, become: job.become) {
                connection.close()
                return .failed(failure.named(job.host))
            }
            let shell = keepShell && replied ? ProbeShell(command: command, replyLength: reply.stdout.count) : nil
            return .probed(ProbedHost(connection: connection, identity: identity, probe: try HostProbe(reply: reply.stdout),
                                      shell: shell))
        } catch let error as SSHError {
            connection.close()
            return .failed(.failed(job.host, kind: error.kind, error: error.description))
        } catch {
            connection.close()
            return .failed(.failed(job.host, kind: "probe_failed", error: "\(label): \(error)"))
        }
    }
}
