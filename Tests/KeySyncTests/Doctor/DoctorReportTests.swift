import Foundation
import Testing
@testable import KeySync

@Suite struct DoctorReportTests {
    static let error = DoctorFinding(.error, .accountLocked, "usersample is locked", evidence: ["shadow: usersample:!:19000:0:99999:7:::"],
                                     fix: "usermod -p '*' usersample")
    static let warning = DoctorFinding(.warning, .keyRSASHA1, "ssh-rsa key", fix: nil, key: "kp-usersample")
    static let info = DoctorFinding(.info, .sshdLog, "the last sshd log line", evidence: ["sshd log: \u{1B}[31mred"])

    static func host(_ name: String, _ findings: [DoctorFinding]) -> DoctorReport.Host {
        DoctorReport.Host(host: name, accounts: [DoctorReport.Account(account: "usersample", findings: findings)])
    }

    @Test func exitCodes() {
        let failed = DoctorReport.Host(host: "h9", error: "h9 (127.0.0.9:22): connection refused", accounts: [])
        #expect(DoctorReport(hosts: [Self.host("h1", [Self.warning, Self.info])], seconds: 1).exitCode == 0)
        #expect(DoctorReport(hosts: [Self.host("h1", [Self.error])], seconds: 1).exitCode == 2)
        #expect(DoctorReport(hosts: [Self.host("h1", [Self.error]), failed], seconds: 1).exitCode == 3)
        #expect(DoctorReport(hosts: [failed], seconds: 1, interrupted: true).exitCode == 130)
        #expect(DoctorReport(hosts: [], seconds: 0).exitCode == 0)
    }

    @Test func statuses() {
        #expect(Self.host("h", []).status == .ok)
        #expect(Self.host("h", [Self.info]).status == .ok)
        #expect(Self.host("h", [Self.warning, Self.info]).status == .warning)
        #expect(Self.host("h", [Self.warning, Self.error]).status == .error)
        #expect(DoctorReport.Host(host: "h", error: "x", accounts: []).status == .failed)
    }

    @Test func jsonShape() throws {
        let report = DoctorReport(hosts: [Self.host("h1", [Self.error, Self.warning]),
                                          DoctorReport.Host(host: "h2", error: "down", accounts: [])], seconds: 1.5)
        let data = try JSONEncoder().encode(report)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["hosts", "summary", "interrupted"])
        let hosts = try #require(object["hosts"] as? [[String: Any]])
        #expect(Set(hosts[0].keys) == ["host", "status", "error", "accounts"])
        #expect(hosts[0]["error"] is NSNull)
        #expect(hosts[0]["status"] as? String == "error")
        #expect(hosts[1]["status"] as? String == "failed")
        let accounts = try #require(hosts[0]["accounts"] as? [[String: Any]])
        #expect(accounts[0]["account"] as? String == "usersample")
        let findings = try #require(accounts[0]["findings"] as? [[String: Any]])
        #expect(Set(findings[0].keys) == ["severity", "code", "message", "evidence", "fix"])
        #expect(findings[0]["severity"] as? String == "error")
        #expect(findings[0]["code"] as? String == "account_locked")
        #expect(findings[0]["evidence"] as? [String] == ["shadow: usersample:!:19000:0:99999:7:::"])
        #expect(findings[0]["fix"] as? String == "usermod -p '*' usersample")
        #expect(findings[1]["fix"] is NSNull)
        #expect(findings[1]["key"] as? String == "kp-usersample")
        let summary = try #require(object["summary"] as? [String: Any])
        #expect(summary["hosts"] as? Int == 2 && summary["errors"] as? Int == 1 && summary["warnings"] as? Int == 1 && summary["failed"] as? Int == 1)
        // And back.
        let decoded = try JSONDecoder().decode(DoctorReport.self, from: data)
        #expect(decoded.hosts[0].accounts[0].findings == [Self.error, Self.warning])
    }

    @Test func text() {
        let report = DoctorReport(hosts: [Self.host("h1", [Self.error, Self.warning, Self.info]), Self.host("h2", [Self.info]),
                                          DoctorReport.Host(host: "h3", error: "h3: down", accounts: [])], seconds: 2)
        #expect(report.text(verbose: false) == """
            h1 usersample: 1 error, 1 warning
              error account_locked: usersample is locked
                  shadow: usersample:!:19000:0:99999:7:::
                fix: usermod -p '*' usersample
              warning key_rsa_sha1: ssh-rsa key
            h2 usersample: ok
            h3: FAILED: h3: down
            examined 3 hosts in 2.0 s: 1 error, 1 warning, 1 failed

            """)
        #expect(report.text().contains("  info sshd_log: the last sshd log line\n      sshd log: \\u{1B}[31mred\n"))
    }

    @Test func findingsAreSortedBySeverityKeepingTheirOrder() throws {
        var fixture = try DoctorFixture.locked("1 empty")
        fixture.account.homeStat = "directory|777|1001|1001|4096"
        fixture.account.shell = "/usr/sbin/nologin"
        fixture.logLines = ["something"]
        #expect(try fixture.findings().map(\.code) == [.accountLocked, .homeUnsafe, .shellNoLogin, .sshdLog])
    }

    @Test func noLogSourceIsSaid() throws {
        var fixture = try DoctorFixture()
        fixture.logSources = []
        #expect(try fixture.findings().map(\.code) == [.sshdLogUnavailable])
    }
}
