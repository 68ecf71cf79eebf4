import Foundation
import Testing
@testable import KeySync

/// Issue 19 on a real sshd: `AuthorizedKeysFile /etc/ssh/authorized_keys/%u`
/// (users must not add keys themselves). keysync writes that file as root,
/// root:root 0644, and push, check, restore and offboard handle it. Host 196
/// (this suite has 196–199); its sshd_config is changed and the host is
/// rebuilt afterwards.
@Suite(.serialized) struct RootOwnedKeysSshdTests {
    let fleet: TestFleet
    static let host = 196
    static let path = "/etc/ssh/authorized_keys/rootkeys"

    init() throws { fleet = try TestFleet.shared(minimumHosts: 200) }

    func inventory(_ workspace: Workspace, bobLeft: Bool) throws {
        let people = """
            people:
              bob:
                keys: [kp-bob]
            \(bobLeft ? "    left: 2026-12-05" : "")
            """
        try workspace.write("inventory.yml", fleet.inventory(
            keys: ["kp-deploy: { file: deploy.pub }", "kp-bob: { file: bob.pub }"], sections: people, hosts: [Self.host],
            projects: fleet.usersampleProject("billing", hosts: [Self.host], account: "rootkeys", [
                "create: true", "home: /home/rootkeys", "shell: /bin/sh", "keys: [kp-deploy]",
            ])))
    }

    func keysync(_ workspace: Workspace, _ arguments: [String]) throws -> CommandResult {
        try KeySyncBinary.run(arguments + ["--inventory", workspace.file("inventory.yml"), "--db", workspace.file("keysync.db")])
    }

    /// The run id and the host's status from a `--json` reply.
    func outcome(_ result: CommandResult) throws -> (run: Int, status: String) {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result)")
        let host = try #require((json["hosts"] as? [[String: Any]])?.first, "\(result)")
        return (try #require(json["run"] as? Int), try #require(host["status"] as? String))
    }

