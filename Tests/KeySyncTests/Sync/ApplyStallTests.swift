import Testing
@testable import KeySync

/// An apply that stopped part way (a timeout in one account's write): what
/// it reported before, and what the retry's result carries of it.
@Suite struct ApplyStallTests {
    let nonce = "0123456789abcdef0123456789abcdef"

    @Test func partialOutcomesAreTheNonceLinesSoFar() {
        let reply = "KEYSYNC-APPLY 2\nresult \(nonce) usersample ok abc\nresult ffff builder ok forged\nresult \(nonce) ops done\nresult \(nonce) b"
        let outcomes = ApplyScript.partialOutcomes(from: Array(reply.utf8), nonce: nonce)
        #expect(outcomes == ["usersample": .written(hash: "abc"), "ops": .done])
        #expect(ApplyScript.partialOutcomes(from: Array("no marker\nresult \(nonce) x ok y\n".utf8), nonce: nonce).isEmpty)
        #expect(ApplyScript.partialOutcomes(from: Array(reply.utf8), nonce: "").isEmpty)
    }

    /// Only a write as the account names the account: a reply that stopped
    /// in root's steps (useradd, a directory lookup) names nobody.
    @Test func theAccountWhoseWriteAsItselfNeverEndedIsNamed() {
        let done = "KEYSYNC-APPLY 2\n@as_account \(nonce) usersample\nresult \(nonce) usersample ok abc\n"
        #expect(ApplyScript.stalledAccount(in: Array((done + "@as_account \(nonce) builder\n").utf8), nonce: nonce)?.account == "builder")
        #expect(ApplyScript.stalledAccount(in: Array((done + "@as_account \(nonce) builder\n").utf8), nonce: nonce)?.markerOffset == done.utf8.count)
        #expect(ApplyScript.stalledAccount(in: Array(done.utf8), nonce: nonce) == nil)
        #expect(ApplyScript.stalledAccount(in: Array((done + "@as_account ffff root\n").utf8), nonce: nonce) == nil)
        #expect(ApplyScript.stalledAccount(in: Array((done + "@as_account \(nonce) builder\nresult \(nonce) builder conflict x\n").utf8), nonce: nonce) == nil)
        #expect(ApplyScript.stalledAccount(in: Array((done + "@as_account \(nonce) builder\n").utf8), nonce: "") == nil)
    }

    /// The retry found the accounts written before the stall in sync: their
    /// files, fixable drift, changes and snapshots come from the first try.
    @Test func theRetryCarriesWhatTheFirstTryWrote() {
        var first = HostResult(host: "web-1", status: .failed)
        first.noteHash(before: "aa", account: "usersample", path: "/home/usersample/.ssh/authorized_keys")
        first.noteHash(before: "bb", account: "builder", path: "/home/builder/.ssh/authorized_keys")
        first.noteWritten(["/home/usersample/.ssh/authorized_keys": "cc"],
                          by: [AccountApply(account: "usersample", write: FileWrite(path: "/home/usersample/.ssh/authorized_keys", expectedHash: "aa", content: []))])
        var fixable = DriftItem(account: "usersample", kind: .unexpectedKey, detail: "kp-deploy")
        fixable.repairable = true
        first.drift = [fixable, DriftItem(account: "usersample", kind: .accountLocked, detail: "locked"),
                       DriftItem(account: "builder", kind: .missingKey, detail: "kb")]
        first.changesByAccount = ["usersample": ["fix unexpected_key: kp-deploy"], "builder": ["fix missing_key: kb"]]
        first.snapshots = [Snapshot(account: "usersample", path: "/home/usersample/.ssh/authorized_keys", content: [1]),
                           Snapshot(account: "builder", path: "/home/builder/.ssh/authorized_keys", content: [2])]
        var retry = HostResult(host: "web-1", status: .ok)
        retry.noteHash(before: "cc", account: "usersample", path: "/home/usersample/.ssh/authorized_keys")
        retry.drift = [DriftItem(account: "usersample", kind: .accountLocked, detail: "locked")]

        let carried = SyncEngine.carrying([first], into: retry)
        #expect(carried.files["/home/usersample/.ssh/authorized_keys"] == Store.FileHashRecord(account: "usersample", path: "/home/usersample/.ssh/authorized_keys", hashBefore: "aa", hashAfter: "cc"))
        #expect(carried.files["/home/builder/.ssh/authorized_keys"] == nil)
        #expect(carried.drift.map(\.kind) == [.accountLocked, .unexpectedKey])
        #expect(carried.changes == ["fix unexpected_key: kp-deploy"])
        #expect(carried.snapshots.map(\.account) == ["usersample"])
        #expect(carried.writtenAccounts == ["usersample"])
        #expect(SyncEngine.carrying([], into: retry).files == retry.files)

        // An account done before the stall (created, no write) is carried too;
        // a file the retry wrote again keeps the retry's hash after.
        var created = first
        created.appliedAccounts = ["builder"]
        created.drift[2].repairable = true
        var again = retry
        again.noteWritten(["/home/usersample/.ssh/authorized_keys": "dd"],
                          by: [AccountApply(account: "usersample", write: FileWrite(path: "/home/usersample/.ssh/authorized_keys", expectedHash: "cc", content: []))])
        let both = SyncEngine.carrying([created], into: again)
        #expect(both.files["/home/usersample/.ssh/authorized_keys"]?.hashBefore == "aa" && both.files["/home/usersample/.ssh/authorized_keys"]?.hashAfter == "dd")
        #expect(both.changes == ["fix missing_key: kb", "fix unexpected_key: kp-deploy"])
        #expect(both.drift.map(\.kind) == [.accountLocked, .unexpectedKey, .missingKey])
    }
}
