import Foundation
import Testing
@testable import KeySync

/// The doctor part of the probe: script, parsing, and the real thing run locally.
@Suite struct DoctorProbeTests {
    static let diagnostics = ProbeScript.Diagnostics(logPaths: Hostile.values.map { "/var/log/" + $0 }, logLines: 5)

    /// Everything the script runs before the accounts, with the log collection done.
    static func prelude(_ diagnostics: ProbeScript.Diagnostics) -> String {
        ProbeScript.render([], nonce: "n0", diagnostics: diagnostics).droppingEndLine
            .replacingOccurrences(of: ProbeScript.Diagnostics.epilogue, with: "")
    }

    @Test func scriptParsesAndTheSyncProbeIsUnchanged() throws {
        try LocalShell.syntaxCheck(ProbeScript.render(ProbeScriptTests.requests, nonce: "n0", diagnostics: Self.diagnostics))
        let plain = ProbeScript.render(ProbeScriptTests.requests, nonce: "n0")
        #expect(!plain.contains("diagnose_account"))
        #expect(!plain.contains("diag_"))
        let doctor = ProbeScript.render(ProbeScriptTests.requests, nonce: "n0", diagnostics: Self.diagnostics)
        #expect(doctor.hasSuffix(ProbeScript.Diagnostics.epilogue + ProbeScript.endLine))
        #expect(doctor.components(separatedBy: "\ndiagnose_account ").count == ProbeScriptTests.requests.count + 1)
    }

