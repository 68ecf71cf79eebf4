import Foundation
import GRDB

extension Store {
    /// How a run ended.
    public enum RunStatus: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
        /// Still going, or its process died without a word (see ``Store/interruptAbandonedRuns()``).
        case running
        /// Every selected host was processed (some may have failed).
        case completed
        /// Stopped early: Ctrl-C, a signal, a killed process.
        case interrupted
        /// Could not run at all (bad inventory after start, controller error).
        case failed
    }

    /// Host counts of a run, as in the JSON `summary`.
    public struct RunCounts: Codable, Hashable, Sendable {
        /// Hosts processed.
        public var hosts: Int
        /// Hosts whose files or accounts were changed.
        public var changed: Int
        /// Hosts left with drift.
        public var drift: Int
        /// Hosts that failed.
        public var failed: Int

        /// Counts of a run.
        public init(hosts: Int = 0, changed: Int = 0, drift: Int = 0, failed: Int = 0) {
            (self.hosts, self.changed, self.drift, self.failed) = (hosts, changed, drift, failed)
        }
    }

    /// One `push`, `check`, `restore`… invocation (table `runs`).
    public struct Run: StoreRecord, Identifiable {
        public static let databaseTableName = "runs"
        /// Run id, as printed in `--json` output (`"run": ID`).
        public var id: Int64
        /// `push`, `check`, `restore`…
        public var command: String
        /// The selection as given, e.g. `--project usersample --group web`.
        public var selection: String
        /// SHA-256 hex of the inventory the run used.
        public var inventoryHash: String?
        public var startedAt: Date
        public var finishedAt: Date?
        public var status: RunStatus
        /// Process id of the keysync that ran it (to find abandoned runs).
        public var pid: Int64?
        /// `BOOT_ID START_TIME` of the process (``Store/processIdentity(pid:)``); nil before v6 or without /proc.
        public var process: String?
        public var hosts: Int
        public var changed: Int
        public var drift: Int
        public var failed: Int

        /// The summary counts.
        public var counts: RunCounts { RunCounts(hosts: hosts, changed: changed, drift: drift, failed: failed) }
        /// Seconds from start to finish, if finished.
        public var duration: TimeInterval? { finishedAt.map { $0.timeIntervalSince(startedAt) } }

        public enum CodingKeys: String, CodingKey, ColumnExpression {
            case id, command, selection, inventoryHash = "inventory_hash", startedAt = "started_at"
            case finishedAt = "finished_at", status, pid, process, hosts, changed, drift, failed
        }
    }
}
