/// One jump host on the way to a host (`jump:`, like OpenSSH's `ProxyJump`),
/// with everything needed to log in to it.
///
/// A jump named after a host under `hosts:` takes that host's address, port,
/// user, credential, known_hosts and connect timeout; one written as
/// `[user@]address[:port]` takes the rest from `defaults`.
public struct InventoryJump: Hashable, Sendable {
    /// The host's name under `hosts:`, or the reference as written (`ops@10.0.0.1:2222`).
    public var name: String
    /// IPv4, IPv6 (no brackets) or DNS name.
    public var address: String
    public var port: Int
    /// Login user on the jump host.
    public var user: String
    public var credential: SSHCredential
    /// known_hosts file that must hold the jump host's key (absolute path).
    public var knownHosts: String
    public var connectTimeout: Double

    /// A jump host.
    public init(name: String, address: String, port: Int = 22, user: String, credential: SSHCredential,
                knownHosts: String, connectTimeout: Double = 10) {
        self.name = name
        self.address = address
        self.port = port
        self.user = user
        self.credential = credential
        self.knownHosts = knownHosts
        self.connectTimeout = connectTimeout
    }

    /// The jump host that is inventory host `host`.
    init(_ host: InventoryHost) {
        self.init(name: host.name, address: host.address, port: host.port, user: host.user,
                  credential: host.credential, knownHosts: host.knownHosts, connectTimeout: host.connectTimeout)
    }

    /// Splits `[user@]address[:port]` (IPv6 as `[address]:port`, or bare
    /// without a port); nil parts were not given. Throws a reason when malformed.
    static func split(_ reference: String) -> Result<(user: String?, address: String, port: Int?), JumpReferenceProblem> {
        var rest = Substring(reference)
        var user: String?
        if let at = rest.lastIndex(of: "@") {
            user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
            if user!.isEmpty { return .failure(.init("has an empty user before @")) }
        }
        var port: Int?
        var address: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return .failure(.init("has [ without ]")) }
            address = rest[rest.index(after: rest.startIndex)..<close]
            let tail = rest[rest.index(after: close)...]
            if !tail.isEmpty {
                guard tail.hasPrefix(":"), let value = Int(tail.dropFirst()) else { return .failure(.init("has something other than :PORT after ]")) }
                port = value
            }
        } else if rest.filter({ $0 == ":" }).count == 1, let colon = rest.firstIndex(of: ":") {
            address = rest[..<colon]
            guard let value = Int(rest[rest.index(after: colon)...]) else { return .failure(.init("has a port that is not a number")) }
            port = value
        } else {
            address = rest
        }
        if let port, !(1...65535).contains(port) { return .failure(.init("has port \(port) out of range (1 to 65535)")) }
        if address.isEmpty { return .failure(.init("has no address")) }
        return .success((user, String(address), port))
    }

    /// Why a `[user@]address[:port]` jump reference was refused.
    struct JumpReferenceProblem: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
