import Foundation

extension ProbeScript {
    /// What `push` and `check` ask the probe about sshd's log (issue 21,
    /// "last use"): read the accepted public-key logins written since the
    /// last scan of this host, at most ``readLimit`` bytes per run, and say
    /// where the scan stopped.
    ///
    /// The source is the one the database names (``source``); with
    /// ``discover`` (no source known yet, or the last search is a day old)
    /// the probe looks for it again, by doctor's rules: the sshd that serves
    /// this login (run by uid 0 from the host's sshd binary), its `-E` file,
    /// or its stderr when it runs with `-e`; else the journal; else
    /// `/var/log/auth.log` or `/var/log/secure`. Lines are parsed on the host
    /// (probe-logins.sh): the reply carries, per account and key, a count,
    /// times, the last address, key type and fingerprint — never a log line.
    ///
    /// Reply lines (every one carries the nonce): `login_source NONCE KIND
    /// PID PATH`, `login_key NONCE COUNT FIRST LAST ACCOUNT ADDRESS TYPE
    /// FINGERPRINT [CERTIFICATE-ID]` (times as Unix seconds, `-` for a line
    /// without one), `login_at NONCE INODE OFFSET` or `login_cursor NONCE
    /// CURSOR`, `login_note NONCE WORD [VALUE]` (`first T`, `since T`, `gap
    /// REASON`, `rotated PATH`, `behind`, `read BYTES`, `missing`, `not_root`, `error TEXT`),
    /// `login_dropped NONCE N`.
    public struct Logins: Hashable, Sendable {
        /// Where the last scan read, or nil: find the source.
        public var source: LoginSource?
        /// Where it stopped in that source (nil: never read).
        public var position: LoginPosition?
        /// Look for the source again (it may have changed); the position is
        /// kept when the same source is found.
        public var discover: Bool
        /// The controller's clock: the year of syslog lines without one.
        public var now: Date

        /// A scan continuing at `position` of `source`, or finding the source first.
        public init(source: LoginSource?, position: LoginPosition? = nil, discover: Bool = false, now: Date = Date()) {
            self.source = source
            self.position = position
            self.discover = discover || source == nil
            self.now = now
        }

        /// Bytes of log read per host and run, at most (twice in the run that
        /// finds a file ``skipAfter`` times this far behind: the piece read
        /// first, then the end): a huge log (or one long line) costs the host
        /// a bounded read; the rest waits for the next run. A first scan reads
        /// at most this much of the end of a log.
        public static let readLimit = 1 << 20

        /// A file this many times ``readLimit`` behind is not read piece by
        /// piece (it might never catch up): after the piece a run reads, the
        /// probe reads its last ``readLimit`` bytes and reports a gap (`gap
        /// skipped`). The size is asked only after a read that used up the
        /// limit, so a run that caught up starts no `stat` process.
        public static let skipAfter = 8

        /// Most `login_key` lines a reply may carry (distinct accounts and keys
        /// in one scan); the probe drops the others and says how many.
        static let keyLimit = 2000

        /// What the reply may add to a probe's: the key lines and a few others.
        static let replyBytes = keyLimit * 420 + 8192

        /// The values probe-logins.sh reads, its functions, and the call.
        var script: String {
            // The UTC year, without a Calendar per host.
            let seconds = Int(now.timeIntervalSince1970.rounded(.down))
            let year = CivilDate.civil(fromDays: seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400).0
            var text = Shell.assign("login_limit", Self.readLimit)
                + Shell.assign("login_skip_after", Self.skipAfter)
                + Shell.assign("login_discover", discover ? "yes" : "")
                + Shell.assign("login_kind", source?.kind.rawValue ?? "")
                + Shell.assign("login_path", source?.path ?? "")
                + Shell.assign("login_pid", source?.pid.map(String.init) ?? "")
                + Shell.assign("login_now", Int(now.timeIntervalSince1970))
                + Shell.assign("login_year", year)
            switch position {
            case .file(let inode, let offset)?:
                text += Shell.assign("login_ino", inode) + Shell.assign("login_offset", offset) + Shell.assign("login_cursor", "")
            case .journal(let cursor)?:
                text += Shell.assign("login_ino", "") + Shell.assign("login_offset", "") + Shell.assign("login_cursor", cursor)
            case nil:
                text += Shell.assign("login_ino", "") + Shell.assign("login_offset", "") + Shell.assign("login_cursor", "")
            }
            return text + Self.functions + "login_scan\n"
        }

        /// The functions (probe-logins.sh).
        static let functions = EmbeddedScripts.probeLogins
    }
}

/// Where sshd's logins of a host are logged (issue 21).
public struct LoginSource: Hashable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// sshd's own `-E` file: no time on its lines.
        case file
        /// The file sshd's stderr goes to, when it runs with `-e`: no time on its lines.
        case stderr
        /// rsyslog's `/var/log/auth.log` or `/var/log/secure`: a time and `sshd[PID]:` on every line.
        case syslog
        /// The systemd journal: sshd's entries (`_UID` 0, `_COMM` sshd).
        case journal
        /// None found: keysync does not see this host's logins.
        case none
    }

    public var kind: Kind
    /// The file (`stderr`: where sshd's stderr points, as a label); empty for the journal.
    public var path: String
    /// `stderr` only: the sshd process whose stderr is read.
    public var pid: Int?

    /// A source.
    public init(kind: Kind, path: String = "", pid: Int? = nil) {
        self.kind = kind
        self.path = path
        self.pid = pid
    }

    /// The database's name for it (`log_positions.source`): `file:/var/log/auth.log`, `journal`.
    public var key: String {
        switch kind {
        case .journal, .none: return kind.rawValue
        default: return "\(kind.rawValue):\(path)"
        }
    }

    /// The source a ``key`` names (a `stderr` one without its process).
    public init?(key: String) {
        let parts = key.split(separator: ":", maxSplits: 1)
        guard let first = parts.first, let kind = Kind(rawValue: String(first)) else { return nil }
        self.init(kind: kind, path: parts.count > 1 ? String(parts[1]) : "")
    }

    /// Its lines carry no time: a login read from it is dated by the scan
    /// that read it (an upper bound: it happened since the scan before).
    public var untimed: Bool { kind == .file || kind == .stderr }
}

/// Where a scan stopped in a log source.
public enum LoginPosition: Hashable, Sendable {
    /// A file's inode and the offset after the last whole line read.
    case file(inode: String, offset: Int)
    /// The journal cursor of the last entry read.
    case journal(cursor: String)

    /// A journal cursor as journalctl prints it (`s=…;i=…;b=…;m=…;t=…;x=…`).
    static func isCursor(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.count <= 300
            && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) || $0 == 0x3d || $0 == 0x3b }
    }
}
