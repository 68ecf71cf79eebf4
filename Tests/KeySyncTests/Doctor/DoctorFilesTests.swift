import Foundation
import Testing
@testable import KeySync

@Suite struct DoctorFilesTests {
    @Test func worldWritableHome() throws {
        var fixture = try DoctorFixture()
        fixture.account.homeStat = "directory|777|1001|1001|4096"
        fixture.logLines = ["Authentication refused: bad ownership or modes for directory /home/usersample"]
        let finding = try fixture.finding(.homeUnsafe, .error)
        #expect(finding.fix == "chmod go-w /home/usersample")
        #expect(finding.evidence.first == "stat /home/usersample: directory 0777 uid=1001(usersample) gid=1001(usersample)")
        #expect(finding.evidence.last == "sshd log: Authentication refused: bad ownership or modes for directory /home/usersample")
        #expect(try fixture.problems() == [.homeUnsafe])
    }

    /// Debian's sshd accepts group write from a group that is the account's alone (the probe's
    /// `group_sole` line, sent only on Debian); upstream's never (no line). `sshd -V` says nothing
    /// of Debian (its patch level is only in the protocol banner): the rule must not depend on it.
    @Test(arguments: [
        ("directory|775|1001|1001|4096", true, false),
        ("directory|775|1001|1001|4096", false, true),   // the group has another member
        ("directory|775|1001|100|4096", false, true),
        ("directory|775|1001|1001|4096", nil, true),     // not Debian: no line
        ("directory|755|0|0|4096", nil, false),
        ("directory|755|1002|1001|4096", nil, true),
    ] as [(String, Bool?, Bool)])
    func groupWritableHome(_ stat: String, _ groupSole: Bool?, _ refused: Bool) throws {
        var fixture = try DoctorFixture()
        fixture.version = "OpenSSH_9.2, OpenSSL 3.0.19 27 Jan 2026"
        fixture.account.homeStat = stat
        let fields = stat.split(separator: "|")
        if let groupSole { fixture.account.groupSole["\(fields[3]):\(fields[2])"] = groupSole }
        #expect(try fixture.problems() == (refused ? [.homeUnsafe] : []))
    }

    @Test func sshFolderOwnedByAnother() throws {
        var fixture = try DoctorFixture()
        fixture.account.dirStat = "directory|700|1002|1001|4096"
        let finding = try fixture.finding(.directoryUnsafe)
        // Right in home: `chown -h` changes that entry only, a link swapped in included.
        #expect(finding.fix == "chown -h usersample: /home/usersample/.ssh")
        #expect(finding.message.contains("owned by uid 1002, not usersample or root"))
    }

