import Foundation

/// The inventory draft `keysync adopt` writes from what it read on the
/// hosts: pure, so every rule is tested without a host.
///
/// - One `keys:` entry per distinct key and options text, named from the
///   first comment it was found with (made a valid, unique name).
/// - One role per account (named after it; uid, gid, shell and home as
///   found) listing the keys of its file, with `adopt: true`, so that the
///   first push moves the lines it found into blocks byte for byte instead
///   of adding copies (SyncPlanner+Adopt.swift).
/// - **Key sets that differ between hosts**: an account whose keys (or uid,
///   gid, shell, home) are not the same on every host where it has a keys
///   file gets one role per distinct set, and each role goes to the project
///   of exactly the hosts that have that set. Projects are made per host
///   list: `adopted` for the most hosts, then `adopted-2`, `adopted-3`…,
///   each targeting a group of the same name that its hosts join. So no
///   host is granted a key it did not have, and the differences are listed
///   at the top of the draft for a person to settle later, in the inventory,
///   where a push shows each change.
/// - Lines not adopted — lines keysync cannot parse, second copies of a
///   key, weak keys (RSA under 2048 bits, DSA), keys revoked in the
///   inventory or whose comment says so, keys sshd refuses (expired
///   `expiry-time`, a broken `from=`), certificates, lines in a second
///   AuthorizedKeysFile — are listed in a comment block at the top with
///   host, file and line, and stay on the hosts as they are.
public struct AdoptDraft: Sendable {
    /// What was read on one host: the scan's sections, or why nothing was.
    public struct HostInput: Sendable {
        public var host: DraftHost
        public var sections: [AccountProbe]
        /// Set when the host could not be read.
        public var error: String?

        public init(host: DraftHost, sections: [AccountProbe], error: String? = nil) {
            (self.host, self.sections, self.error) = (host, sections, error)
        }
    }

    /// A key of the draft.
    public struct Key: Hashable, Sendable {
        public var name: String
        /// The key, its comment as written in `public:`.
        public var publicKey: PublicKey
        /// The options text of the lines it was found on.
        public var options: String?
        public var fingerprint: String { publicKey.fingerprint }
    }

    /// A role: one account with one set of keys.
    public struct Role: Hashable, Sendable {
        public var name: String
        public var account: String
        public var uid: UInt32?
        public var gid: UInt32?
        public var shell: String?
        public var home: String?
        /// Key names, in the order of the first file found with this set.
        public var keys: [String]
    }

    /// A project: the hosts that share one list of roles, through the group of the same name.
    public struct Project: Hashable, Sendable {
        public var name: String
        public var hosts: [String]
        public var roles: [Role]
    }

    /// A line (or file, or account) not adopted, and why.
    public struct Note: Hashable, Sendable, CustomStringConvertible {
        public var host: String
        public var path: String?
        public var line: Int?
        public var message: String

        /// `h1 /home/deploy/.ssh/authorized_keys:4: weak key …`.
        public var description: String {
            var place = host
            if let path { place += " " + path + (line.map { ":\($0)" } ?? "") }
            return place + ": " + message
        }
    }

    public private(set) var hosts: [DraftHost] = []
    public private(set) var keys: [Key] = []
    public private(set) var projects: [Project] = []
    /// Lines, files and accounts not adopted, in host and file order.
    public private(set) var notes: [Note] = []
    /// One line per account whose key set differs between hosts.
    public private(set) var differences: [String] = []
    /// Hosts that could not be read, with why.
    public private(set) var failures: [(host: String, error: String)] = []
    /// `parallel` to keep in `defaults:` (from `--inventory-hosts`).
    public var parallel: Int?

    /// Hosts read (not failed).
    public var hostsRead: Int { hosts.count - failures.count }

    /// Words in a key comment that suggest the key is no longer meant to be used.
    static let revokedWords: Set<String> = [
        "revoked", "revoke", "disabled", "disable", "expired", "deprecated", "retired", "compromised",
        "old", "former", "lost", "stolen", "leaver", "unused", "obsolete", "donotuse", "dontuse",
    ]

