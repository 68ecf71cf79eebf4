import Foundation
import GRDB

extension Store {
    /// A key found in an account's `authorized_keys` on a host (table `host_keys`).
    public struct HostKey: StoreRecord {
        public static let databaseTableName = "host_keys"
        public var host: String
        public var account: String
        /// `SHA256:…`, as `ssh-keygen -l` prints it.
        public var fingerprint: String
        public var keyType: String
        public var comment: String
        /// In a keysync block when last seen.
        public var managed: Bool
        /// Runs that first and last saw it; `nil` once pruned.
        public var firstSeenRun: Int64?
        public var firstSeenAt: Date
        public var lastSeenRun: Int64?
        public var lastSeenAt: Date

        public enum CodingKeys: String, CodingKey, ColumnExpression {
            case host, account, fingerprint, keyType = "key_type", comment, managed
            case firstSeenRun = "first_seen_run", firstSeenAt = "first_seen_at"
            case lastSeenRun = "last_seen_run", lastSeenAt = "last_seen_at"
        }
    }
}
