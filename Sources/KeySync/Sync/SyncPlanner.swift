/// The plan for one account on one host.
public struct AccountPlan: Sendable {
    public var account: String
    public var drift: [DriftItem] = []
    /// Human-readable changes push makes (or would make).
    public var changes: [String] = []
    /// What apply must do; nil when nothing.
    public var apply: AccountApply?
    /// The authorized_keys path sshd uses.
    public var path: String?
    public var oldContent: [UInt8]?
    public var newContent: [UInt8]?
    /// sha256 of `oldContent` or `absent`.
    public var oldHash: String = "absent"
    public var seenKeys: [SeenKey] = []
    /// Unified diff old → new, when the content changes.
    public var diff: String?
    /// The keysync blocks the file holds before the run (none for an absent
    /// file or account); nil when a file is there that could not be read.
    /// Recorded with the blocks written, so a later run knows where stale
    /// ones may be left.
    public var blocksBefore: [ManagedBlockID]?
    /// The lockout guard refused the new content: nothing is written to the
    /// file (a `--fix-home` still applies); `changes` says why (`refused: …`).
    var lockout: SyncPlanner.LockoutRefusal?
    /// Items of a per-line kind (``DriftKind/isPerLine``) past the first
    /// ``listedPerKind``: counted, then summed up in one item by
    /// `listUnlisted`. A 4 MiB file of `x` lines is two million invalid
    /// lines; listing each would cost the controller memory, the database
    /// millions of rows and the operator the one line that matters.
    private var unlisted: [DriftKind: Int] = [:]
    private var listed: [DriftKind: Int] = [:]
    static let listedPerKind = 100
    /// Keys of one account recorded per run beyond its managed ones (``SeenKey``).
    static let seenKeyLimit = 1_000

    init(account: String) { self.account = account }

    /// Marks the drift items the planned apply repairs.
    mutating func markRepairable() {
        let writes = apply?.write != nil
        let after = KeysAfterWrite(apply?.write?.content ?? [])
        for index in drift.indices {
            switch drift[index].kind {
            case .accountMissing: drift[index].repairable = apply?.create != nil
            case .homeUnsafe: drift[index].repairable = apply?.fixHome == true
            case let kind: drift[index].repairable = writes && kind.isRepairedByPush && !after.stillHas(drift[index])
            }
        }
    }

    mutating func report(_ kind: DriftKind, _ detail: String, fingerprint: String? = nil) {
        if kind.isPerLine {
            guard listed[kind, default: 0] < Self.listedPerKind else {
                unlisted[kind, default: 0] += 1
                return
            }
            listed[kind, default: 0] += 1
        }
        drift.append(DriftItem(account: account, kind: kind, detail: Self.bounded(detail), fingerprint: fingerprint))
    }

    /// Longest drift detail kept (bytes): details quote host text (a line's
    /// options), which the account owner writes; each is printed and stored
    /// every run (review s13: 3 MB per check from one `from="…"`).
    static let detailLimit = 1_000

    static func bounded(_ text: String, limit: Int = detailLimit) -> String {
        guard text.utf8.count > limit else { return text }
        var cut = text.utf8.prefix(limit)
        while !cut.isEmpty, String(cut) == nil { cut = cut.dropLast() }
        return (String(cut) ?? "") + "… (\(text.utf8.count) bytes)"
    }

    /// A key folder (or one above it) keysync will not write into: a link it
    /// would write through, or something that is not a directory. Reported
    /// the same way for home and root-owned layouts.
    mutating func reportUnusableFolder(_ path: String, _ kind: FileStat.Kind) {
        report(.symlink, "\(path) \(kind == .symlink ? "is a symlink" : "is not a directory"); nothing written for \(account)")
    }

    /// A keys file keysync will not replace: a link, or not a regular file.
    mutating func reportUnusableFile(_ path: String, _ kind: FileStat.Kind) {
        report(.symlink, "\(path) \(kind == .symlink ? "is a symlink" : "is not a regular file"); left untouched")
    }

