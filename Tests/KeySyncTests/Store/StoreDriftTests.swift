import Foundation
import GRDB
import Testing
@testable import KeySync

@Suite struct StoreDriftTests {
    /// appears → persists → disappears (closed) → reappears (new `since`).
    @Test(arguments: Backing.allCases)
    func openDriftSinceFollowsTheStreak(_ backing: Backing) throws {
        try withStore(backing) { store in
            let first = try recordRun(store, at: hour(0), [host("web-1", missing("SHA256:a")), host("web-2")])
            var open = try store.openDrift()
            #expect(open.count == 1)
            #expect(open.first?.since == hour(0) && open.first?.sinceRunID == first)

            let second = try recordRun(store, at: hour(1), [host("web-1", missing("SHA256:a")), host("web-2")])
            open = try store.openDrift()
            #expect(open.count == 1)
            #expect(open.first?.since == hour(0) && open.first?.lastSeenRunID == second && open.first?.lastSeenAt == hour(1))

            try recordRun(store, at: hour(2), [host("web-1"), host("web-2")])
            #expect(try store.openDrift().isEmpty)

            let fourth = try recordRun(store, at: hour(3), [host("web-1", missing("SHA256:a"))])
            open = try store.openDrift()
            #expect(open.count == 1)
            #expect(open.first?.since == hour(3) && open.first?.sinceRunID == fourth)
            #expect(open.first?.host == "web-1" && open.first?.account == "usersample" && open.first?.kind == "missing_key")
            #expect(open.first?.fingerprint == "SHA256:a" && open.first?.detail == "kp-usersample")
        }
    }

    @Test func runsOfOtherHostsDoNotCloseDrift() throws {
        let store = try Store.inMemory()
        try recordRun(store, at: hour(0), [host("web-1", missing("SHA256:a"))])
        try recordRun(store, at: hour(1), [host("web-2")])
        #expect(try store.openDrift().map(\.since) == [hour(0)])
    }

    /// A host that could not be read neither closes nor interrupts its drift;
    /// its own failure is open while it is the latest word on the host.
    @Test func unscannedResultsNeitherCloseNorInterrupt() throws {
        let store = try Store.inMemory()
        let unreachable = Store.HostRecord(host: "web-1", status: .failed, error: "timed out", errorKind: "timeout",
                                           drift: [Store.DriftRecord(kind: "host_unreachable", detail: "connect timeout")])
        try recordRun(store, at: hour(0), [host("web-1", missing("SHA256:a"))])
        try recordRun(store, at: hour(1), [unreachable])
        try recordRun(store, at: hour(2), [unreachable])
        var open = try store.openDrift()
        #expect(open.map(\.kind) == ["host_unreachable", "missing_key"])
        #expect(open.map(\.since) == [hour(1), hour(0)])

        try recordRun(store, "restore", at: hour(3), [Store.HostRecord(host: "web-1", status: .changed, scanned: false)])
        try recordRun(store, at: hour(4), [host("web-1", missing("SHA256:a"))])
        open = try store.openDrift()
        #expect(open.map(\.kind) == ["missing_key"])
        #expect(open.first?.since == hour(0))
    }

