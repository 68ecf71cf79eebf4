/// OpenSSH's pattern matching (`match.c`, `addrmatch.c`), as sshd applies
/// it to AllowUsers, DenyUsers, AllowGroups, DenyGroups and
/// PubkeyAcceptedAlgorithms.
enum SSHDMatch {
    /// `match_pattern`: `*` and `?` wildcards, case-sensitive.
    static func pattern(_ string: String, _ pattern: String) -> Bool {
        let s = Array(string.unicodeScalars), p = Array(pattern.unicodeScalars)
        var si = 0, pi = 0, star: Int?, mark = 0
        while si < s.count {
            if pi < p.count, p[pi] == "?" || p[pi] == s[si] {
                si += 1; pi += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi; mark = si; pi += 1
            } else if let star {
                pi = star + 1; mark += 1; si = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// `match_pattern_list`: a comma-separated list with `!` negation;
    /// true when some entry matches and no negated one does.
    static func list(_ string: String, _ list: String) -> Bool {
        var positive = false
        for entry in list.split(separator: ",") {
            let negated = entry.hasPrefix("!")
            guard pattern(string, String(negated ? entry.dropFirst() : entry)) else { continue }
            if negated { return false }
            positive = true
        }
        return positive
    }

    /// `match_user`: `USER` or `USER@HOST`, where HOST is a pattern list of
    /// names, addresses and CIDR blocks checked against `host` and `address`.
    static func user(_ user: String, host: String?, address: String?, pattern entry: String) -> Bool {
        guard let at = entry.lastIndex(of: "@") else { return pattern(user, entry) }
        guard pattern(user, String(entry[..<at])) else { return false }
        guard let host, let address else { return false }
        return hostAndAddress(host: host, address: address, list: String(entry[entry.index(after: at)...]))
    }

    /// `match_host_and_ip`: a negated match of either wins; otherwise any match.
    static func hostAndAddress(host: String, address: String, list: String) -> Bool {
        var positive = false
        for entry in list.split(separator: ",") {
            let negated = entry.hasPrefix("!")
            let body = String(negated ? entry.dropFirst() : entry)
            let matched = cidr(address, body) ?? (pattern(address, body) || pattern(host.lowercased(), body.lowercased()))
            guard matched else { continue }
            if negated { return false }
            positive = true
        }
        return positive
    }

    /// Whether `address` is in `block` (`10.0.0.0/8`, `::1`, `192.0.2.7`); nil when `block` is not an address.
    static func cidr(_ address: String, _ block: String) -> Bool? {
        let parts = block.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let network = IPAddress.bytes(of: String(parts[0])) else { return nil }
        let bits = parts.count == 2 ? Int(parts[1]) ?? -1 : network.count * 8
        guard (0...network.count * 8).contains(bits), let mine = IPAddress.bytes(of: address), mine.count == network.count else {
            return parts.count == 2 ? false : nil
        }
        for index in 0..<network.count {
            let mask = IPAddress.mask(bits: bits, byte: index)
            if mine[index] & mask != network[index] & mask { return false }
        }
        return true
    }
}
