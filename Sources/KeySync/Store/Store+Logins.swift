import Foundation
import GRDB

extension Store {
    /// What one scan of a host's sshd log found (issue 21), recorded with the
    /// host's result in the same transaction: the logins, where the scan
    /// stopped, and how far back the host's logins are known.
    public struct LoginScanRecord: Hashable, Sendable {
        /// The source and position the scan started from (as the database
        /// said when the run began): the scan is recorded only if the database
        /// still says so, so two runs at once never count a line twice.
        public var startSource: LoginSource?
        public var startPosition: LoginPosition?
        /// The source read (or `none`), and where the scan stopped in it.
        public var source: LoginSource
        public var position: LoginPosition?
        public var uses: [LoginUse]
        /// When the probe answered: the time of logins read from lines without one.
        public var scannedAt: Date
        /// The probe looked for the source in this scan.
        public var discovered: Bool
        /// Read for the first time, from this time on (nil: lines without time, or none).
        public var firstScan: Bool
        public var firstTime: Date?
        /// Lines may be missing since the last scan (why), and the time of the first one read after.
        public var gap: String?
        public var sinceTime: Date?
        public var behind: Bool
        public var problem: String?
        /// The scan read on from where the last one stopped and found no
        /// login of the account keysync logs in as, though keysync's own
        /// login to run it (or the last run's) went to sshd's log: this
        /// source may not get sshd's logins at all (``LoginScanResult/record``).
        public var missesOwnLogin = false

        /// A scan record; the fields default to "nothing read".
        public init(startSource: LoginSource?, startPosition: LoginPosition?, source: LoginSource, position: LoginPosition?,
                    uses: [LoginUse] = [], scannedAt: Date, discovered: Bool = false, firstScan: Bool = false,
                    firstTime: Date? = nil, gap: String? = nil, sinceTime: Date? = nil, behind: Bool = false, problem: String? = nil,
                    missesOwnLogin: Bool = false) {
            (self.startSource, self.startPosition, self.source, self.position) = (startSource, startPosition, source, position)
            (self.uses, self.scannedAt, self.discovered, self.firstScan) = (uses, scannedAt, discovered, firstScan)
            (self.firstTime, self.gap, self.sinceTime, self.behind, self.problem) = (firstTime, gap, sinceTime, behind, problem)
            self.missesOwnLogin = missesOwnLogin
        }
    }

    /// Where the next scan of a host continues: its watch row and the position in its source.
    public struct LoginState: Hashable, Sendable {
        public var watch: LoginWatch
        public var position: LogPosition?

        /// The source the database names.
        public var source: LoginSource? {
            if let position, let kind = LoginSource.Kind(rawValue: position.kind) {
                return LoginSource(kind: kind, path: position.path, pid: position.pid)
            }
            return LoginSource(key: watch.source)
        }
    }

    /// The problem of a watch whose scan did not find keysync's own login.
    public static let missingOwnLogin = "keysync's own login is not in this log: it may not get sshd's logins (LogLevel, SyslogFacility, journald storage?)"

    /// How often the probe looks for a host's log source again.
    public static let loginRediscovery: TimeInterval = 86_400

    /// The scan state of `hosts` (all when nil), by host.
    public func loginStates(hosts: Set<String>? = nil) throws -> [String: LoginState] {
        try read("read where the log scans stopped") { db in
            var watches = LoginWatch.all()
            var positions = LogPosition.all()
            if let hosts {
                watches = watches.filter(hosts.contains(LoginWatch.Columns.host))
                positions = positions.filter(hosts.contains(LogPosition.Columns.host))
            }
            let byHost = Dictionary(grouping: try positions.fetchAll(db), by: \.host)
            var states: [String: LoginState] = [:]
            for watch in try watches.fetchAll(db) {
                states[watch.host] = LoginState(watch: watch, position: byHost[watch.host]?.first { $0.source == watch.source })
            }
            return states
        }
    }

    /// The probe request that continues `state` (nil: a host never scanned), at `now`.
    public static func loginRequest(_ state: LoginState?, now: Date) -> ProbeScript.Logins {
        guard let state, let source = state.source else { return ProbeScript.Logins(source: nil, now: now) }
        let stale = now.timeIntervalSince(state.watch.discoveredAt) >= loginRediscovery || state.watch.problem != nil
        return ProbeScript.Logins(source: source, position: state.position?.position, discover: stale, now: now)
    }

