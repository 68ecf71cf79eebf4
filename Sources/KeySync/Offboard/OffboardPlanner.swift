import Foundation

/// One line of a keys file holding one of the leaver's keys.
public struct KeyFinding: Hashable, Sendable {
    /// The account whose file it is (as sshd reads it for that account).
    public var account: String
    /// The file (an AuthorizedKeysFile path, expanded).
    public var path: String
    /// 1-based line number in the file as it was read.
    public var line: Int
    /// The key's name in the inventory.
    public var key: String
    /// `SHA256:…`.
    public var fingerprint: String
    /// The managed block it sat in (`project=P role=R`); nil outside blocks
    /// (pasted by hand, or written by another tool).
    public var block: String?

    /// A finding.
    public init(account: String, path: String, line: Int, key: String, fingerprint: String, block: String? = nil) {
        (self.account, self.path, self.line, self.key, self.fingerprint, self.block) = (account, path, line, key, fingerprint, block)
    }

    /// `key kp-bob (SHA256:…) on line 3 of /home/ops/.ssh/authorized_keys (block project=P role=R)`.
    public var summary: String {
        "key \(key) (\(fingerprint)) on line \(line) of \(path)" + (block.map { " (block \($0))" } ?? "")
    }

    /// The change line recorded for its removal.
    var removal: String { "removed " + summary }
}

/// What `offboard` does with one keys file that holds the leaver's keys.
public struct OffboardFilePlan: Sendable {
    /// The account the file is read and written as.
    public var account: String
    /// The keys file.
    public var path: String
    /// Every line with one of the keys, in file order.
    public var findings: [KeyFinding]
    /// The write that removes them (compare-and-swap on the hash read);
    /// nil when they cannot be removed here (`blocked`).
    public var write: FileWrite?
    /// Why the lines stay: a link on the way, a folder keysync does not own,
    /// a file outside home, or the lockout guard (`lockout`).
    public var blocked: String?
    /// The lockout guard's refusal, when that is why (`lockout_refused`).
    var lockout: SyncPlanner.LockoutRefusal?
    /// The bytes read (for the snapshot).
    public var oldContent: [UInt8]
}

/// The plan for one host: files to rewrite, and files that could not be read
/// (a host with one fails: nobody can say whether a key is in it).
public struct OffboardHostPlan: Sendable {
    /// Files holding at least one of the keys, in scan order.
    public var files: [OffboardFilePlan] = []
    /// One message per file that could not be read (or account whose files could not be listed).
    public var unreadable: [String] = []

    /// Every finding, in file order.
    public var findings: [KeyFinding] { files.flatMap(\.findings) }
}

/// Pure planning for `offboard`: scan sections + the leaver's keys → files to
/// rewrite. No I/O, so the rules are tested without a host.
///
/// Writes follow push's rules (DESIGN.md, "Writing on a host"): only a file
/// in a folder under the account's home that the account owns, or a
/// root-owned layout's file in a folder only root can change
/// (``RootOwnedKeys``), never through a link; the apply script checks all of
/// it again as it writes.
/// The lockout guard is push's (``SyncPlanner/lockoutRefusal(account:old:new:options:)``)
/// with the leaver's keys counted as revoked — as they are, by `left:`: it
/// refuses, unless `--force`, to remove the key keysync logs in with from
/// the login user's file, and never counts a leaver's key as one an account
/// must keep (removing a revoked last key is the point of revoking it).
public enum OffboardPlanner {
    /// The files of one host that hold the leaver's keys, and how each is rewritten (or why not).
    ///
    /// - Parameters:
    ///   - sections: ``HostProbe/sections`` of a scan, one per file.
    ///   - keys: fingerprint → key name, the leaver's keys.
    ///   - options: `revoked` (the leaver's fingerprints), `loginUser`,
    ///     `loginKeyFingerprint` and `force` for the lockout guard.
    public static func plan(sections: [AccountProbe], keys: [String: String], options: PlanOptions) -> OffboardHostPlan {
        var plan = OffboardHostPlan()
        for section in distinctFiles(sections) {
            if let error = section.sshdError {
                plan.unreadable.append("\(section.account): \(error); its keys files could not be listed")
                continue
            }
            guard let path = section.path else { continue }
            guard let content = section.content else {
                if let size = section.tooLarge {
                    plan.unreadable.append("\(section.account): \(path) is \(size) bytes, more than keysync reads (\(ProbeScript.fileSizeLimit)); cannot tell whether a key is in it")
                } else if section.file?.kind == .regular {
                    plan.unreadable.append("\(section.account): \(section.readError ?? "cannot read \(path)")" + SyncPlanner.readRefusalReason(section)
                                           + "; cannot tell whether a key is in it")
                }
                // A link the account cannot follow, a FIFO, a folder: sshd,
                // reading as the account, gets no keys from it either.
                continue
            }
            let findings = Self.findings(in: content, account: section.account, path: path, keys: keys)
            guard !findings.isEmpty else { continue }
            var file = OffboardFilePlan(account: section.account, path: path, findings: findings, oldContent: content)
            if let reason = writeBlocker(section, path: path) {
                file.blocked = reason
            } else {
                let old = AuthorizedKeysFile(bytes: content)
                let new = old.removingKeys(withFingerprints: Set(keys.keys)).serialized()
                if let refusal = SyncPlanner.lockoutRefusal(account: section.account, old: old, new: new, options: options) {
                    file.blocked = refusal.change
                    file.lockout = refusal
                } else {
                    file.write = FileWrite(path: path, expectedHash: section.contentHash, content: new)
                }
            }
            plan.files.append(file)
        }
        return plan
    }