    /// A run that read only some accounts (`--project`, a rotation) adds what
    /// it lists and closes what it lists fixed, but an item of an account it
    /// did not read (or of another project in a shared account) stays open
    /// with its start; only a whole scan closes by leaving an item out.
    @Test(arguments: Backing.allCases)
    func aPartialRunClosesNothingItDoesNotList(_ backing: Backing) throws {
        try withStore(backing) { store in
            func partial(_ drift: Store.DriftRecord...) -> Store.HostRecord {
                var record = Store.HostRecord(host: "web-1", status: drift.isEmpty ? .ok : .drift, drift: drift)
                record.partial = true
                return record
            }
            try recordRun(store, at: hour(0), [host("web-1", missing("SHA256:a", account: "alpha"), missing("SHA256:b", account: "beta"))])
            try recordRun(store, at: hour(1), [partial()])
            #expect(try store.openDrift().map(\.since) == [hour(0), hour(0)], "a run that listed nothing closed nothing")
            try recordRun(store, at: hour(2), [partial(missing("SHA256:a", account: "alpha"), missing("SHA256:c", account: "alpha"))])
            var open = try store.openDrift()
            #expect(open.map(\.fingerprint) == ["SHA256:a", "SHA256:c", "SHA256:b"])
            #expect(open.map(\.since) == [hour(0), hour(2), hour(0)], "a's streak goes on through the partial runs")
            try recordRun(store, "push", at: hour(3), [partial(missing("SHA256:a", account: "alpha", fixed: true))])
            #expect(try store.openDrift().map(\.fingerprint) == ["SHA256:c", "SHA256:b"], "listed fixed: closed")
            try recordRun(store, at: hour(4), [host("web-1", missing("SHA256:b", account: "beta"))])
            open = try store.openDrift()
            #expect(open.map(\.fingerprint) == ["SHA256:b"], "the whole scan left c out: closed")
            #expect(open.first?.since == hour(0))
            try recordRun(store, at: hour(5), [partial(missing("SHA256:a", account: "alpha"))])
            #expect(try store.openDrift().map(\.since) == [hour(5), hour(0)], "a was fixed at hour 3: a new streak")
        }
    }

    /// v6 stores each sighting's streak start; rows recorded before it get
    /// theirs from the rule reports used to apply on every read.
    @Test func theV6MigrationFillsInEachStreaksStart() throws {
        try withTemporaryDirectory { dir in
            let store = try storeMigrated(from: "v5", in: dir, """
                INSERT INTO runs (id, command, started_at) VALUES
                    (1, 'check', '2026-01-01 00:00:00'), (2, 'check', '2026-01-01 01:00:00'),
                    (3, 'check', '2026-01-01 02:00:00'), (4, 'check', '2026-01-01 03:00:00'), (5, 'check', '2026-01-01 04:00:00');
                INSERT INTO host_results (run_id, host, status, scanned, recorded_at) VALUES
                    (1, 'web-1', 'drift', 1, '2026-01-01'), (2, 'web-1', 'failed', 0, '2026-01-01'),
                    (3, 'web-1', 'drift', 1, '2026-01-01'), (4, 'web-1', 'ok', 1, '2026-01-01'), (5, 'web-1', 'drift', 1, '2026-01-01'),
                    (1, 'web-2', 'drift', 1, '2026-01-01'), (5, 'web-2', 'drift', 1, '2026-01-01');
                INSERT INTO drift (run_id, host, account, kind, detail, fingerprint) VALUES
                    (1, 'web-1', 'a', 'missing_key', 'k', 'SHA256:a'), (2, 'web-1', '', 'host_unreachable', 'timeout', NULL),
                    (3, 'web-1', 'a', 'missing_key', 'k', 'SHA256:a'), (5, 'web-1', 'a', 'missing_key', 'k', 'SHA256:a'),
                    (1, 'web-2', 'b', 'file_mode', '0644', NULL), (5, 'web-2', 'b', 'file_mode', '0644', NULL);
                """)
            let rows = try sql(store) { db in
                try Row.fetchAll(db, sql: "SELECT run_id, host, since_run FROM drift ORDER BY host, run_id").map {
                    "\($0["host"] as String) \($0["run_id"] as Int64)←\($0["since_run"] as Int64)"
                }
            }
            #expect(rows == ["web-1 1←1", "web-1 2←2", "web-1 3←1", "web-1 5←5", "web-2 1←1", "web-2 5←1"])
            let open = try store.openDrift()
            #expect(open.map(\.host) == ["web-1", "web-2"])
            let utc = ISO8601DateFormatter()
            #expect(open.map(\.since) == [utc.date(from: "2026-01-01T04:00:00Z"), utc.date(from: "2026-01-01T00:00:00Z")])
        }
    }

