import Foundation

/// Where sshd reads the keys and whether it may: home, StrictModes walk,
/// the account's read access, AuthorizedKeysFile.
extension Examination {
    var homePath: String { account.homePath ?? target.homePath }
    var keysPath: String { account.path ?? AuthorizedKeysPath.expand(account.sshd["authorizedkeysfile"], home: homePath, user: name, uid: account.uid) }
    /// The keys file is in a folder strictly under home (where keysync writes).
    var keysUnderHome: Bool {
        (keysPath as NSString).deletingLastPathComponent.hasPrefix(homePath.hasSuffix("/") ? homePath : homePath + "/")
    }

    /// False when nothing can be said about keys (no home to read them from, AuthorizedKeysFile none).
    mutating func checkFiles() -> Bool {
        let homeStat = account.home ?? .absent
        if homeStat.kind != .directory && homeStat.kind != .symlink {
            let fix = Self.command("install", "-d", "-m", "755", "-o", name, "-g", account.groupName ?? name, homePath)
            add(keysUnderHome ? .error : .warning, .homeMissing,
                "the home \(homePath) of \(name) is missing or not a folder" + (keysUnderHome ? "; sshd finds no keys in it" : "; sessions start in /"),
                evidence: [statEvidence(homeStat, homePath)], fix: keysUnderHome ? fix + " && " + pushFix() : fix, subject: homePath)
            if keysUnderHome { return false }
        }
        let akf = account.sshd["authorizedkeysfile"]
        if akf?.split(separator: " ").first?.lowercased() == "none" {
            let lines = globalConfigLines("authorizedkeysfile")
            add(.error, .keysFileNone, "AuthorizedKeysFile is none for \(name): sshd reads no keys file at all",
                evidence: [sshdEvidence("authorizedkeysfile")] + configEvidence(lines),
                fix: lines.first.map { ConfigFix.edit($0, to: ConfigFix.rewritten($0, values: [".ssh/authorized_keys"])) } ?? ConfigFix.locate("AuthorizedKeysFile"))
            return false
        }
        checkSymlinks()
        if account.strictModes { checkStrictModes() }
        checkAccess()
        checkLocation()
        return true
    }

    private mutating func checkSymlinks() {
        let dir = (keysPath as NSString).deletingLastPathComponent
        for (stat, path) in [(account.home, homePath), (account.directory, dir), (account.file, keysPath)] where stat?.kind == .symlink {
            add(.warning, .symlink, "\(path) is a symlink: sshd follows it, keysync never writes through one (push reports drift symlink and leaves it)",
                evidence: [statEvidence(stat!, path)], subject: path)
        }
    }

