import Foundation
import Testing
@testable import KeySync

@Suite struct HostProbeTests {
    /// A directory service's GECOS field may hold ':' (getent prints it raw):
    /// home and shell are counted from the right, in Swift and on the host
    /// (lookup.sh's passwd_fields), so the field cannot move keysync to a
    /// decoy home while sshd reads the real one.
    @Test(arguments: [
        ("alice:x:1001:1002:Alice,,,:/home/alice:/bin/bash", "1001|1002|/home/alice|/bin/bash"),
        ("alice:x:1001:1002:A:/home/alice/decoy:/home/alice/s:/home/alice:/bin/bash", "1001|1002|/home/alice|/bin/bash"),
        ("svc:x:7:8::/srv/svc:", "7|8|/srv/svc|"),
    ])
    func aColonInGECOSDoesNotShiftHomeOrShell(entry: String, expected: String) throws {
        let fields = HostProbe.passwdFields(entry[...])
        #expect(fields.count == 7)
        #expect([fields[2], fields[3], fields[5], fields[6]].joined(separator: "|") == expected)
        let shell = try LocalShell.run(EmbeddedScripts.lookup + "\npasswd_fields \(Shell.quote(entry))\nprintf '%s|%s|%s|%s' \"$pf_uid\" \"$pf_gid\" \"$pf_home\" \"$pf_shell\"\n")
        #expect(shell.text == expected)
    }

    @Test func parsesAFullReplyWithSeveralAccounts() throws {
        var alice = FakeAccount.existing("alice", content: Array("ssh-ed25519 AAAA x\n".utf8))
        alice.sshd.append("allowusers ops")
        alice.sshd.append("allowusers alice")
        var bob = FakeAccount.missing("bob")
        bob.uidOwner = .some("carol")
        bob.gidOwner = .some("staff")
        bob.groupNameGID = .some(1500)
        var dave = FakeAccount.existing("dave", content: nil)
        dave.shadow = "locked:0:0:99999:7:30:19999"
        dave.shellValid = false
        dave.fileStat = "symbolic link|777|0|0|11"

        let probe = try FakeProbe.probe([alice, bob, dave])
        #expect(probe.euid == 0)
        #expect(probe.hasSetpriv)
        #expect(probe.accounts.keys.sorted() == ["alice", "bob", "dave"])

        let a = try #require(probe.accounts["alice"])
        #expect(a.exists)
        #expect(a.uid == 1001 && a.gid == 1001)
        #expect(a.homePath == "/home/alice")
        #expect(a.shell == "/bin/bash")
        #expect(a.groupName == "alice")
        #expect(a.shadow == ShadowState(password: .star, lastChange: 19000, maxDays: 99999, inactiveDays: nil, expire: nil))
        #expect(a.today == 20000)
        #expect(a.shellValid)
        #expect(a.path == "/home/alice/.ssh/authorized_keys")
        #expect(a.home == FileStat(kind: .directory, mode: 0o755, uid: 1001, gid: 1001))
        #expect(a.directory == FileStat(kind: .directory, mode: 0o700, uid: 1001, gid: 1001))
        #expect(a.file == FileStat(kind: .regular, mode: 0o600, uid: 1001, gid: 1001))
        #expect(a.content == Array("ssh-ed25519 AAAA x\n".utf8))
        #expect(a.contentHash == SHA256Digest.hex(Array("ssh-ed25519 AAAA x\n".utf8)))
        #expect(a.sshd["authorizedkeysfile"] == ".ssh/authorized_keys .ssh/authorized_keys2")
        #expect(a.sshd["allowusers"] == "ops alice")
        #expect(a.sshd["strictmodes"] == "yes")

        let b = try #require(probe.accounts["bob"])
        #expect(!b.exists)
        #expect(b.uidOwner == "carol")
        #expect(b.gidOwner == "staff")
        #expect(b.groupNameGID == 1500)
        #expect(b.content == nil)
        #expect(b.contentHash == "absent")

        let d = try #require(probe.accounts["dave"])
        #expect(d.shadow == ShadowState(password: .locked, lastChange: 0, maxDays: 99999, inactiveDays: 30, expire: 19999))
        #expect(!d.shellValid)
        #expect(d.file?.kind == .symlink)
        #expect(d.directory?.kind == .directory)
        #expect(d.content == nil)
    }

