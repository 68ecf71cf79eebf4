import Foundation
import Testing
@testable import KeySync

/// `--accept-new-host-keys` against real sshd (issue 15): a known host is
/// asked for its known key type first, another type is a mismatch that is
/// never appended, and a new host's key is appended, recorded in the
/// database and listed in the JSON. Hosts 20–23 of the fault suite.
extension FaultTests {
    /// sshd log lines that only appear once a client got past the key exchange.
    static let afterHandshake = ["Accepted", "Failed publickey", "Postponed", "Starting session", "User child", "userauth"]

    /// What `push --accept-new-host-keys --json` left: its result and report,
    /// the known_hosts text, the host-key rows (account '') and `host`'s
    /// sshd log from `logStart`, read once sshd has written its last lines.
    func acceptNewPush(_ world: FaultWorld, host: Int, knownHosts path: String, logStart: Int) throws
        -> (push: CommandResult, report: RunReport, knownHosts: String, hostKeyRows: [String], log: String) {
        let push = try world.keysync("push", ["--accept-new-host-keys", "--json"])
        let report = try world.report(push)
        let after = try String(contentsOfFile: path, encoding: .utf8)
        let rows = try world.query("SELECT host, fingerprint FROM host_keys WHERE account = ''")
        usleep(300_000) // let sshd write its last lines
        return (push, report, after, rows, try fleet.sshdLog(host: host, from: logStart))
    }

    /// A known_hosts in `world`'s workspace that knows `host` by `key` (`type
    /// base64`) only, and an inventory for `host` that uses it; its path and
    /// its text, to compare with after the run.
    func knownHosts(knowing host: Int, by key: String, in world: FaultWorld) throws -> (path: String, text: String) {
        try world.workspace.write("known_hosts", "\(fleet.hosts[host].address) \(key)\n")
        let known = world.workspace.file("known_hosts")
        try world.writeInventory(.init(hosts: [host], defaults: ["known_hosts": known]))
        return (known, try String(contentsOfFile: known, encoding: .utf8))
    }

    @Test func acceptNewAsksAHostKnownByItsECDSAKeyForThatTypeFirst() throws {
        let host = 20
        try fleet.removeFaultAccounts([host])
        let world = try FaultWorld(fleet)
        let ecdsa = try fleet.addHostKey(host: host, type: "ecdsa")
        defer { resetOrRecord(host) }
        let (known, before) = try knownHosts(knowing: host, by: ecdsa, in: world)
        let logStart = fleet.sshdLogSize(host: host)

        try FaultCheck.run("accept-new: known_hosts holds only the host's ECDSA key, the host also has an ed25519 key",
                           expected: "keysync asks for ecdsa-sha2-nistp256 first (sshd: kex host key algorithm ecdsa), the key matches, push converges, exit 0; nothing appended, accepted_host_keys empty, no host key row") { check in
            let (push, report, after, rows, log) = try acceptNewPush(world, host: host, knownHosts: known, logStart: logStart)
            // sshd -e ends its lines with CRLF (one Character in Swift): split on any newline.
            let chosen = log.split(whereSeparator: \.isNewline).filter { $0.contains("kex: host key algorithm:") }
                .map { ($0.components(separatedBy: "host key algorithm: ").last ?? "").replacingOccurrences(of: " [preauth]", with: "") }
            check.observe("exit \(push.status), h\(host) \(report.hosts.first?.status.rawValue ?? "missing"); sshd chose \(chosen.joined(separator: ", ")); known_hosts \(after == before ? "unchanged" : "CHANGED"); accepted_host_keys \(report.acceptedHostKeys.count); host key rows \(rows.count)")
            check.require(push.status == 0 && report.hosts.first?.status == .changed, "\(push)")
            check.require(!chosen.isEmpty && chosen.allSatisfy { $0.hasPrefix("ecdsa-sha2-nistp256") }, "host key algorithms chosen: \(chosen)")
            check.require(after == before, "known_hosts changed:\n\(after)")
            check.require(report.acceptedHostKeys.isEmpty, "accepted: \(report.acceptedHostKeys)")
            check.require(rows.isEmpty, "host key rows: \(rows)")
            // Strict checking (no flag) works the same way.
            let strict = try world.keysync("check")
            check.require(strict.status == 0, "check without --accept-new-host-keys: \(strict)")
        }
    }