    /// sshd's `auth_secure_path`: the file and every folder up to home (or /)
    /// must be owned by the account or root and not writable by group or others.
    private mutating func checkStrictModes() {
        let dir = (keysPath as NSString).deletingLastPathComponent
        let walk: [PathStat]
        if let d = account.diagnostics, let real = d.realFile {
            walk = [real] + d.walk
        } else {
            walk = [(account.file, keysPath), (account.directory, dir), keysUnderHome ? (account.home, homePath) : (nil, "")]
                .compactMap { stat, path in stat.map { PathStat(path: path, stat: $0) } }
        }
        for (index, entry) in walk.enumerated() where entry.stat.kind != .absent {
            let isFile = index == 0
            let isHome = entry.path == homePath || (!isFile && index == walk.count - 1 && entry.path != "/")
            let code: DoctorCode = isFile ? .fileUnsafe : isHome ? .homeUnsafe : .directoryUnsafe
            let what = isFile ? "file" : "directory"
            if isFile && entry.stat.kind != .regular {
                add(.error, .fileUnsafe, "\(entry.path) is not a regular file (\(entry.stat.kind.rawValue)); sshd refuses it",
                    evidence: [statEvidence(entry.stat, entry.path)], subject: entry.path)
                continue
            }
            guard let problem = strictModesProblem(entry.stat) else { continue }
            let insideHome = isHome || entry.path.hasPrefix(homePath.hasSuffix("/") ? homePath : homePath + "/")
            var commands: [String] = []
            if keysUnderHome && !insideHome {
                // Reached only through a link under home (sshd follows it): the
                // account chose this path, which may be /tmp or another user's
                // folder. The fix is the link, never a root chown/chmod here.
                add(.error, code, "StrictModes: \(entry.path) \(problem.text); sshd reaches it through a symlink under \(homePath) and ignores the keys: \"Authentication refused: bad ownership or modes for \(what) \(entry.path)\"",
                    evidence: [statEvidence(entry.stat, entry.path), sshdEvidence("strictmodes")],
                    fix: "replace the symlink under \(homePath) with a folder \(name) owns (as \(name)), then " + pushFix() + "; do not change \(entry.path) for it",
                    subject: entry.path)
                continue
            } else if insideHome && !isHome {
                // Under home the account can swap names for links (doctorFixCommand):
                // the owner changes through a root chown that follows none
                // (SyncPlanner.chownCommand), the mode as the account.
                if entry.stat.uid != account.uid, let chown = SyncPlanner.chownCommand(name, entry.path, home: homePath) {
                    commands.append(chown)
                }
                if problem.writable { commands.append(chmodAsAccount(entry.path)) }
            } else {
                if problem.owner { commands.append(Self.command("chown", insideHome ? name : "root", entry.path)) }
                if problem.writable { commands.append(Self.command("chmod", "go-w", entry.path)) }
            }
            add(.error, code, "StrictModes: \(entry.path) \(problem.text); sshd ignores the keys: \"Authentication refused: bad ownership or modes for \(what) \(entry.path)\"",
                evidence: [statEvidence(entry.stat, entry.path), sshdEvidence("strictmodes")],
                fix: commands.joined(separator: " && "), subject: entry.path)
        }
    }

    /// `chmod MODE PATH` (`go-w`) run as the account: it can change only
    /// its own files, so a link swapped in for PATH gains it nothing.
    func chmodAsAccount(_ path: String, _ mode: String = "go-w") -> String {
        Self.command(["setpriv", "--reuid=" + name, "--regid=" + (account.groupName ?? name), "--init-groups", "--",
                      "chmod", mode, "--", path])
    }

    /// The fix for the keys file under home: there the account can swap any
    /// name for a link between this report and the moment an operator pastes
    /// a root `chown`/`chmod`, and both follow links (a `.ssh` swapped for a
    /// link to /root/.ssh would hand root's keys to the account). `keysync
    /// doctor --fix` rewrites the file as the account, never through a link,
    /// and says when it will not.
    var doctorFixCommand: String {
        Self.command(["keysync", "doctor", "--fix", "--host", context.host, "--account", name])
    }

    /// What sshd (with Debian's user-private-group patch when it is Debian's sshd) objects to.
    private func strictModesProblem(_ stat: FileStat) -> (owner: Bool, writable: Bool, text: String)? {
        let owner = stat.uid != 0 && stat.uid != account.uid
        let world = stat.mode & 0o002 != 0
        // Debian's sshd takes group write from a group that is the account's alone (the probe's group_sole).
        let group = stat.mode & 0o020 != 0 && !StrictModes.groupWriteAccepted(stat, probe: account)
        var reasons: [String] = []
        if owner { reasons.append("is owned by uid \(stat.uid), not \(name) or root") }
        if world { reasons.append("is world-writable (\(SyncPlanner.octal(stat.mode)))") }
        else if group { reasons.append("is group-writable (\(SyncPlanner.octal(stat.mode)))") }
        return reasons.isEmpty ? nil : (owner, world || group, reasons.joined(separator: " and "))
    }

