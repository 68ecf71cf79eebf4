/// Each managed key: in a file sshd reads, a type sshd accepts, big enough,
/// options that do not refuse it, no earlier line that shadows it.
extension Examination {
    /// The inventory entries for this account (only `context.key` when set),
    /// without grants that have ended: their login is meant to fail.
    var managedEntries: [(block: DesiredBlock, entry: DesiredEntry)] {
        target.blocks.flatMap { block in block.entries.map { (block, $0) } }
            .filter { (context.key == nil || $0.entry.keyName == context.key) && !$0.entry.hasEnded(at: context.now) }
    }

    /// The files sshd reads keys from, in its order: the first AuthorizedKeysFile, then the others.
    var readFiles: [(path: String, file: AuthorizedKeysFile)] {
        [(keysPath, AuthorizedKeysFile(bytes: account.content ?? []))]
            + diagnostics.keyFiles.filter(\.listed).map { ($0.path, AuthorizedKeysFile(bytes: $0.content ?? [])) }
    }

    mutating func checkKeys() {
        let files = readFiles
        for (block, desired) in managedEntries {
            let key = desired.keyName
            let fingerprint = desired.key.fingerprint
            let label = "\(key) (project \(block.project), role \(block.role))"
            checkType(desired.key, label: label, key: key)
            let hits = files.flatMap { file in
                file.file.keyLines.filter { $0.entry?.key.fingerprint == fingerprint }.map { (path: file.path, line: $0) }
            }
            guard let firstHit = hits.first else {
                // A keys file that is there but was not read (a FIFO, a folder, too
                // large, unreadable) holds unknown lines: the findings about it
                // explain the login, and push would not write it either.
                let unread = account.content == nil && (account.file.map { $0.kind != .absent } ?? false)
                if !keysExplained && !unread {
                    let stat = account.file.map { statEvidence($0, keysPath) }
                    add(.error, .keyMissing, "\(label) is not in \(keysPath): sshd has nothing to match the key against (\"Failed publickey for \(name)\")",
                        evidence: [stat, "\(keysPath): no line with \(fingerprint)"], fix: pushFix(projects: [block.project]), key: key)
                }
                continue
            }
            // sshd takes the first line with the key whose options let it in.
            let usable = hits.first { refusal($0.line.entry!) == nil }
            guard let used = usable else {
                let problem = refusal(firstHit.line.entry!)!
                let inInventory = desired.options.flatMap { try? AuthorizedKeyOptions.parse($0) }
                    .map { options in refusal(AuthorizedKeyEntry(options: options, key: desired.key)) != nil } ?? false
                add(.error, problem.code, "\(label): \(problem.text)" + (inInventory ? "; the inventory's options for \(key) say so, change them there and push" : ""),
                    evidence: hits.map { lineEvidence($0.path, $0.line) }, fix: inInventory ? nil : pushFix(projects: [block.project]), key: key)
                continue
            }
            let id = try? ManagedBlockID(project: block.project, role: block.role)
            let managed = id.flatMap { files[0].file.managedBlock($0) }?.keyLines.first { $0.entry?.key.fingerprint == fingerprint }
            if let managed, used.path != keysPath || used.line.number != managed.number,
               used.line.entry!.options?.text ?? "" != managed.entry!.options?.text ?? "" {
                add(.warning, .keyShadowed, "\(label): line \(used.line.number) of \(used.path) has the same key with other options, and sshd uses the first line that matches, so the managed options (\(managed.entry!.options?.text ?? "none")) do not apply",
                    evidence: [lineEvidence(used.path, used.line), lineEvidence(keysPath, managed)],
                    fix: Self.command("sed", "-i", "\(used.line.number)d", used.path), key: key)
            }
            if let from = used.line.entry!.options?.values("from"), !from.isEmpty {
                let list = from.joined(separator: ",")
                let controller = host.clientAddress.map { address in
                    SSHDMatch.hostAndAddress(host: address, address: address, list: list) ? "" : " (this controller, at \(address), is not among them)"
                } ?? ""
                add(.warning, .keyFromRestricted, "\(label) is accepted only from \(list)\(controller); from anywhere else sshd logs \"… but not from a permitted host\"",
                    evidence: [lineEvidence(used.path, used.line)], key: key)
            }
        }
    }

    /// Why sshd refuses a line whose key matched (its options), or nil.
    private func refusal(_ entry: AuthorizedKeyEntry) -> (code: DoctorCode, text: String)? {
        for problem in AuthorizedKeysFile.warnings(for: entry, now: context.now) {
            switch problem.kind {
            case .expired: return (.keyExpired, problem.description)
            case .principalsWithoutCertAuthority: return (.keyPrincipals, problem.description)
            case .badFromPattern: return (.keyBadFrom, problem.description)
            default: continue
            }
        }
        return nil
    }