    @Test func emptyClashLinesMeanNobody() throws {
        let probe = try FakeProbe.probe([.missing("bob")])
        let b = try #require(probe.accounts["bob"])
        #expect(b.uidOwner == nil && b.gidOwner == nil && b.groupNameGID == nil)
        #expect(b.passwd == nil)
    }

    @Test func anAccountTheReplyDoesNotMentionIsAbsent() throws {
        let probe = try FakeProbe.probe([.existing("alice", content: nil)])
        #expect(probe.accounts["bob"] == nil)
        #expect(probe.accounts["alice"]?.file == .absent)
    }

    /// Content is framed by the controller's nonce: any bytes, including
    /// lines that look like reply keywords or frames with another nonce, are
    /// the file's bytes.
    @Test(arguments: [
        "line one\r\nline two\r\n",
        "no final newline",
        "",
        "\n",
        "@end\n",
        "@end",
        "a\n@end\n@account mallory\npasswd mallory:x:0:0::/root:/bin/sh\ncontent 3\nabc\n",
        "\ncontent-end 00 0\n@account 00 mallory\n@end 00\n",
        "content 99999\n",
        "content 9223372036854775807\n",
        "\n\n\n",
    ])
    func contentBytesSurviveFraming(_ text: String) throws {
        try checkContent(Array(text.utf8))
    }

    @Test func invalidUTF8AndNULSurvive() throws {
        try checkContent([0xff, 0xfe, 0x0a, 0x00, 0xc3, 0x28, 0x0d, 0x0a, 0x80])
    }

