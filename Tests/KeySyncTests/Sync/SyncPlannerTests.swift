import Foundation
import Testing
@testable import KeySync

/// Helpers shared by the planner suites.
enum PlannerFixture {
    static func entry(_ name: String, _ key: PublicKey, options: String? = nil) -> DesiredEntry {
        DesiredEntry(keyName: name, key: key, options: options)
    }

    static func target(_ name: String, project: String = "usersample", role: String = "deploy",
                       _ entries: [DesiredEntry], create: Bool = false, exclusive: Bool = false) -> AccountTarget {
        AccountTarget(name: name, uid: 1001, gid: 1001, group: name, shell: "/bin/bash", home: "/home/\(name)",
                      create: create, exclusive: exclusive,
                      blocks: [DesiredBlock(project: project, role: role, entries: entries)])
    }

    static func plan(_ accounts: [FakeAccount], _ targets: [AccountTarget], scope: Set<String>? = nil,
                     options: PlanOptions = PlanOptions(),
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> HostPlan {
        SyncPlanner.plan(probe: try FakeProbe.probe(accounts, sourceLocation: sourceLocation), accounts: targets,
                         scope: scope, options: options)
    }

    /// Plans one account and returns its plan, requiring that the host did not fail.
    static func single(_ account: FakeAccount, _ target: AccountTarget, scope: Set<String>? = nil,
                       options: PlanOptions = PlanOptions(),
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> AccountPlan {
        let host = try plan([account], [target], scope: scope, options: options, sourceLocation: sourceLocation)
        #expect(host.failure == nil, sourceLocation: sourceLocation)
        return try #require(host.accounts.first, sourceLocation: sourceLocation)
    }

    /// Plans again as if the first plan's write had happened (file 0600, owned
    /// by the account, `.ssh` 0700) and returns the second plan.
    static func replan(after first: AccountPlan, _ account: FakeAccount, _ target: AccountTarget,
                       scope: Set<String>? = nil, options: PlanOptions = PlanOptions(),
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> AccountPlan {
        let write = try #require(first.apply?.write, "first plan writes nothing", sourceLocation: sourceLocation)
        var after = account
        after.exists = true
        after.content = write.content
        after.fileStat = nil
        after.dirStat = nil
        return try single(after, target, scope: scope, options: options, sourceLocation: sourceLocation)
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
}

@Suite struct SyncPlannerAccountTests {
    typealias F = PlannerFixture

    @Test func freshAccountIsCreatedAndWrittenAgainstAbsent() throws {
        let key = try SyncKeys.ed25519()
        let target = F.target("usersample", [F.entry("kp-usersample", key)], create: true)
        let plan = try F.single(.missing("usersample"), target)
        let apply = try #require(plan.apply)
        #expect(apply.create == AccountCreation(uid: 1001, gid: 1001, group: "usersample", createGroup: true,
                                                home: "/home/usersample", shell: "/bin/bash"))
        #expect(apply.fixHome == false)
        let write = try #require(apply.write)
        #expect(write.expectedHash == "absent")
        #expect(write.path == "/home/usersample/.ssh/authorized_keys")
        #expect(write.content == F.bytes(SyncKeys.block(project: "usersample", role: "deploy", [SyncKeys.line(key)])))
        #expect(plan.drift.map(\.kind).contains(.accountMissing))
        #expect(plan.drift.allSatisfy { $0.repairable })
        #expect(plan.changes.first == "create account usersample (uid 1001, gid 1001)")
        #expect(plan.oldHash == "absent")
    }

    @Test func creationUsesDefaultsAndTheSshdPath() throws {
        let key = try SyncKeys.ed25519()
        let target = AccountTarget(name: "app", create: true,
                                   blocks: [DesiredBlock(project: "p", role: "app", entries: [F.entry("k", key)])])
        var missing = FakeAccount.missing("app")
        missing.sshd = ["authorizedkeysfile /etc/ssh/authorized_keys/%u"]
        let plan = try F.single(missing, target)
        let apply = try #require(plan.apply)
        #expect(apply.create == AccountCreation(uid: nil, gid: nil, group: "app", createGroup: true,
                                                home: "/home/app", shell: "/bin/bash"))
        #expect(apply.write?.path == "/etc/ssh/authorized_keys/app")
        #expect(plan.changes.first == "create account app")
    }