    /// One item per kind that had more than ``listedPerKind``, repairable
    /// as the listed ones of that kind are.
    mutating func listUnlisted() {
        for kind in DriftKind.allCases {
            guard let count = unlisted[kind] else { continue }
            var item = DriftItem(account: account, kind: kind,
                                 detail: "\(count) more \(kind.rawValue) items in \(account)'s keys files, not listed (keysync lists the first \(Self.listedPerKind) of a kind)")
            item.repairable = drift.last { $0.kind == kind }?.repairable ?? false
            drift.append(item)
        }
        unlisted = [:]
    }
}

/// The plan for one host.
public struct HostPlan: Sendable {
    public var accounts: [AccountPlan]
    /// A reason the whole host must not be changed (uid clash…).
    public var failure: String?
}

/// Pure planning: probe + desired state → drift and changes. No I/O, so
/// `check`, `push --dry-run` and the tests share it.
public enum SyncPlanner {
    public static func plan(probe: HostProbe, accounts: [AccountTarget], scope: Set<String>? = nil,
                            options: PlanOptions) -> HostPlan {
        var options = options
        options.expiryTime = ExpiryTimeSyntax(sshdVersion: probe.sshdVersion, utcOffsets: probe.utcOffsets)
        var failures: [String] = []
        let plans = accounts.map { desired -> AccountPlan in
            guard let found = probe.accounts[desired.name] else {
                failures.append("probe returned nothing for account \(desired.name)")
                return AccountPlan(account: desired.name)
            }
            var plan = AccountPlan(account: desired.name)
            planAccount(desired, found, scope: scope, options: options, into: &plan, failures: &failures)
            plan.markRepairable()
            reportOtherFiles(desired, found, options: options, into: &plan)
            plan.listUnlisted()
            plan.blocksBefore = blocks(in: found)
            return plan
        }
        return HostPlan(accounts: plans, failure: failures.isEmpty ? nil : failures.joined(separator: "; "))
    }

