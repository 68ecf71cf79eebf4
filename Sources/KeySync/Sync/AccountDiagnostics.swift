/// A path and its `lstat`.
public struct PathStat: Hashable, Sendable {
    public var path: String
    public var stat: FileStat
}

/// Another file sshd may read keys from, or the default one it does not read.
public struct KeyFileProbe: Hashable, Sendable {
    public var path: String
    /// Named by AuthorizedKeysFile (sshd reads it); false for `~/.ssh/authorized_keys` when sshd does not.
    public var listed: Bool
    public var stat: FileStat
    /// The bytes, when it is a regular file that could be read.
    public var content: [UInt8]?
}

/// One line of `sshd_config` (or a file in `sshd_config.d`) with a keyword that matters for logins.
public struct SSHDConfigLine: Hashable, Sendable {
    public var file: String
    /// 1-based.
    public var line: Int
    /// The line as written.
    public var text: String
}

extension SSHDConfigLine {
    /// `LINE<TAB>FILE<TAB>TEXT`.
    init?(probeLine: Substring) {
        let parts = probeLine.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let line = Int(parts[0]) else { return nil }
        self.init(file: String(parts[1]), line: line, text: String(parts[2]))
    }

    /// The keyword, lower-cased (`allowusers`); `Keyword=value` counts too.
    public var keyword: String { words.first?.lowercased() ?? "" }
    /// The values after the keyword.
    public var values: [String] { Array(words.dropFirst()) }
    /// `file:line`.
    public var location: String { "\(file):\(line)" }

    private var words: [String] {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "=" || $0 == "\r" }).map(String.init)
    }
}

/// What the doctor part of the probe found for one account (see ``ProbeScript/Diagnostics``).
public struct AccountDiagnostics: Hashable, Sendable {
    /// Every group the account is in (`id -Gn`).
    public var groups: [String] = []
    /// Leading `!` of the shadow password field (`usermod -L`, `useradd` without a password),
    /// 0 to `maxLockMarks`.
    public var lockMarks = 0
    /// The most `!` kept: doctor prints them (a count from the host, so never negative or huge).
    static let maxLockMarks = 16
    /// What follows the `!`s: `empty`, `star` or `hash` (the hash itself never leaves the host).
    public var passwordAfterLock: ShadowState.Password?
    /// Shadow fields 3–9 as written (`lstchg:min:max:warn:inactive:expire:reserved`).
    public var shadowFields: String?
    /// Whether the account itself can read the keys file (nil: not checked).
    public var fileReadable: Bool?
    /// The keys file after resolving symlinks, as sshd opens it.
    public var realFile: PathStat?
    /// Every folder from the keys file's up to home (or `/`), as sshd's StrictModes walks them.
    public var walk: [PathStat] = []
    /// The other files AuthorizedKeysFile names, and `~/.ssh/authorized_keys` when it names none of it.
    public var keyFiles: [KeyFileProbe] = []
    /// The last sshd log lines about the account, oldest first.
    public var logLines: [String] = []

    public init() {}

    static func apply(key: Substring, value: Substring, to diagnostics: inout AccountDiagnostics?) {
        var d = diagnostics ?? AccountDiagnostics()
        switch key {
        case "groups": d.groups = value.split(separator: " ").map(String.init)
        case "shadow_lock":
            let parts = value.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2 else { return }
            d.lockMarks = min(max(Int(parts[0]) ?? 0, 0), Self.maxLockMarks)
            d.passwordAfterLock = ShadowState.Password(rawValue: String(parts[1]))
            d.shadowFields = parts.count > 2 ? String(parts[2]) : nil
        case "file_access": d.fileReadable = value == "yes" ? true : value == "no" ? false : nil
        case "walk_file", "walk":
            let parts = value.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let stat = FileStat(probeLine: parts[0]) else { return }
            let entry = PathStat(path: String(parts[1]), stat: stat)
            if key == "walk" { d.walk.append(entry) } else { d.realFile = entry }
        case "keyfile":
            let parts = value.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let stat = FileStat(probeLine: parts[1]) else { return }
            d.keyFiles.append(KeyFileProbe(path: String(parts[2]), listed: parts[0] == "listed", stat: stat))
        case "log": d.logLines.append(String(value))
        case "log_checked": break
        default: return
        }
        diagnostics = d
    }
}
