import Foundation
import Testing

/// IPv6: host 190's sshd also listens on `[::1]:22000+base` (loopback only);
/// an inventory host with `address: "::1"` and that port is pushed and
/// checked, its key found under `[::1]:PORT` in known_hosts.
@Suite struct IPv6Tests {
    let fleet: TestFleet
    static let host = 190

    init() throws { fleet = try TestFleet.shared(minimumHosts: 191) }

    @Test("a host at ::1 with its own port is pushed and checked; known_hosts has it as [::1]:port")
    func pushAndCheckOverIPv6Loopback() throws {
        try fleet.removeAccounts(on: [Self.host])
        let port = 22_000 + fleet.base
        let copies = try BastionNetwork(fleet: fleet)
        defer { copies.stop() }
        let log = try copies.startCopy(Self.host, listen: "[::1]:\(port)", logName: "ipv6", inNamespace: false)
        let workspace = try Workspace()
        try workspace.generateKey("kp-usersample")
        let line = try copies.knownHostsLine(Self.host, port: port, name: "::1")
        try workspace.write("known_hosts", line + "\n")
        try workspace.write("inventory.yml", """
            \(fleet.inventoryDefaults(knownHosts: workspace.file("known_hosts")))
            keys:
              kp-usersample: { file: kp-usersample.pub }
            hosts:
              v6: { address: "::1", port: \(port) }
            projects:
              usersample:
                hosts: [v6]
                roles:
                  deploy: { account: usersample, create: true, keys: [kp-usersample] }
            """)
        let common = ["--inventory", workspace.file("inventory.yml"), "--db", workspace.file("keysync.db")]
        let push = try KeySyncProcess.run(["push", "--json"] + common)
        #expect(push.status == 0 && push.stdout.contains("\"changed\""), "\(push)")
        let check = try KeySyncProcess.run(["check", "--json"] + common)
        #expect(check.status == 0, "\(check)")
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("Accepted publickey for \(fleet.user) from ::1"), "\(text)")

        // A wrong key under [::1]:port is refused with the bracketed name in the message.
        try workspace.write("known_hosts", "[::1]:\(port) ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOJ7VhfDTf72vO/4wVVnlPMeUxaGBXgq6vJwb1xYPQoi\n")
        let refused = try KeySyncProcess.run(["check", "--json"] + common)
        #expect(refused.status == 3 && refused.stdout.contains("v6 ([::1]:\(port))"), "\(refused)")
    }
}
