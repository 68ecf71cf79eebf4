import Foundation
import Testing
import KeySync

/// Jump hosts (`jump:`) against real sshd hosts that only a bastion reaches:
/// copies of hosts 171–175 listen on port 2222 inside a network namespace
/// (``BastionNetwork``); host 170 is the bastion, inside it too and reached
/// by the controller on port 2200; host 174 is a second hop for a chain.
/// The suite runs its tests one after the other (they share those hosts).
@Suite(.serialized) struct JumpHostTests {
    let fleet: TestFleet
    static let bastion = 170, targets = [171, 172, 173], inner = 174, deep = 175
    static let bastionPort = 2200, privatePort = 2222

    init() throws { fleet = try TestFleet.shared(minimumHosts: 176) }

    /// The network, a workspace with a role key, and an inventory whose
    /// defaults jump through the bastion; `knownHosts` lines replace the right ones when given.
    struct World {
        let network: BastionNetwork
        let forwarder: Process
        let workspace: Workspace
        let logs: [Int: String]
        var common: [String] { ["--inventory", workspace.file("inventory.yml"), "--db", workspace.file("keysync.db")] }
    }

    func world(wrongBastionKey: Bool = false) throws -> World {
        try fleet.removeAccounts(on: [Self.bastion, Self.inner, Self.deep] + Self.targets)
        let network = try BastionNetwork(fleet: fleet)
        let forwarder = try network.startBastion(Self.bastion, port: Self.bastionPort)
        var logs: [Int: String] = [:]
        for index in Self.targets + [Self.inner, Self.deep] { logs[index] = try network.startHost(index, port: Self.privatePort) }
        let workspace = try Workspace()
        try workspace.generateKey("kp-usersample")
        let knownHosts = try [network.knownHostsLine(Self.bastion, port: Self.bastionPort, keyOf: wrongBastionKey ? Self.inner : nil)]
            + (Self.targets + [Self.inner, Self.deep]).map { try network.knownHostsLine($0, port: Self.privatePort) }
        try workspace.write("known_hosts", knownHosts.joined(separator: "\n") + "\n")
        let address = { (i: Int) in fleet.hosts[i].address }
        try workspace.write("inventory.yml", """
            \(fleet.inventoryDefaults(knownHosts: workspace.file("known_hosts"), extra: "  jump: bastion"))
            keys:
              kp-usersample: { file: kp-usersample.pub }
            hosts:
              bastion: { address: \(address(Self.bastion)), port: \(Self.bastionPort) }
            \(Self.targets.map { "  h\($0): { address: \(address($0)), port: \(Self.privatePort), groups: [private] }" }.joined(separator: "\n"))
              inner: { address: \(address(Self.inner)), port: \(Self.privatePort) }
              h\(Self.deep): { address: \(address(Self.deep)), port: \(Self.privatePort), jump: [bastion, inner], groups: [private] }
            projects:
              usersample:
                hosts: ["group:private"]
                roles:
                  deploy: { account: usersample, create: true, keys: [kp-usersample] }
            """)
        return World(network: network, forwarder: forwarder, workspace: workspace, logs: logs)
    }

