import Foundation
import Testing
@testable import KeySync

/// `push` and `check` against real sshd hosts (issue 6). Each test owns its
/// hosts (disjoint index ranges), so suites can run side by side. Host
/// ranges in use by integration suites: 0–12 transport (read-only), 13 phase
/// log (PhaseLogTests), 20–29 faults, 30–39 doctor, 40 sshd_config
/// (ProbeSSHDConfigTests), 41 here, 42–45 offboard (OffboardTests), 46–48
/// adopt (AdoptTests), 50–59 and 62 here, 60–61 the report page, 63–69
/// removal (RemovalTests), 70–119 the fleet test here, 120–159 rotation
/// (RotationTests, RotationCrashTests: only theirs, they reset accounts on
/// all of them), 160–164 last use of keys (LastUseTests), 165 review,
/// 170–175 certificates and jump hosts, 176–178 grant expiry
/// (GrantExpiryTests), 180–189 shards, 190 and 200–204 addresses, 192–195
/// sshd drop-ins (SSHDDropInTests), 196–197 root-owned keys and certificate
/// doctor.
@Suite struct SyncEngineTests {
    let fleet: TestFleet

    init() throws { fleet = try TestFleet.shared(minimumHosts: 120) }

    /// An inventory with project keys `kp-usersample` and `kp-deploy` (with options) for `hosts`.
    func inventory(_ workspace: Workspace, hosts: [Int], secondProject: [Int] = [], exclusive: Bool = false,
                   extraProjects: String = "", revoked: String = "") throws -> Inventory {
        try workspace.generateKey("kp-usersample")
        try workspace.generateKey("kp-deploy")
        let all = Array(Set(hosts + secondProject)).sorted()
        let usersample = fleet.usersampleProject(hosts: hosts, [
            "uid: 1001", "gid: 1001", "shell: /bin/bash", "home: /home/usersample", "create: true",
            "exclusive: \(exclusive)", "keys: [kp-usersample]",
        ])
        let ci = secondProject.isEmpty ? "" : fleet.usersampleProject("ci", hosts: secondProject, ["keys: [kp-deploy]"])
        let text = fleet.inventory(
            keys: ["kp-usersample: { file: kp-usersample.pub }",
                   "kp-deploy: { file: kp-deploy.pub, options: 'from=\"127.0.0.0/8\",no-agent-forwarding' }"],
            sections: revoked, hosts: all, projects: [usersample, ci, extraProjects].joined(separator: "\n"))
        try workspace.write("inventory.yml", text)
        return try Inventory.load(path: workspace.file("inventory.yml"))
    }

    /// A host of this suite without the test accounts, the suite's inventory
    /// for it (in a workspace of its own) and an empty store.
    func freshHost(_ host: Int, test: String = #function) throws -> (workspace: Workspace, inventory: Inventory, store: Store) {
        try fleet.removeAccounts(on: [host])
        let workspace = try Workspace(test)
        return (workspace, try inventory(workspace, hosts: [host]), try Store.inMemory())
    }

    func run(_ inventory: Inventory, _ mode: SyncEngine.Mode, store: Store, dryRun: Bool = false, force: Bool = false,
             projects: [String] = []) throws -> RunReport {
        let targets = try inventory.select(projects: projects)
        let settings = SyncEngine.Settings(mode: mode, dryRun: dryRun, parallel: 16, plan: PlanOptions(force: force))
        return try SyncRun(inventory: inventory, targets: targets, settings: settings).execute(store: store)
    }

