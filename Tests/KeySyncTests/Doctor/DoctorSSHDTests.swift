import Foundation
import Testing
@testable import KeySync

@Suite struct DoctorSSHDTests {
    @Test func pubkeyAuthenticationOff() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd = fixture.account.sshd.map { $0 == "pubkeyauthentication yes" ? "pubkeyauthentication no" : $0 }
        fixture.config = ["Port 22", "PubkeyAuthentication no"]
        let finding = try fixture.finding(.pubkeyDisabled, .error)
        #expect(finding.evidence == ["sshd -T -C user=usersample,host=127.0.0.1,addr=127.0.0.1: pubkeyauthentication no",
                                     "/etc/ssh/sshd_config:2: PubkeyAuthentication no"])
        #expect(finding.fix == "sed -i '2c PubkeyAuthentication yes' /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
    }

    @Test func denyUsersAlone() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd.append("denyusers usersample")
        fixture.config = ["DenyUsers usersample"]
        fixture.logLines = ["User usersample from 127.0.0.1 not allowed because listed in DenyUsers"]
        let finding = try fixture.finding(.deniedUser, .error)
        #expect(finding.fix == "sed -i '1s/^/#/' /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
        #expect(finding.evidence.last == "sshd log: User usersample from 127.0.0.1 not allowed because listed in DenyUsers")
    }

    @Test func denyUsersKeepsTheOtherPatterns() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd += ["denyusers bob", "denyusers user*@127.0.0.0/8", "denyusers usersample@10.0.0.0/8"]
        fixture.config = ["Match all", "  DenyUsers bob user*@127.0.0.0/8 usersample@10.0.0.0/8"]
        let finding = try fixture.finding(.deniedUser)
        #expect(finding.message.contains("DenyUsers user*@127.0.0.0/8 matches"))
        // `user*@127.0.0.0/8` denies others too: taking it out is not offered, only where it is.
        #expect(finding.fix?.hasPrefix("grep -rniE '^[[:space:]]*DenyUsers'") == true)
        // Only the account's own name: that pattern goes, the others stay.
        fixture.account.sshd = fixture.account.sshd.filter { $0 != "denyusers user*@127.0.0.0/8" } + ["denyusers usersample"]
        fixture.config = ["Match all", "  DenyUsers bob usersample usersample@10.0.0.0/8"]
        #expect(try fixture.finding(.deniedUser).fix == "sed -i '2c DenyUsers bob usersample@10.0.0.0/8' /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
    }

    @Test func denyUsersForAnotherAddressOrUserIsFine() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd += ["denyusers usersample@10.0.0.0/8", "denyusers usersample2", "denyusers usersample@!127.0.0.1,*"]
        #expect(try fixture.problems() == [])
    }

    @Test func allowUsers() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd += ["allowusers ops", "allowusers admin"]
        fixture.config = ["AllowUsers ops admin"]
        let finding = try fixture.finding(.notAllowedUser, .error)
        #expect(finding.fix == "sed -i '1c AllowUsers ops admin usersample' /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
        fixture.account.sshd.append("allowusers user?ample@127.0.0.1")
        #expect(try fixture.problems() == [])
    }

    @Test func aLineThatCannotBeFoundGetsALocateCommand() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd.append("allowusers ops")
        #expect(try fixture.finding(.notAllowedUser).fix?.hasPrefix("grep -rniE '^[[:space:]]*AllowUsers' /etc/ssh/sshd_config") == true)
    }

    @Test func denyGroups() throws {
        var fixture = try DoctorFixture()
        fixture.groups = "usersample legacy"
        fixture.account.sshd.append("denygroups leg*")
        fixture.config = ["DenyGroups leg*"]
        let supplementary = try fixture.finding(.deniedGroup)
        #expect(supplementary.fix == "gpasswd -d usersample legacy")
        #expect(supplementary.evidence.first == "id -Gn usersample: usersample legacy")

        fixture.account.sshd.append("denygroups usersample")
        fixture.config = ["DenyGroups leg* usersample"]
        // The primary group is denied: taking it out of DenyGroups would let the whole group in.
        #expect(try fixture.finding(.deniedGroup).fix?.hasPrefix("grep -rniE '^[[:space:]]*DenyGroups'") == true)
    }

    @Test func allowGroups() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd.append("allowgroups sshusers")
        fixture.config = ["AllowGroups sshusers"]
        let finding = try fixture.finding(.notAllowedGroup, .error)
        // The account's group goes on the line; joining a listed group (often sudo or wheel) is never offered.
        #expect(finding.fix == "sed -i '1c AllowGroups sshusers usersample' /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
        fixture.account.sshd = fixture.account.sshd.filter { $0 != "allowgroups sshusers" } + ["allowgroups sudo"]
        fixture.config = ["AllowGroups sudo"]
        #expect(try fixture.finding(.notAllowedGroup).fix?.contains("usermod") == false)
        fixture.account.sshd = fixture.account.sshd.filter { $0 != "allowgroups sshusers" } + ["allowgroups ssh*"]
        fixture.config = ["AllowGroups ssh*"]
        #expect(try fixture.finding(.notAllowedGroup).fix == "sed -i '1c AllowGroups ssh* usersample' /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
        fixture.groups = "usersample sshops"
        #expect(try fixture.problems() == [])
        // A shared primary group (`users`) on the line would let every member in: only where to look.
        fixture.groups = "users"
        fixture.account.groupName = "users"
        #expect(try fixture.finding(.notAllowedGroup).fix?.hasPrefix("grep -rniE '^[[:space:]]*AllowGroups'") == true)
    }

    @Test func sshdTFailed() throws {
        var fixture = try DoctorFixture()
        fixture.extraAccountLines = ["sshd_error sshd -T failed (is sshd installed and its config valid?)"]
        let finding = try fixture.finding(.sshdConfigInvalid, .error)
        #expect(finding.fix == "sshd -t")
    }
}

@Suite struct SSHDMatchTests {
    @Test(arguments: [
        ("usersample", "usersample", true), ("usersample", "user*", true), ("usersample", "*", true),
        ("usersample", "user?ample", true), ("usersample", "User*", false), ("usersample", "usersampl", false),
        ("usersample", "*sample*", true), ("usersample", "u*s*e", true), ("", "*", true), ("a", "", false),
        ("aaa", "a*a*a", true), ("ab", "a*b*c", false),
    ])
    func patterns(_ string: String, _ pattern: String, _ expected: Bool) {
        #expect(SSHDMatch.pattern(string, pattern) == expected)
    }

    @Test(arguments: [
        ("ssh-ed25519", "ssh-ed25519,rsa-sha2-512", true), ("ssh-rsa", "rsa-sha2-512,rsa-sha2-256", false),
        ("ssh-rsa", "*,!ssh-rsa", false), ("rsa-sha2-256", "rsa-sha2-*", true), ("ssh-dss", "", false),
    ])
    func lists(_ string: String, _ list: String, _ expected: Bool) {
        #expect(SSHDMatch.list(string, list) == expected)
    }

    @Test(arguments: [
        ("usersample@127.0.0.1", true), ("usersample@127.0.0.0/8", true), ("usersample@10.0.0.0/8", false),
        ("usersample@127.0.0.*", true), ("usersample@!127.0.0.1,*", false), ("*@::1", false),
        ("other@127.0.0.1", false), ("usersample", true), ("usersample@127.0.0.1/33", false),
    ])
    func users(_ pattern: String, _ expected: Bool) {
        #expect(SSHDMatch.user("usersample", host: "127.0.0.1", address: "127.0.0.1", pattern: pattern) == expected)
    }
}
