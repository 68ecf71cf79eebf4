import Foundation
import Testing
@testable import KeySync
@testable import KeySyncCLI

/// `offboard` before any host: who may be offboarded, the scan script, the
/// report and its exit codes, the command line.
@Suite struct OffboardRunTests {
    typealias F = InventoryFixtures

    static let inventoryText = """
        defaults: {user: ops}
        keys:
          kp-alice: {file: keys/alice.pub}
          kp-bob: {file: keys/bob.pub}
          kp-bob-old: {file: keys/carol.pub}
        people:
          alice: { keys: [kp-alice], email: alice@example.com }
          bob: { keys: [kp-bob, kp-bob-old], left: 2026-12-05 }
          nokeys: { left: 2026-12-01 }
        hosts:
          web-1: {address: 127.77.0.1}
          spare: {address: 127.77.0.2}
        projects:
          p:
            hosts: [web-1]
            roles:
              deploy: { people: [alice] }
        """

    func inventory() throws -> Inventory { try F.load(Self.inventoryText) }

    @Test func onlyAPersonWhoLeftWithKeysCanBeOffboarded() throws {
        let inventory = try inventory()
        #expect(throws: OffboardError.unknownPerson("bbo", hint: "; did you mean \"bob\"?")) {
            try OffboardRun(inventory: inventory, person: "bbo")
        }
        let now = try #require(InventoryDate.parse("2026-12-07T09:30Z"))
        let notLeft = #expect(throws: OffboardError.self) { try OffboardRun(inventory: inventory, person: "alice", now: now) }
        #expect(notLeft?.description == "\(F.path):7:3: error: person \"alice\" has not left: add `left: 2026-12-07` to their entry on line 7, then run offboard again (nothing was contacted)")
        #expect(throws: OffboardError.noKeys(person: "nokeys")) { try OffboardRun(inventory: inventory, person: "nokeys") }

