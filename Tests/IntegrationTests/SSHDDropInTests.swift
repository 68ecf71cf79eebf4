import Foundation
import Testing
@testable import KeySync

/// `manage_sshd: true` on a real sshd (issue 19): keysync writes
/// /etc/ssh/sshd_config.d/50-keysync.conf, checks it with `sshd -t` and
/// `sshd -T`, reloads sshd and logs in again; failures roll back.
///
/// Hosts 192–195 belong to this suite; each test resets the ones it changes.
/// Test hosts are built with `PidFile none` and no `Include` (Scripts/testfleet);
/// a real Debian host has both (`Include /etc/ssh/sshd_config.d/*.conf` on top,
/// PidFile /run/sshd.pid), so ``debianLike(_:)`` gives them those two lines and
/// nothing else: the certificate settings come only from keysync's drop-in.
@Suite(.serialized) struct SSHDDropInTests {
    let fleet: TestFleet
    static let hosts = [192, 193, 194, 195]
    static let dropIn = "/etc/ssh/sshd_config.d/50-keysync.conf"

    init() throws { fleet = try TestFleet.shared(minimumHosts: 196) }

    /// What a Debian sshd_config has and test hosts lack: an Include of the
    /// drop-in folder (optional) and a PidFile (in the host's private /etc,
    /// as TESTING.md says); sshd reloaded so it writes the PidFile.
    func debianLike(_ host: Int, include: Bool = true, before: String = "") throws {
        let top = before + (include ? "Include /etc/ssh/sshd_config.d/*.conf\\n" : "")
        try fleet.sh(host, """
            sed -i 's|^PidFile none$|PidFile /etc/ssh/sshd-test.pid|' /etc/ssh/sshd_config
            { printf '\(top)'; cat /etc/ssh/sshd_config; } > /etc/ssh/sshd_config.new && mv /etc/ssh/sshd_config.new /etc/ssh/sshd_config
            rm -f /etc/ssh/sshd_config.d/*
            """)
        try fleet.reloadSSHD(host: host)
    }

    /// Resets `hosts`, makes them Debian-like (``debianLike(_:include:before:)``,
    /// `before` per host), runs `body`, and resets them again.
    func on(_ hosts: [Int], include: Bool = true, before: [Int: String] = [:], _ body: () throws -> Void) throws {
        try fleet.reset(hosts: hosts)
        defer { try? fleet.reset(hosts: hosts) }
        for host in hosts { try debianLike(host, include: include, before: before[host] ?? "") }
        try body()
    }

    func inventory(_ workspace: Workspace, hosts: [Int], revoked: [String] = []) throws {
        let sections = "certificate_authorities:\n  corp-ca: { file: ca.pub }\n"
            + (revoked.isEmpty ? "" : "revoked:\n" + revoked.map { "  - \($0)" }.joined(separator: "\n"))
        try workspace.write("inventory.yml", fleet.inventory(
            defaults: fleet.inventoryDefaults(extra: "  manage_sshd: true"), keys: ["kp-keep: { file: keep.pub }"],
            sections: sections, hosts: hosts,
            projects: fleet.usersampleProject("billing", hosts: hosts, account: "dropdeploy", [
                "create: true", "home: /home/dropdeploy", "shell: /bin/sh", "keys: [kp-keep]",
                "principals: [billing-deploy]", "trusted_cas: [corp-ca]",
            ])))
    }

    func keysync(_ workspace: Workspace, _ command: String, _ extra: [String] = []) throws -> CommandResult {
        try KeySyncBinary.run([command, "--inventory", workspace.file("inventory.yml"), "--db", workspace.file("keysync.db")] + extra)
    }

    /// The error kind recorded for `host` in the last run.
    func errorKind(_ workspace: Workspace, host: Int) throws -> String? {
        let store = try Store(path: workspace.file("keysync.db"))
        let run = try #require(try store.runs().first?.id)
        return try store.hostResults(runID: run).first { $0.host == "h\(host)" }?.errorKind
    }

    func dropIn(_ host: Int) throws -> String {
        try fleet.sh(host, "if [ -e \(Self.dropIn) ]; then stat -c '%U:%G %a' \(Self.dropIn); cat \(Self.dropIn); else echo absent; fi")
    }

