/// Why a rotation cannot start or resume. Every case is bad input: nothing
/// was touched on any host. Messages name keys by fingerprint, never by material.
public enum RotationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// KEY is not a key name of the inventory.
    case unknownKey(name: String, known: [String])
    /// `--new-key` (or `--verify-identity`) could not be read as a key.
    case unreadableKey(path: String, reason: String)
    /// The new key is the key the inventory already names.
    case sameKey(name: String, fingerprint: String)
    /// The new key is revoked in the inventory or retired by an earlier rotation.
    case newKeyRevoked(fingerprint: String)
    /// The inventory still names a key an earlier rotation retired.
    case inventoryNamesRetiredKey(name: String, fingerprint: String)
    /// `--verify-identity` holds another key than `--new-key`.
    case identityMismatch(path: String, expected: String, found: String)
    /// `--project` names a project the inventory does not have.
    case unknownProject(String)
    /// No account is granted KEY (in the selected projects).
    case notGranted(name: String, projects: [String])
    /// Another rotation of the key is not finished.
    case unfinished(name: String, id: Int64, newFingerprint: String)
    /// An earlier rotation moved some accounts of the key to another new key.
    case otherNewKey(name: String, id: Int64, newFingerprint: String)
    /// `--resume` names no rotation.
    case unknownRotation(Int64)
    /// The database holds no rotation (`--status` without an id).
    case noRotations
    /// `--resume` with a KEY or `--new-key` that is not the rotation's.
    case resumeMismatch(id: Int64, reason: String)
    /// The inventory names neither the old nor the new key of the rotation.
    case inventoryChanged(name: String, id: Int64)
    /// Another inventory key holds the same key material (or file): retiring
    /// the old key would take it from that key's accounts too.
    case sharedKeyMaterial(name: String, others: [String])
    /// Another key type, and no login to prove every sshd accepts it.
    case keyTypeChange(old: String, new: String)

    /// The message, naming the key, file or rotation concerned.
    public var description: String {
        switch self {
        case let .unknownKey(name, known):
            return "unknown key \"\(name)\"" + Suggestion.hint(for: name, in: known) + "; keys are named under `keys:` in the inventory"
        case let .unreadableKey(path, reason):
            return "\(path): not a key keysync can read: \(reason)"
        case let .sameKey(name, fingerprint):
            return "the new key is \(fingerprint), which the inventory already names for \(name); generate a new one (keysync keys generate)"
        case let .newKeyRevoked(fingerprint):
            return "the new key \(fingerprint) is revoked or retired; generate a new one (keysync keys generate)"
        case let .inventoryNamesRetiredKey(name, fingerprint):
            return "the inventory still names \(fingerprint) for \(name), which an earlier rotation retired; put the new key in the inventory first (keysync rotate --status shows the rotation)"
        case let .identityMismatch(path, expected, found):
            return "--verify-identity \(path) is the private key of \(found), but --new-key is \(expected)"
        case let .unknownProject(name):
            return "unknown project \"\(name)\""
        case let .notGranted(name, projects):
            return "no account is granted \(name)" + (projects.isEmpty ? "" : " in project \(projects.joined(separator: ", "))") + "; nothing to rotate"
        case let .unfinished(name, id, newFingerprint):
            return "rotation \(id) of \(name) (to \(newFingerprint)) is not finished; finish it with `keysync rotate --resume \(id)`"
        case let .otherNewKey(name, id, newFingerprint):
            return "rotation \(id) already moved accounts of \(name) to \(newFingerprint); rotate the rest to that same key (--new-key)"
        case let .unknownRotation(id):
            return "no rotation \(id) in the database (keysync rotate --status lists the latest)"
        case .noRotations:
            return "no rotation recorded in the database yet"
        case let .resumeMismatch(id, reason):
            return "rotation \(id): \(reason)"
        case let .sharedKeyMaterial(name, others):
            return "\(name) holds the same key as \(others.map { "\"\($0)\"" }.joined(separator: ", ")); retiring it would take it from "
                + "their accounts as well: give each key name its own key, or rotate under one name (keysync where shows who holds it)"
        case let .keyTypeChange(old, new):
            return "the new key is \(new), the old one \(old): a re-read of authorized_keys cannot show that every sshd accepts \(new) keys "
                + "(PubkeyAcceptedAlgorithms, crypto policies), and the old key would go on that evidence; verify with a real login "
                + "(--verify-identity NEW_PRIVATE_KEY), or pass --accept-key-type if you have checked (keysync doctor lists refused key types)"
        case let .inventoryChanged(name, id):
            return "the inventory names neither the old nor the new key of rotation \(id) for \(name); restore it before resuming"
        }
    }
}
