import Foundation

/// A file keysync owns outside any account's home (issue 19): written by
/// root as root:root 0644 under `/etc/ssh/keysync/`, with the same rules as
/// authorized_keys (temp file, fsync, rename, compare-and-swap, snapshot,
/// never through a link). See root-files.sh.
public struct RootFile: Hashable, Sendable {
    /// What a file is for: names its drift kind.
    public enum Purpose: Hashable, Sendable {
        /// `TrustedUserCAKeys`: the CAs any role on the host trusts.
        case trustedCAs
        /// `AuthorizedPrincipalsFile` of one account.
        case principals(account: String)
        /// `RevokedKeys`: the KRL compiled from `revoked:`.
        case revocationList
    }

    public var path: String
    public var purpose: Purpose
    /// The bytes the file must hold.
    public var content: [UInt8]
    /// The KRL's revocations (``Purpose/revocationList`` only): the lockout
    /// guard may take keysync's own login key out of them on a host.
    public var revocations: RevocationList?

    public init(path: String, purpose: Purpose, content: [UInt8]) {
        self.path = path
        self.purpose = purpose
        self.content = content
    }

    /// The drift kind when the file on the host is not `content`.
    public var driftKind: DriftKind {
        switch purpose {
        case .trustedCAs: .caFileChanged
        case .principals: .principalsChanged
        case .revocationList: .krlStale
        }
    }

    /// The account a drift item names: the principals file's account, else empty (the host).
    public var account: String {
        if case .principals(let account) = purpose { return account }
        return ""
    }
}

/// The files under `/etc/ssh/keysync/` one host must hold.
public enum RootFiles {
    public static let folder = "/etc/ssh/keysync"
    public static let trustedCAsPath = folder + "/trusted_user_ca_keys"
    public static let revocationListPath = folder + "/revoked_keys.krl"
    public static let principalsFolder = folder + "/principals"

    /// `principals/ACCOUNT` (account names are Unix names: no `/`).
    public static func principalsPath(_ account: String) -> String { principalsFolder + "/" + account }

    /// A file every byte of which keysync derives from the inventory (under
    /// ``folder``, or sshd's drop-in): `restore` leaves it to `push`, which
    /// writes it again and, for the drop-in, validates and reloads sshd.
    public static func isDerived(path: String) -> Bool {
        path.hasPrefix(folder + "/") || path == SSHDDropIn.path
    }

    /// The files for `host`, from every project that targets it (not only a
    /// selection: a `push --project A` must not drop the CA that project B
    /// trusts there). Empty unless the inventory has
    /// `certificate_authorities:`, so inventories without certificates
    /// keep writing nothing outside the accounts' homes.
    ///
    /// - trusted CA keys: the CAs any role on the host trusts, in inventory
    ///   order, except CAs whose key is itself revoked;
    /// - one principals file per managed account on the host (possibly with
    ///   no principal: an account that lost its principals must lose them on
    ///   the host too), principals merged over its roles in order;
    /// - the KRL, the same on every host.
    public static func files(for host: String, in inventory: Inventory) -> [RootFile] {
        guard !inventory.certificateAuthorities.isEmpty, let hostIndex = inventory.hostIndex[host] else { return [] }
        let trusted = Set(inventory.trustedCAs(onHost: host))
        var principals: [(account: String, names: [String])] = []
        for projectIndex in inventory.hostProjects[hostIndex] {
            for role in inventory.projects[projectIndex].roles {
                if let index = principals.firstIndex(where: { $0.account == role.account }) {
                    // Bytes, as sshd compares principals: two Unicode spellings stay two lines.
                    for name in role.principals where !principals[index].names.contains(where: { $0.utf8.elementsEqual(name.utf8) }) {
                        principals[index].names.append(name)
                    }
                } else {
                    principals.append((role.account, role.principals))
                }
            }
        }
        var caText = trustedCAsHeader
        for ca in inventory.certificateAuthorities where trusted.contains(ca.name) && !inventory.revokedFingerprints.contains(ca.fingerprint) {
            caText += "\(ca.publicKey.type) \(ca.publicKey.base64) \(ca.name)\n"
        }
        var files = [RootFile(path: trustedCAsPath, purpose: .trustedCAs, content: Array(caText.utf8))]
        for (account, names) in principals.sorted(by: { $0.account < $1.account }) {
            let text = "# keysync: certificate principals that may log in as \(account) (AuthorizedPrincipalsFile); edits are replaced\n"
                + names.map { $0 + "\n" }.joined()
            files.append(RootFile(path: principalsPath(account), purpose: .principals(account: account), content: Array(text.utf8)))
        }
        files.append(revocationListFile(in: inventory))
        return files
    }

    /// The first line of the trusted CA file (all of it when no CA is trusted).
    static let trustedCAsHeader = "# keysync: certificate authorities trusted for user logins (TrustedUserCAKeys); edits are replaced\n"

