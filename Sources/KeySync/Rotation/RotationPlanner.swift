/// One account on one host in a rotation (a row of `rotation_hosts`).
public struct RotationPair: Hashable, Sendable, CustomStringConvertible {
    /// Inventory host name.
    public var host: String
    /// Unix account.
    public var account: String

    /// Creates a pair.
    public init(host: String, account: String) {
        self.host = host
        self.account = account
    }

    /// `host (account)`.
    public var description: String { "\(host) (\(account))" }
}

/// Which versions of a rotated key an account's managed blocks hold.
public enum RotationStage: Sendable, Equatable {
    /// Only the old key: the rotation has not reached the account.
    case old
    /// The old key and, right after it, the new one (same options).
    case both
    /// Only the new key.
    case new

    /// The stage a pair is in once it has completed `phase`.
    public init(completed phase: Store.RotationPhase) {
        switch phase {
        case .pending, .failed: self = .old
        case .added, .verified: self = .both
        case .retired: self = .new
        }
    }
}

/// The three steps every pair goes through, in order.
public enum RotationStep: String, Codable, Sendable, CaseIterable {
    /// Phase 1: the new key goes next to the old one.
    case add
    /// Phase 2: a login with the new key (or a re-read of the file) proves it works.
    case verify
    /// Phase 3: the old key is removed.
    case retire

    /// The phase a pair reaches by completing this step.
    public var phase: Store.RotationPhase {
        switch self {
        case .add: return .added
        case .verify: return .verified
        case .retire: return .retired
        }
    }

    /// The stage the step's push writes (verify writes nothing).
    var stage: RotationStage {
        switch self {
        case .add, .verify: return .both
        case .retire: return .new
        }
    }

    /// The step a pair takes after completing `phase`; nil once retired. A
    /// completed phase is never repeated, a failed step is tried again.
    public static func next(after phase: Store.RotationPhase) -> RotationStep? {
        switch phase {
        case .pending, .failed: return .add
        case .added: return .verify
        case .verified: return .retire
        case .retired: return nil
        }
    }
}

/// The pure decisions of a rotation: which accounts, in what order, which step next.
public enum RotationPlanner {
    /// Every (host, account) where `keyName` is granted by a block of one of
    /// `projects` (all projects when empty), in inventory host order.
    public static func pairs(of keyName: String, in inventory: Inventory, projects: [String] = []) -> [RotationPair] {
        let selected = Set(projects)
        return ((try? inventory.select()) ?? []).flatMap { target in
            target.accounts.filter { account in
                account.blocks.contains { block in
                    (selected.isEmpty || selected.contains(block.project)) && block.entries.contains { $0.keyName == keyName }
                }
            }.map { RotationPair(host: target.host.name, account: $0.name) }
        }
    }

    /// The pairs in waves: with `canary` > 0, the pairs of the first `canary`
    /// hosts (in order), then the rest; otherwise one wave. Empty waves are dropped.
    public static func waves(_ pairs: [RotationPair], canary: Int) -> [[RotationPair]] {
        var hosts: [String] = []
        for pair in pairs where !hosts.contains(pair.host) { hosts.append(pair.host) }
        guard canary > 0, canary < hosts.count else { return pairs.isEmpty ? [] : [pairs] }
        let canaries = Set(hosts.prefix(canary))
        return [pairs.filter { canaries.contains($0.host) }, pairs.filter { !canaries.contains($0.host) }]
    }

    /// The pairs of `rows` whose next step is `step`, in rotation order.
    public static func due(_ step: RotationStep, in rows: [Store.RotationHost]) -> [RotationPair] {
        rows.sorted { $0.position < $1.position }
            .filter { RotationStep.next(after: $0.completedPhase) == step }
            .map(\.pair)
    }

    /// The rotation's status once a run ended without interruption: completed
    /// when every pair is retired, stopped when a canary is not, else failed.
    public static func status(of rows: [Store.RotationHost], canary: Int) -> Store.RotationStatus {
        guard rows.contains(where: { $0.completedPhase != .retired }) else { return .completed }
        let waves = waves(rows.sorted { $0.position < $1.position }.map(\.pair), canary: canary)
        guard waves.count > 1 else { return .failed }
        let canaries = Set(waves[0])
        return rows.contains { canaries.contains($0.pair) && $0.completedPhase != .retired }
            ? .stopped : .failed
    }

    /// The grants still holding the old key: `grants` minus the pairs retired by
    /// any rotation of the same old → new key. Empty: the old key can be retired everywhere.
    public static func uncovered(_ grants: [RotationPair], retired: some Sequence<RotationPair>) -> [RotationPair] {
        let done = Set(retired)
        return grants.filter { !done.contains($0) }
    }
}
