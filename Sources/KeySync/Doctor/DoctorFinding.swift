/// One thing `keysync doctor` found about a role login on a host: what is
/// wrong, the evidence it saw, and a command that fixes it.
public struct DoctorFinding: Hashable, Codable, Sendable {
    /// How bad it is.
    public enum Severity: String, Hashable, Codable, Sendable, Comparable, CaseIterable {
        /// Worth knowing (the sshd log lines, a login that worked).
        case info
        /// The login may fail (for some clients, under another config) or is weak.
        case warning
        /// The login will fail.
        case error

        private var rank: Int { Self.allCases.firstIndex(of: self)! }
        /// `info` < `warning` < `error`.
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    public var severity: Severity
    public var code: DoctorCode
    /// One or two sentences: what is wrong and what sshd does about it.
    public var message: String
    /// What was seen: shadow, stat, `sshd -T`, sshd_config and log lines.
    public var evidence: [String]
    /// A command an operator can paste (on the host unless it starts with
    /// `keysync`), or nil when no single command fixes it; always in JSON
    /// (null when there is none), while `key`, `fixed` and `fix_refused` are
    /// there only when set.
    @NullWhenNil public var fix: String?
    /// The inventory key the finding is about (per-key findings only).
    public var key: String?
    /// The path a file finding is about (home, a folder of the StrictModes
    /// walk, the keys file). Not in JSON: with `code` and `key` it tells the
    /// same finding apart before and after `--fix`.
    public var subject: String?
    /// `--fix` only: whether this run fixed it (nil without `--fix`).
    public var fixed: Bool?
    /// `--fix` only: why a finding `--fix` covers was left alone (a symlink,
    /// an account the inventory does not create…).
    public var fixRefused: String?

    public init(_ severity: Severity, _ code: DoctorCode, _ message: String, evidence: [String] = [],
                fix: String? = nil, key: String? = nil, subject: String? = nil) {
        self.severity = severity
        self.code = code
        self.message = message
        self.evidence = evidence
        self.fix = fix
        self.key = key
        self.subject = subject
    }

    /// The same finding in another diagnosis of the same account (before and after `--fix`).
    public func isSame(as other: DoctorFinding) -> Bool {
        code == other.code && key == other.key && subject == other.subject
    }

    enum CodingKeys: String, CodingKey { case severity, code, message, evidence, fix, key, fixed, fixRefused = "fix_refused" }
}

/// Stable finding codes (JSON `code`): scripts match on them, so they are
/// never renamed (docs/doctor.md lists them).
public enum DoctorCode: String, Hashable, Codable, Sendable, CaseIterable {
    // Account
    case accountMissing = "account_missing"
    case accountLocked = "account_locked"
    case accountExpired = "account_expired"
    case passwordChangeRequired = "password_change_required"
    case passwordExpired = "password_expired"
    case accountInactive = "account_inactive"
    case shellInvalid = "shell_invalid"
    case shellNotListed = "shell_not_listed"
    case shellNoLogin = "shell_nologin"
    // sshd settings
    case sshdConfigInvalid = "sshd_config_invalid"
    case pubkeyDisabled = "pubkey_authentication_disabled"
    case deniedUser = "denied_by_denyusers"
    case notAllowedUser = "not_in_allowusers"
    case deniedGroup = "denied_by_denygroups"
    case notAllowedGroup = "not_in_allowgroups"
    case sshdConfigMissing = "sshd_config_missing"
    // Files
    case homeMissing = "home_missing"
    case homeUnsafe = "home_unsafe"
    case directoryUnsafe = "dir_unsafe"
    case fileUnsafe = "file_unsafe"
    case fileUnreadable = "file_unreadable"
    case fileOwner = "file_owner"
    case symlink
    case keysFileNone = "keys_file_none"
    case keysFileElsewhere = "keys_file_elsewhere"
    case keysFileUnmanaged = "keys_file_unmanaged"
    // Keys
    case keyMissing = "key_missing"
    case keyTypeRefused = "key_type_refused"
    case keyRSASHA1 = "key_rsa_sha1"
    case keyRSATooSmall = "key_rsa_too_small"
    case keyWeakRSA = "key_weak_rsa"
    case keyDSA = "key_dsa"
    case keyExpired = "key_expired"
    case keyFromRestricted = "key_from_restricted"
    case keyBadFrom = "key_bad_from"
    case keyPrincipals = "key_principals"
    case keyShadowed = "key_shadowed"
    // Evidence
    case sshdLog = "sshd_log"
    case sshdLogUnavailable = "sshd_log_unavailable"
    case loginWorks = "login_ok"
    case loginFailed = "login_failed"
    // doctor --try-login CERT (a user certificate)
    case certificateOK = "certificate_ok"
    case certificateNotUser = "certificate_not_user"
    case certificateExpired = "certificate_expired"
    case certificateNotYetValid = "certificate_not_yet_valid"
    case certificatePrincipal = "certificate_principal"
    case certificateCAUntrusted = "certificate_ca_untrusted"
    case certificateRevoked = "certificate_revoked"
    /// Signed with ssh-rsa (SHA-1) where sshd's CASignatureAlgorithms refuses it.
    case certificateSignature = "certificate_signature"
    /// A critical option sshd refuses (unknown, or a source-address without the client), or force-command (warning).
    case certificateOptions = "certificate_options"
}
