import Foundation
import GRDB

extension Store {
    /// The tables a drift report reads, with the columns copied (`id`,
    /// `run_id` and `drift.since_run` are renumbered; `drift.subject` is generated).
    static let mergedTables: [(table: String, runColumn: String, columns: [String])] = [
        ("runs", "id", ["command", "selection", "inventory_hash", "started_at", "finished_at", "status", "pid",
                        "hosts", "changed", "drift", "failed"]),
        ("host_results", "run_id", ["host", "status", "scanned", "partial", "error", "error_kind", "ms", "hash_before", "hash_after", "recorded_at"]),
        ("drift", "run_id", ["host", "account", "kind", "detail", "fingerprint", "fixed", "since_run", "since_at"]),
    ]

    /// One in-memory store with the runs, host results and drift of every
    /// database at `paths` (`report --db A --db B`, one per shard or
    /// controller): each is opened (and migrated) as usual, then ATTACHed
    /// and copied, with run ids renumbered in the order the runs started
    /// (each database numbers its own runs from 1). Reports read it like
    /// one database; the files are attached read-only (``init(readingOnly:)``),
    /// and only one of an older schema is written: migrated, as before.
    public static func merged(paths: [String]) throws -> Store {
        // Each file is read where it is (a read-only mount too); only one of
        // an older schema is migrated on disk first, as opening it always did.
        var sources: [String] = []
        for path in paths {
            if let uri = try Store(readingOnly: path).readOnlyURI {
                sources.append(uri)
            } else {
                _ = try Store(path: path)
                sources.append(fileURI(path, query: "mode=ro"))
            }
        }
        let merged = try Store.inMemory()
        let names = paths.indices.map { "shard\($0)" }
        do {
            try merged.writer.writeWithoutTransaction { db in
                for (source, name) in zip(sources, names) {
                    try db.execute(sql: "ATTACH DATABASE ? AS \(name)", arguments: [source])
                }
                defer { for name in names { try? db.execute(sql: "DETACH DATABASE \(name)") } }
                try db.inTransaction {
                    let all = names.enumerated().map { "SELECT \($0.offset) AS source, id AS old_id, started_at FROM \($0.element).runs" }
                    try db.execute(sql: """
                        CREATE TEMP TABLE run_map AS
                        SELECT source, old_id, ROW_NUMBER() OVER (ORDER BY started_at, source, old_id) AS id
                        FROM (\(all.joined(separator: " UNION ALL ")))
                        """)
                    // drift.since_run is looked up per row: without it, a million rows × the runs (review s13: 231 s).
                    try db.execute(sql: "CREATE UNIQUE INDEX run_map_old ON run_map(source, old_id)")
                    for (table, runColumn, columns) in mergedTables {
                        for (source, name) in names.enumerated() {
                            try db.execute(sql: """
                                INSERT INTO main.\(table) (\(runColumn), \(columns.joined(separator: ", ")))
                                SELECT m.id, \(columns.map { column in
                                    column == "since_run"
                                        ? "(SELECT s.id FROM run_map s WHERE s.source = \(source) AND s.old_id = t.since_run)"
                                        : "t.\(column)"
                                }.joined(separator: ", "))
                                FROM \(name).\(table) t JOIN run_map m ON m.source = \(source) AND m.old_id = t.\(runColumn)
                                """)
                        }
                    }
                    try db.execute(sql: "DROP TABLE run_map")
                    return .commit
                }
            }
        } catch {
            throw StoreError.cannotOpen(path: paths.joined(separator: ", "), reason: StoreError.reason(error))
        }
        return merged
    }
}