    static func planAccount(_ desired: AccountTarget, _ probe: AccountProbe, scope: Set<String>?, options: PlanOptions,
                            into plan: inout AccountPlan, failures: inout [String]) {
        let name = desired.name
        if let problem = AuthorizedKeysPath.notPerAccount(probe.sshd["authorizedkeysfile"]) {
            // One file for every account (or none at all): writing this role's
            // block there would let its keys log in as root and as everyone.
            plan.report(.unsupportedPath, "\(problem); nothing written for \(name)")
            return reportRevokedUnreachable(probe, options: options, into: &plan)
        }
        guard probe.exists else {
            // Nothing of keysync's is left in an account that is gone.
            if desired.formerlyManaged { return }
            guard desired.create else {
                plan.report(.accountMissing, "account \(name) does not exist (create: false)")
                return
            }
            if let uid = desired.uid, let owner = probe.uidOwner {
                failures.append("cannot create \(name): uid \(uid) already belongs to \(owner)")
                return
            }
            if let gid = desired.gid, let owner = probe.gidOwner, owner != desired.groupName {
                failures.append("cannot create \(name): gid \(gid) already belongs to group \(owner)")
                return
            }
            if let gid = desired.gid, let existing = probe.groupNameGID, existing != Int(gid) {
                failures.append("cannot create \(name): group \(desired.groupName) exists with gid \(existing), inventory says \(gid)")
                return
            }
            let creation = AccountCreation(uid: desired.uid.map(Int.init), gid: desired.gid.map(Int.init), group: desired.groupName,
                                           createGroup: probe.groupNameGID == nil, home: desired.homePath,
                                           shell: desired.shellPath)
            plan.report(.accountMissing, "account \(name) does not exist; push creates it")
            let ids = [desired.uid.map { "uid \($0)" }, desired.gid.map { "gid \($0)" }].compactMap { $0 }
            plan.changes.append("create account \(name)" + (ids.isEmpty ? "" : " (\(ids.joined(separator: ", ")))"))
            let setting = probe.sshd["authorizedkeysfile"]
            // `%U` (the numeric uid) is known before the account exists only when the inventory gives it.
            if desired.uid == nil, AuthorizedKeysPath.token(of: setting).contains("%U") {
                failures.append("cannot create \(name): AuthorizedKeysFile \(AuthorizedKeysPath.token(of: setting)) names the file by uid (%U), and the inventory gives no uid: add uid: to the role")
                return
            }
            let path = AuthorizedKeysPath.expand(setting, home: desired.homePath, user: name, uid: desired.uid.map(Int.init))
            plan.path = path
            let content = planContent(desired, current: nil, options: options, scope: scope, into: &plan)
            // A root-owned layout's file is checked again on the host as it is written (write_root_keys).
            let makeFolder = !RootOwnedKeys.isUnder(path, home: desired.homePath)
                && RootOwnedKeys.isNamedFolder(setting: setting, path: path)
            plan.apply = AccountApply(account: name, create: creation,
                                      write: FileWrite(path: path, expectedHash: "absent", content: content, makeFolder: makeFolder))
            return
        }

        if desired.formerlyManaged {
            // Read only for what keysync left there: no block or revoked key, nothing to say.
            guard formerAccountHolds(probe, scope: scope, options: options) else { return }
        } else {
            accountState(probe, into: &plan)
        }
        guard let homePath = probe.homePath, let path = probe.path else {
            failures.append("account \(name) has no home directory in passwd")
            return
        }
        // The inventory gives uid 0 to account root only (InventoryLoader); a
        // passwd line that makes another name root must not get its keys.
        if probe.uid == 0 && name != "root" {
            plan.report(.accountUID, "\(name) resolves to uid 0 on this host (root's: an alias of root, or a passwd line before the real one), so its keys would log in as root; nothing written for \(name)")
            return reportRevokedUnreachable(probe, options: options, into: &plan)
        }
        plan.path = path
        plan.oldContent = probe.content
        plan.oldHash = probe.contentHash

        var fixHome = false
        var rewrite = false
        let dirPath = (path as NSString).deletingLastPathComponent
        if probe.sshdError == nil && !RootOwnedKeys.isUnder(path, home: homePath) {
            // A root-owned layout (AuthorizedKeysFile /etc/ssh/authorized_keys/%u):
            // root's file in root's folder; home plays no part in it.
            guard let repair = RootOwnedKeys.check(probe, path: path, into: &plan) else {
                return reportRevokedUnreachable(probe, options: options, into: &plan)
            }
            rewrite = repair
        } else {
            switch probe.home?.kind {
            case .symlink?:
                plan.report(.symlink, "home \(homePath) is a symlink; nothing written for \(name)")
                return reportRevokedUnreachable(probe, options: options, into: &plan)
            case .directory?:
                // With StrictModes no sshd takes any home: nothing to report (rotation reads home_unsafe as a refused login).
                if !desired.formerlyManaged, let reason = StrictModes.unsafeReason(probe.home!, path: homePath, probe: probe),
                   probe.strictModes || probe.uid == 0 {
                    // --fix-home only removes group/other write (never chown): a
                    // home owned by another user stays as it is.
                    let chmodFixes = probe.home!.uid == 0 || probe.home!.uid == probe.uid
                    if options.fixHome && chmodFixes {
                        fixHome = true
                        plan.changes.append("fix home \(homePath) (\(reason))")
                    }
                    let hint = !chmodFixes ? "; keysync never changes who owns a home (as root: \(Examination.command("chown", name + ":", homePath)))"
                        : options.fixHome ? "" : "; run push --fix-home to repair"
                    // Nothing is written through a home another user can change: the
                    // write goes by path as the account, and that user could swap
                    // `.ssh` for a link (as root, for an account of uid 0). sshd
                    // refuses keys under such a home anyway.
                    plan.report(.homeUnsafe, reason + hint + (fixHome ? "" : "; nothing written for \(name)"))
                    if !fixHome { return reportRevokedUnreachable(probe, options: options, into: &plan) }
                }
            default:
                plan.report(.homeUnsafe, "home \(homePath) is missing or not a directory; nothing written for \(name)")
                return reportRevokedUnreachable(probe, options: options, into: &plan)
            }
            if let error = probe.sshdError {
                failures.append("\(name): \(error); refusing to guess where sshd reads keys")
                return
            }
            // Folders between home and the key folder (a nested AuthorizedKeysFile):
            // keysync creates missing ones as the account and changes none that exist.
            for folder in probe.intermediateFolders {
                switch folder.stat.kind {
                case .absent:
                    continue
                case .directory:
                    if let reason = StrictModes.unsafeReason(folder.stat, path: folder.path, probe: probe, what: "folder") {
                        let kind: DriftKind = folder.stat.uid != 0 && folder.stat.uid != probe.uid ? .dirOwner : .dirMode
                        plan.report(kind, reason + "; keysync changes only the key folder \(dirPath), nothing written for \(name)")
                        return reportRevokedUnreachable(probe, options: options, into: &plan)
                    }
                default:
                    plan.reportUnusableFolder(folder.path, folder.stat.kind)
                    return reportRevokedUnreachable(probe, options: options, into: &plan)
                }
            }
            if let dir = probe.directory {
                switch dir.kind {
                case .directory:
                    if dir.uid != probe.uid {
                        // Writes run as the account, and root never chowns a path
                        // the account could swap for a link to another file.
                        plan.report(.dirOwner, "\(dirPath) is owned by uid \(dir.uid), not \(name); keysync writes as the account and never chowns (\(Self.chownAdvice(name, dirPath, home: probe.homePath)))")
                        return reportRevokedUnreachable(probe, options: options, into: &plan)
                    }
                    if dir.mode != 0o700 {
                        plan.report(.dirMode, "\(dirPath) has mode \(octal(dir.mode)), want 0700")
                        rewrite = true
                    }
                case .absent:
                    break
                default:
                    plan.reportUnusableFolder(dirPath, dir.kind)
                    return reportRevokedUnreachable(probe, options: options, into: &plan)
                }
            }
            if let file = probe.file {
                switch file.kind {
                case .regular:
                    if let reason = rootFileThatIsNotKeys(probe) {
                        plan.oldContent = nil
                        plan.report(.fileOwner, reason)
                        return reportRevokedUnreachable(probe, options: options, into: &plan)
                    }
                    if file.uid != probe.uid {
                        plan.report(.fileOwner, "\(path) is owned by uid \(file.uid), not \(name) (sshd cannot use it)")
                        rewrite = true
                    }
                    if file.mode != 0o600 {
                        plan.report(.fileMode, "\(path) has mode \(octal(file.mode)), want 0600")
                        rewrite = true
                    }
                case .absent:
                    break
                default:
                    plan.reportUnusableFile(path, file.kind)
                    return reportRevokedUnreachable(probe, options: options, into: &plan)
                }
            }
        }
        if let size = probe.tooLarge {
            let what = probe.tooManyLines.map { "has \($0) lines, more than keysync plans (\(HostProbe.lineLimit))" }
                ?? "is \(size) bytes, more than keysync reads (\(ProbeScript.fileSizeLimit) bytes)"
            plan.report(.fileTooLarge, "\(path) \(what); nothing read or written, so revoked keys in it cannot be removed")
            return
        }
        if let error = probe.readError {
            // This account's alone: its owner must not hold the host's other accounts (and their revocations) with a chmod.
            plan.report(.fileUnreadable, error + readRefusalReason(probe) + "; nothing read or written, so revoked keys in it cannot be removed")
            return
        }
        let content = planContent(desired, current: probe.content, options: options, scope: scope, into: &plan)
        if plan.lockout != nil {
            plan.apply = fixHome ? AccountApply(account: name, fixHome: true) : nil
            return
        }
        let contentChanges = content != (probe.content ?? [])
        if contentChanges, let beyond = Self.beyondReadLimits(content) {
            // Written, the next probe would not read it (file_too_large on every
            // run after): the owner's padding plus keysync's block stays unwritten.
            plan.report(.fileTooLarge, "\(path) would have \(beyond) after this push, more than keysync reads back; nothing written (the account's own lines fill it)")
            plan.changes = plan.changes.filter { $0.hasPrefix("fix home") }
            plan.apply = fixHome ? AccountApply(account: name, fixHome: true) : nil
            return
        }
        if contentChanges || rewrite || probe.file?.kind != .regular && !content.isEmpty {
            if !contentChanges && rewrite { plan.changes.append("repair owner and modes of \(path)") }
            let makeFolder = probe.rootKeysFolder != nil && probe.directory?.kind == .absent
            plan.apply = AccountApply(account: name, fixHome: fixHome,
                                      write: FileWrite(path: path, expectedHash: probe.contentHash, content: content, makeFolder: makeFolder))
        } else if fixHome {
            plan.apply = AccountApply(account: name, fixHome: true)
        }
    }

