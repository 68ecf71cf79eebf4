/// The kinds of drift keysync reports (DESIGN.md, "Drift kinds"). The raw
/// values are a public contract used in JSON, the database and reports.
public enum DriftKind: String, CaseIterable, Codable, Sendable {
    case missingKey = "missing_key"
    case unexpectedKey = "unexpected_key"
    case optionsChanged = "options_changed"
    case revokedKey = "revoked_key"
    case duplicateKey = "duplicate_key"
    case unmanagedKey = "unmanaged_key"
    case invalidLine = "invalid_line"
    /// A keysync marker that forms no block (stray, unbalanced, hand-edited
    /// block, no project/role): left as an unmanaged comment and reported
    /// with its line number, never repaired, since the lines around it may
    /// be a person's.
    case invalidMarker = "invalid_marker"
    case fileMode = "file_mode"
    case fileOwner = "file_owner"
    case dirMode = "dir_mode"
    case dirOwner = "dir_owner"
    case homeUnsafe = "home_unsafe"
    case symlink
    case accountMissing = "account_missing"
    case accountLocked = "account_locked"
    case accountExpired = "account_expired"
    case passwordChangeRequired = "password_change_required"
    case shellInvalid = "shell_invalid"
    case hostUnreachable = "host_unreachable"
    case hostKeyMismatch = "host_key_mismatch"
    case authFailed = "auth_failed"
    case sudoFailed = "sudo_failed"
    case conflict
    case lockoutRefused = "lockout_refused"
    /// AuthorizedKeysFile outside a folder under home: reported, never written.
    case unsupportedPath = "unsupported_path"
    /// The keys file is larger than keysync reads (``ProbeScript/fileSizeLimit``):
    /// nothing read or written; `push` reports the host as failed.
    case fileTooLarge = "file_too_large"
    /// The account cannot read its keys file (mode 000, a folder it cannot
    /// enter, a root-owned file keysync does not read as root): nothing read
    /// or written for that account, the others are done; `push` reports the
    /// host as failed, since a revoked key in it cannot be removed.
    case fileUnreadable = "file_unreadable"
    /// sshd's log shows an accepted login with a revoked (or retired) key
    /// since the last scan, and keysync found no copy of it on the host to
    /// remove: the key still grants access somewhere keysync does not read
    /// (a Match block's keys file for other clients, AuthorizedKeysCommand,
    /// an account the inventory does not name). Not repairable by push.
    case revokedKeyUsed = "revoked_key_used"
    /// The account resolves to uid 0 on the host though it is not `root`
    /// (an alias of root, or a passwd line put before the real one): its
    /// keys would log in as root, which the inventory allows only for
    /// account `root`. Nothing written for it.
    case accountUID = "account_uid"
    /// A managed line whose grant has ended (`until:`) is still in the
    /// file; push removes it.
    case grantExpired = "grant_expired"
    /// A keysync block whose project/role no longer maps to this host and
    /// account (the host left the project, no role names the account here
    /// any more, or the project is gone): `push` removes it, as it would any
    /// access the inventory no longer grants.
    case staleBlock = "stale_block"
    /// A host keysync managed (the database says so) that is no longer
    /// under `hosts:`: listed, never contacted, until `keysync decommission`
    /// cleans it (or `--forget` records that the machine is gone).
    case hostDeparted = "host_departed"
    /// A key an `adopt: true` role grants sits outside its block, on a line
    /// keysync did not write (a fleet adopted from hand-kept files): `push`
    /// moves that line into the block unchanged; nothing is added or removed.
    case unwrappedKey = "unwrapped_key"
    /// A keysync block grants what the inventory says (same keys, same
    /// options) but its bytes differ from what keysync writes: a comment,
    /// spacing or the order of its lines was changed by hand (or the
    /// inventory's order changed). `push` rewrites it; reported so that
    /// `check` and `push` agree on whether the host would change.
    case blockEdited = "block_edited"

    /// `/etc/ssh/keysync/trusted_user_ca_keys` is missing or differs from the
    /// CAs the host's roles trust (issue 19).
    case caFileChanged = "ca_file_changed"
    /// `/etc/ssh/keysync/principals/ACCOUNT` is missing or differs from the
    /// account's `principals:`.
    case principalsChanged = "principals_changed"
    /// `/etc/ssh/keysync/revoked_keys.krl` is missing or not the KRL compiled
    /// from `revoked:`: a revocation has not landed.
    case krlStale = "krl_stale"
    /// sshd does not use a file keysync writes (no `TrustedUserCAKeys`,
    /// `AuthorizedPrincipalsFile` or `RevokedKeys` pointing at it).
    case sshdConfigMissing = "sshd_config_missing"
    /// With `manage_sshd: true`: keysync's drop-in
    /// `/etc/ssh/sshd_config.d/50-keysync.conf` is missing or differs from
    /// what keysync writes (content, owner root:root, mode 0644).
    case sshdDropinChanged = "sshd_dropin_changed"

    /// Kinds reported once per line of a keys file, so a file the account
    /// writes decides how many there are: listed up to a bound per account
    /// (``AccountPlan/listedPerKind``), the rest counted in one item.
    public var isPerLine: Bool {
        switch self {
        case .unexpectedKey, .optionsChanged, .revokedKey, .duplicateKey, .unmanagedKey, .invalidLine, .invalidMarker, .grantExpired:
            return true
        default:
            return false
        }
    }

    /// Whether `push` repairs this kind (the rest is reported only).
    public var isRepairedByPush: Bool {
        switch self {
        case .missingKey, .unexpectedKey, .optionsChanged, .revokedKey, .duplicateKey, .unmanagedKey,
             .fileMode, .fileOwner, .dirMode, .grantExpired, .staleBlock, .unwrappedKey, .blockEdited,
             .caFileChanged, .principalsChanged, .krlStale, .sshdDropinChanged:
            return true
        default:
            return false
        }
    }
}

/// One difference between a host and the inventory.
public struct DriftItem: Hashable, Codable, Sendable {
    public var account: String
    public var kind: DriftKind
    public var detail: String
    /// The key's `SHA256:…` when the item is about one key; `null` in JSON otherwise (DESIGN.md lists the field).
    @NullWhenNil public var fingerprint: String?
    /// Whether this run's push repairs it (set by the planner; not in JSON).
    public var repairable = false

    enum CodingKeys: String, CodingKey {
        case account, kind, detail, fingerprint
    }

    public init(account: String, kind: DriftKind, detail: String, fingerprint: String? = nil) {
        self.account = account
        self.kind = kind
        self.detail = detail
        self.fingerprint = fingerprint
    }
}

/// A host's status after a run (JSON `status`).
public enum HostStatus: String, Codable, Sendable {
    case ok, changed, drift, failed
}
