import Foundation
import Testing
@testable import KeySync

@Suite struct StoreRotationTests {
    @Test(arguments: Backing.allCases)
    func phasesRoundTrip(_ backing: Backing) throws {
        try withStore(backing) { store in
            let id = try store.createRotation(
                keyName: "kp-usersample", oldFingerprint: "SHA256:old", newFingerprint: "SHA256:new", canary: 1,
                options: ["verify_identity": "/keys/new", "project": "usersample"],
                targets: [("web-1", "usersample"), ("web-2", "usersample"), ("db-1", "usersample")], startedAt: hour(0))
            let rotation = try #require(try store.rotation(id: id))
            #expect(rotation.keyName == "kp-usersample" && rotation.status == .running && rotation.canary == 1)
            #expect(rotation.optionValues == ["verify_identity": "/keys/new", "project": "usersample"])
            #expect(try store.rotationHosts(id: id).map(\.host) == ["web-1", "web-2", "db-1"])
            #expect(try store.rotationHosts(id: id).allSatisfy { $0.phase == .pending && $0.completedPhase == .pending })

            for phase in [Store.RotationPhase.added, .verified, .retired] {
                try store.setRotationPhase(rotationID: id, host: "web-1", account: "usersample", phase: phase, at: hour(1))
            }
            try store.setRotationPhase(rotationID: id, host: "web-2", account: "usersample", phase: .added, at: hour(1))
            try store.setRotationPhase(rotationID: id, host: "web-2", account: "usersample", phase: .failed,
                                       error: "login as usersample refused: account locked", at: hour(2))
            var hosts = try store.rotationHosts(id: id)
            #expect(hosts.map(\.phase) == [.retired, .failed, .pending])
            #expect(hosts.map(\.completedPhase) == [.retired, .added, .pending])
            #expect(hosts[1].error == "login as usersample refused: account locked" && hosts[1].updatedAt == hour(2))

            // Resuming: the failed host retries verification; the error clears.
            try store.setRotationPhase(rotationID: id, host: "web-2", account: "usersample", phase: .verified)
            hosts = try store.rotationHosts(id: id)
            #expect(hosts[1].phase == .verified && hosts[1].completedPhase == .verified && hosts[1].error == nil)

            try store.finishRotation(id: id, status: .failed, finishedAt: hour(3))
            #expect(try store.rotation(id: id)?.status == .failed && store.rotation(id: id)?.finishedAt == hour(3))
            #expect(try store.latestRotation()?.id == id)
            #expect(Store.RotationPhase.added < .verified && Store.RotationPhase.verified < .retired)
        }
    }

    @Test func unknownRotationsAndHostsAreErrors() throws {
        let store = try Store.inMemory()
        #expect(try store.latestRotation() == nil)
        let id = try store.createRotation(keyName: "kp", oldFingerprint: "a", newFingerprint: "b", targets: [("web-1", "u")])
        #expect(throws: StoreError.unknownRotation(path: ":memory:", id: id, host: "web-9 (u)")) {
            try store.setRotationPhase(rotationID: id, host: "web-9", account: "u", phase: .added)
        }
        #expect(throws: StoreError.unknownRotation(path: ":memory:", id: 77, host: nil)) {
            try store.setRotationPhase(rotationID: 77, host: "web-1", account: "u", phase: .added)
        }
        #expect(throws: StoreError.unknownRotation(path: ":memory:", id: 77, host: nil)) {
            try store.finishRotation(id: 77, status: .completed)
        }
        // A second rotation of the name while the first is not finished: refused in the inserting transaction.
        #expect(throws: Store.RotationInProgress(keyName: "kp", id: id, newFingerprint: "b")) {
            try store.createRotation(keyName: "kp", oldFingerprint: "b", newFingerprint: "c", targets: [])
        }
        try store.finishRotation(id: id, status: .completed)
        let second = try store.createRotation(keyName: "kp", oldFingerprint: "b", newFingerprint: "c", targets: [])
        #expect(try store.rotations().map(\.id) == [second, id])
    }

    @Test func retiredKeysKeepTheirFirstRecord() throws {
        let store = try Store.inMemory()
        let id = try store.createRotation(keyName: "kp-usersample", oldFingerprint: "SHA256:old", newFingerprint: "SHA256:new", targets: [])
        try store.recordRetired(fingerprint: "SHA256:old", keyName: "kp-usersample", rotationID: id, at: hour(0))
        try store.recordRetired(fingerprint: "SHA256:old", keyName: "renamed", rotationID: nil, at: hour(5))
        try store.recordRetired(fingerprint: "SHA256:older", keyName: "kp-legacy", rotationID: nil, at: hour(1))
        #expect(try store.retiredFingerprints() == ["SHA256:old", "SHA256:older"])
        let retired = try store.retiredKeys()
        #expect(retired.map(\.keyName) == ["kp-usersample", "kp-legacy"])
        #expect(retired[0].rotationID == id && retired[0].retiredAt == hour(0))
    }
}
