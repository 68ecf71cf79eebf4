import Foundation
import Testing
@testable import KeySync

/// `doctor --fix` planning: which findings get which fix, and which are refused.
@Suite struct DoctorFixPlanTests {
    /// The plan for the fixture, with the findings it was made from.
    func plan(_ fixture: DoctorFixture) throws -> (plan: DoctorFixPlan, findings: [DoctorFinding]) {
        let findings = try fixture.findings()
        let probe = try fixture.probe()
        return (DoctorFixPlan(fixture.target, account: probe.accounts["usersample"], findings: findings), findings)
    }

    /// The refusal for the finding `code`, required.
    func refusal(_ result: (plan: DoctorFixPlan, findings: [DoctorFinding]), _ code: DoctorCode,
                 sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let index = try #require(result.findings.firstIndex { $0.code == code }, "no \(code.rawValue)", sourceLocation: sourceLocation)
        return try #require(result.plan.refusals[index], "\(code.rawValue) not refused", sourceLocation: sourceLocation)
    }

    @Test func healthyAccountNeedsNothing() throws {
        let (plan, _) = try plan(try DoctorFixture())
        #expect(plan.apply == nil && plan.actions.isEmpty && plan.refusals.isEmpty)
    }

    /// `!*` is usermod -L's lock of a `*` account: set on purpose, never undone by --fix.
    @Test func aDeliberateLockIsLeftAlone() throws {
        let result = try plan(try DoctorFixture.locked("1 star"))
        #expect(result.plan.apply == nil)
        #expect(try refusal(result, .accountLocked).contains("usermod -L"))
    }

    @Test(arguments: [("0 empty", "!"), ("1 empty", "!"), ("2 empty", "!!")])
    func lockedAccountTheInventoryCreatesIsUnlocked(_ lock: String, _ shown: String) throws {
        let fixture = try DoctorFixture.locked(lock)
        let (plan, findings) = try plan(fixture)
        guard lock.hasPrefix("0") else {
            #expect(plan.apply == AccountApply(account: "usersample", unlock: true))
            #expect(plan.actions.map(\.description) == ["usermod -p '*' usersample"])
            #expect(plan.actions[0].findings.map { findings[$0].code } == [.accountLocked])
            return
        }
        // No lock marks seen: nothing to unlock.
        #expect(plan.apply == nil)
    }

    @Test func lockedAccountTheInventoryDoesNotCreateStaysLocked() throws {
        var fixture = try DoctorFixture.locked("1 empty")
        fixture.target = try DoctorFixture.target(keys: [("kp-usersample", fixture.key, nil)], create: false)
        let result = try plan(fixture)
        #expect(result.plan.apply == nil)
        #expect(try refusal(result, .accountLocked).contains("does not create usersample"))
    }

    @Test func aPasswordHashBehindTheLockIsNeverReplaced() throws {
        let fixture = try DoctorFixture.locked("1 hash")
        let result = try plan(fixture)
        #expect(result.plan.apply == nil)
        #expect(try refusal(result, .accountLocked).contains("password hash"))
    }

    @Test(arguments: [("directory|777|1001|1001|4096", true), ("directory|775|0|0|4096", true), ("directory|777|1002|1001|4096", false)])
    func writableHomeLosesGroupAndWorldWriteOnlyWhenTheAccountOrRootOwnsIt(_ stat: String, _ fixed: Bool) throws {
        var fixture = try DoctorFixture()
        fixture.account.homeStat = stat
        let result = try plan(fixture)
        if fixed {
            #expect(result.plan.apply == AccountApply(account: "usersample", restrictHome: "/home/usersample"))
            #expect(result.plan.actions.map(\.description) == ["chmod go-w /home/usersample"])
        } else {
            #expect(result.plan.apply == nil)
            #expect(try refusal(result, .homeUnsafe).contains("never changes who owns a home"))
        }
    }

