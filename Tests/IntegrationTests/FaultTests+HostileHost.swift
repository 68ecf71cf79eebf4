import Foundation
import Testing
@testable import KeySync

/// Issue 15, hostile hosts: what a role account (or a compromised host) does
/// on its own host never makes keysync crash, read what the account cannot
/// read, or write and chown outside the account's own key folder. Part of
/// ``FaultTests`` (same hosts, serialized, rows in `Scripts/faults`); these
/// use host 28. Every hostile step is done by the account itself (`su fz0`)
/// unless the row says why root has to do it.
extension FaultTests {
    static let hostHost = 28

    /// Starts every hostile-host test from the same state: fault accounts
    /// gone, `fz0` created by a push of `ka` (`a.yml`).
    private func hostileWorld(name: String = #function, sourceLocation: SourceLocation = #_sourceLocation) throws -> FaultWorld {
        try FaultWorld.pushed(fleet, hosts: [Self.hostHost], name: name, sourceLocation: sourceLocation)
    }

    private static let savedSSHDConfig = "/etc/ssh/sshd_config.hostile-test"

    /// ``hostileWorld(name:sourceLocation:)`` with host 28's `AuthorizedKeysFile`
    /// set to `value` and sshd reloaded; a config an interrupted earlier run
    /// left changed is restored before the accounts are pushed. Pair with
    /// ``restoreSSHDConfig()``.
    private func hostileWorld(authorizedKeysFile value: String, name: String = #function,
                              sourceLocation: SourceLocation = #_sourceLocation) throws -> FaultWorld {
        let host = Self.hostHost, saved = Self.savedSSHDConfig
        try fleet.sh(host, "[ -f \(saved) ] && cp \(saved) /etc/ssh/sshd_config && rm \(saved); true")
        let world = try hostileWorld(name: name, sourceLocation: sourceLocation)
        try fleet.sh(host, "cp /etc/ssh/sshd_config \(saved) && sed -i 's|^AuthorizedKeysFile .*|AuthorizedKeysFile \(value)|' /etc/ssh/sshd_config")
        try fleet.reloadSSHD(host: host)
        return world
    }

    /// Puts back the sshd_config ``hostileWorld(authorizedKeysFile:name:sourceLocation:)`` saved and reloads sshd.
    private func restoreSSHDConfig() throws {
        let saved = Self.savedSSHDConfig
        _ = try? fleet.sh(Self.hostHost, "cp \(saved) /etc/ssh/sshd_config && rm \(saved)")
        try fleet.reloadSSHD(host: Self.hostHost)
    }

    /// `usermod -c` puts text in fz0's GECOS field that once forged probe
    /// frames (dash's `echo` turned `\n` into line breaks, and the parser took
    /// an unframed `content N` with an overflowing length): the probe now
    /// prints it as data, on one line.
    @Test func hostileGECOSIsData() throws {
        let host = Self.hostHost
        let world = try hostileWorld()
        defer { try? fleet.removeFaultAccounts([host]) }
        let gecos = #"x\n@account x\ncontent 9223372036854775807\n@end"#
        try FaultCheck.run("GECOS of a role account holds `x\\n@account x\\ncontent 9223372036854775807\\n@end` (usermod -c; chfn where users may)",
                           expected: "check, push and doctor run normally (no crash), report nothing about an account `x`; exit 0") { check in
            try fleet.sh(host, "usermod -c \(Shell.quote(gecos)) fz0")
            let stored = try fleet.sh(host, "getent passwd fz0").trimmingCharacters(in: .whitespacesAndNewlines)
            check.require(stored.contains(gecos), "usermod did not store the text: \(stored)")
            let checked = try world.keysync("check", inventory: "a.yml", ["--json"])
            let pushed = try world.keysync("push", inventory: "a.yml", ["--json"])
            let doctor = try KeySyncBinary.run(["doctor", "--inventory", world.workspace.file("a.yml"), "--db", world.database,
                                                "--host", "h\(host)", "--json"])
            let report = try world.report(checked)
            let accounts = Set(report.hosts.flatMap { $0.drift.map(\.account) })
            check.observe("check exit \(checked.status), push exit \(pushed.status), doctor exit \(doctor.status); accounts in drift: \(accounts.sorted())")
            check.require(checked.status == 0 && pushed.status == 0, "check: \(checked.stderr) push: \(pushed.stderr)")
            check.require(![132, 133, 134, 139].contains(doctor.status) && doctor.status != 3, "doctor: \(doctor)")
            check.require(!accounts.contains("x"), "a forged account appeared")
        }
    }

