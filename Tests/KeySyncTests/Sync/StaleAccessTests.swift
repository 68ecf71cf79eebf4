import Foundation
import Testing
@testable import KeySync

/// Issue 16, part 1: accounts no selected role names any more
/// (``AccountTarget/formerlyManaged``), read only for what keysync left there.
@Suite struct FormerAccountPlanTests {
    typealias F = PlannerFixture
    let a: PublicKey, b: PublicKey, c: PublicKey

    init() throws { (a, b, c) = try SyncKeys.three() }

    func former(_ name: String = "usersample") -> AccountTarget {
        var account = AccountTarget(name: name)
        account.formerlyManaged = true
        return account
    }

    func block(_ key: PublicKey, project: String = "usersample", role: String = "deploy") -> String {
        SyncKeys.block(project: project, role: role, [SyncKeys.line(key)])
    }

    var known: PlanOptions {
        var options = PlanOptions()
        options.knownProjects = ["usersample", "other"]
        return options
    }

    @Test func everyBlockGoesAndTheUsersLinesStay() throws {
        let mine = "# mine\n\(SyncKeys.line(c))\n"
        let account = FakeAccount.existing("usersample", content: F.bytes(mine + block(a) + block(b, project: "other")))
        let plan = try F.single(account, former(), options: known)
        #expect(plan.apply?.write?.content == F.bytes(mine))
        #expect(plan.drift.map(\.kind) == [.staleBlock, .staleBlock])
        #expect(plan.drift.allSatisfy { $0.repairable })
        #expect(plan.blocksBefore?.map(\.description) == ["project=usersample role=deploy", "project=other role=deploy"])
        #expect(plan.changes.first?.hasPrefix("fix stale_block: block project=usersample role=deploy") == true)
        let again = try F.replan(after: plan, account, former(), options: known)
        #expect(again.apply == nil && again.drift.isEmpty && again.changes.isEmpty)
    }

    @Test func withAProjectScopeOnlyItsBlocksAndUnknownProjectsGo() throws {
        let before = block(a) + block(b, project: "other") + block(c, project: "gone")
        let plan = try F.single(.existing("usersample", content: F.bytes(before)), former(), scope: ["usersample"], options: known)
        #expect(plan.apply?.write?.content == F.bytes(block(b, project: "other")))
        #expect(plan.drift.map(\.detail).map { $0.prefix(30) } == ["block project=usersample role=", "block project=gone role=deploy"])
    }

    @Test func anAccountWithNothingOfKeysyncsIsLeftAloneAndSaysNothing() throws {
        var locked = FakeAccount.existing("usersample", content: F.bytes("\(SyncKeys.line(a))\n"))
        locked.shadow = "locked:19000:0:99999:7::"
        locked.homeStat = "directory|777|1001|1001|4096"
        locked.fileStat = "regular file|644|0|0|80"
        let plan = try F.single(locked, former(), options: known)
        #expect(plan.apply == nil && plan.drift.isEmpty && plan.changes.isEmpty && plan.seenKeys.isEmpty)
        // Only blocks of projects outside the scope: nothing to do either.
        let other = try F.single(.existing("usersample", content: F.bytes(block(b, project: "other"))), former(), scope: ["usersample"], options: known)
        #expect(other.apply == nil && other.drift.isEmpty)
        // Gone, or without a file: nothing, and no `account_missing`. A gone
        // account is forgotten; one without a file is kept (its owner may have
        // moved the file away for this run only).
        let missing = try F.plan([.missing("usersample"), .existing("nofile", content: nil)], [former(), former("nofile")], options: known)
        #expect(missing.failure == nil)
        #expect(missing.accounts.allSatisfy { $0.drift.isEmpty && $0.apply == nil })
        #expect(missing.accounts.map(\.blocksBefore) == [[], nil])
    }

