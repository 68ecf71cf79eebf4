import Foundation

/// A keys file outside the account's home, where sshd's own configuration
/// puts it (`AuthorizedKeysFile /etc/ssh/authorized_keys/%u`, common where
/// users must not add keys themselves; issue 19). Such a file is root's:
/// keysync writes it as root, root:root 0644, with the rules it follows for
/// authorized_keys (temp file, fsync, rename in the same folder,
/// compare-and-swap, snapshot, never through a link, size caps), and only in
/// a folder that nobody but root can change: the folder and every folder
/// above it root-owned, not group/other writable, no link (the probe's and
/// apply's `root_folder_problem`). The account can then neither race the
/// write nor point it elsewhere. A missing folder is made (root, 0755) only
/// when it is the one sshd_config names, never one made from `%u` or `%h`.
enum RootOwnedKeys {
    static let fileMode = 0o644

    /// Whether `path` lies in a folder under `home` (the account's own layout).
    static func isUnder(_ path: String, home: String) -> Bool {
        let dir = (path as NSString).deletingLastPathComponent
        return dir.hasPrefix(home.hasSuffix("/") ? home : home + "/")
    }

    /// Whether `path`'s folder is the folder the first AuthorizedKeysFile
    /// entry names literally (no `%` in its folder part).
    static func isNamedFolder(setting: String?, path: String) -> Bool {
        guard let token = setting?.split(separator: " ").first.map(String.init), token.hasPrefix("/") else { return false }
        let folder = (token as NSString).deletingLastPathComponent
        return !folder.contains("%") && folder == (path as NSString).deletingLastPathComponent
    }

    /// Checks the folder and file of a root-owned layout for `probe`,
    /// reporting what is wrong into `plan`. Returns whether the file must be
    /// rewritten for its owner or mode, or nil when keysync must not write
    /// it at all (the reason is reported, not repairable).
    static func check(_ probe: AccountProbe, path: String, into plan: inout AccountPlan) -> Bool? {
        let name = probe.account
        let dir = (path as NSString).deletingLastPathComponent
        // sshd expands %u to the account name: a name with `/` (no real
        // account has one) or a path with `.`/`..` must not leave the folder.
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if name.contains("/") || parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            plan.report(.unsupportedPath, "AuthorizedKeysFile \(path) for \(name) is not a plain path (empty, `.` or `..` parts, or `/` in the name); keysync leaves it alone")
            return nil
        }
        switch probe.rootKeysFolder {
        case nil:
            plan.report(.unsupportedPath, "AuthorizedKeysFile \(path) is outside the home of \(name) and the host did not say whether its folder is safe for root; nothing written")
            return nil
        case .unsafe(let reason)?:
            let kind: DriftKind = reason.hasSuffix("is a symlink") || reason.hasSuffix("is not a directory") ? .symlink
                : reason.hasSuffix("writable by group or others") ? .dirMode : .dirOwner
            plan.report(kind, "\(reason): keysync writes the root-owned keys file \(path) only in folders that only root can change (root-owned, not group/other writable, no link); nothing written for \(name). Fix: as root, chown root: and chmod go-w the folder, or replace the link")
            return nil
        case .safe?:
            break
        }
        switch probe.directory?.kind {
        case .directory?:
            break
        case .absent?, nil:
            guard isNamedFolder(setting: probe.sshd["authorizedkeysfile"], path: path) else {
                plan.report(.unsupportedPath, "\(dir) does not exist; keysync makes only the folder AuthorizedKeysFile names, not one per account (as root: \(Examination.command("mkdir", "-m", "755", dir)))")
                return nil
            }
        case let kind?:
            plan.reportUnusableFolder(dir, kind)
            return nil
        }
        var rewrite = false
        switch probe.file?.kind {
        case .regular?:
            // Read as root because the account could not read it: its bytes
            // are kept only when they look like keys (as for a home's file).
            if probe.contentReadAsRoot, let reason = SyncPlanner.rootFileThatIsNotKeys(probe) {
                plan.oldContent = nil
                plan.report(.fileOwner, reason)
                return nil
            }
            if let file = probe.file, file.uid != 0 || file.gid != 0 {
                plan.report(.fileOwner, "\(path) is owned by \(file.uid):\(file.gid), not root:root (in a root-owned layout the account must not edit its keys)")
                rewrite = true
            }
            if let file = probe.file, file.mode != fileMode {
                plan.report(.fileMode, "\(path) has mode \(SyncPlanner.octal(file.mode)), want 0644 (root-owned, readable by the account as sshd reads it)")
                rewrite = true
            }
        case .absent?, nil:
            break
        case let kind?:
            plan.reportUnusableFile(path, kind)
            return nil
        }
        return rewrite
    }

    /// Why offboard must not rewrite a root-owned layout's file, or nil.
    static func writeBlocker(_ probe: AccountProbe, path: String) -> String? {
        var plan = AccountPlan(account: probe.account)
        guard check(probe, path: path, into: &plan) == nil else { return nil }
        return plan.drift.last?.detail ?? "\(path) cannot be written"
    }
}
