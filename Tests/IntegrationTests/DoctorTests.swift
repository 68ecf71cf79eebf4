import Foundation
import Testing
@testable import KeySync

/// `keysync doctor` against real sshd hosts (issue 9): each test creates one
/// incident for real on its own host (30–39), checks that doctor finds it
/// with the evidence, applies the printed fix on the host (or `--fix`), and
/// logs in. Serialized: the `--fix` tests reuse hosts 30–39 (each test
/// rebuilds usersample first).
@Suite(.serialized) struct DoctorTests {
    let fleet: TestFleet

    init() throws { fleet = try TestFleet.shared(minimumHosts: 40) }

    /// A fresh `usersample` on `host` with the managed key pushed; `before`
    /// runs on the host first (after removing the account). Returns the inventory.
    func prepare(_ host: Int, _ workspace: Workspace, before: String? = nil, extraHosts: String = "",
                 adminKey: TestFleet.KeyKind = .ed25519, create: Bool = true,
                 sourceLocation: SourceLocation = #_sourceLocation) throws -> Inventory {
        try fleet.removeAccounts(on: [host])
        // An sshd_config left edited by an interrupted run goes back first.
        if try fleet.exec(host: host, ["sh", "-c", "[ -f \(Self.savedConfig) ] && cp \(Self.savedConfig) \(Self.config) && rm \(Self.savedConfig)"]).succeeded {
            try fleet.reloadSSHD(host: host)
        }
        if let before { try require(fleet.exec(host: host, ["sh", "-c", before]), sourceLocation: sourceLocation) }
        try workspace.generateKey("kp-usersample")
        try workspace.write("inventory.yml", fleet.inventory(
            defaults: fleet.inventoryDefaults(key: adminKey), hosts: [host], moreHosts: extraHosts,
            projects: fleet.usersampleProject(hosts: [host], [
                "uid: 1001", "gid: 1001", "shell: /bin/bash", "create: \(create)", "keys: [kp-usersample]",
            ])))
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
    /// usersample cannot log in on `host`, and `doctor` says why: the finding
    /// `code` with `evidence` (see ``expectFinding(_:host:_:_:evidence:sourceLocation:)``).
    func expectLoginFails(_ host: Int, _ inventory: Inventory, _ workspace: Workspace, finding code: DoctorCode, evidence: [String],
                          sourceLocation: SourceLocation = #_sourceLocation) throws -> DoctorFinding {
        #expect(try !login(host, workspace).succeeded, sourceLocation: sourceLocation)
        return try expectFinding(try doctor(inventory, hosts: ["h\(host)"]), host: host, code, evidence: evidence, sourceLocation: sourceLocation)
    }

    /// `finding`'s fix, run on `host` (``apply(_:host:sourceLocation:)``), lets usersample log in.
    func expectFixLetsLogIn(_ finding: DoctorFinding, host: Int, _ workspace: Workspace, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try apply(finding, host: host, sourceLocation: sourceLocation)
        #expect(try login(host, workspace).succeeded, sourceLocation: sourceLocation)
    }

    func apply(_ finding: DoctorFinding, host: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let fix = try #require(finding.fix, "\(finding.code.rawValue) has no fix", sourceLocation: sourceLocation)
        let reloads = fix.contains(ConfigFix.reload)
        try require(fleet.exec(host: host, ["sh", "-c", fix.replacingOccurrences(of: ConfigFix.reload, with: "sshd -t")]),
                    sourceLocation: sourceLocation)
        if reloads { try fleet.reloadSSHD(host: host) }
    }

    func login(_ host: Int, _ workspace: Workspace) throws -> CommandResult {
        try fleet.login(host: host, user: "usersample", key: workspace.file("kp-usersample"))
    }

    func require(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(result.succeeded, "\(result)", sourceLocation: sourceLocation)
    }

    static let config = "/etc/ssh/sshd_config", savedConfig = "/etc/ssh/sshd_config.doctor-test"

    /// Edits the host's sshd_config for the test's body and restores it afterwards.
    func withSSHDConfig(_ host: Int, appending line: String, _ body: () throws -> Void) throws {
        let (config, saved) = (Self.config, Self.savedConfig)
        try require(fleet.exec(host: host, ["sh", "-c", "cp \(config) \(saved) && echo \(Shell.quote(line)) >> \(config)"]))
        defer {
            _ = try? fleet.exec(host: host, ["sh", "-c", "cp \(saved) \(config) && rm \(saved)"])
            try? fleet.reloadSSHD(host: host)
        }
        try fleet.reloadSSHD(host: host)
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
        let finding = try expectLoginFails(31, inventory, workspace, finding: .accountLocked,
                                           evidence: ["shadow: usersample:!:", "usepam no", "sshd log: User usersample not allowed because account is locked"])
        #expect(finding.fix == "usermod -p '*' usersample")
        try expectFixLetsLogIn(finding, host: 31, workspace)
        #expect(try doctor(inventory, hosts: ["h31"]).exitCode == 0)
    }

    /// A command that breaks usersample's login in a way doctor names, with
    /// the evidence it must show and the fix it must print.
    struct BrokenLogin: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let host: Int
        let breaking: [String]
        let code: DoctorCode
        let evidence: [String]
        let fix: String
    }

