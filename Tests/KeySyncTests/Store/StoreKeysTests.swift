import Foundation
import Testing
@testable import KeySync

@Suite struct StoreKeysTests {
    static let leaked = "SHA256:leakedLaptopKey"

    func seen(_ account: String, _ fingerprint: String = leaked, managed: Bool = false, comment: String = "alice@laptop") -> Store.SeenKey {
        Store.SeenKey(account: account, fingerprint: fingerprint, keyType: "ssh-ed25519", comment: comment, managed: managed)
    }

    @Test(arguments: Backing.allCases)
    func whereKeyListsEveryHostAndAccountWithTheRun(_ backing: Backing) throws {
        try withStore(backing) { store in
            let first = try recordRun(store, at: hour(0), [
                Store.HostRecord(host: "web-1", status: .ok, seenKeys: [seen("usersample", managed: true), seen("root"), seen("usersample", "SHA256:other")]),
                Store.HostRecord(host: "db-1", status: .ok, seenKeys: [seen("admin", comment: "old comment")]),
            ])
            let second = try recordRun(store, at: hour(1), [
                Store.HostRecord(host: "db-1", status: .ok, seenKeys: [seen("admin", comment: "alice@new-laptop")]),
                Store.HostRecord(host: "web-1", status: .ok, seenKeys: [seen("usersample", managed: true)]),
            ])
            let sightings = try store.whereKey(fingerprint: Self.leaked)
            #expect(sightings.map { "\($0.key.host)/\($0.key.account)" } == ["db-1/admin", "web-1/usersample", "web-1/root"])
            let admin = sightings[0].key
            #expect(admin.firstSeenRun == first && admin.lastSeenRun == second && admin.lastSeenAt == hour(1).addingTimeInterval(1))
            #expect(admin.comment == "alice@new-laptop" && admin.keyType == "ssh-ed25519" && !admin.managed)
            #expect(sightings[1].key.managed)
            // root's key was not listed by web-1's newest scan: removed since.
            #expect(sightings.map(\.seenInLatestScan) == [true, true, false])
            #expect(try store.whereKey(fingerprint: "SHA256:nowhere").isEmpty)
            #expect(try store.keys(host: "web-1").map(\.account) == ["root", "usersample", "usersample"])
        }
    }

    @Test func aLateRecordOfAnOlderRunDoesNotMoveLastSeenBack() throws {
        let store = try Store.inMemory()
        let older = try store.beginRun(command: "check", startedAt: hour(0))
        let newer = try store.beginRun(command: "push", startedAt: hour(0))
        try store.recordHostResult(Store.HostRecord(host: "web-1", status: .ok, seenKeys: [seen("root")]), runID: newer, at: hour(2))
        try store.recordHostResult(Store.HostRecord(host: "web-1", status: .ok, seenKeys: [seen("root")]), runID: older, at: hour(1))
        #expect(try store.whereKey(fingerprint: Self.leaked).first?.key.lastSeenRun == newer)
    }

    /// A key accept-new appended is recorded as the host's own key (account
    /// ''), also when the host failed after the handshake, and shown in JSON.
    @Test func anAcceptedHostKeyIsRecordedAsTheHostsOwnKeyAndListedInJSON() throws {
        let store = try Store.inMemory()
        let run = try store.beginRun(command: "push")
        let key = AcceptedHostKey(host: "web-1", address: "10.0.0.11", port: 2222, keyType: "ssh-ed25519",
                                  fingerprint: "SHA256:hostKeyOfWeb1", knownHosts: "/k/known_hosts")
        var result = HostResult.failed("web-1", kind: .authFailed, error: "web-1: authentication failed")
        result.acceptedHostKey = key
        let recorder = ResultRecorder(store: store, runID: run)
        recorder.record(result, writes: true)
        try recorder.finish()
        let recorded = try store.acceptedHostKeys(host: "web-1")
        #expect(recorded.map(\.fingerprint) == ["SHA256:hostKeyOfWeb1"])
        #expect(recorded.first?.firstSeenRun == run && recorded.first?.keyType == "ssh-ed25519" && recorded.first?.managed == false)
        #expect(recorded.first?.comment == "host key accepted into /k/known_hosts for [10.0.0.11]:2222")
        let sightings = try store.whereKey(fingerprint: "SHA256:hostKeyOfWeb1")
        #expect(sightings.map(\.key.account) == [Store.hostKeyAccount])
        #expect(KeyLocationReport(fingerprint: "SHA256:hostKeyOfWeb1", sightings: sightings).text().contains("(host key)"))

        let report = RunReport(run: run, hosts: [], summary: .init(hosts: 1, changed: 0, drift: 0, failed: 1, seconds: 0),
                               interrupted: false, acceptedHostKeys: [key])
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
        let listed = try #require(object["accepted_host_keys"] as? [[String: Any]])
        #expect(listed.count == 1 && Set(listed[0].keys) == ["host", "address", "port", "key_type", "fingerprint", "known_hosts"])
        #expect(listed[0]["fingerprint"] as? String == "SHA256:hostKeyOfWeb1" && listed[0]["port"] as? Int == 2222)
        #expect(try JSONDecoder().decode(RunReport.self, from: JSONEncoder().encode(report)).acceptedHostKeys == [key])
    }
}
