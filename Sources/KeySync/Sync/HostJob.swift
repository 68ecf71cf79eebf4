extension Become {
    /// The remote command that runs a script from stdin. `$SSH_CLIENT` is
    /// expanded by the login shell and passed as `$1` (for `sshd -T -C addr=`).
    var shellCommand: String {
        switch self {
        case .sudo: return "sudo -n sh -s -- \"$SSH_CLIENT\""
        case .direct: return "sh -s -- \"$SSH_CLIENT\""
        }
    }
}

/// Everything needed to converge or check one host.
public struct HostJob: Hashable, Sendable {
    /// Inventory host name.
    public var host: String
    public var endpoint: SSHEndpoint
    public var identity: SSHIdentitySource
    public var become: Become
    public var commandTimeout: Double
    public var accounts: [AccountTarget]
    /// Selected projects (nil: all); see `HostTarget.projectScope`.
    public var projectScope: Set<String>?
    /// Files under `/etc/ssh/keysync/` this host must hold (``RootFiles``; empty: none managed).
    public var rootFiles: [RootFile]
    /// push and check: also read sshd's log since the last scan (last use of keys); nil: not.
    public var logins: ProbeScript.Logins?
    /// Revoked keys keysync has seen on this host before, as `[account,
    /// fingerprint]` (the database's `host_keys`): a login with one of them
    /// is explained by that copy, which was there or was removed since
    /// (``SyncEngine/revokedKeysUsed(_:revoked:found:seen:)``).
    public var revokedSeen: Set<[String]> = []
    /// Jump hosts on the way (`jump:`), outermost first; empty: direct.
    public var jumps: [JumpHop]
    /// What the files keysync left under `/etc/ssh/keysync/` that this job
    /// does not plan must hold (``RootFiles/sweep(in:)``); nil: not looked for.
    public var rootFileSweep: RootFiles.Sweep?
    /// `manage_sshd: true` and a drop-in to write (``SSHDDropIn``); nil: sshd_config is not touched.
    public var sshd: SSHDManagement?

    /// sshd's drop-in for one host.
    public struct SSHDManagement: Hashable, Sendable {
        /// The bytes ``SSHDDropIn/path`` must hold.
        public var content: [UInt8]
        /// Why this run must not change the drop-in (`--canary`: not this
        /// host's turn yet); nil: it may.
        public var heldBack: String?

        public init(content: [UInt8], heldBack: String? = nil) {
            self.content = content
            self.heldBack = heldBack
        }
    }

    /// The paths the probe reads as root files: the files under
    /// `/etc/ssh/keysync/`, and with manage_sshd the drop-in and sshd_config.
    var probedRootFiles: [String] {
        rootFiles.map(\.path) + (sshd == nil ? [] : [SSHDDropIn.path, SSHDDropIn.mainConfig])
    }

    public init(host: String, endpoint: SSHEndpoint, identity: SSHIdentitySource, become: Become,
                commandTimeout: Double, accounts: [AccountTarget], projectScope: Set<String>? = nil,
                rootFiles: [RootFile] = [], jumps: [JumpHop] = []) {
        self.host = host
        self.endpoint = endpoint
        self.identity = identity
        self.become = become
        self.commandTimeout = commandTimeout
        self.accounts = accounts
        self.projectScope = projectScope
        self.rootFiles = rootFiles
        self.jumps = jumps
    }

    /// Every identity the job logs in with: its own, then the jump hosts'.
    var allIdentities: [SSHIdentitySource] { [identity] + jumps.map(\.identity) }
}

extension SSHIdentitySource {
    /// How to log in with an inventory credential (`identity:` or `agent: true`).
    init(_ credential: SSHCredential) {
        switch credential {
        case .identity(let path): self = .file(path: path)
        case .agent: self = .agent(socketPath: nil)
        }
    }
}

extension JumpHop {
    /// The hop for an inventory jump host. Its host key is always checked
    /// strictly against its known_hosts (`--accept-new-host-keys` trusts
    /// new targets, never the way to them).
    init(_ jump: InventoryJump) {
        self.init(endpoint: SSHEndpoint(name: jump.name, address: jump.address, port: jump.port, user: jump.user,
                                        connectTimeout: jump.connectTimeout, hostKeyPolicy: .knownHosts(path: jump.knownHosts)),
                  identity: SSHIdentitySource(jump.credential))
    }
}

extension Store.RecordedJump {
    /// How `hop` was reached, for the database (`managed_hosts.jumps`).
    init(_ hop: JumpHop) {
        var identity: String?
        if case .file(let path) = hop.identity { identity = path }
        self.init(name: hop.endpoint.name, address: hop.endpoint.address, port: hop.endpoint.port, user: hop.endpoint.user,
                  identity: identity, knownHosts: hop.endpoint.hostKeyPolicy.path, connectTimeout: hop.endpoint.connectTimeout)
    }
}

extension JumpHop {
    /// The hop a run recorded (`keysync decommission`), its key checked
    /// strictly against the known_hosts file it was checked against then.
    init(_ recorded: Store.RecordedJump) {
        self.init(endpoint: SSHEndpoint(name: recorded.name, address: recorded.address, port: recorded.port, user: recorded.user,
                                        connectTimeout: recorded.connectTimeout, hostKeyPolicy: .knownHosts(path: recorded.knownHosts)),
                  identity: recorded.identity.map { .file(path: $0) } ?? .agent(socketPath: nil))
    }
}
