import Foundation
import GRDB

/// keysync's SQLite database: runs, per-host results, drift, snapshots of
/// `authorized_keys` taken before writes, keys seen on hosts, and rotation state.
///
/// A file database is a WAL-mode `DatabasePool` with foreign keys on and a busy
/// timeout, so a scheduled `check` and an operator's `push` can write at the
/// same time. Opening runs the schema migrations; a database written by a newer
/// keysync is refused with ``StoreError/newerSchema(path:migrations:)``.
public struct Store: Sendable {
    /// How long a write waits for another keysync process before giving up.
    public static let busyTimeout: TimeInterval = 10

    /// The database connection(s).
    let writer: any DatabaseWriter
    /// The file path, or `:memory:`; used in error messages.
    public let path: String
    /// This process created the file (it did not exist when opened): what
    /// lets a command that fails on bad input remove it again.
    public private(set) var created = false
    /// For a store opened ``init(readingOnly:)`` on the file itself: the URI
    /// that opens the file the same way (`mode=ro` or `immutable=1`), for
    /// `ATTACH` in ``merged(paths:)``.
    private(set) var readOnlyURI: String?

    /// Opens (creating with mode 0600 if missing) the database file at `path`
    /// and migrates it to the current schema. A file another user could read,
    /// write or swap is refused before anything is opened (see
    /// ``checkFileSafety(_:owner:)``).
    public init(path: String) throws {
        try Self.checkFileSafety(path)
        let created = try Self.createFile(path)
        let pool: DatabasePool
        do {
            pool = try Self.openPool(path)
            // A snapshot must be on disk before the host file is overwritten,
            // even across a power loss: undo GRDB's WAL default of NORMAL.
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        } catch {
            throw StoreError.cannotOpen(path: path, reason: StoreError.reason(error))
        }
        try self.init(writer: pool, path: path)
        self.created = created
    }

    /// Opens an existing database for reading only (`report`, `history`,
    /// `where`, `review`, `rotate --status`): nothing in its folder is
    /// written, so an auditor's copy on a read-only mount, a full disk or a
    /// file of another keysync version can be read. A database of an older
    /// schema is copied into memory and migrated there; the file stays as it
    /// was. On a read-only file system a database without a `-wal` file
    /// (closed cleanly) is opened `immutable`, since SQLite cannot make the
    /// `-shm` file it needs beside it; one with a `-wal` but no `-shm` is
    /// refused (immutable would ignore the commits in the `-wal`).
    public init(readingOnly path: String) throws {
        try Self.checkFileSafety(path)
        var config = Self.configuration
        config.readonly = true
        let (file, uri) = try Self.mapOpenErrors(path) { try Self.openReadOnly(path, configuration: config) }
        let migrator = Self.migrator
        let (unknown, complete) = try Self.mapOpenErrors(path) {
            try file.read { db in
                (try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted(), try migrator.hasCompletedMigrations(db))
            }
        }
        guard unknown.isEmpty else { throw StoreError.newerSchema(path: path, migrations: unknown) }
        if complete {
            try self.init(writer: file, path: path, migrating: false)
            self.readOnlyURI = uri
            return
        }
        let copy = try DatabaseQueue(configuration: Self.configuration)
        try Self.mapOpenErrors(path) { try file.backup(to: copy) }
        try? file.close()
        try self.init(writer: copy, path: path)
    }

