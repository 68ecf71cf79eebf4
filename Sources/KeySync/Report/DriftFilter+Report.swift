extension Store.DriftFilter {
    /// The filter of `keysync report --host H… --kind K…`: unlike an empty
    /// set in ``init(hosts:accounts:kinds:)``, an empty list selects everything.
    public static func selecting(hosts: [String], kinds: [String]) -> Self {
        Self(hosts: hosts.isEmpty ? nil : Set(hosts), kinds: kinds.isEmpty ? nil : Set(kinds))
    }

    /// Narrows the filter to the hosts the projects target and their role
    /// accounts (`--project P…`), as `inventory` resolves them.
    ///
    /// - Throws: ``InventoryError/unknownSelection(_:)`` for a project the inventory does not define.
    public mutating func restrict(toProjects projects: [String], in inventory: Inventory) throws(InventoryError) {
        guard !projects.isEmpty else { return }
        let targets = try inventory.select(projects: projects)
        let projectHosts = Set(targets.map(\.host.name))
        hosts = hosts.map { $0.intersection(projectHosts) } ?? projectHosts
        let projectAccounts = Set(targets.flatMap { $0.accounts.map(\.name) })
        accounts = accounts.map { $0.intersection(projectAccounts) } ?? projectAccounts
    }
}