    @Test func logPathsArriveAsLiteralArguments() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let script = ProbeScript.render([], nonce: "n0", diagnostics: Self.diagnostics)
        let start = try #require(script.range(of: "\ndiag_collect_logs "))
        let end = try #require(script.range(of: "\ndiag_config\n", range: start.upperBound..<script.endIndex))
        let output = try LocalShell.run(StubCalls.stubs(["diag_collect_logs"], recordingInto: folder.file("calls").path)
                                        + script[start.lowerBound..<end.lowerBound] + "\n",
                                        directory: folder.url)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(try StubCalls.calls(in: folder.file("calls")) == [["diag_collect_logs"] + Self.diagnostics.logPaths])
    }

    @Test func parsesTheDoctorLines() throws {
        var fixture = try DoctorFixture()
        fixture.config = ["DenyUsers bob", "  AllowUsers=ops usersample"]
        let n = FakeProbe.nonce
        fixture.extraAccountLines = ["keyfile listed\tregular file|600|1001|1001|4\t/home/usersample/.ssh/authorized_keys2",
                                     "keyfile_content-begin \(n)", "a\nb\n", "keyfile_content-end \(n) 0", "keyfile unlisted\tabsent\t/x y/.ssh/authorized_keys"]
        fixture.logLines = ["User usersample not allowed because account is locked"]
        let probe = try fixture.probe()
        #expect(probe.clientAddress == "127.0.0.1")
        #expect(probe.logSources == ["/var/log/auth.log"])
        #expect(probe.configLines.map(\.keyword) == ["denyusers", "allowusers"])
        #expect(probe.configLines[1].values == ["ops", "usersample"])
        #expect(probe.configLines[1].location == "/etc/ssh/sshd_config:2")
        let d = try #require(probe.accounts["usersample"]?.diagnostics)
        #expect(d.groups == ["usersample"])
        #expect(d.lockMarks == 0 && d.passwordAfterLock == .star && d.shadowFields == "19000:0:99999:7:::")
        #expect(d.fileReadable == true)
        #expect(d.realFile == PathStat(path: "/home/usersample/.ssh/authorized_keys", stat: FileStat(kind: .regular, mode: 0o600, uid: 1001, gid: 1001)))
        #expect(d.walk.map(\.path) == ["/home/usersample/.ssh", "/home/usersample"])
        #expect(d.keyFiles == [
            KeyFileProbe(path: "/home/usersample/.ssh/authorized_keys2", listed: true, stat: FileStat(kind: .regular, mode: 0o600, uid: 1001, gid: 1001), content: Array("a\nb\n".utf8)),
            KeyFileProbe(path: "/x y/.ssh/authorized_keys", listed: false, stat: .absent),
        ])
        #expect(d.logLines == ["User usersample not allowed because account is locked"])
        #expect(probe.accounts["usersample"]?.content == fixture.account.content)
    }

    /// The shadow line leaves the host as lock marks and a class, never the hash.
    @Test(arguments: [
        ("u:$6$salt$hash:19000:0:99999:7:::", "shadow_lock 0 hash 19000:0:99999:7:::"),
        ("u:!$6$salt$hash:19000:0:99999:7:::", "shadow_lock 1 hash 19000:0:99999:7:::"),
        ("u:!!:19000::::::", "shadow_lock 2 empty 19000::::::"),
        ("u:!*:0:0:99999:7::0:", "shadow_lock 1 star 0:0:99999:7::0:"),
        ("u:*:19000:0:99999:7:::", "shadow_lock 0 star 19000:0:99999:7:::"),
    ])
    func shadowLockNeverCarriesTheHash(_ entry: String, _ expected: String) throws {
        let script = Self.prelude(ProbeScript.Diagnostics())
            + "lookup() { found=\(Shell.quote(entry)); }\nid() { echo u; }\n"
            + "name=u pw='u:x:1:1::/nonexistent:/bin/sh' home=/nonexistent file=/nonexistent/.ssh/authorized_keys p_uid=1 p_gid=1 settings=''\n"
            + "diagnose_account u\n"
        let output = try LocalShell.run(script, arguments: ["-s", "--", "127.0.0.1 1 22"])
        #expect(output.status == 0, "\(output.stderr)")
        let line = try #require(output.text.split(separator: "\n").first { $0.hasPrefix("shadow_lock") })
        #expect(line == Substring(expected))
        #expect(!output.text.contains("$6$"))
    }

    /// The log search keeps lines that name the account or its home, plus
    /// syslog lines of the same sshd process, and only the last N.
    @Test func logLinesAboutTheAccount() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let log = """
            Jan 1 sshd[10]: Authentication refused: bad ownership or modes for directory /home/usersample\r
            Jan 1 sshd[10]: Connection closed by authenticating user usersample 127.0.0.1 port 1 [preauth]
            Jan 1 sshd[11]: Accepted publickey for ops from 127.0.0.1
            Jan 1 sshd[12]: Failed publickey for usersample2 from 127.0.0.1
            Jan 1 sshd[13]: Could not open user 'usersample' authorized keys '/x': Permission denied
            User usersample not allowed because account is locked
            Jan 1 sshd[14]: userauth_pubkey: key type ssh-ed25519 not in PubkeyAcceptedAlgorithms [preauth]
            Jan 1 sshd[14]: Connection closed by authenticating user usersample 127.0.0.1 port 2 [preauth]
            Jan 1 sshd[15]: Disconnected from /home/usersample2

            """
        try log.write(to: folder.file("auth.log"), atomically: true, encoding: .utf8)
        let script = Self.prelude(ProbeScript.Diagnostics(logPaths: [folder.file("auth.log").path], logLines: 5))
            + "name=usersample pw= home=/home/usersample\ndiag_logs\n"
        let output = try LocalShell.run(script, arguments: ["-s", "--", "127.0.0.1 1 22"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.text.contains("log_source \(folder.file("auth.log").path)\n"))
        let lines = output.text.split(separator: "\n").filter { $0.hasPrefix("log ") }
        #expect(lines == [
            "log Jan 1 sshd[10]: Connection closed by authenticating user usersample 127.0.0.1 port 1 [preauth]",
            "log Jan 1 sshd[13]: Could not open user 'usersample' authorized keys '/x': Permission denied",
            "log User usersample not allowed because account is locked",
            "log Jan 1 sshd[14]: userauth_pubkey: key type ssh-ed25519 not in PubkeyAcceptedAlgorithms [preauth]",
            "log Jan 1 sshd[14]: Connection closed by authenticating user usersample 127.0.0.1 port 2 [preauth]",
        ])
        #expect(!lines.contains { $0.contains("usersample2") || $0.contains("ops") || $0.hasSuffix("\r") })
    }

    /// The whole probe with the doctor part, run locally as root against this machine (read-only).
    @Test(.enabled(if: getuid() == 0, "reads /etc/shadow: needs root"))
    func realProbeWithDiagnostics() throws {
        let script = ProbeScript.render([ProbeRequest(account: "root", uid: 0, gid: 0, group: "root"),
                                         ProbeRequest(account: "keysync-nosuchuser")], nonce: "n0", diagnostics: ProbeScript.Diagnostics())
        let output = try LocalShell.run(script, arguments: ["-s", "--", "127.0.0.1 40000 22"])
        #expect(output.status == 0, "\(output.stderr)")
        let probe = try HostProbe(reply: output.stdout, nonce: "n0")
        #expect(probe.clientAddress == "127.0.0.1")
        let root = try #require(probe.accounts["root"]?.diagnostics)
        #expect(root.groups.contains("root"))
        #expect(root.shadowFields != nil)
        if let real = root.realFile {
            #expect(root.walk.last?.path == "/root" || root.walk.last?.path == "/")
            #expect(real.path.hasPrefix("/"))
        }
        #expect(probe.accounts["keysync-nosuchuser"]?.diagnostics != nil)
        if let sshd = probe.accounts["root"]?.sshd, sshd["authorizedkeysfile"] != nil {
            #expect(sshd["requiredrsasize"] != nil && sshd["permitrootlogin"] != nil, "\(sshd)")
        }
        #expect(!output.text.contains("$6$") && !output.text.contains("$y$"))
    }
}
