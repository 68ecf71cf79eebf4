import Foundation

/// `lstat` of one path on a host.
public struct FileStat: Hashable, Sendable {
    public enum Kind: String, Sendable {
        case directory, regular, symlink, other, absent
    }
    public var kind: Kind
    /// Permission bits (e.g. 0o600).
    public var mode: Int
    public var uid: Int
    public var gid: Int

    public static let absent = FileStat(kind: .absent, mode: 0, uid: -1, gid: -1)

    public init(kind: Kind, mode: Int, uid: Int, gid: Int) {
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
    }

    /// Parses `stat -c '%F|%a|%u|%g|%s'` output, or `absent`.
    init?(probeLine: Substring) {
        if probeLine == "absent" { self = .absent; return }
        let parts = probeLine.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count >= 4, let mode = Int(parts[1], radix: 8), let uid = Int(parts[2]), let gid = Int(parts[3]) else {
            return nil
        }
        let kind: Kind = switch parts[0] {
        case "directory": .directory
        case "regular file", "regular empty file": .regular
        case "symbolic link": .symlink
        default: .other
        }
        self.init(kind: kind, mode: mode, uid: uid, gid: gid)
    }
}

/// The shadow entry's state, without the password hash.
public struct ShadowState: Hashable, Sendable {
    public enum Password: String, Sendable { case locked, star, hash, empty }
    public var password: Password
    /// Days since the epoch of the last change; 0 means "must change".
    public var lastChange: Int?
    public var maxDays: Int?
    public var inactiveDays: Int?
    /// Account expiry, days since the epoch.
    public var expire: Int?

    /// Whether the account has expired on day `today`: sshd without PAM
    /// expires it the day after `expire`, pam_unix on that day.
    public func isExpired(today: Int, usesPAM: Bool) -> Bool {
        guard let expire, expire >= 0 else { return false }
        return usesPAM ? expire <= today : expire < today
    }

    /// Password ageing as pam_unix judges it on day `today` (only PAM makes
    /// it matter to a key login); without `today` only a demanded change is known.
    public enum Ageing: Equatable, Sendable {
        case current
        /// Last change 0: a new password is demanded now.
        case changeDemanded
        /// Older than its maximum age by `days`: a new password is demanded.
        case expired(days: Int)
        /// Past its inactive days too: the account is refused.
        case inactive(days: Int, inactiveDays: Int)
    }

    public func ageing(today: Int?) -> Ageing {
        if lastChange == 0 { return .changeDemanded }
        guard let today, let last = lastChange, last > 0, let max = maxDays, max >= 0, today - last > max else { return .current }
        if let inactive = inactiveDays, inactive >= 0, today - last > max + inactive { return .inactive(days: today - last - max, inactiveDays: inactive) }
        return .expired(days: today - last - max)
    }
}

