import Foundation
import Testing
@testable import KeySync

/// `keysync offboard` against real sshd hosts (issue 16): the leaver's key
/// wherever it is — a role's block, pasted by hand into the login user's
/// file, into an account keysync does not manage, into root's second
/// AuthorizedKeysFile on a host in no project — is removed, and their login
/// then fails. Hosts 42–45 (see SyncEngineTests for the ranges in use).
@Suite(.serialized) struct OffboardTests {
    let fleet: TestFleet

    init() throws { fleet = try TestFleet.shared(minimumHosts: 46) }

    /// People alice and bob; project billing on `projectHosts` (none: no project) grants kp-deploy and both people to `usersample`.
    func writeInventory(_ workspace: Workspace, hosts: [Int], projectHosts: [Int], bobLeft: Bool,
                        identity: String? = nil) throws {
        for key in ["kp-alice", "kp-bob", "kp-deploy"] where !FileManager.default.fileExists(atPath: workspace.file(key)) {
            try workspace.generateKey(key)
        }
        var defaults = fleet.inventoryDefaults()
        if let identity { defaults = defaults.replacingOccurrences(of: fleet.keyPath(.ed25519), with: identity) }
        let people = """
            people:
              alice: { keys: [kp-alice], email: alice@example.com }
              bob:
                keys: [kp-bob]
                email: bob@example.com
            \(bobLeft ? "    left: 2026-12-05" : "")
            """
        try workspace.write("inventory.yml", fleet.inventory(
            defaults: defaults, keys: ["kp-alice", "kp-bob", "kp-deploy"].map { "\($0): { file: \($0).pub }" },
            sections: people, hosts: hosts,
            projects: projectHosts.isEmpty ? nil : fleet.usersampleProject("billing", hosts: projectHosts, [
                "uid: 1001", "gid: 1001", "home: /home/usersample", "shell: /bin/bash", "create: true",
                "keys: [kp-deploy]", "people: [alice, bob]",
            ])))
    }

    /// `keysync ARGUMENTS --inventory … --db …` (each only where the command takes it).
    func keysync(_ workspace: Workspace, _ arguments: [String], inventory: Bool = true, db: Bool = true) throws -> CommandResult {
        try KeySyncProcess.run(arguments + (inventory ? ["--inventory", workspace.file("inventory.yml")] : [])
                                         + (db ? ["--db", workspace.file("keysync.db")] : []))
    }

    /// Appends `text` to `path` on `host` as root, then gives the file to `owner` with mode 0600 (folder 0700).
    func append(host: Int, _ path: String, owner: String, _ text: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let result = try fleet.exec(host: host, ["sh", "-c", """
            install -d -o "$2" -g "$2" -m 700 "$1" && cat >> "$3" && chown "$2:$2" "$3" && chmod 600 "$3"
            """, "sh", dir, owner, path], stdin: Data(text.utf8))
        #expect(result.succeeded, "\(result)")
    }

    func bobLogin(_ workspace: Workspace, host: Int, user: String) throws -> Int32 {
        try fleet.login(host: host, user: user, key: workspace.file("kp-bob")).status
    }

