extension SyncPlanner {
    /// Whether a block in an account's file is stale for this plan: its
    /// project is selected (or no `--project` was given) and no role of it
    /// names the account here, or its project is no longer in the inventory.
    /// Blocks of other selected-out projects are not touched; with
    /// `outOfScope` (exclusive accounts: the selected-out blocks the inventory
    /// maps here) one it does not list is stale whatever the scope (review
    /// s13: a block the account owner forged for another project kept a key
    /// in an exclusive account through every `--project` run).
    static func isStale(_ id: ManagedBlockID, desired: Set<ManagedBlockID>, scope: Set<String>?, options: PlanOptions,
                        outOfScope: Set<ManagedBlockID>? = nil) -> Bool {
        guard !desired.contains(id) else { return false }
        if (scope.map { $0.contains(id.project) } ?? true) || !options.knownProjects.contains(id.project) { return true }
        return outOfScope.map { !$0.contains(id) } ?? false
    }

    /// The `stale_block` detail: which block, why it no longer maps here, and
    /// the keys it still grants (stable across runs, so the drift item keeps
    /// its identity in the database until the block is gone).
    static func staleDetail(_ block: ManagedBlock, account: String, options: PlanOptions) -> String {
        let why = options.knownProjects.contains(block.id.project)
            ? "no role of project \(block.id.project) names \(account) on this host any more"
            : "project \(block.id.project) is no longer in the inventory"
        let keys = block.entries.map(\.key.fingerprint).filter { !options.revoked.contains($0) }
        let grants = keys.isEmpty ? "it grants no key" : "it still grants \(keys.count == 1 ? "1 key" : "\(keys.count) keys"): \(keys.joined(separator: ", "))"
        return "block \(block.id): \(why); \(grants)"
    }

    /// For an account no selected role names any more (``AccountTarget/formerlyManaged``):
    /// whether its file holds a block this plan would remove or a revoked
    /// key, or could not be read (then the normal rules report why).
    static func formerAccountHolds(_ probe: AccountProbe, scope: Set<String>?, options: PlanOptions) -> Bool {
        guard let content = probe.content else { return !knownAbsent(probe) }
        let file = AuthorizedKeysFile(bytes: content)
        if file.managedBlocks.contains(where: { isStale($0.id, desired: [], scope: scope, options: options) }) { return true }
        // A block of keysync's broken from inside still grants its keys: they are named.
        if file.brokenBlockIDs.contains(where: { isStale($0, desired: [], scope: scope, options: options) }) { return true }
        return file.lines.contains { line in line.grantingFingerprint.map { options.revoked.contains($0) } ?? false }
    }

    /// The keysync blocks (whole or broken) in the file the probe read; nil
    /// when there is no file it read: what the database recorded stands. An
    /// owner who moves the file away for one run, or breaks a block by hand,
    /// must not make keysync forget the account (review s15 removal #1).
    static func blocks(in probe: AccountProbe) -> [ManagedBlockID]? {
        guard probe.exists else { return [] }
        return probe.content.map { AuthorizedKeysFile(bytes: $0).heldBlockIDs }
    }

    /// The probe saw that there is no keys file: lstat found none, and no
    /// link or non-folder on the way hides one (nothing is stat'd below a
    /// link). A file too large or unreadable, or no AuthorizedKeysFile path,
    /// is not knowing either.
    static func knownAbsent(_ probe: AccountProbe) -> Bool {
        guard probe.path != nil, probe.sshdError == nil, probe.tooLarge == nil, probe.readError == nil,
              (probe.file?.kind ?? .absent) == .absent else { return false }
        let above = [probe.home, probe.directory].compactMap { $0 } + probe.intermediateFolders.map(\.stat)
        return above.allSatisfy { $0.kind == .directory || $0.kind == .absent }
    }
}