/// What the probe found for one account.
public struct AccountProbe: Hashable, Sendable {
    public var account: String
    /// The passwd entry fields, nil when the account does not exist.
    public var passwd: [String]?
    public var groupName: String?
    public var shadow: ShadowState?
    public var today: Int?
    /// The login shell exists and is executable (what sshd checks).
    public var shellValid: Bool = false
    /// The login shell is listed in /etc/shells (what PAM's pam_shells checks).
    public var shellListed: Bool = false
    /// Set when `sshd -T` gave nothing: the AuthorizedKeysFile path is then a guess.
    public var sshdError: String?
    /// Account names that already own the requested uid / group names that own the gid.
    public var uidOwner: String?
    public var gidOwner: String?
    /// The gid of the group named like the requested group, if that group exists.
    public var groupNameGID: Int?
    /// `sshd -T -C user=…` settings, lower-cased keys, values as printed.
    public var sshd: [String: String] = [:]
    /// The authorized_keys path sshd uses for this account (first AuthorizedKeysFile, expanded).
    public var path: String?
    public var home: FileStat?
    public var directory: FileStat?
    public var file: FileStat?
    /// The folders strictly between home and the key folder (a nested
    /// AuthorizedKeysFile such as `.config/ssh/authorized_keys`), top down,
    /// as lstat saw them; `absent` for one that does not exist.
    public var intermediateFolders: [PathStat] = []
    /// The scan only (``ProbeScript/renderScan(nonce:)``): the file's place
    /// among the AuthorizedKeysFile files, 1 for the first, the one push
    /// reads and writes.
    public var keysFileIndex: Int?
    /// The key file's size and hard-link count from lstat, when it exists.
    public var fileSize: Int?
    public var fileLinks: Int?
    /// The key file is larger than ``ProbeScript/fileSizeLimit`` (its size),
    /// or has more than ``HostProbe/lineLimit`` lines: not planned.
    public var tooLarge: Int?
    /// Set with `tooLarge` when the lines were too many (their count).
    public var tooManyLines: Int?
    /// The file's bytes, when it is a regular file that could be read.
    public var content: [UInt8]?
    public var readError: String?
    /// The files after the first in AuthorizedKeysFile that exist (the
    /// default's `.ssh/authorized_keys2`), read as the account: sshd reads
    /// them too, keysync never writes them.
    public var otherFiles: [OtherKeysFile] = []
    /// What the doctor part of the probe found; nil unless it was asked for.
    public var diagnostics: AccountDiagnostics?
    /// Only for a keys file outside home (a root-owned layout such as
    /// `AuthorizedKeysFile /etc/ssh/authorized_keys/%u`): whether the
    /// folders from the file's nearest existing folder up are safe for root
    /// to write in (root-owned, no link, not group/other writable). Nil for
    /// a file under home.
    public var rootKeysFolder: RootKeysFolder?
    /// The file's bytes were read as root (the account could not read them).
    public var contentReadAsRoot = false
    /// For each group-writable path of the account (keyed `GID:OWNER_UID`):
    /// whether the host's sshd accepts that group write. Only Debian's and
    /// Ubuntu's sshd do, for a group that is the account's alone (the
    /// probe's `group_sole`); a path without an entry is refused.
    public var groupWriteAccepted: [String: Bool] = [:]

    public var exists: Bool { passwd != nil }
    /// sshd hands account checks to PAM (`UsePAM yes`): it then ignores the
    /// `!` lock itself, and password ageing matters to key logins.
    public var usesPAM: Bool { sshd["usepam"]?.lowercased() == "yes" }
    /// sshd checks owners and modes on the way to the keys file (the default).
    public var strictModes: Bool { sshd["strictmodes"]?.lowercased() != "no" }
    public var uid: Int? { passwd.flatMap { $0.count > 2 ? Int($0[2]) : nil } }
    public var gid: Int? { passwd.flatMap { $0.count > 3 ? Int($0[3]) : nil } }
    public var homePath: String? { passwd.flatMap { $0.count > 5 ? $0[5] : nil } }
    public var shell: String? { passwd.flatMap { $0.count > 6 ? $0[6] : nil } }
    /// sha256 hex of `content`, or `absent`: the compare-and-swap token for apply.
    public var contentHash: String { content.map { SHA256Digest.hex($0) } ?? "absent" }

    public init(account: String) { self.account = account }

    /// Paths the probe stats for `file` under `home`: home, each folder
    /// between, the key folder, the file (or, outside home: home, the
    /// file's folder and the file).
    static func keyPaths(home: String, file: String) -> [String] {
        let base = home.hasSuffix("/") ? String(home.dropLast()) : home
        guard file.hasPrefix(base + "/") else {
            return [home, (file as NSString).deletingLastPathComponent, file]
        }
        var paths = [home]
        var folder = base
        let parts = file.dropFirst(base.count + 1).split(separator: "/", omittingEmptySubsequences: false)
        for part in parts.dropLast() {
            folder += "/" + part
            paths.append(folder)
        }
        return paths + [file]
    }
}

/// Whether root may write in the folder of a keys file outside home.
public enum RootKeysFolder: Hashable, Sendable {
    case safe
    /// The probe's reason (root_folder_problem in lookup.sh).
    case unsafe(String)
}

