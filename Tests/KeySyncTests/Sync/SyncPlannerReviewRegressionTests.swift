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

    /// An AuthorizedKeysFile that is one file for every account (review s13:
    /// keysync wrote the role's block there, and its key logged in as root
    /// and as everyone) or `none`: nothing is planned, created or written;
    /// a revoked key in it is still reported. Per-account forms plan as before.
    @Test(arguments: [
        ("/etc/ssh/shared_keys .ssh/authorized_keys", true), ("/root/.ssh/authorized_keys", true), ("~/.ssh/authorized_keys", true),
        ("/etc/ssh/keys%%u", true), ("none", true), ("NONE", true),
        (".ssh/authorized_keys", false), ("%h/.ssh/authorized_keys", false), ("/etc/ssh/authorized_keys/%u", false),
        ("/etc/ssh/keys/%U", false),
    ])
    func aKeysFileSharedByEveryAccountIsNeverWritten(_ setting: String, _ refused: Bool) throws {
        let key = try SyncKeys.ed25519()
        let revoked = try SyncKeys.ecdsa256()
        var existing = FakeAccount.existing("usersample", content: F.bytes(revoked.openSSHLine + "\n"))
        existing.sshd = ["authorizedkeysfile \(setting)"]
        var missing = FakeAccount.missing("app")
        missing.sshd = existing.sshd
        var options = PlanOptions()
        options.revoked = [revoked.fingerprint]
        let plans = [try F.single(existing, F.target("usersample", [F.entry("k", key)]), options: options),
                     try F.single(missing, F.target("app", [F.entry("k", key)], create: true), options: options)]
        for plan in plans {
            #expect(plan.drift.contains { $0.kind == .unsupportedPath } == refused, "\(plan.account): \(plan.drift)")
            if refused {
                #expect(plan.apply == nil, "\(plan.account)")
                #expect(plan.drift.contains { $0.kind == .revokedKey } == (plan.account == "usersample"))
            }
        }
    }

    /// A comment put inside a block by hand breaks it (its markers no longer
    /// pair, the block is left as it is): a key in it the role no longer
    /// grants still logs in, so it is named, not repairable (review s13).
    @Test func aKeyInABrokenBlockTheRoleNoLongerGrantsIsNamed() throws {
        let kept = try SyncKeys.ed25519(), dropped = try SyncKeys.ecdsa256()
        let content = F.bytes("# keysync:begin project=usersample role=deploy\n\(kept.openSSHLine)\n# bob: a note\n\(dropped.openSSHLine)\n# keysync:end project=usersample role=deploy\n")
        let plan = try F.single(FakeAccount.existing("usersample", content: content), F.target("usersample", [F.entry("k", kept)]))
        let unexpected = plan.drift.filter { $0.kind == .unexpectedKey }
        #expect(unexpected.map(\.fingerprint) == [dropped.fingerprint] && unexpected.allSatisfy { !$0.repairable }, "\(plan.drift.map { "\($0.kind) \($0.detail)" })")
        #expect(unexpected.first?.detail.contains("line 4 is in the broken block") == true)
        #expect(plan.drift.filter { $0.kind == .invalidMarker }.count == 2)
    }

    /// An exclusive account in a `--project` run: a block of a selected-out
    /// project that the inventory does not map here (the owner wrote it) is
    /// stale and goes; one it maps here stays (review s13).
    @Test func anExclusiveAccountLosesAForgedBlockOfAnotherProjectInAScopedRun() throws {
        let (a, b, c) = try SyncKeys.three()
        func block(_ project: String, _ key: PublicKey) -> String { SyncKeys.block(project: project, role: "deploy", [key.openSSHLine]) }
        let content = F.bytes(block("usersample", a) + block("other", b) + block("forged", c))
        var target = F.target("usersample", [F.entry("a", a)], exclusive: true)
        target.outOfScopeBlocks = [try ManagedBlockID(project: "other", role: "deploy")]
        var options = PlanOptions()
        options.knownProjects = ["usersample", "other", "forged"]
        let plan = try F.single(FakeAccount.existing("usersample", content: content), target, scope: ["usersample"], options: options)
        #expect(plan.drift.filter { $0.kind == .staleBlock }.map(\.detail).allSatisfy { $0.hasPrefix("block project=forged role=deploy") })
        #expect(plan.drift.filter { $0.kind == .staleBlock }.count == 1, "\(plan.drift)")
        #expect(plan.apply?.write?.content == F.bytes(block("usersample", a) + block("other", b)))
        target.exclusive = false
        let shared = try F.single(FakeAccount.existing("usersample", content: content), target, scope: ["usersample"], options: options)
        #expect(!shared.drift.contains { $0.kind == .staleBlock }, "not exclusive: selected-out blocks are not this run's")
    }

    /// A block broken from inside whose role no longer maps to the account
    /// (the usual removal): its keys still log in, so they are named too;
    /// a block whose end marker was deleted claims nothing.
    @Test func keysOfABrokenBlockWhoseRoleLeftAreNamed() throws {
        let (a, b, _) = try SyncKeys.three()
        let broken = "# keysync:begin project=usersample role=old\n\(b.openSSHLine)\n# a note\n# keysync:end project=usersample role=old\n"
        var options = PlanOptions()
        options.knownProjects = ["usersample"]
        let plan = try F.single(FakeAccount.existing("usersample", content: F.bytes(SyncKeys.block(project: "usersample", role: "deploy", [a.openSSHLine]) + broken)),
                                F.target("usersample", [F.entry("a", a)]), options: options)
        let named = plan.drift.filter { $0.kind == .unexpectedKey }
        #expect(named.map(\.fingerprint) == [b.fingerprint] && named.allSatisfy { !$0.repairable } && named.first?.detail.contains("which no role maps") == true, "\(plan.drift)")
        let noEnd = "# keysync:begin project=usersample role=old\n\(b.openSSHLine)\n# a note\n"
        let open = try F.single(FakeAccount.existing("usersample", content: F.bytes(noEnd)), F.target("usersample", [F.entry("a", a)]), options: options)
        #expect(!open.drift.contains { $0.kind == .unexpectedKey }, "\(open.drift)")
    }

    /// Two blocks for one id: the second one's keys are compared too (review
    /// s13: push dropped them and nothing ever named them); push keeps one block.
    @Test func keysOfASecondBlockForOneIDAreNamed() throws {
        let (a, b, c) = try SyncKeys.three()
        let block = { (keys: [PublicKey]) in SyncKeys.block(project: "usersample", role: "deploy", keys.map(\.openSSHLine)) }
        let content = F.bytes(block([a]) + "# between\n" + block([b, c]))
        let plan = try F.single(FakeAccount.existing("usersample", content: content), F.target("usersample", [F.entry("a", a), F.entry("c", c)]))
        #expect(plan.drift.filter { $0.kind == .unexpectedKey }.map(\.fingerprint) == [b.fingerprint], "\(plan.drift)")
        #expect(!plan.drift.contains { $0.kind == .missingKey })
        #expect(plan.drift.first { $0.kind == .invalidMarker }?.detail.contains("removes this one") == true)
        #expect(plan.apply?.write?.content == F.bytes(block([a, c]) + "# between\n"))
    }

    /// What an account owner writes is bounded before it is printed and
    /// stored (review s13: 3 MB of `from="…"` in one drift detail per check,
    /// 30,000 made-up keys as `host_keys` rows per check): a detail is cut at
    /// ``AccountPlan/detailLimit`` bytes, and beyond the managed keys at most
    /// ``AccountPlan/seenKeyLimit`` keys are recorded, comments cut.
    @Test func whatAnOwnerWritesIsBoundedInDriftAndSeenKeys() throws {
        let key = try SyncKeys.ed25519()
        func madeUp(_ n: Int) -> String {
            var blob: [UInt8] = [0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [0, 0, 0, 32]
            blob += (0..<32).map { UInt8(truncatingIfNeeded: n >> ($0 % 4 * 8) ^ $0) }
            return "ssh-ed25519 \(Data(blob).base64EncodedString()) " + String(repeating: "c", count: 500)
        }
        let longOptions = "from=\"" + String(repeating: "a", count: 50_000) + "\" "
        let content = F.bytes(SyncKeys.block(project: "usersample", role: "deploy", [longOptions + key.openSSHLine])
                              + (0..<1_500).map(madeUp).joined(separator: "\n") + "\n")
        let hidden = try SyncKeys.ecdsa256()
        var options = PlanOptions()
        options.knownFingerprints = [hidden.fingerprint]
        let plan = try F.single(FakeAccount.existing("usersample", content: content + F.bytes(hidden.openSSHLine + "\n")),
                                F.target("usersample", [F.entry("k", key)]), options: options)
        #expect(plan.seenKeys.contains { $0.fingerprint == hidden.fingerprint }, "an inventory key after the cap is still recorded")
        let changed = try #require(plan.drift.first { $0.kind == .optionsChanged })
        #expect(changed.detail.utf8.count < AccountPlan.detailLimit + 40 && changed.detail.hasSuffix(" bytes)"), "\(changed.detail.utf8.count)")
        #expect(plan.seenKeys.count == AccountPlan.seenKeyLimit + 1)
        #expect(plan.seenKeys.contains { $0.managed && $0.fingerprint == key.fingerprint })
        #expect(plan.seenKeys.allSatisfy { $0.comment.utf8.count < 240 })
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