    @Test func aRootOwnedLayoutConvergesLogsInAndKeepsHandAddedLines() throws {
        let host = Self.host, path = Self.path
        try fleet.reset(hosts: [host])
        defer { try? fleet.reset(hosts: [host]) }
        let workspace = try Workspace()
        for key in ["deploy", "hand", "bob"] { try workspace.generateKey(key) }
        // The first file is root's; the admin login keeps its own second file.
        try fleet.sh(host, "sed -i 's|^AuthorizedKeysFile .*|AuthorizedKeysFile /etc/ssh/authorized_keys/%u .ssh/authorized_keys|' /etc/ssh/sshd_config && ! test -e /etc/ssh/authorized_keys")
        try fleet.reloadSSHD(host: host)
        try inventory(workspace, bobLeft: false)

        // 1. push creates the account and the folder sshd names, and writes root's file.
        let first = try keysync(workspace, ["push", "--json"])
        #expect(first.status == 0, "\(first)")
        #expect(try outcome(first).status == "changed")
        #expect(try fleet.sh(host, "stat -c '%n %U:%G %a' /etc/ssh/authorized_keys \(path); test ! -e /home/rootkeys/.ssh/authorized_keys") == """
            /etc/ssh/authorized_keys root:root 755
            \(path) root:root 644

            """)
        let deployLogin = try fleet.login(host: host, user: "rootkeys", key: workspace.file("deploy"), command: "echo in")
        #expect(deployLogin.succeeded && deployLogin.stdout == "in\n", "\(deployLogin)")
        // doctor sees the layout: nothing about where the keys are.
        let doctor = try keysync(workspace, ["doctor", "--host", "h\(host)", "--json"])
        // (exit 0: no finding is an error.)
        #expect(doctor.status == 0 && !doctor.stdout.contains("keys_file_unmanaged") && !doctor.stdout.contains("_unsafe"), "\(doctor)")

        // 2. Lines the operator adds by hand are theirs: no drift, and they log in.
        let hand = try workspace.publicKey("hand"), bob = try workspace.publicKey("bob"), deploy = try workspace.publicKey("deploy")
        try fleet.sh(host, "printf '%s\\n' \(Shell.quote(hand.openSSHLine + " by hand")) \(Shell.quote(bob.openSSHLine)) >> \(path)")
        #expect(try keysync(workspace, ["check"]).status == 0)
        #expect(try fleet.login(host: host, user: "rootkeys", key: workspace.file("hand")).succeeded)

        // 3. A hand edit of keysync's block and of the mode is drift.
        try fleet.sh(host, "grep -v \(Shell.quote(deploy.base64)) \(path) > /tmp/k && cat /tmp/k > \(path) && rm /tmp/k && chmod 600 \(path)")
        let edited = try fleet.sh(host, "cat \(path)")
        let drift = try keysync(workspace, ["check", "--json"])
        #expect(drift.status == 2, "\(drift)")
        #expect(drift.stdout.contains("missing_key") && drift.stdout.contains("file_mode") && drift.stdout.contains("want 0644"), "\(drift.stdout)")

        // 4. push repairs it and keeps the hand-added lines; a second push is a no-op.
        let repair = try keysync(workspace, ["push", "--json"])
        #expect(repair.status == 0, "\(repair)")
        let repairRun = try outcome(repair).run
        let repaired = try fleet.sh(host, "cat \(path)")
        #expect(edited.split(separator: "\n").allSatisfy { repaired.contains($0) } && repaired.contains(deploy.base64), "\(repaired)")
        #expect(repaired.contains(hand.openSSHLine + " by hand\n"))
        #expect(try fleet.sh(host, "stat -c '%U:%G %a' \(path)") == "root:root 644\n")
        #expect(try fleet.login(host: host, user: "rootkeys", key: workspace.file("deploy")).succeeded)
        let again = try keysync(workspace, ["push", "--json"])
        let againStatus = try outcome(again).status
        #expect(again.status == 0 && againStatus == "ok", "\(again)")
        #expect(try fleet.sh(host, "cat \(path)") == repaired)

        // 5. restore puts back what that push replaced, as root's file.
        let restore = try keysync(workspace, ["restore", "--host", "h\(host)", "--run", String(repairRun)])
        #expect(restore.status == 0, "\(restore)")
        #expect(try fleet.sh(host, "cat \(path)") == edited)
        #expect(try fleet.sh(host, "stat -c '%U:%G %a' \(path)") == "root:root 644\n")
        #expect(try keysync(workspace, ["push"]).status == 0)

        // 6. offboard removes a leaver's hand-added line; the operator's stays.
        try inventory(workspace, bobLeft: true)
        #expect(try fleet.login(host: host, user: "rootkeys", key: workspace.file("bob")).succeeded)
        let offboard = try keysync(workspace, ["offboard", "bob"])
        #expect(offboard.status == 0, "\(offboard)")
        let after = try fleet.sh(host, "cat \(path)")
        #expect(!after.contains(bob.base64) && after.contains(hand.base64) && after.contains(deploy.base64), "\(after)")
        #expect(try !fleet.login(host: host, user: "rootkeys", key: workspace.file("bob")).succeeded)
        #expect(try keysync(workspace, ["check"]).status == 0)

        // 7. A folder others may write in: reported with the reason, never written.
        try fleet.sh(host, "chmod 775 /etc/ssh/authorized_keys && grep -v \(Shell.quote(deploy.base64)) \(path) > /tmp/k && cat /tmp/k > \(path) && rm /tmp/k")
        let loose = try fleet.sh(host, "cat \(path)")
        let unsafe = try keysync(workspace, ["check", "--json"])
        #expect(unsafe.status == 2 && unsafe.stdout.contains("dir_mode")
                && unsafe.stdout.contains("/etc/ssh/authorized_keys is writable by group or others"), "\(unsafe)")
        // (push lists drift it cannot repair and exits 0, as for a home's unsafe folder.)
        let refused = try keysync(workspace, ["push", "--json"])
        let refusedStatus = try outcome(refused).status
        #expect(refusedStatus == "drift" && refused.stdout.contains("dir_mode"), "\(refused)")
        #expect(try fleet.sh(host, "cat \(path)") == loose)
    }

    /// An AuthorizedKeysFile that is one file for every account — an
    /// absolute path without %h/%u/%U, or `~/…`, which sshd makes root's own
    /// keys file — is never written (review s13: the role's key then logged
    /// in as root): `unsupported_path`, no account created, no file touched,
    /// and the role key logs in as nobody.
    @Test(arguments: ["/etc/ssh/shared_keys", "~/.ssh/authorized_keys"])
    func aKeysFileSharedByEveryAccountIsNeverWritten(_ setting: String) throws {
        let host = Self.host
        try fleet.reset(hosts: [host])
        defer { try? fleet.reset(hosts: [host]) }
        let workspace = try Workspace()
        for key in ["deploy", "bob"] { try workspace.generateKey(key) }
        try fleet.sh(host, "sed -i 's|^AuthorizedKeysFile .*|AuthorizedKeysFile \(setting) .ssh/authorized_keys|' /etc/ssh/sshd_config && printf 'root-own\\n' > /etc/ssh/shared_keys")
        try fleet.reloadSSHD(host: host)
        let before = try fleet.sh(host, "cat /etc/ssh/shared_keys /root/.ssh/authorized_keys 2>/dev/null | sha256sum")
        try inventory(workspace, bobLeft: false)
        let push = try keysync(workspace, ["push", "--json"])
        #expect(push.stdout.contains("unsupported_path") && push.stdout.contains("one file for every account"), "\(push)")
        #expect(try fleet.sh(host, "cat /etc/ssh/shared_keys /root/.ssh/authorized_keys 2>/dev/null | sha256sum") == before)
        #expect(try fleet.sh(host, "getent passwd rootkeys || echo absent") == "absent\n", "no account made for a file it cannot write")
        #expect(try fleet.sh(host, "find / -xdev -path /proc -prune -o -name authorized_keys -newer /etc/ssh/sshd_config -print 2>/dev/null") == "")
        #expect(try !fleet.login(host: host, user: "root", key: workspace.file("deploy")).succeeded)
        let check = try keysync(workspace, ["check"])
        #expect(check.status == 2 && check.stdout.contains("unsupported_path"), "\(check)")
    }

    /// `AuthorizedKeysFile /etc/ssh/authorized_keys/%U` names the file by uid,
    /// as sshd expands it: push writes the file sshd opens (the login works)
    /// and check finds it clean; an account to create without `uid:` cannot
    /// have its file named before it exists, and push says so.
    @Test func aFileNamedByUidIsTheOneSSHDReads() throws {
        let host = Self.host
        try fleet.reset(hosts: [host])
        defer { try? fleet.reset(hosts: [host]) }
        let workspace = try Workspace()
        try workspace.generateKey("deploy")
        try fleet.sh(host, "sed -i 's|^AuthorizedKeysFile .*|AuthorizedKeysFile /etc/ssh/authorized_keys/%U .ssh/authorized_keys|' /etc/ssh/sshd_config")
        try fleet.reloadSSHD(host: host)
        func write(uid: String?) throws {
            try workspace.write("inventory.yml", fleet.inventory(
                keys: ["kp-deploy: { file: deploy.pub }"], hosts: [host],
                projects: fleet.usersampleProject("billing", hosts: [host], account: "rootkeys",
                                                  ["create: true", "home: /home/rootkeys", "shell: /bin/sh", "keys: [kp-deploy]"]
                                                  + (uid.map { ["uid: \($0)"] } ?? []))))
        }
        try write(uid: nil)
        let refused = try keysync(workspace, ["push"])
        #expect(refused.status == 3 && (refused.stdout + refused.stderr).contains("names the file by uid (%U)"), "\(refused)")
        #expect(try fleet.sh(host, "getent passwd rootkeys || echo none") == "none\n")

        try write(uid: "1301")
        let push = try keysync(workspace, ["push"])
        #expect(push.status == 0, "\(push)")
        #expect(try fleet.sh(host, "stat -c '%U:%G %a' /etc/ssh/authorized_keys/1301") == "root:root 644\n")
        #expect(try fleet.login(host: host, user: "rootkeys", key: workspace.file("deploy")).succeeded)
        #expect(try keysync(workspace, ["check"]).status == 0)
    }
}