    /// Records one scan (inside ``recordHostResults(_:runID:at:)``'s transaction).
    func recordLogins(_ db: Database, host: String, runID: Int64, _ scan: LoginScanRecord) throws {
        // Statements written out and cached: the query interface built the
        // same SQL again for every host, most of what recording a scan cost
        // the controller (perf, `keysync check` of 200 hosts).
        let watch = try LoginWatch.fetchOne(db.cachedStatement(sql: "SELECT * FROM login_watch WHERE host = ?"), arguments: [host])
        let stored = try watch.flatMap { watch in
            try LogPosition.fetchOne(db.cachedStatement(sql: "SELECT * FROM log_positions WHERE host = ? AND source = ?"),
                                     arguments: [host, watch.source])
        }
        // Compare and swap: another run recorded a scan of this host since this one began.
        if let watch {
            guard scan.startSource?.key == watch.source, scan.startPosition == stored?.position else { return }
        } else {
            guard scan.startSource == nil else { return }
        }
        let now = scan.scannedAt
        if let position = scan.position {
            var row = LogPosition(host: host, source: scan.source.key, kind: scan.source.kind.rawValue, path: scan.source.path,
                                  pid: scan.source.pid, inode: nil, offset: nil, cursor: nil, updatedAt: now, runID: runID)
            switch position {
            case .file(let inode, let offset): (row.inode, row.offset) = (inode, offset)
            case .journal(let cursor): row.cursor = cursor
            }
            try row.upsert(in: db)
        }
        try updateWatch(db, host: host, watch, scan)
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO key_logins (host, account, fingerprint, key_type, first_login_at, last_login_at, last_exact,
                                    last_address, logins, source, certificate_id, first_run, last_run)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (host, account, fingerprint) DO UPDATE SET
                logins = logins + excluded.logins,
                first_login_at = MIN(first_login_at, excluded.first_login_at),
                last_run = excluded.last_run,
                key_type = CASE WHEN excluded.last_login_at >= last_login_at THEN excluded.key_type ELSE key_type END,
                last_exact = CASE WHEN excluded.last_login_at >= last_login_at THEN excluded.last_exact ELSE last_exact END,
                last_address = CASE WHEN excluded.last_login_at >= last_login_at THEN excluded.last_address ELSE last_address END,
                source = CASE WHEN excluded.last_login_at >= last_login_at THEN excluded.source ELSE source END,
                certificate_id = CASE WHEN excluded.last_login_at >= last_login_at THEN excluded.certificate_id ELSE certificate_id END,
                last_login_at = MAX(last_login_at, excluded.last_login_at)
            """)
        // Dates as GRDB stores them, formatted here: a reply can list
        // thousands of keys, and GRDB's DateFormatter per value was most of
        // what recording them cost (issue 21, Scripts/bench U).
        let nowValue = now.databaseValue
        func value(_ time: Int?) -> DatabaseValue { time.map(Self.databaseDate) ?? nowValue }
        let source = scan.source.kind.rawValue.databaseValue
        for use in scan.uses {
            let last = value(use.last)
            let first: DatabaseValue
            switch (use.first, use.last) {
            case let (start?, end?): first = value(min(start, end))
            case (nil, nil): first = nowValue
            default:
                // One side undated (not in the probe's replies): the earlier of it and now.
                let date = { (time: Int?) in time.map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? now }
                first = min(date(use.first), date(use.last)).databaseValue
            }
            try upsert.execute(arguments: [host.databaseValue, use.account.databaseValue, use.fingerprint.databaseValue,
                                           use.keyType.databaseValue, first, last, use.last != nil ? 1 : 0, use.address.databaseValue,
                                           use.count.databaseValue, source, use.certificateID.databaseValue, runID.databaseValue,
                                           runID.databaseValue])
        }
    }

    /// Unix `seconds` as GRDB stores a `Date` (`yyyy-MM-dd HH:mm:ss.SSS`,
    /// UTC; whole seconds end `.000`), without a DateFormatter. Times outside
    /// years 1970–9999 go through GRDB.
    static func databaseDate(_ seconds: Int) -> DatabaseValue {
        guard seconds >= 0, seconds < 253_402_300_800 else {
            return Date(timeIntervalSince1970: TimeInterval(seconds)).databaseValue
        }
        let (year, month, day) = CivilDate.civil(fromDays: seconds / 86_400)
        let time = seconds % 86_400
        var text = [UInt8]()
        text.reserveCapacity(23)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(year, 4); text.append(UInt8(ascii: "-")); digits(month, 2); text.append(UInt8(ascii: "-")); digits(day, 2)
        text.append(UInt8(ascii: " ")); digits(time / 3600, 2); text.append(UInt8(ascii: ":")); digits(time / 60 % 60, 2)
        text.append(UInt8(ascii: ":")); digits(time % 60, 2)
        text.append(contentsOf: ".000".utf8)
        return String(decoding: text, as: UTF8.self).databaseValue
    }

    /// The host's watch after `scan`: when watching began (moved forward over
    /// a gap or a change of source), how far the log was read, when the source was looked for.
    private func updateWatch(_ db: Database, host: String, _ old: LoginWatch?, _ scan: LoginScanRecord) throws {
        let now = scan.scannedAt
        var watch = old ?? LoginWatch(host: host, source: scan.source.key, watchingSince: nil, readUntil: nil, behind: false,
                                      lastScanAt: now, discoveredAt: now, gaps: 0, lastGapAt: nil, problem: nil)
        watch.lastScanAt = now
        if scan.discovered { watch.discoveredAt = now }
        let wasMissingOwnLogin = watch.problem == Self.missingOwnLogin
        watch.problem = scan.problem
        guard scan.problem == nil else {
            // Nothing read: look for the source again next time.
            try watch.upsert(in: db)
            return
        }
        if scan.missesOwnLogin && scan.source.kind != .none {
            // Not watched while it lasts (the source is looked for again). A
            // log written late (syslog daemons and journald write after sshd)
            // shows the line in the next scan; a second scan without it is a
            // gap: whatever was read meanwhile may not be all the logins.
            watch.problem = Self.missingOwnLogin
            if wasMissingOwnLogin {
                watch.watchingSince = watch.watchingSince.map { max($0, now) }
                watch.gaps += 1
                watch.lastGapAt = now
            }
            try watch.upsert(in: db)
            return
        }
        guard scan.source.kind != .none else {
            (watch.source, watch.watchingSince, watch.readUntil, watch.behind) = (scan.source.key, nil, nil, false)
            try watch.upsert(in: db)
            return
        }
        let changed = old == nil || old!.source != scan.source.key
        if changed || scan.firstScan || watch.watchingSince == nil {
            // Watching (again) from the first line read with a time, else from
            // now; continuous with what was read before when it reaches back to it.
            let start = scan.firstTime ?? now
            if let since = watch.watchingSince {
                if let until = watch.readUntil, start <= until {
                    // Nothing missed between the two.
                } else {
                    watch.watchingSince = max(since, start)
                    watch.gaps += 1
                    watch.lastGapAt = now
                }
            } else {
                watch.watchingSince = start
            }
        }
        if scan.gap != nil {
            let start = scan.source.untimed ? now : (scan.sinceTime ?? now)
            watch.watchingSince = watch.watchingSince.map { max($0, start) } ?? start
            watch.gaps += 1
            watch.lastGapAt = now
        }
        watch.source = scan.source.key
        watch.behind = scan.behind
        if !scan.behind { watch.readUntil = now }
        try watch.upsert(in: db)
    }

    // MARK: Reading

    /// Every host, account where a key logged in, newest login first (`keysync where`).
    public func keyLogins(fingerprint: String) throws -> [KeyLogin] {
        try read("read the logins of \(fingerprint)") { db in
            try KeyLogin.filter(KeyLogin.Columns.fingerprint == fingerprint)
                .order(KeyLogin.Columns.lastLoginAt.desc, KeyLogin.Columns.host, KeyLogin.Columns.account).fetchAll(db)
        }
    }

    /// The logins seen on `hosts` (all when nil), by host, account and key.
    public func keyLogins(hosts: Set<String>? = nil) throws -> [KeyLogin] {
        try read("read the key logins") { db in
            var request = KeyLogin.order(KeyLogin.Columns.host, KeyLogin.Columns.account, KeyLogin.Columns.fingerprint)
            if let hosts { request = request.filter(hosts.contains(KeyLogin.Columns.host)) }
            return try request.fetchAll(db)
        }
    }

    /// Since when each of `hosts` (all when nil) has been watched, by host.
    public func loginWatches(hosts: Set<String>? = nil) throws -> [String: LoginWatch] {
        try loginStates(hosts: hosts).mapValues(\.watch)
    }
}

/// What the database knows about key use on a set of hosts (issue 21): the
/// logins read from sshd's logs, since when each host was watched, and which
/// run last scanned it. Reports ask it; it does no I/O.
public struct LoginHistory: Sendable {
    public var logins: [Store.KeyLogin]
    public var watches: [String: Store.LoginWatch]
    /// The run of each host's latest scan that read its log (`log_positions.run_id`).
    public var latestScanRun: [String: Int64]
    /// Keys seen in `authorized_keys` (`host_keys`): when a grant first arrived on a host.
    public var sightings: [Store.HostKey]

    /// The newest complete read of any host's log: what "read recently" is measured against.
    public let fleetReadUntil: Date?

    private var index: [String: Store.KeyLogin] = [:]
    private var seen: [String: Store.HostKey] = [:]

    public init(logins: [Store.KeyLogin], watches: [String: Store.LoginWatch], latestScanRun: [String: Int64] = [:],
                sightings: [Store.HostKey] = []) {
        (self.logins, self.watches, self.latestScanRun, self.sightings) = (logins, watches, latestScanRun, sightings)
        fleetReadUntil = watches.values.compactMap(\.readUntil).max()
        for login in logins { index[Self.id(login.host, login.account, login.fingerprint)] = login }
        for key in sightings { seen[Self.id(key.host, key.account, key.fingerprint)] = key }
    }

    private static func id(_ host: String, _ account: String, _ fingerprint: String) -> String {
        "\(host)\u{0}\(account)\u{0}\(fingerprint)"
    }

    /// Whether every login on `host` since `start` was read (``Store/LoginWatch/covers(since:fleetReadUntil:now:)``).
    public func covers(host: String, since start: Date?, now: Date? = nil) -> Bool {
        watches[host]?.covers(since: start, fleetReadUntil: fleetReadUntil, now: now) ?? false
    }

    /// The logins of `account` with `fingerprint` on `host`.
    public func login(host: String, account: String, fingerprint: String) -> Store.KeyLogin? {
        index[Self.id(host, account, fingerprint)]
    }

    /// When the key was first seen in the account's file on `host`.
    public func firstSeen(host: String, account: String, fingerprint: String) -> Date? {
        seen[Self.id(host, account, fingerprint)]?.firstSeenAt
    }

    /// Whether `login` counts as use in a window starting at `start`: its last
    /// time is in the window, or the host's latest scan read it (the
    /// database's present is that scan: a login it read is in any window, 0d too).
    public func isRecent(_ login: Store.KeyLogin, since start: Date) -> Bool {
        if login.lastLoginAt >= start { return true }
        guard let run = login.lastRun, let latest = latestScanRun[login.host] else { return false }
        return run == latest
    }
}

extension Store {
    /// The logins, watches and key sightings of `hosts` (all when nil).
    public func loginHistory(hosts: Set<String>? = nil) throws -> LoginHistory {
        let states = try loginStates(hosts: hosts)
        let logins = try keyLogins(hosts: hosts)
        let sightings = try read("read the keys seen") { db in
            var request = HostKey.all()
            if let hosts { request = request.filter(hosts.contains(HostKey.Columns.host)) }
            return try request.fetchAll(db)
        }
        var latest: [String: Int64] = [:]
        for (host, state) in states { if let run = state.position?.runID { latest[host] = run } }
        return LoginHistory(logins: logins, watches: states.mapValues(\.watch), latestScanRun: latest, sightings: sightings)
    }
}

extension Store.LoginWatch {
    /// Inserts or replaces this host's row, as `save` does, with one cached statement.
    func upsert(in db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO login_watch (host, source, watching_since, read_until, behind, last_scan_at, discovered_at,
                                     gaps, last_gap_at, problem)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (host) DO UPDATE SET
                source = excluded.source, watching_since = excluded.watching_since, read_until = excluded.read_until,
                behind = excluded.behind, last_scan_at = excluded.last_scan_at, discovered_at = excluded.discovered_at,
                gaps = excluded.gaps, last_gap_at = excluded.last_gap_at, problem = excluded.problem
            """).execute(arguments: [host, source, watchingSince, readUntil, behind, lastScanAt, discoveredAt, gaps, lastGapAt, problem])
    }
}

extension Store.LogPosition {
    /// Inserts or replaces this source's row, as `save` does, with one cached statement.
    func upsert(in db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO log_positions (host, source, kind, path, pid, inode, offset, cursor, updated_at, run_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (host, source) DO UPDATE SET
                kind = excluded.kind, path = excluded.path, pid = excluded.pid, inode = excluded.inode,
                offset = excluded.offset, cursor = excluded.cursor, updated_at = excluded.updated_at, run_id = excluded.run_id
            """).execute(arguments: [host, source, kind, path, pid, inode, offset, cursor, updatedAt, runID])
    }
}