/// A further AuthorizedKeysFile file as the probe read it.
public struct OtherKeysFile: Hashable, Sendable {
    public enum Read: Hashable, Sendable {
        case content([UInt8])
        /// More than ``ProbeScript/fileSizeLimit`` bytes: not kept.
        case tooLarge
        /// The account could not read it (so neither can sshd); the exit status.
        case unreadable(String)
    }
    public var path: String
    /// Nil until its frame arrives (a reply cut off before it).
    public var read: Read?
}

/// The whole probe reply for one host.
public struct HostProbe: Hashable, Sendable {
    public var euid: Int?
    public var sshdVersion: String?
    /// The host's offset from UTC (seconds east) at each grant end the probe
    /// was asked about, by Unix time; only for sshd 7.7–9.0, whose
    /// `expiry-time` is local time (``ExpiryTimeSyntax``).
    public var utcOffsets: [Int: Int] = [:]
    public var hasSetpriv = false
    public var accounts: [String: AccountProbe] = [:]
    /// Every account section in reply order. The `offboard` scan sends one
    /// per keys file, so an account with two AuthorizedKeysFile files appears
    /// twice here (``accounts`` keeps its last).
    public var sections: [AccountProbe] = []
    /// Doctor only: the address sshd sees the controller at, the log
    /// sources searched, and sshd_config lines that matter for logins.
    public var clientAddress: String?
    public var logSources: [String] = []
    public var configLines: [SSHDConfigLine] = []
    /// Files under `/etc/ssh/keysync/` the probe was asked about, by path (``RootFiles``).
    public var rootFiles: [String: RootFileProbe] = [:]
    /// push and check: what the scan of sshd's log found (``ProbeScript/Logins``); nil when not asked.
    public var logins: LoginScanReply?

    /// Parses a probe reply; throws when it is not one (truncated, a banner,
    /// an error page) or when a frame does not carry `nonce`, the one the
    /// script was rendered with. Never traps, whatever the bytes.
    /// `scan`: the reply of `ProbeScript.renderScan` (offboard, adopt),
    /// which has a section per keys file, so an account may have several.
    public init(reply: [UInt8], nonce: String, scan: Bool = false) throws(ProbeError) {
        var cursor = ByteLineReader(reply)
        guard let first = cursor.line(), first == Substring(ProbeScript.marker) else {
            throw .malformed("reply does not start with the probe marker")
        }
        guard !nonce.isEmpty else { throw .malformed("no nonce to check the reply against") }
        var current: AccountProbe?
        var lastRootFile: String?
        var ended = false
        // One section per account in a probe's reply: the script asks for
        // each account once, so a second one can only be forged (a file
        // framing lines with a nonce it should not know); it fails the host
        // instead of hiding the first one's keys.
        func flush() throws(ProbeError) {
            if let account = current {
                guard scan || accounts[account.account] == nil else {
                    throw .malformed("two sections for account \(account.account)")
                }
                accounts[account.account] = account
                sections.append(account)
            }
            current = nil
        }
        /// `value` is `NONCE REST`; REST, or a throw when the nonce is not ours.
        func framed(_ value: Substring, _ what: String) throws(ProbeError) -> Substring {
            let (given, rest) = Self.split(value)
            guard given == Substring(nonce) else { throw .malformed("\(what) without the controller's nonce") }
            return rest
        }
        while !ended, let line = cursor.line() {
            let (key, value) = Self.split(line)
            switch key {
            case "euid": euid = Int(value)
            case "sshd_version": sshdVersion = String(value)
            case "utc_offset":
                let (end, offset) = Self.split(value)
                if let end = Int(end), let seconds = ExpiryTimeSyntax.offset(offset) { utcOffsets[end] = seconds }
            case "setpriv": hasSetpriv = value == "yes"
            case "client_addr": clientAddress = String(value)
            case "log_source": logSources.append(String(value))
            case "config": SSHDConfigLine(probeLine: value).map { configLines.append($0) }
            case "login_source", "login_key", "login_at", "login_cursor", "login_note", "login_dropped":
                let rest = try framed(value, "a log scan line")
                if logins == nil { logins = LoginScanReply() }
                logins!.apply(key: key, value: rest)
            case "@account":
                try flush()
                let name = try framed(value, "an account section")
                current = AccountProbe(account: String(name))
            case "@end":
                _ = try framed(value, "the end line")
                try flush()
                ended = true
            case "rootfile", "rootfile_unsafe":
                let (path, rest) = Self.split(try framed(value, "a root file line"))
                var file = RootFileProbe()
                if key == "rootfile_unsafe" {
                    file.unsafe = String(rest)
                } else if let stat = FileStat(probeLine: rest) {
                    file.stat = stat
                    file.size = Int(rest.split(separator: "|", omittingEmptySubsequences: false).dropFirst(4).first ?? "")
                } else {
                    file.unreadable = true
                }
                rootFiles[String(path)] = file
                lastRootFile = String(path)
            case "rootfile_content-begin":
                guard try framed(value, "a root file frame") == "base64", let path = lastRootFile else {
                    throw .malformed("root file bytes without their file")
                }
                guard let bytes = cursor.bytes(until: Array("\nrootfile_content-end \(nonce) ".utf8)), let status = cursor.line() else {
                    throw .malformed("truncated content of \(path)")
                }
                let content = Data(base64Encoded: Data(bytes)).map { [UInt8]($0) }
                if status == "0", let content, content.count <= ProbeScript.fileSizeLimit {
                    rootFiles[path]?.content = content
                } else {
                    rootFiles[path]?.unreadable = true
                }
            case "content-begin", "keyfile_content-begin", "other_content-begin":
                let encoding = try framed(value, "a file frame")
                guard current != nil else { throw .malformed("file bytes outside an account section") }
                let name = key.dropLast("-begin".count)
                guard let bytes = cursor.bytes(until: Array("\n\(name)-end \(nonce) ".utf8)), let status = cursor.line() else {
                    throw .malformed("truncated file content for \(current!.account)")
                }
                let content: [UInt8]?
                switch encoding {
                case "": content = bytes
                case "base64": content = Data(base64Encoded: Data(bytes)).map { [UInt8]($0) }
                default: throw .malformed("unknown file encoding \(encoding)")
                }
                guard let content else { throw .malformed("invalid base64 file content for \(current!.account)") }
                // read_as_root sends base64, read_as_account the raw bytes.
                Self.applyContent(content, status: status, frame: name, readAsRoot: encoding == "base64", to: &current!)
            default:
                guard current != nil else { continue }
                if key == "stat" {
                    Self.applyStat(value, to: &current!)
                } else {
                    try Self.apply(key: key, value: value, to: &current!)
                }
            }
        }
        guard ended else { throw .malformed("reply ended early (connection or command cut off)") }
        guard cursor.atEnd else { throw .malformed("bytes after the end line") }
    }

