import Foundation

/// Writing inventory YAML for drafts (`keysync adopt`, `keysync inventory
/// import`). Every value may come from a host or a file someone else wrote,
/// so nothing is pasted raw: a scalar is written plain only when it is
/// nothing but name-like characters YAML reads as the same string, anything
/// else double-quoted with every control and line-separator character
/// escaped; comment lines are escaped the same way, so no value can end a
/// line, open a mapping or make Yams refuse the file.
enum InventoryYAML {
    /// Words YAML 1.1 resolvers read as booleans or null.
    private static let reserved: Set<String> = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"]

    /// `text` as a plain scalar when that is safe, else double-quoted.
    static func scalar(_ text: String) -> String {
        let bytes = Array(text.utf8)
        func plain(_ b: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || "._-@/".utf8.contains(b)
        }
        guard let first = bytes.first, first != UInt8(ascii: "-"), first != UInt8(ascii: "@"),
              bytes.allSatisfy(plain), !reserved.contains(text.lowercased()),
              // 1.5, 1e3, 0x1F, .inf: anything a resolver could take for a number
              !(bytes.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: ".") }
                && bytes.filter { $0 == UInt8(ascii: ".") }.count <= 1),
              !text.hasPrefix("0x"), !text.hasPrefix("0o"), !text.hasPrefix("."),
              Double(text) == nil else { return quoted(text) }
        return text
    }

    /// `text` double-quoted: `"` and `\` escaped, unsafe characters as YAML escapes.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.isUnsafeInText || scalar.value == 0xFFFE || scalar.value == 0xFFFF || scalar.value == 0xFEFF {
                    out += UnsafeText.escape(scalar)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Host text made safe inside a `#` comment: one line, no control characters.
    static func commentText(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.isUnsafeInText || scalar.value == 0xFFFE || scalar.value == 0xFFFF || scalar.value == 0xFEFF {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `[a, b, "c d"]`.
    static func flowList(_ items: [String]) -> String { "[" + items.map(scalar).joined(separator: ", ") + "]" }

    /// A number of seconds as written in an inventory: `10`, `2.5`.
    static func seconds(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// A host as a drafted inventory writes it: a name, an address and only
/// the settings given for it (nil: not written).
public struct DraftHost: Hashable, Sendable {
    public var name: String
    public var address: String
    public var port: Int?
    public var user: String?
    public var identity: String?
    public var agent: Bool?
    public var knownHosts: String?
    public var become: Become?
    public var connectTimeout: Double?
    public var commandTimeout: Double?
    /// Groups in the order written, without repeats.
    public var groups: [String]
    /// The jump hosts on the way (`jump:`), outermost first: a host's name
    /// and, for a jump host not in the draft, `user@address:port`.
    public var jumps: [Jump] = []
    /// `manage_sshd: true`.
    public var manageSSHD = false

    /// One jump host as a drafted `jump:` can name it.
    public struct Jump: Hashable, Sendable {
        public var name: String
        public var reference: String
    }

    /// A host with only an address (and what is given).
    public init(name: String, address: String, port: Int? = nil, user: String? = nil, groups: [String] = []) {
        self.name = name
        self.address = address
        self.port = port
        self.user = user
        self.groups = groups
    }

    /// Every setting of a loaded (or built) inventory host, resolved.
    public init(_ host: InventoryHost) {
        self.init(name: host.name, address: host.address, port: host.port, user: host.user.isEmpty ? nil : host.user,
                  groups: host.groups)
        switch host.credential {
        case .identity(let path): identity = path
        case .agent: agent = true
        }
        knownHosts = host.knownHosts
        become = host.become
        connectTimeout = host.connectTimeout
        commandTimeout = host.commandTimeout
        // The way adopt reached the host is the way the draft must reach it.
        jumps = host.jumps.map { jump in
            let address = jump.address.contains(":") ? "[\(jump.address)]" : jump.address
            return Jump(name: jump.name, reference: "\(jump.user)@\(address):\(jump.port)")
        }
        manageSSHD = host.manageSSHD
    }
}

/// `defaults:` and `hosts:` of a drafted inventory.
struct DraftHostsSection {
    /// The defaults lines (`  user: ops`), empty when there are none.
    var defaults: [String] = []
    /// One `  NAME: { address: …, … }` line per host.
    var hosts: [String] = []

    /// Settings every host shares go to `defaults:` (so the file reads like
    /// one written by hand); built-in values (port 22, become sudo, the
    /// default timeouts) are left out; what differs stays on the host.
    init(_ hosts: [DraftHost], parallel: Int? = nil) {
        let names = Set(hosts.map(\.name))
        func shared<T: Equatable>(_ value: (DraftHost) -> T?) -> T? {
            guard let first = hosts.first.flatMap(value) else { return nil }
            return hosts.allSatisfy { value($0) == first } ? first : nil
        }
        let user = shared(\.user), identity = shared(\.identity), agent = shared(\.agent)
        let knownHosts = shared(\.knownHosts), become = shared(\.become), port = shared(\.port)
        let connect = shared(\.connectTimeout), command = shared(\.commandTimeout)
        if let user { defaults.append("  user: \(InventoryYAML.scalar(user))") }
        if let port, port != 22 { defaults.append("  port: \(port)") }
        if let identity { defaults.append("  identity: \(InventoryYAML.scalar(identity))") }
        if agent == true { defaults.append("  agent: true") }
        if let knownHosts { defaults.append("  known_hosts: \(InventoryYAML.scalar(knownHosts))") }
        if let become, become != .sudo { defaults.append("  become: \(become.rawValue)") }
        if let connect, connect != 10 { defaults.append("  connect_timeout: \(InventoryYAML.seconds(connect))") }
        if let command, command != 30 { defaults.append("  command_timeout: \(InventoryYAML.seconds(command))") }
        if let parallel, parallel != 64 { defaults.append("  parallel: \(parallel)") }
        for host in hosts {
            var fields = ["address: \(InventoryYAML.scalar(host.address))"]
            if let value = host.port, port == nil, value != 22 { fields.append("port: \(value)") }
            if let value = host.user, user == nil { fields.append("user: \(InventoryYAML.scalar(value))") }
            if let value = host.identity, identity == nil { fields.append("identity: \(InventoryYAML.scalar(value))") }
            if host.agent == true, agent == nil { fields.append("agent: true") }
            if let value = host.knownHosts, knownHosts == nil { fields.append("known_hosts: \(InventoryYAML.scalar(value))") }
            if let value = host.become, become == nil, value != .sudo { fields.append("become: \(value.rawValue)") }
            if let value = host.connectTimeout, connect == nil, value != 10 { fields.append("connect_timeout: \(InventoryYAML.seconds(value))") }
            if let value = host.commandTimeout, command == nil, value != 30 { fields.append("command_timeout: \(InventoryYAML.seconds(value))") }
            if !host.groups.isEmpty { fields.append("groups: \(InventoryYAML.flowList(host.groups))") }
            // A jump host in the draft by its name; one that is not, by where it was reached.
            if !host.jumps.isEmpty {
                fields.append("jump: \(InventoryYAML.flowList(host.jumps.map { names.contains($0.name) ? $0.name : $0.reference }))")
            }
            if host.manageSSHD { fields.append("manage_sshd: true") }
            self.hosts.append("  \(InventoryYAML.scalar(host.name)): { \(fields.joined(separator: ", ")) }")
        }
    }

    /// `defaults:` (when any) and `hosts:`, each line ending in a line feed.
    var text: String {
        var out = ""
        if !defaults.isEmpty { out += "defaults:\n" + defaults.map { $0 + "\n" }.joined() }
        out += hosts.isEmpty ? "hosts: {}\n" : "hosts:\n" + hosts.map { $0 + "\n" }.joined()
        return out
    }
}
