import Foundation
import Testing
@testable import KeySync

/// A writable folder with an inventory for rotation tests: `kp-usersample`
/// (a `file:` key with options) granted to `usersample` on web-1..3 and to
/// `billing` on web-1 and db-1, plus an inline key. Hosts point at a closed
/// loopback port, so any connection is refused at once.
final class RotationFixture {
    let folder: TemporaryFolder
    let store: Store
    var inventory: Inventory

    static let oldKey = InventoryFixtures.alice
    static let inlineKey = InventoryFixtures.bob
    /// The new key (fixture `id_ed25519`: private key and `.pub`).
    static let newKeyPath = KeyFixtures.path("id_ed25519.pub")
    static let newPrivatePath = KeyFixtures.path("id_ed25519")

    init() throws {
        folder = try TemporaryFolder("keysync-rotation")
        try FileManager.default.createDirectory(at: folder.file("keys"), withIntermediateDirectories: true)
        try (Self.oldKey + "\n").write(to: folder.file("keys/kp-usersample.pub"), atomically: true, encoding: .utf8)
        try "".write(to: folder.file("known_hosts"), atomically: true, encoding: .utf8)
        try Self.inventoryText.write(to: folder.file("inventory.yml"), atomically: true, encoding: .utf8)
        inventory = try Inventory.load(path: folder.file("inventory.yml").path)
        store = try Store.inMemory()
    }

    deinit { folder.remove() }

    static var inventoryText: String {
        """
        defaults:
          user: ops
          port: 1
          identity: \(KeyFixtures.path("id_ecdsa256"))
          known_hosts: known_hosts
          connect_timeout: 2
        keys:
          kp-usersample: { file: keys/kp-usersample.pub, options: 'no-agent-forwarding' }
          kp-inline:
            public: "\(inlineKey)"
        hosts:
          web-1: { address: 127.0.0.1 }
          web-2: { address: 127.0.0.2 }
          web-3: { address: 127.0.0.3 }
          db-1: { address: 127.0.0.4 }
        projects:
          usersample:
            hosts: [web-1, web-2, web-3]
            roles:
              deploy: { account: usersample, keys: [kp-usersample] }
              ops: { account: ops2, keys: [kp-inline] }
          billing:
            hosts: [web-1, db-1]
            roles:
              deploy: { account: billing, keys: [kp-usersample] }
        """
    }

    /// Reads the inventory again, after writing `text` over it when given.
    func reload(_ text: String? = nil) throws {
        if let text { try text.write(to: folder.file("inventory.yml"), atomically: true, encoding: .utf8) }
        inventory = try Inventory.load(path: folder.file("inventory.yml").path)
    }

    func run(cancellation: Cancellation = Cancellation()) -> RotationRun {
        RotationRun(inventory: inventory, store: store, parallel: 4, cancellation: cancellation)
    }

    /// Marks every row of rotation `id` (or only those on `hosts`) as having completed `phase`.
    func complete(_ id: Int64, _ phase: Store.RotationPhase, hosts: Set<String>? = nil) throws {
        for row in try store.rotationHosts(id: id) where hosts?.contains(row.host) ?? true {
            for step in RotationStep.allCases where step.phase <= phase {
                try store.setRotationPhase(rotationID: id, host: row.host, account: row.account, phase: step.phase)
            }
        }
    }

    func pair(_ host: String, _ account: String) -> RotationPair { RotationPair(host: host, account: account) }
}
