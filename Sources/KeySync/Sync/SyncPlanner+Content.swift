extension SyncPlanner {
    /// Plans the new authorized_keys bytes for one account and reports key drift.
    ///
    /// - Managed blocks of the account's projects/roles are replaced with the
    ///   inventory's entries (retired/revoked keys never re-added).
    /// - Stale blocks (a project/role in scope that no longer names this
    ///   account, or a project the inventory no longer has) are removed and
    ///   reported as `stale_block`.
    /// - Grants that have ended (`until` at or before `options.now`) are not
    ///   written, and removed if present (`grant_expired`); the others carry
    ///   `expiry-time` where the host's sshd supports it.
    /// - Revoked keys are removed wherever they are, inside or outside blocks.
    /// - Exclusive accounts keep only their managed blocks.
    /// - `adopt: true` roles move their keys' hand-written lines into their
    ///   blocks unchanged (`unwrapped_key`) instead of adding copies
    ///   (SyncPlanner+Adopt.swift).
    /// - Every other byte stays as it was.
    /// - Lockout guard: refuses (unless `force`) to drop the login key of the
    ///   login user, or to leave an account that had keys with none.
    static func planContent(_ desired: AccountTarget, current: [UInt8]?, options: PlanOptions,
                            scope: Set<String>?, into plan: inout AccountPlan) -> [UInt8] {
        let name = desired.name
        let old = current ?? []
        let file = AuthorizedKeysFile(bytes: old)
        var updated = file

        // What is there now.
        var firstLine: [String: Int] = [:]
        let managedLines = file.managedLineNumbers
        var blockOfLine: [Int: ManagedBlockID] = [:]
        for block in file.managedBlocks { for number in block.lineNumbers { blockOfLine[number] = block.id } }
        for problem in file.markerProblems {
            plan.report(.invalidMarker, "keysync marker \(problem) (left as it is)")
        }
        for line in file.lines {
            guard case .key(let entry) = line.kind else {
                if case .invalid(let reason) = line.kind {
                    plan.report(.invalidLine, "line \(line.number): \(reason) (sshd ignores it)")
                }
                // A key whose options keysync reads as invalid: another sshd
                // (an older version, the host's own services database) may
                // still take it, so a revoked one is reported and removed,
                // and in an exclusive account the line goes.
                if let suspect = line.suspectFingerprint {
                    if options.revoked.contains(suspect) {
                        plan.report(.revokedKey, "revoked key \(suspect) on line \(line.number), whose options keysync reads as invalid (another sshd may accept them)",
                                    fingerprint: suspect)
                    }
                    if desired.exclusive && !managedLines.contains(line.number) {
                        plan.report(.unmanagedKey, "unmanaged key \(suspect) on line \(line.number) in exclusive account (its options look invalid; another sshd may accept them)",
                                    fingerprint: suspect)
                    }
                }
                continue
            }
            // sshd reads a line for a plain key with that key's type (a
            // certificate line is a mismatch) and matches a certificate
            // login's CA with sshkey_equal, which a certificate never is:
            // a certificate here grants nothing, not even its own key.
            if entry.key.isCertificate {
                plan.report(.invalidLine, "line \(line.number): a certificate (\(entry.key.type)); sshd never accepts one from authorized_keys, not even for its own key")
                continue
            }
            let fingerprint = entry.key.fingerprint
            let managed = managedLines.contains(line.number)
            // Every key read goes to the database (`keysync where`); an owner can write tens of
            // thousands of made-up keys before each run, so managed, revoked and inventory keys
            // and the first `seenKeyLimit` others are kept, with comments cut (review s13).
            if managed || options.revoked.contains(fingerprint) || options.knownFingerprints.contains(fingerprint)
                || plan.seenKeys.count < AccountPlan.seenKeyLimit {
                plan.seenKeys.append(SeenKey(account: name, fingerprint: fingerprint, type: entry.key.type,
                                             comment: AccountPlan.bounded(entry.comment, limit: 200), managed: managed))
            }
            if options.revoked.contains(fingerprint) {
                plan.report(.revokedKey, "revoked key \(entry.key.type) \(fingerprint) on line \(line.number)", fingerprint: fingerprint)
            }
            if let earlier = firstLine[fingerprint] {
                // The same key in two managed blocks is what the inventory asked for.
                if let a = blockOfLine[line.number], let b = blockOfLine[earlier], a != b { continue }
                plan.report(.duplicateKey, "line \(line.number) repeats the key of line \(earlier); sshd tries the first, and a later copy still grants when the first one's options (from=, expiry-time) refuse a login", fingerprint: fingerprint)
            } else {
                firstLine[fingerprint] = line.number
            }
            if desired.exclusive && !managed {
                plan.report(.unmanagedKey, "unmanaged key \(entry.key.type) \(fingerprint) on line \(line.number) in exclusive account", fingerprint: fingerprint)
            }
        }

        // Desired blocks. `adopt: true` roles first take their keys' lines
        // outside every block (SyncPlanner+Adopt.swift).
        let existingBlocks = file.managedBlocks
        let adoption = adoption(desired, file: file, options: options)
        let claims = adoption.claims
        if !claims.isEmpty { updated = file.movingKeyLines(into: adoption.moves) }
        var ended = Set<String>()
        for block in desired.blocks {
            let granted = block.entries.filter { !options.revoked.contains($0.key.fingerprint) }
            let entries = granted.filter { !$0.hasEnded(at: options.now) }.map { $0.forHost(options.expiryTime) }
            let endedHere = Set(granted.filter { $0.hasEnded(at: options.now) }.map(\.key.fingerprint))
            ended.formUnion(endedHere)
            guard let id = try? ManagedBlockID(project: block.project, role: block.role) else {
                plan.report(.invalidLine, "project \(block.project) role \(block.role) cannot be written as a block marker")
                continue
            }
            let existing = file.managedBlock(id)
            // Every block with this id counts (a second one is an invalid_marker;
            // push keeps the first and drops the others): its keys are compared too.
            let existingEntries = file.managedBlocks.filter { $0.id == id }.flatMap(\.entries)
            // A certificate line in the block does not grant its key (above): that key is missing.
            let present = Dictionary(existingEntries.filter { !$0.key.isCertificate }.map { ($0.key.fingerprint, $0) },
                                     uniquingKeysWith: { a, _ in a })
            let label = "project \(block.project), role \(block.role)"
            for entry in entries {
                let fingerprint = entry.key.fingerprint
                if let found = present[fingerprint] {
                    if (found.options?.text ?? "") != (entry.options ?? "") {
                        plan.report(.optionsChanged, "\(entry.keyName) (\(label)): options are \"\(found.options?.text ?? "")\", want \"\(entry.options ?? "")\"", fingerprint: fingerprint)
                    }
                } else if let line = claims[id]?[fingerprint] {
                    plan.report(.unwrappedKey, "\(entry.keyName) (\(label)) is on line \(line.number), outside its block; push moves that line into the block unchanged", fingerprint: fingerprint)
                } else {
                    plan.report(.missingKey, "\(entry.keyName) (\(label)) is missing", fingerprint: fingerprint)
                }
            }
            let wanted = Set(entries.map(\.key.fingerprint))
            // A block broken by a hand edit is left as it is (its markers are
            // invalid_marker), but a key in it the role no longer grants still
            // logs in: named here, not repairable (review s13).
            reportBrokenBlockKeys(file, id, except: wanted, "is in the broken block of \(label) (its markers no longer pair) but not in the inventory",
                                  options: options, into: &plan)
            var named = Set<String>()
            for entry in existingEntries where !wanted.contains(entry.key.fingerprint) && named.insert(entry.key.fingerprint).inserted
                && !options.revoked.contains(entry.key.fingerprint) {
                if endedHere.contains(entry.key.fingerprint) {
                    let grant = granted.first { $0.key.fingerprint == entry.key.fingerprint }!
                    plan.report(.grantExpired, "\(grant.keyName) (\(label)): the grant ended \(grant.until!.reportText) and the line is still there", fingerprint: entry.key.fingerprint)
                    continue
                }
                plan.report(.unexpectedKey, "\(entry.key.type) \(entry.key.fingerprint) is in the block of \(label) but not in the inventory", fingerprint: entry.key.fingerprint)
            }
            if block.adopt {
                updated = updated.replacingBlock(id, withLines: adoptedBlockLines(entries, existing: existing, claims: claims[id] ?? [:]))
            } else {
                updated = updated.replacingBlock(id, with: entries.compactMap { try? AuthorizedKeyEntry(optionsText: $0.options, key: $0.key) })
            }
            // The detail names the block only (no line numbers, no kind of
            // edit): it is the item's identity, which must not change while
            // the same block stays edited.
            if let existing, handEdit(of: existing, writtenAs: updated.managedBlock(id), blocksWithID: file.managedBlocks.count { $0.id == id }) != nil {
                plan.report(.blockEdited, "the block of \(label) grants what the inventory says, but its lines differ from what keysync writes (a comment, spacing or their order changed by hand); push rewrites it")
            }
        }
        let desiredIDs = Set(desired.blocks.compactMap { try? ManagedBlockID(project: $0.project, role: $0.role) })
        // A block broken from inside whose role no longer maps here: its keys
        // still log in and no block of it is left to remove them from (an
        // exclusive account names them as unmanaged_key already).
        if !desired.exclusive {
            for id in file.brokenBlockIDs where isStale(id, desired: desiredIDs, scope: scope, options: options) {
                reportBrokenBlockKeys(file, id, except: [], "is in the broken block of project \(id.project), role \(id.role) (its markers no longer pair), which no role maps to \(name) here",
                                      options: options, into: &plan)
            }
        }
        // Stale blocks, one `stale_block` each (an emptied block kept between
        // stray markers changes nothing when removed again: not reported again).
        // In an exclusive account only keysync's blocks may grant: a block of
        // a selected-out project that the inventory does not map here goes too.
        for block in existingBlocks where isStale(block.id, desired: desiredIDs, scope: scope, options: options,
                                                  outOfScope: desired.exclusive ? desired.outOfScopeBlocks : nil) {
            let removed = updated.removingBlock(block.id)
            guard removed.serialized() != updated.serialized() else { continue }
            plan.report(.staleBlock, staleDetail(block, account: name, options: options))
            updated = removed
        }
        if !options.revoked.isEmpty { updated = updated.removingKeys(withFingerprints: options.revoked) }
        if desired.exclusive { updated = updated.removingUnmanagedKeys() }
        let new = updated.serialized()

        if new != old {
            let after = KeysAfterWrite(new)
            plan.changes += plan.drift.filter { $0.kind.isRepairedByPush && $0.kind != .fileMode && $0.kind != .fileOwner && $0.kind != .dirMode && $0.kind != .dirOwner }
                .filter { !after.stillHas($0) }
                .map { "fix \($0.kind.rawValue): \($0.detail)" }
            if plan.changes.isEmpty { plan.changes.append("rewrite managed blocks of \(name)") }
            plan.diff = UnifiedDiff.render(old: old, new: new, path: plan.path ?? "authorized_keys")
        }
        plan.newContent = new

        if let refusal = lockoutRefusal(account: name, old: file, new: new, options: options, ended: ended) {
            plan.lockout = refusal
            plan.changes = plan.changes.filter { $0.hasPrefix("fix home") } + [refusal.change]
            plan.report(.lockoutRefused, refusal.detail, fingerprint: refusal.fingerprint)
            plan.diff = nil
            return old
        }
        return new
    }

    /// What differs between a block on the host and the block push writes
    /// for it when both grant the same keys with the same options (every
    /// other difference has its own item): "the order of its lines", "a
    /// comment or spacing", or nil when the bytes are the same or a second
    /// block of the id (an `invalid_marker`) makes the comparison moot.
    static func handEdit(of existing: ManagedBlock, writtenAs written: ManagedBlock?, blocksWithID: Int) -> String? {
        guard blocksWithID == 1, let written, existing.keyLines.map(\.bytes) != written.keyLines.map(\.bytes),
              existing.keyLines.allSatisfy({ $0.entry.map { !$0.key.isCertificate } ?? false }) else { return nil }
        let grants = { (block: ManagedBlock) in block.entries.map { "\($0.key.fingerprint) \($0.options?.text ?? "")" } }
        let (before, after) = (grants(existing), grants(written))
        guard before.sorted() == after.sorted() else { return nil }
        return before == after ? "a comment or spacing in its lines" : "the order of its lines"
    }

    /// The keys of block `id` broken from inside (left as it is) that are not
    /// in `granted` and not revoked (revoked keys are reported and removed
    /// anyway): `unexpected_key`, not repairable, since they still log in.
    static func reportBrokenBlockKeys(_ file: AuthorizedKeysFile, _ id: ManagedBlockID, except granted: Set<String>, _ why: String,
                                      options: PlanOptions, into plan: inout AccountPlan) {
        for line in file.strayKeyLines(of: id) {
            guard let entry = line.entry, !granted.contains(entry.key.fingerprint), !options.revoked.contains(entry.key.fingerprint) else { continue }
            plan.report(.unexpectedKey, "\(entry.key.type) \(entry.key.fingerprint) on line \(line.number) \(why); it still grants access: remove the line by hand",
                        fingerprint: entry.key.fingerprint)
        }
    }

    /// Why the lockout guard refuses to replace `old` with `new` in `name`'s
    /// file, or nil. Shared by push (`planContent`) and `restore`.
    struct LockoutRefusal: Equatable, Sendable {
        /// The plan's change line (`refused: …; use --force …`).
        var change: String
        /// The `lockout_refused` drift detail.
        var detail: String
        /// keysync's login key, when that is what would go.
        var fingerprint: String?
    }

    /// The lockout guard, unless `options.force`: refuses to remove the key
    /// keysync logs in with from the login user's own file, and to leave an
    /// account that had keys with none. Revoked keys do not count as keys the
    /// account had: removing a compromised last key is the point. Nor do
    /// keys in `ended`, whose grants ended (`until`): the inventory named the
    /// day; keysync's own login key stays guarded all the same.
    static func lockoutRefusal(account name: String, old file: AuthorizedKeysFile, new: [UInt8],
                               options: PlanOptions, ended: Set<String> = []) -> LockoutRefusal? {
        guard !options.force else { return nil }
        // The keys sshd may take the lines for: certificate lines grant
        // nothing, a suspect line may (an older sshd logged keysync in with it).
        let oldKeys = Set(file.lines.compactMap(\.grantingFingerprint))
        let oldUsable = oldKeys.subtracting(options.revoked).subtracting(ended)
        let newKeys = Set(AuthorizedKeysFile(bytes: new).lines.compactMap(\.grantingFingerprint))
        if name == options.loginUser, let login = options.loginKeyFingerprint, oldKeys.contains(login), !newKeys.contains(login) {
            return LockoutRefusal(change: "refused: this would remove \(login), the key keysync logs in with as \(name); use --force if you really mean it",
                                  detail: "would remove keysync's own login key \(login) from \(name)", fingerprint: login)
        }
        if !oldUsable.isEmpty && newKeys.isEmpty {
            return LockoutRefusal(change: "refused: this would leave \(name) with no keys (it has \(oldUsable.count)); use --force if you really mean it",
                                  detail: "would remove every key of \(name)")
        }
        return nil
    }

}

