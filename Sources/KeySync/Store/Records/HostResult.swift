import Foundation
import GRDB

extension Store {
    /// Outcome of one host in one run, as in the JSON `hosts[].status`.
    public enum HostStatus: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
        case ok, changed, drift, failed
    }

    /// One host's result in one run (table `host_results`).
    public struct HostResult: StoreRecord {
        public static let databaseTableName = "host_results"
        public var runID: Int64
        public var host: String
        public var status: HostStatus
        /// The probe succeeded: this result's drift is the whole picture of the host.
        public var scanned: Bool
        /// Only some accounts were read (``Store/HostRecord/partial``).
        public var partial: Bool
        public var error: String?
        /// Why the host failed: a ``HostFailureKind`` raw value, e.g. `host_key_mismatch`, `command_timeout`, `conflict`.
        public var errorKind: String?
        /// Wall time spent on the host, in milliseconds.
        public var milliseconds: Int
        /// SHA-256 hex of the file before and after the run (equal when
        /// unchanged), when the host has one file; per file: ``Store/FileHash``.
        public var hashBefore: String?
        public var hashAfter: String?
        public var recordedAt: Date

        public enum CodingKeys: String, CodingKey, ColumnExpression {
            case runID = "run_id", host, status, scanned, partial, error, errorKind = "error_kind"
            case milliseconds = "ms", hashBefore = "hash_before", hashAfter = "hash_after"
            case recordedAt = "recorded_at"
        }
    }

    /// One keys file a run read or wrote on a host (table `file_hashes`).
    public struct FileHash: StoreRecord {
        public static let databaseTableName = "file_hashes"
        public var runID: Int64
        public var host: String
        public var account: String
        public var path: String
        /// SHA-256 hex before the run; `absent` when there was no file.
        public var hashBefore: String?
        /// SHA-256 hex of what the run wrote; `nil` when it did not write the file.
        public var hashAfter: String?

        public enum CodingKeys: String, CodingKey, ColumnExpression {
            case runID = "run_id", host, account, path, hashBefore = "hash_before", hashAfter = "hash_after"
        }
    }
}
