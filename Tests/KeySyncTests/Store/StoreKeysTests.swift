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
}