    func workspace() throws -> Workspace {
        let workspace = try Workspace()
        for key in ["ca", "keep", "alice"] { try workspace.generateKey(key) }
        let signed = try TestFleet.run(["ssh-keygen", "-q", "-s", workspace.file("ca"), "-I", "alice@corp", "-n", "billing-deploy",
                                        "-z", "42", "-V", "-5m:+1h", workspace.file("alice.pub")])
        try #require(signed.succeeded, "\(signed)")
        return workspace
    }

    /// Replaces the host's sshd with one whose `sshd -t` refuses keysync's
    /// drop-in once it holds RevokedKeys. No real sshd rejects these three
    /// settings (they are valid since OpenSSH 5.6, in Match blocks too),
    /// so the refusal is simulated where it matters: keysync must believe
    /// `sshd -t`, put the old drop-in back and never reload. Everything
    /// else runs the real sshd (a copy in the host's private /tmp).
    func sshdRefusingDropIn(_ host: Int) throws -> InjectedFault {
        try fleet.sh(host, "mkdir -p /tmp/ks-real && cp /usr/sbin/sshd /tmp/ks-real/sshd")
        return try fleet.replaceProgram(host: host, path: "/usr/sbin/sshd", script: """
            #!/bin/sh
            case " $* " in
                *" -t "*)
                    if grep -qs RevokedKeys \(Self.dropIn); then
                        echo "\(Self.dropIn) line 4: Bad configuration option: RevokedKeys" >&2
                        echo "\(Self.dropIn): terminating, 1 bad configuration options" >&2
                        exit 255
                    fi ;;
            esac
            exec /tmp/ks-real/sshd "$@"
            """)
    }