    /// A root-owned file hard-linked in place of authorized_keys: its bytes
    /// must not reach the database or a file the account owns. The link is
    /// made by root here because this kernel has fs.protected_hardlinks = 1,
    /// which stops an account from linking a file it cannot read; keysync
    /// must hold without that setting too.
    @Test func aHardLinkedRootFileIsNeverReadOrCopied() throws {
        let host = Self.hostHost
        let world = try hostileWorld()
        defer { _ = try? fleet.sh(host, "rm -f /home/root-secret"); try? fleet.removeFaultAccounts([host]) }
        let secret = "ROOT-ONLY-SECRET-\(UUID().uuidString)"
        try FaultCheck.run("a root-owned 0600 file hard-linked in place of fz0's authorized_keys (nlink 2)",
                           expected: "check reports file_unreadable naming the two links (exit 2), push fails the host (exit 3); the file's bytes are in no output, not in the database, not in a file fz0 owns; the root file unchanged") { check in
            try fleet.sh(host, """
                printf '%s\\n' \(Shell.quote(secret)) > /home/root-secret && chmod 600 /home/root-secret
                rm -f /home/fz0/.ssh/authorized_keys && ln /home/root-secret /home/fz0/.ssh/authorized_keys
                """)
            let checked = try world.keysync("check", inventory: "a.yml", ["--json"])
            let pushed = try world.keysync("push", inventory: "a.yml", ["--json"])
            let result = try world.report(pushed).hosts.first
            let inDatabase = try world.databaseContains(secret)
            let owned = try fleet.sh(host, "grep -rl \(Shell.quote(secret)) /home/fz0 2>/dev/null | while read -r f; do stat -c '%U %h %n' \"$f\"; done; true")
            let rootFile = try fleet.sh(host, "stat -c '%U %a %h' /home/root-secret; cat /home/root-secret")
            let outputs = checked.stdout + checked.stderr + pushed.stdout + pushed.stderr
            check.observe("check exit \(checked.status), push exit \(pushed.status) (\(result?.error?.suffix(110) ?? "")); secret in output \(outputs.contains(secret)), in database \(inDatabase); files under /home/fz0 holding it: \(owned.isEmpty ? "only the link" : owned.replacingOccurrences(of: "\n", with: "; "))")
            // One account's unreadable file is that account's drift (review s15 files #1); push still fails the host for it.
            let unreadable = try world.report(checked).hosts.first?.drift.first { $0.kind == .fileUnreadable }
            check.require(checked.status == 2 && unreadable?.detail.contains("2 hard links") == true && pushed.status == 3,
                          "want check to report file_unreadable and push to fail the host: \(checked.status), \(pushed.status)")
            check.require(result?.error?.contains("2 hard links") == true, "push error: \(result?.error ?? "")")
            check.require(!outputs.contains(secret) && !inDatabase, "the secret leaked")
            check.require(owned.split(separator: "\n").allSatisfy { $0.hasPrefix("root 2 ") }, "a copy owned by the account: \(owned)")
            check.require(rootFile.hasPrefix("root 600 2") && rootFile.contains(secret), "root file changed: \(rootFile)")
        }
        try FaultCheck.run("fz0 replaces its authorized_keys by a symlink to /root/.ssh/authorized_keys (su fz0)",
                           expected: "symlink drift; root's keys in no output and not in the database; nothing under /root written") { check in
            let rootKeys = try fleet.sh(host, "cat /root/.ssh/authorized_keys")
            let marker = try #require(rootKeys.split(separator: " ").dropFirst().first.map(String.init), "no key in /root/.ssh/authorized_keys")
            let rootBefore = try fleet.sh(host, "sha256sum /root/.ssh/authorized_keys")
            try fleet.sh(host, "rm -f /home/fz0/.ssh/authorized_keys && chown fz0: /home/fz0/.ssh && su -s /bin/sh fz0 -c 'ln -s /root/.ssh/authorized_keys /home/fz0/.ssh/authorized_keys'")
            let checked = try world.keysync("check", inventory: "a.yml", ["--json"])
            let pushed = try world.keysync("push", inventory: "a.yml", ["--json"])
            let kinds = try world.report(checked).hosts.first?.drift.map(\.kind.rawValue) ?? []
            let inDatabase = try world.databaseContains(marker)
            let rootAfter = try fleet.sh(host, "sha256sum /root/.ssh/authorized_keys")
            check.observe("check exit \(checked.status) drift \(kinds.joined(separator: ",")); push exit \(pushed.status); root's key in output \((checked.stdout + pushed.stdout).contains(marker)), in database \(inDatabase); /root unchanged \(rootBefore == rootAfter)")
            check.require(kinds.contains("symlink"), "no symlink drift: \(checked.stdout)")
            check.require(!(checked.stdout + pushed.stdout).contains(marker) && !inDatabase, "root's key leaked")
            check.require(rootBefore == rootAfter, "/root/.ssh/authorized_keys changed")
        }
    }

