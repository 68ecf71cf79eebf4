import Foundation
import Testing
@testable import KeySync

/// Issue 19 on a real sshd: keysync writes /etc/ssh/keysync/ (trusted CA
/// keys, principals, KRL); the host's sshd is pointed at them by the test
/// (no manage_sshd yet), and real logins with certificates and plain keys
/// prove what sshd makes of them.
@Suite(.serialized) struct CertificateTests {
    let fleet: TestFleet
    /// A host no other suite uses; it is rebuilt afterwards (its sshd_config is changed).
    static let host = 170

    init() throws { fleet = try TestFleet.shared(minimumHosts: 171) }

    func inventory(_ workspace: Workspace, keys: [String], revoked: [String]) throws {
        try workspace.write("inventory.yml", """
            \(fleet.inventoryDefaults())
            keys:
              kp-deploy: { file: deploy.pub }
              kp-keep: { file: keep.pub }
            certificate_authorities:
              corp-ca: { file: ca.pub }
            \(revoked.isEmpty ? "" : "revoked:\n" + revoked.map { "  - \($0)" }.joined(separator: "\n"))
            hosts:
            \(fleet.inventoryHosts([Self.host]))
            projects:
              billing:
                hosts: [h\(Self.host)]
                roles:
                  deploy:
                    account: certdeploy
                    create: true
                    home: /home/certdeploy
                    shell: /bin/sh
                    keys: [\(keys.joined(separator: ", "))]
                    principals: [billing-deploy]
                    trusted_cas: [corp-ca]
            """)
    }

    func keysync(_ workspace: Workspace, _ command: String, _ extra: [String] = []) throws -> CommandResult {
        try KeySyncBinary.run([command, "--inventory", workspace.file("inventory.yml"), "--db", workspace.file("keysync.db")] + extra)
    }

    func sign(_ workspace: Workspace, _ key: String, keyID: String, principal: String, serial: Int) throws {
        let result = try TestFleet.run(["ssh-keygen", "-q", "-s", workspace.file("ca"), "-I", keyID, "-n", principal,
                                        "-z", String(serial), "-V", "-5m:+1h", workspace.file(key + ".pub")])
        try #require(result.succeeded, "\(result)")
    }

