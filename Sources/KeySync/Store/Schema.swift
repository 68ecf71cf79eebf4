import GRDB

extension Store {
    /// The schema, one migration per released version.
    ///
    /// Never edit a migration once it has shipped: add `v2`, `v3`… Tables are
    /// named literally so a migration keeps meaning what it meant when written.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    id             INTEGER PRIMARY KEY AUTOINCREMENT,
                    command        TEXT NOT NULL,
                    selection      TEXT NOT NULL DEFAULT '',
                    inventory_hash TEXT,
                    started_at     DATETIME NOT NULL,
                    finished_at    DATETIME,
                    status         TEXT NOT NULL DEFAULT 'running'
                                   CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
                    pid            INTEGER,
                    hosts          INTEGER NOT NULL DEFAULT 0,
                    changed        INTEGER NOT NULL DEFAULT 0,
                    drift          INTEGER NOT NULL DEFAULT 0,
                    failed         INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX runs_started_at ON runs(started_at);

                -- One row per host per run. `scanned`: the probe succeeded, so
                -- this row's drift is the complete picture of the host.
                CREATE TABLE host_results (
                    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    host        TEXT NOT NULL,
                    status      TEXT NOT NULL CHECK (status IN ('ok', 'changed', 'drift', 'failed')),
                    scanned     BOOLEAN NOT NULL,
                    error       TEXT,
                    error_kind  TEXT,
                    ms          INTEGER NOT NULL DEFAULT 0,
                    hash_before TEXT,
                    hash_after  TEXT,
                    recorded_at DATETIME NOT NULL,
                    PRIMARY KEY (run_id, host)
                );
                CREATE INDEX host_results_host ON host_results(host, run_id, scanned);

                -- Identity of a drift item: (host, account, kind, subject).
                -- account '' = the host itself; fixed = repaired by this run.
                CREATE TABLE drift (
                    run_id      INTEGER NOT NULL,
                    host        TEXT NOT NULL,
                    account     TEXT NOT NULL DEFAULT '',
                    kind        TEXT NOT NULL,
                    detail      TEXT NOT NULL DEFAULT '',
                    fingerprint TEXT,
                    fixed       BOOLEAN NOT NULL DEFAULT 0,
                    subject     TEXT GENERATED ALWAYS AS (COALESCE(fingerprint, detail)) VIRTUAL,
                    FOREIGN KEY (run_id, host) REFERENCES host_results(run_id, host) ON DELETE CASCADE
                );
                CREATE INDEX drift_run ON drift(run_id, host);
                CREATE INDEX drift_identity ON drift(host, account, kind, subject, run_id);
                CREATE INDEX drift_kind ON drift(kind, run_id);

                CREATE TABLE changes (
                    run_id  INTEGER NOT NULL,
                    host    TEXT NOT NULL,
                    account TEXT NOT NULL DEFAULT '',
                    detail  TEXT NOT NULL,
                    FOREIGN KEY (run_id, host) REFERENCES host_results(run_id, host) ON DELETE CASCADE
                );
                CREATE INDEX changes_run ON changes(run_id, host);

                -- Content-addressed file contents, shared by every reference.
                CREATE TABLE snapshots (
                    hash    TEXT PRIMARY KEY NOT NULL,  -- sha256 hex of content
                    content BLOB NOT NULL,
                    size    INTEGER NOT NULL
                );

                -- The content of `path` just before `run_id` first wrote it.
                -- hash NULL: the file did not exist.
                CREATE TABLE snapshot_refs (
                    run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    host     TEXT NOT NULL,
                    account  TEXT NOT NULL,
                    path     TEXT NOT NULL,
                    hash     TEXT REFERENCES snapshots(hash),
                    taken_at DATETIME NOT NULL,
                    PRIMARY KEY (run_id, host, path)
                );
                CREATE INDEX snapshot_refs_host ON snapshot_refs(host, run_id);
                CREATE INDEX snapshot_refs_hash ON snapshot_refs(hash);