/// What a planned file still holds, in one parse: whether writing it
/// repairs a drift item about one key. A duplicate push cannot remove (an
/// unmanaged copy of a managed key), a revoked key or an exclusive
/// account's unmanaged key on a line kept so stray markers never pair up,
/// is still there after the write.
struct KeysAfterWrite {
    /// Keys on more than one key line.
    private var duplicated = Set<String>()
    /// Every key a line may grant (``AuthorizedKeysFile/Line/grantingFingerprint``),
    /// and those of lines outside keysync's blocks.
    private var granted = Set<String>(), grantedOutsideBlocks = Set<String>()

    init(_ bytes: [UInt8]) {
        let file = AuthorizedKeysFile(bytes: bytes)
        let managed = file.managedLineNumbers
        var seen = Set<String>()
        for line in file.lines {
            if let fingerprint = line.entry?.key.fingerprint, !seen.insert(fingerprint).inserted { duplicated.insert(fingerprint) }
            guard let fingerprint = line.grantingFingerprint else { continue }
            granted.insert(fingerprint)
            if !managed.contains(line.number) { grantedOutsideBlocks.insert(fingerprint) }
        }
    }

    /// Whether the file still holds what `item` is about (only for the
    /// kinds whose repair depends on which lines the write kept).
    func stillHas(_ item: DriftItem) -> Bool {
        let fingerprint = item.fingerprint ?? ""
        switch item.kind {
        case .duplicateKey: return duplicated.contains(fingerprint)
        case .revokedKey: return granted.contains(fingerprint)
        case .unmanagedKey: return grantedOutsideBlocks.contains(fingerprint)
        // An unexpected key is repaired by dropping it from its block; one in
        // a broken block (outside every block) stays where the write keeps it.
        case .unexpectedKey: return grantedOutsideBlocks.contains(fingerprint)
        default: return false
        }
    }
}
