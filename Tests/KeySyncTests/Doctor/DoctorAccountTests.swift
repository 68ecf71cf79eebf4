import Foundation
import Testing
@testable import KeySync

@Suite struct DoctorAccountTests {
    @Test func aHealthyAccountHasNoProblems() throws {
        let fixture = try DoctorFixture()
        #expect(try fixture.problems() == [])
        #expect(try fixture.findings().isEmpty)
    }

    @Test(arguments: [("1 empty", "!", "'*'"), ("2 empty", "!!", "'*'"), ("1 star", "!*", "'*'"), ("1 hash", "!<password hash>", "-U")])
    func lockedWithoutPAMIsAnError(_ lock: String, _ shown: String, _ fixPart: String) throws {
        var fixture = try DoctorFixture.locked(lock)
        fixture.logLines = ["User usersample not allowed because account is locked", "Connection closed by invalid user x"]
        let finding = try fixture.finding(.accountLocked, .error)
        #expect(finding.evidence.contains("shadow: usersample:\(shown):19000:0:99999:7:::"))
        #expect(finding.evidence.contains { $0.hasSuffix("usepam no") })
        #expect(finding.evidence.contains("sshd log: User usersample not allowed because account is locked"))
        #expect(finding.fix == (fixPart == "-U" ? "usermod -U usersample" : "usermod -p '*' usersample"))
        #expect(!finding.evidence.joined().contains("$6$"))
    }

    @Test func lockedWithPAMIsAWarning() throws {
        var fixture = try DoctorFixture()
        fixture.usePAM()
        fixture.lock = "1 empty"
        #expect(try fixture.finding(.accountLocked).severity == .warning)
    }

    /// A `*`-prefixed field is not a lock for sshd on Linux (only `!` is).
    @Test func aStarPrefixIsNotALock() throws {
        let fixture = try DoctorFixture.locked("0 star")
        #expect(try fixture.problems() == [])
    }

    @Test(arguments: [(19999, false, true), (20000, false, false), (20000, true, true), (20001, true, false), (0, false, true)])
    func expiryFollowsSSHDAndPAM(_ expire: Int, _ pam: Bool, _ expired: Bool) throws {
        var fixture = try DoctorFixture()
        fixture.account.shadow = "star:19000:0:99999:7::\(expire)"
        if pam { fixture.usePAM() }
        let codes = try fixture.problems()
        #expect(codes.contains(.accountExpired) == expired, "\(codes)")
        if expired {
            let finding = try fixture.finding(.accountExpired, .error)
            #expect(finding.fix == "chage -E -1 usersample")
            #expect(finding.message.contains("day \(expire)"))
        }
    }

    @Test func passwordChangeDemandedMattersWithPAM() throws {
        var fixture = try DoctorFixture()
        fixture.account.shadow = "star:0:0:99999:7::"
        fixture.shadowFields = "0:0:99999:7:::"
        #expect(try fixture.finding(.passwordChangeRequired).severity == .warning)
        fixture.usePAM()
        let finding = try fixture.finding(.passwordChangeRequired, .error)
        #expect(finding.fix == "chage -d \"$(date +%F)\" usersample")
        #expect(finding.evidence.contains("shadow: usersample:*:0:0:99999:7:::"))
    }

    @Test func agedPasswordsWithPAM() throws {
        var fixture = try DoctorFixture()
        fixture.usePAM()
        fixture.account.shadow = "star:19900:0:90:7::"
        #expect(try fixture.finding(.passwordExpired).severity == .error)
        fixture.account.shadow = "star:19900:0:90:7:5:"
        #expect(try fixture.finding(.accountInactive).severity == .error)
        fixture.account.shadow = "star:19950:0:90:7:5:"
        #expect(try fixture.problems() == [])
    }

    /// Numbers a host sends that once trapped doctor (Fuzz/Crashes/probe_reply):
    /// a negative or huge `!` count (`String(repeating:count:)`), and day counts
    /// whose difference overflows. Counts are clamped, days beyond 32 bits unknown.
    @Test(arguments: [
        ("-1 star", "star:0:0:99999:7::", []),
        ("9223372036854775807 empty", "locked:19000:0:99999:7::", [DoctorCode.accountLocked]),
        ("0 star", "star:-9223372036854775807:0:9223372036854775807:7:9223372036854775807:", []),
        ("0 star", "star:19900:0:90:7:4294967296:", [.passwordExpired]),
    ])
    func hostileNumbersDoNotTrap(_ lock: String, _ shadow: String, _ codes: [DoctorCode]) throws {
        var fixture = try DoctorFixture()
        fixture.usePAM()
        fixture.account.shadow = shadow
        fixture.lock = lock
        #expect(try fixture.problems().filter { $0 != .passwordChangeRequired } == codes)
        let marks = try #require(fixture.probe().accounts["usersample"]?.diagnostics?.lockMarks)
        #expect((0...AccountDiagnostics.maxLockMarks).contains(marks))
    }

    @Test func shells() throws {
        var fixture = try DoctorFixture()
        fixture.account.shell = "/bin/nosuch"
        fixture.account.shellValid = false
        fixture.logLines = ["User usersample not allowed because shell /bin/nosuch does not exist"]
        let invalid = try fixture.finding(.shellInvalid, .error)
        #expect(invalid.fix == "usermod -s /bin/bash usersample")
        #expect(invalid.evidence.contains { $0.hasSuffix(":/home/usersample:/bin/nosuch") })
        #expect(invalid.evidence.contains("sshd log: User usersample not allowed because shell /bin/nosuch does not exist"))

        fixture.account.shell = "/usr/sbin/nologin"
        fixture.account.shellValid = true
        #expect(try fixture.finding(.shellNoLogin).severity == .warning)

        fixture.account.shell = "/opt/it's/zsh"
        fixture.shellListed = false
        let unlisted = try fixture.finding(.shellNotListed, .warning)
        #expect(unlisted.fix == #"grep -qxF '/opt/it'\''s/zsh' /etc/shells || printf '%s\n' '/opt/it'\''s/zsh' >> /etc/shells"#)
    }

    @Test func theInventoryShellIsTheReplacement() throws {
        var fixture = try DoctorFixture()
        fixture.target.shell = "/bin/zsh"
        fixture.account.shellValid = false
        #expect(try fixture.finding(.shellInvalid).fix == "usermod -s /bin/zsh usersample")
    }

    @Test func aMissingAccount() throws {
        var fixture = try DoctorFixture()
        fixture.account = .missing("usersample")
        fixture.logLines = ["Invalid user usersample from 127.0.0.1 port 4000"]
        let finding = try fixture.finding(.accountMissing, .error)
        #expect(finding.fix == "keysync push --host h1 --project usersample")
        #expect(finding.evidence.contains("sshd log: Invalid user usersample from 127.0.0.1 port 4000"))
        #expect(try fixture.problems() == [.accountMissing])

        fixture.target.create = false
        #expect(try fixture.finding(.accountMissing).fix == "useradd -m -s /bin/bash -p '*' usersample")
    }
}