                -- Every key read on a host, managed or not, for `keysync where`.
                CREATE TABLE host_keys (
                    host           TEXT NOT NULL,
                    account        TEXT NOT NULL,
                    fingerprint    TEXT NOT NULL,
                    key_type       TEXT NOT NULL,
                    comment        TEXT NOT NULL DEFAULT '',
                    managed        BOOLEAN NOT NULL,
                    first_seen_run INTEGER REFERENCES runs(id) ON DELETE SET NULL,
                    first_seen_at  DATETIME NOT NULL,
                    last_seen_run  INTEGER REFERENCES runs(id) ON DELETE SET NULL,
                    last_seen_at   DATETIME NOT NULL,
                    PRIMARY KEY (host, account, fingerprint)
                );
                CREATE INDEX host_keys_fingerprint ON host_keys(fingerprint);
                CREATE INDEX host_keys_first_seen_run ON host_keys(first_seen_run);
                CREATE INDEX host_keys_last_seen_run ON host_keys(last_seen_run);

                CREATE TABLE rotations (
                    id              INTEGER PRIMARY KEY AUTOINCREMENT,
                    key_name        TEXT NOT NULL,
                    old_fingerprint TEXT NOT NULL,
                    new_fingerprint TEXT NOT NULL,
                    started_at      DATETIME NOT NULL,
                    finished_at     DATETIME,
                    status          TEXT NOT NULL DEFAULT 'running'
                                    CHECK (status IN ('running', 'completed', 'failed', 'stopped')),
                    canary          INTEGER NOT NULL DEFAULT 0,
                    options         TEXT NOT NULL DEFAULT '{}'  -- JSON object
                );

                -- phase: where the host is; completed_phase: the last phase it
                -- passed, kept when it fails so a resume never repeats one.
                CREATE TABLE rotation_hosts (
                    rotation_id     INTEGER NOT NULL REFERENCES rotations(id) ON DELETE CASCADE,
                    host            TEXT NOT NULL,
                    account         TEXT NOT NULL,
                    position        INTEGER NOT NULL,
                    phase           TEXT NOT NULL DEFAULT 'pending'
                                    CHECK (phase IN ('pending', 'added', 'verified', 'retired', 'failed')),
                    completed_phase TEXT NOT NULL DEFAULT 'pending'
                                    CHECK (completed_phase IN ('pending', 'added', 'verified', 'retired')),
                    error           TEXT,
                    updated_at      DATETIME NOT NULL,
                    PRIMARY KEY (rotation_id, host, account)
                );

