import Foundation
import Testing
@testable import KeySync

@Suite struct RotationOverlayTests {
    let old = try! KeyImporter.parsePublicKeyLine(InventoryFixtures.alice)
    let new = try! KeyImporter.importKey(contentsOf: RotationFixture.newKeyPath)

    func entries(_ targets: [HostTarget], _ host: String, _ account: String) -> [String] {
        let target = targets.first { $0.host.name == host }
        return target?.accounts.first { $0.name == account }?.blocks.flatMap(\.entries).map { "\($0.keyName) \($0.key.fingerprint) \($0.options ?? "-")" } ?? []
    }

    @Test func stagesReplaceTheKeyPerAccountKeepingItsOptions() throws {
        let fixture = try RotationFixture()
        let targets = try fixture.inventory.select()
        let overlay = RotationOverlay([RotationOverlay.Key(
            name: "kp-usersample", old: old, new: new,
            stages: [fixture.pair("web-1", "usersample"): .both, fixture.pair("web-2", "usersample"): .new,
                     fixture.pair("web-1", "billing"): .old],
            otherwise: .old)])
        let staged = overlay.apply(to: targets)
        let (o, n) = ("kp-usersample \(old.fingerprint) no-agent-forwarding", "kp-usersample \(new.fingerprint) no-agent-forwarding")
        #expect(entries(staged, "web-1", "usersample") == [o, n])
        #expect(entries(staged, "web-1", "billing") == [o])
        #expect(entries(staged, "web-2", "usersample") == [n])
        #expect(entries(staged, "web-3", "usersample") == [o])
        // Other keys are untouched.
        #expect(staged.map { $0.accounts.first { $0.name == "ops2" }?.blocks } == targets.map { $0.accounts.first { $0.name == "ops2" }?.blocks })
        var retiredEverywhere = overlay
        retiredEverywhere.keys["kp-usersample"]?.otherwise = .new
        #expect(entries(retiredEverywhere.apply(to: targets), "db-1", "billing") == [n])
        #expect(RotationOverlay().apply(to: targets) == targets)
    }

    @Test func addingAndRetiringProducesTheRightFileContent() throws {
        let fixture = try RotationFixture()
        let target = try #require(try fixture.inventory.select(hosts: ["web-2"]).first)
        let current = SyncKeys.block(project: "usersample", role: "deploy", ["no-agent-forwarding " + old.openSSHLine])
            + "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 unmanaged, kept\n"
        let probe = try FakeProbe.probe([.existing("usersample", content: Array(current.utf8))])
        func planned(_ stage: RotationStage, revoked: Set<String> = []) -> String {
            let key = RotationOverlay.Key(name: "kp-usersample", old: old, new: new, stages: [fixture.pair("web-2", "usersample"): stage], otherwise: .old)
            var staged = RotationOverlay([key]).apply(to: [target])[0]
            staged.accounts.removeAll { $0.name != "usersample" }
            let plan = SyncPlanner.plan(probe: probe, accounts: staged.accounts, options: PlanOptions(revoked: revoked))
            return String(decoding: plan.accounts[0].newContent ?? [], as: UTF8.self)
        }
        let both = planned(.both)
        #expect(both == SyncKeys.block(project: "usersample", role: "deploy",
                                       ["no-agent-forwarding " + old.openSSHLine, "no-agent-forwarding " + new.openSSHLine])
            + "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 unmanaged, kept\n")
        let retired = planned(.new, revoked: [old.fingerprint])
        #expect(retired == SyncKeys.block(project: "usersample", role: "deploy", ["no-agent-forwarding " + new.openSSHLine])
            + "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 unmanaged, kept\n")
    }

    @Test func loadFollowsTheStoredPhasesAndTheRetirement() throws {
        let fixture = try RotationFixture()
        let store = fixture.store
        #expect(try RotationOverlay.load(from: store, inventory: fixture.inventory).keys.isEmpty)
        let report = try fixture.run(cancellation: cancelled()).start(.init(keyName: "kp-usersample", newKeyPath: RotationFixture.newKeyPath))
        let id = report.rotation
        try store.setRotationPhase(rotationID: id, host: "web-1", account: "usersample", phase: .added)
        try fixture.complete(id, .retired, hosts: ["web-2"])
        try store.setRotationPhase(rotationID: id, host: "web-3", account: "usersample", phase: .failed, error: "down")

        var overlay = try RotationOverlay.load(from: store, inventory: fixture.inventory)
        var key = try #require(overlay.keys["kp-usersample"])
        #expect(key.old == old && key.new == new && key.otherwise == .old)
        #expect(key.stages[fixture.pair("web-1", "usersample")] == .both)
        #expect(key.stages[fixture.pair("web-2", "usersample")] == .new)
        #expect(key.stages[fixture.pair("web-3", "usersample")] == .old)

        // Retired everywhere (the inventory still names the old key): accounts outside the rotation get the new one.
        try store.recordRetired(fingerprint: old.fingerprint, keyName: "kp-usersample", rotationID: id)
        overlay = try RotationOverlay.load(from: store, inventory: fixture.inventory)
        key = try #require(overlay.keys["kp-usersample"])
        #expect(key.otherwise == .new)

        // The inventory edited to the new key while some accounts are mid-rotation: they keep both.
        try ("ssh-ed25519 " + new.base64 + "\n").write(to: fixture.folder.file("keys/kp-usersample.pub"), atomically: true, encoding: .utf8)
        try fixture.reload()
        overlay = try RotationOverlay.load(from: store, inventory: fixture.inventory)
        #expect(overlay.keys["kp-usersample"]?.stages[fixture.pair("web-1", "usersample")] == .both)
        try fixture.complete(id, .retired)
        try store.finishRotation(id: id, status: .completed)
        #expect(try RotationOverlay.load(from: store, inventory: fixture.inventory).keys.isEmpty, "nothing left to stage")
    }

    func cancelled() -> Cancellation {
        let cancellation = Cancellation()
        cancellation.cancel()
        return cancellation
    }
}