    @Test("hosts only the bastion reaches are pushed and checked through it; a two-hop chain too; then ssh logs in through the bastion")
    func pushAndCheckThroughTheBastion() throws {
        let world = try world()
        defer { world.network.stop() }
        let names = Self.targets.map { "h\($0)" } + ["h\(Self.deep)"]

        // The controller cannot reach them itself (the same inventory without jump:).
        let inventory = try String(contentsOfFile: world.workspace.file("inventory.yml"), encoding: .utf8)
        try world.workspace.write("direct.yml", inventory.replacingOccurrences(of: "  jump: bastion", with: "")
            .replacingOccurrences(of: ", jump: [bastion, inner]", with: ""))
        let unreachable = try KeySyncProcess.run(["check", "--json", "--inventory", world.workspace.file("direct.yml"),
                                                  "--db", world.workspace.file("direct.db")])
        #expect(unreachable.status == 3, "\(unreachable)")
        #expect(try runHosts("status", unreachable) == Dictionary(uniqueKeysWithValues: names.map { ($0, "failed") }))
        #expect(unreachable.stdout.contains("host_unreachable") && unreachable.stdout.contains("Connection refused"), "\(unreachable.stdout)")

        try pushThenCheck(world, names)
        // Each target saw its connection come from inside the namespace (the bastion), none from the controller.
        for index in Self.targets + [Self.deep] {
            let log = try String(contentsOfFile: world.logs[index]!, encoding: .utf8)
            #expect(log.contains("Accepted publickey for \(fleet.user)"), "h\(index): \(log)")
        }

        // A real login as the role account through the bastion (OpenSSH, ProxyCommand ssh -W).
        let key = world.workspace.file("kp-usersample")
        let base = ["-F", "/dev/null", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
                    "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=\(world.workspace.file("known_hosts"))",
                    "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10"]
        let proxy = (["ssh"] + base + ["-i", fleet.keyPath(.ed25519), "-p", String(Self.bastionPort), "-W", "%h:%p",
                                        "\(fleet.user)@\(fleet.hosts[Self.bastion].address)"]).joined(separator: " ")
        let login = try TestFleet.run(["ssh"] + base + ["-i", key, "-o", "ProxyCommand=\(proxy)", "-p", String(Self.privatePort),
                                                        "usersample@\(fleet.hosts[171].address)", "id -un"], timeout: 60)
        #expect(login.succeeded && login.stdout == "usersample\n", "\(login)")
    }

    @Test("a wrong bastion host key fails every host behind it with jump_failed before anything is sent to them")
    func wrongBastionKeyFailsEveryTarget() throws {
        let world = try world(wrongBastionKey: true)
        defer { world.network.stop() }
        let push = try KeySyncProcess.run(["push", "--json"] + world.common)
        #expect(push.status == 3, "\(push)")
        let names = Self.targets.map { "h\($0)" } + ["h\(Self.deep)"]
        #expect(try runHosts("status", push) == Dictionary(uniqueKeysWithValues: names.map { ($0, "failed") }))
        let kinds = try errorKinds(world)
        #expect(kinds == Dictionary(uniqueKeysWithValues: names.map { ($0, "jump_failed") }), "\(push.stdout)")
        let bastion = "jump host failed: bastion (\(fleet.hosts[Self.bastion].address):\(Self.bastionPort))"
        #expect(try runHosts("error", push).values.allSatisfy { $0.contains(bastion) && $0.contains("HOST KEY CHANGED") }, "\(push.stdout)")
        // Nothing reached the hosts behind it: no connection in their logs.
        for index in Self.targets + [Self.deep] {
            let log = try String(contentsOfFile: world.logs[index]!, encoding: .utf8)
            #expect(!log.contains("Connection from"), "h\(index): \(log)")
        }
    }