    /// A root-owned 0600 file in fz0's home (left by `sudo vim`, or a secret
    /// dropped there) that fz0 renames to its keys file (renaming needs only
    /// write access to the folders, not to the file): the probe reads it as
    /// root (the seed incident's path), and must not hand it to fz0.
    @Test func aRootOnlyFileRenamedToTheKeysFileIsNotHandedToTheAccount() throws {
        let host = Self.hostHost
        let world = try hostileWorld()
        defer { try? fleet.removeFaultAccounts([host]) }
        let secret = "DB_PASSWORD=\(UUID().uuidString)"
        try FaultCheck.run("root leaves a 0600 file with a secret in /home/fz0; fz0 renames it to ~/.ssh/authorized_keys (su fz0)",
                           expected: "check reports file_owner naming the lines that are not keys; push writes nothing; the file stays root's 0600; the secret is in no output and not in the database") { check in
            try fleet.sh(host, """
                printf '%s\\n' \(Shell.quote(secret)) > /home/fz0/.viminfo && chmod 600 /home/fz0/.viminfo
                su -s /bin/sh fz0 -c 'mv -f /home/fz0/.viminfo /home/fz0/.ssh/authorized_keys'
                """)
            let checked = try world.keysync("check", inventory: "a.yml", ["--json"])
            let pushed = try world.keysync("push", inventory: "a.yml", ["--json"])
            let drift = try world.report(checked).hosts.first?.drift ?? []
            let owner = try fleet.sh(host, "stat -c '%U %a' /home/fz0/.ssh/authorized_keys").trimmingCharacters(in: .whitespacesAndNewlines)
            let readable = try fleet.sh(host, "su -s /bin/sh fz0 -c 'cat /home/fz0/.ssh/authorized_keys' >/dev/null 2>&1 && echo yes || echo no").trimmingCharacters(in: .whitespacesAndNewlines)
            let outputs = checked.stdout + checked.stderr + pushed.stdout + pushed.stderr
            let inDatabase = try world.databaseContains(secret)
            check.observe("check exit \(checked.status) drift \(drift.map(\.kind.rawValue)); push exit \(pushed.status); file \(owner), fz0 can read it: \(readable); secret in output \(outputs.contains(secret)), in database \(inDatabase)")
            check.require(drift.contains { $0.kind == .fileOwner && $0.detail.contains("not keys") }, "no file_owner drift about a file that is not keys")
            check.require(owner == "root 600" && readable == "no", "the file was handed to fz0: \(owner), readable \(readable)")
            check.require(!outputs.contains(secret) && !inDatabase, "the secret leaked")
        }
        // Review s15 files #5: every line a key or a comment was taken over, the comment handed to fz0.
        let note = "# root-only note: \(secret)"
        try FaultCheck.run("the same with a root-only file of a comment holding the secret and a valid key line",
                           expected: "file_owner, push writes nothing, the file stays root's 0600, the comment reaches neither fz0 nor the database") { check in
            let key = try String(contentsOfFile: world.workspace.file("ka.pub"), encoding: .utf8)
            try fleet.sh(host, """
                rm -f /home/fz0/.ssh/authorized_keys
                printf '%s\n%s' \(Shell.quote(note)) \(Shell.quote(key)) > /home/fz0/.viminfo && chmod 600 /home/fz0/.viminfo
                su -s /bin/sh fz0 -c 'mv -f /home/fz0/.viminfo /home/fz0/.ssh/authorized_keys'
                """)
            let pushed = try world.keysync("push", inventory: "a.yml", ["--json"])
            let drift = try world.report(pushed).hosts.first?.drift ?? []
            let owner = try fleet.sh(host, "stat -c '%U %a' /home/fz0/.ssh/authorized_keys").trimmingCharacters(in: .whitespacesAndNewlines)
            let inDatabase = try world.databaseContains(secret)
            check.observe("push exit \(pushed.status) drift \(drift.map(\.kind.rawValue)); file \(owner); secret in output \((pushed.stdout + pushed.stderr).contains(secret)), in database \(inDatabase)")
            check.require(drift.contains { $0.kind == .fileOwner && $0.detail.contains("comments included") }, "no file_owner drift: \(drift)")
            check.require(owner == "root 600" && !(pushed.stdout + pushed.stderr).contains(secret) && !inDatabase, "the comment was handed over: \(owner)")
        }
    }

