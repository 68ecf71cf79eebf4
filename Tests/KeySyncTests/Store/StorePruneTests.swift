import Foundation
import GRDB
import Testing
@testable import KeySync

@Suite struct StorePruneTests {
    @Test(arguments: Backing.allCases)
    func pruneRemovesOldRunsAndUnreferencedSnapshots(_ backing: Backing) throws {
        try withStore(backing) { store in
            let onlyOld = Array(repeating: UInt8(ascii: "o"), count: 200_000)
            let shared = Array("shared".utf8), onlyNew = Array("new".utf8)
            let key = Store.SeenKey(account: "root", fingerprint: "SHA256:gone", keyType: "ssh-rsa", managed: false)
            let old = try recordRun(store, at: hour(0), [Store.HostRecord(host: "web-1", status: .changed, drift: [missing("SHA256:a")],
                changes: [.init(detail: "x")], seenKeys: [key])])
            try store.recordSnapshot(host: "web-1", account: "a", path: "/1", content: onlyOld, runID: old)
            try store.recordSnapshot(host: "web-1", account: "a", path: "/2", content: shared, runID: old)
            let stillRunning = try store.beginRun(command: "push", startedAt: hour(0))
            let rotation = try store.createRotation(keyName: "kp", oldFingerprint: "SHA256:o", newFingerprint: "SHA256:n",
                                                    targets: [("web-1", "a")], startedAt: hour(0))
            try store.recordRetired(fingerprint: "SHA256:o", keyName: "kp", rotationID: rotation, at: hour(0))
            let new = try recordRun(store, at: hour(48), [host("web-1", missing("SHA256:a"))])
            try store.recordSnapshot(host: "web-1", account: "a", path: "/2", content: shared, runID: new)
            try store.recordSnapshot(host: "web-1", account: "a", path: "/3", content: onlyNew, runID: new)

            let result = try store.prune(keepingRunsNewerThan: hour(24))
            #expect(result == Store.PruneResult(runs: 1, snapshots: 1, hostKeys: 1))
            #expect(try store.runs().map(\.id) == [new, stillRunning])
            #expect(try store.hostResults(runID: old).isEmpty && store.drift(runID: old).isEmpty && store.changes(runID: old).isEmpty)
            #expect(try store.snapshot(host: "web-1", runID: new, path: "/2")?.content == shared)
            #expect(try store.snapshot(host: "web-1", runID: new, path: "/3")?.content == onlyNew)
            #expect(try store.whereKey(fingerprint: "SHA256:gone").isEmpty)
            #expect(try store.rotation(id: rotation) != nil && store.retiredFingerprints() == ["SHA256:o"])
            // The item's streak began in the pruned run: its start is stored with each sighting and outlives the run.
            #expect(try store.openDrift().map(\.since) == [hour(0)])
            let (snapshots, integrity) = try sql(store) { db in
                (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM snapshots"), try String.fetchOne(db, sql: "PRAGMA integrity_check"))
            }
            #expect(snapshots == 2 && integrity == "ok")
            #expect(try store.prune(keepingRunsNewerThan: hour(24)) == Store.PruneResult(runs: 0, snapshots: 0, hostKeys: 0))
        }
    }

    /// A host unreachable since before the cutoff keeps its last scanned
    /// run: the revoked key still on it stays open in every report.
    @Test func aHostsLatestScannedRunIsKept() throws {
        let store = try Store.inMemory()
        let revoked = Store.DriftRecord(account: "deploy", kind: "revoked_key", detail: "kp-old", fingerprint: "SHA256:old")
        let scanned = try recordRun(store, at: hour(0), [host("web-1", revoked), host("web-2")])
        var down = Store.HostRecord(host: "web-1", status: .failed, drift: [])
        down.scanned = false
        try recordRun(store, at: hour(10), [down, host("web-2")])
        let recent = try recordRun(store, at: hour(48), [down, host("web-2")])
        let result = try store.prune(keepingRunsNewerThan: hour(24))
        #expect(result.runs == 1, "the run at hour 10 goes; web-1's last scan at hour 0 stays")
        #expect(try store.runs().map(\.id).sorted() == [scanned, recent])
        #expect(try store.openDrift().contains { $0.host == "web-1" && $0.kind == "revoked_key" })
    }

    @Test func pruneGivesTheSpaceBack() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/keysync.db"
            let store = try Store(path: path)
            for n in 0..<20 {
                let runID = try store.beginRun(command: "push", startedAt: hour(n))
                try store.recordSnapshot(host: "web-\(n)", account: "a", path: "/k", content: Array(repeating: UInt8(n), count: 100_000), runID: runID)
                try store.finishRun(id: runID)
            }
            func pages() throws -> Int { try sql(store) { try Int.fetchOne($0, sql: "PRAGMA page_count")! } }
            let before = try pages()
            try store.prune(keepingRunsNewerThan: hour(100))
            #expect(try pages() < before / 4)
        }
    }
}
