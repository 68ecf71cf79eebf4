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
    /// Jump hosts on the way (`jump:`), outermost first; empty: direct.
    public var jumps: [JumpHop]

    public init(host: String, endpoint: SSHEndpoint, identity: SSHIdentitySource, become: Become,
                commandTimeout: Double, accounts: [AccountTarget], projectScope: Set<String>? = nil,
                jumps: [JumpHop] = []) {
        self.host = host
        self.endpoint = endpoint
        self.identity = identity
        self.become = become
        self.commandTimeout = commandTimeout
        self.accounts = accounts
        self.projectScope = projectScope
        self.jumps = jumps
    }

    /// Every identity the job logs in with: its own, then the jump hosts'.
    var allIdentities: [SSHIdentitySource] { [identity] + jumps.map(\.identity) }
}
