import Foundation
import GRDB

extension Store {
    /// Which drift to report; `nil` means no restriction.
    ///
    /// A project filter is the project's hosts and role accounts from the
    /// inventory; host-wide items (empty account) pass any account filter.
    public struct DriftFilter: Hashable, Sendable {
        public var hosts: Set<String>?
        public var accounts: Set<String>?
        public var kinds: Set<String>?

        /// A filter.
        public init(hosts: Set<String>? = nil, accounts: Set<String>? = nil, kinds: Set<String>? = nil) {
            (self.hosts, self.accounts, self.kinds) = (hosts, accounts, kinds)
        }

        /// Everything.
        public static let all = DriftFilter()

        /// `AND …` conditions on a drift table alias `d`.
        var sql: SQL {
            var sql: SQL = ""
            if let hosts { sql += " AND d.host IN \(hosts)" }
            if let accounts { sql += " AND (d.account = '' OR d.account IN \(accounts))" }
            if let kinds { sql += " AND d.kind IN \(kinds)" }
            return sql
        }
    }

    /// A drift item that is still there, with how long it has been.
    public struct OpenDrift: Hashable, Sendable, FetchableRecord {
        public var host: String
        /// Empty for the host itself.
        public var account: String
        public var kind: String
        /// As last seen.
        public var detail: String
        public var fingerprint: String?
        /// Start of the first run of the unbroken streak of this host's runs that saw it.
        public var since: Date
        public var sinceRunID: Int64
        /// The last run that saw it, and when that run started.
        public var lastSeenRunID: Int64
        public var lastSeenAt: Date

        /// Decodes a row of the ``Store/openDrift(_:)`` query.
        public init(row: Row) {
            host = row["host"]; account = row["account"]; kind = row["kind"]
            detail = row["detail"]; fingerprint = row["fingerprint"]
            since = row["since"]; sinceRunID = row["since_run"]
            lastSeenRunID = row["last_run"]; lastSeenAt = row["last_seen_at"]
        }
    }

    /// Per host: its newest whole scan (`whole_run`; NULL when it never had
    /// one) and its newest result (`any_run`). What is open on a host comes
    /// from the whole scan and the scans after it (``openDrift(_:)``), which
    /// is also what `prune` keeps.
    static let latestRunsPerHost: SQL = """
        SELECT host, MAX(CASE WHEN scanned AND NOT partial THEN run_id END) AS whole_run, MAX(run_id) AS any_run
        FROM host_results GROUP BY host
        """

    /// Drift items that are open now, by host, account and kind.
    ///
    /// An item is open from the first run that saw it until a run of that host
    /// sees it gone: a later whole scan of the host (`scanned`, not `partial`)
    /// that does not list it, or a later scan that lists it as `fixed`. A run
    /// that read only some accounts (`--project`, a rotation) adds what it
    /// saw but closes nothing it does not list; results that could not look
    /// at the host (`scanned` false) neither close nor interrupt an item, and
    /// their own items (`host_unreachable`…) count while they are the host's
    /// latest result. The streak's start is stored with each row
    /// (``Store/recordHostResults(_:runID:at:)``), so this reads only each
    /// host's newest whole scan, the scans after it and its latest result.
    public func openDrift(_ filter: DriftFilter = .all) throws -> [OpenDrift] {
        try read("read open drift") { db in
            try SQLRequest<OpenDrift>(literal: """
                WITH latest AS (\(Self.latestRunsPerHost)),
                candidates AS (
                    SELECT h.host, h.run_id, h.scanned FROM latest l
                    JOIN host_results h ON h.host = l.host AND h.run_id >= IFNULL(l.whole_run, 0)
                    WHERE h.scanned OR h.run_id = l.any_run
                ),
                newest AS (
                    SELECT d.host, d.account, d.kind, d.subject, d.detail, d.fingerprint, d.fixed,
                           d.since_run, d.since_at, MAX(d.run_id) AS last_run
                    FROM candidates c JOIN drift d ON d.run_id = c.run_id AND d.host = c.host
                    WHERE (c.scanned OR NOT d.fixed) \(filter.sql)
                    GROUP BY d.host, d.account, d.kind, d.subject
                )
                SELECT n.host, n.account, n.kind, n.detail, n.fingerprint, IFNULL(n.since_run, n.last_run) AS since_run,
                       n.last_run, IFNULL(n.since_at, last.started_at) AS since, last.started_at AS last_seen_at
                FROM newest n
                JOIN runs last ON last.id = n.last_run
                WHERE NOT n.fixed
                ORDER BY n.host, n.account, n.kind, n.subject
                """).fetchAll(db)
        }
    }

