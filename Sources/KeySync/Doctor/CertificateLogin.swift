import Foundation

/// `keysync doctor --try-login CERT` with an OpenSSH user certificate
/// (`*-cert.pub`, issue 19): explains, as sshd's `user_cert_trusted_ca` and
/// `sshkey_cert_check_authority` decide, whether it would log in as each
/// role account: the kind and validity period, the CA (in the host's
/// TrustedUserCAKeys file, among the account's roles' `trusted_cas`), the
/// principals (the host's AuthorizedPrincipalsFile, the roles'
/// `principals`; without one, the account name) and revocation (`revoked:`
/// serials, key IDs and keys, as in the KRL keysync writes). Pure: the
/// certificate, the inventory's view and one probe.
public struct CertificateLogin: Sendable {
    /// The certificate (its type is a `*-cert-v01@openssh.com` one).
    public let certificate: PublicKey
    public let info: CertificateInfo
    /// The file it came from, for messages.
    public let path: String

    /// Nil when `key` is not a certificate (a plain key or a private key file).
    public init?(_ key: PublicKey, path: String) {
        guard key.isCertificate, let info = key.certificate else { return nil }
        self.certificate = key
        self.info = info
        self.path = path
    }

    /// The certificate in the file at `path`, nil when the file holds something
    /// else (a private key, whose login `--try-login` tries instead).
    /// A file whose first word is a certificate type that does not parse (a
    /// signature that does not verify, a truncated blob) is that error, not
    /// "not a private key" (review s13).
    public static func load(path: String) throws(SSHError) -> CertificateLogin? {
        do {
            return CertificateLogin(try KeyImporter.importKey(contentsOf: path), path: path)
        } catch {
            let head = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: path)).read(upToCount: 200)).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) } ?? ""
            let type = head.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first ?? ""
            guard type.hasSuffix("-cert-v01@openssh.com") else { return nil }
            throw .identity(path: path, reason: "a certificate (\(type)) keysync cannot use: \(error)")
        }
    }

    /// What the inventory says about certificates for one account on one host.
    public struct Policy: Sendable {
        public var authorities: [InventoryCertificateAuthority]
        public var revoked: [RevokedCertificate]
        public var revokedFingerprints: Set<String>
        /// `trusted_cas` of the account's roles on the host, in order.
        public var trustedCAs: [String]
        /// `principals` of the account's roles on the host, in order.
        public var principals: [String]
        /// `project/role` of those roles.
        public var roles: [String]

        public init(authorities: [InventoryCertificateAuthority] = [], revoked: [RevokedCertificate] = [],
                    revokedFingerprints: Set<String> = [], trustedCAs: [String] = [], principals: [String] = [], roles: [String] = []) {
            self.authorities = authorities
            self.revoked = revoked
            self.revokedFingerprints = revokedFingerprints
            self.trustedCAs = trustedCAs
            self.principals = principals
            self.roles = roles
        }

        /// The policy of `account` on `host`.
        public init(account: String, host: String, inventory: Inventory) {
            self.init(authorities: inventory.certificateAuthorities, revoked: inventory.revokedCertificates,
                      revokedFingerprints: inventory.revokedFingerprints)
            guard let hostIndex = inventory.hostIndex[host] else { return }
            for projectIndex in inventory.hostProjects[hostIndex] {
                let project = inventory.projects[projectIndex]
                for role in project.roles where role.account == account {
                    roles.append("\(project.name)/\(role.name)")
                    for ca in role.trustedCAs where !trustedCAs.contains(ca) { trustedCAs.append(ca) }
                    for name in role.principals where !principals.contains(name) { principals.append(name) }
                }
            }
        }
    }

    /// Why the certificate would not log in as `account`, one error per
    /// reason (warnings for what does not stop it), or one `certificate_ok`
    /// when sshd would accept it.
    public func explain(account: String, host: String, policy: Policy, probe: HostProbe, now: Date) -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        let evidence = [self.evidence(policy)]
        func add(_ severity: DoctorFinding.Severity, _ code: DoctorCode, _ message: String, fix: String? = nil, more: [String] = []) {
            findings.append(DoctorFinding(severity, code, "\(path): " + message, evidence: evidence + more, fix: fix))
        }
        let pushFix = Examination.command("keysync", "push", "--host", host)
        let sshd = probe.accounts[account]?.sshd ?? [:]

        if info.kind != .user {
            add(.error, .certificateNotUser, "a host certificate, not a user certificate: sshd never takes it for a login")
        }
        let time = UInt64(max(0, now.timeIntervalSince1970))
        if time < info.validAfter {
            add(.error, .certificateNotYetValid, "not valid before \(Self.timeText(info.validAfter)): sshd refuses it until then (\"Certificate invalid: not yet valid\")",
                fix: "re-sign it: \(resignCommand)")
        } else if time >= info.validBefore {
            add(.error, .certificateExpired, "expired at \(Self.timeText(info.validBefore)): sshd refuses it (\"Certificate invalid: expired\")",
                fix: "re-sign it: \(resignCommand)")
        }

        // What sshd checks of the certificate itself beyond its dates (auth2-pubkey.c, auth-options.c; review s13).
        if info.signatureAlgorithm == "ssh-rsa", !Self.allowsSHA1Signatures(sshd: sshd, probe: probe) {
            add(.error, .certificateSignature, "signed with ssh-rsa (RSA with SHA-1), which sshd's CASignatureAlgorithms does not allow (OpenSSH 8.2 and later refuse it by default: \"certificate signature algorithm ssh-rsa: signature algorithm not supported\")",
                fix: "re-sign it with SHA-2: \(resignCommand) -t rsa-sha2-512")
        }
        for (name, value) in info.criticalOptions.sorted(by: { $0.key < $1.key }) {
            switch name {
            case "force-command":
                add(.warning, .certificateOptions, "carries force-command \(KeyBlob.quoted(value)): the login works but runs only that command")
            case "source-address":
                let blocks = value.split(separator: ",").map(String.init)
                if let client = probe.clientAddress, !blocks.contains(where: { SSHDMatch.cidr(client, $0) == true }) {
                    add(.error, .certificateOptions, "carries source-address \(KeyBlob.quoted(value)), which does not include \(client), where keysync connected from: sshd refuses it from there")
                }
            case "verify-required":
                break
            default:
                add(.error, .certificateOptions, "carries the critical option \(KeyBlob.quoted(name)), which sshd does not know: it refuses the certificate (\"Certificate critical option … is not supported\")")
            }
        }

        // The CA: sshd trusts the keys in its TrustedUserCAKeys file (keysync
        // writes the CAs of the host's roles' trusted_cas there).
        let caFingerprint = info.signatureKey.fingerprint
        let authority = policy.authorities.first { $0.fingerprint == caFingerprint }
        let hostCAs = probe.rootFiles[RootFiles.trustedCAsPath]?.content.map { AuthorizedKeysFile(bytes: $0).keyLines.compactMap { $0.entry?.key.fingerprint } }
        let caName = authority.map { "\($0.name) (\(caFingerprint))" } ?? caFingerprint
        if let setting = sshd["trustedusercakeys"], setting != RootFiles.trustedCAsPath {
            add(.error, .certificateCAUntrusted, "sshd's TrustedUserCAKeys is \(setting), not the file keysync writes: sshd trusts no CA keysync manages",
                fix: Self.settingFix("TrustedUserCAKeys", RootFiles.trustedCAsPath, current: setting))
        }
        if authority == nil {
            add(.error, .certificateCAUntrusted, "signed by CA \(caFingerprint), which is not under certificate_authorities: keysync never makes a host trust it",
                fix: "add it under certificate_authorities and to trusted_cas of \(rolesText(policy)), then \(pushFix)")
        } else if let authority, policy.revokedFingerprints.contains(authority.fingerprint) {
            add(.error, .certificateRevoked, "signed by CA \(caName), whose key is itself under revoked:; keysync trusts it nowhere")
        } else if let authority, !policy.trustedCAs.contains(authority.name) {
            if hostCAs?.contains(caFingerprint) == true {
                add(.warning, .certificateCAUntrusted, "CA \(authority.name) is not in trusted_cas of \(rolesText(policy)); sshd trusts it on this host only because another role lists it")
            } else {
                add(.error, .certificateCAUntrusted, "CA \(authority.name) is not in trusted_cas of \(rolesText(policy)) (they trust \(listText(policy.trustedCAs)))",
                    fix: "add \(authority.name) to trusted_cas of \(rolesText(policy)), then \(pushFix)")
            }
        } else if let authority, hostCAs?.contains(caFingerprint) != true {
            add(.error, .certificateCAUntrusted, "CA \(authority.name) is in trusted_cas, but not (yet) in the host's \(RootFiles.trustedCAsPath)", fix: pushFix)
        }

        // Principals: with an AuthorizedPrincipalsFile, one line of it must be
        // among the certificate's; without one, the account name must be.
        let principalsSetting = sshd["authorizedprincipalsfile"]
        let hostPrincipals = probe.rootFiles[RootFiles.principalsPath(account)]?.content.map(Self.principalLines)
        if info.principals.isEmpty {
            add(.error, .certificatePrincipal, "names no principal: sshd refuses a user certificate without one (\"Certificate lacks principal list\")",
                fix: "re-sign it with -n \(policy.principals.first ?? account)")
        } else if principalsSetting == nil || principalsSetting == "none" {
            if !Self.sharesPrincipal([account], info.principals) {
                add(.error, .certificatePrincipal, "names \(listText(info.principals)); sshd has no AuthorizedPrincipalsFile, so the certificate must name the account \(account)",
                    fix: ConfigFix.append("AuthorizedPrincipalsFile \(RootFiles.principalsFolder)/%u"))
            }
        } else {
            let keysyncSetting = RootFiles.principalsFolder + "/%u"
            if principalsSetting != keysyncSetting {
                // sshd reads another file: the roles' principals say nothing about it (review s13).
                add(.error, .certificatePrincipal, "sshd's AuthorizedPrincipalsFile is \(principalsSetting ?? "none"), not the files keysync writes: the principals of \(rolesText(policy)) are not what sshd reads",
                    fix: Self.settingFix("AuthorizedPrincipalsFile", keysyncSetting, current: principalsSetting))
            }
            // sshd reads the host's file; the roles' principals are what push writes there.
            let hostList = principalsSetting == keysyncSetting ? hostPrincipals : nil
            let roleLists = Self.sharesPrincipal(policy.principals, info.principals)
            let hostLists = hostList.map { Self.sharesPrincipal($0, info.principals) } ?? roleLists
            let hostFile = RootFiles.principalsPath(account)
            switch (roleLists, hostLists) {
            case (false, false):
                add(.error, .certificatePrincipal, "names \(listText(info.principals)), but \(account) accepts \(listText(policy.principals)) (principals of \(rolesText(policy)))",
                    fix: policy.principals.first.map { "re-sign it with -n \($0), or add one of its principals to principals of \(rolesText(policy)) and \(pushFix)" })
            case (true, false):
                add(.error, .certificatePrincipal, "names \(listText(info.principals)), which \(rolesText(policy)) lists, but the host's \(hostFile) does not yet", fix: pushFix)
            case (false, true):
                add(.warning, .certificatePrincipal, "names \(listText(info.principals)), which the host's \(hostFile) lists but principals of \(rolesText(policy)) do not: the next push takes it away")
            case (true, true):
                break
            }
        }

        // Revocation, as the KRL keysync compiles from revoked: says.
        if let authority {
            for entry in policy.revoked where entry.authority == authority.name {
                switch entry.match {
                case .serials(let range) where info.serial != 0 && range.contains(info.serial):
                    add(.error, .certificateRevoked, "serial \(info.serial) of \(authority.name) is revoked (revoked: entry on line \(entry.line)); sshd refuses it through the KRL \(RootFiles.revocationListPath)")
                case .keyID(let id) where id.utf8.elementsEqual(info.keyID.utf8):
                    add(.error, .certificateRevoked, "key ID \(KeyBlob.quoted(id)) of \(authority.name) is revoked (revoked: entry on line \(entry.line)); sshd refuses it through the KRL \(RootFiles.revocationListPath)")
                default:
                    continue
                }
            }
        }
        if policy.revokedFingerprints.contains(info.certifiedKey.fingerprint) {
            add(.error, .certificateRevoked, "its key \(info.certifiedKey.fingerprint) is revoked; sshd refuses the key and every certificate of it through the KRL \(RootFiles.revocationListPath)")
        }

        if !findings.contains(where: { $0.severity == .error }) {
            let principal = info.principals.first { (hostPrincipals ?? policy.principals).contains($0) || $0 == account } ?? info.principals.first ?? ""
            add(.info, .certificateOK, "would log in as \(account): a user certificate signed by \(caName), trusted on the host; principal \(principal) is listed for \(account); valid until \(Self.timeText(info.validBefore)); not revoked")
        }
        return findings
    }

    /// One line describing the certificate.
    func evidence(_ policy: Policy) -> String {
        let ca = policy.authorities.first { $0.fingerprint == info.signatureKey.fingerprint }.map { " (\($0.name))" } ?? ""
        return "certificate: \(info.kind == .user ? "user" : "host") certificate of \(info.certifiedKey.type) \(info.certifiedKey.fingerprint), serial \(info.serial), key ID \(KeyBlob.quoted(info.keyID)), principals \(listText(info.principals)), valid \(Self.timeText(info.validAfter)) to \(Self.timeText(info.validBefore)), signed by \(info.signatureKey.type) \(info.signatureKey.fingerprint)\(ca)"
    }

    private var principalList: String { info.principals.isEmpty ? "PRINCIPAL" : info.principals.joined(separator: ",") }
    /// The `ssh-keygen` line that signs the key again: every word from the
    /// certificate (key ID, principals, the file's name) quoted, since the
    /// operator pastes it on the machine that holds the CA key.
    private var resignCommand: String {
        Examination.command("ssh-keygen", "-s", "CA", "-I", info.keyID, "-n", principalList, "-V", "-5m:+1d", certifiedPath)
    }
    private var certifiedPath: String { path.hasSuffix("-cert.pub") ? String(path.dropLast("-cert.pub".count)) + ".pub" : "KEY.pub" }

    private func rolesText(_ policy: Policy) -> String {
        policy.roles.isEmpty ? "the account's roles" : policy.roles.joined(separator: ", ")
    }

    private func listText(_ names: [String]) -> String {
        names.isEmpty ? "none" : "[" + names.map { KeyBlob.quoted($0) }.joined(separator: ", ") + "]"
    }

    /// The principals in an AuthorizedPrincipalsFile (no comments, blanks or options).
    /// Whether a principal is in both lists, byte for byte as sshd compares
    /// (Swift's `String` equality would match two Unicode spellings).
    static func sharesPrincipal(_ a: [String], _ b: [String]) -> Bool {
        !Set(a.map { Array($0.utf8) }).isDisjoint(with: b.map { Array($0.utf8) })
    }

    /// Whether this sshd takes a CA signature made with `ssh-rsa` (SHA-1):
    /// its `CASignatureAlgorithms` (from `sshd -T`, else the first line of
    /// sshd_config outside a Match block: a list, `+list` added to the
    /// default, `^list` put first), else the default of its version (OpenSSH
    /// 8.2 took ssh-rsa out; an unknown version counts as newer).
    static func allowsSHA1Signatures(sshd: [String: String], probe: HostProbe) -> Bool {
        let byDefault = SSHDVersion(probe.sshdVersion ?? "").map { $0 < .refusesSHA1CASignatures } ?? false
        guard let configured = sshd["casignaturealgorithms"]
            ?? Examination.parseOrder(probe.configLines).first(where: { $0.line.keyword == "casignaturealgorithms" && !$0.inMatch })?
                .line.values.joined(separator: ",") else { return byDefault }
        switch configured.first {
        case "+", "^": return configured.dropFirst().split(separator: ",").contains("ssh-rsa") || byDefault
        case "-": return byDefault
        default: return configured.split(separator: ",").contains("ssh-rsa")
        }
    }

    /// How to make sshd use keysync's file for `keyword`: appended when
    /// sshd_config sets nothing, else the line that sets it is edited (sshd
    /// keeps the first value, so an appended line would change nothing).
    static func settingFix(_ keyword: String, _ value: String, current: String?) -> String {
        guard let current, current != "none" else { return ConfigFix.append("\(keyword) \(value)") }
        return "change the line that sets \(keyword) \(current) to \(keyword) \(value) (sshd keeps the first value; find it: \(ConfigFix.locate(keyword))), then \(ConfigFix.reload)"
    }

    /// The principals a file grants, as sshd reads them (auth_process_principals):
    /// everything from a `#` on is a comment, wherever it stands.
    static func principalLines(_ content: [UInt8]) -> [String] {
        String(decoding: content, as: UTF8.self).split(whereSeparator: \.isNewline).compactMap { line in
            let text = line.prefix { $0 != "#" }.trimmingCharacters(in: .whitespaces)
            return text.isEmpty ? nil : text
        }
    }

    /// `2026-12-06 09:00:00 UTC`, or `forever`.
    static func timeText(_ seconds: UInt64) -> String {
        guard seconds < UInt64(Int64.max) else { return "forever" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: Double(min(seconds, 253_402_300_799))))
    }

}
