/// What the database remembers keysync wrote where: the accounts whose
/// files held keysync blocks after the last run that read them, and the
/// hosts keysync reached. The inventory says what access should exist; this
/// says where access keysync granted may still be, so push and check also
/// reach what the inventory no longer names (docs/sync.md, "Removing access").
public struct ManagedHistory: Sendable {
    /// Which hosts that left the inventory a run lists as `host_departed`.
    public enum DepartedListing: Hashable, Sendable {
        /// None: the selection named hosts or groups (a departed host is in neither).
        case none
        /// Every departed host (no `--project`).
        case all
        /// Departed hosts whose recorded blocks include one of these projects
        /// (or are not known since the upgrade).
        case projects(Set<String>)
    }

    /// Host → account → blocks after the last run that read it (nil: not read since schema v2).
    let accounts: [String: [String: [Store.BlockRef]?]]
    let hosts: [Store.ManagedHost]

    init(accounts: [Store.ManagedAccount], hosts: [Store.ManagedHost]) {
        var byHost: [String: [String: [Store.BlockRef]?]] = [:]
        for account in accounts { byHost[account.host, default: [:]][account.account] = .some(account.blocks) }
        self.accounts = byHost
        self.hosts = hosts
    }

    /// Reads what `store` recorded.
    public static func load(from store: Store) throws -> ManagedHistory {
        ManagedHistory(accounts: try store.managedAccounts(), hosts: try store.managedHosts())
    }

    /// `targets` with the accounts keysync left blocks in that no role of
    /// the selected projects (all, without a scope) names on that host any
    /// more added as ``AccountTarget/formerlyManaged`` (only those holding a
    /// block this selection may remove: of a selected project, or of a
    /// project the inventory no longer has), and without the hosts left with
    /// no account at all. An account the inventory still names in scope is
    /// never added, even when `targets` leave it out (a rotation's push
    /// narrows them to the accounts due).
    public func apply(to targets: [HostTarget], inventory: Inventory) -> [HostTarget] {
        let knownProjects = Set(inventory.projects.map(\.name))
        return targets.compactMap { target in
            var target = target
            let named = Set(target.accounts.map(\.name))
                .union(Self.namedAccounts(inventory, host: target.host.name, scope: target.projectScope))
            for (account, blocks) in (accounts[target.host.name] ?? [:]).sorted(by: { $0.key < $1.key }) where !named.contains(account) {
                guard Self.mayHold(blocks, scope: target.projectScope, knownProjects: knownProjects) else { continue }
                var former = AccountTarget(name: account)
                former.formerlyManaged = true
                target.accounts.append(former)
            }
            return target.accounts.isEmpty ? nil : target
        }
    }

    /// The accounts a role of a project in `scope` (any, when nil) names on `host`.
    static func namedAccounts(_ inventory: Inventory, host: String, scope: Set<String>?) -> Set<String> {
        guard let index = inventory.hostIndex[host] else { return [] }
        let accounts = inventory.accountsByProjects[inventory.hostProjects[index]] ?? []
        return Set(accounts.filter { account in scope.map { scope in account.blocks.contains { scope.contains($0.project) } } ?? true }.map(\.name))
    }

    /// Whether recorded `blocks` may hold one that `scope` lets a push remove.
    static func mayHold(_ blocks: [Store.BlockRef]?, scope: Set<String>?, knownProjects: Set<String>) -> Bool {
        guard let blocks else { return true }
        return blocks.contains { (scope?.contains($0.project) ?? true) || !knownProjects.contains($0.project) }
    }

    /// Hosts keysync reached that are no longer under `hosts:` and were not
    /// decommissioned or forgotten, as results of a run that lists them and
    /// contacts none: status `drift`, one `host_departed` item each.
    public func departedHosts(_ listing: DepartedListing, inventory: Inventory) -> [HostResult] {
        let scope: Set<String>?
        switch listing {
        case .none: return []
        case .all: scope = nil
        case .projects(let projects): scope = projects
        }
        return hosts.filter { $0.retired == nil && inventory.host(named: $0.host) == nil }.compactMap { host in
            if let scope {
                let recorded = accounts[host.host] ?? [:]
                guard recorded.values.contains(where: { blocks in blocks.map { $0.contains { scope.contains($0.project) } } ?? true })
                else { return nil }
            }
            var result = HostResult(host: host.host, status: .drift)
            result.drift = [DriftItem(account: "", kind: .hostDeparted, detail: Self.departedDetail(host))]
            return result
        }
    }

    /// The `host_departed` detail: the same text from push, check and an
    /// unfinished decommission, so the item keeps its identity in the database.
    public static func departedDetail(_ host: Store.ManagedHost) -> String {
        let name = host.host
        guard let endpoint = host.endpoint else {
            return "\(name) is no longer under hosts: in the inventory, and keysync recorded how it reached it only in runs before it kept addresses; "
                + "put it back under hosts: for one push, then `keysync decommission \(name)`, or `keysync decommission \(name) --forget` if the machine is gone"
        }
        return "\(name) (\(endpoint.user)@\(KnownHosts.lookupName(host: endpoint.address, port: endpoint.port))) is no longer under hosts: in the inventory; "
            + "keysync's blocks may still grant access there: `keysync decommission \(name)` removes them, `keysync decommission \(name) --forget` records that the machine is gone"
    }
}
