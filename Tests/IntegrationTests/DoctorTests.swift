import Foundation
import Testing
@testable import KeySync

/// `keysync doctor` against real sshd hosts (issue 9): each test creates one
/// incident for real on its own host (30–39), checks that doctor finds it
/// with the evidence, applies the printed fix on the host, and logs in.
@Suite struct DoctorTests {
    let fleet: TestFleet

    init() throws { fleet = try TestFleet.shared(minimumHosts: 40) }

    /// A fresh `usersample` on `host` with the managed key pushed; `before`
    /// runs on the host first (after removing the account). Returns the inventory.
    func prepare(_ host: Int, _ workspace: Workspace, before: String? = nil, extraHosts: String = "",
                 adminKey: TestFleet.KeyKind = .ed25519, sourceLocation: SourceLocation = #_sourceLocation) throws -> Inventory {
        try fleet.exec(host: host, ["sh", "-c", "userdel -r usersample 2>/dev/null; groupdel usersample 2>/dev/null; true"])
        // An sshd_config left edited by an interrupted run goes back first.
        if try fleet.exec(host: host, ["sh", "-c", "[ -f \(Self.savedConfig) ] && cp \(Self.savedConfig) \(Self.config) && rm \(Self.savedConfig)"]).succeeded {
            try reloadSSHD(host)
        }
        if let before { try require(fleet.exec(host: host, ["sh", "-c", before]), sourceLocation: sourceLocation) }
        try workspace.generateKey("kp-usersample")
        try workspace.write("inventory.yml", """
            \(fleet.inventoryDefaults(key: adminKey))
            keys:
              kp-usersample: { file: kp-usersample.pub }
            hosts:
            \(fleet.inventoryHosts([host]))
            \(extraHosts)
            projects:
              usersample:
                hosts: [h\(host)]
                roles:
                  deploy:
                    account: usersample
                    uid: 1001
                    gid: 1001
                    shell: /bin/bash
                    create: true
                    keys: [kp-usersample]
            """)
        let inventory = try Inventory.load(path: workspace.file("inventory.yml"))
        let push = try SyncRun(inventory: inventory, targets: try inventory.select(hosts: ["h\(host)"]),
                               settings: SyncEngine.Settings(mode: .push, parallel: 4)).execute(store: nil)
        #expect(push.summary.failed == 0, "\(push.hosts.compactMap(\.error))", sourceLocation: sourceLocation)
        return inventory
    }

    func doctor(_ inventory: Inventory, hosts: [String], tryLogin: String? = nil) throws -> DoctorReport {
        let run = DoctorRun(inventory: inventory, targets: try inventory.select(hosts: hosts),
                            options: DoctorRun.Options(parallel: 4, tryLogin: tryLogin))
        return try run.execute()
    }

    /// The findings for usersample on the host `name`.
    func findings(_ report: DoctorReport, _ name: String) -> [DoctorFinding] {
        report.hosts.first { $0.host == name }?.accounts.first { $0.account == "usersample" }?.findings ?? []
    }

