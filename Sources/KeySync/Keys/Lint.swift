import Foundation

/// Something wrong with an `authorized_keys` line.
public struct KeyProblem: Hashable, Sendable, CustomStringConvertible {
    /// `error`: sshd skips the line. `warning`: sshd reads it, but it will not work as meant or is weak.
    public enum Severity: String, Hashable, Sendable { case error, warning }

    /// What is wrong.
    public enum Kind: Hashable, Sendable {
        /// sshd skips the line, for this reason.
        case invalid(String)
        /// `expiry-time` has passed: sshd refuses the key.
        case expired(Date)
        /// `principals=` without `cert-authority`: sshd refuses the key.
        case principalsWithoutCertAuthority
        /// A `from=` pattern sshd cannot evaluate: it refuses every login with the key.
        case badFromPattern(String)
        /// RSA modulus under 2048 bits.
        case weakRSA(bits: Int)
        /// DSA: refused by default since OpenSSH 7.0.
        case dsa
        /// An `ssh-rsa` key: clients must sign with rsa-sha2-256/512.
        case sshRSA
        /// The same key as an earlier line; sshd uses the first.
        case duplicate(ofLine: Int)
        /// A keysync marker that does not form a managed block.
        case marker(String)
    }

    /// What is wrong.
    public let kind: Kind
    /// A problem of `kind`.
    public init(_ kind: Kind) { self.kind = kind }

    /// `error` for invalid lines, `warning` for the rest.
    public var severity: Severity {
        if case .invalid = kind { .error } else { .warning }
    }

    /// A stable identifier for scripts: `invalid`, `expired`, `principals-without-cert-authority`,
    /// `bad-from`, `weak-rsa`, `dsa`, `ssh-rsa`, `duplicate`, `marker`.
    public var code: String {
        switch kind {
        case .invalid: "invalid"
        case .expired: "expired"
        case .principalsWithoutCertAuthority: "principals-without-cert-authority"
        case .badFromPattern: "bad-from"
        case .weakRSA: "weak-rsa"
        case .dsa: "dsa"
        case .sshRSA: "ssh-rsa"
        case .duplicate: "duplicate"
        case .marker: "marker"
        }
    }

    /// One sentence saying what is wrong and what sshd does about it.
    public var description: String {
        switch kind {
        case .invalid(let reason):
            return "\(reason); sshd skips this line"
        case .expired(let date):
            return "expiry-time \(ISO8601DateFormatter().string(from: date)) has passed; sshd refuses this key"
        case .principalsWithoutCertAuthority:
            return "principals= without cert-authority; sshd refuses this key"
        case .badFromPattern(let pattern):
            return "from= entry \(KeyBlob.quoted(pattern)) is malformed; sshd refuses every login with this key"
        case .weakRSA(let bits):
            return "RSA key of \(bits) bits; use at least 2048 (better: ed25519)"
        case .dsa:
            return "DSA key; OpenSSH refuses DSA by default since 7.0"
        case .sshRSA:
            return "ssh-rsa key; clients must sign with rsa-sha2-256/512 (SHA-1 signatures are refused since OpenSSH 8.8)"
        case .duplicate(let line):
            return "duplicate of line \(line); sshd uses the first"
        case .marker(let message):
            return message
        }
    }
}

/// One line of a lint report.
public struct LineLint: Hashable, Sendable {
    /// The line.
    public let line: AuthorizedKeysFile.Line
    /// Its problems; empty for a clean line.
    public let problems: [KeyProblem]
}

extension AuthorizedKeysFile {
    /// Every line with its problems, in order; `now` decides what has expired.
    public func lint(now: Date) -> [LineLint] {
        var firstLine: [PublicKey: Int] = [:]
        var markers: [Int: [KeyProblem]] = [:]
        for problem in markerProblems { markers[problem.line, default: []].append(KeyProblem(.marker(problem.message))) }
        return lines.map { line in
            var problems = markers[line.number] ?? []
            switch line.kind {
            case .invalid(let reason):
                problems.append(KeyProblem(.invalid(reason)))
            case .key(let entry):
                problems += Self.warnings(for: entry, now: now)
                if let earlier = firstLine[entry.key] {
                    problems.append(KeyProblem(.duplicate(ofLine: earlier)))
                } else {
                    firstLine[entry.key] = line.number
                }
            case .blank, .comment:
                break
            }
            return LineLint(line: line, problems: problems)
        }
    }

    /// What in options sshd parses makes it refuse the key: an expiry-time
    /// already past, `principals=` without `cert-authority`, a malformed
    /// `from=` entry (the inventory loader refuses the last two outright).
    public static func optionProblems(_ options: AuthorizedKeyOptions, now: Date) -> [KeyProblem] {
        var problems: [KeyProblem] = []
        if let expiry = options.expiry, expiry <= now { problems.append(KeyProblem(.expired(expiry))) }
        if options.contains("principals"), !options.isCertAuthority {
            problems.append(KeyProblem(.principalsWithoutCertAuthority))
        }
        for pattern in options.values("from").flatMap(FromPattern.malformedEntries) {
            problems.append(KeyProblem(.badFromPattern(pattern)))
        }
        return problems
    }

    /// Warnings for one valid entry (everything but duplicates).
    public static func warnings(for entry: AuthorizedKeyEntry, now: Date) -> [KeyProblem] {
        var problems = entry.options.map { optionProblems($0, now: now) } ?? []
        guard let type = entry.key.keyType else { return problems }
        if type.isRSA {
            if let bits = entry.key.bits, bits < 2048 { problems.append(KeyProblem(.weakRSA(bits: bits))) }
            problems.append(KeyProblem(.sshRSA))
        }
        if type.isDSA { problems.append(KeyProblem(.dsa)) }
        return problems
    }
}

/// `from=` pattern lists as sshd's `addr_match_list` sees them.
enum FromPattern {
    /// Entries that make `addr_match_list` fail (empty entries, CIDR blocks
    /// with a bad mask length or host bits set), so that sshd denies every login.
    static func malformedEntries(_ list: String) -> [String] {
        list.split(separator: ",", omittingEmptySubsequences: false).compactMap { raw in
            let entry = raw.hasPrefix("!") ? raw.dropFirst() : raw[...]
            if entry.isEmpty { return String(raw) }
            return isBadCIDR(String(entry)) ? String(raw) : nil
        }
    }

    /// `addr_pton_cidr` returning -2: an address that parses, with a mask too
    /// long for its family or host bits set.
    private static func isBadCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        var mask: Int?
        if parts.count == 2 {
            guard let first = parts[1].utf8.first, CNumber.isDigit(first),
                  parts[1].utf8.allSatisfy(CNumber.isDigit), let value = Int(parts[1]), value <= 128 else { return false }
            mask = value
        }
        guard let address = IPAddress.bytes(of: String(parts[0])) else { return false }
        let maskBits = mask ?? address.count * 8
        guard maskBits <= address.count * 8 else { return true }
        return address.enumerated().contains { index, byte in byte & ~IPAddress.mask(bits: maskBits, byte: index) != 0 }
    }
}
