/// One jump host on the way to a host (`jump:` in the inventory, OpenSSH's
/// `ProxyJump`): where it is, how its key is checked and how keysync logs in.
public struct JumpHop: Hashable, Sendable {
    /// The jump host's address, port, login user, connect timeout and host-key policy.
    public var endpoint: SSHEndpoint
    /// How keysync authenticates to the jump host.
    public var identity: SSHIdentitySource

    /// A hop.
    public init(endpoint: SSHEndpoint, identity: SSHIdentitySource) {
        self.endpoint = endpoint
        self.identity = identity
    }
}