    private static func split(_ line: Substring) -> (Substring, Substring) {
        // On bytes: Character indexing (grapheme breaking) was a visible part
        // of parsing replies with thousands of lines.
        guard let space = line.utf8.firstIndex(of: UInt8(ascii: " ")) else { return (line, "") }
        return (line[..<space], line[line.utf8.index(after: space)...])
    }

    /// Lines a keys file may have to be planned. Each parsed line costs the
    /// controller a few hundred bytes through planning: 4 MiB of empty lines
    /// (4 million lines, a file an account owner can write) cost 1.6 GB.
    /// A file of real keys (80 bytes or more a line) stays far below this.
    public static let lineLimit = 100_000

    /// Bounds of what `sshd` reply lines may add to ``AccountProbe/sshd``.
    static let sshdKeywordLimit = 1_024
    static let sshdValueLimit = 256 * 1024

    private static func lineCount(_ bytes: [UInt8]) -> Int {
        let breaks = bytes.withUnsafeBufferPointer { buffer in buffer.reduce(0) { $0 + ($1 == 0x0a ? 1 : 0) } }
        return breaks + (bytes.last.map { $0 != 0x0a } ?? false ? 1 : 0)
    }

    /// A file frame's bytes: the content when the read worked (status 0);
    /// more bytes than the limit mean the file is too large, whatever the
    /// status, and so do more lines than ``lineLimit``.
    private static func applyContent(_ bytes: [UInt8], status: Substring, frame: Substring, readAsRoot: Bool,
                                     to probe: inout AccountProbe) {
        if frame == "other_content" {
            guard let last = probe.otherFiles.indices.last, probe.otherFiles[last].read == nil else { return }
            probe.otherFiles[last].read = bytes.count > ProbeScript.fileSizeLimit || lineCount(bytes) > lineLimit ? .tooLarge
                : status == "0" ? .content(bytes) : .unreadable(String(status.prefix(8)))
            return
        }
        if frame == "keyfile_content" {
            // The same bounds as the keys file: an owner writes this one too (review s13: 4 MiB of blank lines cost 700 MB).
            if status == "0", bytes.count <= ProbeScript.fileSizeLimit, lineCount(bytes) <= lineLimit,
               let last = probe.diagnostics?.keyFiles.indices.last {
                probe.diagnostics!.keyFiles[last].content = bytes
            }
            return
        }
        if bytes.count > ProbeScript.fileSizeLimit {
            probe.tooLarge = max(probe.fileSize ?? 0, bytes.count)
            probe.content = nil
        } else if status == "0", case let lines = lineCount(bytes), lines > lineLimit {
            (probe.tooLarge, probe.tooManyLines, probe.content) = (bytes.count, lines, nil)
        } else if status == "0" {
            probe.content = bytes
            probe.contentReadAsRoot = readAsRoot
            probe.readError = nil
        } else if probe.content == nil {
            probe.readError = "\(probe.account) cannot read \(probe.path ?? "authorized_keys") (exit \(status.prefix(8)))"
        }
    }

