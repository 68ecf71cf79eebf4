import Foundation
import Testing
@testable import KeySync

/// `keysync doctor --try-login CERT` on a real sshd (issue 19): what doctor
/// says about a certificate matches what sshd does with it. Host 197 (the
/// RootOwnedKeysSshdTests range 196–199); its sshd_config is changed and
/// the host is rebuilt afterwards.
@Suite(.serialized) struct CertificateDoctorSshdTests {
    let fleet: TestFleet
    static let host = 197

    init() throws { fleet = try TestFleet.shared(minimumHosts: 200) }

    func keysync(_ workspace: Workspace, _ arguments: [String]) throws -> CommandResult {
        try KeySyncBinary.run(arguments + ["--inventory", workspace.file("inventory.yml"), "--db", workspace.file("keysync.db")])
    }

    /// The findings doctor reported for `account` (code, severity, message) from its `--json` output.
    func findings(_ result: CommandResult, account: String) throws -> [(code: String, severity: String, message: String)] {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result)")
        let host = try #require((json["hosts"] as? [[String: Any]])?.first, "\(result)")
        let entry = try #require((host["accounts"] as? [[String: Any]])?.first { $0["account"] as? String == account }, "\(result)")
        return (entry["findings"] as? [[String: Any]] ?? []).map {
            ($0["code"] as? String ?? "", $0["severity"] as? String ?? "", $0["message"] as? String ?? "")
        }
    }

    @Test func doctorExplainsACertificateAsSSHDTakesIt() throws {
        let host = Self.host
        try fleet.reset(hosts: [host])
        defer { try? fleet.reset(hosts: [host]) }
        let workspace = try Workspace()
        for key in ["ca", "deploy", "alice", "bob"] { try workspace.generateKey(key) }
        for (key, principal, serial) in [("alice", "billing-deploy", "42"), ("bob", "someone-else", "43")] {
            let signed = try TestFleet.run(["ssh-keygen", "-q", "-s", workspace.file("ca"), "-I", key + "@corp", "-n", principal,
                                            "-z", serial, "-V", "-5m:+1h", workspace.file(key + ".pub")])
            try #require(signed.succeeded, "\(signed)")
        }
        try workspace.write("inventory.yml", fleet.inventory(
            keys: ["kp-deploy: { file: deploy.pub }"], sections: "certificate_authorities:\n  corp-ca: { file: ca.pub }", hosts: [host],
            projects: fleet.usersampleProject("billing", hosts: [host], account: "certdoc", [
                "create: true", "home: /home/certdoc", "shell: /bin/sh", "keys: [kp-deploy]",
                "principals: [billing-deploy]", "trusted_cas: [corp-ca]",
            ])))
        let push = try keysync(workspace, ["push"])
        #expect(push.status == 0, "\(push)")
        try fleet.pointSSHDAtKeysyncFiles(host: host)

        // alice's certificate names the role's principal: doctor says it logs in, and it does.
        let good = try keysync(workspace, ["doctor", "--host", "h\(host)", "--try-login", workspace.file("alice-cert.pub"), "--json"])
        #expect(good.status == 0, "\(good)")
        let goodFindings = try findings(good, account: "certdoc")
        #expect(goodFindings.contains { $0.code == "certificate_ok" && $0.message.contains("would log in as certdoc") }, "\(goodFindings)")
        #expect(!goodFindings.contains { $0.severity == "error" }, "\(goodFindings)")
        let alice = try fleet.login(host: host, user: "certdoc", key: workspace.file("alice"), command: "echo in")
        #expect(alice.succeeded && alice.stdout == "in\n", "\(alice)")

        // bob's names another principal: doctor says why, and sshd refuses it.
        let wrong = try keysync(workspace, ["doctor", "--host", "h\(host)", "--try-login", workspace.file("bob-cert.pub"), "--json"])
        #expect(wrong.status == 2, "\(wrong)")
        let wrongFindings = try findings(wrong, account: "certdoc")
        let principal = try #require(wrongFindings.first { $0.code == "certificate_principal" }, "\(wrongFindings)")
        #expect(principal.severity == "error")
        #expect(principal.message.contains("names [\"someone-else\"], but certdoc accepts [\"billing-deploy\"]"), "\(principal.message)")
        #expect(!wrongFindings.contains { $0.code == "certificate_ok" })
        let offset = fleet.sshdLogSize(host: host)
        #expect(try !fleet.login(host: host, user: "certdoc", key: workspace.file("bob")).succeeded)
        let log = try fleet.sshdLog(host: host, from: offset)
        #expect(log.contains("someone-else") || log.contains("principal"), "\(log)")

        // What sshd checks of the certificate itself (review s13): an unknown critical
        // option, a source-address without the controller's address, a SHA-1 (ssh-rsa)
        // CA signature. Each: doctor says error, sshd refuses. force-command logs in (warning).
        for key in ["carol", "dave", "erin", "frank"] { try workspace.generateKey(key) }
        let cases: [(key: String, options: [String], code: String, refused: Bool)] = [
            ("carol", ["-O", "critical:no-such-option@example.com=x"], "certificate_options", true),
            ("dave", ["-O", "source-address=10.9.9.9/32"], "certificate_options", true),
            ("erin", ["-t", "ssh-rsa"], "certificate_signature", true),
            ("frank", ["-O", "force-command=echo forced"], "certificate_options", false),
        ]
        try workspace.generateKey("rsaca", type: "rsa")
        try workspace.write("inventory.yml", fleet.inventory(
            keys: ["kp-deploy: { file: deploy.pub }"], sections: "certificate_authorities:\n  corp-ca: { file: ca.pub }\n  rsa-ca: { file: rsaca.pub }", hosts: [host],
            projects: fleet.usersampleProject("billing", hosts: [host], account: "certdoc", [
                "create: true", "home: /home/certdoc", "shell: /bin/sh", "keys: [kp-deploy]",
                "principals: [billing-deploy]", "trusted_cas: [corp-ca, rsa-ca]",
            ])))
        #expect(try keysync(workspace, ["push"]).status == 0)
        for (key, options, code, refused) in cases {
            let ca = key == "erin" ? "rsaca" : "ca"
            let signed = try TestFleet.run(["ssh-keygen", "-q", "-s", workspace.file(ca), "-I", key + "@corp", "-n", "billing-deploy",
                                            "-V", "-5m:+1h"] + options + [workspace.file(key + ".pub")])
            try #require(signed.succeeded, "\(signed)")
            let doctor = try keysync(workspace, ["doctor", "--host", "h\(host)", "--try-login", workspace.file(key + "-cert.pub"), "--json"])
            let found = try findings(doctor, account: "certdoc")
            let finding = try #require(found.first { $0.code == code }, "\(key): \(found)")
            #expect(finding.severity == (refused ? "error" : "warning"), "\(key): \(finding)")
            #expect(doctor.status == (refused ? 2 : 0), "\(key): \(doctor)")
            let login = try fleet.login(host: host, user: "certdoc", key: workspace.file(key), command: "echo in")
            #expect(login.succeeded == !refused, "\(key): sshd \(login)")
        }

        // An sshd told to take SHA-1 CA signatures (CASignatureAlgorithms +ssh-rsa, first in the
        // file): doctor reads that line, and the ssh-rsa certificate logs in (review of the day's diff).
        try fleet.sh(host, "sed -i '1i CASignatureAlgorithms +ssh-rsa' /etc/ssh/sshd_config")
        try fleet.reloadSSHD(host: host)
        let allowed = try keysync(workspace, ["doctor", "--host", "h\(host)", "--try-login", workspace.file("erin-cert.pub"), "--json"])
        let allowedFindings = try findings(allowed, account: "certdoc")
        #expect(!allowedFindings.contains { $0.code == "certificate_signature" } && allowed.status == 0, "\(allowedFindings)")
        #expect(try fleet.login(host: host, user: "certdoc", key: workspace.file("erin"), command: "true").succeeded)
    }
}
