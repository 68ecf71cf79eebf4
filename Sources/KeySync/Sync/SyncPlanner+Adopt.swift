/// Planning for roles with `adopt: true` (what `keysync adopt` drafts).
///
/// A fleet kept by hand already has the keys the draft grants, on lines
/// keysync did not write. A normal push would add a second copy of each key
/// in its block and leave the hand-written line alone ("never mangle a line
/// it does not own"): the key then sits in the file twice, and dropping it
/// from the inventory later would leave the hand-written copy granting
/// access. A role with `adopt: true` says the inventory owns those lines:
///
/// - A granted key that its block does not hold yet, whose *first* line in
///   the file is outside every block and has the same options text, is
///   moved into the block byte for byte (spacing, comment, CRLF and all),
///   reported as `unwrapped_key`. Only the first line of a key is taken, so
///   the line sshd meets first for that key stays the first; later copies
///   stay where they are (`duplicate_key`, as before).
/// - A new block starts where the first line it takes was, so the lines keep
///   their place among the others; lines in the block stay in file order.
///   No move may change which line sshd meets first for a key (see
///   ``adoption(_:file:options:)``): where one would, that line stays and
///   the key is added as a normal push adds it.
/// - A line already in the block is kept byte for byte while its key and
///   options are what the role grants (a normal block is written again the
///   way keysync writes lines, which would rewrite every adopted line).
/// - A timed grant (`until:`) takes the hand-written line that has the
///   role's options (it never has the `expiry-time` keysync adds); the next
///   push writes that line the way keysync writes a timed grant, and at the
///   end the key goes from the file — no hand-written copy keeps granting.
/// - Everything else is push's usual rules: a key with other options, or
///   not in the file, is added; revoked keys go; nothing else is touched.
extension SyncPlanner {
    /// The entries a block writes now: revoked keys never, ended grants not,
    /// the others with `expiry-time` where this sshd takes it.
    static func writtenEntries(_ block: DesiredBlock, options: PlanOptions) -> [DesiredEntry] {
        block.entries.filter { !options.revoked.contains($0.key.fingerprint) && !$0.hasEnded(at: options.now) }
            .map { $0.forHost(options.expiryTime) }
    }

    /// What the `adopt: true` blocks of one account take: the lines outside
    /// every block, by block and fingerprint (line numbers of the file as
    /// read), and where each new block starts.
    struct Adoption {
        var claims: [ManagedBlockID: [String: AuthorizedKeysFile.Line]] = [:]
        /// Line number a new block goes before (past the last line: at the end).
        var anchors: [ManagedBlockID: Int] = [:]

        /// The moves for ``AuthorizedKeysFile/movingKeyLines(into:)``.
        var moves: [(id: ManagedBlockID, lines: Set<Int>, at: Int?)] {
            claims.sorted { $0.key < $1.key }.map { (id: $0.key, lines: Set($0.value.values.map(\.number)), at: anchors[$0.key]) }
        }
    }

