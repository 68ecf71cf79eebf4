import Foundation

/// The outcome of `keysync rotate` (a run or `--status`): the rotation, each
/// host and account with its phase, and what happened to the old key and the inventory.
public struct RotationReport: Codable, Sendable {
    /// How phase 2 proved the new key.
    public enum Verification: String, Codable, Sendable {
        /// A real SSH login as the role account with the new private key (accepted authentication; nothing is run).
        case login
        /// The file was read back and holds the new line; the login itself was not tried.
        case file
    }

    /// One host and account.
    public struct Host: Codable, Sendable {
        public var host: String
        public var account: String
        public var phase: Store.RotationPhase
        /// The last phase passed (kept when `phase` is `failed`).
        public var completedPhase: Store.RotationPhase
        /// Why the last step failed (a note when not failed); JSON `null` when none.
        @NullWhenNil public var error: String?

        enum CodingKeys: String, CodingKey {
            case host, account, phase, completedPhase = "completed_phase", error
        }
    }

    /// Counts over the hosts and accounts.
    public struct Summary: Codable, Sendable {
        /// Hosts and accounts in the rotation.
        public var accounts: Int
        public var retired: Int
        public var failed: Int
        /// Neither retired nor failed (not reached yet, or stopped by a canary or an interrupt).
        public var pending: Int
        public var seconds: Double
    }

    /// The rotation id (for `--resume` and `--status`).
    public var rotation: Int64
    /// The inventory key name.
    public var key: String
    public var oldFingerprint: String
    public var newFingerprint: String
    public var status: Store.RotationStatus
    public var canary: Int
    /// How phase 2 proves the new key (the latest run's way, for a resumed rotation).
    public var verification: Verification
    /// Set when the run stopped early (SIGINT); resume with `--resume`.
    public var interrupted: Bool
    /// The old fingerprint is recorded as retired (found later: `revoked_key`).
    public var oldKeyRetired: Bool
    /// Grants of the key outside this rotation that still hold the old key (`host (account)`).
    public var remaining: [String]
    /// What was done to the inventory (once the old key is retired
    /// everywhere); JSON `null` before.
    @NullWhenNil public var inventory: InventoryKeyUpdate?
    public var hosts: [Host]
    public var summary: Summary

    enum CodingKeys: String, CodingKey {
        case rotation, key, oldFingerprint = "old_fingerprint", newFingerprint = "new_fingerprint", status, canary
        case verification, interrupted, oldKeyRetired = "old_key_retired", remaining, inventory, hosts, summary
    }

    /// The report of a stored rotation.
    init(_ rotation: Store.Rotation, rows: [Store.RotationHost], seconds: Double = 0, interrupted: Bool = false,
         oldKeyRetired: Bool, remaining: [RotationPair] = [], inventory: InventoryKeyUpdate? = nil) {
        self.rotation = rotation.id
        key = rotation.keyName
        oldFingerprint = rotation.oldFingerprint
        newFingerprint = rotation.newFingerprint
        status = rotation.status
        canary = rotation.canary
        verification = rotation.optionValues[RotationRun.identityOption] == nil ? .file : .login
        self.interrupted = interrupted
        self.oldKeyRetired = oldKeyRetired
        self.remaining = remaining.map(\.description)
        self.inventory = inventory
        hosts = rows.sorted { $0.position < $1.position }.map {
            Host(host: $0.host, account: $0.account, phase: $0.phase, completedPhase: $0.completedPhase, error: $0.error)
        }
        let retired = hosts.filter { $0.completedPhase == .retired }.count
        let failed = hosts.filter { $0.phase == .failed }.count
        summary = Summary(accounts: hosts.count, retired: retired, failed: failed,
                          pending: hosts.count - retired - failed, seconds: (seconds * 1000).rounded() / 1000)
    }

    /// 130 interrupted, 0 completed (and the inventory handled), else 3.
    public var exitCode: Int32 {
        if interrupted { return 130 }
        guard status == .completed else { return 3 }
        return inventory?.action == .notUpdated ? 3 : 0
    }

    /// The failed hosts and accounts.
    public var failed: [Host] { hosts.filter { $0.phase == .failed } }

    /// Text for people: a header, every host not retired (failures with their
    /// reason), a summary line, and the old key's and the inventory's state.
    public func text(verbose: Bool = false) -> String {
        var lines = ["rotation \(rotation) of \(key): \(oldFingerprint) -> \(newFingerprint)" + (canary > 0 ? " (canary \(canary))" : "")]
        switch verification {
        case .login: lines.append("verified by: a login as the role account with the new private key")
        case .file: lines.append("verified by: reading the file back (the login itself was not tried; use --verify-identity)")
        }
        for host in hosts where verbose || host.completedPhase != .retired || host.error != nil {
            switch host.phase {
            case .failed:
                let kept = host.completedPhase == .pending ? "keeps the old key" : "keeps both keys"
                lines.append("  \(host.host) \(host.account): FAILED after \(host.completedPhase.rawValue) (\(kept)): \((host.error ?? "unknown error").terminalSafe())")
            default:
                lines.append("  \(host.host) \(host.account): \(host.phase.rawValue)" + (host.error.map { " (\($0.terminalSafe()))" } ?? ""))
            }
        }
        let s = summary
        var line = "\(s.accounts) account\(s.accounts == 1 ? "" : "s"): \(s.retired) retired, \(s.failed) failed, \(s.pending) pending — "
        switch (status, interrupted) {
        case (_, true): line += "INTERRUPTED; continue with keysync rotate --resume \(rotation)"
        case (.completed, _): line += "rotation completed"
        case (.stopped, _): line += "a canary failed, the other hosts were not touched; fix it and run keysync rotate --resume \(rotation)"
        case (.failed, _): line += "rotation incomplete; fix the failed hosts and run keysync rotate --resume \(rotation)"
        case (.running, _): line += "rotation in progress (or interrupted; keysync rotate --resume \(rotation))"
        }
        lines.append(line + (s.seconds > 0 ? String(format: " (%.1f s)", s.seconds) : ""))
        if oldKeyRetired {
            lines.append("old key \(oldFingerprint) is retired: push and check report it as revoked_key wherever it appears")
        } else if status == .completed && !remaining.isEmpty {
            lines.append("old key not retired yet: \(key) is still granted with it to \(remaining.count) account\(remaining.count == 1 ? "" : "s") outside this rotation (\(remaining.prefix(5).joined(separator: ", "))\(remaining.count > 5 ? ", …" : "")); rotate them with the same --new-key")
        }
        if let inventory { lines.append("inventory: \(inventory.detail)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