    /// Builds the draft.
    ///
    /// - Parameters:
    ///   - inputs: every host in order, with its scan or its error.
    ///   - accounts: only these accounts (`--account`); empty: every account with a keys file.
    ///   - revoked: fingerprints revoked in the inventory the hosts came from.
    ///   - now: what `expiry-time` is judged against.
    public init(_ inputs: [HostInput], accounts: [String] = [], revoked: Set<String> = [], now: Date = Date()) {
        hosts = inputs.map(\.host)
        let only = Set(accounts)
        var found: [(host: Int, accounts: [FoundAccount])] = []
        var keyIndex: [KeyIdentity: Int] = [:], drafts: [Key] = [], seenAccounts = Set<String>()
        for (index, input) in inputs.enumerated() {
            if let error = input.error {
                failures.append((input.host.name, error))
                continue
            }
            var here: [FoundAccount] = []
            for section in OffboardPlanner.distinctFiles(input.sections) where only.isEmpty || only.contains(section.account) {
                seenAccounts.insert(section.account)
                guard var account = read(section, host: input.host.name, revoked: revoked, now: now) else { continue }
                guard !here.contains(where: { $0.name == account.name }) else { continue }
                for line in account.lines {
                    let identity = KeyIdentity(fingerprint: line.key.fingerprint, options: line.options)
                    if keyIndex[identity] == nil {
                        keyIndex[identity] = drafts.count
                        drafts.append(Key(name: "", publicKey: line.key, options: line.options))
                    }
                    account.keys.append(keyIndex[identity]!)
                }
                here.append(account)
            }
            dropSharedUIDs(&here, host: input.host.name)
            found.append((index, here))
        }
        for name in accounts where !seenAccounts.contains(name) {
            notes.append(Note(host: "every host", message: "no account \(name) with a keys file; nothing adopted for it"))
        }
        keys = Self.named(drafts)
        makeProjects(found)
    }

    // MARK: Reading one file

    /// A key line that is adopted.
    private struct FoundLine {
        var key: PublicKey
        var options: String?
    }

    /// An account whose file is adopted, as found on one host.
    private struct FoundAccount {
        var name: String
        var uid: UInt32?
        var gid: UInt32?
        var shell: String?
        var home: String?
        var lines: [FoundLine] = []
        /// Indices into the draft's keys, in file order.
        var keys: [Int] = []

        /// What makes two hosts' accounts the same role.
        var variant: Variant { Variant(account: name, uid: uid, gid: gid, shell: shell, home: home, keys: Set(keys)) }
    }

    private struct Variant: Hashable {
        var account: String
        var uid: UInt32?
        var gid: UInt32?
        var shell: String?
        var home: String?
        var keys: Set<Int>
    }

    private struct KeyIdentity: Hashable {
        var fingerprint: String
        var options: String?
    }

    /// The account of one scan section, with the lines adopted from its
    /// file; nil when nothing is (with a note saying why, where it matters).
    private mutating func read(_ section: AccountProbe, host: String, revoked: Set<String>, now: Date) -> FoundAccount? {
        let name = section.account
        func note(_ message: String, line: Int? = nil) {
            notes.append(Note(host: host, path: section.path, line: line, message: message))
        }
        if let error = section.sshdError {
            note("account \(name): \(error); its keys files could not be listed, not adopted")
            return nil
        }
        guard let path = section.path else { return nil }
        guard let content = section.content else {
            if let size = section.tooLarge {
                note("\(size) bytes, more than keysync reads (\(ProbeScript.fileSizeLimit)); not adopted")
            } else if section.file?.kind == .symlink {
                note("a symlink; keysync never writes through a link, not adopted")
            } else if section.file?.kind == .regular {
                note("\(section.readError ?? "cannot be read")\(SyncPlanner.readRefusalReason(section)); not adopted")
            }
            return nil
        }
        let file = AuthorizedKeysFile(bytes: content)
        if let index = section.keysFileIndex, index != 1 {
            for line in file.keyLines {
                note("in a second AuthorizedKeysFile (keysync manages only the first); \(describe(line.entry!)); left as it is, not adopted", line: line.number)
            }
            return nil
        }
        if let problem = InventoryRules.unixNameProblem(name) {
            if !file.keyLines.isEmpty { note("account name \(UnsafeText.quoted(name)) \(problem); not adopted") }
            return nil
        }
        if let reason = OffboardPlanner.writeBlocker(section, path: path) {
            if !file.keyLines.isEmpty { note("\(reason); not adopted (push would not write this file)") }
            return nil
        }
        let blocks = file.managedBlocks
        if !blocks.isEmpty {
            note("already holds keysync blocks (\(blocks.map(\.id.description).joined(separator: ", "))); adopt leaves accounts keysync manages alone, not adopted")
            return nil
        }
        for problem in file.markerProblems {
            note("a keysync marker that forms no block (\(problem.message)); left as it is", line: problem.line)
        }

        var account = FoundAccount(name: name)
        let fields = section.passwd ?? []
        if fields.count > 3 {
            account.uid = UInt32(fields[2]).flatMap { $0 <= 4_294_967_294 ? $0 : nil }
            account.gid = UInt32(fields[3]).flatMap { $0 <= 4_294_967_294 ? $0 : nil }
        }
        if account.uid == 0 && name != "root" {
            note("account \(name) has uid 0; the role is written without uid (only root may have uid 0 in an inventory)")
            account.uid = nil
        }
        for (field, value) in [("home", section.homePath), ("shell", section.shell)] {
            guard let value, !value.isEmpty else { continue }
            if let problem = InventoryRules.passwdPathProblem(value) {
                note("account \(name): \(field) \(UnsafeText.quoted(value)) \(problem); the role is written without \(field)")
            } else if field == "home" {
                account.home = value
            } else {
                account.shell = value
            }
        }

        var first: [String: Int] = [:]
        for line in file.lines {
            let entry: AuthorizedKeyEntry
            switch line.kind {
            case .blank, .comment: continue
            case .invalid(let reason):
                note("keysync cannot parse this line (\(reason)); sshd skips it too, left as it is", line: line.number)
                continue
            case .key(let found): entry = found
            }
            let fingerprint = entry.key.fingerprint
            if let earlier = first[fingerprint] {
                note("duplicate: repeats the key of line \(earlier) (\(describe(entry))); sshd uses the first, this one is left as it is", line: line.number)
                continue
            }
            first[fingerprint] = line.number
            if let reason = Self.notAdopted(entry, revoked: revoked, now: now) {
                note("\(reason): \(describe(entry)); left on the host as it is, not adopted", line: line.number)
                continue
            }
            account.lines.append(FoundLine(key: entry.key, options: entry.options?.text))
        }
        if account.lines.isEmpty {
            if !file.keyLines.isEmpty { note("account \(name): no key adopted from this file") }
            return nil
        }
        return account
    }