    @Test("a dead bastion fails every host behind it with jump_failed, without waiting out a timeout each")
    func deadBastionAndDeadTarget() throws {
        let world = try world()
        defer { world.network.stop() }
        world.forwarder.terminate()
        world.forwarder.waitUntilExit()
        let dead = try KeySyncProcess.run(["check", "--json"] + world.common)
        #expect(dead.status == 3, "\(dead)")
        let names = Self.targets.map { "h\($0)" } + ["h\(Self.deep)"]
        #expect(try errorKinds(world) == Dictionary(uniqueKeysWithValues: names.map { ($0, "jump_failed") }), "\(dead.stdout)")
        #expect(try runHosts("error", dead).count == 4 && runHosts("error", dead).values.allSatisfy { $0.contains("jump host failed") && $0.contains("Connection refused") },
                "\(dead.stdout)")
    }

    @Test("a host behind a live bastion that does not answer fails alone, as host_unreachable")
    func deadTargetBehindALiveBastion() throws {
        let world = try world()
        defer { world.network.stop() }
        // h172's copy in the namespace is not started on another port: nothing listens there.
        let inventory = try String(contentsOfFile: world.workspace.file("inventory.yml"), encoding: .utf8)
        try world.workspace.write("inventory.yml", inventory.replacingOccurrences(
            of: "h172: { address: \(fleet.hosts[172].address), port: \(Self.privatePort)",
            with: "h172: { address: \(fleet.hosts[172].address), port: 2223"))
        let check = try KeySyncProcess.run(["check", "--json"] + world.common)
        #expect(check.status == 3, "\(check)")
        #expect(try runHosts("status", check) == ["h171": "drift", "h172": "failed", "h173": "drift", "h\(Self.deep)": "drift"], "\(check.stdout)")
        #expect(try errorKinds(world)["h172"] == "host_unreachable", "\(check.stdout)")
        #expect(check.stdout.contains("jump host bastion (\(fleet.hosts[Self.bastion].address):\(Self.bastionPort)) could not connect to it"), "\(check.stdout)")
    }

    @Test("decommission reaches a host that left the inventory through the jump hosts push went through (a two-hop chain)")
    func decommissionThroughTheRecordedChain() throws {
        let world = try world()
        defer { world.network.stop() }
        try pushThenCheck(world, Self.targets.map { "h\($0)" } + ["h\(Self.deep)"])
        let file = "/home/usersample/.ssh/authorized_keys"
        #expect(String(decoding: try fleet.read(host: Self.deep, file), as: UTF8.self).contains("keysync:begin project=usersample"))

        // h175 leaves the inventory, and its jump: [bastion, inner] with it.
        let inventory = try String(contentsOfFile: world.workspace.file("inventory.yml"), encoding: .utf8)
        let without = inventory.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("  h\(Self.deep):") }.joined(separator: "\n")
        #expect(without != inventory)
        try world.workspace.write("inventory.yml", without)
        let departed = try KeySyncProcess.run(["check", "--json"] + world.common)
        #expect(departed.status == 2 && departed.stdout.contains("host_departed"), "\(departed)")

        // --force: the block holds the account's only key (the lockout guard would keep it).
        let done = try KeySyncProcess.run(["decommission", "h\(Self.deep)", "--force", "--json"] + world.common)
        #expect(done.status == 0, "\(done)")
        let report = try JSONDecoder().decode(DecommissionReport.self, from: Data(done.stdout.utf8))
        #expect(report.decommissioned && report.status == .changed && report.address == fleet.hosts[Self.deep].address, "\(done.stdout)")
        #expect(!String(decoding: try fleet.read(host: Self.deep, file), as: UTF8.self).contains("keysync:begin"))
        // It came through the chain: the inner hop's copy forwarded it (the controller cannot reach the target).
        let deepLog = try String(contentsOfFile: world.logs[Self.deep]!, encoding: .utf8)
        #expect(deepLog.components(separatedBy: "Accepted publickey for \(fleet.user)").count - 1 == 3, "push, check, decommission: \(deepLog)")
        let recheck = try KeySyncProcess.run(["check", "--json"] + world.common)
        #expect(recheck.status == 0 && !recheck.stdout.contains("host_departed"), "\(recheck)")
    }

    /// A push changes every host in `names`, then a check finds them all ok.
    func pushThenCheck(_ world: World, _ names: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let push = try KeySyncProcess.run(["push", "--json"] + world.common)
        #expect(push.status == 0, "\(push)", sourceLocation: sourceLocation)
        #expect(try runHosts("status", push) == Dictionary(uniqueKeysWithValues: names.map { ($0, "changed") }), sourceLocation: sourceLocation)
        let check = try KeySyncProcess.run(["check", "--json"] + world.common)
        #expect(check.status == 0, "\(check)", sourceLocation: sourceLocation)
        #expect(try runHosts("status", check) == Dictionary(uniqueKeysWithValues: names.map { ($0, "ok") }), sourceLocation: sourceLocation)
    }

    /// `error_kind` of each host's latest result, from `keysync report --format json`.
    func errorKinds(_ world: World) throws -> [String: String] {
        let report = try KeySyncProcess.run(["report", "--format", "json", "--db", world.workspace.file("keysync.db")])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any], "\(report)")
        let hosts = try #require(document["hosts"] as? [[String: Any]], "\(report.stdout)")
        return Dictionary(uniqueKeysWithValues: hosts.compactMap { host in
            (host["error_kind"] as? String).map { (host["host"] as! String, $0) }
        })
    }
}
