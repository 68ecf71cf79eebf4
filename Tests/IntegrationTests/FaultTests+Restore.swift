import Foundation
import Testing
@testable import KeySync

/// `keysync restore` keeps push's key rules against real sshd (issue 15): a
/// revoked or retired key never comes back, and the lockout guard holds.
/// Hosts 25–27 of the fault suite.
extension FaultTests {
    /// `keysync restore --inventory INVENTORY --db DB --host H --run ID ARGS…`.
    func restore(_ world: FaultWorld, inventory: String, host: Int, run: Int64, _ arguments: [String] = []) throws -> CommandResult {
        try KeySyncBinary.run(["restore", "--inventory", world.workspace.file(inventory), "--db", world.database,
                               "--host", "h\(host)", "--run", String(run)] + arguments)
    }

    /// `SHA256:…` and base64 blob of the workspace key `name`.
    func keyFacts(_ world: FaultWorld, _ name: String) throws -> (fingerprint: String, blob: String) {
        let fingerprint = try #require(try TestFleet.fingerprints(ofKeysIn: world.workspace.file(name + ".pub")).first)
        let blob = try String(contentsOfFile: world.workspace.file(name + ".pub"), encoding: .utf8).split(separator: " ")[1]
        return (fingerprint, String(blob))
    }

    /// Error kind and drift kinds the newest `restore` run recorded for `host`.
    func lastRestoreRecord(_ world: FaultWorld, host: Int) throws -> (kind: String, drift: [String]) {
        let newest = "(SELECT MAX(id) FROM runs WHERE command = 'restore')"
        let kind = try world.query("SELECT IFNULL(error_kind, status) FROM host_results WHERE host = 'h\(host)' AND run_id = \(newest)")
        let drift = try world.query("SELECT kind FROM drift WHERE host = 'h\(host)' AND run_id = \(newest)")
        return (kind.first ?? "missing", drift)
    }

