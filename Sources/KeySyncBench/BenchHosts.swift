import Foundation
import KeySync

/// The inventory's hosts and their login keys, connected to as the engine
/// connects (one connection, host key checked against known_hosts): what
/// `keysync-bench transport` and `stress` share.
struct BenchHosts {
    let inventory: Inventory
    private let identities: [String: SSHIdentity]
    private let verifier = HostKeyVerifier()

    /// Loads the inventory at `path` and every identity file its hosts name.
    init(inventoryPath path: String) throws {
        inventory = try Inventory.load(path: path)
        var identities: [String: SSHIdentity] = [:]
        for host in inventory.hosts {
            if case .identity(let file) = host.credential, identities[file] == nil {
                identities[file] = try SSHIdentity.load(.file(path: file))
            }
        }
        self.identities = identities
    }

    /// An authenticated connection to `host`; nil when it logs in with no identity file (the agent).
    func connect(_ host: InventoryHost) throws(SSHError) -> SSHConnection? {
        guard case .identity(let file) = host.credential, let identity = identities[file] else { return nil }
        let endpoint = SSHEndpoint(name: host.name, address: host.address, port: host.port, user: host.user,
                                   connectTimeout: host.connectTimeout, hostKeyPolicy: .knownHosts(path: host.knownHosts))
        let connection = try SSHConnection(endpoint: endpoint, hostKeys: verifier)
        try connection.authenticate(with: identity)
        return connection
    }
}