    @Test func existingGroupWithTheRightGidIsReused() throws {
        var missing = FakeAccount.missing("usersample")
        missing.gidOwner = .some("usersample")
        missing.groupNameGID = .some(1001)
        let plan = try F.single(missing, F.target("usersample", [F.entry("k", try SyncKeys.ed25519())], create: true))
        #expect(plan.apply?.create?.createGroup == false)
    }

    @Test func missingAccountWithoutCreateIsDriftAndNothingIsApplied() throws {
        let host = try F.plan([.missing("usersample")], [F.target("usersample", [F.entry("k", try SyncKeys.ed25519())])])
        #expect(host.failure == nil)
        let plan = try #require(host.accounts.first)
        #expect(plan.drift.map(\.kind) == [.accountMissing])
        #expect(plan.drift.first?.repairable == false)
        #expect(plan.apply == nil)
        #expect(plan.changes.isEmpty)
    }

    enum Clash: String, CaseIterable { case uid, gid, groupWithOtherGid }

    @Test(arguments: Clash.allCases)
    func idClashFailsTheHost(_ clash: Clash) throws {
        var missing = FakeAccount.missing("usersample")
        switch clash {
        case .uid: missing.uidOwner = .some("alice")
        case .gid: missing.gidOwner = .some("staff")
        case .groupWithOtherGid:
            missing.groupNameGID = .some(2000)
            missing.gidOwner = .some(nil)
        }
        let other = FakeAccount.existing("bob", content: nil)
        let host = try F.plan([missing, other], [
            F.target("usersample", [F.entry("k", try SyncKeys.ed25519())], create: true),
            F.target("bob", [F.entry("k", try SyncKeys.ed25519())]),
        ])
        let failure = try #require(host.failure)
        #expect(failure.contains("cannot create usersample"))
        switch clash {
        case .uid: #expect(failure.contains("uid 1001 already belongs to alice"))
        case .gid: #expect(failure.contains("gid 1001 already belongs to group staff"))
        case .groupWithOtherGid: #expect(failure.contains("group usersample exists with gid 2000"))
        }
        #expect(host.accounts.first?.apply == nil)
    }

    @Test func accountTheProbeDidNotReturnFailsTheHost() throws {
        let host = try F.plan([], [F.target("ghost", [])])
        #expect(host.failure?.contains("probe returned nothing for account ghost") == true)
    }

    /// One account's unreadable file (its owner's chmod 000) is that
    /// account's drift; the host's other accounts are planned as usual.
    @Test func aReadErrorIsTheAccountsDriftNotTheHosts() throws {
        var account = FakeAccount.existing("alice", content: nil)
        account.fileStat = "regular file|0|1001|1001|10"
        account.readStatus = 1
        let host = try F.plan([account, FakeAccount.existing("bob", content: [])], [F.target("alice", []), F.target("bob", [F.entry("k", try SyncKeys.ed25519())])])
        #expect(host.failure == nil)
        let alice = try #require(host.accounts.first { $0.account == "alice" })
        #expect(alice.drift.map(\.kind).contains(.fileUnreadable), "\(alice.drift)")
        #expect(alice.drift.first { $0.kind == .fileUnreadable }?.detail.contains("cannot read") == true)
        #expect(alice.apply == nil)
        #expect(host.accounts.first { $0.account == "bob" }?.apply?.write != nil)
    }

    /// A root-owned file with two links was not read as root (another link
    /// could be someone else's file): the failure says why and what to do.
    @Test func aRootOwnedFileWithTwoLinksFailsWithTheReason() throws {
        var account = FakeAccount.existing("alice", content: nil)
        account.fileStat = "regular file|600|0|0|10"
        account.fileLinks = 2
        account.readStatus = 1
        let host = try F.plan([account], [F.target("alice", [])])
        let detail = host.accounts.first?.drift.first { $0.kind == .fileUnreadable }?.detail ?? ""
        #expect(detail.contains("2 hard links"), "\(host.accounts)")
        #expect(host.accounts.first?.apply == nil)
    }

