import Foundation

/// A host with `defaults` and built-in defaults applied: everything needed to connect.
public struct InventoryHost: Hashable, Sendable {
    /// The host's name in the inventory (its key under `hosts`).
    public var name: String
    /// IPv4, IPv6 (no brackets) or DNS name, as written.
    public var address: String
    /// SSH port; built-in default 22.
    public var port: Int = 22
    /// Login user. There is no built-in default: a host needs `user` itself or in `defaults`.
    public var user: String
    /// How to authenticate; built-in default `.identity("~/.ssh/id_ed25519")` (expanded).
    public var credential: SSHCredential
    /// OpenSSH known_hosts file (absolute path); built-in default `~/.ssh/known_hosts`.
    public var knownHosts: String
    /// How commands gain root; built-in default `.sudo`.
    public var become: Become = .sudo
    /// Seconds allowed to connect and authenticate; built-in default 10.
    public var connectTimeout: Double = 10
    /// Seconds allowed for each remote command (probe, apply); built-in default 30.
    public var commandTimeout: Double = 30
    /// The groups the host belongs to, as listed.
    public var groups: [String] = []
    /// The jump hosts keysync reaches it through (`jump:`), outermost first; empty: directly.
    public var jumps: [InventoryJump] = []
    /// `manage_sshd: true`: keysync writes sshd's drop-in
    /// (``SSHDDropIn/path``) that points sshd at the files under
    /// `/etc/ssh/keysync`, validates it and reloads sshd (docs/certificates.md).
    public var manageSSHD = false
}

/// How keysync authenticates to a host.
public enum SSHCredential: Hashable, Sendable {
    /// A private key file, absolute path (`identity:`).
    case identity(path: String)
    /// The keys held by the agent at `SSH_AUTH_SOCK` (`agent: true`).
    case agent
}

/// How commands gain root on a host (`become:`).
public enum Become: String, Hashable, Sendable, CaseIterable {
    /// `sudo -n sh -s`: non-interactive sudo from the login user.
    case sudo
    /// `sh -s` directly: the login user is root. Written `none` in the inventory.
    case direct = "none"
}

/// A named key from `keys`, loaded and fingerprinted.
public struct InventoryKey: Hashable, Sendable {
    /// The key's name, e.g. `kp-usersample`.
    public var name: String
    /// The public key (from `public:`, or derived from the `file:`).
    public var publicKey: PublicKey
    /// `SHA256:…` fingerprint of `publicKey`.
    public var fingerprint: String
    /// The validated `options:` text for its `authorized_keys` line, if any.
    public var options: String?
    /// Absolute path of the `file:` it was read from; nil for an inline `public:`.
    public var file: String?

    /// Creates a key entry; the fingerprint is computed.
    public init(name: String, publicKey: PublicKey, options: String? = nil, file: String? = nil) {
        self.name = name
        self.publicKey = publicKey
        self.fingerprint = publicKey.fingerprint
        self.options = options
        self.file = file
    }
}

/// A project: the hosts it targets and its role accounts.
public struct InventoryProject: Hashable, Sendable {
    /// The project's name (`project=` in block markers).
    public var name: String
    /// Host names after expanding `group:NAME`, without repeats, in the order referenced.
    public var hosts: [String]
    /// The roles, in file order.
    public var roles: [InventoryRole]
}

/// A role of a project: one account and the keys granted to it.
public struct InventoryRole: Hashable, Sendable {
    /// The role's name (`role=` in block markers).
    public var name: String
    /// The Unix account; defaults to the role name.
    public var account: String
    /// Wanted uid, used when creating the account and checked against it.
    public var uid: UInt32?
    /// Wanted primary gid.
    public var gid: UInt32?
    /// Primary group name.
    public var group: String?
    /// Login shell (absolute path).
    public var shell: String?
    /// Home folder (absolute path).
    public var home: String?
    /// Create the group and user when missing (default false).
    public var create: Bool
    /// Key names granted, in order.
    public var keys: [String]
    /// The file may hold only managed keys (default false).
    public var exclusive: Bool
    /// When the grant of a key ends (`{ key: NAME, until: DATE }`, or the
    /// `until:` of the person it came from), by key name; keys granted
    /// without an end are absent.
    public var until: [String: Date] = [:]
    /// People granted (`people:`), in order, without those who have left.
    /// Their keys are also in `keys`, after the role's own, without repeats.
    public var people: [String] = []
    /// `adopt: true`: a line outside every block that already holds one of
    /// the role's keys with the same options is moved into the role's block
    /// as it is, byte for byte, instead of a second copy being added (what
    /// `keysync adopt` drafts; docs/adopting.md). Off by default: a normal
    /// push never takes a line it did not write.
    public var adopt: Bool = false
    /// Certificate principals that may log in as the account (`principals:`),
    /// in order, without repeats: the lines of its AuthorizedPrincipalsFile.
    public var principals: [String] = []
    /// Names of the certificate authorities this role trusts (`trusted_cas:`),
    /// in order, without repeats.
    public var trustedCAs: [String] = []
    /// Where each granted key is named in the inventory, by key name: its
    /// item under `keys:`, or the person under `people:` it came from
    /// (`review` shows it; `review --propose-removals` edits there).
    public var grantSources: [String: GrantSource] = [:]
}

/// Where a role's grant of a key is written in the inventory.
public struct GrantSource: Hashable, Sendable {
    /// 1-based line and column of the key name (or of the person's name).
    public var line: Int
    public var column: Int
    /// The person under the role's `people:` that granted the key; nil: the role's own `keys:`.
    public var person: String?

    public init(line: Int, column: Int, person: String? = nil) {
        (self.line, self.column, self.person) = (line, column, person)
    }
}