    /// What to do as root about a folder or file the account should own
    /// (``chownCommand(_:_:home:)``), or why there is nothing to run.
    static func chownAdvice(_ account: String, _ path: String, home: String?) -> String {
        chownCommand(account, path, home: home).map { "as root: \($0)" }
            ?? "it is not a folder of \(account)'s own (home is /): give \(account) a home, or use a root-owned AuthorizedKeysFile layout"
    }

    /// The root `chown` that gives `path` under the account's home to the
    /// account without following a link the account can swap in: `chown -h`
    /// of an entry right in home (whose folder the account cannot swap; `-h`
    /// changes a link put there instead of its target); deeper down, only
    /// after entering the parent and finding no link on the way (`.ssh` could
    /// be a link to /root/.ssh by the time it is pasted). Nil for a home of
    /// `/`, where every folder is "under home", other accounts' among them.
    static func chownCommand(_ account: String, _ path: String, home: String?) -> String? {
        guard let home, home != "/" else { return nil }
        let parent = (path as NSString).deletingLastPathComponent
        guard parent == (home as NSString).standardizingPath else {
            let name = (path as NSString).lastPathComponent
            return "cd -P -- \(Examination.command(parent)) && [ \"$(pwd -P)\" = \(Examination.command(parent)) ] && "
                + Examination.command("chown", "-h", account + ":", "./" + name)
        }
        return Examination.command("chown", "-h", account + ":", path)
    }

