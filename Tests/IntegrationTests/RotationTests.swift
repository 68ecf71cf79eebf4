import Foundation
import GRDB
import Testing
@testable import KeySync

/// `keysync rotate` against real sshd hosts (issue 8). Hosts 120–159 only
/// (120–149 here, 150–159 in RotationCrashTests.swift; no other suite uses
/// them: see SyncEngineTests); the tests share them,
/// so the suite runs its tests one after the other.
@Suite(.serialized) struct RotationTests {
    let fleet: TestFleet
    static let file = "/home/usersample/.ssh/authorized_keys"

    init() throws { fleet = try TestFleet.shared(minimumHosts: 160) }

    /// How most tests begin: `usersample` removed from `hosts`, the inventory
    /// (`inventory(_:hosts:)`) pushed into `keysync.db` — by the keysync
    /// binary with `binary`, else in process — and a new key pair made.
    /// `old` and `new` are private key paths, each `.pub` beside it.
    func begin(_ hosts: [Int], binary: Bool = false, name: String = #function,
               sourceLocation: SourceLocation = #_sourceLocation)
        throws -> (workspace: Workspace, inventory: Inventory, store: Store, old: String, new: String) {
        try fleet.removeAccounts(on: hosts)
        let workspace = try Workspace(name)
        let inventory = try inventory(workspace, hosts: hosts)
        let db = workspace.file("keysync.db")
        let store: Store
        if binary {
            let push = try KeySyncProcess.run(["push", "--inventory", workspace.file("inventory.yml"), "--db", db])
            #expect(push.status == 0, "\(push)", sourceLocation: sourceLocation)
            store = try Store(path: db)
        } else {
            store = try Store(path: db)
            #expect(try sync(inventory, .push, store: store).summary.failed == 0, sourceLocation: sourceLocation)
        }
        return (workspace, inventory, store, workspace.file("kp-usersample"), try newKey(workspace))
    }

    /// Real `ssh` logins as `usersample` with `key` on `hosts` (8 at a time): exit statuses in host order (-1: could not run ssh).
    func parallelLogins(_ hosts: [Int], key: String) -> [Int32] {
        let fleet = fleet
        return ParallelRunner(width: 8).run(hosts) { host in
            (try? fleet.login(host: host, user: "usersample", key: key).status) ?? -1
        }
    }

    /// `usersample`'s authorized_keys on `hosts` (8 at a time), in host order.
    func contents(_ hosts: [Int]) throws -> [String] {
        let fleet = fleet
        let results = ParallelRunner(width: 8).run(hosts) { host in Result { try fleet.exec(host: host, ["cat", Self.file]) } }
        return try results.map { result in
            let output = try result.get()
            guard output.succeeded else { throw WorkspaceError.command("\(output)") }
            return output.stdout
        }
    }

    /// The lines of an authorized_keys file outside keysync's managed blocks, byte for byte (line ends kept).
    static func unmanaged(_ text: String) -> String {
        var inside = false, kept = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map({ String($0) + "\n" }) {
            if line.hasPrefix("# keysync:begin") { inside = true }
            if !inside { kept += line }
            if line.hasPrefix("# keysync:end") { inside = false }
        }
        return kept
    }

    /// The base64 blob of the public key in `path` (a `.pub`, or a private key).
    func blob(_ path: String) throws -> String {
        try KeyImporter.importKey(contentsOf: path).openSSHLine.split(separator: " ")[1].description
    }

    /// An inventory granting `kp-usersample` (the `file:` keys/kp-usersample.pub, or inline) to
    /// `usersample` on `hosts`, plus `extraHosts` (name: address). The key pair is `kp-usersample[.pub]`.
    func inventory(_ workspace: Workspace, hosts: [Int], inline: Bool = false, extraHosts: [String: String] = [:],
                   options: String = "no-agent-forwarding") throws -> Inventory {
        if !FileManager.default.fileExists(atPath: workspace.file("kp-usersample")) {
            try workspace.generateKey("kp-usersample")
            try FileManager.default.createDirectory(atPath: workspace.file("keys"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: workspace.file("kp-usersample.pub"), toPath: workspace.file("keys/kp-usersample.pub"))
        }
        let line = try String(contentsOfFile: workspace.file("kp-usersample.pub"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let names = hosts.map { "h\($0)" } + extraHosts.keys.sorted()
        // `public:` on a line of its own (line 10): the rotation tests check where it says to edit.
        let source = inline ? "public: \"\(line)\"" : "file: keys/kp-usersample.pub"
        let text = fleet.inventory(
            keys: ["kp-usersample:\n    \(source)\n    options: '\(options)'"], hosts: hosts,
            moreHosts: extraHosts.sorted { $0.key < $1.key }.map { "  \($0.key): { address: \($0.value) }" }.joined(separator: "\n"),
            projects: fleet.usersampleProject(hosts: names, [
                "uid: 1001", "gid: 1001", "home: /home/usersample", "create: true", "keys: [kp-usersample]",
            ]))
        try workspace.write("inventory.yml", text)
        return try Inventory.load(path: workspace.file("inventory.yml"))
    }

    func sync(_ inventory: Inventory, _ mode: SyncEngine.Mode, store: Store) throws -> RunReport {
        try SyncRun(inventory: inventory, targets: try inventory.select(), settings: SyncEngine.Settings(mode: mode, parallel: 8))
            .execute(store: store)
    }

    /// A new ed25519 pair written by keysync's own generator; returns the private key path (`.pub` beside it).
    func newKey(_ workspace: Workspace, _ name: String = "kp-usersample-2026") throws -> String {
        let pair = try KeyGenerator.generate(.ed25519, comment: name)
        try workspace.write(name, pair.privateKeyFile)
        chmod(workspace.file(name), 0o600)
        try workspace.write(name + ".pub", pair.publicKeyFile)
        return workspace.file(name)
    }

    func logins(_ hosts: [Int], key: String) throws -> [Int32] {
        try hosts.map { try fleet.login(host: $0, user: "usersample", key: key).status }
    }

    func content(_ host: Int) throws -> String { try fleet.exec(host: host, ["cat", Self.file]).stdout }

    func fingerprint(_ path: String) throws -> String { try KeyImporter.importKey(contentsOf: path).fingerprint }

    func integrity(_ path: String) throws -> String {
        try DatabaseQueue(path: path).read { try String.fetchOne($0, sql: "PRAGMA integrity_check") ?? "" }
    }

    @Test func rotatesWithARealLoginAndRetiresTheOldKeyEverywhere() throws {
        let hosts = Array(120...124)
        let (workspace, inventory, store, old, new) = try begin(hosts)
        // An unmanaged line on one host must survive byte for byte.
        let stranger = try workspace.generateKey("stranger")
        try fleet.exec(host: 120, ["sh", "-c", "printf '# a comment\\r\\n%s\\n' \"$(cat)\" >> \(Self.file)"],
                       stdin: Data(try String(contentsOfFile: stranger + ".pub", encoding: .utf8).utf8))
        let before120 = try content(120)
        let oldFingerprint = try fingerprint(old + ".pub")

        let report = try RotationRun(inventory: inventory, store: store, parallel: 8)
            .start(.init(keyName: "kp-usersample", newKeyPath: new + ".pub", verifyIdentity: new))
        #expect(report.status == .completed && report.exitCode == 0, "\(report.text())")
        #expect(report.verification == .login && report.oldKeyRetired)
        #expect(report.hosts.allSatisfy { $0.phase == .retired && $0.error == nil })
        #expect(try logins(hosts, key: new) == [0, 0, 0, 0, 0])
        #expect(try logins(hosts, key: old).allSatisfy { $0 != 0 })
        // Same options on the new line; the unmanaged lines untouched.
        let newLine = try String(contentsOfFile: new + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try content(121).contains("no-agent-forwarding " + newLine))
        let after120 = try content(120)
        #expect(after120.contains("# a comment\r\n") && after120.hasSuffix(before120.components(separatedBy: "# keysync:end project=usersample role=deploy\n").last!))
        // The key file names the new key; the old one is kept.
        #expect(report.inventory?.action == .replacedFile)
        #expect(try fingerprint(workspace.file("keys/kp-usersample.pub")) == (try fingerprint(new + ".pub")))
        let retiredCopy = try #require(report.inventory?.retiredCopy)
        #expect(try fingerprint(retiredCopy) == oldFingerprint)
        #expect(try store.retiredFingerprints() == [oldFingerprint])
        #expect(try integrity(workspace.file("keysync.db")) == "ok")

        // Someone puts the old key back by hand: check reports revoked_key, push removes it.
        let reloaded = try Inventory.load(path: workspace.file("inventory.yml"))
        let oldLine = try String(contentsOfFile: retiredCopy, encoding: .utf8)
        try fleet.exec(host: 122, ["sh", "-c", "cat >> \(Self.file)"], stdin: Data(oldLine.utf8))
        let login = try fleet.login(host: 122, user: "usersample", key: old)
        let file122 = try content(122)
        #expect(login.status == 0, "\(login) \(file122)")
        let check = try sync(reloaded, .check, store: store)
        #expect(check.hosts.first { $0.host == "h122" }?.drift.map(\.kind) == [.revokedKey])
        #expect(check.summary.drift == 1)
        #expect(try sync(reloaded, .push, store: store).summary.changed == 1)
        #expect(try fleet.login(host: 122, user: "usersample", key: old).status != 0)
        #expect(try sync(reloaded, .check, store: store).summary.drift == 0)
    }

    /// The account's owner (or whoever still holds the old key) makes every
    /// command fail in the account's shell (`.bashrc`: `exit 1`): the
    /// verification is the accepted login, so the rotation completes and the
    /// old key goes (review s13: it stayed, "FAILED after added").
    @Test func aShellThatFailsEveryCommandDoesNotKeepTheOldKey() throws {
        let hosts = [120, 121]
        let (workspace, inventory, store, old, new) = try begin(hosts)
        defer { withExtendedLifetime(workspace) {} }
        for host in hosts {
            try #require(try fleet.exec(host: host, ["su", "-s", "/bin/sh", "usersample", "-c", "printf 'exit 1\\n' > ~/.bashrc"]).succeeded)
        }
        #expect(try fleet.login(host: 120, user: "usersample", key: old, command: "true").status != 0, "every command fails in that shell")
        let report = try RotationRun(inventory: inventory, store: store, parallel: 8)
            .start(.init(keyName: "kp-usersample", newKeyPath: new + ".pub", verifyIdentity: new))
        #expect(report.status == .completed && report.exitCode == 0, "\(report.text())")
        #expect(report.oldKeyRetired && report.hosts.allSatisfy { $0.phase == .retired })
        for host in hosts {
            #expect(try fleet.login(host: host, user: "usersample", key: old).status != 0, "h\(host): the old key still logs in")
        }
    }

    /// A key restricted to a forced command (`command=`): the login with the
    /// new key proves it, and the command (a deploy, a backup) is not run on
    /// every host by the verification.
    @Test func aForcedCommandKeyIsVerifiedByItsLoginNotRun() throws {
        let hosts = [120, 121]
        try fleet.removeAccounts(on: hosts)
        let workspace = try Workspace()
        let mark = "/home/usersample/forced-command-ran"
        let inventory = try inventory(workspace, hosts: hosts, options: "command=\"touch \(mark)\",no-agent-forwarding")
        let store = try Store(path: workspace.file("keysync.db"))
        #expect(try sync(inventory, .push, store: store).summary.failed == 0)
        let new = try newKey(workspace)
        let report = try RotationRun(inventory: inventory, store: store, parallel: 8)
            .start(.init(keyName: "kp-usersample", newKeyPath: new + ".pub", verifyIdentity: new))
        #expect(report.status == .completed && report.exitCode == 0, "\(report.text())")
        #expect(report.verification == .login)
        for host in hosts {
            #expect(try !fleet.exec(host: host, ["test", "-e", mark]).succeeded, "h\(host): the forced command ran")
            #expect(try content(host).contains("command=\"touch \(mark)\",no-agent-forwarding " + (try String(contentsOfFile: new + ".pub", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines))))
        }
    }

    @Test func failedHostsKeepBothKeysAndPushWorksUntilTheInventoryIsEdited() throws {
        let hosts = Array(125...129)
        try fleet.removeAccounts(on: hosts)
        let workspace = try Workspace()
        let down = ["hdown": "127.\(fleet.base).1.199"]  // nothing listens there
        var inventory = try inventory(workspace, hosts: hosts, inline: true, extraHosts: down)
        let store = try Store(path: workspace.file("keysync.db"))
        #expect(try sync(inventory, .push, store: store).summary.failed == 1)
        try fleet.exec(host: 127, ["usermod", "-L", "usersample"])  // sshd (UsePAM no) refuses its key logins
        let old = workspace.file("kp-usersample"), new = try newKey(workspace)

        let report = try RotationRun(inventory: inventory, store: store, parallel: 8)
            .start(.init(keyName: "kp-usersample", newKeyPath: new, verifyIdentity: new))  // the private key as --new-key
        #expect(report.status == .failed && report.exitCode == 3 && !report.oldKeyRetired)
        let failed = Dictionary(uniqueKeysWithValues: report.failed.map { ($0.host, $0) })
        #expect(Set(failed.keys) == ["h127", "hdown"])
        #expect(failed["h127"]?.completedPhase == .added && failed["h127"]?.error?.contains("authentication as usersample failed") == true)
        #expect(failed["hdown"]?.completedPhase == .pending)
        #expect(report.text().contains("h127 usersample: FAILED after added (keeps both keys)"))
        #expect(try logins([125, 126, 128, 129], key: new) == [0, 0, 0, 0])
        #expect(try logins([125, 126, 128, 129], key: old).allSatisfy { $0 != 0 })
        let oldLine = try String(contentsOfFile: old + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let newLine = try KeyImporter.importKey(contentsOf: new).openSSHLine
        #expect(try content(127).contains(oldLine) && content(127).contains(newLine))

        // push with the inventory still naming the old key changes nothing: no old key back, no new key removed.
        let files = try hosts.map(content)
        let push = try sync(inventory, .push, store: store)
        #expect(push.summary.changed == 0 && push.summary.failed == 1, "\(push.hosts.filter { $0.status != .ok })")
        #expect(try hosts.map(content) == files)
        #expect(try sync(inventory, .check, store: store).hosts.filter { $0.host != "hdown" }.allSatisfy { $0.drift.allSatisfy { $0.kind == .accountLocked } })

        // Fix: unlock h127, drop the dead host; resume finishes the job.
        try fleet.exec(host: 127, ["usermod", "-p", "*", "usersample"])
        inventory = try self.inventory(workspace, hosts: hosts, inline: true)
        let resumed = try RotationRun(inventory: inventory, store: store, parallel: 8).resume(id: report.rotation)
        #expect(resumed.status == .completed && resumed.exitCode == 0 && resumed.oldKeyRetired, "\(resumed.text())")
        #expect(resumed.hosts.first { $0.host == "hdown" }?.error?.contains("no longer granted") == true)
        #expect(try logins(hosts, key: new) == [0, 0, 0, 0, 0])
        #expect(try logins(hosts, key: old).allSatisfy { $0 != 0 })
        let update = try #require(resumed.inventory)
        #expect(update.action == .editNeeded && update.line == "public: \"\(newLine)\"" && update.lineNumber == 10)

        // Still before the edit: push keeps the new key and never re-adds the retired one; check is clean.
        let settled = try hosts.map(content)
        #expect(try sync(inventory, .push, store: store).summary.changed == 0)
        #expect(try hosts.map(content) == settled)
        #expect(try sync(inventory, .check, store: store).summary.drift == 0)
        // After pasting the line, nothing changes either.
        let edited = try String(contentsOfFile: workspace.file("inventory.yml"), encoding: .utf8)
            .replacingOccurrences(of: "public: \"\(oldLine)\"", with: try #require(update.line))
        try workspace.write("inventory.yml", edited)
        #expect(try sync(try Inventory.load(path: workspace.file("inventory.yml")), .push, store: store).summary.changed == 0)
        #expect(try hosts.map(content) == settled)
    }

    @Test func aFailingCanaryTouchesNoOtherHost() throws {
        let hosts = Array(120...129)
        let (workspace, inventory, store, old, new) = try begin(hosts)
        try fleet.exec(host: 121, ["usermod", "-L", "usersample"])  // the second of the two canaries fails
        let others = Array(122...129)
        let stat = { (hosts: [Int]) in try hosts.map { try fleet.exec(host: $0, ["stat", "-c", "%i %Y %Z %s", Self.file]).stdout } }
        let before = try zip(stat(others), contents(others)).map { $0 + $1 }
        let report = try RotationRun(inventory: inventory, store: store, parallel: 8)
            .start(.init(keyName: "kp-usersample", newKeyPath: new + ".pub", verifyIdentity: new, canary: 2))
        #expect(report.status == .stopped && report.exitCode == 3, "\(report.text())")
        #expect(report.hosts.map(\.phase) == [.retired, .failed] + Array(repeating: .pending, count: 8))
        #expect(report.text().contains("h121 usersample: FAILED after added (keeps both keys)"))
        #expect(try zip(stat(others), contents(others)).map { $0 + $1 } == before, "no other host was written")
        #expect(parallelLogins(others, key: old) == Array(repeating: 0, count: 8))
        #expect(parallelLogins(others, key: new).allSatisfy { $0 != 0 })
        #expect(try fleet.login(host: 120, user: "usersample", key: new).status == 0, "the good canary is rotated")
        #expect(try fleet.login(host: 120, user: "usersample", key: old).status != 0)
        #expect(try content(121).components(separatedBy: "ssh-ed25519").count == 3, "the failed canary keeps both keys")
        #expect(try fingerprint(workspace.file("keys/kp-usersample.pub")) != (try fingerprint(new)), "the inventory is untouched")
        #expect(try store.retiredFingerprints().isEmpty)
    }

    /// Issue 8, "Done when": 30 hosts, real logins before and after, unmanaged lines byte for byte.
    @Test func rotatesThirtyHostsWithARealLoginAndLeavesUnmanagedLinesAlone() throws {
        let hosts = Array(120...149)
        let (workspace, inventory, store, old, new) = try begin(hosts)
        // Unmanaged lines before and after the block on every host: a CRLF comment, a blank
        // line, a stranger's key with options, trailing blanks, a key-looking comment.
        let stranger = try String(contentsOfFile: try workspace.generateKey("stranger") + ".pub", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let fleet = fleet
        let edits = ParallelRunner(width: 8).run(hosts) { host -> String? in
            let before = "# added by hand on h\(host)\r\n\nfrom=\"10.0.0.\(host - 100)\",no-pty \(stranger)\n"
            let after = "#  tail \t \n# ssh-ed25519 AAAAnotakey\n"
            let result = try? fleet.exec(host: host, ["sh", "-c", "f=\(Self.file); { printf '%s' \"$0\"; cat $f; printf '%s' \"$1\"; } > $f.t && cat $f.t > $f && rm $f.t",
                                                      before, after])
            return result?.succeeded == true ? nil : "h\(host): \(String(describing: result))"
        }
        #expect(edits.compactMap { $0 } == [])
        let unmanagedBefore = try contents(hosts).map(Self.unmanaged)
        #expect(unmanagedBefore.allSatisfy { $0.contains(stranger) && $0.contains("#  tail \t \n") })
        #expect(parallelLogins(hosts, key: old) == Array(repeating: 0, count: 30))

        let clock = ContinuousClock.now
        let report = try RotationRun(inventory: inventory, store: store, parallel: 8)
            .start(.init(keyName: "kp-usersample", newKeyPath: new + ".pub", verifyIdentity: new))
        let took = ContinuousClock.now - clock
        #expect(report.status == .completed && report.exitCode == 0, "\(report.text())")
        #expect(report.verification == .login && report.oldKeyRetired)
        #expect(report.hosts.count == 30 && report.hosts.allSatisfy { $0.phase == .retired && $0.error == nil })
        #expect(parallelLogins(hosts, key: new) == Array(repeating: 0, count: 30), "the new key logs in everywhere")
        let refused = parallelLogins(hosts, key: old)
        #expect(refused.allSatisfy { $0 == 255 }, "the old key is refused everywhere: \(refused)")
        let files = try contents(hosts)
        #expect(files.map(Self.unmanaged) == unmanagedBefore, "unmanaged lines untouched")
        let oldBlob = try blob(old + ".pub"), newBlob = try blob(new + ".pub")
        #expect(files.allSatisfy { !$0.contains(oldBlob) && $0.components(separatedBy: newBlob).count == 2 })
        #expect(try integrity(workspace.file("keysync.db")) == "ok")
        print("rotation of 30 hosts with --verify-identity: \(took)")
    }

    /// Issue 8, "Done when": 3 locked accounts fail verification; exit 3 from the binary,
    /// they keep both keys, the others are rotated; unlocking them and --resume finishes.
    @Test func threeHostsFailingVerificationKeepBothKeysUntilFixedAndResumed() throws {
        let hosts = Array(120...149), failing = [123, 136, 149]
        let (workspace, _, _, old, new) = try begin(hosts, binary: true)
        let db = workspace.file("keysync.db"), inv = workspace.file("inventory.yml")
        for host in failing { try fleet.exec(host: host, ["usermod", "-L", "usersample"]) }  // sshd (UsePAM no) refuses key logins
        let oldBlob = try blob(old + ".pub"), newBlob = try blob(new + ".pub")

        let first = try KeySyncProcess.run(["rotate", "kp-usersample", "--new-key", new + ".pub", "--verify-identity", new,
                                            "--inventory", inv, "--db", db, "--parallel", "8"])
        #expect(first.status == 3, "\(first)")
        let failedLines = first.stdout.split(separator: "\n").filter { $0.contains("FAILED") }.map(String.init)
        #expect(failedLines.count == 3, "\(first.stdout)")
        for host in failing {
            #expect(failedLines.contains { $0.hasPrefix("  h\(host) usersample: FAILED after added (keeps both keys): ") && $0.contains("usersample") },
                    "h\(host) is named: \(first.stdout)")
        }
        #expect(first.stdout.contains("27 retired, 3 failed"), "\(first.stdout)")
        let id = try #require(first.stdout.firstMatch(of: /^rotation (\d+) of kp-usersample/.anchorsMatchLineEndings()).map { String($0.1) })
        let rotated = hosts.filter { !failing.contains($0) }
        #expect(parallelLogins(rotated, key: new) == Array(repeating: 0, count: 27))
        #expect(parallelLogins(rotated, key: old).allSatisfy { $0 == 255 })
        for (host, file) in zip(failing, try contents(failing)) {
            #expect(file.contains(oldBlob) && file.contains(newBlob), "h\(host) keeps both keys")
        }
        let status = try KeySyncProcess.run(["rotate", "--status", id, "--db", db])
        #expect(status.status == 0 && failing.allSatisfy { status.stdout.contains("h\($0) usersample: FAILED") }, "\(status)")

        for host in failing { try fleet.exec(host: host, ["usermod", "-p", "*", "usersample"]) }
        let resumed = try KeySyncProcess.run(["rotate", "--resume", id, "--inventory", inv, "--db", db])
        #expect(resumed.status == 0 && resumed.stdout.contains("30 retired, 0 failed, 0 pending — rotation completed"), "\(resumed)")
        #expect(parallelLogins(hosts, key: new) == Array(repeating: 0, count: 30))
        #expect(parallelLogins(hosts, key: old).allSatisfy { $0 == 255 })
        #expect(try contents(hosts).allSatisfy { !$0.contains(oldBlob) && $0.contains(newBlob) })
        #expect(try integrity(db) == "ok")
    }

    @Test func anInterruptedRotationResumesWithoutRepeatingAPhase() throws {
        let hosts = Array(124...128)
        let (workspace, inventory, store, old, new) = try begin(hosts)

        // Stop after phase 1, as Ctrl-C would between two steps.
        let cancellation = Cancellation()
        let first = try RotationRun(inventory: inventory, store: store, cancellation: cancellation, events: { event in
            if case .stepFinished(.add, _) = event { cancellation.cancel() }
        }).start(.init(keyName: "kp-usersample", newKeyPath: new + ".pub"))
        #expect(first.interrupted && first.exitCode == 130 && first.status == .running)
        #expect(first.hosts.allSatisfy { $0.phase == .added })
        #expect(try logins(hosts, key: new) == [0, 0, 0, 0, 0])
        #expect(try logins(hosts, key: old) == [0, 0, 0, 0, 0], "nobody lost the old key")
        #expect(try integrity(workspace.file("keysync.db")) == "ok")
        // kill -9 right after a host's write, before it was recorded: the database says pending.
        try store.setRotationPhase(rotationID: first.rotation, host: "h124", account: "usersample", phase: .pending)
        // The file of h125 turned root-owned after phase 1: the re-read catches what sshd would refuse.
        try fleet.exec(host: 125, ["chown", "root:root", Self.file])

        let events = LockedState<[String]>([])
        let second = try RotationRun(inventory: inventory, store: store, events: { event in
            if case let .pairFinished(pair, step, error) = event { events.withLock { $0.append("\(step.rawValue) \(pair.host)\(error == nil ? "" : " failed")") } }
        }).resume(id: first.rotation)
        let log = events.withLock { $0 }
        #expect(log.filter { $0.hasPrefix("add") } == ["add h124"], "\(log)")
        let resumedAdd = try #require(try store.runs(commands: ["rotate"]).first { $0.selection.hasSuffix(" add") })
        #expect(try store.hostResults(runID: resumedAdd.id).map { "\($0.host) \($0.status.rawValue)" } == ["h124 ok"], "h124 had both keys: nothing to write")
        #expect(second.verification == .file && second.text().contains("the login itself was not tried"))
        #expect(second.status == .failed && second.exitCode == 3)
        let h125 = try #require(second.failed.first)
        #expect(second.failed.count == 1 && h125.host == "h125" && h125.completedPhase == .added)
        #expect(h125.error?.contains("sshd would refuse the login") == true && h125.error?.contains("owned by uid 0") == true)

        // push respects the rotation: it repairs the owner and keeps both keys on h125.
        #expect(try sync(inventory, .push, store: store).summary.changed == 1)
        #expect(try fleet.login(host: 125, user: "usersample", key: old).status == 0)
        #expect(try fleet.login(host: 125, user: "usersample", key: new).status == 0)
        let third = try RotationRun(inventory: inventory, store: store).resume(id: first.rotation)
        #expect(third.status == .completed && third.exitCode == 0 && third.oldKeyRetired)
        #expect(try logins(hosts, key: new) == [0, 0, 0, 0, 0])
        #expect(try logins(hosts, key: old).allSatisfy { $0 != 0 })
        #expect(try integrity(workspace.file("keysync.db")) == "ok")
    }

    @Test func anInterruptionDuringRetireNeverLeavesAnAccountWithoutAWorkingKey() throws {
        let hosts = Array(120...124)
        let (workspace, inventory, store, old, new) = try begin(hosts)

        // One host at a time; Ctrl-C as soon as the first host retired the old key.
        let cancellation = Cancellation()
        let first = try RotationRun(inventory: inventory, store: store, parallel: 1, cancellation: cancellation, events: { event in
            if case .pairFinished(_, .retire, _) = event { cancellation.cancel() }
        }).start(.init(keyName: "kp-usersample", newKeyPath: new + ".pub", verifyIdentity: new))
        #expect(first.interrupted && first.exitCode == 130)
        #expect(first.hosts.map(\.completedPhase) == [.retired, .verified, .verified, .verified, .verified])
        #expect(try logins(hosts, key: new) == [0, 0, 0, 0, 0])
        #expect(try logins(hosts, key: old).map { $0 == 0 } == [false, true, true, true, true])
        #expect(try integrity(workspace.file("keysync.db")) == "ok")
        // kill -9 right after h120's write: the database still says verified.
        try store.setRotationPhase(rotationID: first.rotation, host: "h120", account: "usersample", phase: .verified)

        let second = try RotationRun(inventory: inventory, store: store).resume(id: first.rotation)
        #expect(second.status == .completed && second.exitCode == 0 && second.oldKeyRetired)
        let retire = try #require(try store.runs(commands: ["rotate"]).first)
        #expect(try store.hostResults(runID: retire.id).filter { $0.status == .ok }.map(\.host) == ["h120"])
        #expect(try logins(hosts, key: new) == [0, 0, 0, 0, 0])
        #expect(try logins(hosts, key: old).allSatisfy { $0 != 0 })
        #expect(try integrity(workspace.file("keysync.db")) == "ok")
    }
}
