import Foundation
import GRDB
import Testing
@testable import KeySync

/// `keysync rotate` against real sshd hosts (issue 8). Hosts 40–49 only; the
/// tests share them, so the suite runs its tests one after the other.
@Suite(.serialized) struct RotationTests {
    let fleet: TestFleet
    static let file = "/home/usersample/.ssh/authorized_keys"

    init() throws { fleet = try TestFleet.shared(minimumHosts: 50) }

    /// Removes `usersample` from `hosts`, so each test starts from scratch.
    func reset(_ hosts: some Sequence<Int>) throws {
        for host in hosts { try fleet.exec(host: host, ["sh", "-c", "userdel -r usersample; groupdel usersample; true"]) }
    }

    /// An inventory granting `kp-usersample` (the `file:` keys/kp-usersample.pub, or inline) to
    /// `usersample` on `hosts`, plus `extraHosts` (name: address). The key pair is `kp-usersample[.pub]`.
    func inventory(_ workspace: Workspace, hosts: [Int], inline: Bool = false, extraHosts: [String: String] = [:]) throws -> Inventory {
        if !FileManager.default.fileExists(atPath: workspace.file("kp-usersample")) {
            try workspace.generateKey("kp-usersample")
            try FileManager.default.createDirectory(atPath: workspace.file("keys"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: workspace.file("kp-usersample.pub"), toPath: workspace.file("keys/kp-usersample.pub"))
        }
        let line = try String(contentsOfFile: workspace.file("kp-usersample.pub"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let names = hosts.map { "h\($0)" } + extraHosts.keys.sorted()
        let text = """
        \(fleet.inventoryDefaults())
        keys:
          kp-usersample:
            \(inline ? "public: \"\(line)\"" : "file: keys/kp-usersample.pub")
            options: 'no-agent-forwarding'
        hosts:
        \(fleet.inventoryHosts(hosts))
        \(extraHosts.sorted { $0.key < $1.key }.map { "  \($0.key): { address: \($0.value) }" }.joined(separator: "\n"))
        projects:
          usersample:
            hosts: [\(names.joined(separator: ", "))]
            roles:
              deploy:
                account: usersample
                uid: 1001
                gid: 1001
                home: /home/usersample
                create: true
                keys: [kp-usersample]
        """
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
        let hosts = Array(40...44)
        try reset(hosts)
        let workspace = try Workspace()
        let inventory = try inventory(workspace, hosts: hosts)
        let store = try Store(path: workspace.file("keysync.db"))
        #expect(try sync(inventory, .push, store: store).summary.failed == 0)
        // An unmanaged line on one host must survive byte for byte.
        let stranger = try workspace.generateKey("stranger")
        try fleet.exec(host: 40, ["sh", "-c", "printf '# a comment\\r\\n%s\\n' \"$(cat)\" >> \(Self.file)"],
                       stdin: Data(try String(contentsOfFile: stranger + ".pub", encoding: .utf8).utf8))
        let before40 = try content(40)
        let old = workspace.file("kp-usersample"), new = try newKey(workspace)
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
        #expect(try content(41).contains("no-agent-forwarding " + newLine))
        let after40 = try content(40)
        #expect(after40.contains("# a comment\r\n") && after40.hasSuffix(before40.components(separatedBy: "# keysync:end project=usersample role=deploy\n").last!))
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
        try fleet.exec(host: 42, ["sh", "-c", "cat >> \(Self.file)"], stdin: Data(oldLine.utf8))
        let login = try fleet.login(host: 42, user: "usersample", key: old)
        let file42 = try content(42)
        #expect(login.status == 0, "\(login) \(file42)")
        let check = try sync(reloaded, .check, store: store)
        #expect(check.hosts.first { $0.host == "h42" }?.drift.map(\.kind) == [.revokedKey])
        #expect(check.summary.drift == 1)
        #expect(try sync(reloaded, .push, store: store).summary.changed == 1)
        #expect(try fleet.login(host: 42, user: "usersample", key: old).status != 0)
        #expect(try sync(reloaded, .check, store: store).summary.drift == 0)
    }

    @Test func failedHostsKeepBothKeysAndPushWorksUntilTheInventoryIsEdited() throws {
        let hosts = Array(45...49)
        try reset(hosts)
        let workspace = try Workspace()
        let down = ["hdown": "127.\(fleet.base).1.199"]  // nothing listens there
        var inventory = try inventory(workspace, hosts: hosts, inline: true, extraHosts: down)
        let store = try Store(path: workspace.file("keysync.db"))
        #expect(try sync(inventory, .push, store: store).summary.failed == 1)
        try fleet.exec(host: 47, ["usermod", "-L", "usersample"])  // sshd (UsePAM no) refuses its key logins
        let old = workspace.file("kp-usersample"), new = try newKey(workspace)

        let report = try RotationRun(inventory: inventory, store: store, parallel: 8)
            .start(.init(keyName: "kp-usersample", newKeyPath: new, verifyIdentity: new))  // the private key as --new-key
        #expect(report.status == .failed && report.exitCode == 3 && !report.oldKeyRetired)
        let failed = Dictionary(uniqueKeysWithValues: report.failed.map { ($0.host, $0) })
        #expect(Set(failed.keys) == ["h47", "hdown"])
        #expect(failed["h47"]?.completedPhase == .added && failed["h47"]?.error?.contains("authentication as usersample failed") == true)
        #expect(failed["hdown"]?.completedPhase == .pending)
        #expect(report.text().contains("h47 usersample: FAILED after added (keeps both keys)"))
        #expect(try logins([45, 46, 48, 49], key: new) == [0, 0, 0, 0])
        #expect(try logins([45, 46, 48, 49], key: old).allSatisfy { $0 != 0 })
        let oldLine = try String(contentsOfFile: old + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let newLine = try KeyImporter.importKey(contentsOf: new).openSSHLine
        #expect(try content(47).contains(oldLine) && content(47).contains(newLine))

        // push with the inventory still naming the old key changes nothing: no old key back, no new key removed.
        let files = try hosts.map(content)
        let push = try sync(inventory, .push, store: store)
        #expect(push.summary.changed == 0 && push.summary.failed == 1, "\(push.hosts.filter { $0.status != .ok })")
        #expect(try hosts.map(content) == files)
        #expect(try sync(inventory, .check, store: store).hosts.filter { $0.host != "hdown" }.allSatisfy { $0.drift.allSatisfy { $0.kind == .accountLocked } })

        // Fix: unlock h47, drop the dead host; resume finishes the job.
        try fleet.exec(host: 47, ["usermod", "-p", "*", "usersample"])
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
        let hosts = Array(40...43)
        try reset(hosts)
        let workspace = try Workspace()
        let inventory = try inventory(workspace, hosts: hosts)
        let store = try Store.inMemory()
        #expect(try sync(inventory, .push, store: store).summary.failed == 0)
        try fleet.exec(host: 40, ["usermod", "-L", "usersample"])
        let others = try [41, 42, 43].map { try fleet.exec(host: $0, ["stat", "-c", "%i %Y %s", Self.file]).stdout + content($0) }
        let new = try newKey(workspace)
        let report = try RotationRun(inventory: inventory, store: store)
            .start(.init(keyName: "kp-usersample", newKeyPath: new + ".pub", verifyIdentity: new, canary: 1))
        #expect(report.status == .stopped && report.exitCode == 3)
        #expect(report.hosts.map(\.phase) == [.failed, .pending, .pending, .pending])
        #expect(try [41, 42, 43].map { try fleet.exec(host: $0, ["stat", "-c", "%i %Y %s", Self.file]).stdout + content($0) } == others)
        #expect(try content(40).components(separatedBy: "ssh-ed25519").count == 3, "the canary keeps both keys")
        #expect(try fingerprint(workspace.file("keys/kp-usersample.pub")) != (try fingerprint(new)), "the inventory is untouched")
    }

    @Test func anInterruptedRotationResumesWithoutRepeatingAPhase() throws {
        let hosts = Array(44...48)
        try reset(hosts)
        let workspace = try Workspace()
        let inventory = try inventory(workspace, hosts: hosts)
        let store = try Store(path: workspace.file("keysync.db"))
        #expect(try sync(inventory, .push, store: store).summary.failed == 0)
        let old = workspace.file("kp-usersample"), new = try newKey(workspace)

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
        try store.setRotationPhase(rotationID: first.rotation, host: "h44", account: "usersample", phase: .pending)
        // The file of h45 turned root-owned after phase 1: the re-read catches what sshd would refuse.
        try fleet.exec(host: 45, ["chown", "root:root", Self.file])

        let events = LockedState<[String]>([])
        let second = try RotationRun(inventory: inventory, store: store, events: { event in
            if case let .pairFinished(pair, step, error) = event { events.withLock { $0.append("\(step.rawValue) \(pair.host)\(error == nil ? "" : " failed")") } }
        }).resume(id: first.rotation)
        let log = events.withLock { $0 }
        #expect(log.filter { $0.hasPrefix("add") } == ["add h44"], "\(log)")
        let resumedAdd = try #require(try store.runs(commands: ["rotate"]).first { $0.selection.hasSuffix(" add") })
        #expect(try store.hostResults(runID: resumedAdd.id).map { "\($0.host) \($0.status.rawValue)" } == ["h44 ok"], "h44 had both keys: nothing to write")
        #expect(second.verification == .file && second.text().contains("the login itself was not tried"))
        #expect(second.status == .failed && second.exitCode == 3)
        let h45 = try #require(second.failed.first)
        #expect(second.failed.count == 1 && h45.host == "h45" && h45.completedPhase == .added)
        #expect(h45.error?.contains("sshd would refuse the login") == true && h45.error?.contains("owned by uid 0") == true)

        // push respects the rotation: it repairs the owner and keeps both keys on h45.
        #expect(try sync(inventory, .push, store: store).summary.changed == 1)
        #expect(try fleet.login(host: 45, user: "usersample", key: old).status == 0)
        #expect(try fleet.login(host: 45, user: "usersample", key: new).status == 0)
        let third = try RotationRun(inventory: inventory, store: store).resume(id: first.rotation)
        #expect(third.status == .completed && third.exitCode == 0 && third.oldKeyRetired)
        #expect(try logins(hosts, key: new) == [0, 0, 0, 0, 0])
        #expect(try logins(hosts, key: old).allSatisfy { $0 != 0 })
        #expect(try integrity(workspace.file("keysync.db")) == "ok")
    }

    @Test func anInterruptionDuringRetireNeverLeavesAnAccountWithoutAWorkingKey() throws {
        let hosts = Array(40...44)
        try reset(hosts)
        let workspace = try Workspace()
        let inventory = try inventory(workspace, hosts: hosts)
        let store = try Store(path: workspace.file("keysync.db"))
        #expect(try sync(inventory, .push, store: store).summary.failed == 0)
        let old = workspace.file("kp-usersample"), new = try newKey(workspace)

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
        // kill -9 right after h40's write: the database still says verified.
        try store.setRotationPhase(rotationID: first.rotation, host: "h40", account: "usersample", phase: .verified)

        let second = try RotationRun(inventory: inventory, store: store).resume(id: first.rotation)
        #expect(second.status == .completed && second.exitCode == 0 && second.oldKeyRetired)
        let retire = try #require(try store.runs(commands: ["rotate"]).first)
        #expect(try store.hostResults(runID: retire.id).filter { $0.status == .ok }.map(\.host) == ["h40"])
        #expect(try logins(hosts, key: new) == [0, 0, 0, 0, 0])
        #expect(try logins(hosts, key: old).allSatisfy { $0 != 0 })
        #expect(try integrity(workspace.file("keysync.db")) == "ok")
    }
}