    /// Why a parsed key line is not adopted, or nil.
    static func notAdopted(_ entry: AuthorizedKeyEntry, revoked: Set<String>, now: Date) -> String? {
        let key = entry.key
        if key.keyType?.isCertificate == true { return "a certificate, not a key (keysync grants keys and trusts CAs)" }
        if revoked.contains(key.fingerprint) { return "revoked in the inventory" }
        if key.keyType?.isDSA == true { return "weak key (DSA, refused by OpenSSH since 7.0)" }
        if key.keyType?.isRSA == true, let bits = key.bits, bits < 2048 { return "weak key (RSA \(bits) bits, under 2048)" }
        let words = key.comment.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
        let joined = zip(words, words.dropFirst()).map { $0 + $1 } + zip(words, zip(words.dropFirst(), words.dropFirst(2))).map { $0 + $1.0 + $1.1 }
        if let word = (words + joined).first(where: revokedWords.contains) {
            return "looks revoked (its comment says \"\(word)\")"
        }
        for problem in AuthorizedKeysFile.warnings(for: entry, now: now) {
            switch problem.kind {
            case .expired, .principalsWithoutCertAuthority, .badFromPattern: return "sshd refuses it (\(problem.description))"
            default: continue
            }
        }
        if let options = entry.options?.text, let problem = UnsafeText.problem(options, "its options") {
            return "cannot be written in an inventory: \(problem)"
        }
        return nil
    }

    /// `ssh-ed25519 SHA256:… "comment"`.
    private func describe(_ entry: AuthorizedKeyEntry) -> String {
        let comment = entry.comment.trimmingCharacters(in: .whitespaces)
        return "\(entry.key.type) \(entry.key.fingerprint)" + (comment.isEmpty ? "" : " " + UnsafeText.quoted(comment))
    }

    /// Two accounts of one host with one uid would fail validation (an
    /// inventory gives each uid one account): their roles go without uid.
    private mutating func dropSharedUIDs(_ accounts: inout [FoundAccount], host: String) {
        let counts = Dictionary(accounts.compactMap(\.uid).map { ($0, 1) }, uniquingKeysWith: +)
        for index in accounts.indices {
            guard let uid = accounts[index].uid, counts[uid, default: 0] > 1 else { continue }
            notes.append(Note(host: host, message: "account \(accounts[index].name) shares uid \(uid) with another account here; its role is written without uid"))
            accounts[index].uid = nil
        }
    }

    // MARK: Names, roles and projects

    /// Keys named from their comments: valid inventory names, unique.
    private static func named(_ keys: [Key]) -> [Key] {
        var taken = Set<String>()
        return keys.map { key in
            var key = key
            let base = name(from: key.publicKey.comment) ?? fallbackName(for: key.publicKey)
            key.name = unique(base, in: &taken)
            var comment = ""
            for scalar in key.publicKey.comment.trimmingCharacters(in: .whitespaces).unicodeScalars where !scalar.isUnsafeInText {
                comment.unicodeScalars.append(scalar)
            }
            key.publicKey.comment = comment
            return key
        }
    }

