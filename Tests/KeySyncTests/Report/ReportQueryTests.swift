import Foundation
import Testing
@testable import KeySync

@Suite struct TimeSpecTests {
    @Test(arguments: [
        ("30m", 1800.0), ("12h", 43_200), ("1d", 86_400), ("7d", 604_800), ("2w", 1_209_600), ("90d", 7_776_000),
    ])
    func ages(_ text: String, _ seconds: Double) throws {
        #expect(TimeSpec(text) == .ago(seconds))
        #expect(try #require(TimeSpec(text)).date(relativeTo: hour(100)) == hour(100).addingTimeInterval(-seconds))
    }

    @Test(arguments: [
        ("2024-05-01", "2024-05-01T00:00:00Z"), ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
        ("2024-05-01T12:30:00+02:00", "2024-05-01T10:30:00Z"), ("2024-05-01T10:00:00.250Z", "2024-05-01T10:00:00Z"),
        ("2024-05-01T10:00Z", "2024-05-01T10:00:00Z"), ("2024-02-29", "2024-02-29T00:00:00Z"),
    ])
    func dates(_ text: String, _ expected: String) throws {
        let date = try #require(TimeSpec(text)).date(relativeTo: hour(0))
        #expect(date.reportText == expected)
    }

    @Test(arguments: ["", "d", "7", "0d", "-1d", "+7d", "7x", "7 d", "1.5d", "7D", "2024-13-01", "2024-05-01T10:00", "2026-02-30", "2026-02-29", "2026-02-30T10:00:00Z", "2026-04-31T10:00:00+02:00",
                      "yesterday", "99999999999w", "12345678901234567890d"])
    func rejects(_ text: String) {
        #expect(TimeSpec(text) == nil)
    }

    @Test func futureDatesAreTold() throws {
        #expect(try #require(TimeSpec("2999-01-01")).isFuture())
        #expect(try !#require(TimeSpec("2024-01-01")).isFuture())
        #expect(try !#require(TimeSpec("7d")).isFuture())
    }
}

/// A run in which every host failed is history too: an outage is what an
/// operator looks for in drift over time, and the page must not say "no runs".
@Suite struct ReportOutageTests {
    @Test(arguments: Backing.allCases) func runsWhereEveryHostFailedStayInTheHistory(_ backing: Backing) throws {
        try withStore(backing) { store in
            let down = Store.HostRecord(host: "web-1", status: .failed, error: "timed out", errorKind: "timeout")
            try recordRun(store, at: hour(1), [down])
            try recordRun(store, at: hour(2), [down])
            try recordRun(store, "restore", at: hour(3), [])
            let report = try DriftReport(store: store, since: hour(0), generatedAt: hour(4))
            #expect(report.history.map(\.hostsFailed) == [1, 1])
            let html = ReportFormat.html.render(report)
            #expect(html.contains("2 runs scanned no host (every host failed).") && !html.contains("No runs since"))
            #expect(ReportFormat.json.render(report).contains("\"hosts_failed\" : 1"))
        }
    }
}

@Suite struct ReportFilterTests {
    static let inventoryYAML = """
        defaults: {user: ops}
        keys:
          kp-usersample: {public: "\(InventoryFixtures.alice)"}
          kp-billing: {public: "\(InventoryFixtures.bob)"}
        \(ReportFixture.hosts)
        projects:
          usersample:
            hosts: ["group:web"]
            roles:
              deploy: {account: usersample, keys: [kp-usersample]}
          billing:
            hosts: [db-1]
            roles:
              billing: {account: billing, keys: [kp-billing]}
        """

    let store: Store
    init() throws { store = try ReportFixture.store() }

    func open(_ filter: Store.DriftFilter) throws -> [String] {
        try ReportFixture.report(store, filter: filter).openDrift.map { "\($0.host)/\($0.account)/\($0.kind)" }
    }

    @Test func byHost() throws {
        let report = try ReportFixture.report(store, filter: .selecting(hosts: ["web-1", "nowhere"], kinds: []))
        #expect(report.hosts.map(\.host) == ["web-1"])
        #expect(report.openDrift.map(\.kind) == ["file_mode"])
        #expect(report.history.map(\.remaining) == [2, 0, 1])
    }

