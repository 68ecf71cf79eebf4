import Foundation
import Testing
@testable import KeySync

/// `offboard`'s planning: every file of every account, managed or not; only
/// the leaver's lines go; push's write rules and lockout guard hold.
@Suite struct OffboardPlannerTests {
    /// The leaver's key (ed25519), keysync's login key (ECDSA), someone else's key (RSA).
    let leaver: PublicKey, login: PublicKey, other: PublicKey
    let keys: [String: String]
    let options: PlanOptions

    init() throws {
        leaver = try SyncKeys.ed25519()
        login = try SyncKeys.ecdsa256()
        other = try SyncKeys.rsa3072()
        keys = [leaver.fingerprint: "kp-bob"]
        options = PlanOptions(revoked: [leaver.fingerprint], loginKeyFingerprint: login.fingerprint, loginUser: "ops")
    }

    func plan(_ accounts: [FakeAccount], options: PlanOptions? = nil) throws -> OffboardHostPlan {
        OffboardPlanner.plan(sections: try FakeProbe.probe(accounts, scan: true).sections, keys: keys, options: options ?? self.options)
    }

    @Test func removesTheLinesInAndOutsideBlocksAndKeepsEveryOtherByte() throws {
        let content = "# ops team\r\n" + SyncKeys.line(login) + "\r\n" + "from=\"10.0.0.0/8\" " + SyncKeys.line(leaver) + " pasted\r\n"
            + SyncKeys.block(project: "billing", role: "deploy", [SyncKeys.line(other), SyncKeys.line(leaver)]) + "no final newline"
        var ops = FakeAccount.existing("ops", content: Array(content.utf8))
        ops.uid = 2000
        let plan = try plan([ops, .existing("nobody-else", content: Array((SyncKeys.line(other) + "\n").utf8))])
        #expect(plan.unreadable.isEmpty)
        #expect(plan.files.count == 1)
        let file = try #require(plan.files.first)
        #expect(file.findings == [
            KeyFinding(account: "ops", path: "/home/ops/.ssh/authorized_keys", line: 3, key: "kp-bob", fingerprint: leaver.fingerprint),
            KeyFinding(account: "ops", path: "/home/ops/.ssh/authorized_keys", line: 6, key: "kp-bob", fingerprint: leaver.fingerprint,
                       block: "project=billing role=deploy"),
        ])
        let write = try #require(file.write)
        #expect(write.expectedHash == SHA256Digest.hex(Array(content.utf8)))
        #expect(String(decoding: write.content, as: UTF8.self) == "# ops team\r\n" + SyncKeys.line(login) + "\r\n"
            + SyncKeys.block(project: "billing", role: "deploy", [SyncKeys.line(other)]) + "no final newline")
        #expect(file.blocked == nil)
    }

    @Test func everyKeysFileOfAnAccountIsItsOwnPlan() throws {
        var first = FakeAccount.existing("root", content: Array((SyncKeys.line(leaver) + "\n" + SyncKeys.line(other) + "\n").utf8))
        (first.uid, first.gid, first.home) = (0, 0, "/root")
        var second = first
        second.pathOverride = "/root/.ssh/authorized_keys2"
        second.content = Array((SyncKeys.line(other) + "\n" + SyncKeys.line(leaver) + "\n").utf8)
        let plan = try plan([first, second])
        #expect(plan.files.map(\.path) == ["/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys2"])
        #expect(plan.files.map { $0.findings.map(\.line) } == [[1], [2]])
        #expect(plan.files.allSatisfy { $0.write?.content == Array((SyncKeys.line(other) + "\n").utf8) })
    }

    @Test func theLoginKeyIsProtectedUnlessForced() throws {
        // keysync logs in as ops with the leaver's key.
        var options = self.options
        options.loginKeyFingerprint = leaver.fingerprint
        let ops = FakeAccount.existing("ops", content: Array((SyncKeys.line(leaver) + "\n" + SyncKeys.line(other) + "\n").utf8))
        let refused = try #require(try plan([ops], options: options).files.first)
        #expect(refused.write == nil)
        #expect(refused.blocked == "refused: this would remove \(leaver.fingerprint), the key keysync logs in with as ops; use --force if you really mean it")
        #expect(refused.lockout?.fingerprint == leaver.fingerprint)
        // The same key in another account's file is not the login key's file: it goes.
        #expect(try plan([.existing("usersample", content: ops.content)], options: options).files.first?.write != nil)
        options.force = true
        #expect(try plan([ops], options: options).files.first?.write != nil)
    }

    @Test func aLeaversLastKeyGoesEvenIfTheFileEndsEmpty() throws {
        // As for any revoked key: the guard counts only keys the account may keep.
        let plan = try plan([.existing("bob", content: Array((SyncKeys.line(leaver) + "\n").utf8))])
        #expect(plan.files.first?.write?.content == [])
    }

    @Test(arguments: [
        ("symlinked file", "is a symlink; keysync never writes through a link (the key is in the file it points to)"),
        ("symlinked .ssh", "/home/app/.ssh is a symlink"),
        ("symlinked home", "home /home/app is a symlink"),
        (".ssh owned by root", "/home/app/.ssh is owned by uid 0, not app; keysync writes as the account and never chowns"),
        ("outside home in a folder others may change", "/etc/ssh/keys is owned by uid 1001, not root: keysync writes the root-owned keys file /etc/ssh/keys/app only in folders that only root can change"),
    ])
    func linesStayWhereKeysyncNeverWrites(_ name: String, _ reason: String) throws {
        var app = FakeAccount.existing("app", content: Array((SyncKeys.line(leaver) + "\n").utf8))
        switch name {
        case "symlinked file": app.fileStat = "symbolic link|777|1001|1001|20"
        case "symlinked .ssh": app.dirStat = "symbolic link|777|1001|1001|20"
        case "symlinked home": app.homeStat = "symbolic link|777|1001|1001|20"
        case ".ssh owned by root": app.dirStat = "directory|700|0|0|4096"
        default:
            app.pathOverride = "/etc/ssh/keys/app"
            app.rootKeys = "/etc/ssh/keys is owned by uid 1001, not root"
        }
        let file = try #require(try plan([app]).files.first)
        #expect(file.write == nil)
        #expect(file.blocked?.contains(reason) == true, "\(file.blocked ?? "nil")")
        #expect(file.findings.count == 1)
    }

    @Test func aFileThatCannotBeReadFailsTheHost() throws {
        var big = FakeAccount.existing("big", content: nil)
        big.tooLarge = 5 << 20
        var locked = FakeAccount.existing("locked", content: nil)
        locked.readStatus = 1
        locked.fileStat = "regular file|600|0|0|10"
        locked.fileLinks = 2
        var dangling = FakeAccount.existing("dangling", content: nil)
        dangling.fileStat = "symbolic link|777|1001|1001|20"
        dangling.readStatus = 1
        let plan = try plan([big, locked, dangling])
        #expect(plan.files.isEmpty)
        #expect(plan.unreadable.count == 2)
        #expect(plan.unreadable[0].hasPrefix("big: /home/big/.ssh/authorized_keys is 5242880 bytes"))
        #expect(plan.unreadable[1].contains("owned by root and has 2 hard links"))
        #expect(plan.unreadable.allSatisfy { $0.hasSuffix("cannot tell whether a key is in it") })
    }

    @Test func aSharedFileIsPlannedOnceForTheAccountThatOwnsIt() throws {
        var first = FakeAccount.existing("games", content: Array((SyncKeys.line(leaver) + "\n").utf8))
        (first.uid, first.home) = (5, "/srv/shared")
        first.fileStat = "regular file|600|1001|1001|80"
        var owner = first
        (owner.name, owner.uid) = ("app", 1001)
        let plan = try plan([first, owner])
        #expect(plan.files.map(\.account) == ["app"])
    }
}
