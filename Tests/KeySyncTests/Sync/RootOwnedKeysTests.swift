import Foundation
import Testing
@testable import KeySync

/// Keys files outside home in a root-owned layout
/// (`AuthorizedKeysFile /etc/ssh/authorized_keys/%u`, issue 19): planned as
/// root's files, written only in folders only root can change.
@Suite struct RootOwnedKeysTests {
    typealias F = PlannerFixture
    static let setting = "authorizedkeysfile /etc/ssh/authorized_keys/%u"

    /// `usersample` with its keys file in /etc/ssh/authorized_keys, root:root 0644 unless set.
    static func account(content: [UInt8]?, fileStat: String? = nil) -> FakeAccount {
        var account = FakeAccount.existing("usersample", content: content)
        account.sshd = [setting, "strictmodes yes"]
        account.pathOverride = "/etc/ssh/authorized_keys/usersample"
        account.dirStat = "directory|755|0|0|4096"
        account.fileStat = fileStat ?? content.map { "regular file|644|0|0|\($0.count)" }
        return account
    }

    @Test func aMissingFileIsWrittenByRootAndAHandAddedLineStays() throws {
        let key = try SyncKeys.ed25519(), handAdded = try SyncKeys.ecdsa256()
        let target = F.target("usersample", [F.entry("k", key)])
        let absent = try F.single(Self.account(content: nil), target)
        let write = try #require(absent.apply?.write)
        #expect(write.path == "/etc/ssh/authorized_keys/usersample")
        #expect(write.expectedHash == "absent")
        #expect(!write.makeFolder)
        #expect(absent.drift.map(\.kind) == [.missingKey])
        // The operator's own line outside the block stays, byte for byte.
        let content = F.bytes(SyncKeys.line(handAdded) + " by hand\n")
        let kept = try F.single(Self.account(content: content), target)
        let rewritten = String(decoding: try #require(kept.apply?.write).content, as: UTF8.self)
        #expect(rewritten.hasPrefix(SyncKeys.line(handAdded) + " by hand\n"))
        #expect(rewritten.contains(key.base64))
        // Written, the next plan has nothing to do.
        var after = Self.account(content: try #require(kept.apply?.write).content)
        after.fileStat = "regular file|644|0|0|10"
        let second = try F.single(after, target)
        #expect(second.apply == nil)
        #expect(second.drift.isEmpty, "\(second.drift)")
    }

    @Test func ownerAndModeAreRootRoot0644() throws {
        let key = try SyncKeys.ed25519()
        let content = F.bytes(SyncKeys.block(project: "usersample", role: "deploy", [key.openSSHLine]))
        let target = F.target("usersample", [F.entry("k", key)])
        // Owned by the account, sshd reads it, but the account could add keys itself.
        let owned = try F.single(Self.account(content: content, fileStat: "regular file|644|1001|1001|10"), target)
        #expect(owned.drift.map(\.kind) == [.fileOwner])
        #expect(owned.drift.allSatisfy { $0.repairable })
        #expect(owned.apply?.write?.content == content)
        let hidden = try F.single(Self.account(content: content, fileStat: "regular file|600|0|0|10"), target)
        #expect(hidden.drift.map(\.kind) == [.fileMode])
        #expect(hidden.drift.first?.detail.contains("want 0644") == true)
        #expect(hidden.apply?.write != nil)
    }

    /// The folder must be one nobody but root can change: the probe's reason
    /// becomes the drift, never repaired; revoked keys there are reported.
    @Test(arguments: [
        ("/etc/ssh/authorized_keys is owned by uid 1001, not root", DriftKind.dirOwner),
        ("/etc/ssh/authorized_keys is writable by group or others", .dirMode),
        ("/etc/ssh/authorized_keys is a symlink", .symlink),
    ])
    func anUnsafeFolderIsNeverWritten(_ reason: String, _ kind: DriftKind) throws {
        let revoked = try SyncKeys.ed25519()
        var account = Self.account(content: F.bytes(SyncKeys.line(revoked) + "\n"))
        account.rootKeys = reason
        let plan = try F.single(account, F.target("usersample", [F.entry("k", try SyncKeys.ed25519())]),
                                options: PlanOptions(revoked: [revoked.fingerprint]))
        #expect(plan.drift.map(\.kind) == [kind, .revokedKey])
        #expect(plan.drift.first?.detail.hasPrefix(reason + ": keysync writes the root-owned keys file") == true)
        #expect(plan.drift.allSatisfy { !$0.repairable })
        #expect(plan.apply == nil)
    }

    @Test func theFolderSSHDNamesIsMadeButNotOneMadeFromTheAccount() throws {
        let target = F.target("usersample", [F.entry("k", try SyncKeys.ed25519())])
        var named = Self.account(content: nil)
        named.dirStat = "absent"
        #expect(try F.single(named, target).apply?.write?.makeFolder == true)
        var perAccount = Self.account(content: nil)
        perAccount.sshd = ["authorizedkeysfile /etc/ssh/keys/%u/authorized_keys"]
        perAccount.pathOverride = "/etc/ssh/keys/usersample/authorized_keys"
        perAccount.dirStat = "absent"
        let plan = try F.single(perAccount, target)
        #expect(plan.drift.map(\.kind) == [.unsupportedPath])
        #expect(plan.drift.first?.detail.contains("mkdir -m 755 /etc/ssh/keys/usersample") == true)
        #expect(plan.apply == nil)
        // A new account's file: the folder is made only when sshd names it.
        var missing = FakeAccount.missing("usersample")
        missing.sshd = [Self.setting]
        let created = try F.single(missing, F.target("usersample", [F.entry("k", try SyncKeys.ed25519())], create: true))
        #expect(created.apply?.write?.path == "/etc/ssh/authorized_keys/usersample")
        #expect(created.apply?.write?.makeFolder == true)
    }

    @Test func aLinkAPathThatLeavesTheFolderOrNoAnswerIsLeftAlone() throws {
        let target = F.target("usersample", [F.entry("k", try SyncKeys.ed25519())])
        let link = try F.single(Self.account(content: nil, fileStat: "symbolic link|777|0|0|11"), target)
        #expect(link.drift.map(\.kind) == [.symlink])
        #expect(link.apply == nil)
        var dotdot = Self.account(content: nil)
        dotdot.pathOverride = "/etc/ssh/authorized_keys/../shadow"
        #expect(try F.single(dotdot, target).drift.map(\.kind) == [.unsupportedPath])
        var silent = Self.account(content: nil)
        silent.rootKeys = "-"
        let unknown = try F.single(silent, target)
        #expect(unknown.drift.map(\.kind) == [.unsupportedPath])
        #expect(unknown.apply == nil)
    }

    /// Bytes only root could read are kept only when they look like keys
    /// (as for a home's root-owned file); bytes the account reads are its file.
    @Test func contentReadAsRootIsKeptOnlyWhenItIsKeys() throws {
        let target = F.target("usersample", [F.entry("k", try SyncKeys.ed25519())])
        let notKeys = F.bytes("root:$6$secret:19000:0:99999:7:::\n")
        var asRoot = Self.account(content: notKeys, fileStat: "regular file|600|0|0|40")
        asRoot.readAsRoot = true
        let refused = try F.single(asRoot, target)
        #expect(refused.drift.map(\.kind) == [.fileOwner])
        #expect(refused.apply == nil)
        #expect(refused.oldContent == nil)
        let readable = try F.single(Self.account(content: notKeys), target)
        #expect(readable.apply?.write?.content.starts(with: notKeys) == true)
    }

    @Test func offboardRemovesALeaversLineFromARootOwnedFile() throws {
        let leaver = try SyncKeys.ed25519(), other = try SyncKeys.ecdsa256()
        let content = F.bytes(SyncKeys.line(other) + "\n" + SyncKeys.line(leaver) + "\n")
        let plan = OffboardPlanner.plan(sections: try FakeProbe.probe([Self.account(content: content)]).sections,
                                        keys: [leaver.fingerprint: "kp-bob"], options: PlanOptions(revoked: [leaver.fingerprint]))
        let file = try #require(plan.files.first)
        #expect(file.blocked == nil)
        #expect(file.write?.path == "/etc/ssh/authorized_keys/usersample")
        #expect(file.write?.content == F.bytes(SyncKeys.line(other) + "\n"))
    }

    @Test func applyRoutesAFileOutsideHomeToRootsWrite() {
        let write = FileWrite(path: "/etc/ssh/authorized_keys/app", expectedHash: "absent", content: F.bytes("x\n"), makeFolder: true)
        let script = ApplyScript.render([AccountApply(account: "app", write: write)], nonce: "n1")
        #expect(script.contains("write_file 'app' '/etc/ssh/authorized_keys' '/etc/ssh/authorized_keys/app' 'absent' "))
        #expect(script.contains(" '|x\n' yes\n"))
        #expect(script.contains("write_root_keys()"))
    }

    /// The real apply functions, as root, in a folder under /root: root:root
    /// 0644, compare-and-swap, no link followed, the named folder made, an
    /// unsafe folder refused.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isWritableFile(atPath: "/root")))
    func theHostWriteIsRootOwnedAndRefusesUnsafeFolders() throws {
        let folder = try RootFilesTests.RootFolder()
        defer { folder.remove() }
        let dir = folder.path + "/authorized_keys", path = dir + "/app"
        func write(_ expected: String, _ text: String, make: Bool = false, file: String? = nil, folder: String? = nil) throws -> ApplyOutcome? {
            let content = F.bytes(text)
            let call = "write_root_keys " + ["app", folder ?? dir, file ?? (folder.map { $0 + "/app" } ?? path), expected, SHA256Digest.hex(content),
                                             Data(content).base64EncodedString()].map(Shell.quote).joined(separator: " ")
                + (make ? " yes\n" : "\n")
            var script = ApplyScript.render([], nonce: "n9")
            script.insert(contentsOf: call, at: script.range(of: ProbeScript.endLine)!.lowerBound)
            let output = try LocalShell.run(script, arguments: ["-s"])
            return try ApplyScript.outcomes(from: output.stdout, nonce: "n9")["app"]
        }
        #expect(try write("absent", "a\n") == .conflict("\(dir) is not a directory; left alone"))
        #expect(try write("absent", "a\n", make: true) == .written(hash: SHA256Digest.hex(F.bytes("a\n"))))
        #expect(try LocalSandbox.sh("stat -c '%U:%G %a' \(path) \(dir)") == "root:root 644\nroot:root 755\n")
        #expect(try write("absent", "b\n") == .conflict("\(path) changed since it was read"))
        #expect(try write(SHA256Digest.hex(F.bytes("a\n")), "c\n") == .written(hash: SHA256Digest.hex(F.bytes("c\n"))))
        #expect(try LocalSandbox.sh("cat \(path)") == "c\n")
        #expect(try write("absent", "d\n", file: dir + "/x/../app") == .failed("\(dir)/x/../app is not a file in \(dir)"))
        #expect(try write("absent", "d\n", folder: folder.path + "/x/../authorized_keys") == .failed("\(folder.path)/x/../authorized_keys is not a plain absolute path"))
        try LocalSandbox.sh("rm \(path) && ln -s /etc/passwd \(path)")
        #expect(try write("absent", "e\n") == .conflict("\(path) is a symlink; left alone"))
        try LocalSandbox.sh("rm \(path) && chmod 775 \(dir)")
        #expect(try write("absent", "f\n") == .conflict("\(dir) is writable by group or others; left alone"))
        #expect(try LocalSandbox.sh("ls -A \(dir)") == "")
    }
}