    @Test func fiftyHostsTwoProjectsFreshAccountsThenIdempotent() throws {
        let hosts = Array(70..<120)
        try fleet.removeAccounts(on: hosts)
        let workspace = try Workspace()
        let inventory = try inventory(workspace, hosts: hosts, secondProject: Array(70..<95))
        // Host 70 already has the account with an unmanaged file: odd spacing, a comment, CRLF.
        let unmanaged = "# laptop of alice\r\nssh-ed25519    AAAAC3NzaC1lZDI1NTE5AAAAIHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4  alice  \r\n\r\n"
        try fleet.exec(host: 70, ["sh", "-c", """
            groupadd -g 1001 usersample && useradd -u 1001 -g 1001 -m -d /home/usersample -s /bin/bash -p '*' usersample &&
            install -d -o usersample -g usersample -m 700 /home/usersample/.ssh &&
            cat > /home/usersample/.ssh/authorized_keys && chown usersample:usersample /home/usersample/.ssh/authorized_keys &&
            chmod 600 /home/usersample/.ssh/authorized_keys
            """], stdin: Data(unmanaged.utf8))
        let store = try Store.inMemory()

        let first = try run(inventory, .push, store: store)
        #expect(first.summary.failed == 0, "\(first.hosts.filter { $0.status == .failed }.map { $0.error ?? "" })")
        #expect(first.summary.changed == 50)
        #expect(first.exitCode(for: .push, dryRun: false) == 0)

        // Real logins with each project's key, as an operator would do them.
        let results = ParallelRunner(width: 8).run(hosts) { host in
            (try? fleet.login(host: host, user: "usersample", key: workspace.file("kp-usersample")).status) ?? -1
        }
        #expect(results.allSatisfy { $0 == 0 }, "logins: \(results)")
        #expect(try fleet.login(host: 73, user: "usersample", key: workspace.file("kp-deploy")).status == 0)
        #expect(try fleet.login(host: 100, user: "usersample", key: workspace.file("kp-deploy")).status != 0)

        // Modes and owners.
        let stat = try fleet.exec(host: 77, ["stat", "-c", "%a %U %G", "/home/usersample/.ssh", "/home/usersample/.ssh/authorized_keys"])
        #expect(stat.stdout == "700 usersample usersample\n600 usersample usersample\n")
        let shadow = try fleet.exec(host: 77, ["sh", "-c", "getent shadow usersample | cut -d: -f2"])
        #expect(shadow.stdout == "*\n")
        // The unmanaged bytes are untouched.
        let after = try fleet.read(host: 70, "/home/usersample/.ssh/authorized_keys")
        #expect(after.starts(with: Array(unmanaged.utf8)))

        // A second push changes nothing and writes nothing.
        let before = try fleet.exec(host: 78, ["stat", "-c", "%i %Y", "/home/usersample/.ssh/authorized_keys"]).stdout
        let second = try run(inventory, .push, store: store)
        #expect(second.summary.changed == 0)
        #expect(second.summary.failed == 0)
        #expect(try fleet.exec(host: 78, ["stat", "-c", "%i %Y", "/home/usersample/.ssh/authorized_keys"]).stdout == before)
        let check = try run(inventory, .check, store: store)
        #expect(check.summary.drift == 0)
        #expect(check.exitCode(for: .check, dryRun: false) == 0)
    }

