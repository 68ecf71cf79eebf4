/// What `push` and `check` put in place of a rotated key, so that they keep
/// working before the inventory is edited and never undo a rotation.
///
/// For each inventory key with a rotation whose old or new fingerprint is the
/// key's current one, every desired entry of that key is replaced, per
/// (host, account), by the stage its completed phase implies: pending → the old
/// key, added/verified → old and new, retired → the new key. Accounts outside
/// every rotation of the key get the new key once the old one is retired
/// (the inventory just has not been edited yet), else what the inventory says.
public struct RotationOverlay: Sendable {
    /// One rotated key.
    public struct Key: Sendable {
        /// Inventory key name.
        public var name: String
        /// The key the rotation replaces, and the one it puts in its place.
        public var old: PublicKey, new: PublicKey
        /// Stage per pair, from the completed phases of the key's rotations.
        public var stages: [RotationPair: RotationStage]
        /// Stage of an account that no rotation of the key lists.
        public var otherwise: RotationStage

        /// Creates a rotated key.
        public init(name: String, old: PublicKey, new: PublicKey, stages: [RotationPair: RotationStage], otherwise: RotationStage) {
            (self.name, self.old, self.new, self.stages, self.otherwise) = (name, old, new, stages, otherwise)
        }
    }

    /// Rotated keys by inventory key name.
    public var keys: [String: Key]

    /// An overlay of `keys` (none: changes nothing).
    public init(_ keys: [Key] = []) {
        self.keys = Dictionary(keys.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The overlay the store's rotations imply for `inventory`.
    public static func load(from store: Store, inventory: Inventory) throws -> RotationOverlay {
        let rotations = try store.rotations()
        guard !rotations.isEmpty else { return RotationOverlay() }
        let retired = try store.retiredFingerprints()
        var keys: [Key] = []
        for key in inventory.keys {
            guard let latest = rotations.first(where: {
                $0.keyName == key.name && ($0.oldFingerprint == key.fingerprint || $0.newFingerprint == key.fingerprint)
            }), let material = RotationKeys(latest) else { continue }
            let inventoryIsNew = key.fingerprint == latest.newFingerprint
            if inventoryIsNew && latest.status == .completed { continue }
            var stages: [RotationPair: RotationStage] = [:]
            for rotation in rotations.reversed() where rotation.keyName == key.name
                && rotation.oldFingerprint == latest.oldFingerprint && rotation.newFingerprint == latest.newFingerprint {
                for row in try store.rotationHosts(id: rotation.id) {
                    stages[RotationPair(host: row.host, account: row.account)] = RotationStage(completed: row.completedPhase)
                }
            }
            let otherwise: RotationStage = inventoryIsNew || retired.contains(latest.oldFingerprint) ? .new : .old
            keys.append(Key(name: key.name, old: material.old, new: material.new, stages: stages, otherwise: otherwise))
        }
        return RotationOverlay(keys)
    }

    /// This overlay with `key` added or replaced.
    public func replacing(_ key: Key) -> RotationOverlay {
        var copy = self
        copy.keys[key.name] = key
        return copy
    }

    /// `targets` with every entry of a rotated key replaced by its stage.
    public func apply(to targets: [HostTarget]) -> [HostTarget] {
        guard !keys.isEmpty else { return targets }
        return targets.map { target in
            var target = target
            for a in target.accounts.indices {
                let pair = RotationPair(host: target.host.name, account: target.accounts[a].name)
                for b in target.accounts[a].blocks.indices {
                    target.accounts[a].blocks[b].entries = entries(target.accounts[a].blocks[b].entries, for: pair)
                }
            }
            return target
        }
    }

    /// The entries of one block with rotated keys staged; repeats dropped.
    func entries(_ entries: [DesiredEntry], for pair: RotationPair) -> [DesiredEntry] {
        var seen = Set<String>()
        return entries.flatMap { entry -> [DesiredEntry] in
            guard let key = keys[entry.keyName],
                  [key.old.fingerprint, key.new.fingerprint].contains(entry.key.fingerprint) else { return [entry] }
            let old = DesiredEntry(keyName: entry.keyName, key: key.old, options: entry.options, until: entry.until)
            let new = DesiredEntry(keyName: entry.keyName, key: key.new, options: entry.options, until: entry.until)
            switch key.stages[pair] ?? key.otherwise {
            case .old: return [old]
            case .both: return [old, new]
            case .new: return [new]
            }
        }.filter { seen.insert($0.key.fingerprint).inserted }
    }
}

/// The old and new public keys a rotation stored in its options.
struct RotationKeys {
    static let oldOption = "old_key", newOption = "new_key"
    let old: PublicKey
    let new: PublicKey

    init?(_ rotation: Store.Rotation) {
        let options = rotation.optionValues
        guard let old = options[Self.oldOption].flatMap({ try? KeyImporter.parsePublicKeyLine($0) }),
              let new = options[Self.newOption].flatMap({ try? KeyImporter.parsePublicKeyLine($0) }),
              old.fingerprint == rotation.oldFingerprint, new.fingerprint == rotation.newFingerprint else { return nil }
        (self.old, self.new) = (old, new)
    }
}
