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

    /// `sshd -V` of Debian's patched sshd and of an upstream one.
    static let debianSSHD = "OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15"
    static let upstreamSSHD = "OpenSSH_9.6p1, OpenSSL 3.0.7"

    /// Debian's sshd accepts group write through the account's own private group; upstream does not.
    @Test(arguments: [
        (debianSSHD, "directory|775|1001|1001|4096", false),
        (debianSSHD, "directory|775|1001|100|4096", true),
        (upstreamSSHD, "directory|775|1001|1001|4096", true),
        (debianSSHD, "directory|755|0|0|4096", false),
        (debianSSHD, "directory|755|1002|1001|4096", true),
    ])
    func groupWritableHome(_ version: String, _ stat: String, _ refused: Bool) throws {
        var fixture = try DoctorFixture()
        fixture.version = version
        fixture.account.homeStat = stat
        #expect(try fixture.problems() == (refused ? [.homeUnsafe] : []))
    }

    @Test func sshFolderOwnedByAnother() throws {
        var fixture = try DoctorFixture()
        fixture.account.dirStat = "directory|700|1002|1001|4096"
        let finding = try fixture.finding(.directoryUnsafe)
        #expect(finding.fix == "chown usersample /home/usersample/.ssh")
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
        #expect(try fixture.finding(.fileUnsafe).fix == "chmod go-w /srv/usersample/.ssh/authorized_keys")
        // A file outside home: sshd walks up to /.
        fixture.keysFileOutsideHome(fileStat: "regular file|644|0|0|100", folderStat: "directory|1777|0|0|4096")
        let finding = try fixture.finding(.directoryUnsafe)
        #expect(finding.fix == "chmod go-w /etc/ssh/keys")
        #expect(!(try fixture.problems()).contains(.fileOwner))
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
        #expect(finding.fix == "chown usersample: /home/usersample/.ssh /home/usersample/.ssh/authorized_keys && chmod 700 /home/usersample/.ssh && chmod 600 /home/usersample/.ssh/authorized_keys")
        #expect(finding.evidence.contains("stat /home/usersample/.ssh/authorized_keys: regular file 0600 uid=0(root) gid=0(root)"))
        #expect(finding.evidence.last?.hasPrefix("sshd log: Could not open user 'usersample'") == true)
        #expect(try fixture.problems() == [.fileUnreadable])
    }

    @Test func rootOwnedReadableFileIsAWarning() throws {
        var fixture = try DoctorFixture()
        fixture.account.fileStat = "regular file|644|0|0|100"
        let finding = try fixture.finding(.fileOwner, .warning)
        #expect(finding.fix == "chown usersample: /home/usersample/.ssh/authorized_keys")
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

    @Test func authorizedKeysFileNone() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd = fixture.account.sshd.map { $0.hasPrefix("authorizedkeysfile") ? "authorizedkeysfile none" : $0 }
        fixture.config = ["AuthorizedKeysFile none"]
        let finding = try fixture.finding(.keysFileNone)
        #expect(finding.fix == "sed -i '1c AuthorizedKeysFile .ssh/authorized_keys' /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
        #expect(try fixture.problems() == [.keysFileNone])
    }
}