    @Test func aCertificateLogsInThroughTheDropInAndIsRefusedOnceRevoked() throws {
        let host = 192
        try on([host]) {
            let workspace = try workspace()
            try inventory(workspace, hosts: [host])

            #expect(try keysync(workspace, "check", ["--json"]).stdout.contains("sshd_dropin_changed"))
            let push = try keysync(workspace, "push", ["--json"])
            #expect(push.status == 0, "\(push)")
            #expect(try runHosts("status", push) == ["h\(host)": "changed"])
            #expect(try dropIn(host) == """
                root:root 644
                # keysync: points sshd at the files under /etc/ssh/keysync (manage_sshd); edits are replaced
                TrustedUserCAKeys /etc/ssh/keysync/trusted_user_ca_keys
                AuthorizedPrincipalsFile /etc/ssh/keysync/principals/%u
                RevokedKeys /etc/ssh/keysync/revoked_keys.krl

                """)
            // The test never wrote a certificate setting: sshd's own view comes from the drop-in.
            #expect(try fleet.sh(host, "grep -ci 'TrustedUserCAKeys\\|RevokedKeys\\|AuthorizedPrincipalsFile' /etc/ssh/sshd_config || true") == "0\n")
            let check = try keysync(workspace, "check", ["--json"])
            #expect(check.status == 0, "\(check)")

            let alice = try fleet.login(host: host, user: "dropdeploy", key: workspace.file("alice"), command: "echo in")
            #expect(alice.succeeded && alice.stdout == "in\n", "\(alice)")

            // A hand edit of the drop-in is drift, and push puts it back (and reloads).
            try fleet.sh(host, "echo 'RevokedKeys none' > \(Self.dropIn)")
            let drifted = try keysync(workspace, "check", ["--json"])
            #expect(drifted.status == 2 && drifted.stdout.contains("sshd_dropin_changed"), "\(drifted)")
            #expect(try keysync(workspace, "push").status == 0)
            #expect(try keysync(workspace, "check").status == 0)

            // Serial 42 revoked: after a push sshd refuses the certificate.
            try inventory(workspace, hosts: [host], revoked: ["{ ca: corp-ca, serial: 42 }"])
            let revoke = try keysync(workspace, "push", ["--json"])
            #expect(revoke.status == 0, "\(revoke)")
            let offset = fleet.sshdLogSize(host: host)
            #expect(try !fleet.login(host: host, user: "dropdeploy", key: workspace.file("alice")).succeeded)
            #expect(try fleet.sshdLog(host: host, from: offset).contains("revoked by file /etc/ssh/keysync/revoked_keys.krl"))
            #expect(try fleet.login(host: host, user: "dropdeploy", key: workspace.file("keep")).succeeded)
        }
    }

    @Test func aDropInThatSshdRefusesIsRolledBackAndSshdIsNotReloaded() throws {
        let hosts = [192, 193]
        try on(hosts) {
            // h192 had a drop-in already (keysync puts it back); h193 had none (keysync removes its own).
            let previous = "# keysync: an older drop-in\nTrustedUserCAKeys /etc/ssh/keysync/trusted_user_ca_keys\n"
            try fleet.sh(192, "printf '%s' \(Shell.quote(previous)) > \(Self.dropIn)")
            let faults = try hosts.map { try sshdRefusingDropIn($0) }
            defer { for fault in faults { fault.undo() } }
            let pidFiles = try hosts.map { try fleet.sh($0, "stat -c %y /etc/ssh/sshd-test.pid") }
            let workspace = try workspace()
            try inventory(workspace, hosts: hosts)

            let push = try keysync(workspace, "push", ["--json"])
            #expect(push.status == 3, "\(push)")
            let errors = try runHosts("error", push)
            for host in hosts {
                #expect(errors["h\(host)"]?.contains("sshd -t refused the configuration with \(Self.dropIn)") == true, "\(errors)")
                #expect(errors["h\(host)"]?.contains("Bad configuration option: RevokedKeys") == true, "\(errors)")
                #expect(try errorKind(workspace, host: host) == "sshd_config_invalid")
            }
            #expect(try dropIn(192) == "root:root 644\n" + previous)
            #expect(try dropIn(193) == "absent\n")
            // Not reloaded: sshd did not write its PidFile again.
            #expect(try hosts.map { try fleet.sh($0, "stat -c %y /etc/ssh/sshd-test.pid") } == pidFiles)
            // The admin login keysync uses still works, through a new connection.
            for host in hosts {
                let admin = try fleet.ssh(host: host, command: "sudo -n true && echo ok")
                #expect(admin.succeeded && admin.stdout == "ok\n", "\(admin)")
            }
            // The files were written; the drop-in stays drift.
            let check = try keysync(workspace, "check", ["--json"])
            #expect(check.status == 2 && check.stdout.contains("sshd_dropin_changed") && !check.stdout.contains("krl_stale"), "\(check)")
        }
    }

    @Test func withoutAnIncludeOfTheFolderNothingIsWrittenAndTheFixIsNamed() throws {
        let host = 194
        try on([host], include: false) {
            let workspace = try workspace()
            try inventory(workspace, hosts: [host])

            let push = try keysync(workspace, "push", ["--json"])
            #expect(push.status == 3, "\(push)")
            let error = try #require(try runHosts("error", push)["h\(host)"])
            #expect(error.contains("add `Include /etc/ssh/sshd_config.d/*.conf` to /etc/ssh/sshd_config"), "\(error)")
            #expect(try errorKind(workspace, host: host) == "sshd_include_missing")
            // Nothing written on the host: no drop-in, no /etc/ssh/keysync, no account.
            #expect(try fleet.sh(host, "ls -A /etc/ssh/sshd_config.d; [ -e /etc/ssh/keysync ] && echo keysync; id dropdeploy 2>/dev/null; true") == "")
            let check = try keysync(workspace, "check", ["--json"])
            #expect(check.status == 2 && check.stdout.contains("has no Include of /etc/ssh/sshd_config.d"), "\(check)")
        }
    }

    @Test func aFailingCanaryKeepsEveryOtherHostsDropInUnchanged() throws {
        let hosts = [192, 193, 194]
        // h192, first in the inventory, sets TrustedUserCAKeys before its Include:
        // sshd keeps that first value, so keysync's drop-in would have no effect.
        try on(hosts, before: [192: "TrustedUserCAKeys /etc/ssh/other_ca_keys\\n"]) {
            let workspace = try workspace()
            try inventory(workspace, hosts: hosts)

            let push = try keysync(workspace, "push", ["--json", "--canary", "1"])
            #expect(push.status == 3, "\(push)")
            // h193 and h194 got their files in the first pass (changed), not the drop-in.
            #expect(try runHosts("status", push) == ["h192": "failed", "h193": "changed", "h194": "changed"])
            let error = try #require(try runHosts("error", push)["h192"])
            #expect(error.contains("trustedusercakeys is /etc/ssh/other_ca_keys"), "\(error)")
            #expect(try errorKind(workspace, host: 192) == "sshd_dropin_overridden")
            #expect(push.stdout.contains("not changed: the canary host h192 failed"), "\(push.stdout)")
            for host in hosts {
                #expect(try dropIn(host) == "absent\n")
                // The files under /etc/ssh/keysync were written everywhere (first pass).
                #expect(try fleet.sh(host, "ls /etc/ssh/keysync") == "principals\nrevoked_keys.krl\ntrusted_user_ca_keys\n")
            }

            // Fixed, the canary passes and the others follow.
            try fleet.sh(192, "sed -i '/^TrustedUserCAKeys/d' /etc/ssh/sshd_config")
            let again = try keysync(workspace, "push", ["--json", "--canary", "1"])
            #expect(again.status == 0, "\(again)")
            #expect(try runHosts("status", again) == ["h192": "changed", "h193": "changed", "h194": "changed"])
            for host in hosts {
                #expect(try dropIn(host).hasPrefix("root:root 644\n# keysync:"))
                #expect(try fleet.login(host: host, user: "dropdeploy", key: workspace.file("alice")).succeeded)
            }
        }
    }

    /// A real lockout: the inventory revokes the key keysync itself logs in
    /// with (the fleet admin's), and `--force` overrides the lockout guard
    /// that keeps that key out of the KRL. The KRL is only a file until the
    /// drop-in makes sshd read it; after the reload the fresh login is
    /// refused, so keysync removes its drop-in, reloads again, and the admin
    /// gets back in. Without `--force` the KRL spares the key: the drop-in
    /// goes in, the push fails with revocation_blocked, and the admin still logs in.
    @Test func aFreshLoginRefusedAfterTheReloadRollsTheDropInBack() throws {
        let host = 195
        try on([host]) {
            let workspace = try workspace()
            let admin = try TestFleet.run(["sh", "-c", "ssh-keygen -y -f \(Shell.quote(fleet.keyPath(.ed25519))) | ssh-keygen -lf - | cut -d' ' -f2"])
            let fingerprint = admin.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try #require(admin.succeeded && fingerprint.hasPrefix("SHA256:"), "\(admin)")
            try inventory(workspace, hosts: [host], revoked: [fingerprint])

            let push = try keysync(workspace, "push", ["--json", "--force"])
            #expect(push.status == 3, "\(push)")
            let error = try #require(try runHosts("error", push)["h\(host)"])
            #expect(error.contains("a fresh login after the reload (SIGHUP to sshd pid"), "\(error)")
            #expect(error.contains("rolled back: restore ok: removed \(Self.dropIn); reload ok"), "\(error)")
            #expect(try errorKind(workspace, host: host) == "sshd_reload_failed")
            #expect(try dropIn(host) == "absent\n")
            let login = try fleet.ssh(host: host, command: "sudo -n true && echo ok")
            #expect(login.succeeded && login.stdout == "ok\n", "\(login)")

            let guarded = try keysync(workspace, "push", ["--json"])
            #expect(guarded.status == 3, "\(guarded)")
            #expect(try runHosts("error", guarded)["h\(host)"]?.contains("kept out of /etc/ssh/keysync/revoked_keys.krl") == true, "\(guarded)")
            #expect(try errorKind(workspace, host: host) == "revocation_blocked")
            #expect(try dropIn(host).hasPrefix("root:root 644\n# keysync:"))
            let still = try fleet.ssh(host: host, command: "sudo -n true && echo ok")
            #expect(still.succeeded && still.stdout == "ok\n", "\(still)")
        }
    }
}