    /// The owner pads the file to just under the line limit: keysync's block
    /// would push it over, so the next probe could not read it back (review
    /// s15 files #11). Nothing is written; the push reports file_too_large.
    @Test func aWriteThatWouldPassTheLineLimitIsNotMade() throws {
        let padding = String(repeating: "#\n", count: HostProbe.lineLimit - 1)
        let account = FakeAccount.existing("alice", content: F.bytes(padding))
        let plan = try F.single(account, F.target("alice", [F.entry("k", try SyncKeys.ed25519())]))
        #expect(plan.apply == nil && plan.changes.isEmpty)
        #expect(plan.drift.contains { $0.kind == .fileTooLarge && $0.detail.contains("\(HostProbe.lineLimit + 2) lines") }, "\(plan.drift.map(\.detail))")
        #expect(SyncPlanner.beyondReadLimits(F.bytes(padding)) == nil)
    }

    @Test func aTooLargeFileIsReportedAndNothingIsWritten() throws {
        var account = FakeAccount.existing("alice", content: nil)
        account.fileStat = "regular file|600|1001|1001|9999999"
        account.tooLarge = 9_999_999
        let host = try F.plan([account], [F.target("alice", [F.entry("k", try SyncKeys.ed25519())])])
        #expect(host.failure == nil)
        #expect(host.accounts.first?.drift.map(\.kind) == [.fileTooLarge])
        #expect(host.accounts.first?.drift.first?.repairable == false)
        #expect(host.accounts.first?.apply == nil)
    }

    /// A revoked key behind a symlink (read as the account, as sshd reads
    /// it) cannot be removed: reported, not repairable, nothing written.
    @Test func aRevokedKeyBehindASymlinkIsReportedAsUnrepairable() throws {
        let key = try SyncKeys.ed25519()
        var account = FakeAccount.existing("alice", content: F.bytes(SyncKeys.line(key) + "\n"))
        account.fileStat = "symbolic link|777|1001|1001|12"
        let plan = try F.single(account, F.target("alice", []), options: PlanOptions(revoked: [key.fingerprint]))
        #expect(plan.drift.map(\.kind) == [.symlink, .revokedKey])
        #expect(plan.drift.allSatisfy { !$0.repairable })
        #expect(plan.apply == nil)
    }

    /// sshd also reads the files after the first in AuthorizedKeysFile
    /// (`.ssh/authorized_keys2` by default); keysync writes only the first.
    /// A revoked key there (or any key, in an exclusive account) is
    /// reported and never repairable, so push fails the host; a file the
    /// account cannot read is one sshd cannot use either.
    @Test func keysInASecondKeysFileAreReportedAndNeverRepairable() throws {
        let revoked = try SyncKeys.ed25519(), other = try SyncKeys.ecdsa256(), granted = try SyncKeys.rsa3072()
        var account = FakeAccount.existing("alice", content: F.bytes(SyncKeys.line(revoked) + "\n"))
        account.otherFiles = [
            (path: "/home/alice/.ssh/authorized_keys2", content: F.bytes("# hand\n" + SyncKeys.line(other) + "\n" + SyncKeys.line(revoked) + "\n"), status: 0),
            (path: "/home/alice/.ssh/unreadable", content: F.bytes(SyncKeys.line(revoked) + "\n"), status: 1),
        ]
        let options = PlanOptions(revoked: [revoked.fingerprint])
        let plan = try F.single(account, F.target("alice", [F.entry("g", granted)]), options: options)
        let second = plan.drift.filter { $0.detail.contains("authorized_keys2") }
        #expect(second.map(\.kind) == [.revokedKey])
        #expect(second.first?.detail.contains("line 3 of /home/alice/.ssh/authorized_keys2") == true)
        #expect(second.allSatisfy { !$0.repairable })
        #expect(!plan.drift.contains { $0.detail.contains("unreadable") })
        // The first file is still repaired: the revoked line goes, the grant comes.
        #expect(plan.drift.contains { $0.kind == .revokedKey && $0.repairable })
        #expect(plan.apply?.write?.path == "/home/alice/.ssh/authorized_keys")

        let exclusive = try F.single(account, F.target("alice", [F.entry("g", granted)], exclusive: true), options: PlanOptions())
        let unmanaged = exclusive.drift.filter { $0.detail.contains("authorized_keys2") }
        #expect(unmanaged.map(\.kind) == [.unmanagedKey, .unmanagedKey])
        #expect(unmanaged.allSatisfy { !$0.repairable })

        let plain = try F.single(account, F.target("alice", [F.entry("g", granted)]), options: PlanOptions())
        #expect(!plain.drift.contains { $0.detail.contains("authorized_keys2") })
    }