    /// The finding `code` with `severity`, whose evidence has every fragment of `evidence`.
    func expectFinding(_ report: DoctorReport, host: Int, _ code: DoctorCode, _ severity: DoctorFinding.Severity = .error,
                       evidence: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> DoctorFinding {
        let all = findings(report, "h\(host)")
        let finding = try #require(all.first { $0.code == code }, "no \(code.rawValue) in \(all.map(\.code.rawValue)): \(all)",
                                   sourceLocation: sourceLocation)
        #expect(finding.severity == severity, sourceLocation: sourceLocation)
        for fragment in evidence {
            #expect(finding.evidence.contains { $0.contains(fragment) }, "evidence lacks \"\(fragment)\": \(finding.evidence)",
                    sourceLocation: sourceLocation)
        }
        #expect(report.exitCode == (severity == .error ? 2 : 0), sourceLocation: sourceLocation)
        return finding
    }

    /// Runs the finding's fix on the host as printed (the reload step, which
    /// needs systemd, becomes a SIGHUP to the host's sshd).
    func apply(_ finding: DoctorFinding, host: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let fix = try #require(finding.fix, "\(finding.code.rawValue) has no fix", sourceLocation: sourceLocation)
        let reloads = fix.contains(ConfigFix.reload)
        try require(fleet.exec(host: host, ["sh", "-c", fix.replacingOccurrences(of: ConfigFix.reload, with: "sshd -t")]),
                    sourceLocation: sourceLocation)
        if reloads { try reloadSSHD(host) }
    }

    func login(_ host: Int, _ workspace: Workspace) throws -> CommandResult {
        try fleet.login(host: host, user: "usersample", key: workspace.file("kp-usersample"))
    }

    func require(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(result.succeeded, "\(result)", sourceLocation: sourceLocation)
    }

    /// SIGHUP to the host's listening sshd (it re-executes and re-reads its
    /// config), then waits until it accepts logins again.
    func reloadSSHD(_ host: Int) throws {
        let text = try String(contentsOfFile: "\(fleet.directory)/h\(host)/pid", encoding: .utf8)
        let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, SIGHUP) == 0)
        for _ in 0..<50 {
            usleep(100_000)
            for key in [TestFleet.KeyKind.ed25519, .rsa] where (try? fleet.ssh(host: host, key: key, command: "true", timeout: 10))?.succeeded == true {
                return
            }
        }
        Issue.record("sshd of h\(host) did not come back after SIGHUP")
    }

    static let config = "/etc/ssh/sshd_config", savedConfig = "/etc/ssh/sshd_config.doctor-test"

    /// Edits the host's sshd_config for the test's body and restores it afterwards.
    func withSSHDConfig(_ host: Int, appending line: String, _ body: () throws -> Void) throws {
        let (config, saved) = (Self.config, Self.savedConfig)
        try require(fleet.exec(host: host, ["sh", "-c", "cp \(config) \(saved) && echo \(Shell.quote(line)) >> \(config)"]))
        defer {
            _ = try? fleet.exec(host: host, ["sh", "-c", "cp \(saved) \(config) && rm \(saved)"])
            try? reloadSSHD(host)
        }
        try reloadSSHD(host)
        try body()
    }

    // MARK: - Incidents

    @Test func aHealthyHostHasNoErrorsAndItsLoginWorks() throws {
        let workspace = try Workspace()
        let inventory = try prepare(30, workspace)
        #expect(try login(30, workspace).succeeded)
        let report = try doctor(inventory, hosts: ["h30"], tryLogin: workspace.file("kp-usersample"))
        #expect(report.exitCode == 0)
        #expect(report.hosts.map(\.status) == [.ok])
        let all = findings(report, "h30")
        #expect(all.allSatisfy { $0.severity == .info }, "\(all)")
        let login = try #require(all.first { $0.code == .loginWorks })
        #expect(login.message.contains("ssh-ed25519"))
        let log = try #require(all.first { $0.code == .sshdLog })
        #expect(log.evidence.contains { $0.contains("Accepted publickey for usersample") })
        #expect(log.message.contains("/h30/sshd.log"))
    }

    @Test func accountCreatedByUseraddWithoutPasswordIsLocked() throws {
        let workspace = try Workspace()
        let inventory = try prepare(31, workspace, before: "groupadd -g 1001 usersample && useradd -u 1001 -g 1001 -m -s /bin/bash usersample")
        #expect(try fleet.exec(host: 31, ["sh", "-c", "getent shadow usersample | cut -d: -f2"]).stdout == "!\n")
        #expect(try !login(31, workspace).succeeded)
        let finding = try expectFinding(try doctor(inventory, hosts: ["h31"]), host: 31, .accountLocked,
                                        evidence: ["shadow: usersample:!:", "usepam no", "sshd log: User usersample not allowed because account is locked"])
        #expect(finding.fix == "usermod -p '*' usersample")
        try apply(finding, host: 31)
        #expect(try login(31, workspace).succeeded)
        #expect(try doctor(inventory, hosts: ["h31"]).exitCode == 0)
    }

    @Test func accountLockedWithUsermod() throws {
        let workspace = try Workspace()
        let inventory = try prepare(32, workspace)
        try require(fleet.exec(host: 32, ["usermod", "-L", "usersample"]))
        #expect(try !login(32, workspace).succeeded)
        let finding = try expectFinding(try doctor(inventory, hosts: ["h32"]), host: 32, .accountLocked,
                                        evidence: ["shadow: usersample:!*:", "because account is locked"])
        try apply(finding, host: 32)
        #expect(try login(32, workspace).succeeded)
    }

    @Test func expiredAccount() throws {
        let workspace = try Workspace()
        let inventory = try prepare(33, workspace)
        try require(fleet.exec(host: 33, ["chage", "-E", "0", "usersample"]))
        #expect(try !login(33, workspace).succeeded)
        let finding = try expectFinding(try doctor(inventory, hosts: ["h33"]), host: 33, .accountExpired,
                                        evidence: ["shadow: usersample:*:", "::0:", "sshd log: Account usersample has expired"])
        #expect(finding.fix == "chage -E -1 usersample")
        try apply(finding, host: 33)
        #expect(try login(33, workspace).succeeded)
    }

    @Test func rootOwnedAuthorizedKeys() throws {
        let workspace = try Workspace()
        let inventory = try prepare(34, workspace)
        let file = "/home/usersample/.ssh/authorized_keys"
        try require(fleet.exec(host: 34, ["sh", "-c", "chown root:root \(file) && chmod 600 \(file)"]))
        #expect(try !login(34, workspace).succeeded)
        let finding = try expectFinding(try doctor(inventory, hosts: ["h34"]), host: 34, .fileUnreadable,
                                        evidence: ["uid=0(root)", "sshd log: Could not open user 'usersample' authorized keys '\(file)': Permission denied"])
        try apply(finding, host: 34)
        #expect(try login(34, workspace).succeeded)
        #expect(try fleet.exec(host: 34, ["stat", "-c", "%U %a", file]).stdout == "usersample 600\n")
    }

    @Test func worldWritableHome() throws {
        let workspace = try Workspace()
        let inventory = try prepare(35, workspace)
        try require(fleet.exec(host: 35, ["chmod", "0777", "/home/usersample"]))
        #expect(try !login(35, workspace).succeeded)
        let finding = try expectFinding(try doctor(inventory, hosts: ["h35"]), host: 35, .homeUnsafe,
                                        evidence: ["stat /home/usersample: directory 0777", "bad ownership or modes for directory /home/usersample"])
        #expect(finding.fix == "chmod go-w /home/usersample")
        try apply(finding, host: 35)
        #expect(try login(35, workspace).succeeded)
    }

    @Test func denyUsersInSSHDConfig() throws {
        let workspace = try Workspace()
        let inventory = try prepare(36, workspace)
        try withSSHDConfig(36, appending: "DenyUsers usersample") {
            #expect(try !login(36, workspace).succeeded)
            let finding = try expectFinding(try doctor(inventory, hosts: ["h36"]), host: 36, .deniedUser,
                                            evidence: ["denyusers usersample", "/etc/ssh/sshd_config:", "not allowed because listed in DenyUsers"])
            #expect(finding.fix?.hasPrefix("sed -i '") == true)
            try apply(finding, host: 36)
            #expect(try login(36, workspace).succeeded)
        }
    }

    @Test func acceptedAlgorithmsRefuseTheKeyType() throws {
        let workspace = try Workspace()
        // keysync logs in with the admin's RSA key here: the restriction refuses its ed25519 key too.
        let inventory = try prepare(37, workspace, adminKey: .rsa)
        try withSSHDConfig(37, appending: "PubkeyAcceptedAlgorithms ssh-rsa,rsa-sha2-512,rsa-sha2-256") {
            #expect(try !login(37, workspace).succeeded)
            let finding = try expectFinding(try doctor(inventory, hosts: ["h37"]), host: 37, .keyTypeRefused,
                                            evidence: ["pubkeyacceptedalgorithms", "PubkeyAcceptedAlgorithms ssh-rsa,rsa-sha2-512,rsa-sha2-256"])
            #expect(finding.key == "kp-usersample")
            #expect(finding.fix?.contains("PubkeyAcceptedAlgorithms ssh-rsa,rsa-sha2-512,rsa-sha2-256,ssh-ed25519") == true)
            try apply(finding, host: 37)
            #expect(try login(37, workspace).succeeded)
        }
    }

    @Test func missingShellAndWhatALoginAttemptSays() throws {
        let workspace = try Workspace()
        let inventory = try prepare(38, workspace)
        try require(fleet.exec(host: 38, ["usermod", "-s", "/bin/nosuch", "usersample"]))
        let report = try doctor(inventory, hosts: ["h38"], tryLogin: workspace.file("kp-usersample"))
        let finding = try expectFinding(report, host: 38, .shellInvalid,
                                        evidence: [":/bin/nosuch", "User usersample not allowed because shell /bin/nosuch does not exist"])
        let attempt = try #require(findings(report, "h38").first { $0.code == .loginFailed })
        #expect(attempt.evidence.contains { $0.contains("client:") })
        try apply(finding, host: 38)
        #expect(try login(38, workspace).succeeded)
    }

    /// A host that cannot be reached makes the run exit 3 even with errors elsewhere;
    /// a key missing on a reachable host is fixed by the push the finding names.
    @Test func unreachableHostWinsAndAMissingKeyIsPushedBack() throws {
        let workspace = try Workspace()
        let inventory = try prepare(39, workspace, extraHosts: "  h39-closed: { address: \(fleet.hosts[39].address), port: 1 }")
        try require(fleet.exec(host: 39, ["sed", "-i", "/kp-usersample/d", "/home/usersample/.ssh/authorized_keys"]))
        #expect(try !login(39, workspace).succeeded)
        let missing = try expectFinding(try doctor(inventory, hosts: ["h39"]), host: 39, .keyMissing,
                                        evidence: ["no line with", "Failed publickey for usersample"])
        #expect(missing.fix == "keysync push --host h39 --project usersample")
        // h39-closed is in no project, so it is selected through a second project just for this test.
        var targets = try inventory.select(hosts: ["h39"])
        targets.append(HostTarget(host: try #require(inventory.host(named: "h39-closed")), accounts: targets[0].accounts))
        let both = try DoctorRun(inventory: inventory, targets: targets, options: DoctorRun.Options(parallel: 4)).execute()
        #expect(both.hosts.map(\.status) == [.error, .failed])
        #expect(both.hosts[1].error?.isEmpty == false)
        #expect(both.exitCode == 3)

        let push = try SyncRun(inventory: inventory, targets: try inventory.select(hosts: ["h39"]),
                               settings: SyncEngine.Settings(mode: .push, parallel: 4)).execute(store: nil)
        #expect(push.summary.changed == 1)
        #expect(try login(39, workspace).succeeded)
    }
}