    static let brokenLogins: [BrokenLogin] = [
        BrokenLogin(testDescription: "account locked with usermod -L", host: 32, breaking: ["usermod", "-L", "usersample"],
                    code: .accountLocked, evidence: ["shadow: usersample:!*:", "because account is locked"], fix: "usermod -p '*' usersample"),
        BrokenLogin(testDescription: "expired account", host: 33, breaking: ["chage", "-E", "0", "usersample"], code: .accountExpired,
                    evidence: ["shadow: usersample:*:", "::0:", "sshd log: Account usersample has expired"], fix: "chage -E -1 usersample"),
        BrokenLogin(testDescription: "world-writable home", host: 35, breaking: ["chmod", "0777", "/home/usersample"], code: .homeUnsafe,
                    evidence: ["stat /home/usersample: directory 0777", "bad ownership or modes for directory /home/usersample"],
                    fix: "chmod go-w /home/usersample"),
    ]

    @Test(arguments: brokenLogins)
    func doctorNamesTheBreakAndItsFixRepairsIt(_ broken: BrokenLogin) throws {
        let workspace = try Workspace()
        let inventory = try prepare(broken.host, workspace)
        try require(fleet.exec(host: broken.host, broken.breaking))
        let finding = try expectLoginFails(broken.host, inventory, workspace, finding: broken.code, evidence: broken.evidence)
        #expect(finding.fix == broken.fix)
        try expectFixLetsLogIn(finding, host: broken.host, workspace)
    }

    @Test func rootOwnedAuthorizedKeys() throws {
        let workspace = try Workspace()
        let inventory = try prepare(34, workspace)
        let file = "/home/usersample/.ssh/authorized_keys"
        try require(fleet.exec(host: 34, ["sh", "-c", "chown root:root \(file) && chmod 600 \(file)"]))
        let finding = try expectLoginFails(34, inventory, workspace, finding: .fileUnreadable,
                                           evidence: ["uid=0(root)", "sshd log: Could not open user 'usersample' authorized keys '\(file)': Permission denied"])
        // A root chown pasted later could be sent through a link the account
        // swaps in for .ssh (to /root/.ssh): the printed fix is doctor --fix,
        // which rewrites the file as the account.
        #expect(finding.fix == "keysync doctor --fix --host h34 --account usersample")
        _ = try doctorFix(inventory, host: 34)
        #expect(try login(34, workspace).succeeded)
        #expect(try fleet.exec(host: 34, ["stat", "-c", "%U %a", file]).stdout == "usersample 600\n")
    }

    @Test func denyUsersInSSHDConfig() throws {
        let workspace = try Workspace()
        let inventory = try prepare(36, workspace)
        try withSSHDConfig(36, appending: "DenyUsers usersample") {
            let finding = try expectLoginFails(36, inventory, workspace, finding: .deniedUser,
                                               evidence: ["denyusers usersample", "/etc/ssh/sshd_config:", "not allowed because listed in DenyUsers"])
            #expect(finding.fix?.hasPrefix("sed -i '") == true)
            try expectFixLetsLogIn(finding, host: 36, workspace)
        }
    }

