import Foundation
import Testing

/// `--log-level` on a real host, through the binary: each phase of the host's
/// run on stderr with its milliseconds, nothing added to stdout. Host 13.
@Suite struct PhaseLogTests {
    let fleet: TestFleet

    init() throws { fleet = try TestFleet.shared(minimumHosts: 14) }

    /// `(phase, outcome)` of each `h13 PHASE OUTCOME after N ms` line, in order.
    static func phases(_ stderr: String, host: String) -> [String] {
        stderr.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: "] \(host) ") else { return nil }
            let words = line[range.upperBound...].split(separator: " ")
            if words.count == 5, words[2] == "after", Int(words[3]) != nil, words[4] == "ms" { return "\(words[0]) \(words[1])" }
            if words.count == 2, words[1] == "started" { return "\(words[0]) started" }
            return "unexpected: \(line)"
        }
    }

    @Test func pushAndCheckLogEachPhaseWithItsMilliseconds() throws {
        try fleet.exec(host: 13, ["sh", "-c", "userdel -r usersample 2>/dev/null; groupdel usersample 2>/dev/null; true"])
        let workspace = try Workspace()
        try workspace.generateKey("kp-usersample")
        try workspace.write("inventory.yml", fleet.inventory(
            hosts: [13], projects: fleet.usersampleProject(hosts: [13], ["create: true", "keys: [kp-usersample]"])))
        let common = ["--inventory", workspace.file("inventory.yml"), "--db", workspace.file("keysync.db")]

        let push = try KeySyncProcess.run(["push"] + common + ["--log-level", "info"])
        #expect(push.status == 0, "\(push)")
        #expect(Self.phases(push.stderr, host: "h13") == ["connect ok", "auth ok", "probe ok", "apply ok"], "\(push.stderr)")
        #expect(push.stderr.contains("info keysync: host=h13 ms="), "\(push.stderr)")
        #expect(!push.stdout.contains("after"), "\(push.stdout)")

        let check = try KeySyncProcess.run(["check"] + common + ["--log-level", "debug"])
        #expect(check.status == 0, "\(check)")
        #expect(Self.phases(check.stderr, host: "h13")
            == ["connect started", "connect ok", "auth started", "auth ok", "probe started", "probe ok"], "\(check.stderr)")

        let quiet = try KeySyncProcess.run(["check"] + common)
        #expect(quiet.status == 0 && Self.phases(quiet.stderr, host: "h13").isEmpty, "\(quiet)")
    }
}
