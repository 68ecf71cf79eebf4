import Foundation
import GRDB
import Testing
@testable import KeySync

/// Where a test store lives; store tests run on both.
enum Backing: String, CaseIterable, Sendable {
    case memory, file
}

/// Runs `body` with a fresh temporary directory, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keysync-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    return try body(dir.path)
}

/// Runs `body` with an empty, migrated store on `backing`.
func withStore<T>(_ backing: Backing, _ body: (Store) throws -> T) throws -> T {
    switch backing {
    case .memory: return try body(Store.inMemory())
    case .file: return try withTemporaryDirectory { try body(Store(path: "\($0)/keysync.db")) }
    }
}

/// A fixed clock: `hour(n)` is n hours after a fixed start, whole seconds
/// (the database keeps milliseconds).
func hour(_ n: Int) -> Date { Date(timeIntervalSince1970: 1_700_000_000 + Double(n) * 3600) }

/// Records a finished run of `hosts` started at `date`; returns its id.
@discardableResult
func recordRun(_ store: Store, _ command: String = "check", at date: Date, _ hosts: [Store.HostRecord]) throws -> Int64 {
    let id = try store.beginRun(command: command, selection: "--project usersample", inventoryHash: "abc", startedAt: date)
    for host in hosts { try store.recordHostResult(host, runID: id, at: date.addingTimeInterval(1)) }
    try store.finishRun(id: id, finishedAt: date.addingTimeInterval(60))
    return id
}

/// A host result with drift items (status `drift` when there are any).
func host(_ name: String, _ drift: Store.DriftRecord...) -> Store.HostRecord {
    Store.HostRecord(host: name, status: drift.isEmpty ? .ok : .drift, drift: drift)
}

/// A `missing_key` item for `usersample`.
func missing(_ fingerprint: String, account: String = "usersample", fixed: Bool = false) -> Store.DriftRecord {
    Store.DriftRecord(account: account, kind: "missing_key", detail: "kp-usersample", fingerprint: fingerprint, fixed: fixed)
}

/// Runs `body` on the store's database connection (for inspection and tampering).
func sql<T>(_ store: Store, _ body: (Database) throws -> T) throws -> T {
    try store.writer.writeWithoutTransaction(body)
}

/// A database file in `dir` at schema `migration` holding what `sql` inserts,
/// then opened by today's ``Store`` (which migrates it the rest of the way).
func storeMigrated(from migration: String, in dir: String, _ sql: String) throws -> Store {
    let path = dir + "/old.db"
    let queue = try DatabaseQueue(path: path)
    try Store.migrator.migrate(queue, upTo: migration)
    try queue.write { try $0.execute(sql: sql) }
    try queue.close()
    chmod(path, 0o600)
    return try Store(path: path)
}