    /// Type, algorithms and size: properties of the key itself.
    private mutating func checkType(_ key: PublicKey, label: String, key name: String) {
        guard let type = key.keyType else { return }
        let rotate = "ssh-keygen -t ed25519 -C \(Self.command(name)) -f \(Self.command(name + "-ed25519")) && keysync rotate \(Self.command(name)) --new-key \(Self.command(name + "-ed25519.pub")) --verify-identity \(Self.command(name + "-ed25519"))"
        let signing = type.isRSA
            ? (type.isCertificate ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"].map { $0 + "-cert-v01@openssh.com" } : ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"])
            : [type.name]
        var accepted = signing
        if let list = account.sshd["pubkeyacceptedalgorithms"] {
            accepted = signing.filter { SSHDMatch.list($0, list) }
            let evidence = [sshdEvidence("pubkeyacceptedalgorithms")] + configEvidence(algorithmLines)
            let sha2 = signing.filter { !$0.hasPrefix("ssh-rsa") }
            if accepted.isEmpty {
                if type.isDSA {
                    add(.error, .keyTypeRefused, "\(label) is a DSA key (ssh-dss); OpenSSH refuses DSA by default since 7.0 and removed it in 9.8: replace the key",
                        evidence: evidence, fix: rotate, key: name)
                } else {
                    add(.error, .keyTypeRefused, "\(label) is a \(type.name) key, and sshd's PubkeyAcceptedAlgorithms has none of \(signing.joined(separator: ", ")): \"key type \(signing[0]) not in PubkeyAcceptedAlgorithms\"",
                        evidence: evidence, fix: algorithmFix(type.isRSA ? sha2 : signing), key: name)
                }
            } else if type.isRSA && !accepted.contains(where: { !$0.hasPrefix("ssh-rsa") }) {
                add(.error, .keyRSASHA1, "\(label) is an RSA key and sshd accepts it only with SHA-1 signatures (ssh-rsa); OpenSSH ≥ 8.8 clients sign with rsa-sha2-256/512 and never fall back to SHA-1 by default, so their logins fail",
                    evidence: evidence, fix: algorithmFix(sha2), key: name)
            } else if type.isRSA && !accepted.contains(where: { $0.hasPrefix("ssh-rsa") }) {
                add(.warning, .keyRSASHA1, "\(label) is an ssh-rsa key: fine for clients that sign with rsa-sha2-256/512 (OpenSSH ≥ 7.2, PuTTY ≥ 0.75, current libraries), but sshd refuses SHA-1 signatures (ssh-rsa, off since OpenSSH 8.8), so old clients and libraries fail",
                    evidence: evidence, fix: rotate, key: name)
            }
        }
        if type.isDSA && !accepted.isEmpty {
            add(.warning, .keyDSA, "\(label) is a DSA key: weak, refused by default since OpenSSH 7.0 and gone in 9.8", fix: rotate, key: name)
        }
        if type.isRSA, let bits = key.bits {
            let required = account.sshd["requiredrsasize"].flatMap { Int($0) } ?? 1024
            if bits < required {
                add(.error, .keyRSATooSmall, "\(label) is an RSA key of \(bits) bits; sshd refuses RSA keys under \(required) bits (RequiredRSASize)",
                    evidence: [sshdEvidence("requiredrsasize")], fix: rotate, key: name)
            } else if bits < 2048 {
                add(.warning, .keyWeakRSA, "\(label) is an RSA key of \(bits) bits; use at least 2048 (better: ed25519)", fix: rotate, key: name)
            }
        }
    }

    /// PubkeyAcceptedAlgorithms and its old name, in sshd's reading order (with `inMatch`).
    private var algorithmEntries: [(line: SSHDConfigLine, inMatch: Bool)] {
        configOrder.filter { ["pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes"].contains($0.line.keyword) }
    }

    private var algorithmLines: [SSHDConfigLine] { algorithmEntries.map(\.line) }

    /// Adds `algorithms` to the PubkeyAcceptedAlgorithms line sshd uses, the
    /// first outside a Match block (or drops a `-`/`^` line, back to the default).
    private func algorithmFix(_ algorithms: [String]) -> String {
        guard let line = algorithmEntries.first(where: { !$0.inMatch })?.line, let value = line.values.first else {
            return ConfigFix.locate("PubkeyAcceptedAlgorithms")
        }
        if value.hasPrefix("-") || value.hasPrefix("^") { return ConfigFix.edit(line, to: nil) }
        return ConfigFix.edit(line, to: ConfigFix.rewritten(line, values: [([value] + algorithms).joined(separator: ",")]))
    }

    /// `PATH:N: [options ]type SHA256:… comment` (the key by fingerprint, not base64).
    func lineEvidence(_ path: String, _ line: AuthorizedKeysFile.Line) -> String {
        guard let entry = line.entry else { return "\(path):\(line.number): \(line.text)" }
        let parts = [entry.options?.text, entry.typeToken, entry.key.fingerprint, entry.comment.isEmpty ? nil : entry.comment]
        return "\(path):\(line.number): " + parts.compactMap { $0 }.joined(separator: " ")
    }
}
