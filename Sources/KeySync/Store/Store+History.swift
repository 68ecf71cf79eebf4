import Foundation
import GRDB

extension Store {
    /// What one run did on one host.
    public struct HistoryEntry: Hashable, Sendable {
        public var run: Run
        /// `nil` when the run stopped before recording the host (its
        /// snapshots may still be there to restore).
        public var result: HostResult?
        public var drift: [Drift]
        public var changes: [Change]
        public var snapshots: [SnapshotRef]
        /// The keys files the run read or wrote there, with their hashes.
        public var files: [FileHash] = []
    }

    /// Every host any run recorded a result for, sorted: what `--host` of a
    /// report can name (a typo there would read as a healthy host).
    public func recordedHosts() throws -> [String] {
        try read("read the hosts recorded") { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT host FROM host_results ORDER BY host")
        }
    }

    /// Hosts with recorded results that keysync never logged in to (no
    /// `managed_hosts` row: every run failed before the login, or only a
    /// run from before schema v2 — which seeded the table — saw them).
    public func neverReachedHosts() throws -> [String] {
        try read("read the hosts never reached") { db in
            // Also one forgotten before that came back, still failed, and left again.
            try String.fetchAll(db, sql: """
                SELECT DISTINCT h.host FROM host_results h LEFT JOIN managed_hosts m ON m.host = h.host
                WHERE m.host IS NULL OR (m.last_reached_at IS NULL AND h.run_id > IFNULL(m.retired_run, 0))
                ORDER BY h.host
                """)
        }
    }

    /// Runs that touched `host`, newest first, at most `limit`. With `account`,
    /// only runs with drift, changes or snapshots of that account, and only those items.
    /// With `commands`, only runs of those commands (e.g. `offboard`).
    public func history(host: String, account: String? = nil, commands: Set<String>? = nil, limit: Int = 50) throws -> [HistoryEntry] {
        try read("read the history of \(host)") { db in
            let ofAccount: SQL = account.map { "AND account = \($0)" } ?? ""
            let ofCommand: SQL = commands.map { "WHERE run_id IN (SELECT id FROM runs WHERE command IN \($0))" } ?? ""
            let hostResults: SQL = account == nil ? "SELECT run_id FROM host_results WHERE host = \(host) UNION" : ""
            let runIDs = try SQLRequest<Int64>(literal: """
                SELECT run_id FROM (
                    \(hostResults)
                    SELECT run_id FROM drift WHERE host = \(host) \(ofAccount)
                    UNION SELECT run_id FROM changes WHERE host = \(host) \(ofAccount)
                    UNION SELECT run_id FROM snapshot_refs WHERE host = \(host) \(ofAccount)
                ) \(ofCommand) ORDER BY run_id DESC LIMIT \(limit)
                """).fetchAll(db)
            func items<T: FetchableRecord & TableRecord>(_ type: T.Type, runID: KeyPath<T, Int64>) throws -> [Int64: [T]] {
                let items = try SQLRequest<T>(literal: """
                    SELECT * FROM \(T.self) WHERE run_id IN \(runIDs) AND host = \(host) \(ofAccount) ORDER BY account, rowid
                    """).fetchAll(db)
                return Dictionary(grouping: items) { $0[keyPath: runID] }
            }
            let runs = try Dictionary(uniqueKeysWithValues: Run.fetchAll(db, ids: runIDs).map { ($0.id, $0) })
            let results = try Dictionary(uniqueKeysWithValues: HostResult
                .filter(runIDs.contains(HostResult.Columns.runID) && HostResult.Columns.host == host)
                .fetchAll(db).map { ($0.runID, $0) })
            let drift = try items(Drift.self, runID: \.runID)
            let changes = try items(Change.self, runID: \.runID)
            let snapshots = try items(SnapshotRef.self, runID: \.runID)
            let files = try items(FileHash.self, runID: \.runID)
            return runIDs.compactMap { id in
                runs[id].map {
                    HistoryEntry(run: $0, result: results[id], drift: drift[id] ?? [],
                                 changes: changes[id] ?? [], snapshots: snapshots[id] ?? [], files: files[id] ?? [])
                }
            }
        }
    }
}
