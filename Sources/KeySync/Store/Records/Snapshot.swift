import Foundation
import GRDB

extension Store {
    /// File content stored once per distinct SHA-256 (table `snapshots`).
    struct SnapshotContent: StoreRecord {
        static let databaseTableName = "snapshots"
        var hash: String
        var content: Data
        var size: Int

        enum CodingKeys: String, CodingKey, ColumnExpression {
            case hash, content, size
        }
    }

    /// Which content `path` on `host` had just before run `runID` first wrote
    /// it (table `snapshot_refs`).
    public struct SnapshotRef: StoreRecord {
        public static let databaseTableName = "snapshot_refs"
        public var runID: Int64
        public var host: String
        public var account: String
        public var path: String
        /// SHA-256 hex of the content; `nil` when the file did not exist.
        public var hash: String?
        public var takenAt: Date

        public enum CodingKeys: String, CodingKey, ColumnExpression {
            case runID = "run_id", host, account, path, hash, takenAt = "taken_at"
        }
    }

    /// A snapshot with its bytes, ready for `keysync restore`.
    public struct Snapshot: Hashable, Sendable {
        /// Where and when it was taken.
        public var ref: SnapshotRef
        /// The file's bytes before the write; `nil` when it did not exist.
        public var content: [UInt8]?
    }
}