    /// Drift found by one run, for charts.
    public struct DriftPoint: Hashable, Sendable {
        public var runID: Int64
        public var command: String
        public var startedAt: Date
        /// Hosts that were looked at (`scanned`).
        public var hostsScanned: Int
        /// Hosts the run could not look at (status failed).
        public var hostsFailed: Int = 0
        /// Hosts with at least one item left unfixed.
        public var hostsWithDrift: Int
        /// Items found, fixed or not.
        public var found: Int
        /// Items left after the run.
        public var remaining: Int
        /// Items left, per drift kind.
        public var remainingByKind: [String: Int]
    }

    /// Per run since a date (oldest first): how much drift it found and left.
    public func driftHistory(since: Date, filter: DriftFilter = .all) throws -> [DriftPoint] {
        try read("read drift history") { db in
            // Scanned and failed count the selected hosts only (`report --host`).
            let ofHosts: SQL = filter.hosts.map { " AND h.host IN \($0)" } ?? ""
            let runs = try SQLRequest<Row>(literal: """
                SELECT r.id, r.command, r.started_at,
                       (SELECT COUNT(*) FROM host_results h WHERE h.run_id = r.id AND h.scanned \(ofHosts)) AS scanned,
                       (SELECT COUNT(*) FROM host_results h WHERE h.run_id = r.id AND h.status = 'failed' \(ofHosts)) AS failed
                FROM runs r WHERE r.started_at >= \(since) ORDER BY r.id
                """).fetchAll(db)
            let counts = try SQLRequest<Row>(literal: """
                SELECT d.run_id, d.kind, COUNT(*) AS found, TOTAL(NOT d.fixed) AS remaining
                FROM drift d JOIN runs r ON r.id = d.run_id
                WHERE r.started_at >= \(since) \(filter.sql)
                GROUP BY d.run_id, d.kind
                """).fetchAll(db)
            let hosts = try SQLRequest<Row>(literal: """
                SELECT d.run_id, COUNT(DISTINCT d.host) AS hosts
                FROM drift d JOIN runs r ON r.id = d.run_id
                WHERE r.started_at >= \(since) AND NOT d.fixed \(filter.sql)
                GROUP BY d.run_id
                """).fetchAll(db)
            let byRun = Dictionary(grouping: counts) { $0["run_id"] as Int64 }
            let hostsByRun = Dictionary(uniqueKeysWithValues: hosts.map { ($0["run_id"] as Int64, $0["hosts"] as Int) })
            return runs.map { run in
                let id: Int64 = run["id"]
                let kinds = byRun[id] ?? []
                return DriftPoint(
                    runID: id, command: run["command"], startedAt: run["started_at"],
                    hostsScanned: run["scanned"], hostsFailed: run["failed"], hostsWithDrift: hostsByRun[id] ?? 0,
                    found: kinds.reduce(0) { $0 + ($1["found"] as Int) },
                    remaining: kinds.reduce(0) { $0 + ($1["remaining"] as Int) },
                    remainingByKind: Dictionary(uniqueKeysWithValues: kinds.compactMap { row in
                        let n: Int = row["remaining"]
                        return n > 0 ? (row["kind"] as String, n) : nil
                    }))
            }
        }
    }
}