    /// `AuthorizedKeysFile .config/ssh/authorized_keys .ssh/authorized_keys`
    /// (the second for the admin login; keysync manages the first): every folder on the
    /// way is checked. A missing one is made by the account; one the account
    /// swapped for a link, or made group/world-writable, stops the write and
    /// is never chmodded or chowned.
    @Test func nestedAuthorizedKeysFileFoldersAreCheckedAndNeverChanged() throws {
        let host = Self.hostHost
        let world = try hostileWorld(authorizedKeysFile: ".config/ssh/authorized_keys .ssh/authorized_keys")
        defer {
            try? restoreSSHDConfig()
            try? fleet.removeFaultAccounts([host])
        }
        try FaultCheck.run("AuthorizedKeysFile .config/ssh/authorized_keys; the folders do not exist yet",
                           expected: "push makes .config and .config/ssh as fz0 (0700) and writes the file; the key logs in") { check in
            let pushed = try world.keysync("push", inventory: "a.yml")
            let modes = try fleet.sh(host, "stat -c '%U %a %n' /home/fz0/.config /home/fz0/.config/ssh /home/fz0/.config/ssh/authorized_keys")
            let login = try fleet.login(host: host, user: "fz0", key: world.workspace.file("ka")).status
            check.observe("push exit \(pushed.status); \(modes.split(separator: "\n").joined(separator: "; ")); login exit \(login)")
            check.require(pushed.status == 0 && login == 0, "push: \(pushed)")
            check.require(modes.split(separator: "\n").allSatisfy { $0.hasPrefix("fz0 700 ") || $0.hasPrefix("fz0 600 ") }, modes)
        }
        try FaultCheck.run("fz0 swaps .config for a symlink to /root (su fz0)",
                           expected: "symlink drift naming /home/fz0/.config; nothing under /root written or changed") { check in
            let before = try fleet.sh(host, "find /root -printf '%p %m %U %s\\n' | sort | sha256sum")
            try fleet.sh(host, "su -s /bin/sh fz0 -c 'mv /home/fz0/.config /home/fz0/.config.real && ln -s /root /home/fz0/.config'")
            try world.writeInventory("b.yml", .init(hosts: [host], keys: ["ka", "kb"]))
            let pushed = try world.keysync("push", inventory: "b.yml", ["--json"])
            let drift = try world.report(pushed).hosts.first?.drift ?? []
            let after = try fleet.sh(host, "find /root -printf '%p %m %U %s\\n' | sort | sha256sum")
            check.observe("push exit \(pushed.status): \(drift.map { "\($0.kind.rawValue) (\($0.detail.prefix(60)))" }.joined(separator: ", ")); /root unchanged \(before == after)")
            check.require(drift.contains { $0.kind == .symlink && $0.detail.contains("/home/fz0/.config") }, "no symlink drift")
            check.require(before == after, "/root changed")
            try fleet.sh(host, "rm /home/fz0/.config && mv /home/fz0/.config.real /home/fz0/.config")
        }
        try FaultCheck.run("fz0 makes .config world-writable (su fz0)",
                           expected: "dir_mode drift naming .config, nothing written; .config keeps mode 0777 (keysync changes only the key folder)") { check in
            try fleet.sh(host, "su -s /bin/sh fz0 -c 'chmod 777 /home/fz0/.config'")
            let before = try fleet.sh(host, "sha256sum < /home/fz0/.config/ssh/authorized_keys")
            let pushed = try world.keysync("push", inventory: "b.yml", ["--json"])
            let drift = try world.report(pushed).hosts.first?.drift ?? []
            let mode = try fleet.sh(host, "stat -c %a /home/fz0/.config").trimmingCharacters(in: .whitespacesAndNewlines)
            let after = try fleet.sh(host, "sha256sum < /home/fz0/.config/ssh/authorized_keys")
            check.observe("push exit \(pushed.status): \(drift.map(\.kind.rawValue).joined(separator: ",")); .config mode \(mode); file unchanged \(before == after)")
            check.require(drift.contains { $0.kind == .dirMode && $0.detail.contains("/home/fz0/.config") }, "no dir_mode drift")
            check.require(mode == "777" && before == after, "keysync changed .config or the file")
        }
    }