    /// A read-only connection to `path` that has read its schema, and the
    /// URI that opens it alike.
    private static func openReadOnly(_ path: String, configuration: Configuration) throws -> (DatabaseQueue, String) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError.cannotOpen(path: path, reason: "no such file")
        }
        // SQLite opens the `-shm` file at the first read, not at open.
        func readable(_ name: String) throws -> DatabaseQueue {
            let queue = try DatabaseQueue(path: name, configuration: configuration)
            _ = try queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM sqlite_master") }
            return queue
        }
        do {
            return (try readable(path), fileURI(path, query: "mode=ro"))
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CANTOPEN {
            var fs = statvfs()
            guard statvfs(path, &fs) == 0, fs.f_flag & UInt(ST_RDONLY) != 0 else { throw error }
            var info = stat()
            if lstat(path + "-wal", &info) == 0, info.st_size > 0 {
                throw StoreError.cannotOpen(path: path, reason: "it is on a read-only file system with a \(path)-wal file but no -shm file beside it; copy the database with its -wal file to a writable folder and read that")
            }
            let uri = fileURI(path, query: "immutable=1")
            return (try readable(uri), uri)
        }
    }

    /// `file:PATH?QUERY`, the path percent-encoded as SQLite's URI filenames
    /// want (Debian's SQLite is built with URI filenames on; the store
    /// tests read through one).
    static func fileURI(_ path: String, query: String) -> String {
        let plain = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-~".utf8)
        // An absolute path gets the empty authority (`file:///…`): `//x`
        // after `file:` would be read as a host name and refused.
        var uri = path.hasPrefix("/") ? "file://" : "file:"
        for byte in path.utf8 {
            if plain.contains(byte) { uri.unicodeScalars.append(Unicode.Scalar(byte)) } else { uri += String(format: "%%%02X", byte) }
        }
        return uri + "?" + query
    }

    private static func mapOpenErrors<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as StoreError { throw error } catch {
            throw StoreError.cannotOpen(path: path, reason: StoreError.reason(error))
        }
    }

    /// An empty, migrated database in memory, for tests and dry runs.
    public static func inMemory() throws -> Store {
        try Store(writer: DatabaseQueue(configuration: configuration), path: ":memory:")
    }

    /// Wraps `writer` and migrates it (unless told it is current).
    init(writer: any DatabaseWriter, path: String, migrating: Bool = true) throws {
        self.writer = writer
        self.path = path
        if migrating { try migrate() }
    }

    static var configuration: Configuration {
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(busyTimeout)
        config.prepareDatabase { db in
            // Only takes effect on a new file (before WAL mode and the first
            // table); lets `prune` give pages back without a full VACUUM.
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL") }
        }
        return config
    }

    /// Opens a pool, retrying while another process turns a new file to WAL
    /// mode: SQLite reports that as busy without waiting.
    private static func openPool(_ path: String) throws -> DatabasePool {
        let deadline = Date().addingTimeInterval(busyTimeout)
        while true {
            do {
                return try DatabasePool(path: path, configuration: configuration)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
    }

    /// Creates the file with mode 0600 (it holds `authorized_keys` snapshots);
    /// SQLite gives its `-wal` and `-shm` files the same mode.
    /// Whether it created it (false: it was there).
    private static func createFile(_ path: String) throws -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd); return true }
        guard errno == EEXIST else {
            throw StoreError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        return false
    }

    /// Applies missing migrations after checking the file is not from a newer keysync.
    private func migrate() throws {
        let migrator = Self.migrator
        let unknown = try read("read the schema version") { db in
            try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted()
        }
        guard unknown.isEmpty else { throw StoreError.newerSchema(path: path, migrations: unknown) }
        // Two processes opening a new file at once may both try the same
        // migration; the loser fails on "table exists" and finds it applied on retry.
        var attempt = 0
        while true {
            do {
                try migrator.migrate(writer)
                return
            } catch {
                attempt += 1
                let completed = (try? writer.read(migrator.hasCompletedMigrations)) ?? false
                if completed { return }
                if attempt >= 3 {
                    throw StoreError.migrationFailed(path: path, reason: StoreError.reason(error))
                }
            }
        }
    }

    /// Whether no table holds a row besides the migrations' own: a database
    /// just created that nothing was recorded in (a command that failed on
    /// bad input removes such a file again, see the CLI's `withStore`).
    public func recordsNothing() throws -> Bool {
        try read("check whether the database is empty") { db in
            let tables = try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'
                """)
            for table in tables where try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM \(table.quotedDatabaseIdentifier))") == true {
                return false
            }
            return true
        }
    }

    /// Closes the database's connections (before its files are removed).
    public func closeConnections() throws {
        try mapErrors("close the database") { try writer.close() }
    }

    /// Runs `body` in one write transaction, mapping database errors to ``StoreError``.
    func write<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        try mapErrors(operation) { try writer.write(body) }
    }

    /// Runs `body` on a consistent snapshot of the database, mapping errors to ``StoreError``.
    func read<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        try mapErrors(operation) { try writer.read(body) }
    }

    func mapErrors<T>(_ operation: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as StoreError {
            throw error
        } catch let error as RotationInProgress {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw StoreError.busy(path: path, operation: operation)
        } catch {
            throw StoreError.database(path: path, operation: operation, reason: StoreError.reason(error))
        }
    }
}
