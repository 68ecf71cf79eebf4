import Foundation
import Testing
@testable import KeySync

@Suite struct DoctorKeysTests {
    /// The fixture with `key` (and `options`) as the managed key, in the file and in the inventory.
    func fixture(_ key: PublicKey, options: String? = nil, inventoryOptions: String?? = nil) throws -> DoctorFixture {
        var fixture = try DoctorFixture()
        fixture.key = key
        fixture.target = try DoctorFixture.target(keys: [("kp-usersample", key, inventoryOptions ?? options)])
        fixture.setContent(SyncKeys.block(project: "usersample", role: "deploy", [SyncKeys.line(key, options: options)]))
        return fixture
    }

    @Test func aMissingKey() throws {
        var fixture = try DoctorFixture()
        fixture.setContent("# emptied by hand\n")
        fixture.logLines = ["Failed publickey for usersample from 127.0.0.1 port 4000 ssh2: ED25519 SHA256:x"]
        let finding = try fixture.finding(.keyMissing, .error)
        #expect(finding.key == "kp-usersample")
        #expect(finding.fix == "keysync push --host h1 --project usersample")
        #expect(finding.evidence.contains("/home/usersample/.ssh/authorized_keys: no line with \(fixture.key.fingerprint)"))
        #expect(finding.evidence.last?.hasPrefix("sshd log: Failed publickey for usersample") == true)
    }

    @Test func anAbsentFileMeansMissingKeys() throws {
        var fixture = try DoctorFixture()
        fixture.account.content = nil
        fixture.fileAccess = "unknown"
        fixture.walk = []
        #expect(try fixture.problems() == [.keyMissing])
    }

