import Foundation
import GRDB

extension Store {
    /// State of a rotation as a whole.
    public enum RotationStatus: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
        /// In progress, or interrupted (resume it with `--resume ID`).
        case running
        /// Every host retired the old key.
        case completed
        /// Finished, but some hosts failed and keep both keys.
        case failed
        /// A canary failed; the other hosts were not touched.
        case stopped
    }

    /// Where one host and account stands in a rotation, in order.
    public enum RotationPhase: String, Codable, Sendable, CaseIterable, Comparable, DatabaseValueConvertible {
        /// Nothing done yet.
        case pending
        /// The new key is next to the old one.
        case added
        /// The new key was proven to work.
        case verified
        /// The old key was removed.
        case retired
        /// The last step failed; see `error` and `completedPhase`.
        case failed

        private var order: Int { Self.allCases.firstIndex(of: self)! }
        /// Phases compare in the order they happen (`failed` last).
        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.order < rhs.order }
    }

    /// One `keysync rotate` (table `rotations`).
    public struct Rotation: StoreRecord, Identifiable {
        public static let databaseTableName = "rotations"
        public var id: Int64
        /// The inventory key name, e.g. `kp-usersample`.
        public var keyName: String
        public var oldFingerprint: String
        public var newFingerprint: String
        public var startedAt: Date
        public var finishedAt: Date?
        public var status: RotationStatus
        /// `--canary N` (0: none).
        public var canary: Int
        /// The options it was started with (JSON object text), for `--resume`.
        public var options: String

        /// ``options`` decoded; empty if it is not a JSON object of strings.
        public var optionValues: [String: String] {
            (try? JSONDecoder().decode([String: String].self, from: Data(options.utf8))) ?? [:]
        }

        public enum CodingKeys: String, CodingKey, ColumnExpression {
            case id, keyName = "key_name", oldFingerprint = "old_fingerprint", newFingerprint = "new_fingerprint"
            case startedAt = "started_at", finishedAt = "finished_at", status, canary, options
        }
    }

    /// One host and account in a rotation (table `rotation_hosts`).
    public struct RotationHost: StoreRecord {
        public static let databaseTableName = "rotation_hosts"
        public var rotationID: Int64
        public var host: String
        public var account: String
        /// Order in the rotation (canaries first).
        public var position: Int
        public var phase: RotationPhase
        /// The last phase passed; kept when `phase` becomes `failed`.
        public var completedPhase: RotationPhase
        public var error: String?
        public var updatedAt: Date

        public enum CodingKeys: String, CodingKey, ColumnExpression {
            case rotationID = "rotation_id", host, account, position, phase
            case completedPhase = "completed_phase", error, updatedAt = "updated_at"
        }
    }

    /// A fingerprint taken out of service by a rotation (table `retired_keys`);
    /// finding it later is drift `revoked_key`.
    public struct RetiredKey: StoreRecord {
        public static let databaseTableName = "retired_keys"
        public var fingerprint: String
        public var keyName: String
        public var rotationID: Int64?
        public var retiredAt: Date

        public enum CodingKeys: String, CodingKey, ColumnExpression {
            case fingerprint, keyName = "key_name", rotationID = "rotation_id", retiredAt = "retired_at"
        }
    }
}