    @Test func restoreLeavesRevokedAndRetiredKeysOut() throws {
        let host = 25
        try fleet.removeFaultAccounts([host])
        let world = try FaultWorld(fleet)
        try world.writeInventory("a.yml", .init(hosts: [host], keys: ["ka", "kb", "kc"]))
        try world.writeInventory("b.yml", .init(hosts: [host], keys: ["ka"]))
        try world.writeInventory("c.yml", .init(hosts: [host], keys: ["ka"], revoked: ["kb"]))
        let first = try world.keysync("push", inventory: "a.yml", ["--json"])
        try #require(first.status == 0, "\(first)")
        let run = try #require(try world.report(try world.keysync("push", inventory: "b.yml", ["--json"])).run)
        let file = "/home/fz0/.ssh/authorized_keys"
        // The account edits its file after that run; kb is revoked in the inventory and kc retired by a rotation since.
        try fleet.sh(host, "su -s /bin/sh fz0 -c 'echo \"# added after run \(run)\" >> \(file)'")
        let (ka, kb, kc) = (try keyFacts(world, "ka"), try keyFacts(world, "kb"), try keyFacts(world, "kc"))
        let store = try Store(path: world.database)
        try store.recordRetired(fingerprint: kc.fingerprint, keyName: "kc", rotationID: nil)
        let snapshot = String(decoding: try #require(try store.snapshots(host: "h\(host)", runID: run).first?.content), as: UTF8.self)
        let expected = snapshot.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains(kb.blob) && !$0.contains(kc.blob) }.joined(separator: "\n")

        try FaultCheck.run("restore of a snapshot holding a since-revoked key (inventory revoked:) and a rotation-retired key",
                           expected: "both left out of the restored file and listed with their fingerprints; the rest restored byte for byte; the revoked key no longer logs in; exit 0") { check in
            check.require(snapshot.contains(kb.blob) && snapshot.contains(kc.blob) && snapshot.contains(ka.blob), "snapshot:\n\(snapshot)")
            // The dry run shows the content the restore writes, not the snapshot's.
            let dry = try restore(world, inventory: "c.yml", host: host, run: run, ["--dry-run"])
            let dryListed = [kb.fingerprint, kc.fingerprint].filter { dry.stdout.contains("not restoring revoked key ssh-ed25519 \($0)") }
            check.observe("dry run exit \(dry.status), listed \(dryListed.count) of 2 kept out")
            check.require(dry.status == 0 && dryListed.count == 2 && dry.stdout.contains(ka.blob), "\(dry)")
            check.require(!dry.stdout.contains(kb.blob) && !dry.stdout.contains(kc.blob), "the dry run shows revoked keys coming back:\n\(dry.stdout)")
            let restored = try restore(world, inventory: "c.yml", host: host, run: run)
            let after = String(decoding: try fleet.read(host: host, file), as: UTF8.self)
            let kbLogin = try fleet.login(host: host, user: "fz0", key: world.workspace.file("kb")).status
            let kaLogin = try fleet.login(host: host, user: "fz0", key: world.workspace.file("ka")).status
            let listed = [kb.fingerprint, kc.fingerprint].filter { restored.stdout.contains("not restoring revoked key ssh-ed25519 \($0)") }
            check.observe("exit \(restored.status); listed \(listed.count) of 2 kept out; file \(after == expected ? "= snapshot without them" : "DIFFERENT"); login kb exit \(kbLogin), ka exit \(kaLogin)")
            check.require(restored.status == 0, "\(restored)")
            check.require(listed.count == 2, "not listed: \(restored.stdout)")
            check.require(after == expected, "file:\n\(after)\nexpected:\n\(expected)")
            check.require(kbLogin != 0 && kaLogin == 0, "logins: kb \(kbLogin), ka \(kaLogin)")
        }

        try FaultCheck.run("history and restore of the push that created the account's file",
                           expected: "a snapshot row '(did not exist)'; restore --dry-run lists the file as not deleted, exit 0; restore deletes nothing and says so") { check in
            let created = try #require(try world.report(first).run)
            let history = try KeySyncBinary.run(["history", "--db", world.database, "--host", "h\(host)", "--limit", "50"])
            let rows = history.stdout.split(separator: "\n").filter { $0.contains("snapshot") && $0.contains(file) }
            let dry = try restore(world, inventory: "c.yml", host: host, run: created, ["--dry-run"])
            let before = try fleet.read(host: host, file)
            let restored = try restore(world, inventory: "c.yml", host: host, run: created)
            let unchanged = try fleet.read(host: host, file) == before
            check.observe("history snapshot rows of run \(created): \(rows.filter { $0.contains("(did not exist)") }.count); dry run exit \(dry.status); restore exit \(restored.status), file \(unchanged ? "kept" : "CHANGED")")
            check.require(try store.snapshots(host: "h\(host)", runID: created).contains { $0.ref.path == file && $0.ref.hash == nil }, "no snapshot of the created file")
            check.require(rows.contains { $0.contains("(did not exist)") }, "history:\n\(history.stdout)")
            check.require(dry.status == 0 && dry.stdout.contains("\(file) (account fz0): did not exist before; not deleted"), "\(dry)")
            check.require(restored.status == 3 && restored.stdout.contains("did not exist before that run; keysync never deletes it") && unchanged, "\(restored)")
        }
    }

    /// The account renames a root-only file of its home (a root 0600 env file)
    /// over its keys file: restore, like push, neither takes that file's
    /// bytes into the database nor writes over it.
    @Test func restoreKeepsNoBytesOfARootOwnedFileThatIsNotKeys() throws {
        let host = 25
        try fleet.removeFaultAccounts([host])
        let world = try FaultWorld(fleet)
        try world.writeInventory("a.yml", .init(hosts: [host], keys: ["ka"]))
        try world.writeInventory("b.yml", .init(hosts: [host], keys: ["ka", "kb"]))
        try #require(try world.keysync("push", inventory: "a.yml").status == 0)
        let run = try #require(try world.report(try world.keysync("push", inventory: "b.yml", ["--json"])).run)
        try fleet.sh(host, "printf 'DB_PASSWORD=hunter2-secret\\n' > /home/fz0/app.env && chmod 600 /home/fz0/app.env")
        try fleet.sh(host, "su -s /bin/sh fz0 -c 'mv -f /home/fz0/app.env /home/fz0/.ssh/authorized_keys'")
        try FaultCheck.run("restore over a root-owned non-keys file the account renamed into place",
                           expected: "refused naming the file (exit 3), file unchanged, no byte of it in the database") { check in
            let restored = try restore(world, inventory: "b.yml", host: host, run: run)
            let file = String(decoding: try fleet.read(host: host, "/home/fz0/.ssh/authorized_keys"), as: UTF8.self)
            let leaked = try world.query("SELECT COUNT(*) FROM snapshots WHERE CAST(content AS TEXT) LIKE '%hunter2%'")
            check.observe("exit \(restored.status); file \(file.contains("hunter2") ? "unchanged" : "CHANGED"); snapshots holding it: \(leaked.first ?? "?")")
            check.require(restored.status == 3 && (restored.stderr + restored.stdout).contains("is owned by root"), "\(restored) \(restored.stdout) \(restored.stderr)")
            check.require(file.contains("hunter2"), "file: \(file)")
            check.require(leaked == ["0"], "\(leaked)")
        }
    }