    @Test func acceptNewRefusesAnotherKeyTypeForAHostKnownByOne() throws {
        let host = 21
        try fleet.removeFaultAccounts([host])
        let world = try FaultWorld(fleet)
        // An RSA key the host does not have (it only has ed25519): a rebuilt host, or not that host.
        let oldRSA = try world.workspace.generateKey("old_rsa_host_key", type: "rsa")
        let rsaLine = try String(contentsOfFile: oldRSA + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        let (known, before) = try knownHosts(knowing: host, by: rsaLine, in: world)
        let logStart = fleet.sshdLogSize(host: host)

        try FaultCheck.run("accept-new: known_hosts holds an RSA key the host no longer has; the host offers ed25519",
                           expected: "host_key_mismatch (known by ssh-rsa only); nothing sent after the key exchange, nothing appended, accepted_host_keys empty, no host key row; exit 3") { check in
            let (push, report, after, rows, log) = try acceptNewPush(world, host: host, knownHosts: known, logStart: logStart)
            let result = try world.hostResults(run: try #require(report.run))["h\(host)"]
            let leaked = Self.afterHandshake.filter { log.contains($0) }
            let created = try fleet.exec(host: host, ["getent", "passwd", "fz0"]).status == 0
            let error = result?.error?.replacingOccurrences(of: known, with: "known_hosts") ?? ""
            check.observe("\(result?.errorKind ?? "missing") (\"\(error.prefix(200))\"); exit \(push.status); known_hosts \(after == before ? "unchanged" : "CHANGED"); accepted_host_keys \(report.acceptedHostKeys.count); sshd: \(leaked.isEmpty ? "no auth/session lines" : "saw \(leaked)")")
            check.require(result?.errorKind == "host_key_mismatch", "error kind \(result?.errorKind ?? "missing")")
            check.require(result?.error?.contains("knows this host by ssh-rsa only") == true, "error: \(result?.error ?? "")")
            check.require(push.status == 3, "exit \(push.status)")
            check.require(after == before, "known_hosts changed:\n\(after)")
            check.require(report.acceptedHostKeys.isEmpty && rows.isEmpty, "accepted: \(report.acceptedHostKeys), rows \(rows)")
            check.require(log.contains("Connection from"), "the connection never reached h\(host): \(log)")
            check.require(leaked.isEmpty, "sshd saw \(leaked) after the key exchange:\n\(log)")
            check.require(!created, "fz0 was created on h\(host)")
        }
    }

    @Test func acceptNewAppendsAndRecordsTheKeyOfANewHost() throws {
        let fresh = 22, refusing = 23
        try fleet.removeFaultAccounts([fresh, refusing])
        let world = try FaultWorld(fleet)
        // known_hosts knows another host only; h23 logs in with a key its admin does not authorize.
        let other = try fleet.knownHostsLine(host: 0)
        try world.workspace.write("known_hosts", other + "\n")
        let known = world.workspace.file("known_hosts")
        try world.writeInventory(.init(hosts: [fresh, refusing], defaults: ["known_hosts": known],
                                       hostSettings: ["h\(refusing)": "identity: \(world.workspace.file("kc"))"]))
        // ssh-keygen -l reads the expected key from the fleet's own line, not through keysync.
        var expectedLines: [Int: String] = [:], expectedFingerprints: [Int: String] = [:]
        for host in [fresh, refusing] {
            expectedLines[host] = try fleet.knownHostsLine(host: host)
            try world.workspace.write("expected-\(host)", expectedLines[host]! + "\n")
            expectedFingerprints[host] = try TestFleet.fingerprints(ofKeysIn: world.workspace.file("expected-\(host)")).first
        }

        let push = try world.keysync("push", ["--accept-new-host-keys", "--json"])
        let report = try world.report(push)
        let run = try #require(report.run)
        let results = try world.hostResults(run: run)
        let lines = try String(contentsOfFile: known, encoding: .utf8).split(separator: "\n").map(String.init)
        let rows = try world.query("SELECT host, key_type, fingerprint, first_seen_run FROM host_keys WHERE account = '' ORDER BY host")

        let cases = [(fresh, "accept-new: a host not in known_hosts", "changed", "push converges"),
                     (refusing, "accept-new: a host not in known_hosts whose login then fails (key not authorized)", "auth_failed", "the host fails auth_failed")]
        for (host, fault, outcome, what) in cases {
            try FaultCheck.run(fault, expected: "its ed25519 key appended to known_hosts once, a host_keys row (account '') for the run, listed in accepted_host_keys; \(what); a second run accepts nothing") { check in
                let name = "h\(host)"
                let result = results[name]
                let seen = result?.errorKind ?? result?.status.rawValue ?? "missing"
                let accepted = report.acceptedHostKeys.filter { $0.host == name }
                let row = rows.filter { $0.hasPrefix(name + "\t") }
                check.observe("\(seen); known_hosts +\(lines.filter { $0 == expectedLines[host] }.count) line; accepted_host_keys \(accepted.map { "\($0.keyType) \($0.fingerprint)" }); host_keys row \(row.joined().replacingOccurrences(of: "\t", with: " "))")
                check.require(seen == outcome, "\(name): \(seen) \(result?.error ?? "")")
                check.require(lines.filter { $0 == expectedLines[host] }.count == 1, "known_hosts:\n\(lines.joined(separator: "\n"))")
                check.require(accepted.count == 1 && accepted.first?.fingerprint == expectedFingerprints[host]
                              && accepted.first?.keyType == "ssh-ed25519" && accepted.first?.knownHosts == known
                              && accepted.first?.address == fleet.hosts[host].address && accepted.first?.port == 22,
                              "accepted_host_keys: \(report.acceptedHostKeys)")
                check.require(row == ["\(name)\tssh-ed25519\t\(expectedFingerprints[host]!)\t\(run)"], "host_keys rows: \(rows)")
            }
        }

        try FaultCheck.run("accept-new: the same hosts again (keys now in known_hosts)",
                           expected: "nothing accepted or appended, rows unchanged; strict check of the new host exit 0") { check in
            let again = try world.report(try world.keysync("push", ["--accept-new-host-keys", "--json"]))
            let linesAgain = try String(contentsOfFile: known, encoding: .utf8).split(separator: "\n").map(String.init)
            let rowsAgain = try world.query("SELECT host, key_type, fingerprint, first_seen_run FROM host_keys WHERE account = '' ORDER BY host")
            let strict = try world.keysync("check", ["--host", "h\(fresh)"])
            check.observe("accepted_host_keys \(again.acceptedHostKeys.count); known_hosts \(linesAgain == lines ? "unchanged" : "CHANGED"); rows \(rowsAgain == rows ? "unchanged" : "CHANGED"); strict check exit \(strict.status)")
            check.require(again.acceptedHostKeys.isEmpty, "accepted again: \(again.acceptedHostKeys)")
            check.require(linesAgain == lines && lines.first == other && lines.count == 3, "known_hosts:\n\(linesAgain.joined(separator: "\n"))")
            check.require(rowsAgain == rows, "rows: \(rowsAgain)")
            check.require(strict.status == 0, "\(strict)")
        }
    }

    /// Rebuilds `host` (its sshd_config and host keys as `up` made them), recording a failure as an issue.
    func resetOrRecord(_ host: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        do { try fleet.reset(hosts: [host]) } catch {
            Issue.record("resetting h\(host) failed: \(error)", sourceLocation: sourceLocation)
        }
    }
}