    @Test func acceptedAlgorithmsRefuseTheKeyType() throws {
        let workspace = try Workspace()
        // keysync logs in with the admin's RSA key here: the restriction refuses its ed25519 key too.
        let inventory = try prepare(37, workspace, adminKey: .rsa)
        try withSSHDConfig(37, appending: "PubkeyAcceptedAlgorithms ssh-rsa,rsa-sha2-512,rsa-sha2-256") {
            let finding = try expectLoginFails(37, inventory, workspace, finding: .keyTypeRefused,
                                               evidence: ["pubkeyacceptedalgorithms", "PubkeyAcceptedAlgorithms ssh-rsa,rsa-sha2-512,rsa-sha2-256"])
            #expect(finding.key == "kp-usersample")
            #expect(finding.fix?.contains("PubkeyAcceptedAlgorithms ssh-rsa,rsa-sha2-512,rsa-sha2-256,ssh-ed25519") == true)
            try expectFixLetsLogIn(finding, host: 37, workspace)
        }
    }

    /// Debian's layout: sshd_config Includes its drop-ins at the top, so a
    /// drop-in's PubkeyAcceptedAlgorithms wins over a later line of the main
    /// file. Doctor's fix edits the line sshd uses, and the login works after it.
    @Test func theFixEditsTheDropInLineSSHDUses() throws {
        let workspace = try Workspace()
        let inventory = try prepare(37, workspace, adminKey: .rsa)
        let (config, saved) = (Self.config, Self.savedConfig)
        let dropIn = "/etc/ssh/sshd_config.d/50-doctor-test.conf"
        try require(fleet.exec(host: 37, ["sh", "-c", """
            cp \(config) \(saved) && mkdir -p /etc/ssh/sshd_config.d && \
            printf 'PubkeyAcceptedAlgorithms rsa-sha2-512,rsa-sha2-256\\n' > \(dropIn) && \
            { echo 'Include /etc/ssh/sshd_config.d/*.conf'; cat \(saved); echo 'PubkeyAcceptedAlgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256'; } > \(config)
            """]))
        defer {
            _ = try? fleet.exec(host: 37, ["sh", "-c", "cp \(saved) \(config) && rm -f \(saved) \(dropIn)"])
            try? fleet.reloadSSHD(host: 37)
        }
        try fleet.reloadSSHD(host: 37)
        let finding = try expectLoginFails(37, inventory, workspace, finding: .keyTypeRefused, evidence: ["pubkeyacceptedalgorithms"])
        #expect(finding.fix?.contains(dropIn) == true, "\(finding.fix ?? "")")
        try expectFixLetsLogIn(finding, host: 37, workspace)
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
        try expectFixLetsLogIn(finding, host: 38, workspace)
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

    // MARK: - --fix

    /// `doctor --fix` on `host`, recorded in `store`.
    func doctorFix(_ inventory: Inventory, host: Int, store: Store? = nil, tryLogin: String? = nil) throws -> DoctorReport {
        let run = DoctorRun(inventory: inventory, targets: try inventory.select(hosts: ["h\(host)"]),
                            options: DoctorRun.Options(parallel: 4, tryLogin: tryLogin, fix: true, selectionText: "--host h\(host)"))
        return try run.execute(store: store)
    }

    /// The finding `code` that `--fix` fixed (marked `fixed`), required; none of that code left open.
    @discardableResult
    func expectFixed(_ report: DoctorReport, host: Int, _ code: DoctorCode, sourceLocation: SourceLocation = #_sourceLocation) throws -> DoctorFinding {
        let all = findings(report, "h\(host)")
        let fixed = try #require(all.first { $0.code == code && $0.fixed == true }, "\(code.rawValue) not fixed: \(all)", sourceLocation: sourceLocation)
        #expect(!all.contains { $0.code == code && $0.fixed != true }, "\(code.rawValue) still open: \(all)", sourceLocation: sourceLocation)
        #expect(all.allSatisfy { $0.fixed != nil }, sourceLocation: sourceLocation)
        #expect(report.exitCode == 0, "\(report.text())", sourceLocation: sourceLocation)
        #expect(report.summary.fixed ?? 0 >= 1, sourceLocation: sourceLocation)
        return fixed
    }

    func stat(_ host: Int, _ path: String) throws -> String {
        try fleet.exec(host: host, ["stat", "-c", "%U %a", path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `breaking` (shell, as root on `host`) makes usersample's login fail;
    /// `doctor --fix` then fixes `code`, leaves `path` with `ownerAndMode`
    /// (``stat(_:_:)``), and the login works again.
    func expectFixRepairs(_ host: Int, _ inventory: Inventory, _ workspace: Workspace, after breaking: String, _ code: DoctorCode,
                          leaving path: String, _ ownerAndMode: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try require(fleet.exec(host: host, ["sh", "-c", breaking]), sourceLocation: sourceLocation)
        #expect(try !login(host, workspace).succeeded, sourceLocation: sourceLocation)
        try expectFixed(try doctorFix(inventory, host: host), host: host, code, sourceLocation: sourceLocation)
        #expect(try stat(host, path) == ownerAndMode, sourceLocation: sourceLocation)
        #expect(try login(host, workspace).succeeded, sourceLocation: sourceLocation)
    }

    /// Check's drift kinds for usersample on `host` (what rotation reads as "the login would fail").
    func checkDrift(_ inventory: Inventory, host: Int) throws -> Set<DriftKind> {
        let check = try SyncRun(inventory: inventory, targets: try inventory.select(hosts: ["h\(host)"]),
                                settings: SyncEngine.Settings(mode: .check, parallel: 4)).execute(store: nil)
        #expect(check.summary.failed == 0, "\(check.hosts.compactMap(\.error))")
        return Set(check.hosts.first?.drift.filter { $0.account == "usersample" }.map(\.kind) ?? [])
    }

    /// Debian's sshd takes a group-writable home whose group is the account's
    /// alone (its user-group-modes patch) and refuses it once the group has
    /// another member; `sshd -V` does not say Debian, so the rule comes from
    /// the host (group_sole). A `*LK*` password locks nothing on Linux.
    /// Check and doctor agree with what the real login does at every step.
    @Test func strictModesGroupWriteAndLockMarksAreWhatThisSSHDDoes() throws {
        let workspace = try Workspace()
        let inventory = try prepare(33, workspace)
        defer { _ = try? fleet.exec(host: 33, ["sh", "-c", "gpasswd -d ops usersample; chmod 0755 /home/usersample"]) }
        try require(fleet.exec(host: 33, ["chmod", "0775", "/home/usersample"]))
        #expect(try login(33, workspace).succeeded)
        #expect(try !checkDrift(inventory, host: 33).contains(.homeUnsafe))
        #expect(!findings(try doctor(inventory, hosts: ["h33"]), "h33").contains { $0.code == .homeUnsafe })

        // A second member of the group: the same mode is refused now.
        try require(fleet.exec(host: 33, ["usermod", "-a", "-G", "usersample", "ops"]))
        #expect(try !login(33, workspace).succeeded)
        #expect(try checkDrift(inventory, host: 33).contains(.homeUnsafe))
        _ = try expectFinding(try doctor(inventory, hosts: ["h33"]), host: 33, .homeUnsafe)
        try require(fleet.exec(host: 33, ["sh", "-c", "gpasswd -d ops usersample && chmod 0755 /home/usersample"]))

        // Solaris's `*LK*` is not a lock for Linux sshd (UsePAM no here): no account_locked.
        try require(fleet.exec(host: 33, ["usermod", "-p", "*LK*", "usersample"]))
        #expect(try login(33, workspace).succeeded)
        #expect(try !checkDrift(inventory, host: 33).contains(.accountLocked))
        try require(fleet.exec(host: 33, ["usermod", "-p", "!", "usersample"]))
        #expect(try !login(33, workspace).succeeded)
        #expect(try checkDrift(inventory, host: 33).contains(.accountLocked))

        // With UsePAM yes (Debian's default) sshd leaves the '!' to PAM, whose
        // account phase ignores it: the login works, and check says nothing.
        // (pam_loginuid cannot set a login uid inside the test's namespace.)
        let (config, saved) = (Self.config, Self.savedConfig)
        try require(fleet.exec(host: 33, ["sh", "-c", """
            cp \(config) \(saved) && cp /etc/pam.d/sshd /etc/pam.d/sshd.doctor-test && \
            sed -i 's/^UsePAM no$/UsePAM yes/' \(config) && \
            sed -i 's/^session *required *pam_loginuid.so/session optional pam_loginuid.so/' /etc/pam.d/sshd
            """]))
        defer {
            _ = try? fleet.exec(host: 33, ["sh", "-c", "cp \(saved) \(config) && rm \(saved) && mv /etc/pam.d/sshd.doctor-test /etc/pam.d/sshd"])
            try? fleet.reloadSSHD(host: 33)
        }
        try fleet.reloadSSHD(host: 33)
        #expect(try login(33, workspace).succeeded)
        #expect(try !checkDrift(inventory, host: 33).contains(.accountLocked))
    }

    @Test func fixUnlocksAnAccountTheInventoryCreatesAndRecordsTheRun() throws {
        let workspace = try Workspace()
        let inventory = try prepare(31, workspace, before: "groupadd -g 1001 usersample && useradd -u 1001 -g 1001 -m -s /bin/bash usersample")
        #expect(try !login(31, workspace).succeeded)
        let store = try Store(path: workspace.file("keysync.db"))
        let report = try doctorFix(inventory, host: 31, store: store, tryLogin: workspace.file("kp-usersample"))
        try expectFixed(report, host: 31, .accountLocked)
        #expect(report.hosts[0].fixes == ["usermod -p '*' usersample"])
        // The second diagnosis logged in for real after the fix.
        #expect(findings(report, "h31").contains { $0.code == .loginWorks && $0.fixed == false })
        #expect(try fleet.exec(host: 31, ["sh", "-c", "getent shadow usersample | cut -d: -f2"]).stdout == "*\n")
        #expect(try login(31, workspace).succeeded)

        let runID = try #require(report.run)
        let run = try #require(try store.run(id: runID))
        #expect(run.command == "doctor-fix" && run.selection == "--host h31" && run.changed == 1)
        #expect(try store.changes(runID: runID).map(\.detail) == ["usermod -p '*' usersample"])
        let drift = try store.drift(runID: runID)
        #expect(drift.map(\.kind) == ["account_locked"] && drift.allSatisfy(\.fixed))
        #expect(try store.hostResults(runID: runID).map(\.scanned) == [false])
        #expect(HistoryReport.host("h31", account: nil, try store.history(host: "h31")).text().contains("doctor-fix"))

        // Nothing left: a second --fix writes nothing.
        let again = try doctorFix(inventory, host: 31, store: store)
        #expect(again.exitCode == 0 && again.hosts[0].fixes == [] && again.summary.fixed == 0)
    }

    @Test func fixLeavesALockedAccountTheInventoryDoesNotCreate() throws {
        let workspace = try Workspace()
        let inventory = try prepare(32, workspace, before: "groupadd -g 1001 usersample && useradd -u 1001 -g 1001 -m -s /bin/bash usersample",
                                    create: false)
        let report = try doctorFix(inventory, host: 32)
        let locked = try #require(findings(report, "h32").first { $0.code == .accountLocked })
        #expect(locked.fixed == false && locked.severity == .error)
        #expect(locked.fixRefused?.contains("does not create usersample") == true)
        #expect(report.hosts[0].fixes == [])
        #expect(report.exitCode == 2)
        #expect(try fleet.exec(host: 32, ["sh", "-c", "getent shadow usersample | cut -d: -f2"]).stdout == "!\n")
        #expect(try !login(32, workspace).succeeded)
    }

    @Test func fixRewritesARootOwnedKeysFileAsTheAccount() throws {
        let workspace = try Workspace()
        let inventory = try prepare(34, workspace)
        let file = "/home/usersample/.ssh/authorized_keys"
        let content = try fleet.exec(host: 34, ["cat", file]).stdout
        try require(fleet.exec(host: 34, ["sh", "-c", "chown root:root \(file) && chmod 600 \(file)"]))
        #expect(try !login(34, workspace).succeeded)
        let report = try doctorFix(inventory, host: 34)
        try expectFixed(report, host: 34, .fileUnreadable)
        #expect(try stat(34, file) == "usersample 600")
        #expect(try fleet.exec(host: 34, ["cat", file]).stdout == content)
        #expect(try login(34, workspace).succeeded)
    }

    @Test func fixRemovesGroupAndWorldWriteFromHomeWithoutChangingItsOwner() throws {
        let workspace = try Workspace()
        let inventory = try prepare(35, workspace)
        try expectFixRepairs(35, inventory, workspace, after: "chmod 0777 /home/usersample", .homeUnsafe,
                             leaving: "/home/usersample", "usersample 755")

        // A root-owned home, group-writable by root's group: chmod as root, owner kept.
        try expectFixRepairs(35, inventory, workspace, after: "chown root:root /home/usersample && chmod 0775 /home/usersample", .homeUnsafe,
                             leaving: "/home/usersample", "root 755")

        // A home owned by someone else is never touched.
        try require(fleet.exec(host: 35, ["sh", "-c", "chown ops /home/usersample && chmod 0777 /home/usersample"]))
        defer { _ = try? fleet.exec(host: 35, ["sh", "-c", "chown usersample /home/usersample && chmod 0755 /home/usersample"]) }
        let report = try doctorFix(inventory, host: 35)
        let home = try #require(findings(report, "h35").first { $0.code == .homeUnsafe })
        #expect(home.fixed == false && home.fixRefused?.contains("never changes who owns a home") == true)
        #expect(report.exitCode == 2)
        #expect(try stat(35, "/home/usersample") == "ops 777")
    }

    /// A world-writable `.ssh` of the account's own is repaired (as the
    /// account); one owned by someone else is never chowned (as root, by path,
    /// the account could swap in a link to any file): refused, with the command.
    @Test func fixRepairsTheModeOfDotSSHAndNeverItsOwner() throws {
        let workspace = try Workspace()
        let inventory = try prepare(36, workspace)
        try expectFixRepairs(36, inventory, workspace, after: "chmod 0777 /home/usersample/.ssh", .directoryUnsafe,
                             leaving: "/home/usersample/.ssh", "usersample 700")

        try require(fleet.exec(host: 36, ["sh", "-c", "chown ops /home/usersample/.ssh && chmod 0777 /home/usersample/.ssh"]))
        let report = try doctorFix(inventory, host: 36)
        let folder = try #require(findings(report, "h36").first { $0.code == .directoryUnsafe })
        #expect(folder.fixed == false && folder.fixRefused?.contains("never chowns") == true, "\(folder)")
        #expect(try stat(36, "/home/usersample/.ssh") == "ops 777")
    }

    /// Through the binary: exit codes and the JSON `fixed` fields.
    @Test func fixRepairsAWorldWritableKeysFileThroughTheCommand() throws {
        let workspace = try Workspace()
        _ = try prepare(37, workspace)
        let file = "/home/usersample/.ssh/authorized_keys"
        try require(fleet.exec(host: 37, ["chmod", "0666", file]))
        #expect(try !login(37, workspace).succeeded)
        let arguments = ["doctor", "--inventory", workspace.file("inventory.yml"), "--db", workspace.file("keysync.db"), "--host", "h37"]
        #expect(try KeySyncProcess.run(arguments).status == 2)
        let fixed = try KeySyncProcess.run(arguments + ["--fix", "--json"])
        #expect(fixed.status == 0, "\(fixed)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(fixed.stdout.utf8)) as? [String: Any])
        let host = try #require((json["hosts"] as? [[String: Any]])?.first)
        #expect(host["status"] as? String == "ok" && (host["fixes"] as? [String])?.count == 1)
        let account = try #require((host["accounts"] as? [[String: Any]])?.first)
        let unsafe = try #require((account["findings"] as? [[String: Any]])?.first { $0["code"] as? String == "file_unsafe" })
        #expect(unsafe["fixed"] as? Bool == true)
        #expect(json["run"] as? Int != nil && (json["summary"] as? [String: Any])?["fixed"] as? Int == 1)
        #expect(try stat(37, file) == "usersample 600")
        #expect(try login(37, workspace).succeeded)
        let history = try KeySyncProcess.run(["history", "--db", workspace.file("keysync.db"), "--host", "h37"])
        #expect(history.stdout.contains("doctor-fix") && history.stdout.contains("file_unsafe"), "\(history)")
    }

    @Test func fixRefusesASymlinkedDotSSHAndTouchesNothingOutside() throws {
        let workspace = try Workspace()
        let inventory = try prepare(38, workspace)
        let outside = "/tmp/outside-ssh"
        try require(fleet.exec(host: 38, ["sh", "-c", """
            rm -rf \(outside) && mv /home/usersample/.ssh \(outside) && chown -R root:root \(outside) && chmod 0777 \(outside) \
            && chmod 0600 \(outside)/authorized_keys && ln -s \(outside) /home/usersample/.ssh
            """]))
        let before = try fleet.exec(host: 38, ["sh", "-c", "stat -c '%u %g %a %Y %Z' \(outside) \(outside)/authorized_keys; sha256sum \(outside)/authorized_keys"]).stdout
        let report = try doctorFix(inventory, host: 38)
        let all = findings(report, "h38")
        #expect(all.contains { $0.code == .symlink })
        #expect(report.hosts[0].fixes == [])
        #expect(!all.contains { $0.fixed == true })
        let refused = all.filter { $0.fixRefused != nil }
        #expect(!refused.isEmpty && refused.allSatisfy { $0.fixRefused!.contains("symlink") || $0.fixRefused!.contains("under home") }, "\(all)")
        // The fix printed for the folder the link leads to is the link, never a root chmod/chown of it (review s15 files #3).
        let outsideFinding = try #require(all.first { $0.subject == outside }, "\(all)")
        #expect(outsideFinding.fix?.hasPrefix("replace the symlink under /home/usersample") == true, "\(outsideFinding)")
        #expect(outsideFinding.fix?.contains("chmod") == false && outsideFinding.fix?.contains("chown") == false)
        #expect(report.exitCode == 2)
        #expect(try fleet.exec(host: 38, ["sh", "-c", "stat -c '%u %g %a %Y %Z' \(outside) \(outside)/authorized_keys; sha256sum \(outside)/authorized_keys"]).stdout == before)
        _ = try fleet.exec(host: 38, ["sh", "-c", "rm -f /home/usersample/.ssh && rm -rf \(outside)"])
    }

    /// The account's own `chmod 000` of its keys file: doctor names the
    /// unreadable file (not a key "missing" from lines it never read), and its
    /// fix, pasted as printed, brings the login back (review s15 files #10).
    @Test func anUnreadableKeysFileGetsAFixThatWorks() throws {
        let workspace = try Workspace()
        let inventory = try prepare(37, workspace)
        try require(fleet.exec(host: 37, ["su", "-s", "/bin/sh", "usersample", "-c", "chmod 000 /home/usersample/.ssh/authorized_keys"]))
        #expect(try !login(37, workspace).succeeded)
        let report = try doctor(inventory, hosts: ["h37"])
        let all = findings(report, "h37")
        #expect(!all.contains { $0.code == .keyMissing }, "\(all)")
        let finding = try expectFinding(report, host: 37, .fileUnreadable)
        let fix = try #require(finding.fix)
        let chmod = try #require(fix.components(separatedBy: " && ").first)
        #expect(chmod.hasPrefix("setpriv --reuid=usersample"), "\(fix)")
        try require(fleet.exec(host: 37, ["sh", "-c", chmod]))
        #expect(try login(37, workspace).succeeded)
    }

    @Test func fixOnAHealthyHostWritesNothing() throws {
        let workspace = try Workspace()
        let inventory = try prepare(30, workspace)
        let probe = "stat -c '%U %a %Y %Z' /home/usersample /home/usersample/.ssh /home/usersample/.ssh/authorized_keys; getent shadow usersample | cut -d: -f2"
        let before = try fleet.exec(host: 30, ["sh", "-c", probe]).stdout
        let store = try Store(path: workspace.file("keysync.db"))
        let report = try doctorFix(inventory, host: 30, store: store)
        #expect(report.exitCode == 0 && report.hosts[0].fixes == [] && report.summary.fixed == 0)
        #expect(try fleet.exec(host: 30, ["sh", "-c", probe]).stdout == before)
        let runID = try #require(report.run)
        #expect(try store.changes(runID: runID).isEmpty && store.drift(runID: runID).isEmpty)
        #expect(try store.hostResults(runID: runID).map(\.status.rawValue) == ["ok"])
        #expect(try login(30, workspace).succeeded)
    }
}
