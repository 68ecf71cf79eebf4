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
    /// The file's bytes, when it is a regular file that could be read.
    public var content: [UInt8]?
    public var readError: String?
    /// What the doctor part of the probe found; nil unless it was asked for.
    public var diagnostics: AccountDiagnostics?

    public var exists: Bool { passwd != nil }
    public var uid: Int? { passwd.flatMap { $0.count > 2 ? Int($0[2]) : nil } }
    public var gid: Int? { passwd.flatMap { $0.count > 3 ? Int($0[3]) : nil } }
    public var homePath: String? { passwd.flatMap { $0.count > 5 ? $0[5] : nil } }
    public var shell: String? { passwd.flatMap { $0.count > 6 ? $0[6] : nil } }
    /// sha256 hex of `content`, or `absent`: the compare-and-swap token for apply.
    public var contentHash: String { content.map { SHA256Digest.hex($0) } ?? "absent" }

    public init(account: String) { self.account = account }
}

/// The whole probe reply for one host.
public struct HostProbe: Hashable, Sendable {
    public var euid: Int?
    public var sshdVersion: String?
    public var hasSetpriv = false
    public var accounts: [String: AccountProbe] = [:]
    /// Doctor only: the address sshd sees the controller at, the log
    /// sources searched, and sshd_config lines that matter for logins.
    public var clientAddress: String?
    public var logSources: [String] = []
    public var configLines: [SSHDConfigLine] = []

    /// Parses a probe reply; throws when it is not one (truncated, a banner, an error page).
    public init(reply: [UInt8]) throws(ProbeError) {
        var cursor = ByteLineReader(reply)
        guard let first = cursor.line(), first == Substring(ProbeScript.marker) else {
            throw .malformed("reply does not start with the probe marker")
        }
        var current: AccountProbe?
        var ended = false
        func flush() {
            if let account = current { accounts[account.account] = account }
            current = nil
        }
        while let line = cursor.line() {
            let (key, value) = Self.split(line)
            switch key {
            case "euid": euid = Int(value)
            case "sshd_version": sshdVersion = String(value)
            case "setpriv": hasSetpriv = value == "yes"
            case "client_addr": clientAddress = String(value)
            case "log_source": logSources.append(String(value))
            case "config": SSHDConfigLine(probeLine: value).map { configLines.append($0) }
            case "@account":
                flush()
                current = AccountProbe(account: String(value))
            case "@end":
                flush()
                ended = true
            default:
                guard current != nil else { continue }
                if key == "content" {
                    guard let length = Int(value), let bytes = cursor.bytes(length), cursor.line() == "" else {
                        throw .malformed("truncated authorized_keys content for \(current!.account)")
                    }
                    current!.content = bytes
                } else if key == "content-begin" || key == "keyfile_content-begin" {
                    // Bytes up to "\ncontent-end NONCE STATUS": the nonce is the
                    // controller's, so file content cannot fake the boundary.
                    let name = key.dropLast("-begin".count)
                    guard !value.isEmpty, let bytes = cursor.bytes(until: Array("\n\(name)-end \(value) ".utf8)),
                          let status = cursor.line() else {
                        throw .malformed("truncated authorized_keys content for \(current!.account)")
                    }
                    if name == "keyfile_content" {
                        if status == "0", let last = current!.diagnostics?.keyFiles.indices.last {
                            current!.diagnostics!.keyFiles[last].content = bytes
                        }
                    } else if status == "0" {
                        current!.content = bytes
                    } else {
                        current!.readError = "cannot read \(current!.path ?? "authorized_keys") (dd exit \(status))"
                    }
                } else if key == "stat" {
                    Self.applyStat(value, to: &current!)
                } else {
                    Self.apply(key: key, value: value, to: &current!)
                }
            }
        }
        guard ended else { throw .malformed("reply ended early (connection or command cut off)") }
    }

    private static func split(_ line: Substring) -> (Substring, Substring) {
        guard let space = line.firstIndex(of: " ") else { return (line, "") }
        return (line[..<space], line[line.index(after: space)...])
    }

    /// `stat %F|%a|%u|%g|%s|%n` of home, folder or file, matched by path
    /// (a path that vanished before `stat` ran simply stays absent).
    private static func applyStat(_ value: Substring, to probe: inout AccountProbe) {
        let parts = value.split(separator: "|", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, let stat = FileStat(probeLine: parts[0..<5].joined(separator: "|")[...]) else { return }
        let path = String(parts[5])
        if let file = probe.path, path == file { probe.file = stat }
        if let file = probe.path, path == (file as NSString).deletingLastPathComponent { probe.directory = stat }
        if let home = probe.homePath, path == home { probe.home = stat }
    }

    private static func apply(key: Substring, value: Substring, to probe: inout AccountProbe) {
        switch key {
        case "group_name_gid": probe.groupNameGID = Int(value)
        case "uid_owner": probe.uidOwner = value.isEmpty ? nil : String(value)
        case "gid_owner": probe.gidOwner = value.isEmpty ? nil : String(value)
        case "passwd":
            probe.passwd = value.isEmpty ? nil : value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        case "group": probe.groupName = value.isEmpty ? nil : String(value)
        case "shadow":
            let f = value.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 7, let password = ShadowState.Password(rawValue: String(f[0])) else { return }
            probe.shadow = ShadowState(password: password, lastChange: Int(f[1]), maxDays: Int(f[3]),
                                       inactiveDays: Int(f[5]), expire: Int(f[6]))
        case "today": probe.today = Int(value)
        case "shell_valid": probe.shellValid = value == "yes"
        case "shell_listed": probe.shellListed = value == "yes"
        case "sshd_error": probe.sshdError = String(value)
        case "sshd":
            let (name, setting) = split(value)
            let lower = name.lowercased()
            // allowusers etc. repeat: keep every value.
            probe.sshd[lower] = probe.sshd[lower].map { $0 + " " + setting } ?? String(setting)
        case "path": probe.path = String(value)
        case "stat_home": probe.home = FileStat(probeLine: value)
        case "stat_dir": probe.directory = FileStat(probeLine: value)
        case "stat_file": probe.file = FileStat(probeLine: value)
        case "read_error": probe.readError = String(value)
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

    /// The next line without its `\n` (decoded leniently), or nil at the end.
    mutating func line() -> Substring? {
        guard offset < bytes.count else { return nil }
        let end = bytes[offset...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        let text = String(decoding: bytes[offset..<end], as: UTF8.self)
        offset = min(end + 1, bytes.count + 1)
        return Substring(text)
    }

    /// The bytes before the next occurrence of `marker`; the reader moves past the marker.
    mutating func bytes(until marker: [UInt8]) -> [UInt8]? {
        guard !marker.isEmpty, bytes.count - offset >= marker.count else { return nil }
        var index = offset
        while index + marker.count <= bytes.count {
            if bytes[index] == marker[0] && bytes[index..<index + marker.count].elementsEqual(marker) {
                defer { offset = index + marker.count }
                return Array(bytes[offset..<index])
            }
            index += 1
        }
        return nil
    }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, offset + count <= bytes.count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }
}
