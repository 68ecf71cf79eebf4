import Foundation

/// The account itself: exists, not locked or expired, no password change
/// pending, a shell sshd accepts.
extension Examination {
    /// False when the account does not exist (nothing else to check).
    mutating func checkAccount() -> Bool {
        guard account.exists else {
            add(.error, .accountMissing, "\(name) does not exist on this host; sshd logs \"Invalid user \(name)\" and refuses every login",
                evidence: ["getent passwd \(name): no entry"],
                fix: target.create ? pushFix() : Self.command("useradd", "-m", "-s", target.shellPath, "-p", "*", name))
            return false
        }
        checkShadow()
        checkShell()
        return true
    }

    private mutating func checkShadow() {
        guard let shadow = account.shadow else { return }
        // sshd's own lock check (no PAM) looks for a leading '!'; the probe's class also counts '*' prefixes.
        let locked = account.diagnostics.map { $0.lockMarks > 0 } ?? (shadow.password == .locked)
        if locked {
            let marks = String(repeating: "!", count: max(diagnostics.lockMarks, 1))
            let fix = diagnostics.passwordAfterLock == .hash ? Self.command("usermod", "-U", name)
                : Self.command("usermod", "-p", "*", name)
            let keep = diagnostics.passwordAfterLock == .hash ? " (usermod -U restores the password it had)" : " ('*': no password, key logins allowed)"
            addShadow(.accountLocked, fix: fix,
                      withPAM: (.warning, "\(name) is locked ('\(marks)' in shadow); sshd uses PAM here, which still accepts key logins, but with UsePAM no sshd refuses them\(keep)"),
                      withoutPAM: (.error, "\(name) is locked ('\(marks)' in shadow); sshd without PAM refuses every login, keys included: \"User \(name) not allowed because account is locked\"\(keep)"))
        }
        if shadow.isExpired(today: today, usesPAM: usesPAM) {
            addShadow(.error, .accountExpired, "\(name) expired on \(dayText(shadow.expire!)); today is \(dayText(today)); sshd refuses the login",
                fix: Self.command("chage", "-E", "-1", name))
        }
        let changeFix = "chage -d \"$(date +%F)\" " + Self.command(name)
        switch shadow.ageing(today: today) {
        case .current: break
        case .changeDemanded:
            addShadow(.passwordChangeRequired, fix: changeFix,
                      withPAM: (.error, "\(name) must change its password (last change 0, what passwd -S shows as expired); with PAM sshd accepts the key but then demands a new password, which a command or a script cannot give"),
                      withoutPAM: (.warning, "\(name) must change its password (last change 0); sshd without PAM ignores this for key logins, with UsePAM yes they fail"))
        case .expired where usesPAM:
            addShadow(.error, .passwordExpired, "the password of \(name) expired (changed \(dayText(shadow.lastChange!)), maximum age \(shadow.maxDays!) days); PAM demands a new password after the key is accepted",
                fix: changeFix)
        case .inactive(let days, let inactive) where usesPAM:
            addShadow(.error, .accountInactive, "the password of \(name) expired \(days) days ago, past its \(inactive) inactive days; PAM refuses the account",
                fix: changeFix)
        case .expired, .inactive: break  // without PAM sshd checks ageing for password logins only
        }
    }

    /// A finding about the shadow entry, cited with sshd's UsePAM, which
    /// decides whether PAM or sshd itself checks the account.
    private mutating func addShadow(_ severity: DoctorFinding.Severity, _ code: DoctorCode, _ message: String, fix: String) {
        add(severity, code, message, evidence: [shadowEvidence, sshdEvidence("usepam")], fix: fix)
    }

    /// A shadow finding that PAM decides: with UsePAM yes, PAM checks the
    /// account and sshd's own checks are off, so weight and wording differ.
    private mutating func addShadow(_ code: DoctorCode, fix: String,
                                    withPAM: (DoctorFinding.Severity, String), withoutPAM: (DoctorFinding.Severity, String)) {
        let (severity, message) = usesPAM ? withPAM : withoutPAM
        addShadow(severity, code, message, fix: fix)
    }

    private mutating func checkShell() {
        let shell = account.shell.flatMap { $0.isEmpty ? nil : $0 } ?? "/bin/sh"
        let evidence = "passwd: \(account.passwd?.joined(separator: ":") ?? name)"
        let replacement = target.shell.flatMap { $0 == shell ? nil : $0 } ?? "/bin/bash"
        if !account.shellValid {
            add(.error, .shellInvalid, "the shell \(shell) of \(name) does not exist or is not executable; sshd refuses: \"User \(name) not allowed because shell \(shell) does not exist\"",
                evidence: [evidence], fix: Self.command("usermod", "-s", replacement, name))
            return
        }
        if ["nologin", "false"].contains((shell as NSString).lastPathComponent) {
            add(.warning, .shellNoLogin, "the shell of \(name) is \(shell): the key is accepted, but every shell or command session ends at once",
                evidence: [evidence], fix: Self.command("usermod", "-s", replacement, name))
        } else if !account.shellListed {
            add(.warning, .shellNotListed, "the shell \(shell) of \(name) is not in /etc/shells; sshd does not mind, but PAM's pam_shells (when configured) and some services refuse the account",
                evidence: [evidence, "grep -x \(shell) /etc/shells: no match"],
                fix: "grep -qxF \(Shell.quote(shell)) /etc/shells || printf '%s\\n' \(Shell.quote(shell)) >> /etc/shells")
        }
    }
}
