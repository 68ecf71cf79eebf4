import Foundation

/// A grant of a key to a role that ends (`{ key: NAME, until: DATE }`).
public struct TimedGrant: Hashable, Sendable {
    public var project: String
    public var role: String
    /// The role's account.
    public var account: String
    /// The key's name in the inventory.
    public var key: String
    public var fingerprint: String
    /// The moment the grant ends.
    public var until: Date
    /// The project's hosts, in inventory order.
    public var hosts: [String]

    public init(project: String, role: String, account: String, key: String, fingerprint: String, until: Date, hosts: [String]) {
        (self.project, self.role, self.account, self.key, self.fingerprint, self.until, self.hosts)
            = (project, role, account, key, fingerprint, until, hosts)
    }
}

extension Inventory {
    /// Every grant that ends, in inventory order (project, role, key). What
    /// `report --expiring` lists; other sources of an end (a person's
    /// `until`) belong here too.
    public var timedGrants: [TimedGrant] {
        projects.flatMap { project in
            project.roles.flatMap { role in
                role.keys.compactMap { name -> TimedGrant? in
                    guard let until = role.until[name], let key = key(named: name) else { return nil }
                    return TimedGrant(project: project.name, role: role.name, account: role.account, key: name,
                                      fingerprint: key.fingerprint, until: until, hosts: project.hosts)
                }
            }
        }
    }
}

/// One key granted to one role (`review`, `report --unused`): a key of the
/// role's `keys:` or of a person under its `people:`.
public struct AccessGrant: Hashable, Sendable {
    public var project: String
    public var role: String
    public var account: String
    public var key: String
    public var fingerprint: String
    /// The person it came from (`people:`), or nil for the role's own `keys:`.
    public var person: String?
    /// When it ends (`until:` of the item or the person); nil: no end.
    public var until: Date?
    /// The project's hosts, in inventory order.
    public var hosts: [String]
    /// Where the inventory names it.
    public var source: GrantSource?
}

extension Inventory {
    /// Every grant of every role, in inventory order (project, role, key),
    /// restricted to `projects` (empty: all).
    public func accessGrants(projects selected: [String] = []) -> [AccessGrant] {
        let wanted = Set(selected)
        return projects.filter { wanted.isEmpty || wanted.contains($0.name) }.flatMap { project in
            project.roles.flatMap { role in
                role.keys.compactMap { name -> AccessGrant? in
                    guard let key = key(named: name) else { return nil }
                    let source = role.grantSources[name]
                    return AccessGrant(project: project.name, role: role.name, account: role.account, key: name,
                                       fingerprint: key.fingerprint, person: source?.person, until: role.until[name],
                                       hosts: project.hosts, source: source)
                }
            }
        }
    }
}

extension Inventory {
    /// The certificate authorities the roles on `host` trust (`trusted_cas`),
    /// in role order, each once: sshd trusts all of them for every account
    /// there (TrustedUserCAKeys is one file per host).
    public func trustedCAs(onHost host: String) -> [String] {
        var names: [String] = []
        for index in hostIndex[host].map({ hostProjects[$0] }) ?? [] {
            for role in projects[index].roles { for name in role.trustedCAs where !names.contains(name) { names.append(name) } }
        }
        return names
    }
}
