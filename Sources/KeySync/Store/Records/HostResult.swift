import Foundation
import GRDB

extension Store {
    /// Outcome of one host in one run, as in the JSON `hosts[].status`.
    public enum HostStatus: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
        case ok, changed, drift, failed
    }

    /// One host's result in one run (table `host_results`).
    public struct HostResult: Codable, Hashable, Sendable, FetchableRecord, PersistableRecord {
        public static let databaseTableName = "host_results"
        public var runID: Int64
        public var host: String
        public var status: HostStatus
        /// The probe succeeded: this result's drift is the whole picture of the host.
        public var scanned: Bool
        public var error: String?
        /// Why the host failed: a ``HostFailureKind`` raw value, e.g. `host_key_mismatch`, `command_timeout`, `conflict`.
        public var errorKind: String?
        /// Wall time spent on the host, in milliseconds.
        public var milliseconds: Int
        /// SHA-256 hex of the file before and after the run (equal when unchanged).
        public var hashBefore: String?
        public var hashAfter: String?
        public var recordedAt: Date

        enum CodingKeys: String, CodingKey {
            case runID = "run_id", host, status, scanned, error, errorKind = "error_kind"
            case milliseconds = "ms", hashBefore = "hash_before", hashAfter = "hash_after"
            case recordedAt = "recorded_at"
        }

        public enum Columns {
            public static let runID = Column(CodingKeys.runID)
            public static let host = Column(CodingKeys.host)
            public static let status = Column(CodingKeys.status)
            public static let scanned = Column(CodingKeys.scanned)
        }
    }
}
