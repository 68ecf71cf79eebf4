import Foundation
import Testing
@testable import KeySync
import Synchronization

/// The orchestrator without sshd: bad input, hosts that refuse connections,
/// and the end of a rotation (retirement, inventory update) on a store whose
/// phases are set by hand.
@Suite struct RotationRunTests {
    let newKey = RotationFixture.newKeyPath

    func request(_ key: String = "kp-usersample", new: String = RotationFixture.newKeyPath, identity: String? = nil,
                 projects: [String] = [], canary: Int = 0) -> RotationRun.Request {
        RotationRun.Request(keyName: key, newKeyPath: new, verifyIdentity: identity, projects: projects, canary: canary)
    }

    @Test func badInputIsRefusedBeforeAnythingIsRecorded() throws {
        let fixture = try RotationFixture()
        let run = fixture.run()
        let newFingerprint = try KeyImporter.importKey(contentsOf: newKey).fingerprint
        #expect(throws: RotationError.unknownKey(name: "kp-usersampel", known: ["kp-usersample", "kp-inline"])) {
            try run.start(request("kp-usersampel"))
        }
        #expect(RotationError.unknownKey(name: "kp-usersampel", known: ["kp-usersample"]).description.contains("did you mean \"kp-usersample\"?"))
        #expect(throws: RotationError.sameKey(name: "kp-usersample", fingerprint: InventoryFixtures.aliceFingerprint)) {
            try run.start(request(new: fixture.folder.file("keys/kp-usersample.pub").path))
        }
        #expect(throws: RotationError.unknownProject("nope")) { try run.start(request(projects: ["nope"])) }
        #expect(throws: RotationError.notGranted(name: "kp-inline", projects: ["billing"])) {
            try run.start(request("kp-inline", projects: ["billing"]))
        }
        #expect(throws: RotationError.identityMismatch(path: KeyFixtures.path("id_ecdsa256"), expected: newFingerprint,
                                                       found: try KeyFixtures.publicKey("id_ecdsa256.pub").fingerprint)) {
            try run.start(request(identity: KeyFixtures.path("id_ecdsa256")))
        }
        do {
            _ = try run.start(request(new: "/nonexistent.pub"))
            Issue.record("a missing --new-key was accepted")
        } catch let error as RotationError {
            #expect(error.description == "/nonexistent.pub: not a key keysync can read: /nonexistent.pub: no such file")
        }
        try fixture.store.recordRetired(fingerprint: newFingerprint, keyName: "kp-old", rotationID: nil)
        #expect(throws: RotationError.newKeyRevoked(fingerprint: newFingerprint)) { try run.start(request()) }
        #expect(try fixture.store.rotations().isEmpty)
    }

    @Test func anUnfinishedRotationBlocksANewOneAndResumeChecksItsInput() throws {
        let fixture = try RotationFixture()
        let cancellation = Cancellation()
        cancellation.cancel()
        let first = try fixture.run(cancellation: cancellation).start(request())
        #expect(first.interrupted && first.exitCode == 130 && first.status == .running)
        #expect(first.summary.pending == 5)
        #expect(throws: RotationError.unfinished(name: "kp-usersample", id: first.rotation, newFingerprint: first.newFingerprint)) {
            try fixture.run().start(request())
        }
        let run = fixture.run()
        #expect(throws: RotationError.unknownRotation(99)) { try run.resume(id: 99) }
        #expect(throws: RotationError.resumeMismatch(id: first.rotation, reason: "it rotates kp-usersample, not kp-inline")) {
            try run.resume(id: first.rotation, keyName: "kp-inline")
        }
        #expect(throws: RotationError.self) { try run.resume(id: first.rotation, newKeyPath: KeyFixtures.path("id_ecdsa256.pub")) }
        #expect(throws: RotationError.self) { try run.resume(id: first.rotation, verifyIdentity: KeyFixtures.path("id_ecdsa256")) }
    }

    /// The old key is retired by fingerprint everywhere: a second name for the
    /// same key (or the same file) would lose it without being rotated.
    @Test(arguments: ["public: \"\(RotationFixture.oldKey)\"", "file: keys/kp-usersample.pub"])
    func aKeyHeldUnderAnotherNameIsNotRotated(_ twin: String) throws {
        let fixture = try RotationFixture()
        let text = RotationFixture.inventoryText.replacingOccurrences(of: "  kp-inline:\n", with: "  kp-twin: { \(twin) }\n  kp-inline:\n")
        try fixture.reload(text)
        #expect(throws: RotationError.sharedKeyMaterial(name: "kp-usersample", others: ["kp-twin"])) { try fixture.run().start(request()) }
        #expect(try fixture.store.rotations().isEmpty)
    }

    /// Once the inventory names an unfinished rotation's new key, a second
    /// rotation of the name is still refused (it would hide the first one's
    /// stages and push keys that rotation never verified).
    @Test func anUnfinishedRotationBlocksTheNextOneAfterTheInventoryNamesItsNewKey() throws {
        let fixture = try RotationFixture()
        let cancellation = Cancellation()
        cancellation.cancel()
        let first = try fixture.run(cancellation: cancellation).start(request())
        try (try String(contentsOfFile: newKey, encoding: .utf8)).write(to: fixture.folder.file("keys/kp-usersample.pub"), atomically: true, encoding: .utf8)
        try fixture.reload()
        #expect(throws: RotationError.unfinished(name: "kp-usersample", id: first.rotation, newFingerprint: first.newFingerprint)) {
            try fixture.run().start(request(new: KeyFixtures.path("ca_ed25519.pub")))
        }
        #expect(try fixture.store.rotations().count == 1)
    }

    /// A new key revoked after the start (it leaked mid-rotation): resuming
    /// would retire the old one and leave the accounts with neither.
    @Test func resumeRefusesANewKeyRevokedSinceTheStart() throws {
        let fixture = try RotationFixture()
        let cancellation = Cancellation()
        cancellation.cancel()
        let first = try fixture.run(cancellation: cancellation).start(request())
        try fixture.complete(first.rotation, .verified)
        let text = RotationFixture.inventoryText + "\nrevoked: [\(first.newFingerprint)]\n"
        try fixture.reload(text)
        #expect(throws: RotationError.newKeyRevoked(fingerprint: first.newFingerprint)) { try fixture.run().resume(id: first.rotation) }
        #expect(try fixture.store.rotationHosts(id: first.rotation).allSatisfy { $0.completedPhase == .verified })
    }

    /// Another key type needs a real login (or the operator's word): a re-read
    /// of the file cannot show that sshd accepts the type.
    @Test func anotherKeyTypeNeedsALoginOrTheOperatorsWord() throws {
        let fixture = try RotationFixture()
        let ecdsa = KeyFixtures.path("id_ecdsa384.pub")
        #expect(throws: RotationError.keyTypeChange(old: "ssh-ed25519", new: "ecdsa-sha2-nistp384")) {
            try fixture.run().start(request(new: ecdsa))
        }
        #expect(try fixture.store.rotations().isEmpty)
        #expect(RotationError.keyTypeChange(old: "ssh-ed25519", new: "ecdsa-sha2-nistp384").description.contains("--verify-identity"))
        let cancellation = Cancellation()
        cancellation.cancel()
        var accepted = request(new: ecdsa)
        accepted.acceptKeyType = true
        #expect(try fixture.run(cancellation: cancellation).start(accepted).status == .running)
    }

    /// The rewritten key file and the retired copy keep the owner and group
    /// of the old file (a key file shared through its group stays readable).
    @Test(.enabled(if: getuid() == 0, "chown needs root"))
    func theKeyFileKeepsItsOwnerAndGroup() throws {
        let fixture = try RotationFixture()
        let path = fixture.folder.file("keys/kp-usersample.pub").path
        #expect(chown(path, 4321, 8765) == 0 && chmod(path, 0o640) == 0)
        let key = try #require(fixture.inventory.key(named: "kp-usersample"))
        let update = InventoryKeyUpdate.apply(key: key, new: try KeyImporter.importKey(contentsOf: newKey), inventoryPath: fixture.inventory.path)
        #expect(update.action == .replacedFile, "\(update)")
        for file in [path, try #require(update.retiredCopy)] {
            var info = stat()
            #expect(lstat(file, &info) == 0 && info.st_uid == 4321 && info.st_gid == 8765 && info.st_mode & 0o777 == 0o640, "\(file)")
        }
    }

    /// A host identity that cannot load stops the start before a rotation is
    /// recorded (not part way through, with a rotation that then blocks the next).
    @Test func aLoginIdentityThatCannotLoadStopsTheStart() throws {
        let fixture = try RotationFixture()
        let text = RotationFixture.inventoryText.replacingOccurrences(of: KeyFixtures.path("id_ecdsa256"), with: "/nonexistent/id_ed25519")
        try fixture.reload(text)
        #expect(throws: SyncError.self) { try fixture.run().start(request()) }
        #expect(try fixture.store.rotations().isEmpty)
    }

    /// A certificate as the new key grants nothing in authorized_keys.
    @Test func aCertificateIsNotANewKey() throws {
        let fixture = try RotationFixture()
        #expect(throws: RotationError.self) { try fixture.run().start(request(new: KeyFixtures.path("id_ed25519-cert.pub"))) }
        #expect(try fixture.store.rotations().isEmpty)
    }

    /// A `file:` that is a private key (say, also keysync's identity) is never
    /// overwritten with the new public key: the edit is described instead.
    @Test func aPrivateKeyFileIsNotOverwritten() throws {
        let fixture = try RotationFixture()
        let file = fixture.folder.file("keys/kp-usersample.pub").path
        let privateKey = try String(contentsOfFile: KeyFixtures.path("ca_ed25519"), encoding: .utf8)
        try privateKey.write(toFile: file, atomically: true, encoding: .utf8)
        try fixture.reload()
        let cancellation = Cancellation()
        cancellation.cancel()
        let id = try fixture.run(cancellation: cancellation).start(request()).rotation
        try fixture.complete(id, .retired)
        let report = try fixture.run().resume(id: id)
        #expect(report.status == .completed && report.exitCode == 0)
        let update = try #require(report.inventory)
        #expect(update.action == .editNeeded && update.line == "file: \(newKey)", "\(update)")
        #expect(update.detail.contains("holds a private key"))
        #expect(try String(contentsOfFile: file, encoding: .utf8) == privateKey)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.folder.file("keys").path) == ["kp-usersample.pub"])
    }

    @Test func aFailingCanaryStopsBeforeOtherHostsAreTouched() throws {
        let fixture = try RotationFixture()
        let events = EventLog()
        var run = fixture.run()
        run.events = { events.append($0) }
        let report = try run.start(request(canary: 1))
        #expect(report.status == .stopped && report.exitCode == 3)
        #expect(report.hosts.map(\.phase) == [.failed, .failed, .pending, .pending, .pending])
        #expect(report.failed.allSatisfy { $0.host == "web-1" && $0.completedPhase == .pending && ($0.error ?? "").contains("connect") })
        #expect(events.steps == ["add 0 2"], "only the canary's add step ran")
        #expect(report.text().contains("a canary failed, the other hosts were not touched"))
        #expect(try fixture.store.rotation(id: report.rotation)?.status == .stopped)
        #expect(try fixture.store.runs(limit: 5).map(\.command) == ["rotate"])
    }

    @Test func resumeNeverRepeatsAFinishedPhase() throws {
        let fixture = try RotationFixture()
        let cancellation = Cancellation()
        cancellation.cancel()
        let id = try fixture.run(cancellation: cancellation).start(request()).rotation
        try fixture.complete(id, .retired, hosts: ["web-1"])
        try fixture.complete(id, .verified, hosts: ["web-2"])
        let before = try fixture.store.rotationHosts(id: id)
        let events = EventLog()
        var run = fixture.run()
        run.events = { events.append($0) }
        let report = try run.resume(id: id)
        // web-1 is done; web-2 only retires; web-3 and db-1 start at add (and fail: nothing listens).
        #expect(events.pairs.sorted() == ["add db-1", "add web-3", "retire web-2"])
        let after = try fixture.store.rotationHosts(id: id)
        #expect(after.filter { $0.host == "web-1" } == before.filter { $0.host == "web-1" })
        #expect(report.hosts.map(\.completedPhase) == [.retired, .retired, .verified, .pending, .pending])
        #expect(report.status == .failed && report.exitCode == 3 && !report.oldKeyRetired)
        #expect(report.text().contains("FAILED after verified (keeps both keys)"))
    }

    @Test func completingRetiresTheOldKeyAndReplacesTheKeyFile() throws {
        let fixture = try RotationFixture()
        let cancellation = Cancellation()
        cancellation.cancel()
        let id = try fixture.run(cancellation: cancellation).start(request()).rotation
        try fixture.complete(id, .retired)
        let report = try fixture.run().resume(id: id)
        #expect(report.status == .completed && report.exitCode == 0 && report.oldKeyRetired)
        #expect(try fixture.store.retiredFingerprints() == [InventoryFixtures.aliceFingerprint])
        let update = try #require(report.inventory)
        let file = fixture.folder.file("keys/kp-usersample.pub").resolvingSymlinksInPath().path
        #expect(update.action == .replacedFile && update.path == file)
        let retiredCopy = try #require(update.retiredCopy)
        #expect(retiredCopy.hasPrefix(file + ".retired-2") && retiredCopy.count == file.count + 17)
        #expect(try String(contentsOfFile: retiredCopy, encoding: .utf8) == InventoryFixtures.alice + "\n")
        let newLine = try KeyImporter.importKey(contentsOf: newKey).openSSHLine
        #expect(try String(contentsOfFile: file, encoding: .utf8) == newLine + "\n")
        // Resuming a completed rotation changes nothing more.
        try fixture.reload()
        let again = try fixture.run().resume(id: id)
        #expect(again.inventory?.action == .alreadyUpdated && again.exitCode == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.folder.file("keys").path).count == 2)
        // A later rotation of the key from the file's new content is allowed again.
        #expect(throws: RotationError.sameKey(name: "kp-usersample", fingerprint: try KeyImporter.importKey(contentsOf: newKey).fingerprint)) {
            try fixture.run().start(request())
        }
    }

    @Test func aPartialRotationLeavesTheOldKeyInServiceUntilEveryGrantIsRotated() throws {
        let fixture = try RotationFixture()
        let cancellation = Cancellation()
        cancellation.cancel()
        let billing = try fixture.run(cancellation: cancellation).start(request(projects: ["billing"])).rotation
        try fixture.complete(billing, .retired)
        let report = try fixture.run().resume(id: billing)
        #expect(report.status == .completed && !report.oldKeyRetired && report.inventory == nil && report.exitCode == 0)
        #expect(report.remaining == ["web-1 (usersample)", "web-2 (usersample)", "web-3 (usersample)"])
        #expect(report.text().contains("old key not retired yet"))
        // Another new key for the rest is refused; the same one covers the rest only.
        #expect(throws: RotationError.otherNewKey(name: "kp-usersample", id: billing, newFingerprint: report.newFingerprint)) {
            try fixture.run().start(request(new: KeyFixtures.path("ca_ed25519.pub")))
        }
        let rest = try fixture.run(cancellation: cancellation).start(request())
        #expect(rest.hosts.map(\.account) == ["usersample", "usersample", "usersample"])
        try fixture.complete(rest.rotation, .retired)
        let done = try fixture.run().resume(id: rest.rotation)
        #expect(done.oldKeyRetired && done.inventory?.action == .replacedFile)
    }

    @Test func anInlineKeyGetsTheExactLineToPaste() throws {
        let fixture = try RotationFixture()
        let cancellation = Cancellation()
        cancellation.cancel()
        let id = try fixture.run(cancellation: cancellation).start(request("kp-inline")).rotation
        try fixture.complete(id, .retired)
        let report = try fixture.run().resume(id: id)
        let update = try #require(report.inventory)
        let newLine = try KeyImporter.importKey(contentsOf: newKey).openSSHLine
        #expect(update.action == .editNeeded && update.lineNumber == 10)
        #expect(update.line == "public: \"\(newLine)\"")
        #expect(update.detail.hasPrefix(fixture.folder.file("inventory.yml").path + ":10: key kp-inline is inline"))
        #expect(try String(contentsOf: fixture.folder.file("inventory.yml"), encoding: .utf8) == RotationFixture.inventoryText)
    }

    @Test func keyFileUpdatesKeepEveryRetiredCopyAndLeaveForeignContentAlone() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("kp.pub").path
        let old = try KeyImporter.parsePublicKeyLine(InventoryFixtures.alice)
        let new = try KeyImporter.importKey(contentsOf: newKey)
        let key = InventoryKey(name: "kp", publicKey: old, file: path)
        let day = Date(timeIntervalSince1970: 1_780_000_000)  // 2026-05-28 UTC
        for suffix in ["", "-2"] {
            try (InventoryFixtures.alice + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o640)
            let update = InventoryKeyUpdate.apply(key: key, new: new, inventoryPath: "inv.yml", date: day)
            #expect(update.retiredCopy == path + ".retired-20260528" + suffix)
            var info = stat()
            #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o640)
        }
        try (InventoryFixtures.bob + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let foreign = InventoryKeyUpdate.apply(key: key, new: new, inventoryPath: "inv.yml", date: day)
        #expect(foreign.action == .notUpdated && foreign.detail.contains("no longer holds"))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == InventoryFixtures.bob + "\n")
    }

    @Test func statusShowsTheLatestOrANamedRotation() throws {
        let fixture = try RotationFixture()
        #expect(throws: RotationError.noRotations) { try RotationRun.status(of: fixture.store) }
        let cancellation = Cancellation()
        cancellation.cancel()
        let id = try fixture.run(cancellation: cancellation).start(request(identity: RotationFixture.newPrivatePath)).rotation
        try fixture.complete(id, .added, hosts: ["web-2"])
        let status = try RotationRun.status(of: fixture.store)
        #expect(status.rotation == id && status.verification == .login && status.summary.pending == 5)
        #expect(try RotationRun.status(of: fixture.store, id: id).hosts.map(\.phase) == [.pending, .pending, .added, .pending, .pending])
        #expect(throws: RotationError.unknownRotation(id + 1)) { try RotationRun.status(of: fixture.store, id: id + 1) }
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(status)) as? [String: Any]
        #expect(Set(json?.keys ?? [:].keys) == ["rotation", "key", "old_fingerprint", "new_fingerprint", "status", "canary", "verification",
                                                "interrupted", "old_key_retired", "remaining", "inventory", "hosts", "summary"])
        // Every field is there, null when it has no value yet (as push's JSON).
        #expect(json?["inventory"] is NSNull)
        let hosts = json?["hosts"] as? [[String: Any]]
        #expect(hosts?.allSatisfy { $0["error"] is NSNull } == true)
        #expect(status.text(verbose: true).contains("  web-2 usersample: added\n"))
    }
}

/// Collects rotation events from worker threads.
final class EventLog: Sendable {
    private let events = Mutex<[RotationEvent]>([])

    func append(_ event: RotationEvent) { events.withLock { $0.append(event) } }

    /// `step wave count` per started step.
    var steps: [String] {
        events.withLock { events in
            events.compactMap { if case let .stepStarted(step, wave, count) = $0 { "\(step.rawValue) \(wave) \(count)" } else { nil } }
        }
    }

    /// `step host` per finished pair.
    var pairs: [String] {
        events.withLock { events in
            events.compactMap { if case let .pairFinished(pair, step, _) = $0 { "\(step.rawValue) \(pair.host)" } else { nil } }
        }
    }
}
