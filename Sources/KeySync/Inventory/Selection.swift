import Foundation

/// One host to converge: its connection settings and the accounts keysync manages there.
public struct HostTarget: Hashable, Sendable {
    public var host: InventoryHost
    /// Managed accounts in inventory order (first project, then first role, that names them).
    public var accounts: [AccountTarget]
    /// The projects selected, or nil for all. With a set, blocks of projects
    /// outside it are left as they are; with nil, a block for a project/role
    /// that is not listed in `accounts` is stale.
    public var projectScope: Set<String>?
}

/// A Unix account on one host, merged from every role (of every project) that
/// names it there.
///
/// Merging: `uid`, `gid`, `group`, `shell` and `home` come from whichever roles
/// set them (the inventory is refused if two roles set different values);
/// `create` and `exclusive` are true if any role says so. The attributes are
/// merged over all projects on the host, even when a selection shows fewer
/// blocks, so they do not depend on the selection.
public struct AccountTarget: Hashable, Sendable {
    /// The account name.
    public var name: String
    public var uid: UInt32?
    public var gid: UInt32?
    /// Primary group name; nil when no role sets it.
    public var group: String?
    public var shell: String?
    public var home: String?
    /// Create the group and user if missing.
    public var create: Bool
    /// Only managed blocks may remain in the file.
    public var exclusive: Bool
    /// Desired managed blocks, one per project and role, in inventory order.
    public var blocks: [DesiredBlock]
    /// No selected role names this account here any more, but the database
    /// says keysync wrote blocks into it: it is read only to remove those
    /// blocks (and revoked keys), never created or otherwise judged.
    public var formerlyManaged = false
    /// With `--project`: the blocks of selected-out projects that the
    /// inventory maps to this account on this host. In an exclusive account
    /// any other block of a known project there is stale (one the account
    /// owner wrote would otherwise grant keys unchecked). nil: the selection
    /// did not narrow the projects, or is not known.
    public var outOfScopeBlocks: Set<ManagedBlockID>?

    /// Creates an account target.
    public init(name: String, uid: UInt32? = nil, gid: UInt32? = nil, group: String? = nil,
                shell: String? = nil, home: String? = nil, create: Bool = false,
                exclusive: Bool = false, blocks: [DesiredBlock] = []) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.group = group
        self.shell = shell
        self.home = home
        self.create = create
        self.exclusive = exclusive
        self.blocks = blocks
    }
}

/// The desired content of one `# keysync:begin project=P role=R` block.
public struct DesiredBlock: Hashable, Sendable {
    public var project: String
    public var role: String
    /// Entries in the order the role lists its keys, without repeats; may be empty.
    public var entries: [DesiredEntry]
    /// The role's `adopt: true`: lines of its keys found outside every block
    /// are moved into its block unchanged, and its lines are kept byte for
    /// byte while key and options match (``SyncPlanner`` and docs/adopting.md).
    public var adopt: Bool

    /// Creates a block.
    public init(project: String, role: String, entries: [DesiredEntry], adopt: Bool = false) {
        self.project = project
        self.role = role
        self.entries = entries
        self.adopt = adopt
    }
}

/// One key line of a managed block.
public struct DesiredEntry: Hashable, Sendable {
    /// The key's name in the inventory.
    public var keyName: String
    public var key: PublicKey
    /// The `authorized_keys` options field, if any.
    public var options: String?
    /// When the grant ends, whatever set it (a role's `{ key:, until: }`;
    /// later a person's `until:`): from then on the line is not written and
    /// is removed, and before it the line carries sshd's `expiry-time` where
    /// the host's sshd supports it. Nil: the grant does not end.
    public var until: Date?

    /// Creates an entry.
    public init(keyName: String, key: PublicKey, options: String? = nil, until: Date? = nil) {
        self.keyName = keyName
        self.key = key
        self.options = options
        self.until = until
    }

    /// Creates the entry for an inventory key, granted until `until` (nil: no end).
    public init(_ key: InventoryKey, until: Date? = nil) {
        self.init(keyName: key.name, key: key.publicKey, options: key.options, until: until)
    }

    /// The `authorized_keys` line: `[options ]type base64 [comment]`.
    public var line: String { options.map { "\($0) " + key.openSSHLine } ?? key.openSSHLine }
}

extension Inventory {
    /// The hosts to converge, in inventory order, each with its accounts and blocks.
    ///
    /// `hosts` and `groups` together pick hosts (their union); `projects` picks
    /// blocks. Empty lists select everything. Accounts left without blocks are
    /// omitted, and so are hosts left without accounts unless
    /// `includingHostsWithoutBlocks` (push and check keep them: the database
    /// may know blocks there that are stale now). Unknown names throw
    /// ``InventoryError/unknownSelection(_:)``.
    public func select(projects: [String] = [], hosts: [String] = [], groups: [String] = [],
                       includingHostsWithoutBlocks: Bool = false) throws(InventoryError) -> [HostTarget] {
        var unknown: [String] = []
        func check<V>(_ names: [String], _ kind: String, _ table: [String: V]) {
            for name in names where table[name] == nil {
                unknown.append("unknown \(kind) \"\(name)\"" + Suggestion.hint(for: name, in: table.keys))
            }
        }
        check(projects, "project", projectIndex)
        check(hosts, "host", hostIndex)
        check(groups, "group", groupMembers)
        guard unknown.isEmpty else { throw .unknownSelection(unknown) }

        let scope = projects.isEmpty ? nil : Set(projects)
        let picked: Set<Int>? = hosts.isEmpty && groups.isEmpty ? nil
            : Set(hosts.compactMap { hostIndex[$0] } + groups.flatMap { groupMembers[$0] ?? [] })
        return self.hosts.indices.compactMap { index -> HostTarget? in
            guard picked?.contains(index) ?? true else { return nil }
            var accounts = accountsByProjects[hostProjects[index]] ?? []
            if let scope {
                accounts = accounts.compactMap { account in
                    var account = account
                    account.outOfScopeBlocks = Set(account.blocks.filter { !scope.contains($0.project) }
                        .compactMap { try? ManagedBlockID(project: $0.project, role: $0.role) })
                    account.blocks.removeAll { !scope.contains($0.project) }
                    return account.blocks.isEmpty ? nil : account
                }
            }
            return accounts.isEmpty && !includingHostsWithoutBlocks ? nil
                : HostTarget(host: self.hosts[index], accounts: accounts, projectScope: scope)
        }
    }
}