    /// A file the account fills with junk lines does not make a drift item
    /// per line: the first 100 of a kind are listed, the rest counted.
    @Test func perLineDriftIsListedUpToABoundAndCounted() throws {
        let key = try SyncKeys.ed25519()
        let junk = String(repeating: "x\n", count: 250) + String(repeating: SyncKeys.line(key) + "\n", count: 3)
        let account = FakeAccount.existing("alice", content: F.bytes(junk))
        let plan = try F.single(account, F.target("alice", []), options: PlanOptions(revoked: [key.fingerprint]))
        let invalid = plan.drift.filter { $0.kind == .invalidLine }
        #expect(invalid.count == AccountPlan.listedPerKind + 1)
        #expect(invalid.last?.detail.hasPrefix("150 more invalid_line items") == true)
        #expect(plan.drift.filter { $0.kind == .revokedKey }.count == 3)
        // The write still removes every revoked line.
        let written = String(decoding: try #require(plan.apply?.write?.content), as: UTF8.self)
        #expect(!written.contains(SyncKeys.line(key)))
    }

    /// A second keys file too large to read may hold a revoked key.
    @Test func aTooLargeSecondKeysFileIsUnrepairable() throws {
        let revoked = try SyncKeys.ed25519()
        var account = FakeAccount.existing("alice", content: F.bytes(""))
        account.otherFiles = [(path: "/home/alice/.ssh/authorized_keys2",
                               content: [UInt8](repeating: 0x61, count: ProbeScript.fileSizeLimit + 1), status: 0)]
        let plan = try F.single(account, F.target("alice", []), options: PlanOptions(revoked: [revoked.fingerprint]))
        #expect(plan.drift.filter { !$0.repairable }.map(\.kind) == [.fileTooLarge])
    }

    /// Found by FuzzProbeReply (Fuzz/Crashes/probe_reply): a home that is
    /// missing, with AuthorizedKeysFile outside it (`/etc/ssh/keys/%u`, still
    /// read as the account), left a revoked key there as plain `home_unsafe`
    /// drift, so push did not fail the host.
    @Test func aRevokedKeyUnderAMissingHomeIsReportedAsUnrepairable() throws {
        let key = try SyncKeys.ed25519()
        var account = FakeAccount.existing("svc", content: F.bytes(SyncKeys.line(key) + "\n"))
        account.home = "/nonexistent"
        account.homeStat = "absent"
        let plan = try F.single(account, F.target("svc", []), options: PlanOptions(revoked: [key.fingerprint]))
        #expect(plan.drift.map(\.kind) == [.homeUnsafe, .revokedKey])
        #expect(plan.drift.allSatisfy { !$0.repairable })
        #expect(plan.apply == nil)
    }

    /// Folders between home and a nested key folder are never changed: a
    /// link or an unsafe one stops the write.
    @Test(arguments: [
        ("symbolic link|777|1001|1001|3", DriftKind.symlink),
        ("directory|777|1001|1001|4096", .dirMode),
        ("directory|755|1002|1002|4096", .dirOwner),
        ("regular file|600|1001|1001|0", .symlink),
    ])
    func nestedKeyFoldersAreCheckedOnTheWay(_ folder: String, _ kind: DriftKind) throws {
        var account = FakeAccount.existing("alice", content: nil)
        account.pathOverride = "/home/alice/.config/ssh/authorized_keys"
        account.folderStats["/home/alice/.config"] = folder
        let plan = try F.single(account, F.target("alice", [F.entry("k", try SyncKeys.ed25519())]))
        #expect(plan.drift.map(\.kind) == [kind])
        #expect(plan.drift.allSatisfy { !$0.repairable })
        #expect(plan.apply == nil)
    }

    @Test func missingNestedFoldersAreCreatedByTheWrite() throws {
        var account = FakeAccount.existing("alice", content: nil)
        account.pathOverride = "/home/alice/.config/ssh/authorized_keys"
        account.folderStats["/home/alice/.config"] = "absent"
        let plan = try F.single(account, F.target("alice", [F.entry("k", try SyncKeys.ed25519())]))
        #expect(plan.apply?.write?.path == "/home/alice/.config/ssh/authorized_keys")
    }

    // MARK: Owners, modes, symlinks

    /// The account renamed a root-only file (a secret, ~/.viminfo) to its
    /// keys file; the probe read it as root. It is not handed to the
    /// account: nothing written, its bytes not kept, doctor --fix refuses.
    @Test func aRootOwnedFileThatIsNotAKeysFileIsNotTakenOver() throws {
        let key = try SyncKeys.ed25519()
        let content = F.bytes("# notes\n" + SyncKeys.line(key) + "\nDB_PASSWORD=hunter2\n")
        var account = FakeAccount.existing("usersample", content: content)
        account.fileStat = "regular file|600|0|0|\(content.count)"
        let plan = try F.single(account, F.target("usersample", [F.entry("k", key)]))
        #expect(plan.drift.map(\.kind) == [.fileOwner])
        // The comment counts too: the file is root-only, so it is text the account could not read.
        #expect(plan.drift.first?.detail.contains("2 of its lines (the first: line 1)") == true, "\(plan.drift)")
        #expect(plan.drift.allSatisfy { !$0.repairable })
        #expect(plan.apply == nil)
        #expect(plan.oldContent == nil)
        #expect(!plan.drift.contains { $0.detail.contains("hunter2") })
        let probe = try FakeProbe.probe([account])
        #expect(SyncPlanner.rootFileThatIsNotKeys(try #require(probe.accounts["usersample"])) != nil)
    }

    /// A passwd line that makes a role account root (uid 0) gets none of its
    /// keys: they would log in as root (review s15 files #9).
    @Test func anAccountThatResolvesToUIDZeroGetsNothing() throws {
        var account = FakeAccount.existing("usersample", content: [])
        (account.uid, account.gid, account.home) = (0, 0, "/root")
        account.homeStat = "directory|700|0|0|4096"
        let plan = try F.single(account, F.target("usersample", [F.entry("k", try SyncKeys.ed25519())]))
        #expect(plan.drift.map(\.kind) == [.accountUID], "\(plan.drift)")
        #expect(plan.apply == nil)
    }

    /// A comment in a root-only file is not handed over (review s15 files #5);
    /// in a file readable to all, it was the account's to read anyway. The
    /// fix never chowns through `.ssh`, nor a file with a second name.
    @Test func aCommentInARootOnlyFileKeepsItFromTheAccount() throws {
        let key = try SyncKeys.ed25519()
        let content = F.bytes("# root-only note: db password is hunter2\n" + SyncKeys.line(key) + "\n")
        var rootOnly = FakeAccount.existing("usersample", content: content)
        rootOnly.fileStat = "regular file|600|0|0|\(content.count)"
        let refused = try F.single(rootOnly, F.target("usersample", [F.entry("k", key)]))
        #expect(refused.apply == nil && refused.oldContent == nil)
        let detail = try #require(refused.drift.first { $0.kind == .fileOwner }?.detail)
        #expect(detail.contains("cd -P -- /home/usersample/.ssh && [ \"$(pwd -P)\" = /home/usersample/.ssh ] && chown -h usersample: ./authorized_keys"), "\(detail)")
        rootOnly.fileLinks = 2
        let linked = try F.single(rootOnly, F.target("usersample", [F.entry("k", key)]))
        #expect(linked.drift.first { $0.kind == .fileOwner }?.detail.contains("never chown it") == true, "\(linked.drift)")

        var readable = FakeAccount.existing("usersample", content: content)
        readable.fileStat = "regular file|644|0|0|\(content.count)"
        let taken = try F.single(readable, F.target("usersample", [F.entry("k", key)]))
        #expect(taken.apply?.write != nil && taken.drift.allSatisfy { $0.repairable }, "\(taken.drift)")
    }

    @Test func rootOwnedFileIsRewrittenWithTheSameBytes() throws {
        let key = try SyncKeys.ed25519()
        let content = F.bytes(SyncKeys.block(project: "usersample", role: "deploy", [SyncKeys.line(key)]))
        var account = FakeAccount.existing("usersample", content: content)
        account.fileStat = "regular file|600|0|0|\(content.count)"
        let target = F.target("usersample", [F.entry("k", key)])
        let plan = try F.single(account, target)
        #expect(plan.drift.map(\.kind) == [.fileOwner])
        #expect(plan.drift.allSatisfy { $0.repairable })
        let write = try #require(plan.apply?.write)
        #expect(write.content == content)
        #expect(write.expectedHash == SHA256Digest.hex(content))
        #expect(plan.changes == ["repair owner and modes of /home/usersample/.ssh/authorized_keys"])
        #expect(plan.diff == nil)
        let again = try F.replan(after: plan, account, target)
        #expect(again.apply == nil && again.drift.isEmpty && again.changes.isEmpty)
    }

    @Test(arguments: [
        ("directory|777|1001|1001|4096", "regular file|600|1001|1001|1", [DriftKind.dirMode]),
        ("directory|700|1001|1001|4096", "regular file|644|0|0|1", [.fileOwner, .fileMode]),
        ("directory|700|1001|1001|4096", "regular file|664|1001|1001|1", [.fileMode]),
    ])
    func modesAndOwnersAreRepaired(_ dir: String, _ file: String, _ kinds: [DriftKind]) throws {
        let key = try SyncKeys.ed25519()
        let content = F.bytes(SyncKeys.block(project: "usersample", role: "deploy", [SyncKeys.line(key)]))
        var account = FakeAccount.existing("usersample", content: content)
        account.dirStat = dir
        account.fileStat = file
        let target = F.target("usersample", [F.entry("k", key)])
        let plan = try F.single(account, target)
        #expect(plan.drift.map(\.kind) == kinds)
        #expect(plan.drift.allSatisfy { $0.repairable })
        #expect(plan.apply?.write?.content == content)
        let again = try F.replan(after: plan, account, target)
        #expect(again.apply == nil && again.drift.isEmpty)
    }

    /// A key folder the account does not own is never chowned (as root, by
    /// path, the account could swap in a link): reported with the fix, nothing written.
    @Test(arguments: ["directory|700|0|0|4096", "directory|755|1002|1002|4096"])
    func aKeyFolderTheAccountDoesNotOwnIsReportedNotChowned(_ dir: String) throws {
        let key = try SyncKeys.ed25519()
        var account = FakeAccount.existing("usersample", content: F.bytes(SyncKeys.line(key) + "\n"))
        account.dirStat = dir
        let plan = try F.single(account, F.target("usersample", [F.entry("k", key)]))
        #expect(plan.drift.map(\.kind) == [.dirOwner])
        #expect(plan.drift.first?.repairable == false)
        #expect(plan.drift.first?.detail.contains("chown -h usersample: /home/usersample/.ssh") == true)
        #expect(plan.apply == nil)
    }

    enum Link: String, CaseIterable { case file, directory, home, fileIsFifo, directoryIsFile }

    @Test(arguments: Link.allCases)
    func symlinksAreReportedAndNothingIsWritten(_ link: Link) throws {
        var account = FakeAccount.existing("usersample", content: nil)
        switch link {
        case .file: account.fileStat = "symbolic link|777|1001|1001|12"
        case .directory: account.dirStat = "symbolic link|777|1001|1001|4"
        case .home: account.homeStat = "symbolic link|777|0|0|9"
        case .fileIsFifo: account.fileStat = "fifo|600|1001|1001|0"
        case .directoryIsFile: account.dirStat = "regular file|600|1001|1001|0"
        }
        let plan = try F.single(account, F.target("usersample", [F.entry("k", try SyncKeys.ed25519())]))
        #expect(plan.drift.map(\.kind) == [.symlink])
        #expect(plan.apply == nil)
        #expect(plan.drift.first?.repairable == false)
        #expect(plan.changes.isEmpty)
    }

    @Test func missingHomeIsReportedAndNothingIsWritten() throws {
        var account = FakeAccount.existing("usersample", content: nil)
        account.homeStat = "absent"
        let plan = try F.single(account, F.target("usersample", [F.entry("k", try SyncKeys.ed25519())]))
        #expect(plan.drift.map(\.kind) == [.homeUnsafe])
        #expect(plan.apply == nil)
    }

    @Test(arguments: [
        ("directory|775|1001|100|4096", nil, true),      // group-writable, not on Debian (no group_sole line)
        ("directory|775|1001|100|4096", false, true),    // Debian, but the group is not the account's alone
        ("directory|757|1001|1001|4096", true, true),    // world-writable
        ("directory|777|1001|1001|4096", true, true),    // world-writable, even with the private group
        ("directory|755|1002|1002|4096", nil, true),     // someone else's
        ("directory|775|1001|1001|4096", true, false),   // Debian: a group that is the account's alone may write
        ("directory|775|1001|1001|4096", nil, true),     // upstream sshd: no group write at all
        ("directory|755|0|0|4096", nil, false),          // root-owned is fine
        ("directory|700|1001|1001|4096", nil, false),
    ] as [(String, Bool?, Bool)])
    func homeThatStrictModesRefuses(_ home: String, _ groupSole: Bool?, _ unsafe: Bool) throws {
        let key = try SyncKeys.ed25519()
        let content = F.bytes(SyncKeys.block(project: "usersample", role: "deploy", [SyncKeys.line(key)]))
        var account = FakeAccount.existing("usersample", content: content)
        account.homeStat = home
        let fields = home.split(separator: "|")
        if let groupSole { account.groupSole["\(fields[3]):\(fields[2])"] = groupSole }
        let target = F.target("usersample", [F.entry("k", key)])

        let plan = try F.single(account, target)
        #expect(plan.drift.map(\.kind) == (unsafe ? [.homeUnsafe] : []))
        #expect(plan.drift.allSatisfy { !$0.repairable })
        #expect(plan.apply == nil)

        // --fix-home only chmods: someone else's home stays someone else's.
        let chmodFixes = unsafe && !home.contains("|1002|")
        let fixing = try F.single(account, target, options: PlanOptions(fixHome: true))
        #expect(fixing.drift.map(\.kind) == (unsafe ? [.homeUnsafe] : []))
        #expect(fixing.drift.allSatisfy { $0.repairable == chmodFixes })
        #expect(fixing.apply == (chmodFixes ? AccountApply(account: "usersample", fixHome: true) : nil))
    }

    /// With StrictModes no sshd takes any home: no home_unsafe (rotation would read it as a refused login).
    @Test func strictModesNoTakesAnyHome() throws {
        let key = try SyncKeys.ed25519()
        let content = F.bytes(SyncKeys.block(project: "usersample", role: "deploy", [SyncKeys.line(key)]))
        var account = FakeAccount.existing("usersample", content: content)
        account.homeStat = "directory|777|1001|1001|4096"
        account.sshd = ["authorizedkeysfile .ssh/authorized_keys", "strictmodes no"]
        #expect(try F.single(account, F.target("usersample", [F.entry("k", key)])).drift.isEmpty)
        account.sshd = ["authorizedkeysfile .ssh/authorized_keys", "strictmodes yes"]
        #expect(try F.single(account, F.target("usersample", [F.entry("k", key)])).drift.map(\.kind) == [.homeUnsafe])
    }

    @Test func percentTokensExpandAsSSHDDoes() {
        #expect(AuthorizedKeysPath.expand("/etc/ssh/keys/%U %h/.ssh/k", home: "/home/u", user: "u", uid: 1301) == "/etc/ssh/keys/1301")
        #expect(AuthorizedKeysPath.expand("%%/%u/%h", home: "/home/u", user: "u") == "/home/u/%/u//home/u")
        #expect(AuthorizedKeysPath.expand(nil, home: "/home/u", user: "u") == "/home/u/.ssh/authorized_keys")
    }

    @Test func unsafeHomeWithFixHomeAlsoWrites() throws {
        var account = FakeAccount.existing("usersample", content: nil)
        account.homeStat = "directory|777|1001|1001|4096"
        let plan = try F.single(account, F.target("usersample", [F.entry("k", try SyncKeys.ed25519())]),
                                options: PlanOptions(fixHome: true))
        #expect(plan.apply?.fixHome == true)
        #expect(plan.apply?.write != nil)
        #expect(plan.changes.contains { $0.hasPrefix("fix home /home/usersample") })
    }

    // MARK: Account state that is reported only

    @Test func lockedExpiredPasswordChangeAndShellAreReportedNotRepaired() throws {
        let key = try SyncKeys.ed25519()
        let content = F.bytes(SyncKeys.block(project: "usersample", role: "deploy", [SyncKeys.line(key)]))
        var account = FakeAccount.existing("usersample", content: content)
        account.shadow = "locked:0:0:99999:7::19999"
        account.today = 20000
        account.shellValid = false
        account.shell = "/bin/nosuchshell"
        // Without PAM sshd checks the lock itself and ignores password ageing;
        // with PAM the lock is PAM's to ignore and the forced change refuses.
        for (pam, kinds) in [("no", [DriftKind.accountLocked, .accountExpired, .shellInvalid]),
                             ("yes", [.accountExpired, .passwordChangeRequired, .shellInvalid])] {
            account.sshd = ["authorizedkeysfile .ssh/authorized_keys", "usepam \(pam)"]
            let plan = try F.single(account, F.target("usersample", [F.entry("k", key)]))
            #expect(Set(plan.drift.map(\.kind)) == Set(kinds), "UsePAM \(pam)")
            #expect(plan.drift.allSatisfy { !$0.repairable })
            #expect(plan.apply == nil)
            #expect(plan.changes.isEmpty)
        }
    }

    @Test(arguments: [
        ("star:19000:0:99999:7::", "no", [DriftKind]()),
        ("hash:19000:0:99999:7::", "no", []),
        ("empty:19000:0:99999:7::", "no", []),
        ("locked:19000:0:99999:7::", "no", [.accountLocked]),
        ("locked:19000:0:99999:7::", "yes", []),              // pam_unix's account phase ignores the '!'
        ("star:0:0:99999:7::", "yes", [.passwordChangeRequired]),
        ("star:0:0:99999:7::", "no", []),                     // without PAM only password logins check ageing
        ("star:19900:0:90:7::", "yes", [.passwordChangeRequired]), // aged out (today 20000)
        ("star:19900:0:90:7:5:", "yes", [.accountExpired]),   // and past its inactive days
        ("star:19900:0:90:7::", "no", []),
        ("star:19000:0:99999:7::20001", "no", []),
        ("star:19000:0:99999:7::19999", "no", [.accountExpired]),
    ])
    func shadowStates(_ shadow: String, _ pam: String, _ kinds: [DriftKind]) throws {
        var account = FakeAccount.existing("usersample", content: nil)
        account.shadow = shadow
        account.sshd = ["authorizedkeysfile .ssh/authorized_keys", "usepam \(pam)"]
        let plan = try F.single(account, F.target("usersample", []))
        #expect(plan.drift.map(\.kind) == kinds)
    }

    @Test func lockedAccountStillGetsItsKeys() throws {
        var account = FakeAccount.existing("usersample", content: nil)
        account.shadow = "locked:19000:0:99999:7::"
        let plan = try F.single(account, F.target("usersample", [F.entry("k", try SyncKeys.ed25519())]))
        #expect(plan.apply?.write != nil)
        #expect(plan.drift.first { $0.kind == .accountLocked }?.repairable == false)
        #expect(plan.drift.first { $0.kind == .missingKey }?.repairable == true)
    }
}
