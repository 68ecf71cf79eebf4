import Foundation
@preconcurrency import Yams

/// `certificate_authorities:`, the certificate entries of `revoked:`, and the
/// role fields `principals:` and `trusted_cas:` (issue 19).
extension InventoryLoader {
    static let authorityFields = ["public", "file"]
    static let revokedCertificateFields = ["ca", "serial", "key_id"]

    /// Reads `certificate_authorities:`; runs after `keys`, before `revoked`.
    mutating func readCertificateAuthorities(_ node: Node) {
        for (name, nameNode, value) in reader.entries(of: node, "certificate_authorities") {
            if let problem = InventoryRules.nameProblem(name) { reader.error("certificate authority name \"\(name)\" \(problem)", at: nameNode) }
            let what = "certificate authority \"\(name)\""
            brokenAuthorities.insert(name)
            guard let fields = reader.fields(of: value, what, allowed: Self.authorityFields),
                  let (publicKey, _) = keyMaterial(fields, what, nameNode) else { continue }
            if publicKey.isCertificate {
                reader.error("\(what): \(publicKey.type) is a certificate; a CA is a plain public key (the .pub of the key given to ssh-keygen -s)", at: fields["public"] ?? fields["file"] ?? nameNode)
                continue
            }
            if publicKey.type == "ssh-dss" {
                // OpenSSH 10 cannot parse a revocation list that names a DSA CA, and then refuses every key on the host.
                reader.error("\(what): DSA CA keys are not supported (sshd has refused DSA since OpenSSH 7.0, and OpenSSH 10 cannot read a revocation list that names one, which makes it refuse every login); use ed25519, ECDSA or RSA", at: fields["public"] ?? fields["file"] ?? nameNode)
                continue
            }
            let authority = InventoryCertificateAuthority(name: name, publicKey: publicKey, line: NodeReader.line(of: nameNode))
            if let same = authorities.first(where: { $0.fingerprint == authority.fingerprint }) {
                reader.warning("\(what) is the same key as certificate authority \"\(same.name)\" (line \(same.line))", at: nameNode)
            }
            if let index = keyByFingerprint[authority.fingerprint] {
                // sshd accepts a CA key on an authorized_keys line only with
                // cert-authority; keysync writes plain grants, so this is a mix-up.
                reader.warning("\(what) is the same key as key \"\(keys[index].name)\" (line \(NodeReader.line(of: keyNodes[index]))); a CA key should only sign certificates", at: nameNode)
            }
            brokenAuthorities.remove(name)
            authorityIndex[name] = authorities.count
            authorities.append(authority)
        }
    }

    /// Reads `revoked:`: key names and fingerprints (plain keys), and
    /// `{ ca: NAME, serial: N | "LOW-HIGH" }` or `{ ca: NAME, key_id: ID }`
    /// (certificates).
    mutating func readRevoked(_ node: Node) {
        guard !NodeReader.isNull(node) else { return }
        guard let sequence = node.sequence else {
            reader.error("revoked must be a list, found \(NodeReader.describe(node))", at: node)
            return
        }
        var seenCertificates: [RevokedCertificate.Match: [String: Int]] = [:]
        for item in sequence {
            if item.mapping != nil {
                guard let entry = revokedCertificate(item) else { continue }
                if let line = seenCertificates[entry.match]?[entry.authority] {
                    reader.warning("revoked: this certificate entry repeats line \(line); listed once", at: item)
                    continue
                }
                seenCertificates[entry.match, default: [:]][entry.authority] = entry.line
                revokedCertificates.append(entry)
                continue
            }
            guard case .scalar = item else {
                reader.error("revoked item must be a key name, a SHA256 fingerprint, or { ca: NAME, serial: N } / { ca: NAME, key_id: ID }, found \(NodeReader.describe(item))", at: item)
                continue
            }
            guard let entry = reader.string(item, "revoked item") else { continue }
            let fingerprint: String
            if InventoryRules.isFingerprint(entry) {
                fingerprint = entry
            } else if let index = keyIndex[entry] {
                fingerprint = keys[index].fingerprint
            } else if brokenKeys.contains(entry) {
                continue
            } else if entry.contains(":") {
                reader.error("revoked: \"\(entry)\" is not a SHA256 fingerprint (SHA256: and 43 base64 characters, as ssh-keygen -l prints)", at: item)
                continue
            } else if authorityIndex[entry] != nil || brokenAuthorities.contains(entry) {
                // Revoking a whole CA is possible (by its fingerprint), but a
                // bare name is more likely a half-written certificate entry.
                reader.error("revoked: \"\(entry)\" is a certificate authority; revoke its certificates with { ca: \(entry), serial: N } or { ca: \(entry), key_id: ID }, or the CA key itself by its SHA256 fingerprint", at: item)
                continue
            } else {
                reader.error("revoked: undefined key \"\(entry)\"" + Suggestion.hint(for: entry, in: keyIndex.keys), at: item)
                continue
            }
            if revoked[fingerprint] == nil { revoked[fingerprint] = item }
        }
    }

