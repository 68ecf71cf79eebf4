import Foundation
import GRDB

extension Store {
    /// Accepted logins of one account with one key on one host, as read
    /// from sshd's log (table `key_logins`, issue 21).
    public struct KeyLogin: StoreRecord {
        public static let databaseTableName = "key_logins"
        public var host: String
        public var account: String
        /// `SHA256:…` as sshd logs it.
        public var fingerprint: String
        /// sshd's name of the key type (`ED25519`, `RSA`, `ED25519-CERT`…).
        public var keyType: String
        public var firstLoginAt: Date
        public var lastLoginAt: Date
        /// `lastLoginAt` is the log line's own time; `false`: the line had
        /// none (sshd's `-E` file or stderr) and it is the time of the scan
        /// that read it, an upper bound.
        public var lastExact: Bool
        public var lastAddress: String
        /// Logins counted.
        public var logins: Int
        /// The kind of log the last one was read from (``LoginSource/Kind``).
        public var source: String
        /// A certificate's key id, for a login with one.
        public var certificateID: String?
        /// Runs that first and last counted one; `nil` once pruned.
        public var firstRun: Int64?
        public var lastRun: Int64?

        public enum CodingKeys: String, CodingKey, ColumnExpression {
            case host, account, fingerprint, keyType = "key_type", firstLoginAt = "first_login_at"
            case lastLoginAt = "last_login_at", lastExact = "last_exact", lastAddress = "last_address", logins, source
            case certificateID = "certificate_id", firstRun = "first_run", lastRun = "last_run"
        }
    }

    /// Since when keysync has seen every accepted login of a host (table `login_watch`).
    public struct LoginWatch: StoreRecord {
        public static let databaseTableName = "login_watch"
        public var host: String
        /// The source in use (``LoginSource/key``); `none`: no log found.
        public var source: String
        /// Every accepted login since then was read; nil: not watching (no log found).
        public var watchingSince: Date?
        /// The last scan that read to the end of the log.
        public var readUntil: Date?
        /// The last scan stopped at the read limit: the rest comes next run.
        public var behind: Bool
        public var lastScanAt: Date
        /// When the probe last looked for the source (once a day).
        public var discoveredAt: Date
        /// Scans that found lines may be missing, and the last of them.
        public var gaps: Int
        public var lastGapAt: Date?
        /// Why the last scan read nothing (the file is gone, not root…).
        public var problem: String?

        public enum CodingKeys: String, CodingKey, ColumnExpression {
            case host, source, watchingSince = "watching_since", readUntil = "read_until", behind
            case lastScanAt = "last_scan_at", discoveredAt = "discovered_at", gaps, lastGapAt = "last_gap_at", problem
        }

        /// How far a host's last complete read may lag behind the freshest
        /// read of any host before its log counts as no longer watched: a
        /// host left out of runs, failing, or scanned with `--no-last-use`
        /// has logins nobody read (one day: a daily timer's runs stay in).
        public static let staleAfter: TimeInterval = 86_400

        /// How old the last complete read may be when the report is made: a
        /// fleet whose timer stopped has logins since then that nobody read
        /// (a week: a weekly timer's reports stay in).
        public static let readWithin: TimeInterval = 7 * 86_400

        /// Whether the logins of the whole window since `start` were seen
        /// (nil `start`: any watching at all): watched since before it, the
        /// log read to its end by the latest scan, without a problem, and
        /// read about as recently as the rest of the fleet (`fleetReadUntil`,
        /// the newest `readUntil` of any host) and within ``readWithin`` of
        /// `now`, the report's time. "Unused" is claimed only there.
        public func covers(since start: Date?, fleetReadUntil: Date?, now: Date? = nil) -> Bool {
            guard let watchingSince, !behind, problem == nil, let readUntil else { return false }
            if let fleetReadUntil, readUntil < fleetReadUntil.addingTimeInterval(-Self.staleAfter) { return false }
            if let now, readUntil < now.addingTimeInterval(-Self.readWithin) { return false }
            return start.map { watchingSince <= $0 } ?? true
        }
    }

    /// Where the last scan of a log source stopped (table `log_positions`).
    public struct LogPosition: StoreRecord {
        public static let databaseTableName = "log_positions"
        public var host: String
        /// ``LoginSource/key``.
        public var source: String
        public var kind: String
        public var path: String
        public var pid: Int?
        public var inode: String?
        public var offset: Int?
        public var cursor: String?
        public var updatedAt: Date
        public var runID: Int64?

        public enum CodingKeys: String, CodingKey, ColumnExpression {
            case host, source, kind, path, pid, inode, offset, cursor, updatedAt = "updated_at", runID = "run_id"
        }

        /// The position, when it names one.
        var position: LoginPosition? {
            if let cursor { return .journal(cursor: cursor) }
            if let inode, let offset { return .file(inode: inode, offset: offset) }
            return nil
        }
    }
}