    @Test func offboardRemovesTheLeaversKeyFromEveryAccountOnEveryHostAndTheirLoginFails() throws {
        let (withProject, withoutProject) = (42, 43)
        try fleet.reset(hosts: [withProject, withoutProject])
        defer { try? fleet.reset(hosts: [withoutProject]) }   // its sshd_config is changed below
        let workspace = try Workspace()
        try writeInventory(workspace, hosts: [withProject, withoutProject], projectHosts: [withProject], bobLeft: false)
        let push = try keysync(workspace, ["push"])
        #expect(push.status == 0, "\(push)")
        let bob = try workspace.publicKey("kp-bob").openSSHLine
        let alice = try workspace.publicKey("kp-alice").openSSHLine

        // Pasted by hand: into the login user's file (h42), into an account
        // keysync knows nothing of and into root's authorized_keys2 on a host in no project (h43).
        let opsLine = try fleet.read(host: withProject, "/home/ops/.ssh/authorized_keys").filter { $0 == 0x0a }.count + 2
        try append(host: withProject, "/home/ops/.ssh/authorized_keys", owner: "ops", "# pasted during the incident of 2026-11-30\n\(bob)\n")
        let add = try fleet.exec(host: withoutProject, ["useradd", "-m", "-s", "/bin/bash", "-p", "*", "scratch"])
        #expect(add.succeeded, "\(add)")
        try append(host: withoutProject, "/home/scratch/.ssh/authorized_keys", owner: "scratch", "# scratch\n\(alice)\nno-pty \(bob) bob@laptop\n")
        try append(host: withoutProject, "/root/.ssh/authorized_keys2", owner: "root", "\(bob)\n")
        let config = try fleet.exec(host: withoutProject, ["sed", "-i", "s|^AuthorizedKeysFile .*|AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2|",
                                                           "/etc/ssh/sshd_config"])
        #expect(config.succeeded, "\(config)")
        // sshd re-executes itself with the new config on SIGHUP (its pid as of the reset above).
        let sshd = try fleet.sshdPid(withoutProject)
        #expect(try String(contentsOfFile: "/proc/\(sshd)/comm", encoding: .utf8) == "sshd\n")
        #expect(kill(sshd, SIGHUP) == 0)
        var tries = 0
        while try bobLogin(workspace, host: withoutProject, user: "root") != 0, tries < 40 { tries += 1; usleep(250_000) }
        let places = [(withProject, "usersample"), (withProject, "ops"), (withoutProject, "scratch"), (withoutProject, "root")]
        for (host, user) in places {
            #expect(try bobLogin(workspace, host: host, user: user) == 0, "before: bob logs in as \(user) on h\(host)")
        }

        // Without left: refused, nothing contacted, no run.
        let refused = try keysync(workspace, ["offboard", "bob"])
        #expect(refused.status == 1, "\(refused)")
        let bobEntry = try String(contentsOfFile: workspace.file("inventory.yml"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).firstIndex(of: "  bob:")! + 1
        #expect(refused.stderr.contains("inventory.yml:\(bobEntry):3: error: person \"bob\" has not left: add `left: "), "\(refused.stderr)")
        #expect(refused.stderr.contains("` to their entry on line \(bobEntry), then run offboard again (nothing was contacted)"))
        #expect(try Store(path: workspace.file("keysync.db")).runs(commands: ["offboard"]).isEmpty)
        let unknown = try keysync(workspace, ["offboard", "bbo"])
        #expect(unknown.status == 1 && unknown.stderr.contains("did you mean \"bob\"?"), "\(unknown)")

        try writeInventory(workspace, hosts: [withProject, withoutProject], projectHosts: [withProject], bobLeft: true)
        let validate = try keysync(workspace, ["inventory", "validate"], db: false)
        #expect(validate.status == 0, "\(validate)")
        #expect(validate.stderr.contains("warning: project \"billing\" role \"deploy\": person \"bob\" left on 2026-12-05"), "\(validate.stderr)")

        // --dry-run finds all four and writes nothing (exit 2: they remain).
        let dry = try keysync(workspace, ["offboard", "bob", "--dry-run"])
        #expect(dry.status == 2, "\(dry)")
        #expect(dry.stdout.components(separatedBy: ": would remove kp-bob ").count - 1 == 4, "\(dry.stdout)")
        #expect(try bobLogin(workspace, host: withProject, user: "ops") == 0)

        let run = try keysync(workspace, ["offboard", "bob", "--json"])
        #expect(run.status == 0, "\(run)")
        let report = try JSONDecoder().decode(OffboardReport.self, from: Data(run.stdout.utf8))
        #expect(report.person == "bob" && report.left == "2026-12-05" && !report.dryRun)
        #expect(report.summary.found == 4 && report.summary.removed == 4 && report.summary.remaining == 0 && report.summary.failed == 0)
        #expect(report.hosts.map(\.status) == [.changed, .changed])
        let found = report.hosts.flatMap { host in host.found.map { "\(host.host) \($0.account) \($0.path) \($0.line) \($0.block ?? "-")" } }
        #expect(found.sorted() == [
            "h42 ops /home/ops/.ssh/authorized_keys \(opsLine) -",
            "h42 usersample /home/usersample/.ssh/authorized_keys 4 project=billing role=deploy",
            "h43 root /root/.ssh/authorized_keys2 1 -",
            "h43 scratch /home/scratch/.ssh/authorized_keys 3 -",
        ])