    @Test func writableFileAndAncestorAboveHome() throws {
        var fixture = try DoctorFixture()
        fixture.account.fileStat = "regular file|666|1001|1001|100"
        fixture.account.home = "/srv/usersample"
        fixture.walk = [
            "walk_file regular file|666|1001|1001|100\t/srv/usersample/.ssh/authorized_keys",
            "walk directory|700|1001|1001|4096\t/srv/usersample/.ssh",
            "walk directory|755|1001|1001|4096\t/srv/usersample",
        ]
        // Under home a root chmod could be sent through a link the account swaps in: the account chmods its own file.
        #expect(try fixture.finding(.fileUnsafe).fix
                == "setpriv --reuid=usersample --regid=usersample --init-groups -- chmod go-w -- /srv/usersample/.ssh/authorized_keys")
        // A file outside home: sshd walks up to /.
        fixture.keysFileOutsideHome(fileStat: "regular file|644|0|0|100", folderStat: "directory|1777|0|0|4096")
        let finding = try fixture.finding(.directoryUnsafe)
        #expect(finding.fix == "chmod go-w /etc/ssh/keys")
        #expect(!(try fixture.problems()).contains(.fileOwner))
    }

    /// The account links `~/.ssh` to /tmp (or another user's folder): sshd's
    /// walk leaves home through the link. The fix is the link, never a root
    /// `chmod go-w /tmp` or `chown root` of someone else's folder (review s15 files #3).
    @Test func aFolderReachedThroughTheAccountsLinkIsNotChangedAsRoot() throws {
        var fixture = try DoctorFixture()
        fixture.account.dirStat = "symbolic link|777|1001|1001|4"
        fixture.walk = [
            "walk_file regular file|600|1001|1001|100\t/tmp/authorized_keys",
            "walk directory|1777|0|0|4096\t/tmp",
            "walk directory|755|0|0|4096\t/",
        ]
        let finding = try fixture.finding(.directoryUnsafe)
        #expect(finding.subject == "/tmp")
        #expect(finding.fix?.hasPrefix("replace the symlink under /home/usersample with a folder usersample owns") == true, "\(finding)")
        #expect(finding.fix?.contains("chmod") == false && finding.fix?.contains("chown") == false)
    }

    @Test func strictModesOffSkipsTheWalk() throws {
        var fixture = try DoctorFixture()
        fixture.account.homeStat = "directory|777|1001|1001|4096"
        fixture.account.sshd = fixture.account.sshd.map { $0 == "strictmodes yes" ? "strictmodes no" : $0 }
        #expect(try fixture.problems() == [])
    }

    /// Without the doctor part (an old probe), the walk falls back to home, `.ssh` and the file.
    @Test func theWalkFallsBackToThePlainProbe() throws {
        var fixture = try DoctorFixture()
        fixture.account.homeStat = "directory|777|1001|1001|4096"
        fixture.walk = []
        var probe = try fixture.probe()
        probe.accounts["usersample"]!.diagnostics = nil
        let findings = Doctor.examine(fixture.target, probe: probe, context: Doctor.Context(host: "h1"))
        #expect(findings.map(\.code) == [.homeUnsafe])
    }

    @Test func rootOwnedUnreadableFile() throws {
        var fixture = try DoctorFixture()
        fixture.account.fileStat = "regular file|600|0|0|100"
        fixture.fileAccess = "no"
        fixture.logLines = ["Could not open user 'usersample' authorized keys '/home/usersample/.ssh/authorized_keys': Permission denied"]
        let finding = try fixture.finding(.fileUnreadable, .error)
        #expect(finding.fix == "keysync doctor --fix --host h1 --account usersample")
        #expect(finding.evidence.contains("stat /home/usersample/.ssh/authorized_keys: regular file 0600 uid=0(root) gid=0(root)"))
        #expect(finding.evidence.last?.hasPrefix("sshd log: Could not open user 'usersample'") == true)
        #expect(try fixture.problems() == [.fileUnreadable])
        // The seed incident whole: root made .ssh too. .ssh goes to the account
        // with `chown -h` (a link swapped in for it is changed, not followed),
        // then doctor --fix rewrites the file as the account.
        fixture.account.dirStat = "directory|755|0|0|4096"
        #expect(try fixture.finding(.fileUnreadable).fix
                == "chown -h usersample: /home/usersample/.ssh && keysync doctor --fix --host h1 --account usersample")
    }

    /// Deeper than home no root command names the path through folders the
    /// account could swap for links: it enters the folder and checks first.
    @Test func aRootChownDeeperThanHomeEntersTheFolderFirst() {
        #expect(SyncPlanner.chownCommand("u", "/home/u/.config/ssh", home: "/home/u")
                == "cd -P -- /home/u/.config && [ \"$(pwd -P)\" = /home/u/.config ] && chown -h u: ./ssh")
        #expect(SyncPlanner.chownCommand("u", "/home/u/.ssh", home: "/home/u/") == "chown -h u: /home/u/.ssh")
        #expect(SyncPlanner.chownCommand("u", "/etc/x", home: "/") == nil)
    }

    @Test func rootOwnedReadableFileIsAWarning() throws {
        var fixture = try DoctorFixture()
        fixture.account.fileStat = "regular file|644|0|0|100"
        let finding = try fixture.finding(.fileOwner, .warning)
        #expect(finding.fix == "keysync doctor --fix --host h1 --account usersample")
    }

    @Test func missingHome() throws {
        var fixture = try DoctorFixture()
        fixture.account.homeStat = "absent"
        let finding = try fixture.finding(.homeMissing)
        #expect(finding.fix == "install -d -m 755 -o usersample -g usersample /home/usersample && keysync push --host h1 --project usersample")
        #expect(try fixture.problems() == [.homeMissing])
    }

    @Test func symlinkedSSHFolderIsAWarning() throws {
        var fixture = try DoctorFixture()
        fixture.account.dirStat = "symbolic link|777|1001|1001|10"
        #expect(try fixture.finding(.symlink).severity == .warning)
    }

    @Test func keysInTheDefaultFileButSSHDReadsAnother() throws {
        var fixture = try DoctorFixture()
        let managed = fixture.account.content!
        fixture.account.sshd = fixture.account.sshd.map { $0.hasPrefix("authorizedkeysfile") ? "authorizedkeysfile /etc/ssh/authorized_keys/%u" : $0 }
        fixture.account.pathOverride = "/etc/ssh/authorized_keys/usersample"
        fixture.account.content = nil
        fixture.walk = []
        fixture.config = ["AuthorizedKeysFile /etc/ssh/authorized_keys/%u"]
        fixture.extraAccountLines = ["keyfile unlisted\tregular file|600|1001|1001|\(managed.count)\t/home/usersample/.ssh/authorized_keys",
                                     "keyfile_content-begin \(FakeProbe.nonce)", String(decoding: managed, as: UTF8.self), "keyfile_content-end \(FakeProbe.nonce) 0"]
        let finding = try fixture.finding(.keysFileElsewhere, .error)
        #expect(finding.fix == "sed -i '1c AuthorizedKeysFile /etc/ssh/authorized_keys/%u .ssh/authorized_keys' /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
        #expect(try fixture.problems() == [.keysFileElsewhere])
    }

    @Test func sshdReadsAFileOutsideHomeThatHasNoKeys() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd = fixture.account.sshd.map { $0.hasPrefix("authorizedkeysfile") ? "authorizedkeysfile /etc/ssh/authorized_keys/%u" : $0 }
        fixture.account.pathOverride = "/etc/ssh/authorized_keys/usersample"
        fixture.account.content = nil
        fixture.walk = []
        let finding = try fixture.finding(.keysFileUnmanaged)
        #expect(finding.message.hasSuffix("push writes that file as root (root:root 0644)"))
        #expect(finding.fix == "keysync push --host h1 --project usersample")
        #expect(try fixture.problems() == [.keysFileUnmanaged])
        // A folder others may change: named, with the fix.
        fixture.account.rootKeys = "/etc/ssh/authorized_keys is owned by uid 1001, not root"
        let unsafe = try fixture.finding(.keysFileUnmanaged)
        #expect(unsafe.message.hasSuffix("and /etc/ssh/authorized_keys is owned by uid 1001, not root"))
        #expect(unsafe.fix == "chown root: /etc/ssh/authorized_keys && chmod go-w /etc/ssh/authorized_keys && keysync push --host h1 --project usersample")
    }

    @Test func keysInTheSecondListedFileAreFound() throws {
        var fixture = try DoctorFixture()
        let managed = fixture.account.content!
        fixture.account.content = Array("# nothing here\n".utf8)
        fixture.extraAccountLines = ["keyfile listed\tregular file|600|1001|1001|\(managed.count)\t/home/usersample/.ssh/authorized_keys2",
                                     "keyfile_content-begin \(FakeProbe.nonce)", String(decoding: managed, as: UTF8.self), "keyfile_content-end \(FakeProbe.nonce) 0"]
        #expect(try fixture.problems() == [])
    }

    /// A second keys file of more lines than ``HostProbe/lineLimit`` is not
    /// parsed (review s13: 4 MiB of blank lines cost doctor 700 MB): its keys are not found there.
    @Test func aSecondKeysFileOfTooManyLinesIsNotParsed() throws {
        var fixture = try DoctorFixture()
        let managed = fixture.account.content!
        fixture.account.content = Array("# nothing here\n".utf8)
        let padded = String(repeating: "\n", count: HostProbe.lineLimit) + String(decoding: managed, as: UTF8.self)
        fixture.extraAccountLines = ["keyfile listed\tregular file|600|1001|1001|\(padded.utf8.count)\t/home/usersample/.ssh/authorized_keys2",
                                     "keyfile_content-begin \(FakeProbe.nonce)", padded, "keyfile_content-end \(FakeProbe.nonce) 0"]
        #expect(try fixture.problems().contains(.keyMissing))
    }

    @Test func authorizedKeysFileNone() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd = fixture.account.sshd.map { $0.hasPrefix("authorizedkeysfile") ? "authorizedkeysfile none" : $0 }
        fixture.config = ["AuthorizedKeysFile none"]
        let finding = try fixture.finding(.keysFileNone)
        #expect(finding.fix == "sed -i '1c AuthorizedKeysFile .ssh/authorized_keys' /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
        #expect(try fixture.problems() == [.keysFileNone])
    }
}