    /// The owner breaks the stale block from inside (a comment between its
    /// markers): its keys still grant access, so the account stays recorded
    /// and is read again on the next run (review s15 removal #1).
    @Test func aBlockBrokenByHandKeepsTheAccountRecorded() throws {
        let broken = block(a).replacingOccurrences(of: "role=deploy\n", with: "role=deploy\n# my note\n", options: [], range: nil)
        let plan = try F.single(.existing("usersample", content: F.bytes(broken)), former(), options: known)
        #expect(plan.blocksBefore?.map(\.description) == ["project=usersample role=deploy"], "\(String(describing: plan.blocksBefore))")
        #expect(!plan.drift.isEmpty, "the broken block's key is reported")
    }

    @Test func aRevokedKeyAloneIsReasonEnough() throws {
        var options = known
        options.revoked = [b.fingerprint]
        let before = "\(SyncKeys.line(a))\n\(SyncKeys.line(b))\n"
        let plan = try F.single(.existing("usersample", content: F.bytes(before)), former(), options: options)
        #expect(plan.apply?.write?.content == F.bytes("\(SyncKeys.line(a))\n"))
        #expect(plan.drift.map(\.kind) == [.revokedKey])
    }

    @Test func theAccountStateIsNotJudgedButWhatBlocksTheWriteIsReported() throws {
        var account = FakeAccount.existing("usersample", content: F.bytes(block(a) + "\(SyncKeys.line(b))\n"))
        account.shadow = "locked:19000:0:99999:7::"
        account.homeStat = "directory|777|1001|1001|4096"
        let plan = try F.single(account, former(), options: known)
        #expect(plan.drift.map(\.kind) == [.staleBlock], "no account_locked or home_unsafe for an account keysync no longer manages")
        var linked = FakeAccount.existing("usersample", content: nil)
        linked.dirStat = "symbolic link|777|1001|1001|10"
        let blocked = try F.single(linked, former(), options: known)
        #expect(blocked.drift.map(\.kind) == [.symlink])
        #expect(blocked.blocksBefore == nil, "unknown: the database keeps what it knew")
    }

    /// The lockout guard holds on this path: the block held the account's
    /// only keys, or keysync's own login key.
    @Test func theLockoutGuardHolds() throws {
        let only = FakeAccount.existing("usersample", content: F.bytes(block(a)))
        let refused = try F.single(only, former(), options: known)
        #expect(refused.apply == nil)
        #expect(refused.drift.map(\.kind) == [.staleBlock, .lockoutRefused])
        #expect(refused.drift.allSatisfy { !$0.repairable })
        var forced = known
        forced.force = true
        #expect(try F.single(only, former(), options: forced).apply?.write?.content == [])

        var login = known
        login.loginUser = "ops"
        login.loginKeyFingerprint = a.fingerprint
        let ops = FakeAccount.existing("ops", content: F.bytes(block(a, project: "admin", role: "ops") + "\(SyncKeys.line(b))\n"))
        let guarded = try F.single(ops, former("ops"), options: login)
        #expect(guarded.apply == nil)
        #expect(guarded.drift.contains { $0.kind == .lockoutRefused && $0.fingerprint == a.fingerprint })
    }

    /// A managed account keeps its own rules; a block of a role that no
    /// longer names it is `stale_block`, reported once even when stray
    /// markers keep it as an empty block.
    @Test func anEmptiedBlockBetweenStrayMarkersIsNotReportedAgain() throws {
        let strays = "# keysync:begin project=usersample role=deploy\n\(SyncKeys.line(c))\n"
        let tail = "\(SyncKeys.line(b))\n# keysync:end project=usersample role=deploy\n"
        let account = FakeAccount.existing("usersample", content: F.bytes(strays + block(a, project: "gone", role: "x") + tail))
        let target = F.target("usersample", [F.entry("kb", b)])
        let plan = try F.single(account, target, options: known)
        #expect(plan.drift.filter { $0.kind == .staleBlock }.count == 1)
        let again = try F.replan(after: plan, account, target, options: known)
        #expect(!again.drift.contains { $0.kind == .staleBlock })
        #expect(again.apply == nil)
    }
}