        // Every one of bob's logins now fails; everyone else's still works.
        for (host, user) in places {
            #expect(try bobLogin(workspace, host: host, user: user) != 0, "after: bob still logs in as \(user) on h\(host)")
        }
        #expect(try fleet.ssh(host: withProject, command: "true").succeeded)
        #expect(try fleet.ssh(host: withoutProject, user: "root", command: "true").succeeded)
        #expect(try fleet.login(host: withProject, user: "usersample", key: workspace.file("kp-alice")).succeeded)
        #expect(try fleet.login(host: withoutProject, user: "scratch", key: workspace.file("kp-alice")).succeeded)
        // Only bob's lines went: the comments, alice's key and the block stay.
        let ops = String(decoding: try fleet.read(host: withProject, "/home/ops/.ssh/authorized_keys"), as: UTF8.self)
        #expect(ops.hasSuffix("# pasted during the incident of 2026-11-30\n") && !ops.contains(bob))
        #expect(String(decoding: try fleet.read(host: withoutProject, "/home/scratch/.ssh/authorized_keys"), as: UTF8.self) == "# scratch\n\(alice)\n")
        let usersample = String(decoding: try fleet.read(host: withProject, "/home/usersample/.ssh/authorized_keys"), as: UTF8.self)
        let deploy = try workspace.publicKey("kp-deploy").openSSHLine
        #expect(usersample.contains(alice) && usersample.contains(deploy) && !usersample.contains(bob))
        let owner = try fleet.exec(host: withoutProject, ["stat", "-c", "%U %a", "/home/scratch/.ssh/authorized_keys"])
        #expect(owner.stdout == "scratch 600\n")

        // The record: the run, what was removed where, and a snapshot of every file before.
        let history = try keysync(workspace, ["history", "--command", "offboard"], inventory: false)
        #expect(history.status == 0 && history.stdout.contains("offboard") && history.stdout.contains(" bob"), "\(history)")
        #expect(!history.stdout.contains("push"))
        let store = try Store(path: workspace.file("keysync.db"))
        let runID = try #require(report.run)
        #expect(try store.runs(commands: ["offboard"]).map(\.id) == [runID])
        #expect(try store.drift(runID: runID).filter { $0.kind == "revoked_key" && $0.fixed }.count == 4)
        #expect(try store.snapshots(host: "h43", runID: runID).map(\.ref.path) == ["/home/scratch/.ssh/authorized_keys", "/root/.ssh/authorized_keys2"])
        #expect(try store.snapshots(host: "h43", runID: runID).allSatisfy { $0.content.map { String(decoding: $0, as: UTF8.self).contains(bob) } == true })