    /// One `{ ca: NAME, serial: … }` or `{ ca: NAME, key_id: … }` item; nil when reported.
    private mutating func revokedCertificate(_ item: Node) -> RevokedCertificate? {
        let what = "revoked: certificate entry"
        guard let fields = reader.fields(of: item, what, allowed: Self.revokedCertificateFields) else { return nil }
        guard let caNode = fields["ca"] else {
            reader.error("\(what) needs ca (a name from certificate_authorities), as in { ca: corp-ca, serial: 42 }", at: item)
            return nil
        }
        guard let ca = reader.string(caNode, "\(what): ca") else { return nil }
        var known = true
        if authorityIndex[ca] == nil {
            known = false
            if !brokenAuthorities.contains(ca) {
                reader.error("\(what): undefined certificate authority \"\(ca)\"" + Suggestion.hint(for: ca, in: authorityIndex.keys), at: caNode)
            }
        }
        let line = NodeReader.line(of: item)
        switch (fields["serial"], fields["key_id"]) {
        case (nil, nil):
            // A misspelt field is already reported; one error is enough.
            if (item.mapping?.count ?? 0) > fields.values.count { return nil }
            reader.error("\(what) needs serial (a number, or LOW-HIGH) or key_id", at: item)
        case (.some, .some(let node)):
            reader.error("\(what): give either serial or key_id, not both (one entry each)", at: fields.values["key_id"]?.key ?? node)
        case (.some(let node), nil):
            guard let range = serials(node, what), known else { return nil }
            return RevokedCertificate(authority: ca, match: .serials(range), line: line)
        case (nil, .some(let node)):
            guard let keyID = reader.string(node, "\(what): key_id") else { return nil }
            if keyID.isEmpty { return nil }
            // Key IDs travel as C strings in a KRL; sshd compares them exactly.
            if keyID.utf8.contains(0) {
                reader.error("\(what): key_id must not hold a NUL character", at: node)
                return nil
            }
            guard known else { return nil }
            return RevokedCertificate(authority: ca, match: .keyID(keyID), line: line)
        }
        return nil
    }

    /// `serial:` as an inclusive range: `42` or `"100-199"` (as in
    /// `ssh-keygen -k` specifications); 0 is refused because sshd never
    /// revokes serial 0 (the serial of certificates made without `-z`).
    private mutating func serials(_ node: Node, _ what: String) -> ClosedRange<UInt64>? {
        let expected = "must be a certificate serial from 1 to \(UInt64.max), or a range LOW-HIGH"
        guard case .scalar(let scalar) = node, !NodeReader.isNull(node) else {
            reader.error("\(what): serial \(expected), found \(NodeReader.describe(node))", at: node)
            return nil
        }
        let parts = scalar.string.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        let numbers = parts.map { part in part.utf8.allSatisfy { (48...57).contains($0) } ? UInt64(part) : nil }
        guard numbers.allSatisfy({ $0 != nil }), let low = numbers.first ?? nil, let high = numbers.last ?? nil else {
            reader.error("\(what): serial \(expected), found \(NodeReader.describe(node))", at: node)
            return nil
        }
        guard low > 0 else {
            reader.error("\(what): serial 0 cannot be revoked (OpenSSH gives certificates made without a serial the serial 0 and ignores it in revocation lists); revoke by key_id instead", at: node)
            return nil
        }
        guard low <= high else {
            reader.error("\(what): serial range \(low)-\(high) is empty (LOW must not be above HIGH)", at: node)
            return nil
        }
        return low...high
    }