    private func checkContent(_ content: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws {
        var bob = FakeAccount.existing("bob", content: [])
        bob.content = content
        let probe = try FakeProbe.probe([.existing("alice", content: content), bob, .existing("carol", content: nil)])
        #expect(probe.accounts.keys.sorted() == ["alice", "bob", "carol"], sourceLocation: sourceLocation)
        #expect(probe.accounts["alice"]?.content == content, sourceLocation: sourceLocation)
        #expect(probe.accounts["bob"]?.content == content, sourceLocation: sourceLocation)
        #expect(probe.accounts["carol"]?.content == nil, sourceLocation: sourceLocation)
        #expect(probe.accounts["mallory"] == nil, sourceLocation: sourceLocation)
        #expect(probe.accounts["alice"]?.contentHash == SHA256Digest.hex(content), sourceLocation: sourceLocation)
    }

    @Test func aFailedReadIsAReadError() throws {
        var alice = FakeAccount.existing("alice", content: nil)
        alice.fileStat = "regular file|600|0|0|10"
        alice.readStatus = 1
        let probe = try FakeProbe.probe([alice])
        #expect(probe.accounts["alice"]?.readError == "alice cannot read /home/alice/.ssh/authorized_keys (exit 1)")
        #expect(probe.accounts["alice"]?.content == nil)
    }

    /// The seed incident: the read as the account fails, the root read
    /// (base64, after its checks) follows and wins.
    @Test func aRootReadAfterAFailedAccountReadGivesTheContent() throws {
        var alice = FakeAccount.existing("alice", content: nil)
        alice.fileStat = "regular file|600|0|0|6"
        alice.readStatus = 1
        let n = FakeProbe.nonce
        let reply = Array(FakeProbe.header.utf8) + alice.bytes() + Array("content-begin \(n) base64\naGVsbG8K\ncontent-end \(n) 0\n\(FakeProbe.end)".utf8)
        let probe = try HostProbe(reply: reply, nonce: n)
        #expect(probe.accounts["alice"]?.content == Array("hello\n".utf8))
        #expect(probe.accounts["alice"]?.readError == nil)
    }

    @Test func aTooLargeFileIsNotContent() throws {
        var alice = FakeAccount.existing("alice", content: nil)
        alice.fileStat = "regular file|600|1001|1001|99999999"
        alice.tooLarge = 99_999_999
        let probe = try FakeProbe.probe([alice])
        #expect(probe.accounts["alice"]?.tooLarge == 99_999_999)
        #expect(probe.accounts["alice"]?.content == nil)
        #expect(probe.accounts["alice"]?.fileSize == 99_999_999)
    }

    /// More bytes than the limit in a frame (a file that grew, or a link to
    /// an endless file read as the account) mean too large, whatever the status.
    @Test func aFrameLongerThanTheLimitIsTooLarge() throws {
        var alice = FakeAccount.existing("alice", content: [UInt8](repeating: 0x61, count: ProbeScript.fileSizeLimit + 1))
        alice.fileStat = "symbolic link|777|1001|1001|9"
        let probe = try FakeProbe.probe([alice])
        #expect(probe.accounts["alice"]?.content == nil)
        #expect(probe.accounts["alice"]?.tooLarge == ProbeScript.fileSizeLimit + 1)
    }

    /// Repeated `sshd` lines are appended in place and bounded: a forged reply
    /// of 300,000 of them (review s13: quadratic, hours at a million) parses
    /// into at most ``HostProbe/sshdValueLimit`` bytes per keyword and
    /// ``HostProbe/sshdKeywordLimit`` keywords.
    @Test func repeatedSSHDLinesAreBounded() throws {
        var alice = FakeAccount.existing("alice", content: nil)
        alice.sshd += Array(repeating: "allowusers someone", count: 300_000) + (0..<2_000).map { "k\($0) v" }
        let probe = try FakeProbe.probe([alice])
        let sshd = try #require(probe.accounts["alice"]?.sshd)
        let allow = try #require(sshd["allowusers"])
        #expect(allow.hasPrefix("someone someone") && allow.utf8.count < HostProbe.sshdValueLimit)
        #expect(sshd.count == HostProbe.sshdKeywordLimit && sshd["authorizedkeysfile"] != nil)
    }

    /// Every folder between home and a nested key folder is reported, absent ones too.
    @Test func nestedKeyFilesReportEveryFolderOnTheWay() throws {
        var alice = FakeAccount.existing("alice", content: Array("x\n".utf8))
        alice.pathOverride = "/home/alice/.config/ssh/keys/authorized_keys"
        alice.folderStats["/home/alice/.config"] = "directory|775|1001|1001|4096"
        alice.folderStats["/home/alice/.config/ssh"] = "symbolic link|777|1001|1001|3"
        let a = try #require(try FakeProbe.probe([alice]).accounts["alice"])
        #expect(a.intermediateFolders == [
            PathStat(path: "/home/alice/.config", stat: FileStat(kind: .directory, mode: 0o775, uid: 1001, gid: 1001)),
            PathStat(path: "/home/alice/.config/ssh", stat: FileStat(kind: .symlink, mode: 0o777, uid: 1001, gid: 1001)),
        ])
        // Nothing below the link was stated.
        #expect(a.directory == .absent && a.file == .absent)
    }

    @Test(arguments: [
        ("regular empty file|644|0|0|0", FileStat(kind: .regular, mode: 0o644, uid: 0, gid: 0)),
        ("directory|1777|0|0|4096", FileStat(kind: .directory, mode: 0o1777, uid: 0, gid: 0)),
        ("symbolic link|777|1001|1001|11", FileStat(kind: .symlink, mode: 0o777, uid: 1001, gid: 1001)),
        ("fifo|600|1001|1001|0", FileStat(kind: .other, mode: 0o600, uid: 1001, gid: 1001)),
        ("absent", FileStat.absent),
    ])
    func statLines(_ line: String, _ expected: FileStat) {
        #expect(FileStat(probeLine: Substring(line)) == expected)
    }

    @Test(arguments: ["error", "directory|7x7|0|0|1", "directory|755|root|0|1", "directory|755"])
    func badStatLinesGiveNil(_ line: String) {
        #expect(FileStat(probeLine: Substring(line)) == nil)
    }

    // MARK: - Broken replies

    @Test func truncatedReplyThrows() throws {
        let full = FakeProbe.reply([.existing("alice", content: Array("ssh-ed25519 AAAA x\n# comment\n".utf8)),
                                    .existing("bob", content: nil)])
        // Every prefix that stops before `@end` is an error, never a silently shorter probe.
        for cut in 0..<(full.count - 1) {
            #expect(throws: ProbeError.self, "prefix of \(cut) bytes") {
                try HostProbe(reply: Array(full.prefix(cut)), nonce: FakeProbe.nonce)
            }
        }
        _ = try HostProbe(reply: full, nonce: FakeProbe.nonce)
    }

    // MARK: - Frames a host could forge

    /// Every frame must carry the controller's nonce: a GECOS field or a file
    /// that prints `@account`, `@end` or `content-begin` with another nonce
    /// (or none) makes the reply malformed, never a second account.
    @Test(arguments: [
        "@account mallory\n",
        "@account 00 mallory\n",
        "@end\n",
        "@end 00\n",
        "content-begin 00\nabc\ncontent-end 00 0\n",
        "content-begin\nabc\ncontent-end  0\n",
        "keyfile_content-begin 00\nabc\nkeyfile_content-end 00 0\n",
        // The old length dialect is gone: `content N` is an unknown key, never a length.
        "content 9223372036854775807\n@end\n",
    ])
    func framesWithoutTheNonceAreRefused(_ forged: String) {
        let alice = FakeAccount.existing("alice", content: nil)
        let reply = Array(FakeProbe.header.utf8) + alice.bytes() + Array(forged.utf8) + Array(FakeProbe.end.utf8)
        #expect(throws: ProbeError.self) { try HostProbe(reply: reply, nonce: FakeProbe.nonce) }
    }

    @Test func aReplyForAnotherNonceIsRefused() {
        #expect(throws: ProbeError.self) { try HostProbe(reply: FakeProbe.reply([.existing("a", content: nil)]), nonce: "ffff") }
    }

    @Test func bytesAfterTheEndLineAreRefused() {
        let reply = FakeProbe.reply([.existing("a", content: nil)]) + Array("@account x\n".utf8)
        #expect(throws: ProbeError.self) { try HostProbe(reply: reply, nonce: FakeProbe.nonce) }
    }

    @Test func anUnterminatedFrameThrows() {
        let reply = Array((FakeProbe.header + "@account \(FakeProbe.nonce) alice\ncontent-begin \(FakeProbe.nonce)\nshort\n" + FakeProbe.end).utf8)
        #expect(throws: ProbeError.self) { try HostProbe(reply: reply, nonce: FakeProbe.nonce) }
    }

    /// Found by FuzzProbeReply (Fuzz/Crashes/probe_reply): `path D` trapped
    /// in Foundation's `deletingLastPathComponent`. The probe prints an
    /// absolute path; a relative one is refused, whatever its length.
    @Test(arguments: ["D", "a//", "é", ".", "home/alice/.ssh/authorized_keys", ""])
    func aRelativeKeysFilePathIsRefused(_ path: String) {
        let text = FakeProbe.header + "@account \(FakeProbe.nonce) alice\npasswd alice:x:1001:1001::/home/alice:/bin/sh\n"
            + "path \(path)\nstat regular file|600|1001|1001|0|1|\(path)\n" + FakeProbe.end
        #expect(throws: ProbeError.malformed("the keys file path of alice is not absolute: \(path)")) {
            try HostProbe(reply: Array(text.utf8), nonce: FakeProbe.nonce)
        }
    }

    @Test(arguments: [
        "", "\n", "Welcome to Ubuntu!\nKEYSYNC-PROBE 2\n@end \(FakeProbe.nonce)\n", "sudo: a password is required\n",
        "KEYSYNC-PROBE 1\n@end \(FakeProbe.nonce)\n", "keysync-probe 2\n@end \(FakeProbe.nonce)\n",
        "KEYSYNC-APPLY 2\n@end \(FakeProbe.nonce)\n",
    ])
    func missingMarkerThrows(_ text: String) {
        #expect(throws: ProbeError.self) { try HostProbe(reply: Array(text.utf8), nonce: FakeProbe.nonce) }
    }

    @Test func missingEndThrows() {
        let reply = Array((FakeProbe.header + "@account \(FakeProbe.nonce) alice\npasswd \n").utf8)
        #expect(throws: ProbeError.malformed("reply ended early (connection or command cut off)")) {
            try HostProbe(reply: reply, nonce: FakeProbe.nonce)
        }
    }

    @Test func errorsHaveReadableDescriptions() {
        #expect(ProbeError.malformed("x").description == "unexpected reply from host: x")
    }
}