@Suite struct ManagedHistoryTests {
    static let yaml = """
        defaults: {user: ops}
        keys:
          alice: {file: keys/alice.pub}
        hosts:
          web-1: {address: 127.77.0.1, groups: [web]}
          lab-1: {address: 127.77.0.4}
        projects:
          shop:
            hosts: [web-1]
            roles:
              deploy: {account: svc, keys: [alice]}
              admin: {account: shop, keys: [alice]}
          blog:
            hosts: [web-1]
            roles:
              writer: {account: svc, keys: [alice]}
        """

    func history(_ accounts: [(String, String, [Store.BlockRef]?)], hosts: [Store.ManagedHost] = []) -> ManagedHistory {
        ManagedHistory(accounts: accounts.map { Store.ManagedAccount(host: $0.0, account: $0.1, blocks: $0.2) }, hosts: hosts)
    }

    func names(_ targets: [HostTarget]) -> [String] {
        targets.map { $0.host.name + ": " + $0.accounts.map { $0.name + ($0.formerlyManaged ? "*" : "") }.joined(separator: " ") }
    }

    @Test func formerAccountsJoinTheirHostsAndEmptyHostsDrop() throws {
        let inventory = try InventoryFixtures.load(Self.yaml)
        let targets = try inventory.select(includingHostsWithoutBlocks: true)
        #expect(names(targets) == ["web-1: svc shop", "lab-1: "])
        let recorded = history([
            ("web-1", "svc", [.init(project: "shop", role: "deploy")]),
            ("web-1", "old", [.init(project: "shop", role: "deploy")]),
            ("web-1", "shop", [.init(project: "blog", role: "writer")]),
            ("lab-1", "svc", nil),
            ("gone-1", "svc", [.init(project: "shop", role: "deploy")]),
        ])
        #expect(names(recorded.apply(to: targets, inventory: inventory)) == ["web-1: svc shop old*", "lab-1: svc*"])
        #expect(names(history([]).apply(to: targets, inventory: inventory)) == ["web-1: svc shop"])

        // --project blog: `old` holds only a shop block, which blog may not touch; `shop` holds a blog
        // block although only shop names it now; lab-1's blocks are not known yet.
        let blog = try inventory.select(projects: ["blog"], includingHostsWithoutBlocks: true)
        #expect(names(recorded.apply(to: blog, inventory: inventory)) == ["web-1: svc shop*", "lab-1: svc*"])
        // A block of a project the inventory no longer has is stale for any scope.
        let gone = history([("web-1", "old", [.init(project: "retired", role: "x")])])
        #expect(names(gone.apply(to: blog, inventory: inventory)) == ["web-1: svc old*"])

        // Targets narrowed to some accounts (a rotation's push): an account the inventory names is never former.
        var narrowed = try inventory.select()
        narrowed[0].accounts.removeAll { $0.name == "svc" }
        #expect(names(recorded.apply(to: narrowed, inventory: inventory)) == ["web-1: shop old*"])
    }

