import Foundation
import Testing

extension JumpHostTests {
    @Test("an ssh_config with Host patterns, HostName, Port and ProxyJump through the bastion is followed by push and check; validate lists what it does not follow")
    func sshConfigIsFollowed() throws {
        let world = try world()
        defer { world.network.stop() }
        let address = { (i: Int) in fleet.hosts[i].address }
        // The inventory names the hosts only; where they are and how to reach
        // them comes from ssh_config (the hosts are reachable only through the bastion).
        try world.workspace.write("ssh_config", """
            Host bastion
              HostName \(address(Self.bastion))
              Port \(Self.bastionPort)
            \(Self.targets.map { "Host web-\($0)\n  HostName \(address($0))" }.joined(separator: "\n"))
            Host web-* !bastion
              Port=\(Self.privatePort)
              ProxyJump bastion
              ProxyCommand nc %h %p
              ForwardAgent yes
            """)
        let inventory = try String(contentsOfFile: world.workspace.file("inventory.yml"), encoding: .utf8)
        let defaults = String(inventory[..<inventory.range(of: "keys:")!.lowerBound])
            .replacingOccurrences(of: "  jump: bastion", with: "  ssh_config: ssh_config")
        try world.workspace.write("inventory.yml", defaults + """
            keys:
              kp-usersample: { file: kp-usersample.pub }
            hosts:
              bastion: {}
            \(Self.targets.map { "  web-\($0): { groups: [private] }" }.joined(separator: "\n"))
            projects:
              usersample:
                hosts: ["group:private"]
                roles:
                  deploy: { account: usersample, create: true, keys: [kp-usersample] }
            """)
        let names = Self.targets.map { "web-\($0)" }

        let validate = try KeySyncProcess.run(["inventory", "validate", "--inventory", world.workspace.file("inventory.yml")])
        #expect(validate.status == 0, "\(validate)")
        let line = 2 * Self.targets.count + 8  // the ForwardAgent line
        #expect((validate.stderr + validate.stdout).components(separatedBy: "\(world.workspace.file("ssh_config")):\(line):1: warning: ssh_config: forwardagent").count == 2,
                "listed once: \(validate)")
        // ProxyCommand after ProxyJump never applies (one setting in ssh: the first wins): nothing said of it.
        #expect(!(validate.stderr + validate.stdout).contains("proxycommand") && !(validate.stderr + validate.stdout).contains("ProxyCommand"), "\(validate)")

        try pushThenCheck(world, names)
        // Each copy inside the namespace, reached only through the bastion, took the login.
        for index in Self.targets {
            let log = try String(contentsOfFile: world.logs[index]!, encoding: .utf8)
            #expect(log.contains("Accepted publickey for \(fleet.user)"), "web-\(index): \(log)")
        }
    }
}