    /// Revoked keys in a file keysync will not write (a symlink on the way,
    /// a folder it does not own, a home that is missing while the file lies
    /// outside it): reported, never repairable, so a push reports the host
    /// as failed instead of leaving them silently.
    /// `content` is what the account itself can read there (as sshd reads it).
    static func reportRevokedUnreachable(_ probe: AccountProbe, options: PlanOptions, into plan: inout AccountPlan) {
        guard let content = probe.content, !options.revoked.isEmpty else { return }
        for line in AuthorizedKeysFile(bytes: content).lines {
            guard let fingerprint = line.grantingFingerprint, options.revoked.contains(fingerprint) else { continue }
            plan.report(.revokedKey, "revoked key \(fingerprint) on line \(line.number) of \(probe.path ?? "the keys file"), which keysync cannot write", fingerprint: fingerprint)
        }
    }

    /// The files after the first in AuthorizedKeysFile (the default's
    /// `.ssh/authorized_keys2`): sshd reads them too, keysync writes only the
    /// first. A revoked key there, or any key in an exclusive account, is
    /// reported after `markRepairable`, so it stays unrepairable and a push
    /// fails the host (`revocation_blocked`) instead of claiming the key is
    /// gone; so does a file too large to read. The fix is by hand.
    static func reportOtherFiles(_ desired: AccountTarget, _ probe: AccountProbe, options: PlanOptions,
                                 into plan: inout AccountPlan) {
        let exclusive = desired.exclusive && !desired.formerlyManaged
        guard probe.exists, !options.revoked.isEmpty || exclusive else { return }
        let primary = probe.path ?? "the first keys file"
        for other in probe.otherFiles {
            switch other.read {
            case .content(let bytes)?:
                for line in AuthorizedKeysFile(bytes: bytes).lines {
                    guard let fingerprint = line.grantingFingerprint else { continue }
                    let place = "on line \(line.number) of \(other.path), which sshd also reads (keysync writes only \(primary)); remove it there by hand"
                    if options.revoked.contains(fingerprint) {
                        plan.report(.revokedKey, "revoked key \(fingerprint) \(place)", fingerprint: fingerprint)
                    } else if exclusive {
                        plan.report(.unmanagedKey, "unmanaged key \(fingerprint) in exclusive account \(place)", fingerprint: fingerprint)
                    }
                }
            case .tooLarge?:
                plan.report(.fileTooLarge, "\(other.path), which sshd also reads, is more than keysync reads (\(ProbeScript.fileSizeLimit) bytes); revoked keys in it cannot be checked")
            case .unreadable?, nil:
                // The account cannot read it, so sshd (reading as the account) cannot use it either.
                continue
            }
        }
    }