    /// A keys file that is there but was not read (mode 000, a FIFO) holds
    /// unknown lines: no `key_missing` "no line with", whose fix (push)
    /// would not write it either (review s15 files #10).
    @Test func aFileThatWasNotReadIsNotSaidToLackTheKey() throws {
        var fixture = try DoctorFixture()
        fixture.account.content = nil
        fixture.account.readStatus = 1
        fixture.account.fileStat = "regular file|0|1001|1001|100"
        fixture.fileAccess = "no"
        let problems = try fixture.problems()
        #expect(!problems.contains(.keyMissing) && problems.contains(.fileUnreadable), "\(problems)")
        // The fix is the account's own chmod (doctor --fix cannot rewrite a file it cannot read).
        #expect(try fixture.finding(.fileUnreadable).fix
                == "setpriv --reuid=usersample --regid=usersample --init-groups -- chmod u+r -- /home/usersample/.ssh/authorized_keys && keysync push --host h1 --project usersample")
    }

    @Test func keyTypeNotAccepted() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd = fixture.account.sshd.map { $0.hasPrefix("pubkeyaccepted") ? "pubkeyacceptedalgorithms rsa-sha2-512,rsa-sha2-256" : $0 }
        fixture.config = ["PubkeyAcceptedAlgorithms rsa-sha2-512,rsa-sha2-256"]
        let finding = try fixture.finding(.keyTypeRefused, .error)
        #expect(finding.fix == "sed -i '1c PubkeyAcceptedAlgorithms rsa-sha2-512,rsa-sha2-256,ssh-ed25519' /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
        fixture.config = ["PubkeyAcceptedAlgorithms -ssh-ed25519*"]
        #expect(try fixture.finding(.keyTypeRefused).fix == "sed -i '1s/^/#/' /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
    }

    /// Debian's sshd_config Includes its drop-ins first: a drop-in's line is
    /// the setting, and the one the fix edits; a line in a Match block is not.
    @Test func theFixEditsTheLineSSHDUses() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd = fixture.account.sshd.map { $0.hasPrefix("pubkeyaccepted") ? "pubkeyacceptedalgorithms rsa-sha2-256" : $0 }
        fixture.config = ["Include /etc/ssh/sshd_config.d/*.conf", "PubkeyAcceptedAlgorithms rsa-sha2-512"]
        fixture.dropIn = ["Match User other", "PubkeyAcceptedAlgorithms ssh-rsa", "Match all", "PubkeyAcceptedAlgorithms rsa-sha2-256"]
        #expect(try fixture.finding(.keyTypeRefused).fix
                == "sed -i '4c PubkeyAcceptedAlgorithms rsa-sha2-256,ssh-ed25519' /etc/ssh/sshd_config.d/50-local.conf && sshd -t && systemctl reload sshd")
        // Without the Include, sshd never reads the drop-in: the main file's line.
        fixture.config = ["PubkeyAcceptedAlgorithms rsa-sha2-512"]
        #expect(try fixture.finding(.keyTypeRefused).fix
                == "sed -i '1c PubkeyAcceptedAlgorithms rsa-sha2-512,ssh-ed25519' /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
    }

    @Test func anRSAKeyWithDefaultAlgorithmsWarnsAboutSHA1Clients() throws {
        let fixture = try fixture(try SyncKeys.rsa3072())
        let finding = try fixture.finding(.keyRSASHA1, .warning)
        #expect(finding.message.contains("rsa-sha2-256/512"))
        #expect(finding.message.contains("SHA-1"))
        #expect(finding.fix == "ssh-keygen -t ed25519 -C kp-usersample -f kp-usersample-ed25519 && keysync rotate kp-usersample --new-key kp-usersample-ed25519.pub --verify-identity kp-usersample-ed25519")
        #expect(try fixture.problems() == [.keyRSASHA1])
    }

    @Test func anRSAKeyWhenSHA1IsAcceptedToo() throws {
        var fixture = try fixture(try SyncKeys.rsa3072())
        fixture.account.sshd = fixture.account.sshd.map { $0.hasPrefix("pubkeyaccepted") ? "pubkeyacceptedalgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256,ssh-rsa" : $0 }
        #expect(try fixture.problems() == [])
    }

    @Test func anRSAKeyWhenOnlySHA1IsAccepted() throws {
        var fixture = try fixture(try SyncKeys.rsa3072())
        fixture.account.sshd = fixture.account.sshd.map { $0.hasPrefix("pubkeyaccepted") ? "pubkeyacceptedalgorithms ssh-ed25519,ssh-rsa" : $0 }
        fixture.config = ["PubkeyAcceptedAlgorithms ssh-ed25519,ssh-rsa"]
        let finding = try fixture.finding(.keyRSASHA1, .error)
        #expect(finding.fix == "sed -i '1c PubkeyAcceptedAlgorithms ssh-ed25519,ssh-rsa,rsa-sha2-512,rsa-sha2-256' /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
    }

    @Test func smallRSAKeys() throws {
        let small = try SyncKeys.key("id_rsa1024.pub")
        var fixture = try fixture(small)
        #expect(try fixture.finding(.keyWeakRSA).severity == .warning)
        fixture.account.sshd.append("requiredrsasize 2048")
        let refused = try fixture.finding(.keyRSATooSmall, .error)
        #expect(refused.evidence.contains { $0.hasSuffix("requiredrsasize 2048") })
        #expect(try fixture.problems().sorted { $0.rawValue < $1.rawValue } == [.keyRSASHA1, .keyRSATooSmall])
    }

    @Test func dsaKeys() throws {
        var fixture = try fixture(try SyncKeys.key("id_dsa.pub"))
        let refused = try fixture.finding(.keyTypeRefused)
        #expect(refused.message.contains("DSA"))
        #expect(refused.fix?.contains("keysync rotate kp-usersample") == true)
        fixture.account.sshd = fixture.account.sshd.map { $0.hasPrefix("pubkeyaccepted") ? "pubkeyacceptedalgorithms ssh-ed25519,ssh-dss" : $0 }
        #expect(try fixture.problems() == [.keyDSA])
    }

    @Test func anExpiredKeyLine() throws {
        let key = try SyncKeys.ed25519()
        let stale = try fixture(key, options: #"expiry-time="20200101""#, inventoryOptions: .some(nil))
        let finding = try stale.finding(.keyExpired)
        #expect(finding.severity == .error)
        #expect(finding.fix == "keysync push --host h1 --project usersample")
        #expect(finding.evidence.first?.contains(#"expiry-time="20200101" ssh-ed25519 SHA256:"#) == true)

        let inventory = try fixture(key, options: #"expiry-time="20200101""#)
        let fromInventory = try inventory.finding(.keyExpired)
        #expect(fromInventory.fix == nil)
        #expect(fromInventory.message.contains("the inventory's options"))
    }

    @Test func fromRestrictions() throws {
        let key = try SyncKeys.ed25519()
        let outside = try fixture(key, options: #"from="10.0.0.0/8""#)
        let finding = try outside.finding(.keyFromRestricted)
        #expect(finding.severity == .warning)
        #expect(finding.message.contains("only from 10.0.0.0/8 (this controller, at 127.0.0.1, is not among them)"))
        let inside = try fixture(key, options: #"from="127.0.0.0/8,!127.0.0.2""#)
        #expect(!(try inside.finding(.keyFromRestricted)).message.contains("not among them"))
        let broken = try fixture(key, options: #"from="10.0.0.1/8""#)
        #expect(try broken.finding(.keyBadFrom).severity == .error)
    }

    @Test func anEarlierLineWithOtherOptionsShadowsTheManagedOne() throws {
        var fixture = try DoctorFixture()
        let key = fixture.key
        fixture.setContent(SyncKeys.line(key, options: #"command="/bin/false""#) + "\n"
            + SyncKeys.block(project: "usersample", role: "deploy", [SyncKeys.line(key)]))
        let finding = try fixture.finding(.keyShadowed, .warning)
        #expect(finding.fix == "sed -i 1d /home/usersample/.ssh/authorized_keys")
        #expect(finding.evidence.first?.hasPrefix(#"/home/usersample/.ssh/authorized_keys:1: command="/bin/false" ssh-ed25519 SHA256:"#) == true)

        // An earlier line sshd skips (expired) shadows nothing; the same options shadow nothing either.
        fixture.setContent(SyncKeys.line(key, options: #"expiry-time="20200101""#) + "\n" + SyncKeys.line(key) + "\n"
            + SyncKeys.block(project: "usersample", role: "deploy", [SyncKeys.line(key)]))
        #expect(try fixture.problems() == [])
    }

    @Test func theKeyFilterKeepsAccountFindings() throws {
        var fixture = try DoctorFixture()
        let other = try SyncKeys.ecdsa256()
        fixture.target = try DoctorFixture.target(keys: [("kp-usersample", fixture.key, nil), ("kp-other", other, nil)])
        fixture.account.homeStat = "directory|777|1001|1001|4096"
        #expect(Set(try fixture.problems()) == [.homeUnsafe, .keyMissing])
        #expect(try fixture.findings(key: "kp-usersample").map(\.code) == [.homeUnsafe])
        #expect(try fixture.findings(key: "kp-other").map(\.code) == [.homeUnsafe, .keyMissing])
    }

    @Test func narrowingTargets() throws {
        let fixture = try DoctorFixture()
        let host = InventoryHost(name: "h1", address: "127.0.0.1", user: "ops", credential: .agent, knownHosts: "/dev/null")
        let other = AccountTarget(name: "app", blocks: [DesiredBlock(project: "p", role: "app", entries: [])])
        let targets = [HostTarget(host: host, accounts: [fixture.target, other])]
        #expect(DoctorRun.narrow(targets, account: nil, key: nil) == targets)
        #expect(DoctorRun.narrow(targets, account: "app", key: nil).first?.accounts.map(\.name) == ["app"])
        #expect(DoctorRun.narrow(targets, account: nil, key: "kp-usersample").first?.accounts.map(\.name) == ["usersample"])
        #expect(DoctorRun.narrow(targets, account: "app", key: "kp-usersample").isEmpty)
    }
}
