import Foundation
import GRDB

extension Store {
    /// What ``Store/prune(keepingRunsNewerThan:)`` removed.
    public struct PruneResult: Hashable, Sendable {
        /// Runs deleted, with their host results, drift, changes and snapshot references.
        public var runs: Int
        /// Snapshot contents no longer referenced by any run.
        public var snapshots: Int
        /// Key sightings not seen since the cutoff.
        public var hostKeys: Int
    }

    /// Deletes runs that started before `cutoff` (and all they recorded), keys
    /// not seen since, and snapshot contents nothing refers to any more, then
    /// gives the freed pages back to the file system.
    ///
    /// Runs still in progress are kept; abandoned ones are marked interrupted
    /// first. Each host's latest whole scan and the scans after it are kept
    /// whatever their age (what is open on the host comes from them).
    /// Rotations and retired keys are never pruned.
    @discardableResult
    public func prune(keepingRunsNewerThan cutoff: Date) throws -> PruneResult {
        try interruptAbandonedRuns()
        let result = try write("prune runs before \(cutoff)") { db in
            // Each host's latest whole scan, and the partial ones after it,
            // hold what is open on it now (Store.openDrift): without them a
            // revoked key still on an unreachable host would vanish from every report.
            let latestScans = try Int64.fetchSet(db, SQLRequest<Int64>(literal: """
                SELECT DISTINCT h.run_id FROM host_results h JOIN (\(Self.latestRunsPerHost)) l ON l.host = h.host
                WHERE h.scanned AND h.run_id >= IFNULL(l.whole_run, 0)
                """))
            let runs = try Run.filter(Run.Columns.startedAt < cutoff && Run.Columns.status != RunStatus.running
                                      && !latestScans.contains(Run.Columns.id)).deleteAll(db)
            let hostKeys = try HostKey.filter(HostKey.Columns.lastSeenAt < cutoff).deleteAll(db)
            try db.execute(sql: """
                DELETE FROM snapshots WHERE NOT EXISTS (SELECT 1 FROM snapshot_refs r WHERE r.hash = snapshots.hash)
                """)
            return PruneResult(runs: runs, snapshots: db.changesCount, hostKeys: hostKeys)
        }
        try mapErrors("reclaim free space") {
            let incremental = try writer.read { try Int.fetchOne($0, sql: "PRAGMA auto_vacuum") } == 2
            if incremental {
                try writer.writeWithoutTransaction { try $0.execute(sql: "PRAGMA incremental_vacuum") }
            } else {
                try writer.vacuum()
            }
        }
        return result
    }
}
