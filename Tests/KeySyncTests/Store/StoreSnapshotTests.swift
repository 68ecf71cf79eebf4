import Foundation
import GRDB
import Testing
@testable import KeySync

@Suite struct StoreSnapshotTests {
    static let content = Array("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOld admin\r\n# no newline at end".utf8)

    @Test(arguments: Backing.allCases)
    func identicalContentIsStoredOnce(_ backing: Backing) throws {
        try withStore(backing) { store in
            let first = try store.beginRun(command: "push")
            let second = try store.beginRun(command: "push")
            let hash = try store.recordSnapshot(host: "web-1", account: "usersample", path: "/home/usersample/.ssh/authorized_keys", content: Self.content, runID: first)
            try store.recordSnapshot(host: "web-2", account: "usersample", path: "/home/usersample/.ssh/authorized_keys", content: Self.content, runID: first)
            try store.recordSnapshot(host: "web-1", account: "usersample", path: "/home/usersample/.ssh/authorized_keys", content: Self.content, runID: second)
            #expect(hash == SHA256Digest.hex(Self.content))
            let (contents, refs) = try sql(store) { db in
                (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM snapshots"), try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM snapshot_refs"))
            }
            #expect(contents == 1 && refs == 3)
            let snapshot = try #require(try store.snapshot(host: "web-2", runID: first, path: "/home/usersample/.ssh/authorized_keys"))
            #expect(snapshot.content == Self.content)
            #expect(snapshot.ref.hash == hash && snapshot.ref.account == "usersample")
        }
    }

    /// The snapshot to restore is the content the run wrote over: the first one.
    @Test func theFirstSnapshotOfAPathInARunIsKept() throws {
        let store = try Store.inMemory()
        let runID = try store.beginRun(command: "push")
        try store.recordSnapshot(host: "web-1", account: "a", path: "/p", content: Array("before".utf8), runID: runID)
        try store.recordSnapshot(host: "web-1", account: "a", path: "/p", content: Array("midway".utf8), runID: runID)
        #expect(try store.snapshot(host: "web-1", runID: runID, path: "/p")?.content == Array("before".utf8))
    }

    @Test func aFileThatDidNotExistIsASnapshotWithoutContent() throws {
        let store = try Store.inMemory()
        let runID = try store.beginRun(command: "push")
        #expect(try store.recordSnapshot(host: "web-1", account: "new", path: "/home/new/.ssh/authorized_keys", content: nil, runID: runID) == nil)
        let snapshot = try #require(try store.snapshot(host: "web-1", runID: runID, path: "/home/new/.ssh/authorized_keys"))
        #expect(snapshot.content == nil && snapshot.ref.hash == nil)
        #expect(try store.snapshot(host: "web-1", runID: runID, path: "/elsewhere") == nil)
    }

    @Test func snapshotsInAHostRecordAndByAccount() throws {
        let store = try Store.inMemory()
        let runID = try store.beginRun(command: "push")
        let empty: [UInt8] = []
        try store.recordHostResult(Store.HostRecord(host: "web-1", status: .changed, snapshots: [
            Store.SnapshotInput(account: "usersample", path: "/home/usersample/.ssh/authorized_keys", content: Self.content),
            Store.SnapshotInput(account: "deploy", path: "/home/deploy/.ssh/authorized_keys", content: empty),
        ]), runID: runID)
        #expect(try store.snapshots(host: "web-1", runID: runID).map(\.ref.account) == ["deploy", "usersample"])
        let deploy = try store.snapshots(host: "web-1", runID: runID, account: "deploy")
        #expect(deploy.count == 1 && deploy.first?.content == [])
    }
}
