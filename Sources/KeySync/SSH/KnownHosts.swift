import COpenSSL
import Foundation

/// An OpenSSH `known_hosts` file: plain and hashed (`|1|salt|hash`) host
/// patterns, `[host]:port` for non-default ports, wildcards and negation,
/// and the `@revoked` marker. `@cert-authority` lines are ignored (keysync
/// does not accept host certificates).
public struct KnownHosts: Sendable {
    /// One usable line of the file.
    struct Entry: Sendable {
        enum Hosts: Sendable {
            case patterns([String])
            case hashed(salt: [UInt8], hash: [UInt8])
        }
        var hosts: Hosts
        var revoked: Bool
        var keyType: String
        var blob: [UInt8]
    }

    /// What known_hosts says about a key a server offered.
    public enum Verdict: Equatable, Sendable {
        case match
        /// The host is known with another key of the same type.
        case mismatch
        /// The host is known, but only by other key types (`known`, in file
        /// order). keysync asks a known host for its known types first (see
        /// `SSHConnection.hostKeyPreference`), so a host that answers with
        /// another type no longer holds the known key — or is not that host.
        /// OpenSSH's accept-new would append the new key here; keysync
        /// refuses it like a changed key.
        case otherType(known: [String])
        /// known_hosts says nothing about the host: trust on first use may add it.
        case unknown
        case revoked
    }

    private(set) var entries: [Entry]
    /// Entries whose patterns are all plain names (no `*`, `?` or `!`), by
    /// lower-cased name: a check of one host out of hundreds in one file
    /// looks them up instead of matching every line (every host of a run
    /// did that twice, under the verifier's lock).
    private var byName: [String: [Int]] = [:]
    /// The other entries (hashed, wildcards, negation), matched line by line.
    private var matchedOneByOne: [Int] = []

    /// Parses known_hosts text; lines keysync cannot use are skipped, like ssh does.
    public init(contents: String) {
        entries = []
        append(contents: contents)
    }

    /// Adds the lines of `contents` after the ones read so far.
    mutating func append(contents: String) {
        for entry in contents.split(whereSeparator: \.isNewline).compactMap(Self.parseLine) {
            let index = entries.count
            entries.append(entry)
            if case .patterns(let patterns) = entry.hosts, patterns.allSatisfy({ !$0.contains(where: { "*?!".contains($0) }) }) {
                for name in Set(patterns.map { $0.lowercased() }) { byName[name, default: []].append(index) }
            } else {
                matchedOneByOne.append(index)
            }
        }
    }

    /// Loads `path`; a missing file is an empty known_hosts.
    public static func load(path: String) throws -> KnownHosts {
        guard FileManager.default.fileExists(atPath: path) else { return KnownHosts(contents: "") }
        switch FileReader.contents(of: path, atMost: 256 << 20) {
        case .success(let bytes): return KnownHosts(contents: String(decoding: bytes, as: UTF8.self))
        case .failure(let failure): throw SSHError.knownHosts(path: path, reason: "the file is not readable (\(failure.reason))")
        }
    }

    /// The name ssh looks up: `host` for port 22, `[host]:port` otherwise.
    public static func lookupName(host: String, port: Int) -> String {
        port == 22 ? host : "[\(host)]:\(port)"
    }

    /// Checks the key a server offered for `host`:`port`.
    public func verify(host: String, port: Int, keyType: String, blob: [UInt8]) -> Verdict {
        let matching = entries(for: host, port: port)
        if matching.contains(where: { $0.revoked && $0.blob == blob }) { return .revoked }
        let plain = matching.filter { !$0.revoked }
        if plain.contains(where: { $0.blob == blob }) { return .match }
        if plain.contains(where: { $0.keyType == keyType }) { return .mismatch }
        if !plain.isEmpty { return .otherType(known: knownKeyTypes(host: host, port: port)) }
        return .unknown
    }

    /// Host key types known for a host, in file order, to prefer during key exchange.
    public func knownKeyTypes(host: String, port: Int) -> [String] {
        var seen: [String] = []
        for entry in entries(for: host, port: port) where !entry.revoked && !seen.contains(entry.keyType) {
            seen.append(entry.keyType)
        }
        return seen
    }

    /// The line accept-new appends for a newly trusted key.
    public static func line(host: String, port: Int, keyType: String, blob: [UInt8]) -> String {
        "\(lookupName(host: host, port: port)) \(keyType) \(Data(blob).base64EncodedString())\n"
    }

    /// The entries that name `host`:`port`, in file order.
    func entries(for host: String, port: Int) -> [Entry] {
        let name = Self.lookupName(host: host, port: port).lowercased()
        let found = (byName[name] ?? []) + matchedOneByOne.filter { Self.matches(name: name, hosts: entries[$0].hosts) }
        return found.sorted().map { entries[$0] }
    }

    static func matches(name: String, hosts: Entry.Hosts) -> Bool {
        switch hosts {
        case let .hashed(salt, hash):
            return hmacSHA1(key: salt, data: Array(name.utf8)) == hash
        case let .patterns(patterns):
            var positive = false
            for pattern in patterns {
                if pattern.hasPrefix("!") {
                    if wildcardMatch(name, String(pattern.dropFirst()).lowercased()) { return false }
                } else if wildcardMatch(name, pattern.lowercased()) {
                    positive = true
                }
            }
            return positive
        }
    }

    static func parseLine(_ raw: Substring) -> Entry? {
        var fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let first = fields.first, !first.hasPrefix("#") else { return nil }
        var revoked = false
        if first.hasPrefix("@") {
            guard first == "@revoked" else { return nil } // @cert-authority: not supported
            revoked = true
            fields.removeFirst()
        }
        guard fields.count >= 3, let data = Data(base64Encoded: fields[2]) else { return nil }
        let hosts: Entry.Hosts
        if fields[0].hasPrefix("|1|") {
            let parts = fields[0].split(separator: "|", omittingEmptySubsequences: true)
            guard parts.count == 3, let salt = Data(base64Encoded: String(parts[1])),
                  let hash = Data(base64Encoded: String(parts[2])) else { return nil }
            hosts = .hashed(salt: [UInt8](salt), hash: [UInt8](hash))
        } else {
            hosts = .patterns(fields[0].split(separator: ",").map(String.init))
        }
        return Entry(hosts: hosts, revoked: revoked, keyType: fields[1], blob: [UInt8](data))
    }

    /// `*` and `?` glob match, as OpenSSH's `match_pattern`.
    static func wildcardMatch(_ text: String, _ pattern: String) -> Bool {
        let t = Array(text.utf8), p = Array(pattern.utf8)
        var ti = 0, pi = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == t[ti] {
                ti += 1; pi += 1
            } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    static func hmacSHA1(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = HMAC(EVP_sha1(), key, Int32(key.count), data, data.count, &out, &length)
        return Array(out.prefix(Int(length)))
    }
}