    /// `stat %F|%a|%u|%g|%s|%h|%n` of home, a folder on the way or the file,
    /// matched by path (a path that does not exist has no line and stays absent).
    private static func applyStat(_ value: Substring, to probe: inout AccountProbe) {
        let parts = value.split(separator: "|", maxSplits: 6, omittingEmptySubsequences: false)
        guard parts.count == 7, let stat = FileStat(probeLine: parts[0..<5].joined(separator: "|")[...]) else { return }
        let path = String(parts[6])
        guard let file = probe.path else { return }
        if path == file {
            probe.file = stat
            probe.fileSize = Int(parts[4])
            probe.fileLinks = Int(parts[5])
        }
        if path == (file as NSString).deletingLastPathComponent { probe.directory = stat }
        if let home = probe.homePath, path == home { probe.home = stat }
        if let index = probe.intermediateFolders.firstIndex(where: { $0.path == path }) {
            probe.intermediateFolders[index].stat = stat
        }
    }

    /// A passwd entry's seven fields. A directory service's GECOS field may
    /// hold ':' (getent prints it raw): the fields after the fourth and before
    /// the last two are GECOS, so home and shell are counted from the right,
    /// as the probe's `passwd_fields` does, and never shift.
    static func passwdFields(_ entry: Substring) -> [String] {
        let fields = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard fields.count > 7 else { return fields }
        return Array(fields[..<4]) + [fields[4..<(fields.count - 2)].joined(separator: ":")] + Array(fields.suffix(2))
    }

    /// A day count (a shadow field, `today`): nil unless it fits in 32 bits
    /// (good until the year 5 879 610), so that doctor's day arithmetic
    /// (today − last change > max + inactive) cannot overflow.
    private static func day(_ text: Substring) -> Int? { Int32(text).map(Int.init) }

