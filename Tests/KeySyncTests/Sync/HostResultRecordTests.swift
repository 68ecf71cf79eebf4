import Testing
@testable import KeySync

/// `Store.HostRecord(_:)`, the one place a host result becomes what the
/// database keeps (push, check, restore, decommission, offboard, doctor --fix).
@Suite struct HostResultRecordTests {
    static let usersample = "/home/usersample/.ssh/authorized_keys"
    static let billing = "/home/billing/.ssh/authorized_keys"

    static func twoAccounts() -> HostResult {
        var result = HostResult(host: "web-1", status: .changed)
        result.noteHash(before: "bb11", account: "usersample", path: usersample)
        result.noteHash(before: "absent", account: "billing", path: billing)
        let applies = [AccountApply(account: "billing", write: FileWrite(path: billing, expectedHash: "absent", content: [])),
                       AccountApply(account: "usersample", fixHome: true)]
        result.noteWritten([billing: "cc22", "/elsewhere": "dd33"], by: applies)
        return result
    }

    @Test func everyFileIsRecordedWithItsAccountAndTheHostHashOnlyForOneFile() {
        let record = Store.HostRecord(Self.twoAccounts())
        #expect(record.files == [Store.FileHashRecord(account: "billing", path: Self.billing, hashBefore: "absent", hashAfter: "cc22"),
                                 Store.FileHashRecord(account: "usersample", path: Self.usersample, hashBefore: "bb11")])
        // Which file's hash would it be? Neither: the files say.
        #expect(record.hashBefore == nil && record.hashAfter == nil)

        var one = HostResult(host: "web-2", status: .changed)
        one.noteHash(before: "ee44", account: "usersample", path: Self.usersample)
        one.noteWritten([Self.usersample: "ff55"], by: [AccountApply(account: "usersample", write: FileWrite(path: Self.usersample, expectedHash: "ee44", content: []))])
        let single = Store.HostRecord(one)
        #expect(single.hashBefore == "ee44" && single.hashAfter == "ff55" && single.files.count == 1)
        #expect(one.wroteFiles && !HostResult(host: "web-3", status: .ok).wroteFiles)
    }

    /// `history` shows each change with its account (review s15 contract #8:
    /// push's changes were recorded with an empty account).
    @Test func changesAreRecordedWithTheAccountThatMadeThem() {
        var result = Self.twoAccounts()
        result.changesByAccount = ["billing": ["fix missing_key: kb"], "usersample": ["fix home /home/usersample"]]
        result.changes = ["fix missing_key: kb", "fix home /home/usersample", "write /etc/ssh/keysync/revoked_keys.krl"]
        #expect(Store.HostRecord(result).changes == [Store.ChangeRecord(account: "billing", detail: "fix missing_key: kb"),
                                                     Store.ChangeRecord(account: "usersample", detail: "fix home /home/usersample"),
                                                     Store.ChangeRecord(account: "", detail: "write /etc/ssh/keysync/revoked_keys.krl")])
    }

    @Test func failureKindStatusAndDriftAsTheStoreKeepsThem() {
        var result = HostResult.failed("web-1", kind: .commandTimeout, error: "web-1: too slow")
        result.drift.append(DriftItem(account: "usersample", kind: .missingKey, detail: "kp"))
        result.drift[1].repairable = true
        let record = Store.HostRecord(result, repaired: true)
        #expect(record.status == .failed && !record.scanned && record.errorKind == "command_timeout" && record.error == "web-1: too slow")
        #expect(record.drift.map(\.kind) == ["host_unreachable", "missing_key"])
        #expect(record.drift.map(\.fixed) == [false, true])
        // Not repaired (check, a failed push): nothing is fixed; `scanned` as asked.
        #expect(Store.HostRecord(result, scanned: true).drift.allSatisfy { !$0.fixed })
        #expect(Store.HostRecord(result, scanned: true).scanned)
        // A failed host whose one account's write stood: that account's items
        // are fixed, the other account's and the host's are not.
        var mixed = Self.twoAccounts()
        mixed.status = .failed
        mixed.drift = [DriftItem(account: "billing", kind: .missingKey, detail: "kb"), DriftItem(account: "usersample", kind: .missingKey, detail: "ku"),
                       DriftItem(account: "", kind: .krlStale, detail: "krl")]
        for index in mixed.drift.indices { mixed.drift[index].repairable = true }
        #expect(mixed.writtenAccounts == ["billing"])
        #expect(Store.HostRecord(mixed, repairedAccounts: mixed.writtenAccounts).drift.map(\.fixed) == [true, false, false])
        // Callers that know more give the drift and changes themselves.
        let fixed = Store.HostRecord(result, drift: [], changes: [Store.ChangeRecord(account: "usersample", detail: "chmod")])
        #expect(fixed.drift.isEmpty && fixed.changes == [Store.ChangeRecord(account: "usersample", detail: "chmod")])
    }
}