    @Test func tamperingIsFoundAndRepaired() throws {
        let hosts = [50, 51, 52, 53]
        try fleet.removeAccounts(on: hosts)
        let workspace = try Workspace()
        let stranger = try workspace.generateKey("stranger")
        let strangerLine = try String(contentsOfFile: stranger + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let strangerFingerprint = try workspace.publicKey("stranger").fingerprint
        let intruder = try workspace.generateKey("intruder")
        let intruderLine = try String(contentsOfFile: intruder + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let inventory = try inventory(workspace, hosts: hosts, secondProject: hosts,
                                      revoked: "revoked:\n  - \(strangerFingerprint)")
        let store = try Store.inMemory()
        #expect(try run(inventory, .push, store: store).summary.failed == 0)
        let file = "/home/usersample/.ssh/authorized_keys"
        // 50: a key deleted, and the account locked.
        try fleet.exec(host: 50, ["sh", "-c", "sed -i '/kp-usersample/d' \(file) && usermod -L usersample"])
        // 51: a foreign key inside a block, options edited.
        try fleet.exec(host: 51, ["sh", "-c", "sed -i 's/^from=\"127.0.0.0\\/8\",no-agent-forwarding /no-pty /' \(file) && sed -i '/keysync:begin project=usersample/a \(intruderLine.replacingOccurrences(of: "/", with: "\\/"))' \(file)"])
        // 51 also: the revoked key behind an `expiry-time` OpenSSH before 9.1
        // would accept (keysync reads the line as invalid, as this sshd does).
        try fleet.exec(host: 51, ["sh", "-c", "echo 'expiry-time=\"2099011x\" \(strangerLine)' >> \(file)"])
        // 52: the revoked key appended outside any block; the file chowned to root.
        try fleet.exec(host: 52, ["sh", "-c", "echo '\(strangerLine)' >> \(file) && chown root:root \(file)"])
        // 53: .ssh made 0777, and kp-usersample's line in its block replaced by
        // a certificate of that key (sshd never takes one from authorized_keys).
        try workspace.generateKey("ca")
        let signed = try TestFleet.run(["ssh-keygen", "-q", "-s", workspace.file("ca"), "-I", "kp-usersample", "-n", "usersample",
                                        workspace.file("kp-usersample.pub")])
        try #require(signed.succeeded, "\(signed)")
        let certLine = try String(contentsOfFile: workspace.file("kp-usersample-cert.pub"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try fleet.exec(host: 53, ["sh", "-c", "sed -i 's|^ssh-ed25519 .* kp-usersample$|\(certLine)|' \(file) && grep -q cert-v01 \(file) && chmod 0777 /home/usersample/.ssh"])

        let check = try run(inventory, .check, store: store)
        #expect(check.exitCode(for: .check, dryRun: false) == 2)
        func kinds(_ report: RunReport, _ host: Int) -> Set<DriftKind> {
            Set(report.hosts.first { $0.host == "h\(host)" }?.drift.map(\.kind) ?? [])
        }
        #expect(kinds(check, 50) == [.missingKey, .accountLocked])
        #expect(kinds(check, 51) == [.unexpectedKey, .optionsChanged, .invalidLine, .revokedKey])
        #expect(kinds(check, 52) == [.revokedKey, .fileOwner])
        #expect(kinds(check, 53) == [.dirMode, .missingKey, .invalidLine])

        let push = try run(inventory, .push, store: store)
        #expect(push.summary.failed == 0)
        let recheck = try run(inventory, .check, store: store)
        // Only what push does not own remains: the lock (reported with its fix).
        #expect(kinds(recheck, 50) == [.accountLocked])
        for host in [51, 52, 53] { #expect(kinds(recheck, host).isEmpty, "h\(host): \(kinds(recheck, host))") }
        #expect(try fleet.exec(host: 52, ["stat", "-c", "%U", file]).stdout == "usersample\n")
        #expect(try fleet.exec(host: 53, ["stat", "-c", "%a", "/home/usersample/.ssh"]).stdout == "700\n")
        #expect(!(try fleet.exec(host: 52, ["cat", file]).stdout.contains(strangerLine)))
        #expect(!(try fleet.exec(host: 51, ["cat", file]).stdout.contains(intruderLine)))
        #expect(!(try fleet.exec(host: 51, ["cat", file]).stdout.contains(strangerLine)), "the revoked key behind odd options is gone too")
        #expect(try fleet.login(host: 52, user: "usersample", key: workspace.file("kp-usersample")).status == 0)
        #expect(try fleet.login(host: 53, user: "usersample", key: workspace.file("kp-usersample")).status == 0)
        #expect(!(try fleet.exec(host: 53, ["cat", file]).stdout.contains("cert-v01")), "the certificate line was the block's: replaced")
    }

    @Test func symlinkedAuthorizedKeysIsNeverFollowed() throws {
        let host = 54
        let (_, inventory, store) = try freshHost(host)
        #expect(try run(inventory, .push, store: store).summary.failed == 0)
        let victim = "root:$6$secret-hash:19000:0:99999:7:::\n"
        try fleet.exec(host: host, ["sh", "-c", "cat > /etc/shadow-copy && chmod 600 /etc/shadow-copy && rm /home/usersample/.ssh/authorized_keys && ln -s /etc/shadow-copy /home/usersample/.ssh/authorized_keys"], stdin: Data(victim.utf8))
        let check = try run(inventory, .check, store: store)
        #expect(check.hosts[0].drift.map(\.kind) == [.symlink])
        let push = try run(inventory, .push, store: store)
        #expect(push.hosts[0].drift.map(\.kind) == [.symlink])
        #expect(try fleet.exec(host: host, ["cat", "/etc/shadow-copy"]).stdout == victim)
        #expect(try fleet.exec(host: host, ["stat", "-c", "%F", "/home/usersample/.ssh/authorized_keys"]).stdout == "symbolic link\n")
        // Nothing of the victim reached the database.
        let seen = try store.keys(host: "h\(host)")
        #expect(seen.isEmpty)
    }

    /// Probe and apply share one root shell per host (docs/sync.md, "One
    /// shell for probe and apply"): a fresh host converges with one sshd
    /// session, a push with nothing to do also uses one. Then, between
    /// probe and apply (the snapshot hook runs there): a second writer makes
    /// the apply a conflict; the controller taking longer than the host's
    /// command_timeout does not time the apply out (it has its own); an
    /// apply that hangs in the shell fails with command_timeout, named as
    /// the apply's, and writes nothing.
    @Test func concurrentEditBetweenProbeAndApplyIsAConflict() throws {
        let host = 55
        let (workspace, inventory, store) = try freshHost(host)
        let sessions = { (from: Int) throws -> Int in
            try self.fleet.sshdLog(host: host, from: from).components(separatedBy: "Starting session: command").count - 1
        }
        var logStart = fleet.sshdLogSize(host: host)
        let fresh = try run(inventory, .push, store: store)
        #expect(fresh.summary.failed == 0 && fresh.summary.changed == 1, "\(fresh.hosts)")
        #expect(try sessions(logStart) == 1, "probe and apply in one session")
        #expect(try fleet.login(host: host, user: "usersample", key: workspace.file("kp-usersample")).status == 0)
        logStart = fleet.sshdLogSize(host: host)
        let unchanged = try run(inventory, .push, store: store)
        #expect(unchanged.summary.failed == 0 && unchanged.summary.changed == 0, "\(unchanged.hosts)")
        #expect(try sessions(logStart) == 1)

        let file = "/home/usersample/.ssh/authorized_keys"
        try fleet.exec(host: host, ["sed", "-i", "/kp-usersample/d", file])
        let targets = try inventory.select()
        let run = SyncRun(inventory: inventory, targets: targets, settings: SyncEngine.Settings(mode: .push))
        let engine = SyncEngine(jobs: run.jobs, settings: run.settings)
        let otherWriter = "# written by someone else\n"
        let fleet = self.fleet
        let results = engine.run(run.jobs, snapshot: { _, _ in
            // The second writer strikes after the probe, before the apply.
            _ = try fleet.exec(host: host, ["sh", "-c", "cat > \(file)"], stdin: Data(otherWriter.utf8))
        })
        #expect(results[0].status == .failed)
        #expect(results[0].errorKind == .conflict)
        #expect(try fleet.exec(host: host, ["cat", file]).stdout == otherWriter)

        // A 3 s command_timeout; the controller spends 4 s between probe and apply.
        let jobs = run.jobs.map { job in
            var quick = job
            quick.commandTimeout = 3
            return quick
        }
        let slowPlanning = engine.run(jobs, snapshot: { _, _ in sleep(4) })
        #expect(slowPlanning[0].status == .changed, "\(slowPlanning[0])")
        #expect(try fleet.exec(host: host, ["cat", file]).stdout.contains("kp-usersample"))

        // The apply hangs (its account lookup asks a directory service that never answers).
        try fleet.exec(host: host, ["sed", "-i", "/kp-usersample/d", file])
        let before = try fleet.exec(host: host, ["cat", file]).stdout
        let hung = FaultSlot()
        let hanging = engine.run(jobs, snapshot: { _, _ in hung.fault = try fleet.hangGetent(host: host) })
        hung.fault?.undo()
        #expect(hanging[0].status == .failed && hanging[0].errorKind == .commandTimeout, "\(hanging[0])")
        #expect(hanging[0].error?.contains("during apply") == true, "\(hanging[0].error ?? "")")
        #expect(try fleet.exec(host: host, ["cat", file]).stdout == before)
    }

    /// The probe's reply ends with `@end NONCE` and the apply's with `@end`.
    /// Lines in a host's file that look like either end, or like an apply
    /// result, must not cut the probe reply short or fake an outcome: they
    /// are kept verbatim and the push converges. The file is 3 MiB, so the
    /// probe's reply and the apply sent after it into the same shell each
    /// cross several SSH channel windows.
    @Test func fileLinesLikeTheProbesEndDoNotCutItShort() throws {
        let host = 41
        let (workspace, inventory, store) = try freshHost(host)
        try fleet.exec(host: host, ["sh", "-c", "useradd -m -p '*' -s /bin/sh usersample && install -d -o usersample -g usersample -m 700 /home/usersample/.ssh"])
        let padding = String(repeating: "# \(String(repeating: "p", count: 61))\n", count: 3 << 14)
        let tricky = "@end\n@end 00000000000000000000000000000000\nKEYSYNC-APPLY 1\nresult usersample ok 0\n@end\n" + padding
            + "@end\n"
        let file = "/home/usersample/.ssh/authorized_keys"
        try fleet.exec(host: host, ["sh", "-c", "cat > \(file) && chown usersample: \(file) && chmod 600 \(file)"], stdin: Data(tricky.utf8))
        let push = try run(inventory, .push, store: store)
        #expect(push.summary.failed == 0, "\(push.hosts)")
        #expect(push.summary.changed == 1)
        let content = try fleet.exec(host: host, ["cat", file]).stdout
        #expect(content.hasPrefix(tricky), "unmanaged lines kept first, byte for byte")
        #expect(content.contains("# keysync:begin project=usersample"))
        #expect(try fleet.login(host: host, user: "usersample", key: workspace.file("kp-usersample")).status == 0)
        // And a second push finds nothing to do.
        let again = try run(inventory, .push, store: store)
        #expect(again.summary.changed == 0 && again.summary.failed == 0)
    }

    @Test func lockoutGuardProtectsTheAdminKey() throws {
        let host = 56
        let workspace = try Workspace()
        try workspace.generateKey("kp-admin")
        let adminFile = "/home/\(fleet.user)/.ssh/authorized_keys"
        let original = try fleet.read(host: host, adminFile)
        defer { _ = try? fleet.exec(host: host, ["sh", "-c", "cat > \(adminFile)"], stdin: Data(original)) }
        try workspace.write("inventory.yml", fleet.inventory(keys: ["kp-admin: { file: kp-admin.pub }"], hosts: [host], projects: """
              admin:
                hosts: [h\(host)]
                roles:
                  ops:
                    account: \(fleet.user)
                    exclusive: true
                    keys: [kp-admin]
            """))
        let inventory = try Inventory.load(path: workspace.file("inventory.yml"))
        let store = try Store.inMemory()
        let refused = try run(inventory, .push, store: store)
        #expect(refused.hosts[0].drift.contains { $0.kind == .lockoutRefused })
        #expect(try fleet.read(host: host, adminFile) == original)
        #expect(refused.exitCode(for: .push, dryRun: false) == 0 || refused.summary.drift == 1)
        let forced = try run(inventory, .push, store: store, force: true)
        #expect(forced.hosts[0].status == .changed)
        #expect(try fleet.login(host: host, user: fleet.user, key: workspace.file("kp-admin")).status == 0)
    }

    @Test func dryRunShowsADiffAndWritesNothing() throws {
        let host = 57
        let (_, inventory, store) = try freshHost(host)
        let report = try run(inventory, .push, store: store, dryRun: true)
        #expect(report.hosts[0].status == .changed)
        #expect(report.hosts[0].diff?.contains("+# keysync:begin project=usersample role=deploy") == true)
        #expect(try fleet.exec(host: host, ["getent", "passwd", "usersample"]).status != 0)
    }

    /// Issue 22 on a real host: the account owner puts a stray begin and end
    /// for usersample/deploy around the ci block keysync wrote, with only
    /// their own keys in between. A push that removes the ci block (host no
    /// longer in ci) must not make those keys a usersample/deploy block: the
    /// ci block is emptied, every other byte stays, `check` reports both
    /// strays as `invalid_marker`, and the next push changes nothing.
    @Test func strayMarkersAroundARemovedBlockNeverTakeTheUsersLines() throws {
        let host = 62
        try fleet.removeAccounts(on: [host])
        let workspace = try Workspace()
        let both = try inventory(workspace, hosts: [host], secondProject: [host])
        let store = try Store.inMemory()
        #expect(try run(both, .push, store: store).summary.failed == 0)
        let file = "/home/usersample/.ssh/authorized_keys"
        let pushed = AuthorizedKeysFile(bytes: try fleet.read(host: host, file))
        func text(_ id: ManagedBlockID) throws -> String {
            let block = try #require(pushed.managedBlock(id))
            return pushed.lines[(block.begin - 1)..<block.end].map(\.text).joined(separator: "\n") + "\n"
        }
        let deploy = try ManagedBlockID(project: "usersample", role: "deploy"), ci = try ManagedBlockID(project: "ci", role: "deploy")
        let realBlock = try text(deploy), ciBlock = try text(ci)
        try workspace.generateKey("mine")
        try workspace.generateKey("mine2")
        let mine = try workspace.publicKey("mine").openSSHLine, mine2 = try workspace.publicKey("mine2").openSSHLine
        let head = "\(deploy.beginMarker)\n\(mine)\n", tail = "\(mine2)\n\(deploy.endMarker)\n"
        let planted = head + ciBlock + tail + realBlock
        let plant = try fleet.exec(host: host, ["su", "-s", "/bin/sh", "usersample", "-c", "cat > \(file)"], stdin: Data(planted.utf8))
        #expect(plant.status == 0, "\(plant.stderr)")
        #expect(try fleet.read(host: host, file) == Array(planted.utf8))

        // The same inventory without project ci (same keys): its block is stale.
        var yaml = try String(contentsOfFile: workspace.file("inventory.yml"), encoding: .utf8).components(separatedBy: "\n")
        let ciStart = try #require(yaml.firstIndex(of: "  ci:"))
        #expect(yaml[ciStart + 5] == "        keys: [kp-deploy]")
        yaml.removeSubrange(ciStart...(ciStart + 5))
        try workspace.write("only-deploy.yml", yaml.joined(separator: "\n"))
        let onlyDeploy = try Inventory.load(path: workspace.file("only-deploy.yml"))
        #expect(onlyDeploy.projects.map(\.name) == ["usersample"])
        let push = try run(onlyDeploy, .push, store: store)
        #expect(push.summary.failed == 0, "\(push.hosts)")
        let emptied = "\(ci.beginMarker)\n\(ci.endMarker)\n"
        #expect(String(decoding: try fleet.read(host: host, file), as: UTF8.self) == head + emptied + tail + realBlock)
        #expect(try fleet.login(host: host, user: "usersample", key: workspace.file("mine")).status == 0)
        #expect(try fleet.login(host: host, user: "usersample", key: workspace.file("mine2")).status == 0)
        #expect(try fleet.login(host: host, user: "usersample", key: workspace.file("kp-deploy")).status != 0)

        let check = try run(onlyDeploy, .check, store: store)
        #expect(check.exitCode(for: .check, dryRun: false) == 2)
        let drift = check.hosts[0].drift
        #expect(drift.map(\.kind) == [.invalidMarker, .invalidMarker])
        #expect(drift.first?.detail.hasPrefix("keysync marker line 1: begin marker for project=usersample role=deploy") == true)
        #expect(drift.last?.detail.hasPrefix("keysync marker line 6: end marker for project=usersample role=deploy") == true)
        let again = try run(onlyDeploy, .push, store: store)
        #expect(again.summary.changed == 0 && again.summary.failed == 0)
        #expect(String(decoding: try fleet.read(host: host, file), as: UTF8.self) == head + emptied + tail + realBlock)
    }

    /// Each account's keys file is recorded with its own hashes
    /// (`file_hashes`); with two files the host's own hash_before/hash_after stay empty.
    @Test func everyAccountsFileIsRecordedWithItsHashes() throws {
        let host = 58
        try fleet.removeAccounts(["usersample", "ksbilling"], on: [host])
        let workspace = try Workspace()
        let billing = """
          billing:
            hosts: [h\(host)]
            roles:
              ops:
                account: ksbilling
                create: true
                keys: [kp-deploy]
        """
        let inventory = try inventory(workspace, hosts: [host], extraProjects: billing)
        let store = try Store.inMemory()
        let push = try run(inventory, .push, store: store)
        #expect(push.hosts[0].status == .changed, "\(push.hosts[0].error ?? "")")
        let pushRun = try #require(push.run)
        let files = try store.fileHashes(runID: pushRun)
        #expect(files.map(\.account) == ["ksbilling", "usersample"])
        for file in files {
            let content = try fleet.read(host: host, file.path)
            #expect(file.hashBefore == "absent" && file.hashAfter == SHA256Digest.hex(content), "\(file)")
        }
        let result = try #require(try store.hostResults(runID: pushRun).first)
        #expect(result.hashBefore == nil && result.hashAfter == nil)
        // A check reads both files again: before = what the push wrote, nothing after.
        let check = try run(inventory, .check, store: store)
        let checkRun = try #require(check.run)
        let again = try store.fileHashes(runID: checkRun)
        #expect(again.map(\.hashBefore) == files.map(\.hashAfter) && again.allSatisfy { $0.hashAfter == nil })
        try fleet.exec(host: host, ["sh", "-c", "userdel -r ksbilling 2>/dev/null; groupdel ksbilling 2>/dev/null; true"])
    }

    @Test func restorePutsBackWhatAPushWroteOver() throws {
        let host = 59
        try fleet.removeAccounts(on: [host])
        let workspace = try Workspace()
        let inventory = try inventory(workspace, hosts: [host])
        let original = "# hand-made\r\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4 old"
        try fleet.exec(host: host, ["sh", "-c", """
            useradd -u 1001 -m -p '*' -s /bin/bash usersample && install -d -o usersample -g usersample -m 700 /home/usersample/.ssh &&
            cat > /home/usersample/.ssh/authorized_keys && chown usersample: /home/usersample/.ssh/authorized_keys && chmod 600 /home/usersample/.ssh/authorized_keys
            """], stdin: Data(original.utf8))
        let store = try Store(path: workspace.file("keysync.db"))
        let push = try run(inventory, .push, store: store)
        let pushRun = try #require(push.run)
        #expect(push.hosts[0].status == .changed)
        let file = "/home/usersample/.ssh/authorized_keys"
        #expect(try fleet.read(host: host, file) != Array(original.utf8))

        let (restoreRun, result) = try SyncRun.restore(inventory: inventory, store: store, host: "h\(host)", runID: pushRun)
        #expect(result.status == .changed, "\(result.error ?? "")")
        #expect(try fleet.read(host: host, file) == Array(original.utf8))
        #expect(try fleet.exec(host: host, ["stat", "-c", "%a %U", file]).stdout == "600 usersample\n")
        // Recorded per file: the restore replaced what the push wrote with the original.
        let pushed = try #require(try store.fileHashes(runID: pushRun).first)
        #expect(try store.fileHashes(runID: restoreRun) == [
            Store.FileHash(runID: restoreRun, host: "h\(host)", account: "usersample", path: file,
                           hashBefore: pushed.hashAfter, hashAfter: SHA256Digest.hex(Array(original.utf8)))])
        // The restore kept what it overwrote: restoring the restore brings the push's content back.
        #expect(try store.snapshots(host: "h\(host)", runID: restoreRun).count == 1)
        // A second restore finds the file already as before and writes nothing.
        let again = try SyncRun.restore(inventory: inventory, store: store, host: "h\(host)", runID: pushRun)
        #expect(again.result.status == .ok)
        // A check now reports the missing managed key again: the restore is what the operator asked for.
        #expect(try run(inventory, .check, store: store).hosts[0].drift.contains { $0.kind == .missingKey })
    }
}

/// The fault a snapshot hook injected, for the test to undo (the hook runs once, on the engine's worker).
private final class FaultSlot: @unchecked Sendable {
    var fault: InjectedFault?
}