    /// `AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2` (the
    /// compiled-in default): the account copies its key into the second
    /// file, which keysync does not write. Revoking the key must not look
    /// done while sshd still accepts it from there.
    @Test func aRevokedKeyInASecondKeysFileFailsTheHost() throws {
        let host = Self.hostHost
        let world = try hostileWorld(authorizedKeysFile: ".ssh/authorized_keys .ssh/authorized_keys2")
        defer {
            try? restoreSSHDConfig()
            try? fleet.removeFaultAccounts([host])
        }
        try world.writeInventory("revoked.yml", .init(hosts: [host], keys: ["kb"], revoked: ["ka"]))
        try FaultCheck.run("fz0 copies its key ka into ~/.ssh/authorized_keys2 (su fz0); the inventory then revokes ka",
                           expected: "check: revoked_key naming authorized_keys2; push removes ka from authorized_keys but fails the host (revocation_blocked, exit 3) naming authorized_keys2; after the line is removed by hand push succeeds and ka no longer logs in") { check in
            try fleet.sh(host, "su -s /bin/sh fz0 -c 'grep -v \"^#\" /home/fz0/.ssh/authorized_keys > /home/fz0/.ssh/authorized_keys2'")
            let checked = try world.keysync("check", inventory: "revoked.yml", ["--json"])
            let drift = try world.report(checked).hosts.first?.drift ?? []
            let pushed = try world.keysync("push", inventory: "revoked.yml", ["--json"])
            let result = try world.report(pushed).hosts.first
            let kind = try world.hostResults(run: try #require(try world.report(pushed).run))["h\(host)"]?.errorKind
            let loginStill = try fleet.login(host: host, user: "fz0", key: world.workspace.file("ka")).status
            let firstFile = try fleet.sh(host, "cat /home/fz0/.ssh/authorized_keys")
            let kaKey = try String(contentsOfFile: world.workspace.file("ka") + ".pub", encoding: .utf8).split(separator: " ")[1]
            check.observe("check exit \(checked.status): \(drift.filter { $0.kind == .revokedKey }.map { String($0.detail.prefix(90)) }); push exit \(pushed.status) \(kind ?? "-"); ka still logs in via authorized_keys2: \(loginStill == 0)")
            check.require(drift.contains { $0.kind == .revokedKey && $0.detail.contains("authorized_keys2") }, "no revoked_key for authorized_keys2")
            check.require(pushed.status == 3 && kind == HostFailureKind.revocationBlocked.rawValue, "push must fail the host: \(pushed.stdout)")
            check.require(result?.error?.contains("authorized_keys2") == true, "error does not name the file: \(result?.error ?? "")")
            check.require(!firstFile.contains(String(kaKey)), "ka still in authorized_keys")
            check.require(loginStill == 0, "ka should still log in through authorized_keys2 (else the test proves nothing)")
            try fleet.sh(host, "su -s /bin/sh fz0 -c 'rm /home/fz0/.ssh/authorized_keys2'")
            let again = try world.keysync("push", inventory: "revoked.yml")
            let loginAfter = try fleet.login(host: host, user: "fz0", key: world.workspace.file("ka")).status
            check.observe("after rm by hand: push exit \(again.status); ka login exit \(loginAfter)")
            check.require(again.status == 0 && loginAfter != 0, "push: \(again)")
        }
    }

    /// fz0 links its authorized_keys into a folder whose name holds a line
    /// break and a forged doctor line (a `config` line naming /root/.bashrc
    /// with an AllowUsers that runs a command): doctor resolves the link as
    /// the account and prints every line through `put`, so nothing is forged.
    @Test func aLinkTargetWithALineBreakForgesNoDoctorLine() throws {
        let host = Self.hostHost
        let world = try hostileWorld()
        defer { try? fleet.removeFaultAccounts([host]) }
        try FaultCheck.run("fz0 links ~/.ssh/authorized_keys into `x<LF>sshd allowusers zz<LF>config 1<TAB>/root/.bashrc<TAB>AllowUsers zz;id>/tmp/pwn` (su fz0)",
                           expected: "doctor runs (no crash); no AllowUsers finding and no fix that edits /root/.bashrc") { check in
            try fleet.sh(host, """
                su -s /bin/sh fz0 -c 'cd /home/fz0 && d=$(printf "x\\nsshd allowusers zz\\nconfig 1\\t/root/.bashrc\\tAllowUsers zz;id>/tmp/pwn") && mkdir -p "$d" && cp .ssh/authorized_keys "$d/k" && ln -sf "/home/fz0/$d/k" .ssh/authorized_keys'
                """)
            let listed = try fleet.sh(host, "ls -b /home/fz0")
            check.require(listed.contains("\\n"), "the folder with a line break was not made: \(listed)")
            let doctor = try KeySyncBinary.run(["doctor", "--inventory", world.workspace.file("a.yml"), "--db", world.database,
                                                "--host", "h\(host)", "--json"])
            let forgedFinding = doctor.stdout.contains("AllowUsers (zz"), forgedFix = doctor.stdout.contains("' /root/.bashrc")
            check.observe("doctor exit \(doctor.status); forged AllowUsers finding \(forgedFinding), fix editing /root/.bashrc \(forgedFix)")
            check.require(![132, 133, 134, 139].contains(doctor.status), "doctor crashed: \(doctor)")
            check.require(!forgedFinding && !forgedFix, "a forged line reached doctor: \(doctor.stdout.prefix(2000))")
        }
    }

    /// A user starts a process named `sshd` with `-E /etc/shadow`: doctor
    /// must not take it for the host's sshd and send shadow lines back.
    @Test func aFakeSSHDProcessIsNotALogSource() throws {
        let host = Self.hostHost
        let world = try hostileWorld()
        defer { try? fleet.removeFaultAccounts([host]) }
        let hash = "$6$keysynctest$FAKEHASH\(UInt32.random(in: 0...UInt32.max))"
        try FaultCheck.run("fz0 runs its own process named sshd with `-E /etc/shadow` (su fz0); fz0 has a password hash",
                           expected: "doctor lists no /etc/shadow log source and sends no shadow line (the hash is in no output)") { check in
            try fleet.sh(host, "usermod -p \(Shell.quote(hash)) fz0")
            // A copy of sh named sshd in a folder of fz0's own, in its own
            // session. The test runner's pipes reach it as extra descriptors
            // (Foundation's Process does not close them): closed first, or
            // reading this command's output would wait for the fake to end.
            let pid = try fleet.sh(host, """
                python3 -c 'import os, sys; os.closerange(3, 65536); os.execvp(sys.argv[1], sys.argv[1:])' \\
                    su -s /bin/sh fz0 -c 'd=$(mktemp -d) && cp /bin/sh "$d/sshd" && exec setsid "$d/sshd" -c "sleep 60; true" -E /etc/shadow </dev/null >/dev/null 2>&1' &
                sleep 0.3
                pgrep -u fz0 -x sshd -n
                """).trimmingCharacters(in: .whitespacesAndNewlines)
            // setsid made it a process group: its sleep goes with it (userdel needs fz0 idle).
            defer { if let pid = Int32(pid) { _ = try? fleet.sh(host, "kill -- -\(pid); sleep 0.2") } }
            let running = try fleet.sh(host, "cat /proc/\(pid)/comm; stat -c %U /proc/\(pid)").split(separator: "\n")
            let doctor = try KeySyncBinary.run(["doctor", "--inventory", world.workspace.file("a.yml"), "--db", world.database,
                                                "--host", "h\(host)", "--json"])
            let stillRunning = try fleet.exec(host: host, ["kill", "-0", pid]).succeeded
            let output = doctor.stdout + doctor.stderr
            check.observe("fake sshd pid \(pid) (\(running.joined(separator: ", ")), running through the doctor run: \(stillRunning)); doctor exit \(doctor.status); /etc/shadow named as a log source \(output.contains("/etc/shadow")); hash in output \(output.contains("FAKEHASH"))")
            check.require(running == ["sshd", "fz0"] && stillRunning, "the fake sshd did not run as fz0 for the whole doctor run: \(running)")
            check.require(!output.contains("FAKEHASH") && !output.contains("/etc/shadow"), "shadow reached the controller")
        }
    }

    /// `push --fix-home` only removes group/other write: a home owned by
    /// another user is reported and left alone, and nothing is written
    /// through it (that user could swap `.ssh` for a link while the account
    /// writes; review s15 files #2: as root, for an alias of uid 0); a
    /// root-owned home keeps its owner.
    @Test func fixHomeNeverChowns() throws {
        let host = Self.hostHost
        let world = try hostileWorld()
        defer { try? fleet.removeFaultAccounts([host]) }
        try FaultCheck.run("fz0's home owned by another user (ops), mode 0777; push --fix-home of a changed key list",
                           expected: "home_unsafe drift naming the owner, nothing written, home left ops 0777; a root-owned 0777 home becomes root 0755") { check in
            try fleet.sh(host, "chown ops /home/fz0 && chmod 777 /home/fz0")
            let keysBefore = try fleet.read(host: host, "/home/fz0/.ssh/authorized_keys")
            let foreign = try world.keysync("push", inventory: "b.yml", ["--fix-home", "--json"])
            let drift = try world.report(foreign).hosts.first?.drift ?? []
            let written = try fleet.read(host: host, "/home/fz0/.ssh/authorized_keys") != keysBefore
            check.require(!written && drift.contains { $0.kind == .homeUnsafe && $0.detail.contains("nothing written") }, "written through a foreign home: \(drift)")
            let afterForeign = try fleet.sh(host, "stat -c '%U %a' /home/fz0").trimmingCharacters(in: .whitespacesAndNewlines)
            try fleet.sh(host, "chown root /home/fz0 && chmod 777 /home/fz0")
            let rooted = try world.keysync("push", inventory: "a.yml", ["--fix-home"])
            let afterRoot = try fleet.sh(host, "stat -c '%U %a' /home/fz0").trimmingCharacters(in: .whitespacesAndNewlines)
            check.observe("ops-owned: push exit \(foreign.status), drift \(drift.map(\.kind.rawValue).joined(separator: ",")), home \(afterForeign); root-owned: push exit \(rooted.status), home \(afterRoot)")
            check.require(drift.contains { $0.kind == .homeUnsafe && $0.detail.contains("never changes who owns") }, "drift: \(drift)")
            check.require(afterForeign == "ops 777", "a foreign home was changed")
            check.require(afterRoot == "root 755", "root's home: \(afterRoot)")
        }
    }

    /// A role account that resolves to uid 0 (an alias of root made with
    /// `useradd -o -u 0`) gets none of its keys: they would log in as root
    /// (review s15 files #9: its block went into /root/.ssh/authorized_keys).
    @Test func anAccountThatIsRootByUIDGetsNoKeys() throws {
        let host = Self.hostHost
        let world = try hostileWorld()
        defer { _ = try? fleet.sh(host, "sed -i '/^svc:/d' /etc/passwd /etc/shadow /etc/group; rm -rf /home/svc") }
        try FaultCheck.run("svc:x:0:0 (useradd -o -u 0) named by a role, check and push",
                           expected: "account_uid drift, root's authorized_keys unchanged, push exit 0 with the item not repaired") { check in
            try fleet.sh(host, "useradd -o -u 0 -g 0 -m -d /home/svc -s /bin/sh svc && usermod -p '*' svc && chmod 700 /home/svc")
            try world.writeInventory("svc.yml", .init(hosts: [host], keys: ["ka"], extraProjects: """
                  rootalias:
                    hosts: [h\(host)]
                    roles:
                      svc: { account: svc, keys: [kb] }
                """))
            let before = try fleet.sh(host, "sha256sum /root/.ssh/authorized_keys /home/svc/.ssh/authorized_keys 2>&1; true")
            let checked = try world.report(try world.keysync("check", inventory: "svc.yml", ["--json"]))
            let push = try world.keysync("push", inventory: "svc.yml", ["--json"])
            let after = try fleet.sh(host, "sha256sum /root/.ssh/authorized_keys /home/svc/.ssh/authorized_keys 2>&1; true")
            let kinds = checked.hosts.first?.drift.filter { $0.account == "svc" }.map(\.kind.rawValue) ?? []
            check.observe("check drift for svc: \(kinds); push exit \(push.status); root's and svc's files \(before == after ? "unchanged" : "CHANGED")")
            check.require(kinds == ["account_uid"], "check: \(kinds)")
            check.require(before == after, "a file of uid 0 changed:\n\(before)\n\(after)")
        }
    }

    /// The account gives its key folder a default ACL (review s15 files #6):
    /// the umask no longer decides the new file's mode, so the write sets
    /// 0600 itself, and the next push has nothing to do.
    @Test func aDefaultACLOnTheKeyFolderStillGetsA0600File() throws {
        let host = Self.hostHost
        let world = try hostileWorld()
        defer { try? fleet.removeFaultAccounts([host]) }
        try FaultCheck.run("fz0: setfacl -d -m u:ops:rw ~/.ssh, then a push that changes the key list",
                           expected: "the new file is 0600 (the ACL masked); a second push changes nothing") { check in
            try fleet.sh(host, "su -s /bin/sh fz0 -c 'setfacl -d -m u:ops:rw /home/fz0/.ssh'")
            let push = try world.keysync("push", inventory: "b.yml", ["--json"])
            let mode = try fleet.sh(host, "stat -c %a /home/fz0/.ssh/authorized_keys").trimmingCharacters(in: .whitespacesAndNewlines)
            let again = try world.report(try world.keysync("push", inventory: "b.yml", ["--json"])).hosts.first
            check.observe("push exit \(push.status); file mode \(mode); second push \(again?.status.rawValue ?? "?") \(again?.changes ?? [])")
            check.require(push.status == 0 && mode == "600", "mode \(mode) after \(push)")
            check.require(again?.status == .ok, "the second push: \(String(describing: again))")
        }
    }

    /// A compromised host answers the probe itself (its `sudo` replaced):
    /// with an endless reply, and with frames it made up. The controller
    /// stops reading at the reply's limit, fails that host alone, and a
    /// second host in the same run converges. (The fake answers without
    /// reading its input: a push keeps the probe's input open for the apply
    /// (docs/sync.md, "One shell for probe and apply"), so a fake that waited
    /// for EOF would only wait out its command_timeout.)
    @Test func aCompromisedHostsReplyIsBoundedAndNeverTrusted() throws {
        let host = Self.hostHost, healthy = 27
        try fleet.removeFaultAccounts([host, healthy])
        defer { try? fleet.removeFaultAccounts([host, healthy]) }
        let world = try FaultWorld(fleet)
        try world.writeInventory(.init(hosts: [host, healthy], keys: ["ka"]))
        let replies = [
            ("an endless reply (yes(1) after the marker, 1 GiB)", "printf 'KEYSYNC-PROBE 2\\n'; yes 'stat directory|700|0|0|4096|2|/' | head -c 1073741824"),
            ("frames without the controller's nonce and an overflowing length", "printf 'KEYSYNC-PROBE 2\\neuid 0\\nsetpriv yes\\n@account x fz0\\ncontent 9223372036854775807\\n@end x\\n'"),
        ]
        for (label, body) in replies {
            let fake = try fleet.replaceProgram(host: host, path: "/usr/bin/sudo", script: "#!/bin/sh\n\(body)\n")
            let started = Date()
            let push: CommandResult
            do {
                defer { fake.undo() }
                push = try world.keysync("push", ["--json"], timeout: 300)
            }
            let seconds = Date().timeIntervalSince(started)
            try FaultCheck.run("a compromised host answers the probe with \(label)",
                               expected: "that host fails (reply over its limit / malformed) within its command_timeout, nothing written; the other host converges (changed or already ok); exit 3") { check in
                let report = try world.report(push)
                let bad = report.hosts.first { $0.host == "h\(host)" }
                let good = report.hosts.first { $0.host == "h\(healthy)" }
                check.observe("exit \(push.status) in \(String(format: "%.1f", seconds)) s; h\(host) \(bad?.status.rawValue ?? "?") (\(bad?.error?.suffix(100) ?? "")); h\(healthy) \(good?.status.rawValue ?? "?")")
                check.require(push.status == 3 && bad?.status == .failed, "the compromised host did not fail: \(push.stdout.prefix(500))")
                check.require(good?.status == .changed || good?.status == .ok, "the healthy host did not converge")
            }
        }
    }
}