        // Offboarding again finds nothing; push does not bring bob back.
        let again = try keysync(workspace, ["offboard", "bob"])
        #expect(again.status == 0 && again.stdout.contains("0 key lines found"), "\(again)")
        let check = try keysync(workspace, ["check"])
        #expect(check.status == 0, "\(check)")
    }

    @Test func theLoginKeyOfKeysyncIsRefusedUnlessForced() throws {
        let host = 44
        try fleet.reset(hosts: [host])
        let workspace = try Workspace()
        // keysync logs in as ops with bob's key; the host is in no project.
        try writeInventory(workspace, hosts: [host], projectHosts: [], bobLeft: true, identity: workspace.file("kp-bob"))
        try append(host: host, "/home/ops/.ssh/authorized_keys", owner: "ops", try workspace.publicKey("kp-bob").openSSHLine + "\n")
        #expect(try bobLogin(workspace, host: host, user: "ops") == 0)

        let refused = try keysync(workspace, ["offboard", "bob"])
        #expect(refused.status == 2, "\(refused)")
        let bob = try workspace.publicKey("kp-bob").fingerprint
        #expect(refused.stdout.contains("h\(host): NOT removed kp-bob \(bob) from ops: /home/ops/.ssh/authorized_keys line"), "\(refused.stdout)")
        #expect(refused.stdout.contains("refused: this would remove \(bob), the key keysync logs in with as ops; use --force if you really mean it"))
        #expect(refused.stdout.contains("1 remaining, 0 failed"))
        #expect(try bobLogin(workspace, host: host, user: "ops") == 0, "the refused key must still work")
        let store = try Store(path: workspace.file("keysync.db"))
        let firstRun = try #require(try store.runs(commands: ["offboard"]).first)
        #expect(try store.drift(runID: firstRun.id).contains { $0.kind == "lockout_refused" && $0.fingerprint == bob })

        let forced = try keysync(workspace, ["offboard", "bob", "--force"])
        #expect(forced.status == 0, "\(forced)")
        #expect(forced.stdout.contains("h\(host): removed kp-bob \(bob) from ops"), "\(forced.stdout)")
        #expect(try bobLogin(workspace, host: host, user: "ops") != 0, "bob (and keysync with bob's key) can no longer log in")
        #expect(try fleet.ssh(host: host, command: "true").succeeded, "the fleet admin's keys stay")
    }

    /// Bob's key was rotated (the old fingerprint is retired under kp-bob)
    /// before he left: a copy of the old key pasted by hand into an account
    /// keysync does not manage goes too, listed as kp-bob (retired).
    @Test func theLeaversRetiredKeysAreSearchedToo() throws {
        let host = 45
        try fleet.reset(hosts: [host])
        let workspace = try Workspace()
        try writeInventory(workspace, hosts: [host], projectHosts: [], bobLeft: true)
        let old = try workspace.generateKey("kp-bob-2025")
        let oldKey = try workspace.publicKey("kp-bob-2025")
        try Store(path: workspace.file("keysync.db")).recordRetired(fingerprint: oldKey.fingerprint, keyName: "kp-bob", rotationID: nil)
        try append(host: host, "/home/ops/.ssh/authorized_keys", owner: "ops", oldKey.openSSHLine + "\n")
        #expect(try fleet.login(host: host, user: "ops", key: old).status == 0)
        let offboard = try keysync(workspace, ["offboard", "bob"])
        #expect(offboard.status == 0, "\(offboard)")
        #expect(offboard.stdout.contains("kp-bob (retired)"), "\(offboard.stdout)")
        #expect(try fleet.login(host: host, user: "ops", key: old).status != 0)
        #expect(try fleet.ssh(host: host, command: "true").succeeded, "the fleet admin's keys stay")
    }

    /// A host that cannot be reached fails the run (exit 3) without keeping
    /// the others from being cleaned.
    @Test func anUnreachableHostIsExit3AndTheOthersAreStillCleaned() throws {
        let host = 45
        try fleet.reset(hosts: [host])
        let workspace = try Workspace()
        try writeInventory(workspace, hosts: [host], projectHosts: [], bobLeft: true)
        // A loopback address of the fleet's range where no sshd listens (the fleet's hosts end at .0.200).
        let text = try String(contentsOfFile: workspace.file("inventory.yml"), encoding: .utf8)
        try workspace.write("inventory.yml", text + "\n  gone: { address: 127.\(fleet.base).0.250 }\n")
        try append(host: host, "/home/ops/.ssh/authorized_keys", owner: "ops", try workspace.publicKey("kp-bob").openSSHLine + "\n")
        #expect(try bobLogin(workspace, host: host, user: "ops") == 0)

        let run = try keysync(workspace, ["offboard", "bob", "--json"])
        #expect(run.status == 3, "\(run)")
        let report = try JSONDecoder().decode(OffboardReport.self, from: Data(run.stdout.utf8))
        #expect(report.hosts.map(\.host) == ["h\(host)", "gone"])
        #expect(report.hosts.map(\.status) == [.changed, .failed])
        #expect(report.hosts[1].error?.isEmpty == false)
        #expect(report.summary.removed == 1 && report.summary.failed == 1)
        #expect(try bobLogin(workspace, host: host, user: "ops") != 0)
    }
}