    /// A root-owned keys file the account could not read is read as root
    /// (the seed incident) and then rewritten as the account. An account can
    /// rename any root-owned file in a folder it may write (`sudo vim`'s
    /// ~/.viminfo, a secrets file dropped in its home) to its keys file: such
    /// a file is taken over only when every line is a key or blank, or a
    /// comment where the file was readable to all anyway (a comment in a
    /// root-only file is text the account could not read: review s15 files #5).
    /// Otherwise the reason, and nothing of it is written or kept. The fix
    /// never chowns through a path the account can swap, nor an inode with
    /// a second name (review s15 files #4).
    static func rootFileThatIsNotKeys(_ probe: AccountProbe) -> String? {
        guard let stat = probe.file, stat.kind == .regular, stat.uid == 0, probe.uid != 0, let content = probe.content else { return nil }
        let file = AuthorizedKeysFile(bytes: content)
        let rootOnly = stat.mode & 0o004 == 0, markers = file.managedLineNumbers
        let refused = file.lines.filter {
            switch $0.kind {
            case .invalid: return true
            case .comment: return rootOnly && !markers.contains($0.number)
            case .blank, .key: return false
            }
        }
        guard let first = refused.first else { return nil }
        let path = probe.path ?? "the keys file"
        let what = rootOnly ? "keys or blank (comments included: the file is not readable to all)" : "keys, comments or blank"
        let fix = (probe.fileLinks ?? 1) > 1
            ? "it has \(probe.fileLinks ?? 2) hard links (another name may be someone else's file): if its lines are \(probe.account)'s keys, replace it with a copy \(probe.account) owns; never chown it"
            : "if it is \(probe.account)'s keys, " + chownAdvice(probe.account, path, home: probe.homePath)
        return "\(path) is owned by root and \(refused.count) of its lines (the first: line \(first.number)) are not \(what): keysync does not hand a root-owned file that may not be a keys file to \(probe.account), nor keep its bytes. Fix: look at it as root; \(fix)"
    }

    /// What of `content` is past what the probe reads back (``ProbeScript/fileSizeLimit``
    /// bytes, ``HostProbe/lineLimit`` lines), or nil.
    static func beyondReadLimits(_ content: [UInt8]) -> String? {
        if content.count > ProbeScript.fileSizeLimit { return "\(content.count) bytes" }
        let lines = content.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 } + (content.last.map { $0 == UInt8(ascii: "\n") ? 0 : 1 } ?? 0)
        return lines > HostProbe.lineLimit ? "\(lines) lines" : nil
    }

    /// Why the probe did not read a root-owned file as root, for the failure message.
    static func readRefusalReason(_ probe: AccountProbe) -> String {
        guard probe.file?.kind == .regular, probe.file?.uid == 0 else { return "" }
        if let links = probe.fileLinks, links > 1 {
            return "; it is owned by root and has \(links) hard links: keysync reads a root-owned key file only when it has one (another link could be someone else's file). Fix: replace it with a copy owned by the account"
        }
        return "; it is owned by root: keysync reads it as root only when no folder on the way is a link and fs.protected_hardlinks is 1"
    }

    /// Shadow and shell state that only doctor or an operator can fix.
    static func accountState(_ probe: AccountProbe, into plan: inout AccountPlan) {
        let name = probe.account
        if let shadow = probe.shadow {
            // Only what refuses a key login is drift (rotation counts these as
            // login breakers). sshd checks the '!' lock itself only without
            // PAM (auth.c allowed_user); with UsePAM yes, Debian's default,
            // pam_unix's account phase ignores it and the key login works.
            let usesPAM = probe.usesPAM
            if shadow.password == .locked && !usesPAM {
                plan.report(.accountLocked, "\(name) is locked (shadow password starts with '!'); sshd without PAM refuses key logins. Fix: usermod -p '*' \(name)")
            }
            if let today = probe.today, shadow.isExpired(today: today, usesPAM: usesPAM) {
                plan.report(.accountExpired, "\(name) expired (shadow expire day \(shadow.expire!)). Fix: chage -E -1 \(name)")
            }
            // Password ageing matters to key logins only through PAM: without it
            // sshd checks it for password logins alone (auth-passwd.c).
            switch usesPAM ? shadow.ageing(today: probe.today) : .current {
            case .current: break
            case .changeDemanded:
                plan.report(.passwordChangeRequired, "\(name) must change its password (lstchg 0); PAM demands a new password after the key is accepted, which a command or script cannot give. Fix: chage -d $(date +%F) \(name)")
            case .expired:
                plan.report(.passwordChangeRequired, "the password of \(name) expired (maximum age \(shadow.maxDays ?? 0) days); PAM demands a new one after the key is accepted. Fix: chage -d $(date +%F) \(name)")
            case .inactive(let days, let inactive):
                plan.report(.accountExpired, "the password of \(name) expired \(days) days ago, past its \(inactive) inactive days; PAM refuses the account. Fix: chage -d $(date +%F) \(name)")
            }
        }
        if !probe.shellValid {
            plan.report(.shellInvalid, "shell \(probe.shell ?? "") of \(name) is missing or not executable; sshd refuses the login. Fix: usermod -s /bin/bash \(name)")
        }
    }

    static func octal(_ mode: Int) -> String { "0" + String(mode, radix: 8) }
}

