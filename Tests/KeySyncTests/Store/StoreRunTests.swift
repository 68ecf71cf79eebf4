import Foundation
import GRDB
import Testing
@testable import KeySync

@Suite struct StoreRunTests {
    @Test(arguments: Backing.allCases)
    func runsHostResultsDriftAndChangesRoundTrip(_ backing: Backing) throws {
        try withStore(backing) { store in
            let runID = try store.beginRun(command: "push", selection: "--project usersample", inventoryHash: "f00d", startedAt: hour(0))
            #expect(try store.run(id: runID)?.status == .running)
            let web1 = Store.HostRecord(
                host: "web-1", status: .changed, milliseconds: 420, hashBefore: "aa", hashAfter: "bb",
                drift: [missing("SHA256:new", fixed: true),
                        Store.DriftRecord(account: "usersample", kind: "file_mode", detail: "0644")],
                changes: [Store.ChangeRecord(account: "usersample", detail: "added kp-usersample")])
            let db1 = Store.HostRecord(host: "db-1", status: .failed, error: "host key changed", errorKind: "host_key_mismatch",
                                       drift: [Store.DriftRecord(kind: "host_key_mismatch", detail: "ssh-ed25519")])
            try store.recordHostResult(web1, runID: runID, at: hour(0).addingTimeInterval(5))
            try store.recordHostResult(db1, runID: runID, at: hour(0).addingTimeInterval(6))
            try store.finishRun(id: runID, finishedAt: hour(0).addingTimeInterval(60))

            let run = try #require(try store.run(id: runID))
            #expect(run.command == "push" && run.selection == "--project usersample" && run.inventoryHash == "f00d")
            #expect(run.status == .completed && run.startedAt == hour(0) && run.duration == 60)
            #expect(run.counts == Store.RunCounts(hosts: 2, changed: 1, drift: 0, failed: 1))
            #expect(run.pid == Int64(getpid()))

            let results = try store.hostResults(runID: runID)
            #expect(results.map(\.host) == ["db-1", "web-1"])
            #expect(results[0].scanned == false && results[0].errorKind == "host_key_mismatch" && results[0].error == "host key changed")
            #expect(results[1] == Store.HostResult(
                runID: runID, host: "web-1", status: .changed, scanned: true, partial: false, error: nil, errorKind: nil,
                milliseconds: 420, hashBefore: "aa", hashAfter: "bb", recordedAt: hour(0).addingTimeInterval(5)))

