import Foundation
import Testing
@testable import KeySync

/// `agent: true` against real sshd and a real ssh-agent (issue 15): the
/// lockout guard protects the agent key that logged in. Host 24 of the
/// fault suite.
extension FaultTests {
    @Test func agentLoginKeyIsProtectedByTheLockoutGuard() throws {
        let host = 24
        try fleet.removeFaultAccounts([host])
        let world = try FaultWorld(fleet)
        // fz0 gets ka and kb in its block (pushed as the fleet admin) and may use sudo.
        try world.writeInventory("setup.yml", .init(hosts: [host], keys: ["ka", "kb"]))
        let setup = try world.keysync("push", inventory: "setup.yml")
        try #require(setup.status == 0, "\(setup)")
        let sudo = try fleet.grantSudo(host: host, account: "fz0")
        defer { sudo.undo() }
        // The agent holds kc (authorized nowhere) first, then kb: only the second key can log in as fz0.
        let agent = try SSHAgentProcess(socket: world.workspace.file("agent.sock"),
                                        keys: [world.workspace.file("kc"), world.workspace.file("kb")])
        defer { agent.stop() }
        let kb = try #require(try TestFleet.fingerprints(ofKeysIn: world.workspace.file("kb.pub")).first)
        let kc = try #require(try TestFleet.fingerprints(ofKeysIn: world.workspace.file("kc.pub")).first)
        let kbBlob = try String(contentsOfFile: world.workspace.file("kb.pub"), encoding: .utf8).split(separator: " ")[1]
        // Logged in as fz0 through the agent, the inventory now drops kb from fz0.
        try world.writeInventory("agent.yml", .init(hosts: [host], keys: ["ka"], hostSettings: ["h\(host)": "user: fz0, agent: true"]))
        let file = "/home/fz0/.ssh/authorized_keys"
        let environment = ["SSH_AUTH_SOCK": agent.socket]

        try FaultCheck.run("agent: true, the agent's second key logs in; the inventory removes that key from the login account",
                           expected: "lockout_refused naming the agent key that authenticated (not the agent's first key), file unchanged, the agent login still works; with --force the key goes") { check in
            let agentKeys = try agent.fingerprints()
            check.require(agentKeys == [kc, kb], "agent lists \(agentKeys), expected kc then kb")
            let before = try fleet.read(host: host, file)
            let logStart = fleet.sshdLogSize(host: host)
            let push = try world.keysync("push", inventory: "agent.yml", ["--json"], environment: environment)
            let report = try world.report(push)
            let refused = report.hosts.first?.drift.filter { $0.kind == .lockoutRefused } ?? []
            let unchanged = try fleet.read(host: host, file) == before
            usleep(300_000)
            let log = try fleet.sshdLog(host: host, from: logStart)
            let accepted = log.split(whereSeparator: \.isNewline).filter { $0.contains("Accepted publickey for fz0") }
            let again = try world.keysync("check", inventory: "agent.yml", ["--json"], environment: environment)
            let againStatus = try world.report(again).hosts.first?.status
            check.observe("exit \(push.status); lockout_refused for \(refused.map { "\($0.account) \($0.fingerprint ?? "-")" }) (kb \(kb)); file \(unchanged ? "unchanged" : "CHANGED"); sshd: \(accepted.count) agent login(s) with kb; check afterwards \(againStatus?.rawValue ?? "missing")")
            check.require(!accepted.isEmpty && accepted.allSatisfy { $0.contains(kb) }, "sshd logins as fz0: \(accepted)")
            check.require(push.status == 0 && refused.count == 1 && refused.first?.account == "fz0" && refused.first?.fingerprint == kb,
                          "\(push)")
            check.require(unchanged, "\(file) changed")
            check.require(againStatus == .drift, "the agent login after the refusal: \(again)")

            let forced = try world.keysync("push", inventory: "agent.yml", ["--json", "--force"], environment: environment)
            let after = String(decoding: try fleet.read(host: host, file), as: UTF8.self)
            check.observe("--force: exit \(forced.status), kb \(after.contains(kbBlob) ? "still there" : "removed")")
            check.require(forced.status == 0 && !after.contains(kbBlob), "--force: \(forced)\n\(after)")
        }
    }
}