    /// sshd opens the keys file as the account: it must be able to read it.
    private mutating func checkAccess() {
        guard let file = account.file, file.kind == .regular else { return }
        let dir = (keysPath as NSString).deletingLastPathComponent
        let evidence = [statEvidence(file, keysPath), account.directory.map { statEvidence($0, dir) }]
        if account.diagnostics?.fileReadable == false {
            let fix: String
            if keysUnderHome && file.uid == account.uid && account.content == nil {
                // The account's own file it cannot read (its chmod 000): only it can
                // give itself read back, and doctor --fix cannot rewrite what it cannot read.
                fix = chmodAsAccount(keysPath, "u+r") + " && " + pushFix()
            } else if keysUnderHome {
                // doctor --fix rewrites the file as the account, in a folder of the account's.
                let folderOwner = account.directory.map(\.uid)
                fix = ([folderOwner != nil && folderOwner != account.uid ? SyncPlanner.chownCommand(name, dir, home: homePath) : nil]
                       + [doctorFixCommand]).compactMap { $0 }.joined(separator: " && ")
            } else {
                fix = Self.command("chmod", "a+r", keysPath)
            }
            add(.error, .fileUnreadable, "\(name) cannot read \(keysPath) (sshd opens it as the account): \"Could not open user '\(name)' authorized keys '\(keysPath)': Permission denied\"",
                evidence: evidence + ["test -r \(keysPath) as \(name): no"], fix: fix, subject: keysPath)
        } else if file.uid == 0 && account.uid != 0 && keysUnderHome {
            add(.warning, .fileOwner, "\(keysPath) is owned by root; sshd can read it, but keysync writes the file as \(name) and push gives it back to the account",
                evidence: evidence, fix: doctorFixCommand, subject: keysPath)
        }
    }

    /// Managed keys sitting in a file sshd does not read, or sshd reading a
    /// file keysync does not write.
    private mutating func checkLocation() {
        let wanted = Set(managedEntries.map(\.entry.key.fingerprint))
        guard !wanted.isEmpty else { return }
        let read = readFiles.flatMap { $0.file.keyLines }.compactMap { $0.entry?.key.fingerprint }
        guard Set(read).isDisjoint(with: wanted) else { return }
        let lines = globalConfigLines("authorizedkeysfile")
        let configFix = lines.first.map { ConfigFix.edit($0, to: ConfigFix.rewritten($0, values: $0.values + [".ssh/authorized_keys"])) }
            ?? ConfigFix.locate("AuthorizedKeysFile")
        let elsewhere = diagnostics.keyFiles.first { file in
            !file.listed && AuthorizedKeysFile(bytes: file.content ?? []).keyLines.contains { wanted.contains($0.entry!.key.fingerprint) }
        }
        if let elsewhere {
            keysExplained = true
            add(.error, .keysFileElsewhere, "the managed keys of \(name) are in \(elsewhere.path), but sshd reads \(keysPath) (AuthorizedKeysFile)",
                evidence: [sshdEvidence("authorizedkeysfile"), statEvidence(elsewhere.stat, elsewhere.path)] + configEvidence(lines), fix: configFix)
        } else if !keysUnderHome {
            // A root-owned layout (/etc/ssh/authorized_keys/%u): push writes it as
            // root, but only in folders only root can change.
            keysExplained = true
            let dir = (keysPath as NSString).deletingLastPathComponent
            if case .unsafe(let reason)? = account.rootKeysFolder {
                add(.error, .keysFileUnmanaged, "sshd reads the keys of \(name) from \(keysPath), outside home, and none of its managed keys are there: keysync writes such a root-owned file only in folders only root can change, and \(reason)",
                    evidence: [sshdEvidence("authorizedkeysfile")] + configEvidence(lines),
                    fix: Self.command("chown", "root:", dir) + " && " + Self.command("chmod", "go-w", dir) + " && " + pushFix())
            } else {
                add(.error, .keysFileUnmanaged, "sshd reads the keys of \(name) from \(keysPath), outside home, and none of its managed keys are there; push writes that file as root (root:root 0644)",
                    evidence: [sshdEvidence("authorizedkeysfile")] + configEvidence(lines), fix: pushFix())
            }
        }
    }
}