    /// Which hand-written lines the `adopt: true` blocks of `desired` take,
    /// so that no move changes the line sshd meets first for any key:
    ///
    /// - a key's line is taken only when it is the first line of that key in
    ///   the file, outside every block, with the options the role grants;
    /// - a new block starts at the first line it takes, or just after the
    ///   last line of a key it adds (so the lines already there stay first);
    /// - a line whose move to its block would pass a line of the same key
    ///   with other options is not taken (the key is then added as usual).
    static func adoption(_ desired: AccountTarget, file: AuthorizedKeysFile, options: PlanOptions) -> Adoption {
        var adoption = Adoption()
        guard desired.blocks.contains(where: \.adopt) else { return adoption }
        let managed = file.managedLineNumbers
        var linesOf: [String: [AuthorizedKeysFile.Line]] = [:]
        // A certificate line grants nothing (sshd never takes one from authorized_keys): never adopted.
        for line in file.keyLines {
            if let fingerprint = line.grantingFingerprint { linesOf[fingerprint, default: []].append(line) }
        }
        func optionsText(_ line: AuthorizedKeysFile.Line) -> String { line.entry?.options?.text ?? "" }
        /// Moving `line` to just before line `position` would pass a line of its key with other options.
        func passesOtherOptions(_ line: AuthorizedKeysFile.Line, to position: Int) -> Bool {
            guard position > line.number, let fingerprint = line.entry?.key.fingerprint else { return false }
            return linesOf[fingerprint, default: []].contains {
                $0.number > line.number && $0.number < position && optionsText($0) != optionsText(line)
            }
        }
        var taken = Set<Int>()
        for block in desired.blocks where block.adopt {
            guard let id = try? ManagedBlockID(project: block.project, role: block.role) else { continue }
            let existing = file.managedBlock(id)
            let present = Set(existing?.entries.filter { !$0.key.isCertificate }.map(\.key.fingerprint) ?? [])
            let wanted = writtenEntries(block, options: options).filter { !present.contains($0.key.fingerprint) }
            var claimed: [String: AuthorizedKeysFile.Line] = [:]
            // A timed grant is written with the expiry-time this sshd takes; a
            // hand-written line never has it, so the options it must have are
            // the role's own: otherwise that line would never be taken and
            // would keep granting after `until`.
            let granted = Dictionary(block.entries.map { ($0.key.fingerprint, $0.options ?? "") }, uniquingKeysWith: { first, _ in first })
            for entry in wanted {
                guard let first = linesOf[entry.key.fingerprint]?.first, !managed.contains(first.number), !taken.contains(first.number),
                      optionsText(first) == (entry.options ?? "") || optionsText(first) == granted[entry.key.fingerprint] else { continue }
                claimed[entry.key.fingerprint] = first
            }
            if let existing {
                claimed = claimed.filter { !passesOtherOptions($0.value, to: existing.begin) }
            } else {
                // Each round drops at least one line, so this ends.
                while !claimed.isEmpty {
                    let added = wanted.filter { claimed[$0.key.fingerprint] == nil }
                    let floor = added.compactMap { linesOf[$0.key.fingerprint]?.last.map { $0.number + 1 } }.max() ?? 1
                    var anchor = max(claimed.values.map(\.number).min()!, floor)
                    // Never inside another block (a key it added may be that
                    // block's last line): the new markers would break it up.
                    for other in file.managedBlocks where other.begin < anchor && anchor <= other.end { anchor = other.end + 1 }
                    let blocked = claimed.filter { passesOtherOptions($0.value, to: anchor) }.keys
                    if blocked.isEmpty {
                        adoption.anchors[id] = anchor
                        break
                    }
                    for fingerprint in blocked { claimed[fingerprint] = nil }
                }
            }
            guard !claimed.isEmpty else { continue }
            taken.formUnion(claimed.values.map(\.number))
            adoption.claims[id] = claimed
        }
        return adoption
    }

    /// The lines of an `adopt: true` block: lines already in it (kept while
    /// their options are the granted ones), lines it takes, both in file
    /// order, then keys new to the file in the role's order.
    static func adoptedBlockLines(_ entries: [DesiredEntry], existing: ManagedBlock?,
                                  claims: [String: AuthorizedKeysFile.Line]) -> [AuthorizedKeysFile.BlockLine] {
        var inBlock: [String: AuthorizedKeysFile.Line] = [:]
        for line in existing?.keyLines ?? [] {
            if let fingerprint = line.grantingFingerprint, inBlock[fingerprint] == nil { inBlock[fingerprint] = line }
        }
        var items: [(position: Int, order: Int, line: AuthorizedKeysFile.BlockLine)] = []
        for (order, entry) in entries.enumerated() {
            guard let written = try? AuthorizedKeyEntry(optionsText: entry.options, key: entry.key) else { continue }
            if let line = inBlock[entry.key.fingerprint] {
                let same = (line.entry?.options?.text ?? "") == (entry.options ?? "")
                items.append((line.number, order, same ? .kept(line.bytes) : .entry(written)))
            } else if let line = claims[entry.key.fingerprint] {
                items.append((line.number, order, .kept(line.bytes)))
            } else {
                items.append((Int.max, order, .entry(written)))
            }
        }
        return items.sorted { ($0.position, $0.order) < ($1.position, $1.order) }.map(\.line)
    }
}