    private static func apply(key: Substring, value: Substring, to probe: inout AccountProbe) throws(ProbeError) {
        switch key {
        case "group_name_gid": probe.groupNameGID = Int(value)
        case "uid_owner": probe.uidOwner = value.isEmpty ? nil : String(value)
        case "gid_owner": probe.gidOwner = value.isEmpty ? nil : String(value)
        case "passwd":
            probe.passwd = value.isEmpty ? nil : passwdFields(value)
        case "group": probe.groupName = value.isEmpty ? nil : String(value)
        case "shadow":
            let f = value.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 7, let password = ShadowState.Password(rawValue: String(f[0])) else { return }
            probe.shadow = ShadowState(password: password, lastChange: day(f[1]), maxDays: day(f[3]),
                                       inactiveDays: day(f[5]), expire: day(f[6]))
        case "today": probe.today = day(value)
        case "group_sole":
            let (owner, verdict) = split(value)
            let ids = owner.split(separator: ":", omittingEmptySubsequences: false)
            guard ids.count == 2, let gid = Int(ids[0]), let uid = Int(ids[1]), probe.groupWriteAccepted.count < 64 else { return }
            probe.groupWriteAccepted["\(gid):\(uid)"] = verdict == "yes"
        case "shell_valid": probe.shellValid = value == "yes"
        case "shell_listed": probe.shellListed = value == "yes"
        case "sshd_error": probe.sshdError = String(value)
        case "sshd":
            let (name, setting) = split(value)
            let lower = name.lowercased()
            // allowusers etc. repeat: keep every value, appended in place (a
            // copy of the value so far per line made a forged reply of a
            // million lines take hours, outside every timeout: review s13)
            // and bounded (real `sshd -T` output is a few KB).
            if let current = probe.sshd[lower] {
                guard current.utf8.count + setting.utf8.count < Self.sshdValueLimit else { return }
                probe.sshd[lower, default: ""].append(" " + setting)
            } else if probe.sshd.count < Self.sshdKeywordLimit {
                probe.sshd[lower] = String(setting)
            }
        case "path":
            // The probe prints AuthorizedKeysFile made absolute with the home
            // from passwd. A relative one (a relative home, or a forged reply)
            // names no file keysync can check or write, and Foundation's
            // deletingLastPathComponent traps on some (`D`, `a//`).
            guard value.hasPrefix("/") else {
                throw .malformed("the keys file path of \(probe.account) is not absolute: \(value.prefix(200))")
            }
            // Every path on the way starts absent; the stat lines that follow say what exists.
            let path = String(value)
            probe.path = path
            probe.file = .absent
            probe.directory = .absent
            if let home = probe.homePath {
                probe.home = .absent
                let paths = AccountProbe.keyPaths(home: home, file: path)
                let underHome = path.hasPrefix(home.hasSuffix("/") ? home : home + "/")
                probe.intermediateFolders = underHome && paths.count > 3
                    ? paths[1..<(paths.count - 2)].map { PathStat(path: $0, stat: .absent) } : []
            }
        case "other_path":
            guard value.hasPrefix("/") else {
                throw .malformed("a keys file path of \(probe.account) is not absolute: \(value.prefix(200))")
            }
            probe.otherFiles.append(OtherKeysFile(path: String(value)))
        case "root_keys": probe.rootKeysFolder = value == "safe" ? .safe : .unsafe(String(value.prefix(500)))
        case "keys_file_index": probe.keysFileIndex = Int(value)
        case "too_large": probe.tooLarge = Int(value) ?? Int.max
        case "read_refused" where probe.readError == nil: probe.readError = "\(probe.account): \(value)"
        case "read_refused": break // the first says what the account's own file is
        default: AccountDiagnostics.apply(key: key, value: value, to: &probe.diagnostics)
        }
    }
}

/// A reply that is not a well-formed probe or apply answer.
public enum ProbeError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    public var description: String {
        switch self {
        case .malformed(let reason): return "unexpected reply from host: \(reason)"
        }
    }
}

/// Reads `\n`-terminated lines and raw byte runs from a reply.
struct ByteLineReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Whether every byte has been read (a final `\n` counts as read).
    var atEnd: Bool { offset >= bytes.count }

    /// The next line without its `\n` (decoded leniently), or nil at the end.
    mutating func line() -> Substring? {
        guard offset < bytes.count else { return nil }
        let end = bytes[offset...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        let text = String(decoding: bytes[offset..<end], as: UTF8.self)
        offset = end < bytes.count ? end + 1 : end
        return Substring(text)
    }

    /// The bytes before the next occurrence of `marker`; the reader moves past the marker.
    mutating func bytes(until marker: [UInt8]) -> [UInt8]? {
        guard let first = marker.first, bytes.count - offset >= marker.count else { return nil }
        var index = offset
        let last = bytes.count - marker.count
        while index <= last {
            if bytes[index] == first && bytes[index..<index + marker.count].elementsEqual(marker) {
                defer { offset = index + marker.count }
                return Array(bytes[offset..<index])
            }
            index += 1
        }
        return nil
    }
}
