import Foundation
import Testing
@testable import KeySync

/// Reliability and security under faults (issue 10): hosts that are down,
/// hang or lie, broken sudo, full and read-only disks, a killed or
/// interrupted keysync, racing writers and symlink attacks, bad input, and
/// secrets. Each fault is injected on real sshd hosts (fleet hosts 20–29,
/// spare addresses 10–19; accounts `fz0`…`fz9`), keysync is run as the built
/// binary where the command line matters, and every fault writes one row of
/// the table `Scripts/faults` prints (see ``FaultCheck``).
///
/// Serialized: the tests share hosts 20–29 and tamper with them; each undoes
/// its faults (or resets the host) before it ends. Runs in other processes on
/// the same fleet wait for this one (``FaultHostsLock``).
@Suite(.serialized) struct FaultTests {
    let fleet: TestFleet

    init() throws {
        fleet = try TestFleet.shared(minimumHosts: 30)
        try FaultHostsLock.hold(fleet)
    }

    // MARK: - Unreachable and hanging hosts

    @Test func unreachableAndHangingHostsFailAloneWithinTheirTimeouts() throws {
        let good = 20, hanging = 21
        try fleet.removeFaultAccounts([good, hanging])
        let world = try FaultWorld(fleet)
        let silent = try TestListener(.silent, address: fleet.spareAddress(11))
        defer { silent.stop() }
        let banner = try TestListener(.bannerThenClose, address: fleet.spareAddress(12))
        defer { banner.stop() }
        try world.writeInventory(.init(
            hosts: [good, hanging],
            fakeHosts: [("closed", fleet.spareAddress(10)), ("silent", silent.address), ("halfshake", banner.address)],
            defaults: ["connect_timeout": "3", "command_timeout": "3"]))
        let hang = try fleet.hangGetent(host: hanging)
        defer { hang.undo() }

        let started = Date()
        let push = try world.keysync("push", ["--json"])
        let wall = Date().timeIntervalSince(started)
        let report = try world.report(push)
        let results = try world.hostResults(run: try #require(report.run))
        func row(_ host: String) -> (kind: String, seconds: Double, error: String) {
            let r = results[host]
            return (r?.errorKind ?? r?.status.rawValue ?? "missing", Double(r?.milliseconds ?? -1) / 1000, r?.error ?? "")
        }
        let runFacts = "run finished in \(String(format: "%.1f", wall)) s, exit \(push.status), healthy h\(good) \(results["h\(good)"]?.status.rawValue ?? "missing")"
        let runOK = push.status == 3 && results["h\(good)"]?.status == .changed && wall < 20

        let cases: [(fault: String, host: String, expected: String, kind: String, error: String, within: ClosedRange<Double>)] = [
            ("host down (port closed)", "closed", "host_unreachable (connection refused) at once", "host_unreachable", "refused", 0...2),
            ("accepts TCP, never answers", "silent", "host_unreachable (no handshake) after connect_timeout 3 s", "host_unreachable", "no SSH handshake within 3 s", 2.5...5.5),
            ("closes mid-handshake", "halfshake", "host_unreachable (handshake failed) at once", "host_unreachable", "handshake failed", 0...3),
            ("hangs mid-command (probe never returns)", "h\(hanging)", "command_timeout after command_timeout 3 s", "command_timeout", "did not finish within 3 s", 2.5...8),
        ]
        for c in cases {
            try FaultCheck.run(c.fault, expected: "\(c.expected); other hosts converge; the run finishes; exit 3") { check in
                let seen = row(c.host)
                check.observe("\(seen.kind) after \(String(format: "%.1f", seen.seconds)) s (\"\(seen.error.prefix(90))\")")
                check.observe(runFacts)
                check.require(seen.kind == c.kind, "error kind \(seen.kind), expected \(c.kind)")
                check.require(seen.error.contains(c.error), "error text lacks \"\(c.error)\": \(seen.error)")
                check.require(c.within.contains(seen.seconds), "took \(seen.seconds) s, expected \(c.within)")
                check.require(runOK, "run: exit \(push.status), wall \(wall) s, \(push)")
            }
        }
    }

    // MARK: - Host keys

    @Test func changedHostKeyIsRefusedAndNothingIsSentAfterTheHandshake() throws {
        let victim = 22, good = 23
        try fleet.removeFaultAccounts([victim, good])
        let world = try FaultWorld(fleet)
        let impostor = try world.workspace.generateKey("impostor_host_key")
        let fakeKey = try String(contentsOfFile: impostor + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        let address = fleet.hosts[victim].address
        let known = try String(contentsOfFile: fleet.knownHostsPath, encoding: .utf8)
            .split(separator: "\n").map { $0.hasPrefix(address + " ") ? "\(address) \(fakeKey)" : String($0) }
        try world.workspace.write("known_hosts", known.joined(separator: "\n") + "\n")
        try world.writeInventory(.init(hosts: [victim, good], defaults: ["known_hosts": world.workspace.file("known_hosts")]))
        let logStart = fleet.sshdLogSize(host: victim)

        try FaultCheck.run("host key changed since known_hosts",
                           expected: "host_key_mismatch; sshd log shows no auth or session after the handshake; other hosts converge; exit 3") { check in
            let push = try world.keysync("push", ["--json"])
            let results = try world.hostResults(run: try #require(try world.report(push).run))
            let kind = results["h\(victim)"]?.errorKind ?? "missing"
            usleep(300_000) // let sshd write its last lines
            let log = try fleet.sshdLog(host: victim, from: logStart)
            let forbidden = ["Accepted", "Failed publickey", "Postponed", "Starting session", "User child", "userauth"]
            let leaked = forbidden.filter { log.contains($0) }
            let account = try fleet.exec(host: victim, ["getent", "passwd", "fz0"]).status
            check.observe("\(kind); sshd log: \(log.contains("Connection from") ? "connection seen" : "no connection"), \(leaked.isEmpty ? "no auth/session lines" : "saw \(leaked)"); exit \(push.status); h\(good) \(results["h\(good)"]?.status.rawValue ?? "missing")")
            check.require(kind == "host_key_mismatch", "error kind \(kind)")
            check.require(results["h\(victim)"]?.error?.contains("HOST KEY CHANGED") == true, "error: \(results["h\(victim)"]?.error ?? "")")
            check.require(log.contains("Connection from"), "the connection never reached h\(victim): \(log)")
            check.require(leaked.isEmpty, "sshd saw \(leaked) after the handshake:\n\(log)")
            check.require(account != 0, "fz0 was created on h\(victim)")
            check.require(push.status == 3 && results["h\(good)"]?.status == .changed, "\(push)")
        }
    }

    // MARK: - sudo

    @Test func sudoThatAsksForAPasswordOrIsMissingChangesNothing() throws {
        let needsPassword = 24, missing = 25
        let hosts = [needsPassword, missing]
        let world = try FaultWorld.pushed(fleet, hosts: hosts)
        let before = try hosts.map { try fleet.authorizedKeysHashes(host: $0, accounts: ["fz0"]) }

        let password = try fleet.sudoNeedsPassword(host: needsPassword)
        let noSudo = try fleet.removeSudo(host: missing)
        let push = try world.keysync("push", inventory: "b.yml", ["--json"])
        password.undo()
        noSudo.undo()
        let results = try world.hostResults(run: try #require(try world.report(push).run))
        let after = try hosts.map { try fleet.authorizedKeysHashes(host: $0, accounts: ["fz0"]) }

        let cases = [(needsPassword, "sudo asks for a password (NOPASSWD removed)", "asks for a password"),
                     (missing, "sudo missing on the host", "not installed")]
        for (index, (host, fault, reason)) in cases.enumerated() {
            try FaultCheck.run(fault, expected: "sudo_failed naming the reason; file unchanged; exit 3") { check in
                let r = results["h\(host)"]
                check.observe("\(r?.errorKind ?? "missing") (\"\(r?.error?.prefix(100) ?? "")\"); file \(after[index] == before[index] ? "unchanged" : "CHANGED"); exit \(push.status)")
                check.require(r?.errorKind == "sudo_failed", "error kind \(r?.errorKind ?? "missing")")
                check.require(r?.error?.contains(reason) == true, "error text lacks \"\(reason)\"")
                check.require(after[index] == before[index], "file changed: \(before[index]) → \(after[index])")
                check.require(push.status == 3, "exit \(push.status)")
            }
        }
        // With sudo back, the hosts converge.
        let again = try world.keysync("push", inventory: "b.yml")
        #expect(again.status == 0, "\(again)")
    }

    // MARK: - Disks

    @Test func fullAndReadOnlyHomeFailTheWriteAndKeepTheOldFile() throws {
        let full = 26, readOnly = 27
        let hosts = [full, readOnly]
        let world = try FaultWorld.pushed(fleet, hosts: hosts, next: ["ka", "kb", "kc"])
        let file = "/home/fz0/.ssh/authorized_keys"
        let before = try hosts.map { try fleet.read(host: $0, file) }

        let fullFault = try fleet.fullHome(host: full)
        let roFault = try fleet.readOnlyHome(host: readOnly)
        let push = try world.keysync("push", inventory: "b.yml", ["--json"])
        let results = try world.hostResults(run: try #require(try world.report(push).run))
        let after = try hosts.map { try fleet.read(host: $0, file) }
        let temps = try hosts.map { try fleet.keysyncTempFiles(host: $0) }
        let login = try hosts.map { try fleet.login(host: $0, user: "fz0", key: world.workspace.file("ka")).status }
        fullFault.undo()
        roFault.undo()

        let cases = [(full, "disk full (/home a full 1 MiB tmpfs)", "No space left on device"),
                     (readOnly, "read-only home (/home remounted ro)", "Read-only file system")]
        for (index, (host, fault, reason)) in cases.enumerated() {
            try FaultCheck.run(fault, expected: "host fails (apply_failed) saying \"\(reason)\", old file byte-identical, no temp file, old keys still log in; exit 3") { check in
                let r = results["h\(host)"]
                check.require(r?.error?.contains(reason) == true, "the error does not say why: \(r?.error ?? "")")
                check.observe("\(r?.errorKind ?? "missing") (\"\(r?.error?.prefix(110) ?? "")\"); file \(after[index] == before[index] ? "byte-identical" : "CHANGED"); temp files \(temps[index].count); login with old key exit \(login[index]); exit \(push.status)")
                check.require(r?.status == .failed && r?.errorKind == "apply_failed", "status \(r?.status.rawValue ?? "missing") kind \(r?.errorKind ?? "")")
                check.require(after[index] == before[index], "file changed")
                check.require(temps[index].isEmpty, "temp files left: \(temps[index])")
                check.require(login[index] == 0, "login with the old key failed")
                check.require(push.status == 3, "exit \(push.status)")
            }
        }
        let again = try world.keysync("push", inventory: "b.yml")
        #expect(again.status == 0, "after the disks recover: \(again)")
    }

    // MARK: - A killed keysync

    @Test func sigkillAtRandomPointsNeverLeavesAMixedFile() throws {
        let hosts = Array(20...29)
        try fleet.removeFaultAccounts(hosts)
        let world = try FaultWorld(fleet)
        try world.writeInventory("a.yml", .init(hosts: hosts, accounts: 10, keys: ["ka"], defaults: ["parallel": "4"]))
        try world.writeInventory("b.yml", .init(hosts: hosts, accounts: 10, keys: ["ka", "kb"], defaults: ["parallel": "4"]))
        let accounts = TestFleet.faultAccounts
        var leftovers: [String] = [], kills = 0

        try FaultCheck.run("SIGKILL of keysync push at random points (10 hosts × 10 accounts = 100 files, 24 kills mid-run)",
                           expected: "every file old or new (never truncated or mixed); no temp file after the next push; integrity_check ok; killed runs closed as interrupted; next push converges") { check in
            let setup = try world.keysync("push", inventory: "a.yml")
            try #require(setup.status == 0, "\(setup)")
            let contentA = try fleet.authorizedKeysHashes(host: hosts[0])
            let started = Date()
            let toB = try world.keysync("push", inventory: "b.yml")
            let fullPush = Date().timeIntervalSince(started)
            try #require(toB.status == 0, "\(toB)")
            let contentB = try fleet.authorizedKeysHashes(host: hosts[0])
            for account in accounts {
                try #require(contentA[account] != nil && contentA[account] != contentB[account] && contentA[account]?.count == 64)
            }

            let probeTemps = "ls /tmp/tmp.* 2>/dev/null; true"
            let tempsBefore = try hosts.map { Set(try fleet.sh($0, probeTemps).split(separator: "\n")) }
            var midRun = 0, oldFiles = 0, newFiles = 0, bad: [String] = [], tempsSeen = 0, integrity: [String] = []
            var generator = SystemRandomNumberGenerator()
            var iteration = 0
            while midRun < 24 && iteration < 40 {
                defer { iteration += 1 }
                let target = iteration % 2 == 0 ? "a.yml" : "b.yml"
                let process = try RunningKeySync(["push", "--inventory", world.workspace.file(target), "--db", world.database],
                                                 outputPrefix: world.workspace.file("kill\(iteration)"))
                let delay = Double.random(in: 0.02...max(0.3, fullPush * 0.9), using: &generator)
                usleep(UInt32(delay * 1_000_000))
                if process.isRunning { midRun += 1 }
                process.send(SIGKILL)
                _ = try process.wait()
                for host in hosts {
                    let hashes = try fleet.authorizedKeysHashes(host: host)
                    for account in accounts {
                        switch hashes[account] {
                        case contentA[account]: oldFiles += 1
                        case contentB[account]: newFiles += 1
                        default: bad.append("kill \(iteration) after \(String(format: "%.2f", delay)) s: h\(host) \(account) is \(hashes[account] ?? "unreadable")")
                        }
                    }
                    tempsSeen += try fleet.keysyncTempFiles(host: host).count
                }
                let ok = try world.integrityCheck()
                if ok != "ok" { integrity.append("kill \(iteration): \(ok)") }
            }
            usleep(1_000_000) // remote scripts of the last killed run finish
            let next = try world.keysync("push", inventory: "b.yml")
            let converged = try hosts.allSatisfy { try fleet.authorizedKeysHashes(host: $0) == contentB }
            let tempsAfter = try hosts.flatMap { try fleet.keysyncTempFiles(host: $0) }
            let checkRun = try world.keysync("check", inventory: "b.yml")
            let finalIntegrity = try world.integrityCheck()
            let running = try world.query("SELECT id FROM runs WHERE status = 'running'")
            let interrupted = try world.query("SELECT COUNT(*) FROM runs WHERE status = 'interrupted'").first ?? "?"

            check.observe("\(midRun) of \(iteration) kills mid-run (full push \(String(format: "%.2f", fullPush)) s); files after kills: \(oldFiles) old, \(newFiles) new, \(bad.count) other")
            check.observe("temp files seen after kills \(tempsSeen), after next push \(tempsAfter.count); integrity_check ok \(iteration - integrity.count)/\(iteration), final \(finalIntegrity)")
            check.observe("runs left running \(running.count), interrupted \(interrupted); next push exit \(next.status), converged \(converged), check exit \(checkRun.status)")
            check.require(midRun >= 20, "only \(midRun) of \(iteration) kills landed while keysync ran")
            check.require(bad.isEmpty, "files neither old nor new: \(bad.prefix(5))")
            check.require(integrity.isEmpty && finalIntegrity == "ok", "integrity: \(integrity) final \(finalIntegrity)")
            check.require(tempsAfter.isEmpty, "temp files after the next push: \(tempsAfter)")
            check.require(next.status == 0 && converged, "next push: \(next)")
            check.require(checkRun.status == 0, "check after the next push: \(checkRun)")
            check.require(running.isEmpty, "killed runs still marked running: \(running)")

            // The probe's own temp copy of each file (root, 0600, in the host's /tmp).
            leftovers = try zip(hosts, tempsBefore).flatMap { host, before in
                try fleet.sh(host, probeTemps).split(separator: "\n").filter { !before.contains($0) }.map { "h\(host):\($0)" }
            }
            kills = iteration
        }
        for leftover in leftovers {
            let parts = leftover.split(separator: ":", maxSplits: 1)
            if let host = Int(parts[0].dropFirst()), parts.count == 2, parts[1].hasPrefix("/tmp/tmp.") {
                try fleet.sh(host, "rm -f -- '\(parts[1])'")
            }
        }
        // The probe streams the file with dd (nonce-framed), so it has no temp copy to leave behind.
        try FaultCheck.run("SIGKILL of keysync push: the probe's temp copies in the host's /tmp",
                           expected: "no copy of authorized_keys left in /tmp by a probe whose controller died") { probe in
            probe.observe("\(leftovers.count) root-owned 0600 copies of authorized_keys left in /tmp after \(kills) kills")
            probe.require(leftovers.isEmpty, "probe temp files left: \(leftovers.prefix(3))")
        }
    }

    // MARK: - SIGINT

    @Test func sigintLetsInFlightHostsFinishAndRecordsTheRunInterrupted() throws {
        let hosts = Array(20...29)
        let slow = [20, 21]
        try fleet.removeFaultAccounts(hosts)
        let world = try FaultWorld(fleet)
        try world.writeInventory("a.yml", .init(hosts: hosts, accounts: 10, keys: ["ka"], defaults: ["parallel": "2"]))
        try world.writeInventory("b.yml", .init(hosts: hosts, accounts: 10, keys: ["ka", "kb"], defaults: ["parallel": "2"]))

        try FaultCheck.run("SIGINT during a push (parallel 2, the two in-flight hosts slow)",
                           expected: "in-flight hosts finish their write, the rest are not started and untouched, run recorded interrupted, exit 130") { check in
            let setup = try world.keysync("push", inventory: "a.yml")
            try #require(setup.status == 0, "\(setup)")
            let contentA = try fleet.authorizedKeysHashes(host: hosts[0])
            let faults = try slow.map { try fleet.slowGetent(host: $0, seconds: 4) }
            defer { faults.forEach { $0.undo() } }
            let process = try RunningKeySync(["push", "--json", "--inventory", world.workspace.file("b.yml"), "--db", world.database],
                                             outputPrefix: world.workspace.file("sigint"))
            usleep(1_500_000)
            let interruptedAt = Date()
            process.send(SIGINT)
            let status = try process.wait(timeout: 60)
            let afterSignal = Date().timeIntervalSince(interruptedAt)
            let report = try JSONDecoder().decode(RunReport.self, from: Data(process.stdout.utf8))
            let byHost = Dictionary(uniqueKeysWithValues: report.hosts.map { ($0.host, $0) })
            let runStatus = try world.query("SELECT status FROM runs WHERE id = \(report.run ?? -1)").first ?? "missing"
            var fileStates: [String] = []
            var finished: [String] = [], skipped: [String] = []
            for host in hosts {
                let hashes = try fleet.authorizedKeysHashes(host: host)
                let state = hashes == contentA ? "old" : (hashes.values.allSatisfy { $0.count == 64 } && !hashes.values.contains { contentA.values.contains($0) } ? "new" : "mixed")
                fileStates.append("h\(host):\(state)")
                let entry = byHost["h\(host)"]
                if entry?.status == .changed { finished.append("h\(host)") }
                if entry?.error?.contains("not started (interrupted)") == true { skipped.append("h\(host)") }
                if slow.contains(host) {
                    let notNew = hashes.filter { contentA[$0.key] == $0.value || $0.value.count != 64 }.keys.sorted()
                    check.require(entry?.status == .changed && state == "new",
                                  "in-flight h\(host): \(entry?.status.rawValue ?? "missing"), files \(state) (not new: \(notNew)); changes \(entry?.changes ?? []); drift \(entry?.drift.map { "\($0.account) \($0.kind.rawValue)" } ?? [])")
                } else {
                    check.require(entry?.error?.contains("not started (interrupted)") == true && state == "old",
                                  "h\(host) should not have started: \(entry?.status.rawValue ?? "missing") \(entry?.error ?? ""), files \(state)")
                }
            }
            check.observe("exit \(status) \(String(format: "%.1f", afterSignal)) s after SIGINT; finished \(finished.joined(separator: ",")); not started \(skipped.count); run \(runStatus); JSON interrupted=\(report.interrupted)")
            check.require(status == 130, "exit \(status); stderr: \(process.stderr)")
            check.require(report.interrupted, "JSON not marked interrupted")
            check.require(runStatus == "interrupted", "run status \(runStatus)")
            // Hosts never started are not recorded (their last result stands) nor counted.
            let recorded = try world.query("SELECT host FROM host_results WHERE run_id = \(report.run ?? -1) ORDER BY host")
            check.require(recorded == finished.sorted(), "recorded \(recorded), finished \(finished)")
            check.require(report.summary.hosts == finished.count && report.summary.failed == 0, "summary \(report.summary)")
            let next = try world.keysync("push", inventory: "b.yml")
            check.require(next.status == 0, "the next push: \(next)")
        }
    }

    // MARK: - A second writer

    @Test func secondWriterBetweenProbeAndApplyIsAConflict() throws {
        let host = 28
        let world = try FaultWorld.pushed(fleet, hosts: [host])

        try FaultCheck.run("second writer edits the file between probe and apply",
                           expected: "conflict (compare-and-swap), the other writer's content kept byte for byte") { check in
            let inventory = try Inventory.load(path: world.workspace.file("b.yml"))
            let run = SyncRun(inventory: inventory, targets: try inventory.select(), settings: SyncEngine.Settings(mode: .push))
            let engine = SyncEngine(jobs: run.jobs, settings: run.settings)
            let file = "/home/fz0/.ssh/authorized_keys"
            let otherWriter = "# written by someone else\r\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4 other"
            let fleet = self.fleet
            let results = engine.run(run.jobs, snapshot: { _, _ in
                _ = try fleet.exec(host: host, ["sh", "-c", "cat > \(file)"], stdin: Data(otherWriter.utf8))
            })
            let content = try fleet.read(host: host, file)
            check.observe("\(results[0].status.rawValue) \(results[0].errorKind?.rawValue ?? "") (\"\(results[0].error?.prefix(100) ?? "")\"); file \(content == Array(otherWriter.utf8) ? "is the other writer's" : "CHANGED")")
            check.require(results[0].status == .failed && results[0].errorKind == .conflict, "\(results[0])")
            check.require(content == Array(otherWriter.utf8), "file: \(String(decoding: content, as: UTF8.self))")
        }
    }

    // MARK: - Symlink attacks

    @Test func symlinkedFileDirOrHomeIsNeverWrittenThrough() throws {
        let hosts = [20, 21, 22]
        let world = try FaultWorld.pushed(fleet, hosts: hosts)
        defer { try? fleet.removeFaultAccounts(hosts) }
        // Each attack points at root's own login keys.
        let attacks: [(host: Int, fault: String, script: String)] = [
            (20, "authorized_keys replaced by a symlink to /root/.ssh/authorized_keys",
             "rm /home/fz0/.ssh/authorized_keys && ln -s /root/.ssh/authorized_keys /home/fz0/.ssh/authorized_keys"),
            (21, ".ssh replaced by a symlink to /root/.ssh",
             "rm -rf /home/fz0/.ssh && ln -s /root/.ssh /home/fz0/.ssh"),
            (22, "home replaced by a symlink to /root",
             "mv /home/fz0 /home/fz0.real && ln -s /root /home/fz0"),
        ]
        var victims: [Int: String] = [:]
        for attack in attacks {
            try fleet.sh(attack.host, attack.script)
            victims[attack.host] = try fleet.victimState(host: attack.host, ["/root/.ssh", "/root"])
        }
        let check = try world.keysync("check", inventory: "b.yml", ["--json"])
        let push = try world.keysync("push", inventory: "b.yml", ["--json"])
        let pushFix = try world.keysync("push", inventory: "b.yml", ["--json", "--fix-home", "--force"])
        let reports = try [check, push, pushFix].map { try world.report($0) }
        for attack in attacks {
            try FaultCheck.run("symlink attack: \(attack.fault)",
                               expected: "reported (symlink / home_unsafe), root's files untouched by check, push and push --fix-home --force") { check in
                let unchanged = try fleet.victimState(host: attack.host, ["/root/.ssh", "/root"]) == victims[attack.host]
                let kinds = reports.map { report in
                    Set(report.hosts.first { $0.host == "h\(attack.host)" }?.drift.map(\.kind.rawValue) ?? [])
                }
                let statuses = reports.map { $0.hosts.first { $0.host == "h\(attack.host)" }?.status.rawValue ?? "missing" }
                check.observe("check/push/push --fix-home --force: \(statuses.joined(separator: "/")), drift \(kinds.map { $0.sorted().joined(separator: ",") }.joined(separator: " / ")); /root \(unchanged ? "unchanged" : "CHANGED")")
                check.require(unchanged, "files under /root changed on h\(attack.host)")
                for (index, set) in kinds.enumerated() {
                    check.require(set.contains("symlink") || set.contains("home_unsafe") || statuses[index] == "failed",
                                  "run \(index) did not report the symlink: \(set) \(statuses[index])")
                }
            }
        }
    }

    @Test func symlinkSwapRaceDuringApplyNeverWritesOutsideTheAccount() throws {
        let host = 23
        try fleet.removeFaultAccounts([host])
        let world = try FaultWorld(fleet)
        try world.writeInventory("a.yml", .init(hosts: [host], accounts: 2, keys: ["ka"]))
        try world.writeInventory("b.yml", .init(hosts: [host], accounts: 2, keys: ["ka", "kb"]))
        let first = try world.keysync("push", inventory: "a.yml")
        #expect(first.status == 0, "\(first)")
        defer { try? fleet.removeFaultAccounts([host]) }
        let victim = try fleet.victimState(host: host, ["/root/.ssh", "/root"])
        let pushes = 12

        try FaultCheck.run("race: the account swaps authorized_keys (fz0) and .ssh (fz1) for symlinks to /root/.ssh in a loop during \(pushes) pushes",
                           expected: "nothing under /root is ever written; every push ends (written, conflict or symlink drift)") { check in
            // Two loops run as the accounts themselves (as an attacker would), for at most 300 s.
            try fleet.sh(host, """
                rm -f /tmp/ks-race-stop
                cat > /tmp/ks-race-file <<'EOF'
                cd /home/fz0/.ssh && cp authorized_keys ../ks-real || exit 1
                end=$(( $(date +%s) + 300 ))
                while [ ! -e /tmp/ks-race-stop ] && [ "$(date +%s)" -lt "$end" ]; do
                    ln -sfn /root/.ssh/authorized_keys .ks-link && mv -fT .ks-link authorized_keys
                    cp ../ks-real .ks-file && mv -fT .ks-file authorized_keys
                done
                EOF
                cat > /tmp/ks-race-dir <<'EOF'
                cd /home/fz1 || exit 1
                end=$(( $(date +%s) + 300 ))
                while [ ! -e /tmp/ks-race-stop ] && [ "$(date +%s)" -lt "$end" ]; do
                    mv -T .ssh .ssh-real 2>/dev/null && ln -s /root/.ssh .ssh
                    rm -f .ssh 2>/dev/null
                    if [ -d .ssh-real ]; then rm -rf .ssh; mv -T .ssh-real .ssh; fi
                done
                EOF
                chmod 644 /tmp/ks-race-file /tmp/ks-race-dir
                # Detached, with no inherited descriptor (a pipe of the test's would keep this exec waiting).
                spawn='import subprocess, sys; print(subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True).pid)'
                python3 -c "$spawn" setpriv --reuid=fz0 --regid=fz0 --clear-groups sh /tmp/ks-race-file > /tmp/ks-race-file.pid
                python3 -c "$spawn" setpriv --reuid=fz1 --regid=fz1 --clear-groups sh /tmp/ks-race-dir > /tmp/ks-race-dir.pid
                sleep 0.5
                kill -0 "$(cat /tmp/ks-race-file.pid)" && kill -0 "$(cat /tmp/ks-race-dir.pid)"
                """, timeout: 20)
            // Per account and push: written, or the drift/failure that stopped the write.
            var outcomes: [String: Int] = [:]
            let started = Date()
            for i in 0..<pushes {
                let result = try world.keysync("push", inventory: i % 2 == 0 ? "b.yml" : "a.yml", ["--json"])
                guard let host = try world.report(result).hosts.first else { continue }
                for account in ["fz0", "fz1"] {
                    let kinds = Set(host.drift.filter { $0.account == account }.map(\.kind.rawValue))
                    let failed = host.status == .failed && host.error?.contains("\(account): ") == true
                    let written = !failed && !kinds.isDisjoint(with: ["missing_key", "unexpected_key"])
                    let label = kinds.contains("conflict") ? "conflict" : kinds.contains("symlink") ? "symlink drift"
                        : failed ? "write failed" : written ? "written" : "unchanged"
                    outcomes["\(account) \(label)", default: 0] += 1
                }
            }
            let seconds = Date().timeIntervalSince(started)
            // Stop the loops (they also stop by themselves) and wait for them.
            try fleet.sh(host, """
                touch /tmp/ks-race-stop
                for f in /tmp/ks-race-file.pid /tmp/ks-race-dir.pid; do
                    p=$(cat "$f"); i=0
                    while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
                done
                rm -f /tmp/ks-race-stop /tmp/ks-race-file /tmp/ks-race-dir /tmp/ks-race-file.pid /tmp/ks-race-dir.pid
                """)
            let unchanged = try fleet.victimState(host: host, ["/root/.ssh", "/root"]) == victim
            check.observe("\(pushes) pushes in \(String(format: "%.0f", seconds)) s: \(outcomes.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")); /root \(unchanged ? "unchanged" : "CHANGED")")
            check.require(unchanged, "files under /root changed")
            check.require(outcomes.keys.contains { !$0.hasSuffix("written") && !$0.hasSuffix("unchanged") }, "the race never showed: \(outcomes)")
        }
    }

    // MARK: - Lockout guard

    @Test func lockoutGuardRefusesWithoutForce() throws {
        let host = 29
        try fleet.removeFaultAccounts([host])
        let world = try FaultWorld(fleet)
        try world.writeInventory("a.yml", .init(hosts: [host], keys: ["ka"]))
        try world.writeInventory("empty.yml", .init(hosts: [host], keys: []))
        try world.writeInventory("admin.yml", .init(hosts: [host], keys: ["ka"], extraProjects: """
              admin:
                hosts: [h\(host)]
                roles:
                  ops: { account: \(fleet.user), exclusive: true, keys: [kc] }
            """))
        #expect(try world.keysync("push", inventory: "a.yml").status == 0)
        let adminFile = "/home/\(fleet.user)/.ssh/authorized_keys"
        let cases = [("admin.yml", adminFile, "removes keysync's own login key (exclusive admin account, other key)"),
                     ("empty.yml", "/home/fz0/.ssh/authorized_keys", "leaves an account that had keys with none")]
        for (inventory, file, what) in cases {
            try FaultCheck.run("lockout guard: inventory \(what)",
                               expected: "lockout_refused drift, file unchanged without --force (see also SyncEngineTests.lockoutGuardProtectsTheAdminKey)") { check in
                let before = try fleet.read(host: host, file)
                // The dry run says what the push will do: nothing written, not a change.
                let dry = try world.report(try world.keysync("push", inventory: inventory, ["--dry-run", "--json"]))
                check.observe("dry run: \(dry.hosts.first?.status.rawValue ?? "-"), \(dry.summary.changed) would change")
                check.require(dry.hosts.first?.status == .drift && dry.summary.changed == 0, "the dry run promised a change the guard refuses: \(dry.hosts)")
                let push = try world.keysync("push", inventory: inventory, ["--json"])
                let drift = try world.report(push).hosts.first?.drift.map(\.kind.rawValue) ?? []
                let unchanged = try fleet.read(host: host, file) == before
                let login = try fleet.login(host: host, user: fleet.user, key: fleet.keyPath(.ed25519)).status
                check.observe("exit \(push.status), drift \(drift.sorted().joined(separator: ",")); file \(unchanged ? "unchanged" : "CHANGED"); admin login exit \(login)")
                check.require(drift.contains("lockout_refused"), "no lockout_refused: \(push)")
                check.require(try world.report(push).hosts.first?.status == .drift, "the refused push is not drift: \(push)")
                check.require(unchanged, "\(file) changed")
                check.require(login == 0, "the admin can no longer log in")
            }
        }
    }

    // MARK: - Bad input

    @Test func badInputIsRefusedWithALocatedMessageAndTouchesNothing() throws {
        let host = 29
        let world = try FaultWorld.pushed(fleet, hosts: [host])
        let ws = world.workspace
        let good = try String(contentsOfFile: ws.file("b.yml"), encoding: .utf8)

        // Variants of the good inventory `b.yml`, each broken in one way.
        try ws.write("malformed.yml", good.replacingOccurrences(of: "hosts: [h\(host)]", with: "hosts: [h\(host)"))
        try ws.write("unknown-field.yml", good.replacingOccurrences(of: "address: \(fleet.hosts[host].address)", with: "address: \(fleet.hosts[host].address), colour: red"))
        try ws.write("undefined-key.yml", good.replacingOccurrences(of: "keys: [ka, kb]", with: "keys: [ka, kz]"))
        try ws.write("no-identity.yml", good.replacingOccurrences(of: fleet.keyPath(.ed25519), with: ws.file("missing_id_ed25519")))
        try ws.write("no-known-hosts.yml", good.replacingOccurrences(of: fleet.knownHostsPath, with: ws.file("missing_known_hosts")))
        let encrypted = ws.file("encrypted_id")
        try FileManager.default.copyItem(atPath: fleet.keyPath(.ed25519), toPath: encrypted)
        let reencrypt = try TestFleet.run(["ssh-keygen", "-q", "-p", "-P", "", "-N", "correct horse battery", "-f", encrypted])
        #expect(reencrypt.succeeded, "\(reencrypt)")
        try ws.write("encrypted.yml", good.replacingOccurrences(of: fleet.keyPath(.ed25519), with: encrypted))
        // Keys: truncated base64, and a binary file (an executable) given as a key.
        try ws.write("truncated-key.yml", good.replacingOccurrences(of: "  kc: { file: kc.pub }", with: "  kc: { public: \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\" }"))
        try ws.write("binary-key.yml", good.replacingOccurrences(of: "  kc: { file: kc.pub }", with: "  kc: { file: /usr/bin/true }"))
        // Shell metacharacters where a name or an address goes: rejected before any script is built.
        try ws.write("meta-account.yml", good.replacingOccurrences(of: "account: fz0,", with: "account: \"fz0; touch /tmp/ks-pwned\","))
        try ws.write("meta-host.yml", good.replacingOccurrences(of: "  h\(host): {", with: "  \"h\(host);touch /tmp/ks-pwned\": {")
            .replacingOccurrences(of: "hosts: [h\(host)]", with: "hosts: [\"h\(host);touch /tmp/ks-pwned\"]"))
        try ws.write("meta-address.yml", good.replacingOccurrences(of: "address: \(fleet.hosts[host].address)", with: "address: \"\(fleet.hosts[host].address) -oProxyCommand=touch /tmp/ks-pwned\""))
        // About 50 MB: 950 000 hosts, and one mistake on the very last line.
        let bigLines = 950_000
        let big = try TestFleet.run(["python3", "-c", """
            import sys
            good, n = open(sys.argv[1]).read(), int(sys.argv[3])
            head, tail = good.split("hosts:\\n", 1)
            with open(sys.argv[2], "w") as f:
                f.write(head + "hosts:\\n")
                for i in range(n):
                    f.write("  bulk%07d: { address: 10.%d.%d.%d, groups: [bulk] }\\n" % (i, i >> 16 & 255, i >> 8 & 255, i & 255))
                f.write("  bulk-last: { address: 10.255.255.255, colour: red }\\n")
                f.write(tail)
            """, ws.file("b.yml"), ws.file("big.yml"), String(bigLines)])
        #expect(big.succeeded, "\(big)")
        let bigSize = ((try? FileManager.default.attributesOfItem(atPath: ws.file("big.yml")))?[.size] as? Int) ?? 0
        // A database from a newer keysync: one more migration than this build knows.
        let newer = ws.file("newer.db")
        try FileManager.default.copyItem(atPath: world.database, toPath: newer)
        let mark = try TestFleet.run(["python3", "-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1]); c.execute("INSERT INTO grdb_migrations VALUES ('v999')"); c.commit()
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()
            """, newer])
        #expect(mark.succeeded, "\(mark)")

        struct Case {
            var fault: String
            var arguments: [String]
            var message: String
            /// A database whose content (every row of every table) must not
            /// change, or a path that must not appear. (Bytes may: GRDB opens a
            /// WAL database with a create-and-drop of a scratch table.)
            var untouched: String? = nil
            var absent: String? = nil
        }
        func databaseDump(_ path: String) throws -> String {
            try TestFleet.run(["python3", "-c", "import sqlite3, sys; print('\\n'.join(sqlite3.connect(sys.argv[1]).iterdump()))", path]).stdout
        }
        func push(_ inventory: String, db: String? = nil, _ extra: [String] = []) -> [String] {
            ["push", "--inventory", ws.file(inventory), "--db", db ?? world.database] + extra
        }
        let cases: [Case] = [
            Case(fault: "malformed YAML", arguments: push("malformed.yml"), message: #"malformed\.yml:\d+:\d+: error: invalid YAML"#),
            Case(fault: "unknown field on a host", arguments: push("unknown-field.yml"), message: #"unknown-field\.yml:\d+:\d+: error: .*colour"#),
            Case(fault: "undefined key reference", arguments: push("undefined-key.yml"), message: #"undefined-key\.yml:\d+:\d+: error: .*"kz""#),
            Case(fault: "unknown project", arguments: push("b.yml", ["--project", "nope"]), message: #"unknown project "nope""#),
            Case(fault: "unknown host", arguments: push("b.yml", ["--host", "nope"]), message: #"unknown host "nope""#),
            Case(fault: "unknown group", arguments: push("b.yml", ["--group", "nope"]), message: #"unknown group "nope""#),
            Case(fault: "missing identity file", arguments: push("no-identity.yml"), message: #"missing_id_ed25519.*no such file"#),
            Case(fault: "encrypted identity, no passphrase, no terminal", arguments: push("encrypted.yml"), message: #"encrypted_id.*KEYSYNC_PASSPHRASE"#),
            Case(fault: "missing known_hosts file", arguments: push("no-known-hosts.yml"), message: #"missing_known_hosts"#),
            // Found only once the run starts: a database the run would have created is not left behind.
            Case(fault: "missing identity file, no database yet", arguments: push("no-identity.yml", db: ws.file("new-1.db")),
                 message: #"missing_id_ed25519.*no such file"#, absent: ws.file("new-1.db")),
            Case(fault: "missing known_hosts file, no database yet", arguments: push("no-known-hosts.yml", db: ws.file("new-2.db")),
                 message: #"missing_known_hosts"#, absent: ws.file("new-2.db")),
            // doctor and restore check the same inputs before contacting a host (no run, no database created).
            Case(fault: "doctor, missing identity file", arguments: ["doctor", "--inventory", ws.file("no-identity.yml"), "--db", world.database],
                 message: #"missing_id_ed25519.*no such file"#),
            Case(fault: "doctor --fix, missing identity file, no database yet",
                 arguments: ["doctor", "--fix", "--inventory", ws.file("no-identity.yml"), "--db", ws.file("new-3.db")],
                 message: #"missing_id_ed25519.*no such file"#, absent: ws.file("new-3.db")),
            Case(fault: "doctor --fix, --try-login file missing, no database yet",
                 arguments: ["doctor", "--fix", "--try-login", ws.file("no-such-key"), "--inventory", ws.file("b.yml"), "--db", ws.file("new-4.db")],
                 message: #"--try-login .*no-such-key: no such file"#, absent: ws.file("new-4.db")),
            Case(fault: "truncated key", arguments: push("truncated-key.yml"), message: #"truncated-key\.yml:\d+:\d+: error: key "kc": invalid key"#),
            Case(fault: "binary file given as a key", arguments: push("binary-key.yml"), message: #"binary-key\.yml:\d+:\d+: error: key "kc": invalid key: /usr/bin/true"#),
            Case(fault: "shell metacharacters in an account name", arguments: push("meta-account.yml"), message: #"meta-account\.yml:\d+:\d+: error: .*not a valid Unix name"#),
            Case(fault: "shell metacharacters in a host name", arguments: push("meta-host.yml"), message: #"meta-host\.yml:\d+:\d+: error: host name"#),
            Case(fault: "shell metacharacters in an address", arguments: push("meta-address.yml"), message: #"meta-address\.yml:\d+:\d+: error: .*not a valid"#),
            Case(fault: "a \(bigSize >> 20) MB inventory (\(bigLines) hosts), mistake on the last line", arguments: push("big.yml"),
                 message: #"big\.yml:\d{6,}:\d+: error: host "bulk-last": unknown field "colour""#),
            Case(fault: "--parallel 0", arguments: push("b.yml", ["--parallel", "0"]), message: #"--parallel must be between 1 and 4096"#),
            Case(fault: "--parallel not a number", arguments: push("b.yml", ["--parallel", "many"]), message: #"parallel"#),
            Case(fault: "database written by a newer keysync", arguments: push("b.yml", db: newer), message: #"newer\.db: this database was written by a newer keysync"#, untouched: newer),
            Case(fault: "database path in a missing folder", arguments: push("b.yml", db: ws.file("no/such/folder/keysync.db")), message: #"no/such/folder/keysync\.db: cannot open"#, absent: ws.file("no")),
        ]
        for c in cases {
            defer {
                #expect(!FileManager.default.fileExists(atPath: "/tmp/ks-pwned"))
                #expect((try? fleet.exec(host: host, ["test", "-e", "/tmp/ks-pwned"]).status) == 1)
            }
            try FaultCheck.run("bad input: \(c.fault)", expected: "exit 1, a clear located message on stderr, nothing touched (host file, runs)") { check in
                let before = try fleet.authorizedKeysHashes(host: host, accounts: ["fz0"])
                let runs = try world.query("SELECT COUNT(*) FROM runs")
                let dump = try c.untouched.map { try databaseDump($0) }
                let result = try KeySyncBinary.run(c.arguments)
                if let path = c.untouched {
                    check.require(dump?.contains("v999") == true, "cannot read \(path)")
                    check.require(try databaseDump(path) == dump, "the content of \(path) changed")
                }
                if let path = c.absent {
                    check.require(!FileManager.default.fileExists(atPath: path), "\(path) was created")
                }
                let after = try fleet.authorizedKeysHashes(host: host, accounts: ["fz0"])
                let runsAfter = try world.query("SELECT COUNT(*) FROM runs")
                let firstLine = result.stderr.split(separator: "\n").first { $0.contains("error") || $0.contains("Error") } ?? result.stderr.split(separator: "\n").first ?? ""
                check.observe("exit \(result.status): \(firstLine.replacingOccurrences(of: ws.path + "/", with: "").prefix(200))")
                check.require(result.status == 1, "exit \(result.status)")
                check.require(result.stderr.range(of: c.message, options: .regularExpression) != nil, "stderr does not match /\(c.message)/: \(result.stderr)")
                check.require(result.stdout.isEmpty, "stdout: \(result.stdout)")
                check.require(after == before, "host file changed")
                check.require(runsAfter == runs, "a run was recorded")
            }
        }
    }

    // MARK: - Hostile file content

    @Test func hugeFileWithInvalidBytesIsHandledAndItsUnmanagedBytesKept() throws {
        let host = 28
        let world = try FaultWorld.pushed(fleet, hosts: [host])
        defer { try? fleet.removeFaultAccounts([host]) }

        try FaultCheck.run("3.5 MB authorized_keys (≈35 000 keys) with non-UTF-8 bytes, a NUL, CRLF and no final newline",
                           expected: "handled, never a crash; every unmanaged byte kept; the new key logs in") { check in
            // Unmanaged lines after keysync's block: invalid UTF-8, a NUL, CRLF, 3.5 MB of distinct keys, no final newline.
            try fleet.sh(host, """
                python3 - <<'EOF'
                import base64, os, struct
                def blob():
                    t = b"ssh-ed25519"
                    return base64.b64encode(struct.pack(">I", len(t)) + t + struct.pack(">I", 32) + os.urandom(32)).decode()
                out = bytearray(b"# caf\\xe9 \\xff\\xfe not UTF-8\\r\\n# a NUL \\x00 here\\n")
                i = 0
                while len(out) < 3584 * 1024:
                    out += ('no-pty ssh-ed25519 %s bulk-%06d\\r\\n' % (blob(), i)).encode()
                    i += 1
                out += b"# last line without newline \\xc3\\x28"
                open("/tmp/ks-unmanaged", "wb").write(out)
                EOF
                f=/home/fz0/.ssh/authorized_keys
                cat /tmp/ks-unmanaged >> "$f"
                """)
            let started = Date()
            let push = try world.keysync("push", inventory: "b.yml", ["--json"], timeout: 600)
            let seconds = Date().timeIntervalSince(started)
            let status = try world.report(push).hosts.first?.status.rawValue ?? "missing"
            let kept = try fleet.sh(host, """
                python3 -c '
                import sys
                new, unmanaged = open("/home/fz0/.ssh/authorized_keys", "rb").read(), open("/tmp/ks-unmanaged", "rb").read()
                print("kept" if unmanaged in new else "LOST", len(new))'
                rm -f /tmp/ks-unmanaged
                """).trimmingCharacters(in: .whitespacesAndNewlines)
            let login = try fleet.login(host: host, user: "fz0", key: world.workspace.file("kb")).status
            let again = try world.keysync("check", inventory: "b.yml", timeout: 600)
            check.observe("push exit \(push.status) (\(status)) in \(String(format: "%.0f", seconds)) s (debug build); unmanaged bytes \(kept.split(separator: " ").first ?? "?"), file \(kept.split(separator: " ").last ?? "?") bytes; login with the new key exit \(login); check exit \(again.status)")
            check.require(push.status == 0 && status == "changed", "push: \(push.stderr.suffix(500))")
            check.require(kept.hasPrefix("kept"), "unmanaged bytes lost")
            check.require(login == 0, "the new key does not log in")
            check.require([0, 2].contains(again.status), "check: \(again.stderr.suffix(500))")
        }

        try FaultCheck.run("the account grows its authorized_keys past the read limit (4 MiB), with a revoked key in it",
                           expected: "check: file_too_large drift, exit 2; push: the host fails (file_too_large, revocation cannot land), exit 3; the file byte-identical; nothing of it in the database") { check in
            // As the account: 5 MiB of comment lines after a key the inventory then revokes.
            try fleet.sh(host, """
                su -s /bin/sh fz0 -c 'f=/home/fz0/.ssh/authorized_keys; head -c 5242880 /dev/zero | tr "\\0" "#" | fold -w 100 | sed "s/^/# filler /" >> "$f"'
                """)
            let before = try fleet.sh(host, "sha256sum < /home/fz0/.ssh/authorized_keys")
            try world.writeInventory("c.yml", .init(hosts: [host], keys: ["kb"], revoked: ["ka"]))
            let checked = try world.keysync("check", inventory: "c.yml", ["--json"], timeout: 300)
            let checkKinds = try world.report(checked).hosts.first?.drift.map(\.kind.rawValue) ?? []
            let push = try world.keysync("push", inventory: "c.yml", ["--json"], timeout: 300)
            let pushed = try world.report(push).hosts.first
            let after = try fleet.sh(host, "sha256sum < /home/fz0/.ssh/authorized_keys")
            let leaked = try world.databaseContains("# filler")
            check.observe("check exit \(checked.status) drift \(checkKinds.joined(separator: ",")); push exit \(push.status) \(pushed?.status.rawValue ?? "?") (\(pushed?.error?.prefix(90) ?? "")); file \(before == after ? "byte-identical" : "CHANGED"); file bytes in the database: \(leaked ? "YES" : "none")")
            check.require(checked.status == 2 && checkKinds.contains("file_too_large"), "check: \(checked.stdout.prefix(400))")
            check.require(push.status == 3 && pushed?.status == .failed && pushed?.error?.contains("more than keysync reads") == true, "push: \(push.stdout.prefix(400))")
            check.require(before == after, "the file changed")
            check.require(!leaked, "file bytes reached the database")
        }
    }

    /// An account owner's `chmod 000` of its own keys file is that account's
    /// drift: it must not hold the host's other accounts, nor keep a
    /// revocation in them from landing (review s15 files #1).
    @Test func anUnreadableFileHoldsOnlyItsOwnAccount() throws {
        let host = 27
        try fleet.removeFaultAccounts([host])
        let world = try FaultWorld(fleet)
        try world.writeInventory("a.yml", .init(hosts: [host], accounts: 2, keys: ["ka", "kb"]))
        try world.writeInventory("c.yml", .init(hosts: [host], accounts: 2, keys: ["ka"], revoked: ["kb"]))
        try #require(try world.keysync("push", inventory: "a.yml").status == 0)
        try fleet.sh(host, "su -s /bin/sh fz0 -c 'chmod 000 /home/fz0/.ssh/authorized_keys'")
        let kb = try String(contentsOfFile: world.workspace.file("kb.pub"), encoding: .utf8).split(separator: " ")[1]

        try FaultCheck.run("fz0 makes its keys file unreadable; kb, in fz1's file too, is revoked",
                           expected: "check: file_unreadable for fz0 and revoked_key for fz1, exit 2; push: kb leaves fz1's file and no longer logs in, the host fails for fz0's file (exit 3), fz0's file untouched") { check in
            let before = try fleet.sh(host, "stat -c %a:%s /home/fz0/.ssh/authorized_keys")
            let checked = try world.keysync("check", inventory: "c.yml", ["--json"])
            let drift = try world.report(checked).hosts.first?.drift.map { "\($0.account):\($0.kind.rawValue)" } ?? []
            let push = try world.keysync("push", inventory: "c.yml", ["--json"])
            let pushed = try world.report(push).hosts.first
            let fz1 = String(decoding: try fleet.read(host: host, "/home/fz1/.ssh/authorized_keys"), as: UTF8.self)
            let login = try fleet.login(host: host, user: "fz1", key: world.workspace.file("kb")).status
            let after = try fleet.sh(host, "stat -c %a:%s /home/fz0/.ssh/authorized_keys")
            check.observe("check exit \(checked.status) \(drift.sorted().joined(separator: ",")); push exit \(push.status) \(pushed?.status.rawValue ?? "?"); kb in fz1's file: \(fz1.contains(kb)), login exit \(login); fz0's file \(before == after ? "untouched" : "CHANGED")")
            check.require(checked.status == 2 && drift.contains("fz0:file_unreadable") && drift.contains("fz1:revoked_key"), "check: \(checked.stdout.prefix(600))")
            check.require(push.status == 3 && pushed?.status == .failed && pushed?.error?.contains("fz0") == true, "push: \(push.stdout.prefix(600))")
            check.require(!fz1.contains(kb) && login != 0, "the revocation did not land in fz1")
            check.require(before == after, "fz0's file changed")
        }
    }

    /// The account pads its keys file to just under the line limit: the
    /// block a push adds would take it past what the probe reads back, so
    /// nothing is written and the push says why (review s15 files #11: the
    /// push wrote it, and every run after failed the host).
    @Test func aPushNeverWritesAFileItCouldNotReadBack() throws {
        let host = 27
        try fleet.removeFaultAccounts([host])
        let world = try FaultWorld(fleet)
        try world.writeInventory("a.yml", .init(hosts: [host], keys: ["ka"]))
        try world.writeInventory("b.yml", .init(hosts: [host], keys: ["ka", "kb"]))
        try #require(try world.keysync("push", inventory: "a.yml").status == 0)
        try FaultCheck.run("fz0 fills its keys file to \(HostProbe.lineLimit) lines (the most keysync reads); push adds a key",
                           expected: "push exits 3 with file_too_large ('would have … lines'), the file unchanged; check reads it and says the same (missing_key, file_too_large)") { check in
            try fleet.sh(host, "su -s /bin/sh fz0 -c 'f=/home/fz0/.ssh/authorized_keys; n=$(($(wc -l < $f))); yes \"#\" | head -n $((\(HostProbe.lineLimit) - n)) >> $f'")
            let before = try fleet.sh(host, "sha256sum < /home/fz0/.ssh/authorized_keys; wc -l < /home/fz0/.ssh/authorized_keys")
            let push = try world.keysync("push", inventory: "b.yml", ["--json"], timeout: 300)
            let pushed = try world.report(push).hosts.first
            let after = try fleet.sh(host, "sha256sum < /home/fz0/.ssh/authorized_keys; wc -l < /home/fz0/.ssh/authorized_keys")
            let checked = try world.keysync("check", inventory: "b.yml", ["--json"], timeout: 300)
            let checkKinds = try world.report(checked).hosts.first?.drift.map(\.kind.rawValue) ?? []
            check.observe("push exit \(push.status) \(pushed?.status.rawValue ?? "?"); file \(before == after ? "unchanged" : "CHANGED") (\(after.split(separator: "\n").last ?? "?") lines); check exit \(checked.status) \(checkKinds)")
            check.require(push.status == 3 && pushed?.drift.contains { $0.kind == .fileTooLarge && $0.detail.contains("would have") } == true, "push: \(push.stdout.prefix(500))")
            check.require(before == after, "the file changed")
            check.require(checked.status == 2 && checkKinds.contains("missing_key") && checkKinds.contains("file_too_large"), "check agrees with push: \(checkKinds)")
        }
    }

    // MARK: - Secrets

    @Test func passphrasesAndPrivateKeysNeverReachOutputOrDatabase() throws {
        let host = 28
        try fleet.removeFaultAccounts([host])
        let world = try FaultWorld(fleet)
        let ws = world.workspace
        let passphrase = "Tr0ub4dor&3-keysync-secret"
        let wrong = "wrong-passphrase-4f9c1e"
        let encrypted = ws.file("encrypted_id")
        try FileManager.default.copyItem(atPath: fleet.keyPath(.ed25519), toPath: encrypted)
        let reencrypt = try TestFleet.run(["ssh-keygen", "-q", "-p", "-P", "", "-N", passphrase, "-f", encrypted])
        try #require(reencrypt.succeeded, "\(reencrypt)")
        // A project key given as its private key file: only the public part may travel.
        let projectPrivate = try ws.generateKey("kp_private")
        try world.writeInventory(.init(hosts: [host], keys: ["ka", "kp"], defaults: ["identity": encrypted]))
        var text = try String(contentsOfFile: ws.file("inventory.yml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "  kc: { file: kc.pub }", with: "  kc: { file: kc.pub }\n  kp: { file: \(projectPrivate) }")
        try ws.write("inventory.yml", text)

        try FaultCheck.run("no secrets (KEYSYNC_PASSPHRASE, private keys) in stdout, stderr or the database",
                           expected: "none of the passphrases or private key bytes appear; database files 0600") { check in
            let runs = [
                try world.keysync("push", ["--json"], environment: ["KEYSYNC_PASSPHRASE": passphrase]),
                try world.keysync("check", environment: ["KEYSYNC_PASSPHRASE": passphrase]),
                try world.keysync("push", ["--dry-run"], environment: ["KEYSYNC_PASSPHRASE": passphrase]),
                try world.keysync("push", environment: ["KEYSYNC_PASSPHRASE": wrong]),
                try KeySyncBinary.run(["report", "--db", world.database, "--format", "json"]),
                try KeySyncBinary.run(["history", "--db", world.database, "--host", "h\(host)"]),
            ]
            check.require(runs[0].status == 0, "push with the passphrase: \(runs[0])")
            check.require(runs[3].status != 0, "a wrong passphrase logged in: \(runs[3])")
            var haystacks = runs.enumerated().map { ("output of run \($0.offset + 1)", Data(($0.element.stdout + $0.element.stderr).utf8)) }
            for suffix in ["", "-wal", "-shm"] {
                let path = world.database + suffix
                guard FileManager.default.fileExists(atPath: path) else { continue }
                haystacks.append(("database\(suffix)", try Data(contentsOf: URL(fileURLWithPath: path))))
                let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
                check.require(mode == 0o600, "keysync.db\(suffix) has mode \(String(mode, radix: 8))")
            }
            // Needles: the passphrases, and every 24-byte piece of the private keys' base64 bodies.
            var needles = [passphrase, wrong]
            for path in [fleet.keyPath(.ed25519), encrypted, projectPrivate] {
                let body = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
                needles += stride(from: 0, to: body.count - 24, by: 24).map { offset in
                    String(body.dropFirst(offset).prefix(24))
                }
            }
            var found: [String] = []
            for (name, bytes) in haystacks {
                for needle in needles where bytes.range(of: Data(needle.utf8)) != nil {
                    found.append("\(name) holds \(needle == passphrase || needle == wrong ? "a passphrase" : "private key bytes")")
                }
            }
            check.observe("\(haystacks.count) outputs and database files searched for \(needles.count) secrets: \(found.isEmpty ? "none found" : found.joined(separator: ", ")); push exit \(runs[0].status), wrong passphrase exit \(runs[3].status)")
            check.require(found.isEmpty, "\(found)")
        }
    }
}