                CREATE TABLE retired_keys (
                    fingerprint TEXT PRIMARY KEY NOT NULL,
                    key_name    TEXT NOT NULL,
                    rotation_id INTEGER REFERENCES rotations(id) ON DELETE SET NULL,
                    retired_at  DATETIME NOT NULL
                );
                CREATE INDEX retired_keys_rotation ON retired_keys(rotation_id);
                """)
        }
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                -- How keysync reached each host it manages (from the last run
                -- that logged in), so `keysync decommission` can reach it after
                -- it left the inventory. address NULL: known only from runs
                -- before v2. retired: `decommission` cleaned it, or `--forget`
                -- said the machine is gone; either way it is no longer reported
                -- as host_departed (until it is managed again).
                CREATE TABLE managed_hosts (
                    host            TEXT PRIMARY KEY NOT NULL,
                    address         TEXT,
                    port            INTEGER,
                    user            TEXT,
                    identity        TEXT,              -- private key file; NULL with agent
                    agent           BOOLEAN NOT NULL DEFAULT 0,
                    become          TEXT,              -- sudo | none
                    connect_timeout REAL,
                    command_timeout REAL,
                    host_key        TEXT,              -- 'type base64', verified against known_hosts
                    known_hosts     TEXT,
                    last_run        INTEGER REFERENCES runs(id) ON DELETE SET NULL,
                    last_reached_at DATETIME,
                    retired         TEXT CHECK (retired IN ('decommissioned', 'forgotten')),
                    retired_run     INTEGER REFERENCES runs(id) ON DELETE SET NULL,
                    retired_at      DATETIME
                );

                -- The keysync blocks an account's file held after the last run
                -- that read it: one 'project role' per line, '' none, NULL not
                -- read since v2 (the account is known from snapshots or managed
                -- keys). Accounts with blocks are read again even when no role
                -- names them any more, so push can remove what is stale.
                CREATE TABLE managed_accounts (
                    host       TEXT NOT NULL,
                    account    TEXT NOT NULL,
                    blocks     TEXT,
                    updated_at DATETIME NOT NULL,
                    PRIMARY KEY (host, account)
                );

                INSERT OR IGNORE INTO managed_accounts (host, account, blocks, updated_at)
                SELECT host, account, NULL, CURRENT_TIMESTAMP FROM snapshot_refs
                UNION SELECT host, account, NULL, CURRENT_TIMESTAMP FROM host_keys WHERE managed AND account <> '';

                INSERT OR IGNORE INTO managed_hosts (host, last_reached_at)
                SELECT host, MAX(recorded_at) FROM host_results WHERE scanned GROUP BY host;
                """)
        }
        migrator.registerMigration("v3") { db in
            try db.execute(sql: """
                -- Each keys file a run read or wrote on a host, per account:
                -- sha256 hex before ('absent': no file) and after the write
                -- (NULL: not written). host_results.hash_before/hash_after hold
                -- them only when the host has one file.
                CREATE TABLE file_hashes (
                    run_id      INTEGER NOT NULL,
                    host        TEXT NOT NULL,
                    account     TEXT NOT NULL,
                    path        TEXT NOT NULL,
                    hash_before TEXT,
                    hash_after  TEXT,
                    PRIMARY KEY (run_id, host, path),
                    FOREIGN KEY (run_id, host) REFERENCES host_results(run_id, host) ON DELETE CASCADE
                );
                """)
        }
        migrator.registerMigration("v4") { db in
            try db.execute(sql: """
                -- Last use of keys (issue 21): accepted public-key logins read
                -- from sshd's log by push and check, per host, account and key.
                -- last_exact: last_login_at is the log line's own time; 0: the
                -- line had none (sshd's -E file) and it is the scan's, an upper
                -- bound. source: the kind of log the last one was read from.
                CREATE TABLE key_logins (
                    host           TEXT NOT NULL,
                    account        TEXT NOT NULL,
                    fingerprint    TEXT NOT NULL,
                    key_type       TEXT NOT NULL DEFAULT '',
                    first_login_at DATETIME NOT NULL,
                    last_login_at  DATETIME NOT NULL,
                    last_exact     BOOLEAN NOT NULL DEFAULT 1,
                    last_address   TEXT NOT NULL DEFAULT '',
                    logins         INTEGER NOT NULL DEFAULT 0,
                    source         TEXT NOT NULL DEFAULT '',
                    certificate_id TEXT,
                    first_run      INTEGER REFERENCES runs(id) ON DELETE SET NULL,
                    last_run       INTEGER REFERENCES runs(id) ON DELETE SET NULL,
                    PRIMARY KEY (host, account, fingerprint)
                );
                CREATE INDEX key_logins_fingerprint ON key_logins(fingerprint);
                CREATE INDEX key_logins_first_run ON key_logins(first_run);
                CREATE INDEX key_logins_last_run ON key_logins(last_run);

                -- Where the last scan of each log source of a host stopped:
                -- source 'file:PATH', 'stderr:PATH', 'syslog:PATH' or 'journal';
                -- inode and offset after the last whole line read, or the
                -- journal cursor; pid: the sshd whose stderr is read.
                CREATE TABLE log_positions (
                    host       TEXT NOT NULL,
                    source     TEXT NOT NULL,
                    kind       TEXT NOT NULL,
                    path       TEXT NOT NULL DEFAULT '',
                    pid        INTEGER,
                    inode      TEXT,
                    offset     INTEGER,
                    cursor     TEXT,
                    updated_at DATETIME NOT NULL,
                    run_id     INTEGER REFERENCES runs(id) ON DELETE SET NULL,
                    PRIMARY KEY (host, source)
                );
                CREATE INDEX log_positions_run ON log_positions(run_id);

                -- Since when keysync has seen every accepted login of a host:
                -- watching_since moves forward over a gap (a rotated file that
                -- was gone, a truncated one, another source); NULL: no log
                -- source found (source 'none'). read_until: the last scan that
                -- read to the end (behind: the last one did not).
                CREATE TABLE login_watch (
                    host           TEXT PRIMARY KEY NOT NULL,
                    source         TEXT NOT NULL,
                    watching_since DATETIME,
                    read_until     DATETIME,
                    behind         BOOLEAN NOT NULL DEFAULT 0,
                    last_scan_at   DATETIME NOT NULL,
                    discovered_at  DATETIME NOT NULL,
                    gaps           INTEGER NOT NULL DEFAULT 0,
                    last_gap_at    DATETIME,
                    problem        TEXT
                );
                """)
        }
        migrator.registerMigration("v5") { db in
            try db.execute(sql: """
                -- The jump hosts (jump:, ssh_config ProxyJump) the last run that
                -- logged in went through, outermost first, as JSON
                -- (Store.RecordedJump); NULL: direct. keysync decommission goes
                -- the same way once the host has left the inventory.
                ALTER TABLE managed_hosts ADD COLUMN jumps TEXT;
                """)
        }
        migrator.registerMigration("v6") { db in
            try db.execute(sql: """
                -- partial: the run read only some accounts of the host
                -- (`--project`, a rotation's pushes), so items it does not
                -- list are not gone: only a whole scan closes them.
                ALTER TABLE host_results ADD COLUMN partial BOOLEAN NOT NULL DEFAULT 0;

                -- The run (and its start) that began the item's unbroken streak
                -- of sightings, set when the row is written, so a report
                -- reads it instead of walking the host's history back.
                ALTER TABLE drift ADD COLUMN since_run INTEGER;
                ALTER TABLE drift ADD COLUMN since_at DATETIME;

                -- Which process ran it: boot id and the process's start time
                -- (/proc), so a killed run whose pid was reused (a container's
                -- pid 1, a reboot) is still seen as abandoned.
                ALTER TABLE runs ADD COLUMN process TEXT;
                """)
            try backfillDriftSince(db)
        }
        return migrator
    }

    /// v6: each existing drift row's streak start, by the rule the report
    /// used to compute on every read (every earlier result counts as a whole
    /// scan): walking a host's results in run order, a scanned result keeps
    /// exactly the items it lists unfixed, a result that could not look
    /// (failed) adds its own and ends none.
    private static func backfillDriftSince(_ db: Database) throws {
        struct Identity: Hashable { var account: String, kind: String, subject: String }
        struct Open { var run: Int64, at: DatabaseValue }
        let update = try db.makeStatement(sql: "UPDATE drift SET since_run = ?, since_at = ? WHERE rowid = ?")
        let results = try Row.fetchCursor(db, sql: """
            SELECT h.host, h.run_id, h.scanned, r.started_at FROM host_results h JOIN runs r ON r.id = h.run_id
            ORDER BY h.host, h.run_id
            """)
        let items = try db.makeStatement(sql: """
            SELECT rowid, account, kind, subject, fixed FROM drift WHERE run_id = ? AND host = ?
            """)
        var host: String?
        var open: [Identity: Open] = [:]
        while let result = try results.next() {
            let (name, run, scanned, at): (String, Int64, Bool, DatabaseValue) = (result[0], result[1], result[2], result[3])
            if name != host { (host, open) = (name, [:]) }
            var seen: [Identity: Open] = [:]
            let rows = try Row.fetchAll(items, arguments: [run, name])
            for row in rows {
                let identity = Identity(account: row[1], kind: row[2], subject: row[3])
                let fixed: Bool = row[4]
                let since = open[identity] ?? Open(run: run, at: at)
                try update.execute(arguments: [since.run, since.at, row[0] as Int64])
                if !fixed { seen[identity] = since }
            }
            if scanned {
                open = seen
            } else {
                open.merge(seen) { _, new in new }
            }
        }
    }
}