            let drift = try store.drift(runID: runID)
            #expect(drift.map(\.kind) == ["host_key_mismatch", "missing_key", "file_mode"])
            #expect(drift[0].account == "" && drift[1].fixed && drift[1].fingerprint == "SHA256:new" && !drift[2].fixed)
            #expect(try store.changes(runID: runID).map(\.detail) == ["added kp-usersample"])
        }
    }

    @Test func fileHashesAreRecordedPerAccountAndGoWithTheirHostResult() throws {
        let store = try Store.inMemory()
        let runID = try store.beginRun(command: "push")
        let files = [Store.FileHashRecord(account: "usersample", path: "/home/usersample/.ssh/authorized_keys", hashBefore: "aa", hashAfter: "bb"),
                     Store.FileHashRecord(account: "billing", path: "/home/billing/.ssh/authorized_keys", hashBefore: "absent")]
        try store.recordHostResult(Store.HostRecord(host: "web-1", status: .changed, files: files), runID: runID)
        let read = try store.fileHashes(runID: runID)
        #expect(read.map(\.account) == ["billing", "usersample"])
        #expect(read[0] == Store.FileHash(runID: runID, host: "web-1", account: "billing", path: "/home/billing/.ssh/authorized_keys",
                                          hashBefore: "absent", hashAfter: nil))
        #expect(read[1].hashBefore == "aa" && read[1].hashAfter == "bb")
        // Recording the host again replaces its files; deleting the run takes them along.
        try store.recordHostResult(Store.HostRecord(host: "web-1", status: .ok, files: [files[1]]), runID: runID)
        #expect(try store.fileHashes(runID: runID).map(\.account) == ["billing"])
        try store.finishRun(id: runID, finishedAt: hour(0))
        // A later scan of web-1 (prune keeps each host's latest scanned run).
        try recordRun(store, at: hour(1), [host("web-1")])
        #expect(try store.prune(keepingRunsNewerThan: Date().addingTimeInterval(60)).runs == 1)
        #expect(try store.fileHashes(runID: runID).isEmpty)
    }

    @Test func recordingAHostAgainReplacesItsResult() throws {
        let store = try Store.inMemory()
        let runID = try store.beginRun(command: "check")
        try store.recordHostResult(host("web-1", missing("SHA256:a"), missing("SHA256:b")), runID: runID)
        try store.recordHostResult(host("web-1", missing("SHA256:c")), runID: runID)
        #expect(try store.hostResults(runID: runID).count == 1)
        #expect(try store.drift(runID: runID).compactMap(\.fingerprint) == ["SHA256:c"])
    }

    @Test func explicitCountsWinAndRunsListNewestFirst() throws {
        let store = try Store.inMemory()
        let first = try recordRun(store, "check", at: hour(0), [host("web-1")])
        let second = try store.beginRun(command: "push", startedAt: hour(1))
        try store.finishRun(id: second, status: .failed, counts: Store.RunCounts(hosts: 9, changed: 1, drift: 2, failed: 3), finishedAt: hour(2))
        #expect(try store.run(id: second)?.counts == Store.RunCounts(hosts: 9, changed: 1, drift: 2, failed: 3))
        #expect(try store.runs().map(\.id) == [second, first])
        #expect(try store.runs(commands: ["check"]).map(\.id) == [first])
        #expect(try store.runs(since: hour(1)).map(\.id) == [second])
        #expect(try store.runs(limit: 1).map(\.id) == [second])
    }

    @Test func interruptedRunsKeepWhatTheyRecorded() throws {
        let store = try Store.inMemory()
        let runID = try store.beginRun(command: "push", startedAt: hour(0))
        try store.recordHostResult(Store.HostRecord(host: "web-1", status: .changed), runID: runID)
        try store.markInterrupted(runID: runID, at: hour(1))
        let run = try #require(try store.run(id: runID))
        #expect(run.status == .interrupted && run.finishedAt == hour(1) && run.counts == Store.RunCounts(hosts: 1, changed: 1))
        // A finished run is not turned into an interrupted one.
        let done = try recordRun(store, at: hour(2), [])
        try store.markInterrupted(runID: done)
        #expect(try store.run(id: done)?.status == .completed)
    }

    @Test func abandonedRunsOfDeadProcessesAreMarkedInterrupted() throws {
        let store = try Store.inMemory()
        let ours = try store.beginRun(command: "check")
        let dead = try store.beginRun(command: "check")
        try sql(store) { try $0.execute(literal: "UPDATE runs SET pid = \(Int64(Int32.max)) WHERE id = \(dead)") }
        #expect(try store.interruptAbandonedRuns() == [dead])
        #expect(try store.run(id: dead)?.status == .interrupted)
        #expect(try store.run(id: ours)?.status == .running)
    }

    /// A run whose pid is alive but belongs to another process (reused
    /// after a reboot, or a container's pid 1 every time) is abandoned too
    /// (review s13); the run of this very process is not.
    @Test func aRunWhosePidWasReusedIsAbandoned() throws {
        let store = try Store.inMemory()
        let ours = try store.beginRun(command: "check")
        let reused = try store.beginRun(command: "check")
        #expect(try store.run(id: ours)?.process == Store.processIdentity(pid: getpid()) && Store.processIdentity(pid: getpid()) != nil)
        try sql(store) { try $0.execute(literal: "UPDATE runs SET process = 'another-boot 12345' WHERE id = \(reused)") }
        #expect(try store.interruptAbandonedRuns() == [reused])
        #expect(try store.run(id: ours)?.status == .running)
    }

    @Test func latestHostResultsGiveEachHostsNewestResult() throws {
        let store = try Store.inMemory()
        try recordRun(store, at: hour(0), [host("web-1"), host("web-2", missing("SHA256:a"))])
        let second = try recordRun(store, at: hour(1), [host("web-2")])
        let latest = try store.latestHostResults()
        #expect(latest.map(\.host) == ["web-1", "web-2"])
        #expect(latest[1].runID == second && latest[1].status == .ok)
        #expect(try store.latestHostResults(hosts: ["web-1"]).map(\.host) == ["web-1"])
    }
}
