import Foundation

/// Where and how to reach one host.
public struct SSHEndpoint: Hashable, Sendable {
    /// Inventory name, used in messages.
    public var name: String
    public var address: String
    public var port: Int
    public var user: String
    public var connectTimeout: Double
    public var hostKeyPolicy: HostKeyPolicy

    public init(name: String, address: String, port: Int = 22, user: String,
                connectTimeout: Double = 10, hostKeyPolicy: HostKeyPolicy) {
        self.name = name
        self.address = address
        self.port = port
        self.user = user
        self.connectTimeout = connectTimeout
        self.hostKeyPolicy = hostKeyPolicy
    }

    /// `name (address:port)`, or just the address when they are the same;
    /// an IPv6 address in brackets (`[2001:db8::7]:22`).
    public var label: String {
        name == address ? hostPort : "\(name) (\(hostPort))"
    }

    /// `address:port`, `[address]:port` for IPv6.
    public var hostPort: String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