/// Which account held a probe that timed out, from its partial reply.
@Suite struct StalledAccountTests {
    let nonce = "0123456789abcdef0123456789abcdef"

    @Test func theAccountWhoseReadNeverEndedIsNamed() {
        let head = "@keysync-probe\n@account \(nonce) usersample\ncontent-begin \(nonce)\nssh-ed25519 AAAA x\n\ncontent-end \(nonce) 0\n"
        // builder's read began and never ended.
        let stalled = head + "@account \(nonce) builder\nstat directory|700|1632|1632|4096|2|1:2|/home/builder/.ssh\ncontent-begin \(nonce)\nssh-ed"
        #expect(HostProbe.stalledAccount(in: Array(stalled.utf8), nonce: nonce)?.account == "builder")
        // Where its open frame began: when that was tells a stall from a slow read before it.
        #expect(HostProbe.stalledAccount(in: Array(stalled.utf8), nonce: nonce)?.frameOffset == stalled.utf8.count - "content-begin \(nonce)\nssh-ed".utf8.count + "content".utf8.count)
        // A second file of the account (AuthorizedKeysFile with two entries).
        let other = head + "@account \(nonce) builder\ncontent-begin \(nonce)\n\ncontent-end \(nonce) 0\nother_content-begin \(nonce)\n"
        #expect(HostProbe.stalledAccount(in: Array(other.utf8), nonce: nonce)?.account == "builder")
        // Stopped before any read as the account (sshd -T, stat: root's), or after it: nobody's fault.
        #expect(HostProbe.stalledAccount(in: Array(head.utf8), nonce: nonce) == nil)
        #expect(HostProbe.stalledAccount(in: Array((head + "@account \(nonce) builder\n").utf8), nonce: nonce) == nil)
        #expect(HostProbe.stalledAccount(in: Array("@keysync-probe\n@account \(nonce) usersample\ncontent-begin \(nonce)\n".utf8), nonce: "") == nil)
    }

    /// The file's bytes inside a frame cannot name another account or end
    /// the frame: without the nonce, they are content.
    @Test func aFileCannotForgeWhoHeldTheProbe() {
        let forged = "@keysync-probe\n@account \(nonce) builder\ncontent-begin \(nonce)\n@account ffff root\ncontent-end ffff 0\n@account \(nonce.prefix(31)) root\n"
        #expect(HostProbe.stalledAccount(in: Array(forged.utf8), nonce: nonce)?.account == "builder")
    }
}
