import Foundation

/// A person from `people:`: the keys that are theirs, and when their access ends.
public struct InventoryPerson: Hashable, Sendable {
    /// The person's name (its key under `people`).
    public var name: String
    /// Names of their keys (under `keys`), in order.
    public var keys: [String]
    /// Contact address, as written; informational.
    public var email: String?
    /// When all their grants end (`until:`; a date means the end of that day,
    /// UTC). Nil: no end. The loader only reads it: it does not remove their
    /// keys from roles.
    public var until: Date?
    /// The day they left (`left:`, start of that day UTC). Set: every one of
    /// their keys is revoked everywhere (in `Inventory.revokedFingerprints`),
    /// and roles that still name them do not grant them.
    public var left: Date?
    /// 1-based line and column of the person's name in the inventory (for
    /// messages such as `offboard`'s "add left: to line N").
    public var line: Int
    public var column: Int

    /// Creates a person.
    public init(name: String, keys: [String], email: String? = nil, until: Date? = nil, left: Date? = nil,
                line: Int = 1, column: Int = 1) {
        self.name = name
        self.keys = keys
        self.email = email
        self.until = until
        self.left = left
        self.line = line
        self.column = column
    }
}