    @Test func restoreRefusesToRemoveItsLoginKeyOrEmptyAnAccountWithoutForce() throws {
        let loginHost = 26, emptyHost = 27
        try fleet.removeFaultAccounts([loginHost, emptyHost])
        let world = try FaultWorld(fleet)
        let file = "/home/fz0/.ssh/authorized_keys"
        // h26: run 2 gave fz0 kb, the key keysync now logs in with as fz0.
        try world.writeInventory("a.yml", .init(hosts: [loginHost], keys: ["ka"]))
        try world.writeInventory("b.yml", .init(hosts: [loginHost], keys: ["ka", "kb"]))
        try world.writeInventory("login.yml", .init(hosts: [loginHost], keys: ["ka", "kb"],
                                                    hostSettings: ["h\(loginHost)": "user: fz0, identity: \(world.workspace.file("kb"))"]))
        let first = try world.keysync("push", inventory: "a.yml")
        try #require(first.status == 0, "\(first)")
        let loginRun = try #require(try world.report(try world.keysync("push", inventory: "b.yml", ["--json"])).run)
        let sudo = try fleet.grantSudo(host: loginHost, account: "fz0")
        defer { sudo.undo() }
        // h27: fz0's file held only a comment before run 3 gave it ka.
        try fleet.sh(emptyHost, """
            groupadd -g 3100 fz0 && useradd -u 3100 -g 3100 -m -d /home/fz0 -s /bin/bash -p '*' fz0 &&
            install -d -o fz0 -g fz0 -m 700 /home/fz0/.ssh && printf '# placeholder\\n' > \(file) &&
            chown fz0:fz0 \(file) && chmod 600 \(file)
            """)
        try world.writeInventory("e.yml", .init(hosts: [emptyHost], keys: ["ka"]))
        let emptyRun = try #require(try world.report(try world.keysync("push", inventory: "e.yml", ["--json"])).run)
        let kb = try keyFacts(world, "kb")

        let cases = [
            (loginHost, "login.yml", loginRun, "restore would remove keysync's own login key (the run being undone added it)",
             "refused: this would remove \(kb.fingerprint), the key keysync logs in with as fz0"),
            (emptyHost, "e.yml", emptyRun, "restore would leave an account that has keys with none",
             "refused: this would leave fz0 with no keys (it has 1)"),
        ]
        for (host, inventory, run, fault, reason) in cases {
            try FaultCheck.run(fault, expected: "lockout_refused (error kind and drift), file unchanged, exit 3; restore --force writes the snapshot") { check in
                let snapshot = try #require(try Store(path: world.database).snapshots(host: "h\(host)", runID: run).first?.content)
                let before = try fleet.read(host: host, file)
                let refused = try restore(world, inventory: inventory, host: host, run: run)
                let unchanged = try fleet.read(host: host, file) == before
                let recorded = try lastRestoreRecord(world, host: host)
                let forced = try restore(world, inventory: inventory, host: host, run: run, ["--force"])
                let restored = try fleet.read(host: host, file) == snapshot
                check.observe("exit \(refused.status), \(recorded.kind), drift \(recorded.drift.joined(separator: ",")); file \(unchanged ? "unchanged" : "CHANGED"); --force exit \(forced.status), file \(restored ? "= snapshot" : "NOT the snapshot")")
                check.require(refused.status == 3 && refused.stdout.contains(reason), "\(refused)")
                check.require(recorded.kind == "lockout_refused" && recorded.drift == ["lockout_refused"], "recorded \(recorded)")
                check.require(unchanged, "\(file) changed without --force")
                check.require(forced.status == 0 && restored, "--force: \(forced)")
            }
        }
    }
}
