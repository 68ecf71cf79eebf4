import GRDB

/// A row of one of the store's tables: a `Codable` GRDB record whose coding
/// keys are the table's column names, so that `Columns.host` is `host` in a
/// query (one enum for both, as GRDB's guide suggests).
public protocol StoreRecord: Codable, Hashable, Sendable, FetchableRecord, PersistableRecord {
    associatedtype CodingKeys: CodingKey, ColumnExpression
    /// The table's columns: the coding keys.
    associatedtype Columns = CodingKeys
}
