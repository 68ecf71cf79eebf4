import Foundation
import Testing
@testable import KeySync

/// Behaviour the review found wrong, now fixed; kept as regression tests.
@Suite struct SyncPlannerReviewRegressionTests {
    typealias F = PlannerFixture

    /// `AuthorizedKeysFile /etc/ssh/authorized_keys/%u`: the folder is shared by
    /// every account and owned by root (sshd accepts that). Planning must not
    /// ask for it to be chowned to one account and made 0700 (apply would do
    /// exactly that and lock every other account out).
    @Test func sharedRootOwnedKeyFolderOutsideHomeIsNotTakenOver() throws {
        let key = try SyncKeys.ed25519()
        let content = F.bytes(SyncKeys.block(project: "usersample", role: "deploy", [key.openSSHLine]))
        var account = FakeAccount.existing("usersample", content: content)
        account.sshd = ["authorizedkeysfile /etc/ssh/authorized_keys/%u"]
        account.dirStat = "directory|755|0|0|4096"
        account.fileStat = "regular file|644|0|0|\(content.count)"
        account.pathOverride = "/etc/ssh/authorized_keys/usersample"
        let host = try F.plan([account], [F.target("usersample", [F.entry("k", key)])])
        let plan = try #require(host.accounts.first)
        #expect(plan.path == "/etc/ssh/authorized_keys/usersample")
        #expect(!plan.drift.contains { $0.kind == .dirOwner || $0.kind == .dirMode })
        // A root-owned layout (issue 19): root's file, in sync, nothing to do.
        #expect(plan.drift.isEmpty, "\(plan.drift)")
        #expect(plan.apply == nil)
    }

    /// One key in two roles that map to the same account: both blocks hold
    /// it, so every run reports `duplicate_key` that push can never repair
    /// and `check` exits 2 forever.
    @Test func sameKeyInTwoRolesOfOneAccountConverges() throws {
        let key = try SyncKeys.ed25519()
        let target = AccountTarget(name: "app", blocks: [
            DesiredBlock(project: "p", role: "deploy", entries: [F.entry("k", key)]),
            DesiredBlock(project: "p", role: "ci", entries: [F.entry("k", key)]),
        ])
        let account = FakeAccount.existing("app", content: nil)
        let first = try F.single(account, target)
        let second = try F.replan(after: first, account, target)
        #expect(second.apply == nil)
        #expect(second.drift.isEmpty, "\(second.drift)")
    }
}
