import Foundation
import GRDB

/// Why the database could not be opened, read or written; each message names
/// the file and says what to do.
public enum StoreError: Error, Equatable, Sendable {
    /// The file could not be opened as a SQLite database.
    case cannotOpen(path: String, reason: String)
    /// The database file (or its `-wal`/`-shm`, or its folder) could be read,
    /// written or swapped by another user; nothing was opened. `fix` is the command that helps.
    case unsafeFile(path: String, problem: String, fix: String)
    /// The file was migrated by a newer keysync (it lists migrations this build does not know).
    case newerSchema(path: String, migrations: [String])
    /// A schema migration failed; the database is left at the previous version.
    case migrationFailed(path: String, reason: String)
    /// Another process held the database longer than ``Store/busyTimeout``.
    case busy(path: String, operation: String)
    /// A read or write failed.
    case database(path: String, operation: String, reason: String)
    /// No run with this id.
    case unknownRun(path: String, id: Int64)
    /// No rotation with this id, or no such host and account in it.
    case unknownRotation(path: String, id: Int64, host: String?)

    /// The message of an underlying error, without SQL text.
    static func reason(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "SQLite error \(error.resultCode.rawValue)" }
        return "\(error)"
    }
}

extension StoreError: CustomStringConvertible, LocalizedError {
    /// A one-line message naming the database file and the way out.
    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "\(path): cannot open the keysync database: \(reason). Check the path and its permissions, or choose another file with --db or KEYSYNC_DB."
        case let .unsafeFile(path, problem, fix):
            return "\(path.terminalSafe()): refusing to use the keysync database: \(problem). Fix: \(fix)"
        case let .newerSchema(path, migrations):
            return "\(path): this database was written by a newer keysync (unknown schema migrations: \(migrations.joined(separator: ", "))). Upgrade keysync (this is \(KeySyncVersion.string)) to use it."
        case let .migrationFailed(path, reason):
            return "\(path): could not upgrade the database schema: \(reason). The file is unchanged; check free disk space and permissions, then retry."
        case let .busy(path, operation):
            return "\(path): database busy for more than \(Int(Store.busyTimeout)) s while trying to \(operation): another keysync process holds it. Retry when it has finished."
        case let .database(path, operation, reason):
            return "\(path): could not \(operation): \(reason)."
        case let .unknownRun(path, id):
            return "\(path): no run with id \(id). `keysync history` lists the runs."
        case let .unknownRotation(path, id, host):
            if let host { return "\(path): rotation \(id) has no host \(host). `keysync rotate --status \(id)` lists its hosts." }
            return "\(path): no rotation with id \(id). `keysync rotate --status` lists the rotations."
        }
    }

    /// Same as ``description``.
    public var errorDescription: String? { description }
}
