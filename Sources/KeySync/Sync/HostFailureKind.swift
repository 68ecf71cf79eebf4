/// Why a host failed: the short machine name a failed ``HostResult`` carries
/// (`error_kind` in JSON and in the database). The raw values are a public
/// contract (docs/sync.md, "Statuses and exit codes"): scripts match on them.
public enum HostFailureKind: String, CaseIterable, Codable, Sendable {
    /// No TCP connection or SSH handshake, or the connection broke.
    case hostUnreachable = "host_unreachable"
    /// The host key is unknown, changed, of another type or revoked; nothing was sent.
    case hostKeyMismatch = "host_key_mismatch"
    /// The server refused the identity, or it could not be loaded.
    case authFailed = "auth_failed"
    /// The known_hosts file could not be read, or `--accept-new-host-keys`
    /// could not append to it (a problem on the controller, not the host's identity).
    case knownHostsFailed = "known_hosts_failed"
    /// Opening a channel or starting a command failed.
    case channelFailed = "channel_failed"
    /// A command did not finish before its deadline.
    case commandTimeout = "command_timeout"
    /// sudo asks for a password, is missing, or the probe did not run as root.
    case sudoFailed = "sudo_failed"
    /// The remote shell or the probe's reply failed.
    case probeFailed = "probe_failed"
    /// The host must not be changed as a whole (uid clash, unreadable sshd settings…).
    case planFailed = "plan_failed"
    /// The apply script failed or did not answer for an account.
    case applyFailed = "apply_failed"
    /// The file changed between the probe and the write (compare-and-swap).
    case conflict
    /// A process of one account held the host (its read or write of the
    /// keys file as the account never finished): that account was left out
    /// and the host's other accounts were done (``SyncEngine/converge(_:snapshot:)``).
    case accountStalled = "account_stalled"
    /// The snapshot could not be recorded in the database, so nothing was written.
    case storeFailed = "store_failed"
    /// Not started: the run was interrupted (SIGINT/SIGTERM).
    case interrupted
    /// The keys file is larger than keysync reads (it may hold a revoked key).
    case fileTooLarge = "file_too_large"
    /// A revoked key stays where keysync cannot write.
    case revocationBlocked = "revocation_blocked"
    /// The lockout guard refused a restore (`--force` overrides it).
    case lockoutRefused = "lockout_refused"
    /// A restore did not put every file back.
    case restoreFailed = "restore_failed"
    /// `offboard` could not remove or verify every line it found.
    case offboardFailed = "offboard_failed"
    /// A jump host on the way (`jump:`) could not be reached, was not
    /// trusted, refused the login or forwarding, or broke; the host itself
    /// was not (or no longer) contacted.
    case jumpFailed = "jump_failed"
    /// `manage_sshd`: sshd_config has no `Include` that reads keysync's
    /// drop-in folder; nothing was written (the fix is in the error).
    case sshdIncludeMissing = "sshd_include_missing"
    /// `manage_sshd`: `sshd -t` refused the configuration with the new
    /// drop-in; the previous drop-in is back, sshd was not reloaded.
    case sshdConfigInvalid = "sshd_config_invalid"
    /// `manage_sshd`: `sshd -T` does not report the drop-in's values (set
    /// earlier in sshd_config or another drop-in: sshd keeps the first);
    /// the previous drop-in is back, sshd was not reloaded.
    case sshdDropinOverridden = "sshd_dropin_overridden"
    /// `manage_sshd`: sshd could not be reloaded, or a fresh login after the
    /// reload failed; the previous drop-in is back and sshd reloaded again.
    case sshdReloadFailed = "sshd_reload_failed"

    /// The drift item a failure of this kind is also listed as (account
    /// '', the host itself), so drift reports show the host; nil when none.
    public var driftKind: DriftKind? {
        switch self {
        case .hostUnreachable, .channelFailed, .commandTimeout, .jumpFailed: return .hostUnreachable
        case .hostKeyMismatch: return .hostKeyMismatch
        case .authFailed: return .authFailed
        case .sudoFailed: return .sudoFailed
        case .conflict: return .conflict
        case .lockoutRefused: return .lockoutRefused
        case .fileTooLarge: return .fileTooLarge
        case .knownHostsFailed, .probeFailed, .planFailed, .applyFailed, .storeFailed, .interrupted, .accountStalled,
             .revocationBlocked, .restoreFailed, .offboardFailed,
             .sshdIncludeMissing, .sshdConfigInvalid, .sshdDropinOverridden, .sshdReloadFailed:
            return nil
        }
    }
}