import Foundation

/// AuthorizedKeysFile expansion exactly as sshd's `percent_expand` (%h, %u,
/// %U the numeric uid, %%); relative paths are relative to the home directory.
public enum AuthorizedKeysPath {
    /// The first file of the setting (the one keysync writes).
    static func token(of setting: String?) -> String {
        setting?.split(separator: " ").first.map(String.init) ?? ".ssh/authorized_keys"
    }

    /// Why keysync must not write the setting's first file for an account,
    /// or nil: sshd reads it for every account alike when it names no `%h`,
    /// `%u` or `%U` and is absolute (`/etc/ssh/shared_keys`; `~/…`, which
    /// sshd's config parser makes root's home for everyone), and reads no
    /// file at all for `none`. A relative path is under each account's home.
    public static func notPerAccount(_ setting: String?) -> String? {
        let token = token(of: setting)
        if token.lowercased() == "none" { return "AuthorizedKeysFile is none: sshd reads no keys file" }
        var chars = token.makeIterator()
        while let c = chars.next() {
            guard c == "%" else { continue }
            if let next = chars.next(), "huU".contains(next) { return nil }
        }
        guard token.hasPrefix("/") || token.hasPrefix("~") else { return nil }
        return "AuthorizedKeysFile \(token) is one file for every account (no %h, %u or %U); keysync writes only per-account files"
    }

    public static func expand(_ setting: String?, home: String, user: String, uid: Int? = nil) -> String {
        let token = token(of: setting)
        var out = ""
        var chars = token.makeIterator()
        while let c = chars.next() {
            guard c == "%" else { out.append(c); continue }
            switch chars.next() {
            case "h"?: out += home
            case "u"?: out += user
            case "U"? where uid != nil: out += String(uid!)
            case "%"?: out += "%"
            case let other?: out += "%" + String(other)
            case nil: out += "%"
            }
        }
        return out.hasPrefix("/") ? out : home + "/" + out
    }
}

/// sshd's StrictModes check of a home directory (`auth_secure_path`).
enum StrictModes {
    /// Why sshd would refuse this home (or a folder on the way to the keys file), or nil. Debian's sshd also accepts
    /// group write when the group is the account's alone (``AccountProbe/groupWriteAccepted``).
    static func unsafeReason(_ stat: FileStat, path: String, probe: AccountProbe, what: String = "home") -> String? {
        if stat.uid != 0 && stat.uid != probe.uid {
            return "\(what) \(path) is owned by uid \(stat.uid), not \(probe.account) or root (StrictModes refuses it)"
        }
        if stat.mode & 0o002 != 0 {
            return "\(what) \(path) is world-writable (mode \(SyncPlanner.octal(stat.mode)); StrictModes refuses it)"
        }
        if stat.mode & 0o020 != 0 && !groupWriteAccepted(stat, probe: probe) {
            return "\(what) \(path) is group-writable (mode \(SyncPlanner.octal(stat.mode)); StrictModes refuses it: "
                + "only Debian's sshd accepts group write, and only from a group that is the account's alone)"
        }
        return nil
    }
}

extension StrictModes {
    /// Debian's sshd (user-group-modes) takes a group-writable path whose group is the account's alone; others never.
    static func groupWriteAccepted(_ stat: FileStat, probe: AccountProbe) -> Bool {
        probe.groupWriteAccepted["\(stat.gid):\(stat.uid)"] == true
    }
}

extension AccountTarget {
    var groupName: String { group ?? name }
    var homePath: String { home ?? "/home/\(name)" }
    var shellPath: String { shell ?? "/bin/bash" }
}
