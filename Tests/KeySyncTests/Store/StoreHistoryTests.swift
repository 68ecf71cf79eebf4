import Foundation
import Testing
@testable import KeySync

@Suite struct StoreHistoryTests {
    @Test(arguments: Backing.allCases)
    func historyIsNewestFirstWithTheHostsItems(_ backing: Backing) throws {
        try withStore(backing) { store in
            let first = try recordRun(store, at: hour(0), [host("web-1", missing("SHA256:a")), host("web-2", missing("SHA256:b"))])
            let second = try recordRun(store, "push", at: hour(1), [Store.HostRecord(
                host: "web-1", status: .changed, drift: [missing("SHA256:a", fixed: true)],
                changes: [Store.ChangeRecord(account: "usersample", detail: "added kp-usersample"),
                          Store.ChangeRecord(account: "deploy", detail: "chmod 0600 authorized_keys")],
                snapshots: [Store.SnapshotInput(account: "usersample", path: "/home/usersample/.ssh/authorized_keys", content: [0x23])])])
            try recordRun(store, at: hour(2), [host("web-2")])
            let third = try recordRun(store, at: hour(3), [host("web-1")])

            let history = try store.history(host: "web-1")
            #expect(history.map(\.run.id) == [third, second, first])
            #expect(history[1].run.command == "push" && history[1].result?.status == .changed)
            #expect(history[1].changes.map(\.detail) == ["chmod 0600 authorized_keys", "added kp-usersample"])
            #expect(history[1].snapshots.map(\.path) == ["/home/usersample/.ssh/authorized_keys"])
            #expect(history[2].drift.compactMap(\.fingerprint) == ["SHA256:a"])
            #expect(try store.history(host: "web-1", limit: 2).map(\.run.id) == [third, second])

            let deploy = try store.history(host: "web-1", account: "deploy")
            #expect(deploy.map(\.run.id) == [second])
            #expect(deploy[0].changes.map(\.detail) == ["chmod 0600 authorized_keys"] && deploy[0].drift.isEmpty && deploy[0].snapshots.isEmpty)
        }
    }

    /// A run killed between the write and the record still shows, with the
    /// snapshot to restore.
    @Test func aRunWithOnlyASnapshotShows() throws {
        let store = try Store.inMemory()
        let runID = try store.beginRun(command: "push", startedAt: hour(0))
        try store.recordSnapshot(host: "web-1", account: "usersample", path: "/k", content: [1, 2, 3], runID: runID)
        let history = try store.history(host: "web-1")
        #expect(history.map(\.run.id) == [runID])
        #expect(history.first?.result == nil && history.first?.snapshots.count == 1)
    }

    /// `keysync history --command offboard`: the offboardings, with or without a host.
    @Test func onlyRunsOfTheGivenCommands() throws {
        let store = try Store.inMemory()
        let check = try recordRun(store, "check", at: hour(0), [host("web-1", missing("SHA256:a"))])
        let offboard = try recordRun(store, "offboard", at: hour(1), [host("web-1"), host("web-2")])
        try recordRun(store, "push", at: hour(2), [host("web-1")])
        #expect(try store.runs(commands: ["offboard"]).map(\.id) == [offboard])
        #expect(try store.history(host: "web-1", commands: ["offboard"]).map(\.run.id) == [offboard])
        #expect(try store.history(host: "web-1", commands: ["offboard", "check"]).map(\.run.id) == [offboard, check])
        #expect(try store.history(host: "web-2", commands: ["check"]).isEmpty)
    }
}