        let run = try OffboardRun(inventory: inventory, person: "bob", force: true, parallel: 3)
        #expect(run.keys == [F.bobFingerprint: "kp-bob", F.carolFingerprint: "kp-bob-old"])
        #expect(run.settings.plan.revoked == [F.bobFingerprint, F.carolFingerprint])
        #expect(run.settings.plan.force && run.settings.parallel == 3)
        // Every host, in a project or not, and no account list: the scan reads them all.
        #expect(run.jobs.map(\.host) == ["web-1", "spare"])
        #expect(run.jobs.allSatisfy { $0.accounts.isEmpty && $0.projectScope == nil })
        #expect(run.command == "offboard")
        #expect(try OffboardRun(inventory: inventory, person: "bob", dryRun: true).command == "offboard-dry-run")
    }

    @Test func theScanScriptParsesAndHasNoValueOutsideQuotes() throws {
        let script = ProbeScript.renderScan(nonce: "0")
        try LocalShell.syntaxCheck(script)
        #expect(script.hasSuffix("scan_accounts\n" + ProbeScript.endLine))
        for line in script.split(separator: "\n") where line.contains("echo ") {
            #expect(!line.contains("echo \"") || line.contains("echo \"$?\""), "\(line)")
        }
    }

    /// The real scan, run locally (read-only): one section per existing keys
    /// file, root's included when it has one, each with its passwd entry.
    @Test(.enabled(if: getuid() == 0, "reads every account's files: needs root"))
    func realScanReplyParses() throws {
        let output = try LocalShell.run(ProbeScript.renderScan(nonce: "n0"), arguments: ["-s", "--", "127.0.0.1 40000 22"])
        #expect(output.status == 0, "\(output.stderr)")
        let probe = try HostProbe(reply: output.stdout, nonce: "n0", scan: true)
        #expect(probe.euid == 0)
        for section in probe.sections {
            let path = try #require(section.path)
            #expect(section.exists)
            #expect(FileManager.default.fileExists(atPath: path) || (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil)
        }
        let rootFile = ["/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys2"].filter { FileManager.default.fileExists(atPath: $0) }
        #expect(Set(probe.sections.filter { $0.account == "root" }.compactMap(\.path)).isSuperset(of: rootFile))
    }

    static func finding(_ account: String, _ line: Int, key: String = "kp-bob") -> KeyFinding {
        KeyFinding(account: account, path: "/home/\(account)/.ssh/authorized_keys", line: line, key: key,
                   fingerprint: F.bobFingerprint)
    }

    func report(dryRun: Bool = false, _ outcomes: [OffboardHostResult], interrupted: Bool = false) throws -> OffboardReport {
        let bob = try #require(try inventory().person(named: "bob"))
        return OffboardReport(run: 7, person: bob, keys: [.init(name: "kp-bob", type: "ssh-ed25519", fingerprint: F.bobFingerprint)],
                              dryRun: dryRun, results: outcomes, seconds: 1.23456, interrupted: interrupted)
    }

    static func host(_ name: String, _ status: HostStatus, error: String? = nil, found: [OffboardHostResult.Found] = [],
                     remaining: [OffboardHostResult.Remaining] = []) -> OffboardHostResult {
        var result = HostResult(host: name, status: status)
        result.error = error
        return OffboardHostResult(result: result, found: found, remaining: remaining)
    }

    @Test func exitCodes() throws {
        let removed = Self.host("a", .changed, found: [.init(finding: Self.finding("ops", 2), removed: true)])
        let stays = Self.host("b", .drift, found: [.init(finding: Self.finding("ops", 1), removed: false, reason: "refused: …")],
                              remaining: [.init(finding: Self.finding("ops", 1), reason: "refused: …")])
        let failed = Self.host("c", .failed, error: "c: unreachable")
        #expect(try report([removed, Self.host("d", .ok)]).exitCode == 0)
        #expect(try report([removed, stays]).exitCode == 2)
        #expect(try report([stays, failed]).exitCode == 3)
        #expect(try report([removed], interrupted: true).exitCode == 130)
        #expect(try report(dryRun: true, [stays]).exitCode == 2)
        // A departed host that was not scanned: nobody can say none remains there.
        var departed = try report([removed])
        departed.notScanned = ["old-1"]
        #expect(departed.exitCode == 2)
        #expect(departed.text().contains("old-1: NOT SCANNED: no longer under hosts: and not decommissioned (host_departed); `keysync decommission old-1`"))
    }

    @Test func textSaysWhereEachLineWasAndWhatBecameOfIt() throws {
        let text = try report([
            Self.host("web-1", .drift, found: [
                .init(finding: Self.finding("ops", 3), removed: true),
                .init(finding: { var f = Self.finding("app", 4); f.block = "project=p role=deploy"; return f }(), removed: true),
                .init(finding: Self.finding("root", 1), removed: false, reason: "/root/.ssh is a symlink; keysync never writes through a link"),
            ], remaining: [
                .init(finding: Self.finding("root", 1), reason: "/root/.ssh is a symlink; keysync never writes through a link"),
                .init(finding: Self.finding("late\u{1B}", 9), reason: "still there after the write"),
            ]),
            Self.host("spare", .ok),
            Self.host("db-1", .failed, error: "db-1 (127.77.0.3): connection refused"),
        ]).text()
        #expect(text == """
            offboard bob (left 2026-12-05): kp-bob \(F.bobFingerprint)
            web-1: removed kp-bob \(F.bobFingerprint) from ops: /home/ops/.ssh/authorized_keys line 3
            web-1: removed kp-bob \(F.bobFingerprint) from app: /home/app/.ssh/authorized_keys line 4 (block project=p role=deploy)
            web-1: NOT removed kp-bob \(F.bobFingerprint) from root: /home/root/.ssh/authorized_keys line 1: /root/.ssh is a symlink; keysync never writes through a link
            web-1: REMAINS kp-bob \(F.bobFingerprint) from late\\u{1B}: /home/late\\u{1B}/.ssh/authorized_keys line 9: still there after the write
            db-1: FAILED: db-1 (127.77.0.3): connection refused
            offboarded on 3 hosts in 1.2 s: 3 key lines found, 2 removed, 2 remaining, 1 failed (run 7)

            """)
        let dry = try report(dryRun: true, [Self.host("web-1", .drift, found: [.init(finding: Self.finding("ops", 3), removed: false, reason: "dry run")],
                                                      remaining: [.init(finding: Self.finding("ops", 3), reason: "dry run")])]).text()
        #expect(dry.contains("web-1: would remove kp-bob \(F.bobFingerprint) from ops: /home/ops/.ssh/authorized_keys line 3\n"))
        #expect(dry.hasSuffix("looked at 1 host in 1.2 s: 1 key line found, 0 removed (dry run), 1 remaining, 0 failed (run 7)\n"))
    }

    @Test func json() throws {
        let document = try report([
            Self.host("web-1", .changed, found: [.init(finding: Self.finding("ops", 3), removed: true)]),
            Self.host("db-1", .drift, found: [.init(finding: Self.finding("ops", 1), removed: false, reason: "refused: x")],
                      remaining: [.init(finding: Self.finding("ops", 1), reason: "refused: x")]),
        ])
        let text = try JSONOutput.string(document)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object.keys.sorted() == ["dry_run", "hosts", "interrupted", "keys", "left", "not_scanned", "person", "run", "summary"])
        #expect(object["person"] as? String == "bob")
        #expect(object["left"] as? String == "2026-12-05")
        let summary = try #require(object["summary"] as? [String: Any])
        #expect(summary["found"] as? Int == 2 && summary["removed"] as? Int == 1 && summary["remaining"] as? Int == 1)
        #expect(summary["hosts"] as? Int == 2 && summary["failed"] as? Int == 0 && summary["seconds"] as? Double == 1.235)
        let hosts = try #require(object["hosts"] as? [[String: Any]])
        #expect(hosts.map { $0["status"] as? String } == ["changed", "drift"])
        let found = try #require((hosts[0]["found"] as? [[String: Any]])?.first)
        #expect(found.keys.sorted() == ["account", "fingerprint", "key", "line", "path", "removed"])
        #expect(found["line"] as? Int == 3 && found["removed"] as? Bool == true)
        let remaining = try #require((hosts[1]["remaining"] as? [[String: Any]])?.first)
        #expect(remaining.keys.sorted() == ["account", "fingerprint", "key", "line", "path", "reason"])
        // Round trip.
        let decoded = try JSONDecoder().decode(OffboardReport.self, from: Data(text.utf8))
        #expect(decoded.summary.remaining == 1 && decoded.hosts[1].remaining.first?.reason == "refused: x")
    }

    @Test func commandLine() throws {
        let command = try parseCommand(KeySyncCommand.Offboard.self, ["offboard", "bob", "--dry-run", "--json", "--force",
                                                                      "--parallel", "8", "--inventory", "i.yml", "--db", "k.db"])
        #expect(command.person == "bob" && command.dryRun && command.output.json && command.force && command.parallelOption.parallel == 8)
        #expect(command.inventoryOption.inventory == "i.yml" && command.databaseOption.db == "k.db")
        #expect(throws: (any Error).self) { try KeySyncCommand.parseAsRoot(["offboard"]) }
        #expect(throws: (any Error).self) { try KeySyncCommand.parseAsRoot(["offboard", "bob", "--parallel", "0"]) }
        let history = try parseCommand(KeySyncCommand.History.self, ["history", "--command", "offboard", "--command", "offboard-dry-run"])
        #expect(history.command == ["offboard", "offboard-dry-run"])
    }
}
