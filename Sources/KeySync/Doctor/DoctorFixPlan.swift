import Foundation

/// What `keysync doctor --fix` does for one account: a pure function of the
/// inventory's account, the probe and the findings, so it is testable
/// without a network.
///
/// Only safe fixes, applied through push's apply script (``ApplyScript``):
/// - `account_locked`: `usermod -p '*'`, only for an account the inventory
///   creates (`create: true`) and only when no password hash sits behind the `!`;
/// - `home_unsafe`: `chmod go-w` on home, only when the account or root owns
///   it (a home owned by someone else is left alone: its owner is never changed);
/// - `file_unreadable`, `file_owner`, `file_unsafe`, and `dir_unsafe` of the
///   keys file's own folder: the file is rewritten with its content unchanged,
///   the way push repairs owners and modes (folder owned by the account, 0700;
///   file written as the account, 0600; compare-and-swap on the probed hash).
///
/// Nothing is planned through a symlink (home, folder or file), for a keys
/// file outside home, or for any other finding (sshd_config, expiry, shell…):
/// those keep their printed fix.
public struct DoctorFixPlan: Hashable, Sendable {
    /// One fix and the findings it answers.
    public struct Action: Hashable, Sendable {
        /// What is done, as an operator would type it (recorded as a change).
        public var description: String
        /// Indexes into the findings the plan was made from.
        public var findings: [Int]
    }

    public var account: String
    /// What apply does; nil when nothing.
    public var apply: AccountApply?
    public var actions: [Action] = []
    /// Why a finding `--fix` covers in general is left alone, by finding index.
    public var refusals: [Int: String] = [:]

    /// Codes `--fix` may fix; other findings are never touched.
    public static let coveredCodes: Set<DoctorCode> = [.accountLocked, .homeUnsafe, .directoryUnsafe, .fileUnsafe, .fileUnreadable, .fileOwner]

    /// The plan for `target` on a host whose probe found `account`, from `findings` (``Doctor/examine(_:probe:context:)``).
    public init(_ target: AccountTarget, account: AccountProbe?, findings: [DoctorFinding]) {
        self.account = target.name
        guard let account, account.exists else {
            for (index, finding) in findings.enumerated() where Self.coveredCodes.contains(finding.code) {
                refusals[index] = "the account does not exist"
            }
            return
        }
        var unlock = false, restrictHome: String?, rewrite: FileWrite?
        var rewriteFindings: [Int] = []
        let name = target.name
        let home = account.homePath ?? target.homePath
        let keysPath = account.path
        let folder = keysPath.map { ($0 as NSString).deletingLastPathComponent }
        let underHome = folder?.hasPrefix(home.hasSuffix("/") ? home : home + "/") ?? false
        let symlink = [(account.home, home), (account.directory, folder), (account.file, keysPath)]
            .first { $0.0?.kind == .symlink }.map { $0.1 ?? "a path" }

        for (index, finding) in findings.enumerated() where finding.severity != .info {
            switch finding.code {
            case .accountLocked:
                let d = account.diagnostics ?? AccountDiagnostics()
                if !target.create {
                    refusals[index] = "the inventory does not create \(name) (no create: true); --fix unlocks only accounts keysync creates"
                } else if finding.severity != .error {
                    refusals[index] = "sshd uses PAM here and key logins work; --fix changes a password field only where the lock refuses the login"
                } else if d.passwordAfterLock == .hash {
                    refusals[index] = "a password hash sits behind the '!'; --fix never replaces a password (usermod -U restores it)"
                } else if d.passwordAfterLock == .star {
                    refusals[index] = "'!*' is what usermod -L makes of an account without a password: a lock someone set on purpose, which --fix does not undo (usermod -p '*' \(name) does)"
                } else if d.lockMarks == 0 {
                    refusals[index] = "the probe did not see the lock marks"
                } else {
                    unlock = true
                    actions.append(Action(description: Examination.command("usermod", "-p", "*", name), findings: [index]))
                }
            case .homeUnsafe:
                guard finding.subject == home, let stat = account.home else {
                    refusals[index] = "not the account's home"
                    continue
                }
                if stat.kind != .directory {
                    refusals[index] = "\(home) is not a folder (a symlink is never written through)"
                } else if stat.uid != 0 && stat.uid != account.uid {
                    refusals[index] = "\(home) is owned by uid \(stat.uid), neither \(name) nor root; --fix never changes who owns a home"
                } else if stat.mode & 0o022 == 0 {
                    refusals[index] = "nothing --fix can change (\(home) is not group- or world-writable)"
                } else {
                    restrictHome = home
                    actions.append(Action(description: Examination.command("chmod", "go-w", home), findings: [index]))
                }
            case .directoryUnsafe, .fileUnsafe, .fileUnreadable, .fileOwner:
                guard let keysPath, let folder, underHome else {
                    refusals[index] = "the keys file is outside home (a root-owned layout): --fix changes only an account's own files; keysync push rewrites it as root, root:root 0644"
                    continue
                }
                if let symlink {
                    refusals[index] = "\(symlink) is a symlink; keysync never writes through one"
                } else if finding.code == .directoryUnsafe && finding.subject != folder {
                    refusals[index] = "--fix repairs only the keys file's own folder \(folder)"
                } else if finding.code == .fileUnsafe && finding.subject != keysPath {
                    refusals[index] = "not the keys file \(keysPath)"
                } else if account.file?.kind != .regular || account.directory?.kind != .directory {
                    refusals[index] = "no keys file to rewrite (keysync push writes one)"
                } else if let owner = account.directory?.uid, owner != account.uid {
                    refusals[index] = "\(folder) is owned by uid \(owner), not \(name); keysync writes as the account and never chowns (\(SyncPlanner.chownAdvice(name, folder, home: account.homePath)))"
                } else if let unsafe = account.intermediateFolders.first(where: { $0.stat.kind != .directory && $0.stat.kind != .absent }) {
                    refusals[index] = "\(unsafe.path) is not a folder (a symlink is never written through)"
                } else if let error = account.readError {
                    refusals[index] = error
                } else if let reason = SyncPlanner.rootFileThatIsNotKeys(account) {
                    refusals[index] = reason
                } else {
                    rewrite = FileWrite(path: keysPath, expectedHash: account.contentHash, content: account.content ?? [])
                    rewriteFindings.append(index)
                }
            default:
                continue
            }
        }
        if let rewrite {
            let folder = rewrite.directory
            actions.append(Action(description: "rewrite \(rewrite.path) as \(name), content unchanged (owner \(name), \(folder) 0700, file 0600)",
                                  findings: rewriteFindings))
        }
        if unlock || restrictHome != nil || rewrite != nil {
            apply = AccountApply(account: name, write: rewrite, unlock: unlock, restrictHome: restrictHome)
        }
    }
}