    @Test func departedHostsAreListedByScopeUntilRetired() throws {
        let inventory = try InventoryFixtures.load(Self.yaml)
        func host(_ name: String, retired: Store.HostRetirement? = nil, address: String? = "10.0.0.9") -> Store.ManagedHost {
            Store.ManagedHost(host: name, address: address, port: 22, user: "ops", identity: "/k", agent: false, become: "sudo",
                              connectTimeout: 10, commandTimeout: 30, hostKey: nil, knownHosts: nil, lastRun: 1,
                              lastReachedAt: Date(), retired: retired, retiredRun: nil, retiredAt: nil)
        }
        let recorded = history([("gone-1", "svc", [.init(project: "shop", role: "deploy")]), ("gone-3", "svc", nil)],
                               hosts: [host("web-1"), host("gone-1"), host("gone-2", retired: .decommissioned),
                                       host("gone-3", address: nil), host("gone-4", retired: .forgotten)])
        func listed(_ listing: ManagedHistory.DepartedListing) -> [String] {
            recorded.departedHosts(listing, inventory: inventory).map(\.host)
        }
        #expect(listed(.all) == ["gone-1", "gone-3"])
        #expect(listed(.projects(["shop"])) == ["gone-1", "gone-3"])
        #expect(listed(.projects(["blog"])) == ["gone-3"], "blocks not known since the upgrade may be blog's")
        #expect(listed(.none).isEmpty)
        let result = try #require(recorded.departedHosts(.all, inventory: inventory).first)
        #expect(result.status == .drift)
        #expect(result.drift.map(\.kind) == [.hostDeparted])
        #expect(result.drift[0].detail == "gone-1 (ops@10.0.0.9) is no longer under hosts: in the inventory; keysync's blocks may still grant access there: `keysync decommission gone-1` removes them, `keysync decommission gone-1 --forget` records that the machine is gone")
        #expect(recorded.departedHosts(.all, inventory: inventory)[1].drift[0].detail.contains("put it back under hosts: for one push"))
    }

    @Test func aDepartedHostMakesCheckExitTwoPushZeroAndAFailureThree() {
        let departed = RunReport.Host(host: "gone-1", status: .drift, changes: [],
                                      drift: [DriftItem(account: "", kind: .hostDeparted, detail: "x")])
        var report = RunReport(run: 1, hosts: [departed], summary: .init(hosts: 1, changed: 0, drift: 1, failed: 0, seconds: 0),
                               interrupted: false)
        #expect(report.exitCode(for: .push, dryRun: false) == 0, "DESIGN.md: 2 is drift found by check; a push that is done exits 0")
        #expect(report.exitCode(for: .check, dryRun: false) == 2)
        report.summary.failed = 1
        #expect(report.exitCode(for: .push, dryRun: false) == 3)
    }

    @Test func pushAndCheckJSONNameEveryContractFieldNullWhenEmpty() throws {
        // DESIGN.md: {"run", "hosts": [{"host", "status", "error", "changes", "drift": [{"account", "kind", "detail", "fingerprint"}]}], "summary"}.
        let ok = RunReport.Host(host: "web-1", status: .drift, changes: [],
                                drift: [DriftItem(account: "deploy", kind: .fileMode, detail: "0644, expected 0600")])
        var failed = RunReport.Host(host: "web-2", status: .failed, changes: [],
                                    drift: [DriftItem(account: "", kind: .hostUnreachable, detail: "web-2: bastion refused")])
        (failed.error, failed.errorKind) = ("web-2: bastion refused", .jumpFailed)
        let report = RunReport(run: nil, hosts: [ok, failed], summary: .init(hosts: 2, changed: 0, drift: 1, failed: 1, seconds: 0.5),
                               interrupted: false)
        let encoder = JSONEncoder()
        let object = try #require(try JSONSerialization.jsonObject(with: encoder.encode(report)) as? [String: Any])
        #expect(object["run"] is NSNull)
        let hosts = try #require(object["hosts"] as? [[String: Any]])
        #expect(hosts[0]["error"] is NSNull && hosts[0]["error_kind"] is NSNull)
        #expect(hosts[1]["error"] as? String == "web-2: bastion refused" && hosts[1]["error_kind"] as? String == "jump_failed")
        let drift = try #require(hosts[0]["drift"] as? [[String: Any]])
        #expect(Set(drift[0].keys) == ["account", "kind", "detail", "fingerprint"] && drift[0]["fingerprint"] is NSNull)
        // And it reads back.
        let decoded = try JSONDecoder().decode(RunReport.self, from: encoder.encode(report))
        #expect(decoded.hosts.map(\.errorKind) == [nil, .jumpFailed] && decoded.run == nil)
    }
}