    @Test func certificatesLogInThroughPrincipalsAndRevocationsLandInTheKRL() throws {
        let host = Self.host
        try fleet.reset(hosts: [host])
        defer { try? fleet.reset(hosts: [host]) }
        let workspace = try Workspace()
        for key in ["ca", "deploy", "keep", "alice", "bob"] { try workspace.generateKey(key) }
        try sign(workspace, "alice", keyID: "alice@corp", principal: "billing-deploy", serial: 42)
        try sign(workspace, "bob", keyID: "bob@corp", principal: "someone-else", serial: 43)

        // 1. Push writes the three kinds of files, root:root 0644, and says
        //    that sshd does not use them yet (drift sshd_config_missing; a push
        //    that wrote something exits 0 and lists what it cannot repair).
        try inventory(workspace, keys: ["kp-deploy", "kp-keep"], revoked: [])
        let push = try keysync(workspace, "push", ["--json"])
        #expect(push.status == 0, "\(push)")
        #expect(push.stdout.contains("sshd_config_missing"), "\(push.stdout)")
        #expect(push.stdout.contains("add to sshd_config: TrustedUserCAKeys /etc/ssh/keysync/trusted_user_ca_keys; AuthorizedPrincipalsFile /etc/ssh/keysync/principals/%u; RevokedKeys /etc/ssh/keysync/revoked_keys.krl"), "\(push.stdout)")
        let stats = try fleet.sh(host, "stat -c '%n %U:%G %a' /etc/ssh/keysync /etc/ssh/keysync/principals /etc/ssh/keysync/trusted_user_ca_keys /etc/ssh/keysync/principals/certdeploy /etc/ssh/keysync/revoked_keys.krl")
        #expect(stats == """
            /etc/ssh/keysync root:root 755
            /etc/ssh/keysync/principals root:root 755
            /etc/ssh/keysync/trusted_user_ca_keys root:root 644
            /etc/ssh/keysync/principals/certdeploy root:root 644
            /etc/ssh/keysync/revoked_keys.krl root:root 644

            """)
        let principals = try fleet.sh(host, "grep -v '^#' /etc/ssh/keysync/principals/certdeploy")
        #expect(principals == "billing-deploy\n")
        let ca = try workspace.publicKey("ca")
        let trusted = try fleet.sh(host, "grep -v '^#' /etc/ssh/keysync/trusted_user_ca_keys")
        #expect(trusted == "\(ca.type) \(ca.base64) corp-ca\n")
        let unused = try keysync(workspace, "check", ["--json"])
        #expect(unused.status == 2 && unused.stdout.contains("sshd_config_missing") && !unused.stdout.contains("krl_stale"), "\(unused)")

        // 2. The test points sshd at them (what manage_sshd will do) and reloads it.
        try fleet.pointSSHDAtKeysyncFiles(host: host)
        #expect(try keysync(workspace, "check").status == 0)

        // 3. A certificate with the role's principal logs in; one without it does not.
        let alice = try fleet.login(host: host, user: "certdeploy", key: workspace.file("alice"), command: "echo in")
        #expect(alice.succeeded && alice.stdout == "in\n", "\(alice)")
        #expect(try !fleet.login(host: host, user: "certdeploy", key: workspace.file("bob")).succeeded)
        #expect(try fleet.login(host: host, user: "certdeploy", key: workspace.file("deploy")).succeeded)

        // 4. A principals file changed by hand is drift, and push puts it back.
        try fleet.sh(host, "echo someone-else >> /etc/ssh/keysync/principals/certdeploy")
        let drifted = try keysync(workspace, "check", ["--json"])
        #expect(drifted.status == 2, "\(drifted)")
        #expect(drifted.stdout.contains("\"kind\":\"principals_changed\"") || drifted.stdout.contains("\"kind\" : \"principals_changed\""), "\(drifted.stdout)")
        let repair = try keysync(workspace, "push", ["--json"])
        #expect(repair.status == 0, "\(repair)")
        //    That run wrote a root file only: restore names it and points at push, writes nothing.
        let report = try #require(try JSONSerialization.jsonObject(with: Data(repair.stdout.utf8)) as? [String: Any])
        let run = try #require(report["run"] as? Int, "\(repair.stdout)")
        let restore = try keysync(workspace, "restore", ["--host", "h\(host)", "--run", String(run)])
        #expect(restore.status == 1 && restore.stderr.contains("wrote only root files on h\(host)"), "\(restore)")
        #expect(restore.stdout.contains("/etc/ssh/keysync/principals/certdeploy (root file): not restored"), "\(restore)")
        #expect(try fleet.sh(host, "grep -v '^#' /etc/ssh/keysync/principals/certdeploy") == "billing-deploy\n")
        #expect(try keysync(workspace, "check").status == 0)

        // 5. Revoking serial 42 and the plain key kp-deploy, then pushing:
        //    sshd refuses the certificate, and the plain key even when it is pasted back by hand.
        try inventory(workspace, keys: ["kp-keep"], revoked: ["{ ca: corp-ca, serial: 42 }", "kp-deploy"])
        let stale = try keysync(workspace, "check", ["--json"])
        #expect(stale.status == 2)
        #expect(stale.stdout.contains("krl_stale"), "\(stale.stdout)")
        let revoke = try keysync(workspace, "push")
        #expect(revoke.status == 0, "\(revoke)")
        #expect(try keysync(workspace, "check").status == 0)
        let offset = fleet.sshdLogSize(host: host)
        #expect(try !fleet.login(host: host, user: "certdeploy", key: workspace.file("alice")).succeeded)
        let deploy = try workspace.publicKey("deploy")
        try fleet.sh(host, "printf '%s\\n' \(Shell.quote(deploy.openSSHLine)) >> /home/certdeploy/.ssh/authorized_keys")
        #expect(try !fleet.login(host: host, user: "certdeploy", key: workspace.file("deploy")).succeeded)
        // Both refusals are the KRL's, as sshd logs them.
        let log = try fleet.sshdLog(host: host, from: offset)
        #expect(log.components(separatedBy: "revoked by file /etc/ssh/keysync/revoked_keys.krl").count - 1 >= 2, "\(log)")
        // The key that is still granted works.
        #expect(try fleet.login(host: host, user: "certdeploy", key: workspace.file("keep")).succeeded)
        // The file on the host is the KRL compiled from the inventory.
        let krl = try fleet.sh(host, "od -An -tx1 -v /etc/ssh/keysync/revoked_keys.krl | tr -d ' \\n'")
        let expected = RevocationList(inventory: try Inventory.load(path: workspace.file("inventory.yml"))).encoded()
        #expect(krl == expected.map { String(format: "%02x", $0) }.joined())

        // 6. The key keysync logs in with is revoked too: the lockout guard
        //    keeps it out of the KRL (sshd reads it on every login, so that
        //    KRL would lock keysync out of every host), the push fails with
        //    revocation_blocked, and keysync can still log in afterwards.
        let login = try KeyImporter.parsePublicKeyLine(String(contentsOfFile: fleet.keyPath(.ed25519) + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)).fingerprint
        try inventory(workspace, keys: ["kp-keep"], revoked: ["{ ca: corp-ca, serial: 42 }", "kp-deploy", login])
        let blocked = try keysync(workspace, "push", ["--json"])
        #expect(blocked.status == 3 && blocked.stdout.contains("revocation_blocked") && blocked.stdout.contains("kept out of"), "\(blocked)")
        #expect(try fleet.sh(host, "od -An -tx1 -v /etc/ssh/keysync/revoked_keys.krl | tr -d ' \\n'") == krl, "the KRL kept as it was")
        let after = try keysync(workspace, "check", ["--json"])
        #expect(after.status == 2 && after.stdout.contains("kept out of") && !after.stdout.contains("auth_failed"), "\(after)")
        // --force writes what the inventory says (and would lock keysync out): not done here.

        // 7. A KRL that is a symlink cannot take a new revocation: push fails
        //    the host (exit 3, revocation_blocked) instead of exiting 0 (review s13),
        //    and the link is left alone.
        try fleet.sh(host, "cp /etc/ssh/keysync/revoked_keys.krl /etc/ssh/old.krl && ln -sf /etc/ssh/old.krl /etc/ssh/keysync/revoked_keys.krl")
        try sign(workspace, "bob", keyID: "bob@corp", principal: "billing-deploy", serial: 44)
        try inventory(workspace, keys: ["kp-keep"], revoked: ["{ ca: corp-ca, serial: 42 }", "kp-deploy", "{ ca: corp-ca, serial: 44 }"])
        let linked = try keysync(workspace, "push", ["--json"])
        #expect(linked.status == 3 && linked.stdout.contains("revocation_blocked") && linked.stdout.contains("is a symlink"), "\(linked)")
        #expect(try fleet.sh(host, "readlink /etc/ssh/keysync/revoked_keys.krl") == "/etc/ssh/old.krl\n")

        // 8. The access review lists the certificate access (review s13): the principal on the host, with its CA.
        let review = try keysync(workspace, "review", ["--format", "csv"])
        #expect(review.status == 0 && review.stdout.contains(",principal:billing-deploy,,billing,deploy,certdeploy,h\(host),")
                && review.stdout.contains(",corp-ca\r\n"), "\(review)")
    }

    /// Removal is complete for certificates too (review of issue 17's
    /// removal paths): a principals file no role needs on the host, the CA
    /// file once `certificate_authorities:` is gone, and all of it on a
    /// decommissioned host are emptied — real sshd refuses the certificates.
    @Test func certificateTrustGoesWhenNoGrantNeedsIt() throws {
        let host = Self.host
        try fleet.reset(hosts: [host])
        defer { try? fleet.reset(hosts: [host]) }
        let workspace = try Workspace()
        for key in ["ca", "keep", "alice", "carol"] { try workspace.generateKey(key) }
        try sign(workspace, "alice", keyID: "alice@corp", principal: "billing-deploy", serial: 1)
        try sign(workspace, "carol", keyID: "carol@corp", principal: "shop-ops", serial: 2)
        func write(cas: Bool, shop: Bool, onHost: Bool = true) throws {
            func role(_ account: String, _ principal: String) -> String {
                """
                      \(account):
                        account: \(account)
                        create: true
                        home: /home/\(account)
                        shell: /bin/sh
                        keys: [kp-keep]
                \(cas ? "        principals: [\(principal)]\n        trusted_cas: [corp-ca]" : "")
                """
            }
            try workspace.write("inventory.yml", """
                \(fleet.inventoryDefaults())
                keys:
                  kp-keep: { file: keep.pub }
                \(cas ? "certificate_authorities:\n  corp-ca: { file: ca.pub }" : "")
                hosts:
                \(onHost ? fleet.inventoryHosts([host]) : "  {}")
                projects:
                \(onHost ? "  billing:\n    hosts: [h\(host)]\n    roles:\n" + role("certdeploy", "billing-deploy") : "  {}")
                \(shop ? "  shop:\n    hosts: [h\(host)]\n    roles:\n" + role("certops", "shop-ops") : "")
                """)
        }
        func certificateLogin(_ key: String, as user: String) throws -> Bool {
            try fleet.login(host: host, user: user, key: workspace.file(key), command: "true").succeeded
        }

        // Two projects trust the CA; sshd is pointed at keysync's files.
        try write(cas: true, shop: true)
        #expect(try keysync(workspace, "push").status == 0)
        try fleet.pointSSHDAtKeysyncFiles(host: host)
        #expect(try certificateLogin("alice", as: "certdeploy") && certificateLogin("carol", as: "certops"))

        // 1. The shop project leaves: its account's principals file is emptied (check says so first).
        try write(cas: true, shop: false)
        let stale = try keysync(workspace, "check", ["--json"])
        #expect(stale.status == 2 && stale.stdout.contains("principals/certops still grants what the inventory no longer does"), "\(stale)")
        #expect(try keysync(workspace, "push").status == 0)
        #expect(try fleet.sh(host, "grep -vc '^#' /etc/ssh/keysync/principals/certops || true") == "0\n")
        #expect(try !certificateLogin("carol", as: "certops"))
        #expect(try certificateLogin("alice", as: "certdeploy"))
        let clean = try keysync(workspace, "check", ["--json"])
        // (certops keeps its stale block: removing it would leave the account no key, the lockout guard.)
        #expect(clean.status == 2 && !clean.stdout.contains("principals_changed") && clean.stdout.contains("lockout_refused"), "\(clean.stdout)")

        // 2. No CA in the inventory any more: the CA file is emptied, no certificate logs in.
        try write(cas: false, shop: false)
        let push = try keysync(workspace, "push", ["--json"])
        #expect(push.status == 0 && push.stdout.contains("ca_file_changed"), "\(push)")
        #expect(try fleet.sh(host, "grep -vc '^#' /etc/ssh/keysync/trusted_user_ca_keys || true") == "0\n")
        #expect(try !certificateLogin("alice", as: "certdeploy"))
        #expect(try fleet.login(host: host, user: "certdeploy", key: workspace.file("keep")).succeeded)
        let noCAs = try keysync(workspace, "check", ["--json"])
        #expect(!noCAs.stdout.contains("ca_file_changed") && !noCAs.stdout.contains("principals_changed"), "\(noCAs.stdout)")

        // 3. The CA back, then the host decommissioned: its CA file and principals are emptied too.
        try write(cas: true, shop: false)
        #expect(try keysync(workspace, "push").status == 0)
        #expect(try certificateLogin("alice", as: "certdeploy"))
        try write(cas: true, shop: false, onHost: false)
        let gone = try keysync(workspace, "decommission", ["h\(host)", "--force", "--json"])
        #expect(gone.status == 0 && gone.stdout.contains("\"decommissioned\" : true"), "\(gone.stdout) \(gone.stderr)")
        #expect(try fleet.sh(host, "grep -vc '^#' /etc/ssh/keysync/trusted_user_ca_keys /etc/ssh/keysync/principals/certdeploy || true")
                == "/etc/ssh/keysync/trusted_user_ca_keys:0\n/etc/ssh/keysync/principals/certdeploy:0\n")
        #expect(try !certificateLogin("alice", as: "certdeploy"))
    }
}
