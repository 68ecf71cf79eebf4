import Foundation
import GRDB
import Testing
@testable import KeySync

/// Schema v2: how keysync reached each host, and which accounts hold its blocks.
@Suite struct StoreManagedHostsTests {
    func endpoint(_ address: String = "10.0.0.5", hostKey: String? = "ssh-ed25519 AAAA") -> Store.HostEndpoint {
        Store.HostEndpoint(address: address, port: 2222, user: "ops", identity: "/keys/id", become: "sudo",
                           connectTimeout: 5, commandTimeout: 60, hostKey: hostKey, knownHosts: "/kh")
    }

    func reached(_ name: String, _ endpoint: Store.HostEndpoint?, blocks: [String: [Store.BlockRef]] = [:]) -> Store.HostRecord {
        var record = Store.HostRecord(host: name, status: .ok)
        record.endpoint = endpoint
        record.accountBlocks = blocks
        return record
    }

    let deploy = Store.BlockRef(project: "usersample", role: "deploy")
    let ci = Store.BlockRef(project: "ci", role: "deploy")

    @Test(arguments: Backing.allCases)
    func aRunRecordsHowItReachedAHostAndWhichBlocksEachAccountHolds(_ backing: Backing) throws {
        try withStore(backing) { store in
            let first = try recordRun(store, "push", at: hour(0), [reached("h1", endpoint(), blocks: ["svc": [deploy, ci], "old": []])])
            let host = try #require(try store.managedHost(named: "h1"))
            #expect(host.endpoint == endpoint())
            #expect(host.lastRun == first && host.retired == nil)
            #expect(try store.managedAccounts() == [Store.ManagedAccount(host: "h1", account: "svc", blocks: [ci, deploy])])

            // A later run without an endpoint (failed before logging in) keeps it; the key is kept when not seen.
            try recordRun(store, at: hour(1), [reached("h1", nil)])
            #expect(try store.managedHost(named: "h1")?.endpoint == endpoint())
            try recordRun(store, at: hour(2), [reached("h1", endpoint("10.0.0.6", hostKey: nil), blocks: ["svc": [deploy]])])
            #expect(try store.managedHost(named: "h1")?.endpoint == endpoint("10.0.0.6"))
            #expect(try store.managedAccounts(host: "h1").map(\.blocks) == [[deploy]])
            // No blocks left: the account is forgotten (nothing of keysync's to remove there).
            try recordRun(store, at: hour(3), [reached("h1", endpoint(), blocks: ["svc": []])])
            #expect(try store.managedAccounts().isEmpty)
        }
    }

    @Test func retiringAHostLastsUntilARunReachesItAgain() throws {
        let store = try Store.inMemory()
        let push = try recordRun(store, "push", at: hour(0), [reached("h1", endpoint())])
        let gone = try recordRun(store, "decommission", at: hour(1), [reached("h1", nil)])
        try store.retireHost("h1", as: .decommissioned, runID: gone, at: hour(1))
        var host = try #require(try store.managedHost(named: "h1"))
        #expect(host.retired == .decommissioned && host.retiredRun == gone && host.lastRun == push)
        #expect(throws: StoreError.self) { try store.retireHost("h1", as: .forgotten, runID: 999) }
        try recordRun(store, "push", at: hour(2), [reached("h1", endpoint())])
        host = try #require(try store.managedHost(named: "h1"))
        #expect(host.retired == nil && host.retiredRun == nil)
    }

    /// Databases from before v2: accounts keysync wrote (snapshots) or saw
    /// managed keys in are read again (blocks unknown), hosts it scanned are
    /// known without an address.
    /// A host never reached: listed until forgotten, and again once a later
    /// run records it (added back, still failing) after it was forgotten.
    @Test func aHostNeverReachedIsListedUntilForgottenAndAgainAfterALaterFailure() throws {
        let store = try Store.inMemory()
        let down = Store.HostRecord(host: "ghost", status: .failed, error: "refused", errorKind: "host_unreachable")
        try recordRun(store, at: hour(0), [down, host("web-1")])
        #expect(try store.neverReachedHosts() == ["ghost", "web-1"], "web-1 has no managed_hosts row in this fixture either")
        let forget = try recordRun(store, "decommission", at: hour(1), [Store.HostRecord(host: "ghost", status: .ok, scanned: true)])
        try store.retireHost("ghost", as: .forgotten, runID: forget)
        #expect(try !store.neverReachedHosts().contains("ghost"))
        try recordRun(store, at: hour(2), [down])
        #expect(try store.neverReachedHosts().contains("ghost"))
    }

    @Test func theV2MigrationSeedsFromWhatV1Recorded() throws {
        try withTemporaryDirectory { dir in
            let store = try storeMigrated(from: "v1", in: dir, """
                INSERT INTO runs (id, command, started_at) VALUES (1, 'push', '2026-01-01 00:00:00');
                INSERT INTO host_results (run_id, host, status, scanned, recorded_at) VALUES
                    (1, 'web-1', 'changed', 1, '2026-01-01 00:00:01'), (1, 'dead-1', 'failed', 0, '2026-01-01 00:00:01');
                INSERT INTO snapshot_refs (run_id, host, account, path, hash, taken_at)
                    VALUES (1, 'web-1', 'svc', '/home/svc/.ssh/authorized_keys', NULL, '2026-01-01 00:00:01');
                INSERT INTO host_keys (host, account, fingerprint, key_type, managed, first_seen_at, last_seen_at) VALUES
                    ('web-1', 'deploy', 'SHA256:a', 'ssh-ed25519', 1, '2026-01-01', '2026-01-01'),
                    ('web-1', 'alice', 'SHA256:b', 'ssh-ed25519', 0, '2026-01-01', '2026-01-01'),
                    ('web-1', '', 'SHA256:c', 'ssh-ed25519', 0, '2026-01-01', '2026-01-01');
                """)
            #expect(try store.managedAccounts() == [
                Store.ManagedAccount(host: "web-1", account: "deploy", blocks: nil),
                Store.ManagedAccount(host: "web-1", account: "svc", blocks: nil),
            ])
            let hosts = try store.managedHosts()
            #expect(hosts.map(\.host) == ["web-1"])
            #expect(hosts.first?.endpoint == nil && hosts.first?.lastReachedAt != nil)
        }
    }
}
