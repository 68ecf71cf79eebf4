import Foundation
import GRDB
import Testing
@testable import KeySync

@Suite struct StoreOpeningTests {
    static let tables: Set<String> = [
        "runs", "host_results", "drift", "changes", "snapshots", "snapshot_refs",
        "host_keys", "rotations", "rotation_hosts", "retired_keys",
    ]

    @Test(arguments: Backing.allCases)
    func migrationsCreateTheSchema(_ backing: Backing) throws {
        try withStore(backing) { store in
            let (applied, tables, foreignKeys) = try sql(store) { db in
                (try Store.migrator.appliedMigrations(db),
                 Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")),
                 try Bool.fetchOne(db, sql: "PRAGMA foreign_keys"))
            }
            #expect(applied == Store.migrator.migrations)
            #expect(tables.isSuperset(of: Self.tables))
            #expect(foreignKeys == true)
        }
    }

    @Test func fileDatabaseIsWALWithIncrementalVacuumAndReopens() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/keysync.db"
            let runID = try Store(path: path).beginRun(command: "check")
            // Reopening (migrations already applied) is a no-op and keeps the data.
            let store = try Store(path: path)
            let (mode, autoVacuum, applied) = try sql(store) { db in
                (try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                 try Int.fetchOne(db, sql: "PRAGMA auto_vacuum"),
                 try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
            }
            #expect(mode == "wal")
            #expect(autoVacuum == 2)
            #expect(applied == Store.migrator.migrations)
            #expect(try store.run(id: runID)?.command == "check")
        }
    }

    /// Migrating step by step from every earlier schema version (empty included)
    /// reaches the current one, keeping what was there.
    @Test func migratesFromEveryEarlierVersion() throws {
        let migrations = Store.migrator.migrations
        for applied in 0..<migrations.count {
            try withTemporaryDirectory { dir in
                let path = "\(dir)/keysync.db"
                if applied > 0 {
                    try Store.migrator.migrate(DatabasePool(path: path), upTo: migrations[applied - 1])
                    // GRDB creates files with the umask's mode; keysync refuses one others can read.
                    for file in [path, path + "-wal", path + "-shm"] { chmod(file, 0o600) }
                }
                let store = try Store(path: path)
                #expect(try sql(store, Store.migrator.appliedMigrations) == migrations)
            }
        }
    }

    /// Reading commands open the file read-only: an older schema is migrated
    /// in a copy in memory (the file's bytes and migrations stay as they
    /// were), a newer one is refused, and nothing is written beside it.
    @Test func readingOnlyMigratesACopyAndNeverWritesTheFile() throws {
        try withTemporaryDirectory { dir in
            let migrations = Store.migrator.migrations
            let path = dir + "/old.db"
            let queue = try DatabaseQueue(path: path)
            try Store.migrator.migrate(queue, upTo: migrations[migrations.count - 3])
            try queue.write { try $0.execute(sql: "INSERT INTO runs (command, selection, started_at, status) VALUES ('check', '', '2026-12-01 00:00:00.000', 'completed')") }
            try queue.close()
            chmod(path, 0o600)
            let before = try Data(contentsOf: URL(fileURLWithPath: path))

            let store = try Store(readingOnly: path)
            #expect(try sql(store, Store.migrator.appliedMigrations) == migrations)
            #expect(try store.runs(limit: 5).map(\.command) == ["check"])
            #expect(store.readOnlyURI == nil)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["old.db"])

            // Current schema: read in place, still nothing written.
            let current = try Store(path: path)
            try current.closeConnections()
            let migrated = try Data(contentsOf: URL(fileURLWithPath: path))
            let reader = try Store(readingOnly: path)
            #expect(reader.readOnlyURI == Store.fileURI(path, query: "mode=ro"))
            #expect(try reader.runs(limit: 5).count == 1)
            #expect(throws: StoreError.self) { _ = try reader.beginRun(command: "check") }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == migrated)

            // Merged over paths that start with `//` (the same file as `/…`).
            #expect(try Store.merged(paths: ["/" + path, path]).runs().count == 2)

            try sql(Store(path: path)) { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('v99')") }
            #expect(throws: StoreError.newerSchema(path: path, migrations: ["v99"])) { try Store(readingOnly: path) }
        }
    }

    @Test func fileURIsEscapeWhatSQLiteWouldReadAsQueryOrFragment() {
        #expect(Store.fileURI("/var/lib/keysync/a b?c#d%e.db", query: "mode=ro") == "file:///var/lib/keysync/a%20b%3Fc%23d%25e.db?mode=ro")
        // `//x` is a path, not an authority.
        #expect(Store.fileURI("//tmp/a.db", query: "mode=ro") == "file:////tmp/a.db?mode=ro")
        #expect(Store.fileURI("rel/ké.db", query: "immutable=1") == "file:rel/k%C3%A9.db?immutable=1")
    }

    @Test func createsTheFileWithMode0600() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/keysync.db"
            let store = try Store(path: path)
            _ = try store.beginRun(command: "push")
            for file in [path, path + "-wal"] {
                let attributes = try FileManager.default.attributesOfItem(atPath: file)
                #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o600, "\(file)")
            }
        }
    }

    @Test func newerSchemaIsRefusedWithAClearError() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/keysync.db"
            try sql(Store(path: path)) { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('v99')") }
            let error = #expect(throws: StoreError.self) { try Store(path: path) }
            #expect(error == .newerSchema(path: path, migrations: ["v99"]))
            let message = try #require(error).description
            #expect(message.contains(path))
            #expect(message.contains("newer keysync"))
            #expect(message.contains("Upgrade keysync"))
        }
    }

    @Test func newerSchemaInMemoryIsRefusedToo() throws {
        let queue = try DatabaseQueue()
        try Store.migrator.migrate(queue)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('v2-from-the-future')") }
        #expect(throws: StoreError.newerSchema(path: "test.db", migrations: ["v2-from-the-future"])) {
            try Store(writer: queue, path: "test.db")
        }
    }

    @Test func aFileThatIsNotADatabaseNamesTheFile() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/notes.txt"
            try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: StoreError.self) { try Store(path: path) }
            #expect(try #require(error).description.hasPrefix("\(path): "))
        }
    }

    @Test func aMissingFolderIsACannotOpenError() throws {
        let error = #expect(throws: StoreError.self) { try Store(path: "/nonexistent-keysync-dir/keysync.db") }
        guard case .cannotOpen(let path, _) = error else {
            Issue.record("expected cannotOpen, got \(String(describing: error))")
            return
        }
        #expect(path == "/nonexistent-keysync-dir/keysync.db")
        #expect(error?.description.contains("--db") == true)
    }

    @Test func recordingIntoAnUnknownRunFails() throws {
        let store = try Store.inMemory()
        #expect(throws: StoreError.unknownRun(path: ":memory:", id: 42)) {
            try store.recordHostResult(host("web-1"), runID: 42)
        }
        #expect(throws: StoreError.unknownRun(path: ":memory:", id: 42)) {
            try store.finishRun(id: 42)
        }
    }
}