    /// A role's `principals:`, checked as sshd reads AuthorizedPrincipalsFile lines.
    mutating func readPrincipals(_ node: Node?, _ what: String) -> [String] {
        // Keyed by bytes: sshd compares principals exactly (two Unicode spellings are two principals).
        var result: [String] = [], seen: [[UInt8]: Node] = [:]
        for (principal, node) in reader.strings(node, "\(what): principals") where !principal.isEmpty {
            if let problem = InventoryRules.principalProblem(principal) {
                reader.error("\(what): principal \(UnsafeText.quoted(principal, around: 1)) \(problem)", at: node)
                continue
            }
            if let first = seen[Array(principal.utf8)] {
                reader.warning("\(what): principal \"\(principal)\" is already listed (line \(NodeReader.line(of: first))); listed once", at: node)
                continue
            }
            seen[Array(principal.utf8)] = node
            result.append(principal)
        }
        return result
    }

    /// A role's `trusted_cas:`: names from `certificate_authorities:`.
    mutating func readTrustedCAs(_ node: Node?, _ what: String) -> [String] {
        var result: [String] = []
        for (name, node) in reader.strings(node, "\(what): trusted_cas") where !name.isEmpty {
            guard authorityIndex[name] != nil else {
                if !brokenAuthorities.contains(name) {
                    reader.error("\(what): undefined certificate authority \"\(name)\"" + Suggestion.hint(for: name, in: authorityIndex.keys), at: node)
                }
                continue
            }
            if result.contains(name) {
                reader.warning("\(what): certificate authority \"\(name)\" is already trusted; listed once", at: node)
                continue
            }
            result.append(name)
        }
        return result
    }

    /// `TrustedUserCAKeys` is one file per host: sshd accepts a certificate
    /// from any CA in it for any account whose principals file lists one of
    /// its principals. A role whose host also trusts CAs this role does not
    /// list can be logged in to with a certificate from those CAs (principals
    /// are no secret): warned where the role lists its principals.
    mutating func warnCAsTrustedForOtherRoles() {
        for (projectIndex, project) in projects.enumerated() {
            for (roleIndex, role) in project.roles.enumerated() where !role.principals.isEmpty {
                var extra: [String: (role: String, hosts: [String])] = [:]
                for host in project.hosts {
                    for other in projects where other.hosts.contains(host) {
                        for otherRole in other.roles {
                            for ca in otherRole.trustedCAs where !role.trustedCAs.contains(ca) {
                                extra[ca, default: ("project \(other.name) role \(otherRole.name)", [])].hosts.append(host)
                            }
                        }
                    }
                }
                guard !extra.isEmpty, let node = roleNodes[projectIndex][roleIndex].values["principals"]?.key else { continue }
                let list = extra.sorted { $0.key < $1.key }.map { ca, source in
                    let hosts = Array(Set(source.hosts)).sorted()
                    return "\"\(ca)\" (trusted for \(source.role)) on \(hosts.prefix(3).joined(separator: ", "))\(hosts.count > 3 ? " and \(hosts.count - 3) more" : "")"
                }
                reader.warning("project \"\(project.name)\" role \"\(role.name)\": sshd trusts every CA of a host for every account, so certificates from \(list.joined(separator: "; ")) with one of this role's principals log in as \(role.account); trust the same CAs in every role on a host, or keep such roles on other hosts", at: node)
            }
        }
    }

    /// A role needs both halves for a certificate login: a CA the host
    /// trusts and a principal in the account's principals file.
    mutating func warnCertificateFields(_ role: InventoryRole, _ fields: Fields, _ what: String) {
        if !role.principals.isEmpty, role.trustedCAs.isEmpty, let node = fields.values["principals"]?.key {
            reader.warning("\(what): principals without trusted_cas; a certificate logs in only if its CA is trusted on the host (through this or another role there)", at: node)
        }
        if !role.trustedCAs.isEmpty, role.principals.isEmpty, let node = fields.values["trusted_cas"]?.key {
            reader.warning("\(what): trusted_cas without principals; no certificate can log in as \(role.account) until its principal is listed", at: node)
        }
    }
}