    /// Root-owned file, loose or foreign `.ssh`, writable file: one rewrite with the content unchanged.
    @Test(arguments: [
        (nil, "regular file|600|0|0|100", DoctorCode.fileUnreadable, "no"),
        (nil, "regular file|644|0|0|100", .fileOwner, "yes"),
        ("directory|777|1001|1001|4096", nil, .directoryUnsafe, "yes"),
        (nil, "regular file|666|1001|1001|100", .fileUnsafe, "yes"),
    ] as [(String?, String?, DoctorCode, String)])
    func keysFileAndFolderAreRewrittenAsTheAccount(_ dir: String?, _ file: String?, _ code: DoctorCode, _ access: String) throws {
        var fixture = try DoctorFixture()
        fixture.account.dirStat = dir
        fixture.account.fileStat = file
        fixture.fileAccess = access
        let (plan, findings) = try plan(fixture)
        let content = try #require(fixture.account.content)
        #expect(plan.apply == AccountApply(account: "usersample", write: FileWrite(
            path: "/home/usersample/.ssh/authorized_keys", expectedHash: SHA256Digest.hex(content), content: content)))
        #expect(plan.actions.count == 1)
        #expect(plan.actions.first?.findings.map { findings[$0].code }.contains(code) == true)
        #expect(plan.refusals.isEmpty)
    }

    @Test func nothingIsWrittenThroughASymlinkedFolder() throws {
        var fixture = try DoctorFixture()
        fixture.account.dirStat = "symbolic link|777|0|0|10"
        fixture.account.fileStat = "regular file|600|0|0|100"
        fixture.fileAccess = "no"
        let result = try plan(fixture)
        #expect(result.plan.apply == nil)
        #expect(result.plan.actions.isEmpty)
        #expect(result.findings.contains { $0.code == .symlink })
    }

    /// A `.ssh` the account does not own: `--fix` never chowns it (as root, by
    /// path, the account could swap in a link); the refusal gives the command.
    @Test func aFolderTheAccountDoesNotOwnIsNotChowned() throws {
        var fixture = try DoctorFixture()
        fixture.account.dirStat = "directory|700|1002|1001|4096"
        let result = try plan(fixture)
        #expect(result.plan.apply == nil)
        #expect(try refusal(result, .directoryUnsafe).contains("never chowns"))
    }

    @Test func aKeysFileOutsideHomeIsLeftAlone() throws {
        var fixture = try DoctorFixture()
        fixture.keysFileOutsideHome(fileStat: "regular file|666|0|0|100")
        let result = try plan(fixture)
        #expect(result.plan.apply == nil)
        #expect(try refusal(result, .fileUnsafe).contains("outside home (a root-owned layout): --fix changes only an account's own files; keysync push rewrites it as root"))
    }

    /// Findings --fix does not cover keep their printed fix and get no refusal.
    @Test func otherFindingsAreNeverTouched() throws {
        var fixture = try DoctorFixture()
        fixture.shadowFields = "19000:0:99999:7::1:"
        fixture.account.shadow = "star:19000:0:99999:7::1"
        let result = try plan(fixture)
        #expect(result.findings.contains { $0.code == .accountExpired })
        #expect(result.plan.apply == nil && result.plan.refusals.isEmpty)
    }

    /// After the second diagnosis: gone and answered = fixed; still there = open, with the refusal.
    @Test func mergeMarksWhatWasFixedAndKeepsWhatRemains() throws {
        var fixture = try DoctorFixture()
        fixture.account.homeStat = "directory|777|1002|1001|4096"
        fixture.account.dirStat = "directory|777|1001|1001|4096"
        let (plan, before) = try plan(fixture)
        fixture.account.dirStat = nil
        let after = try fixture.findings()
        let merged = DoctorRun.merge(before: DoctorReport.Account(account: "usersample", findings: before),
                                     after: DoctorReport.Account(account: "usersample", findings: after), plan: plan, applied: true)
        let home = try #require(merged.findings.first { $0.code == .homeUnsafe })
        #expect(home.fixed == false && home.fixRefused?.contains("never changes who owns") == true)
        let folder = try #require(merged.findings.first { $0.code == .directoryUnsafe })
        #expect(folder.fixed == true)
        let host = DoctorReport.Host(host: "h1", accounts: [merged], fixes: plan.actions.map(\.description))
        #expect(host.status == .error)
        let report = DoctorReport(hosts: [host], seconds: 1, fix: true, run: 7)
        #expect(report.summary.fixed == 1 && report.summary.errors == 1 && report.exitCode == 2)
        let text = report.text(verbose: false)
        #expect(text.contains("h1 usersample: 1 fixed, 1 error\n"))
        #expect(text.contains("  fixed error dir_unsafe: "))
        #expect(text.contains("    not fixed: /home/usersample is owned by uid 1002"))
        #expect(text.hasSuffix("0 failed, 1 fixed (run 7)\n"))
    }

    /// Without --fix the JSON has no `fixed`, `fix_refused`, `fixes` or `run`; with it, all of them.
    @Test func jsonFieldsOnlyWithFix() throws {
        var finding = DoctorFinding(.error, .homeUnsafe, "m", subject: "/home/u")
        let plain = DoctorReport(hosts: [DoctorReport.Host(host: "h1", accounts: [DoctorReport.Account(account: "u", findings: [finding])])], seconds: 1)
        let plainJSON = String(decoding: try JSONEncoder().encode(plain), as: UTF8.self)
        for key in ["\"fixed\"", "\"fix_refused\"", "\"fixes\"", "\"run\"", "subject"] { #expect(!plainJSON.contains(key), "\(key)") }
        finding.fixed = false
        finding.fixRefused = "why"
        let fixed = DoctorReport(hosts: [DoctorReport.Host(host: "h1", accounts: [DoctorReport.Account(account: "u", findings: [finding])], fixes: [])],
                                 seconds: 1, fix: true)
        let fixedJSON = String(decoding: try JSONEncoder().encode(fixed), as: UTF8.self)
        for key in ["\"fixed\":false", "\"fix_refused\":\"why\"", "\"fixes\":[]", "\"run\":null", "\"fixed\":0"] { #expect(fixedJSON.contains(key), "\(key) in \(fixedJSON)") }
    }
}