    /// The lines of `content` that hold one of `keys` (fingerprint → name).
    public static func findings(in content: [UInt8], account: String, path: String, keys: [String: String]) -> [KeyFinding] {
        let file = AuthorizedKeysFile(bytes: content)
        var blockOfLine: [Int: String] = [:]
        for block in file.managedBlocks { for number in block.lineNumbers { blockOfLine[number] = block.id.description } }
        return file.lines.compactMap { line in
            guard let fingerprint = line.grantingFingerprint, let name = keys[fingerprint] else { return nil }
            return KeyFinding(account: account, path: path, line: line.number, key: name, fingerprint: fingerprint,
                              block: blockOfLine[line.number])
        }
    }

    /// One section per file: accounts that share a home share its file, and
    /// sshd uses it only for the account that owns it (or root's), so that
    /// one writes it; otherwise the first in passwd order.
    static func distinctFiles(_ sections: [AccountProbe]) -> [AccountProbe] {
        var order: [String] = [], byPath: [String: AccountProbe] = [:], unnamed: [AccountProbe] = []
        for section in sections {
            guard let path = section.path else { unnamed.append(section); continue }
            guard let first = byPath[path] else {
                byPath[path] = section
                order.append(path)
                continue
            }
            if first.file?.uid != first.uid, let owner = section.file?.uid, owner == section.uid { byPath[path] = section }
        }
        return unnamed + order.map { byPath[$0]! }
    }

    /// Why keysync will not write `path` for this account, or nil. Push's
    /// rules: home a folder, the key folder under it and owned by the
    /// account, nothing on the way a link, the file not a link.
    static func writeBlocker(_ probe: AccountProbe, path: String) -> String? {
        let name = probe.account
        guard let home = probe.homePath else { return "\(name) has no home in passwd" }
        // A root-owned layout (/etc/ssh/authorized_keys/%u) follows push's rules for it.
        guard RootOwnedKeys.isUnder(path, home: home) else { return RootOwnedKeys.writeBlocker(probe, path: path) }
        if let reason = SyncPlanner.rootFileThatIsNotKeys(probe) { return reason }
        let dir = (path as NSString).deletingLastPathComponent
        switch probe.home?.kind {
        case .directory?: break
        case .symlink?: return "home \(home) is a symlink; keysync never writes through a link"
        default: return "home \(home) is not a directory"
        }
        for folder in probe.intermediateFolders where folder.stat.kind != .directory && folder.stat.kind != .absent {
            return "\(folder.path) is \(folder.stat.kind == .symlink ? "a symlink" : "not a directory"); keysync never writes through a link"
        }
        switch probe.directory?.kind {
        case .directory?:
            if let owner = probe.directory?.uid, owner != probe.uid {
                return "\(dir) is owned by uid \(owner), not \(name); keysync writes as the account and never chowns (\(SyncPlanner.chownAdvice(name, dir, home: probe.homePath)))"
            }
        case .symlink?: return "\(dir) is a symlink; keysync never writes through a link"
        default: return "\(dir) is not a directory"
        }
        if probe.file?.kind == .symlink {
            return "\(path) is a symlink; keysync never writes through a link (the key is in the file it points to)"
        }
        return nil
    }
}