    /// The KRL compiled from the inventory's revocations, the same on every host.
    static func revocationListFile(in inventory: Inventory) -> RootFile {
        let revocations = RevocationList(inventory: inventory)
        var krl = RootFile(path: revocationListPath, purpose: .revocationList, content: revocations.encoded())
        krl.revocations = revocations
        return krl
    }

    /// `files` with the key keysync logs in with (`fingerprint`) taken out
    /// of the KRL, and the `revoked_key` item that says so; unchanged with
    /// `force` or when the KRL does not name that key. sshd reads
    /// RevokedKeys on every public-key login on every managed host: a KRL
    /// naming keysync's own key would lock keysync (and everyone sharing the
    /// key) out of the whole fleet in one push — the lockout guard keeps it
    /// out, as it keeps the key in authorized_keys, and the push fails with
    /// `revocation_blocked` until `--force` or a new login key.
    public static func sparingLoginKey(_ files: [RootFile], fingerprint: String?, force: Bool) -> ([RootFile], DriftItem?) {
        guard !force, let fingerprint, let index = files.firstIndex(where: { $0.purpose == .revocationList }),
              var revocations = files[index].revocations, revocations.spare(fingerprint: fingerprint) else { return (files, nil) }
        var spared = files
        spared[index].revocations = revocations
        spared[index].content = revocations.encoded()
        let item = DriftItem(account: "", kind: .revokedKey,
                             detail: "\(fingerprint) is revoked but kept out of \(revocationListPath): it is the key keysync logs in with here "
                                 + "(lockout guard; log in with another key, or use --force if you really mean it)",
                             fingerprint: fingerprint)
        return (spared, item)
    }
}

extension RootFiles {
    /// What the files keysync left under ``folder`` hold once no grant needs
    /// them (issue "removal is complete"): the probe looks for every file
    /// there that a run does not plan (`sweep_root_files`), and the plan
    /// writes it with this content. Without it a CA stayed trusted on every
    /// host after `certificate_authorities:` was removed, an account's
    /// principals kept logging in after no role named the account on the
    /// host, and a decommissioned host kept both.
    public struct Sweep: Hashable, Sendable {
        /// At most this many files' worth of reply is allowed for the sweep.
        static let replyFiles = 8
        /// The trusted CA file with no CA in it.
        public var trustedCAs: RootFile
        /// The KRL as the inventory has it (it only ever takes access away).
        public var revocationList: RootFile

        /// The file to plan for `path`, found on the host and not planned by the run.
        func file(for path: String) -> RootFile? {
            switch path {
            case trustedCAsPath: return trustedCAs
            case revocationListPath: return revocationList
            default:
                let prefix = principalsFolder + "/"
                guard path.hasPrefix(prefix), case let account = String(path.dropFirst(prefix.count)),
                      !account.isEmpty, !account.contains("/") else { return nil }
                let text = "# keysync: no role grants certificate principals for \(account) on this host any more (AuthorizedPrincipalsFile); edits are replaced\n"
                return RootFile(path: path, purpose: .principals(account: account), content: Array(text.utf8))
            }
        }

        /// The files to plan for what the probe found beyond `planned`: regular files only.
        func files(found probe: [String: RootFileProbe], planned: [RootFile]) -> [RootFile] {
            let plannedPaths = Set(planned.map(\.path))
            return probe.keys.sorted().filter { !plannedPaths.contains($0) && probe[$0]?.stat.kind == .regular }
                .compactMap(file(for:))
        }
    }

    /// The sweep for every host of `inventory` (the same for all: build it once per run).
    public static func sweep(in inventory: Inventory) -> Sweep {
        Sweep(trustedCAs: RootFile(path: trustedCAsPath, purpose: .trustedCAs, content: Array(trustedCAsHeader.utf8)),
              revocationList: revocationListFile(in: inventory))
    }
}

/// What the probe saw of one root file.
public struct RootFileProbe: Hashable, Sendable {
    /// `lstat` of the file (absent when it does not exist).
    public var stat: FileStat = .absent
    public var size: Int?
    /// The bytes, when a regular file was read whole.
    public var content: [UInt8]?
    /// Why the folders above it are not safe for root to write in (nothing was read).
    public var unsafe: String?
    /// The read failed or the file is larger than the probe reads.
    public var unreadable = false

    public init() {}

    /// sha256 hex of the content, or `absent`, as apply's `file_hash` says.
    public var hash: String? {
        if stat.kind == .absent { return "absent" }
        return content.map { SHA256Digest.hex($0) }
    }
}

/// The plan for a host's root files: pure, from the desired files and the probe.
public struct RootFilesPlan: Hashable, Sendable {
    public var drift: [DriftItem] = []
    public var writes: [FileWrite] = []
    /// The old bytes of each file about to be replaced (for the snapshot).
    public var snapshots: [Snapshot] = []
    /// One line per file written, for the run's changes.
    public var changes: [String] = []

    public init() {}

