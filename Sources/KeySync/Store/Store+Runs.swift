import Foundation
import GRDB

extension Store {
    // MARK: Recording

    /// Starts a run and returns its id (the JSON `"run"`).
    public func beginRun(command: String, selection: String = "", inventoryHash: String? = nil, startedAt: Date = Date()) throws -> Int64 {
        try write("begin a \(command) run") { db in
            try db.execute(literal: """
                INSERT INTO runs (command, selection, inventory_hash, started_at, pid, process)
                VALUES (\(command), \(selection), \(inventoryHash), \(startedAt), \(Int64(getpid())), \(Self.processIdentity(pid: getpid())))
                """)
            return db.lastInsertedRowID
        }
    }

    /// Records one host's result with its drift, changes, seen keys and
    /// snapshots in one transaction, so a crash never leaves half a host.
    ///
    /// Recording the same host twice in a run replaces its earlier result.
    public func recordHostResult(_ record: HostRecord, runID: Int64, at date: Date = Date()) throws {
        try recordHostResults([record], runID: runID, at: date)
    }

    /// Records several hosts' results in one transaction: the sync engine
    /// batches them, because one transaction (and one fsync) per host was a
    /// fifth of a 200-host check's CPU. Statements are prepared once per
    /// connection (cached), not per host.
    public func recordHostResults(_ records: [HostRecord], runID: Int64, at date: Date = Date()) throws {
        guard !records.isEmpty else { return }
        let what = records.count == 1 ? "record the result of \(records[0].host)" : "record the results of \(records.count) hosts"
        try write(what) { db in
            try requireRun(db, runID)
            let deleteResult = try db.cachedStatement(sql: "DELETE FROM host_results WHERE run_id = ? AND host = ?")
            let upsertKey = try db.cachedStatement(sql: """
                INSERT INTO host_keys (host, account, fingerprint, key_type, comment, managed,
                                       first_seen_run, first_seen_at, last_seen_run, last_seen_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (host, account, fingerprint) DO UPDATE SET
                    key_type = excluded.key_type, comment = excluded.comment, managed = excluded.managed,
                    last_seen_run = excluded.last_seen_run, last_seen_at = excluded.last_seen_at
                WHERE excluded.last_seen_at >= host_keys.last_seen_at
                """)
            // The rows every host has are written with cached statements and
            // the batch's one date encoded once: GRDB's record insert builds
            // its SQL (and formats the date) again per row (perf, `keysync
            // check` of 200 hosts). Rows only some hosts have keep the records.
            let insertResult = try db.cachedStatement(sql: """
                INSERT INTO host_results (run_id, host, status, scanned, partial, error, error_kind, ms, hash_before, hash_after, recorded_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let insertDrift = try db.cachedStatement(sql: """
                INSERT INTO drift (run_id, host, account, kind, detail, fingerprint, fixed, since_run, since_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let runStart = try DatabaseValue.fetchOne(db, sql: "SELECT started_at FROM runs WHERE id = ?", arguments: [runID]) ?? .null
            let insertFile = try db.cachedStatement(sql: """
                INSERT INTO file_hashes (run_id, host, account, path, hash_before, hash_after) VALUES (?, ?, ?, ?, ?, ?)
                """)
            let dateValue = date.databaseValue
            for record in records {
                try deleteResult.execute(arguments: [runID, record.host])
                try insertResult.execute(arguments: [runID, record.host, record.status, record.scanned, record.partial, record.error,
                                                     record.errorKind, record.milliseconds, record.hashBefore, record.hashAfter, dateValue])
                for item in record.drift {
                    let since = try streakStart(db, host: record.host, item: item, runID: runID) ?? (runID.databaseValue, runStart)
                    try insertDrift.execute(arguments: [runID, record.host, item.account, item.kind, item.detail, item.fingerprint,
                                                        item.fixed, since.run, since.at])
                }
                for change in record.changes {
                    try Change(runID: runID, host: record.host, account: change.account, detail: change.detail).insert(db)
                }
                for file in record.files {
                    try insertFile.execute(arguments: [runID, record.host, file.account, file.path, file.hashBefore, file.hashAfter])
                }
                for key in record.seenKeys {
                    try upsertKey.execute(arguments: [record.host, key.account, key.fingerprint, key.keyType, key.comment,
                                                      key.managed, runID, dateValue, runID, dateValue])
                }
                for snapshot in record.snapshots {
                    _ = try insertSnapshot(db, host: record.host, account: snapshot.account, path: snapshot.path,
                                           content: snapshot.content, runID: runID, at: date)
                }
                try recordManaged(db, record, runID: runID, at: date)
                if let logins = record.logins { try recordLogins(db, host: record.host, runID: runID, logins) }
            }
        }
    }

    /// Where the streak an item continues began (its ``Store/OpenDrift/since``),
    /// or nil when it starts one: the host's newest earlier result that lists
    /// it unfixed continues it; one that lists it fixed after looking
    /// (scanned), or a whole scan without it, ends it. Results that read only
    /// other accounts (partial) or could not look at the host are passed
    /// over. One indexed walk back, usually one row: reports read the stored
    /// start instead of walking every item's history (that grew with items ×
    /// runs, 30 s at 500 items over 5,000 runs).
    private func streakStart(_ db: Database, host: String, item: DriftRecord, runID: Int64) throws -> (run: DatabaseValue, at: DatabaseValue)? {
        let previous = try db.cachedStatement(sql: """
            SELECT d.since_run, d.since_at, d.fixed FROM host_results h
            LEFT JOIN drift d ON d.run_id = h.run_id AND d.host = h.host AND d.account = ? AND d.kind = ?
                             AND d.subject = ? AND (h.scanned OR NOT d.fixed)
            WHERE h.host = ? AND h.run_id < ? AND (d.rowid IS NOT NULL OR (h.scanned AND NOT h.partial))
            ORDER BY h.run_id DESC, d.fixed LIMIT 1
            """)
        let subject = item.fingerprint ?? item.detail
        guard let row = try Row.fetchOne(previous, arguments: [item.account, item.kind, subject, host, runID]),
              (row["fixed"] as Bool?) == false, let run = row["since_run"] as DatabaseValue?, !run.isNull else { return nil }
        return (run, row["since_at"])
    }

    /// Ends a run. With `counts` nil, the counts are taken from its recorded host results.
    public func finishRun(id: Int64, status: RunStatus = .completed, counts: RunCounts? = nil, finishedAt: Date = Date()) throws {
        try write("finish run \(id)") { db in
            try requireRun(db, id)
            let counts = try counts ?? recordedCounts(db, runID: id)
            try db.execute(literal: """
                UPDATE runs SET status = \(status), finished_at = \(finishedAt), hosts = \(counts.hosts),
                    changed = \(counts.changed), drift = \(counts.drift), failed = \(counts.failed)
                WHERE id = \(id)
                """)
        }
    }

    /// Marks a run that is still `running` as interrupted (Ctrl-C, a signal),
    /// keeping what it recorded; a run that already ended is left alone.
    public func markInterrupted(runID: Int64, at date: Date = Date()) throws {
        try write("mark run \(runID) interrupted") { db in
            try requireRun(db, runID)
            try markInterrupted(db, runIDs: [runID], at: date)
        }
    }

    /// Marks `running` runs whose keysync process no longer exists on this
    /// machine (killed, rebooted) as interrupted; returns their ids.
    @discardableResult
    public func interruptAbandonedRuns(at date: Date = Date()) throws -> [Int64] {
        try write("mark abandoned runs interrupted") { db in
            let running = try Run.filter(Run.Columns.status == RunStatus.running).fetchAll(db)
            let abandoned = running.filter { run in
                guard let pid = run.pid, pid > 0, pid <= Int64(Int32.max) else { return true }
                if kill(pid_t(pid), 0) != 0 && errno == ESRCH { return true }
                // The pid is taken, but maybe by another process (reused after a
                // reboot, or keysync as a container's pid 1 each time).
                guard let recorded = run.process, let now = Self.processIdentity(pid: pid_t(pid)) else { return false }
                return recorded != now
            }.map(\.id)
            try markInterrupted(db, runIDs: abandoned, at: date)
            return abandoned
        }
    }

    /// `BOOT_ID START_TIME` of process `pid` (the boot's random id and field
    /// 22 of /proc/PID/stat, in clock ticks since boot): one process, however
    /// often its pid is reused; nil without /proc.
    static func processIdentity(pid: pid_t) -> String? {
        guard let boot = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8),
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return boot.trimmingCharacters(in: .whitespacesAndNewlines) + " " + fields[19]
    }

    private func markInterrupted(_ db: Database, runIDs: [Int64], at date: Date) throws {
        for id in runIDs {
            let counts = try recordedCounts(db, runID: id)
            try db.execute(literal: """
                UPDATE runs SET status = \(RunStatus.interrupted), finished_at = \(date), hosts = \(counts.hosts),
                    changed = \(counts.changed), drift = \(counts.drift), failed = \(counts.failed)
                WHERE id = \(id) AND status = \(RunStatus.running)
                """)
        }
    }

    private func recordedCounts(_ db: Database, runID: Int64) throws -> RunCounts {
        let row = try SQLRequest<Row>(literal: """
            SELECT COUNT(*) AS hosts, TOTAL(status = 'changed') AS changed,
                   TOTAL(status = 'drift') AS drift, TOTAL(status = 'failed') AS failed
            FROM host_results WHERE run_id = \(runID)
            """).fetchOne(db)!
        return RunCounts(hosts: row["hosts"], changed: row["changed"], drift: row["drift"], failed: row["failed"])
    }

    func requireRun(_ db: Database, _ id: Int64) throws {
        guard try Run.exists(db, id: id) else { throw StoreError.unknownRun(path: path, id: id) }
    }

    // MARK: Reading

    /// The run with this id, if any.
    public func run(id: Int64) throws -> Run? {
        try read("read run \(id)") { try Run.fetchOne($0, id: id) }
    }

    /// Runs newest first, optionally since a date, of some commands, at most `limit`.
    public func runs(since: Date? = nil, commands: Set<String>? = nil, limit: Int? = nil) throws -> [Run] {
        try read("list runs") { db in
            var request = Run.order(Run.Columns.id.desc)
            if let since { request = request.filter(Run.Columns.startedAt >= since) }
            if let commands { request = request.filter(commands.contains(Run.Columns.command)) }
            if let limit { request = request.limit(limit) }
            return try request.fetchAll(db)
        }
    }

    /// Host results of a run, by host name.
    public func hostResults(runID: Int64) throws -> [HostResult] {
        try read("read the results of run \(runID)") { db in
            try HostResult.filter(HostResult.Columns.runID == runID).order(HostResult.Columns.host).fetchAll(db)
        }
    }

    /// The newest result of every host (or of `hosts`), by host name.
    public func latestHostResults(hosts: Set<String>? = nil) throws -> [HostResult] {
        let onlyHosts: SQL = hosts.map { "WHERE h.host IN \($0)" } ?? ""
        return try read("read the latest host results") { db in
            try SQLRequest<HostResult>(literal: """
                SELECT h.* FROM host_results h
                JOIN (SELECT host, MAX(run_id) AS run_id FROM host_results GROUP BY host) latest
                  ON latest.host = h.host AND latest.run_id = h.run_id
                \(onlyHosts)
                ORDER BY h.host
                """).fetchAll(db)
        }
    }

    /// Drift items recorded in a run, by host and account.
    public func drift(runID: Int64) throws -> [Drift] {
        try read("read the drift of run \(runID)") { db in
            try Drift.filter(Drift.Columns.runID == runID)
                .order(Drift.Columns.host, Drift.Columns.account, Column.rowID).fetchAll(db)
        }
    }

    /// The keys files recorded in a run with their hashes, by host, account and path.
    public func fileHashes(runID: Int64) throws -> [FileHash] {
        try read("read the file hashes of run \(runID)") { db in
            try FileHash.filter(FileHash.Columns.runID == runID)
                .order(FileHash.Columns.host, FileHash.Columns.account, FileHash.Columns.path).fetchAll(db)
        }
    }

    /// Changes recorded in a run, by host and account.
    public func changes(runID: Int64) throws -> [Change] {
        try read("read the changes of run \(runID)") { db in
            try Change.filter(Change.Columns.runID == runID)
                .order(Change.Columns.host, Change.Columns.account, Column.rowID).fetchAll(db)
        }
    }
}