    @Test func byKindKeepsEveryHostInTheHostTable() throws {
        let report = try ReportFixture.report(store, filter: .selecting(hosts: [], kinds: ["file_mode", "missing_key"]))
        #expect(report.hosts.count == 3)
        #expect(report.openDrift.map(\.host) == ["web-1"])
        #expect(try PrometheusExposition.parse(ReportFormat.prometheus.render(report))
            .filter { $0.name == "keysync_drift_items" }.map { $0.labels["kind"] } == ["file_mode"])
    }

    @Test func byProject() throws {
        let inventory = try InventoryFixtures.load(Self.inventoryYAML)
        var usersample = Store.DriftFilter.all
        try usersample.restrict(toProjects: ["usersample"], in: inventory)
        #expect(usersample == Store.DriftFilter(hosts: ["web-1", "web-2"], accounts: ["usersample"]))
        // Host-wide items (no account) count for the project's hosts.
        #expect(try open(usersample) == ["web-1/usersample/file_mode", "web-2//host_unreachable"])
        var billingOnWeb = Store.DriftFilter.selecting(hosts: ["web-1"], kinds: [])
        try billingOnWeb.restrict(toProjects: ["billing"], in: inventory)
        #expect(billingOnWeb.hosts == [])
        #expect(try open(billingOnWeb).isEmpty)
        var both = Store.DriftFilter.all
        try both.restrict(toProjects: ["usersample", "billing"], in: inventory)
        #expect(try open(both).count == 3)
        var unknown = Store.DriftFilter.all
        #expect(throws: InventoryError.self) { try unknown.restrict(toProjects: ["bilink"], in: inventory) }
    }

    @Test func sinceBoundsTheHistoryNotTheOpenDrift() throws {
        let report = try DriftReport(store: store, since: hour(2), generatedAt: hour(25))
        #expect(report.history.map(\.runID) == [3])
        // account_locked has been open since run 2, before the window: still reported.
        #expect(report.openDrift.map(\.sinceRunID) == [2, 3, 3, 3])
    }

    @Test func anEmptyDatabase() throws {
        let report = try DriftReport(store: Store.inMemory(), since: hour(0), generatedAt: hour(1))
        #expect(ReportFormat.table.render(report) == "no open drift on 0 hosts, 0 hosts failed; no completed check or push recorded\n")
        #expect(ReportFormat.prometheus.render(report) == """
            # HELP keysync_drift_items Open drift items per host and drift kind.
            # TYPE keysync_drift_items gauge
            # HELP keysync_hosts_failed Hosts whose latest result is a failure.
            # TYPE keysync_hosts_failed gauge
            keysync_hosts_failed 0

            """)
        #expect(ReportFormat.csv.render(report) == "host,account,kind,since,since_run,last_seen_run,last_seen_at,detail,fingerprint\r\n")
        let html = ReportFormat.html.render(report)
        #expect(html.contains("<p>No runs since 2023-11-14T22:13:20Z.</p>") && html.contains("<p>No open drift.</p>"))
        expectWellFormedXML(html)
    }

    /// Runs still going or interrupted are not "the last run"; a push-dry-run is not a scan of record.
    @Test func lastRunIsTheNewestCompletedCheckOrPush() throws {
        let running = try store.beginRun(command: "check", startedAt: hour(30))
        let interrupted = try store.beginRun(command: "push", startedAt: hour(31))
        try store.finishRun(id: interrupted, status: .interrupted, finishedAt: hour(32))
        try recordRun(store, "push-dry-run", at: hour(33), [])
        #expect(try ReportFixture.report(store).lastRun?.id == 3)
        try store.finishRun(id: running, finishedAt: hour(30).addingTimeInterval(2.5))
        let report = try ReportFixture.report(store)
        #expect(report.lastRun?.id == running)
        #expect(ReportFormat.prometheus.render(report).hasSuffix("""
            keysync_last_run_timestamp_seconds 1700108002.5
            # HELP keysync_run_duration_seconds Duration of the latest completed keysync check or push.
            # TYPE keysync_run_duration_seconds gauge
            keysync_run_duration_seconds 2.5

            """))
    }

    /// A run over the whole fleet (or a shard) is the last run while there is
    /// one: an ad-hoc `check --host` after it does not refresh the stale-check metric.
    @Test func lastRunPrefersARunOverTheWholeFleet() throws {
        let whole = try store.beginRun(command: "check", selection: "", startedAt: hour(40))
        try store.finishRun(id: whole, finishedAt: hour(40))
        let adHoc = try store.beginRun(command: "check", selection: "--host web-1", startedAt: hour(41))
        try store.finishRun(id: adHoc, finishedAt: hour(41))
        #expect(try ReportFixture.report(store).lastRun?.id == whole)
        let shard = try store.beginRun(command: "check", selection: "--shard 1/3", startedAt: hour(42))
        try store.finishRun(id: shard, finishedAt: hour(42))
        #expect(try ReportFixture.report(store).lastRun?.id == shard)
    }

    @Test func prometheusTextfileFollowsTheExpositionFormat() throws {
        let samples = try PrometheusExposition.parse(ReportFormat.prometheus.render(ReportFixture.report(store)))
        #expect(samples.map(\.name) == Array(repeating: "keysync_drift_items", count: 4)
            + ["keysync_hosts_failed", "keysync_last_run_timestamp_seconds", "keysync_run_duration_seconds"])
        #expect(samples[0].labels == ["host": "db-1", "kind": "account_locked"] && samples[0].value == 1)
        #expect(samples[5].value == hour(24).addingTimeInterval(60).timeIntervalSince1970)
        // The checker itself refuses what it should.
        for bad in ["m{host=\"a\\x\"} 1\n", "m 1\n# TYPE m gauge\n", "m 1\nn 1\nm 2\n", "m{a=\"1\",a=\"2\"} 1\n", "m one\n",
                    "m 1", "1m 1\n", "m{a=\"1\"} 1\nm{a=\"1\"} 2\n"] {
            #expect(throws: PrometheusExposition.Problem.self, "\(bad)") { try PrometheusExposition.parse(bad) }
        }
    }
}

@Suite struct AtomicFileTests {
    func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func writesTheWholeFileWithTheModeAndLeavesNoTemporaryFile() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/keysync.prom"
            try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
            let before = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
            let content = Array(String(repeating: "keysync_hosts_failed 0\n", count: 10_000).utf8)
            try AtomicFile.write(content, to: path, mode: 0o644)
            #expect(FileManager.default.contents(atPath: path).map { [UInt8]($0) } == content)
            #expect(try mode(path) == 0o644)
            // Replaced by rename, not rewritten in place: readers never see a partial file.
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int != before)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["keysync.prom"])
            try AtomicFile.write(Array("x".utf8), to: path, mode: 0o600)
            #expect(try mode(path) == 0o600)
        }
    }

    /// `replacing: false` (adopt's and import's drafts): a file that exists,
    /// even one that appeared after the command checked, is never replaced.
    @Test func aNewFileNeverReplacesOneThatExists() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/draft.yml"
            try AtomicFile.write(Array("first\n".utf8), to: path, mode: 0o600, replacing: false)
            #expect(FileManager.default.contents(atPath: path) == Data("first\n".utf8))
            #expect(try mode(path) == 0o600)
            let error = #expect(throws: AtomicFile.WriteError.self) { try AtomicFile.write(Array("second\n".utf8), to: path, mode: 0o600, replacing: false) }
            #expect(error?.description == "\(path): cannot write: it exists; never overwritten")
            #expect(FileManager.default.contents(atPath: path) == Data("first\n".utf8))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["draft.yml"])
        }
    }

    @Test func aFolderThatDoesNotExistFailsWithoutLeavingAnything() throws {
        try withTemporaryDirectory { dir in
            #expect(throws: AtomicFile.WriteError.self) { try AtomicFile.write(Array("x".utf8), to: "\(dir)/missing/r.html", mode: 0o600) }
            let entries = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(entries.isEmpty)
        }
    }
}