    /// `sshd` is sshd's view of its settings as the probe reported them (an
    /// account section's `sshd` lines); when given, settings that do not
    /// point at the files are drift `sshd_config_missing` (keysync writes the
    /// files but, without manage_sshd, does not change sshd_config).
    /// `leftOver`: the paths of files the sweep found (``RootFiles/Sweep``),
    /// whose drift says that no grant needs what they hold any more; sshd is
    /// not asked to use them.
    public static func plan(_ files: [RootFile], probe: [String: RootFileProbe], sshd: [String: String]? = nil,
                            leftOver: Set<String> = []) -> RootFilesPlan {
        var plan = RootFilesPlan()
        if let sshd, let missing = missingSettings(files.filter { !leftOver.contains($0.path) }, sshd: sshd) {
            plan.drift.append(DriftItem(account: "", kind: .sshdConfigMissing, detail: missing))
        }
        for file in files {
            let seen = probe[file.path] ?? RootFileProbe()
            func drift(_ kind: DriftKind, _ detail: String, repairable: Bool) {
                var item = DriftItem(account: file.account, kind: kind, detail: detail)
                item.repairable = repairable
                plan.drift.append(item)
            }
            if let reason = seen.unsafe {
                drift(file.driftKind, "\(file.path) not written: \(reason)", repairable: false)
                continue
            }
            switch seen.stat.kind {
            case .symlink:
                drift(.symlink, "\(file.path) is a symlink; keysync never writes through it", repairable: false)
                // A revocation that cannot land must not pass for a push that worked (review s13).
                if file.purpose == .revocationList {
                    drift(.krlStale, "\(file.path) is a symlink: the inventory's revocations cannot be written there", repairable: false)
                }
                continue
            case .directory, .other:
                drift(file.driftKind, "\(file.path) is not a regular file; left alone", repairable: false)
                continue
            case .regular where seen.content == nil || seen.unreadable:
                drift(file.driftKind, "\(file.path) could not be read (or is larger than the probe reads); left alone", repairable: false)
                continue
            case .regular, .absent:
                break
            }
            var rewrite = false
            if seen.stat.kind == .absent {
                drift(file.driftKind, "\(file.path) is missing", repairable: true)
                rewrite = true
            } else {
                if seen.content != file.content {
                    let leftOverDetail = file.purpose == .revocationList ? "\(file.path) differs from the inventory's revocations"
                        : "\(file.path) still grants what the inventory no longer does; emptied"
                    drift(file.driftKind, leftOver.contains(file.path) ? leftOverDetail : "\(file.path) differs from the inventory", repairable: true)
                    rewrite = true
                }
                if seen.stat.uid != 0 || seen.stat.gid != 0 {
                    drift(.fileOwner, "\(file.path) is owned by \(seen.stat.uid):\(seen.stat.gid), not root:root", repairable: true)
                    rewrite = true
                }
                if seen.stat.mode != 0o644 {
                    drift(.fileMode, "\(file.path) has mode \(String(seen.stat.mode, radix: 8)), not 644", repairable: true)
                    rewrite = true
                }
            }
            guard rewrite, let hash = seen.hash else { continue }
            plan.writes.append(FileWrite(path: file.path, expectedHash: hash, content: file.content))
            plan.snapshots.append(Snapshot(account: file.account, path: file.path, content: seen.content))
            plan.changes.append("write \(file.path)")
        }
        return plan
    }

    /// The sshd settings that use each kind of file in `files`.
    static func wantedSettings(_ files: [RootFile]) -> [(keyword: String, value: String)] {
        var wanted: [(String, String)] = []
        if files.contains(where: { $0.purpose == .trustedCAs }) { wanted.append(("TrustedUserCAKeys", RootFiles.trustedCAsPath)) }
        if files.contains(where: { if case .principals = $0.purpose { true } else { false } }) {
            wanted.append(("AuthorizedPrincipalsFile", RootFiles.principalsFolder + "/%u"))
        }
        if files.contains(where: { $0.purpose == .revocationList }) { wanted.append(("RevokedKeys", RootFiles.revocationListPath)) }
        return wanted
    }

    /// What sshd lacks to use `files`, with the lines that fix it; nil when nothing.
    static func missingSettings(_ files: [RootFile], sshd: [String: String]) -> String? {
        let missing = wantedSettings(files).filter { sshd[$0.keyword.lowercased()] != $0.value }
        guard !missing.isEmpty else { return nil }
        let found = missing.map { "\($0.keyword) is \(sshd[$0.keyword.lowercased()] ?? "not reported")" }
        // sshd keeps the first value of each keyword: a line added after one
        // that sets another value changes nothing (review s13).
        let setElsewhere = missing.contains { (sshd[$0.keyword.lowercased()] ?? "none") != "none" }
        return "sshd does not use the files keysync writes (\(found.joined(separator: ", "))); "
            + (setElsewhere ? "set in sshd_config (edit the line that sets another value: sshd keeps the first one): " : "add to sshd_config: ")
            + missing.map { "\($0.keyword) \($0.value)" }.joined(separator: "; ")
    }
}
