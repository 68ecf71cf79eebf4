import Foundation
import GRDB

extension Store {
    /// One drift item seen on a host in a run (table `drift`).
    public struct Drift: StoreRecord {
        public static let databaseTableName = "drift"
        public var runID: Int64
        public var host: String
        /// The Unix account; empty for the host itself (`host_unreachable`…).
        public var account: String
        /// A drift kind from DESIGN.md, e.g. `missing_key`, `file_mode`.
        public var kind: String
        public var detail: String
        public var fingerprint: String?
        /// Repaired by this run (a `push`); a fixed item is not open afterwards.
        public var fixed: Bool
        /// The first run of the item's unbroken streak of sightings, and its start.
        public var sinceRunID: Int64?
        public var sinceAt: Date?

        public enum CodingKeys: String, CodingKey, ColumnExpression {
            case runID = "run_id", host, account, kind, detail, fingerprint, fixed, sinceRunID = "since_run", sinceAt = "since_at"
        }
    }

    /// One change a run made on a host (table `changes`).
    public struct Change: StoreRecord {
        public static let databaseTableName = "changes"
        public var runID: Int64
        public var host: String
        /// The Unix account; empty for the host itself.
        public var account: String
        /// What was done, as printed by `push`, e.g. `added kp-deploy`.
        public var detail: String

        public enum CodingKeys: String, CodingKey, ColumnExpression {
            case runID = "run_id", host, account, detail
        }
    }
}
