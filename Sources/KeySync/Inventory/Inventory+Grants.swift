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