    /// `alice@laptop` → `alice@laptop`, `Bob's key (CI)` → `Bob-s-key-CI`; nil when nothing usable is left.
    static func name(from text: String) -> String? {
        var out = ""
        for scalar in text.unicodeScalars {
            let ok = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || ".-_@".unicodeScalars.contains(scalar))
            if ok { out.unicodeScalars.append(scalar) } else if !out.isEmpty, !out.hasSuffix("-") { out += "-" }
        }
        while let first = out.unicodeScalars.first, !(first.properties.isAlphabetic || ("0"..."9").contains(first)) { out.unicodeScalars.removeFirst() }
        while let last = out.last, ".-_@".contains(last) { out.removeLast() }
        if out.count > 48 { out = String(out.prefix(48)); while let last = out.last, ".-_@".contains(last) { out.removeLast() } }
        return out.isEmpty || InventoryRules.nameProblem(out) != nil ? nil : out
    }

    /// `ed25519-Ab12Cd34`: the key type and the start of its fingerprint.
    private static func fallbackName(for key: PublicKey) -> String {
        let type = key.keyType?.shortName.lowercased() ?? "key"
        let letters = key.fingerprint.dropFirst("SHA256:".count).filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
        return name(from: type + "-" + letters.prefix(8)) ?? "key"
    }

    /// `base`, or `base-2`, `base-3`… whichever is not taken yet.
    private static func unique(_ base: String, in taken: inout Set<String>) -> String {
        var candidate = base, number = 1
        while taken.contains(candidate) {
            number += 1
            candidate = "\(base)-\(number)"
        }
        taken.insert(candidate)
        return candidate
    }

    private mutating func makeProjects(_ found: [(host: Int, accounts: [FoundAccount])]) {
        // Each distinct account (with its key set) → the hosts that have it, in order.
        var variantHosts: [Variant: [Int]] = [:], variantFirst: [Variant: FoundAccount] = [:], order: [Variant] = []
        for (host, accounts) in found {
            for account in accounts {
                let variant = account.variant
                if variantHosts[variant] == nil { order.append(variant); variantFirst[variant] = account }
                variantHosts[variant, default: []].append(host)
            }
        }
        // Roles that apply to the same hosts share a project.
        var byHosts: [[Int]: [Variant]] = [:], hostLists: [[Int]] = []
        for variant in order {
            let list = variantHosts[variant]!
            if byHosts[list] == nil { hostLists.append(list) }
            byHosts[list, default: []].append(variant)
        }
        hostLists.sort { ($0.count, -$0[0]) > ($1.count, -$1[0]) }
        var usedGroups = Set(hosts.flatMap(\.groups)), projectOf: [Variant: String] = [:]
        for list in hostLists {
            var name = "adopted", number = 1
            while usedGroups.contains(name) {
                number += 1
                name = "adopted-\(number)"
            }
            usedGroups.insert(name)
            var roleNames = Set<String>(), roles: [Role] = []
            for variant in byHosts[list]! {
                let account = variantFirst[variant]!
                let base = InventoryRules.nameProblem(account.name) == nil ? account.name : Self.name(from: account.name) ?? "account"
                roles.append(Role(name: Self.unique(base, in: &roleNames), account: account.name, uid: account.uid, gid: account.gid,
                                  shell: account.shell, home: account.home, keys: account.keys.map { keys[$0].name }))
                projectOf[variant] = name
            }
            for host in list where !hosts[host].groups.contains(name) { hosts[host].groups.append(name) }
            projects.append(Project(name: name, hosts: list.map { hosts[$0].name }, roles: roles))
        }
        // Accounts whose role is not the same everywhere it is.
        var variantsOf: [String: [Variant]] = [:], accountOrder: [String] = []
        for variant in order {
            if variantsOf[variant.account] == nil { accountOrder.append(variant.account) }
            variantsOf[variant.account, default: []].append(variant)
        }
        for account in accountOrder where variantsOf[account]!.count > 1 {
            let parts = variantsOf[account]!.map { variant -> String in
                let hostNames = variantHosts[variant]!.map { hosts[$0].name }
                let shown = hostNames.prefix(4).joined(separator: ", ") + (hostNames.count > 4 ? " and \(hostNames.count - 4) more" : "")
                let first = variantFirst[variant]!
                var facts = "keys [" + first.keys.map { keys[$0].name }.joined(separator: ", ") + "]"
                if let uid = variant.uid { facts += ", uid \(uid)" }
                if let home = variant.home { facts += ", home \(home)" }
                if let shell = variant.shell { facts += ", shell \(shell)" }
                return "project \(projectOf[variant]!) (\(shown)): \(facts)"
            }
            differences.append("account \(account): " + parts.joined(separator: "; "))
        }
    }
}
