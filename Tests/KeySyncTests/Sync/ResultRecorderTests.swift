import Foundation
import Testing
@testable import KeySync

/// How `ResultRecorder` records failed and stalled hosts: what a run looked
/// at closes what it no longer lists; what it did not look at stays open.
@Suite struct ResultRecorderTests {
    func item(_ account: String, _ kind: DriftKind, _ detail: String, repairable: Bool = true) -> DriftItem {
        var item = DriftItem(account: account, kind: kind, detail: detail)
        item.repairable = repairable
        return item
    }

    func record(_ store: Store, _ command: String, at hour: Int, _ result: HostResult, writes: Bool) throws {
        let run = try store.beginRun(command: command, startedAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(hour) * 3600))
        let recorder = ResultRecorder(store: store, runID: run)
        recorder.record(result, writes: writes)
        try recorder.finish()
        try store.finishRun(id: run)
    }

    func open(_ store: Store) throws -> [String] {
        try store.openDrift().map { "\($0.account)/\($0.kind)" }
    }

    func checked() -> HostResult {
        var check = HostResult(host: "h", status: .drift)
        check.drift = [item("alice", .revokedKey, "kr"), item("bob", .unexpectedKey, "kb"), item("", .krlStale, "krl")]
        check.listsWholeHost = true
        return check
    }

    /// A refusal before anything is planned (no setpriv on the host) lists
    /// nothing: it must not close what the host still has (review s14).
    @Test func aRefusalWithoutThePlanClosesNothing() throws {
        let store = try Store.inMemory()
        try record(store, "check", at: 0, checked(), writes: false)
        let refused = HostResult.failed("h", kind: .applyFailed, error: "h: setpriv (util-linux) is missing")
        try record(store, "push", at: 1, refused, writes: true)
        #expect(try open(store) == ["/krl_stale", "alice/revoked_key", "bob/unexpected_key"])
    }

    /// A push that left a stalled account out: the KRL it wrote and the other
    /// accounts' repairs are fixed; the left-out account's items go on with
    /// their first `since`; and the run is a whole scan for the rest, so the
    /// next check closes what is gone (review s14: everything stayed open and
    /// prune could not move past the host).
    @Test func aRunThatLeftAnAccountOutIsWholeForTheRest() throws {
        let store = try Store.inMemory()
        try record(store, "check", at: 0, checked(), writes: false)
        var push = HostResult(host: "h", status: .changed)
        push.drift = [item("bob", .unexpectedKey, "kb"), item("", .krlStale, "krl")]
        push.noteHash(before: "b0", account: "bob", path: "/home/bob/.ssh/authorized_keys")
        push.noteWritten(["/home/bob/.ssh/authorized_keys": "b1"],
                         by: [AccountApply(account: "bob", write: FileWrite(path: "/home/bob/.ssh/authorized_keys", expectedHash: "b0", content: []))])
        push.listsWholeHost = true
        let leftOut = SyncEngine.leavingOut([("alice", "h: alice stalled")], from: push)
        #expect(leftOut.status == .failed && leftOut.errorKind == .accountStalled && leftOut.failedOnlyByLeavingOut)
        #expect(leftOut.error == "h: alice stalled; left out, the host's other accounts were done" && leftOut.accountsLeftOut == ["alice"])
        try record(store, "push", at: 1, leftOut, writes: true)
        let after = try store.openDrift()
        #expect(after.map { "\($0.account)/\($0.kind)" } == ["alice/revoked_key"])
        #expect(after.first?.sinceRunID == 1)

        // Host-wide items are not the left-out account's: a host_unreachable
        // of an earlier failure is not carried (review s14: it stayed open).
        try record(store, "check", at: 2, HostResult.failed("h", kind: .commandTimeout, error: "h: timed out"), writes: false)
        #expect(try open(store) == ["/host_unreachable", "alice/revoked_key"])
        var check = HostResult(host: "h", status: .ok)
        check.listsWholeHost = true
        try record(store, "check", at: 3, SyncEngine.leavingOut([("alice", "h: alice stalled")], from: check), writes: false)
        #expect(try store.openDrift().map { "\($0.account)/\($0.kind)/\($0.sinceRunID)" } == ["alice/revoked_key/1"])
        let scans = try sql(store) { try Bool.fetchAll($0, sql: "SELECT scanned AND NOT partial FROM host_results ORDER BY run_id") }
        #expect(scans == [true, true, false, true])
    }
}