    @Test func anItemAPushFixedIsClosed() throws {
        let store = try Store.inMemory()
        try recordRun(store, at: hour(0), [host("web-1", missing("SHA256:a"))])
        try recordRun(store, "push", at: hour(1), [Store.HostRecord(host: "web-1", status: .changed, drift: [missing("SHA256:a", fixed: true)])])
        #expect(try store.openDrift().isEmpty)
        try recordRun(store, at: hour(2), [host("web-1", missing("SHA256:a"))])
        #expect(try store.openDrift().map(\.since) == [hour(2)])
    }

    /// Identity is (host, account, kind, fingerprint ?? detail).
    @Test func identityUsesTheFingerprintOrElseTheDetail() throws {
        let store = try Store.inMemory()
        func mode(_ detail: String) -> Store.DriftRecord { .init(account: "usersample", kind: "file_mode", detail: detail) }
        func keyed(_ detail: String) -> Store.DriftRecord { .init(account: "usersample", kind: "unexpected_key", detail: detail, fingerprint: "SHA256:x") }
        try recordRun(store, at: hour(0), [host("web-1", mode("0644"), keyed("old comment"))])
        try recordRun(store, at: hour(1), [host("web-1", mode("0666"), keyed("new comment"))])
        let open = try store.openDrift()
        #expect(open.map(\.kind) == ["file_mode", "unexpected_key"])
        #expect(open.map(\.since) == [hour(1), hour(0)])
        #expect(open.map(\.detail) == ["0666", "new comment"])
    }

    @Test func filtersByHostAccountAndKind() throws {
        let store = try Store.inMemory()
        let unreachable = Store.DriftRecord(kind: "host_unreachable")
        try recordRun(store, at: hour(0), [
            host("web-1", missing("SHA256:a"), missing("SHA256:b", account: "deploy")),
            host("db-1", Store.DriftRecord(account: "usersample", kind: "file_owner", detail: "root")),
            Store.HostRecord(host: "web-2", status: .failed, drift: [unreachable]),
        ])
        #expect(try store.openDrift().count == 4)
        #expect(try store.openDrift(.init(hosts: ["web-1"])).count == 2)
        #expect(try store.openDrift(.init(kinds: ["file_owner"])).map(\.host) == ["db-1"])
        // Host-wide items pass an account filter.
        let deploy = try store.openDrift(.init(accounts: ["deploy"]))
        #expect(deploy.map(\.host) == ["web-1", "web-2"])
        #expect(deploy.map(\.kind) == ["missing_key", "host_unreachable"])
        #expect(try store.openDrift(.init(hosts: ["web-1"], accounts: ["usersample"], kinds: ["missing_key"])).compactMap(\.fingerprint) == ["SHA256:a"])
    }

    @Test func driftHistoryCountsPerRun() throws {
        let store = try Store.inMemory()
        try recordRun(store, at: hour(0), [host("old", missing("SHA256:z"))])
        let check = try recordRun(store, at: hour(1), [
            host("web-1", missing("SHA256:a"), missing("SHA256:b")), host("web-2", missing("SHA256:a")), host("web-3"),
        ])
        let push = try recordRun(store, "push", at: hour(2), [
            Store.HostRecord(host: "web-1", status: .drift, drift: [
                missing("SHA256:a", fixed: true), missing("SHA256:b", fixed: true),
                Store.DriftRecord(account: "usersample", kind: "home_unsafe", detail: "/home/usersample is 0777"),
            ]),
        ])
        let points = try store.driftHistory(since: hour(1))
        #expect(points.map(\.runID) == [check, push])
        #expect(points[0].hostsScanned == 3 && points[0].hostsWithDrift == 2 && points[0].found == 3 && points[0].remaining == 3)
        #expect(points[0].remainingByKind == ["missing_key": 3])
        #expect(points[1].command == "push" && points[1].found == 3 && points[1].remaining == 1 && points[1].hostsWithDrift == 1)
        #expect(points[1].remainingByKind == ["home_unsafe": 1])
        #expect(try store.driftHistory(since: hour(1), filter: .init(hosts: ["web-2"])).map(\.remaining) == [1, 0])
    }
}
