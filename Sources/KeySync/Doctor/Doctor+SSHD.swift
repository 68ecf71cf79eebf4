/// sshd's settings for this account (`sshd -T -C user=…,host=…,addr=…`):
/// public keys enabled, AllowUsers/DenyUsers/AllowGroups/DenyGroups.
extension Examination {
    mutating func checkSSHD() {
        if let error = account.sshdError {
            add(.error, .sshdConfigInvalid, "\(error); doctor cannot tell which settings sshd uses",
                evidence: ["sshd -T -C user=\(name): no output"], fix: "sshd -t")
            return
        }
        if account.sshd["pubkeyauthentication"]?.lowercased() == "no" {
            let lines = configLines("pubkeyauthentication").filter { $0.values.first?.lowercased() == "no" }
            add(.error, .pubkeyDisabled, "PubkeyAuthentication is no for \(name): sshd does not even offer public-key authentication (the client says \"No supported authentication methods available\")",
                evidence: [sshdEvidence("pubkeyauthentication")] + configEvidence(lines),
                fix: lines.isEmpty ? ConfigFix.locate("PubkeyAuthentication") : ConfigFix.edit(lines.map { ($0, ConfigFix.rewritten($0, values: ["yes"])) }))
        }
        checkUsers()
        if account.diagnostics != nil { checkGroups() }
        checkCertificateSettings()
    }

    /// An account with principals (issue 19) logs in with a certificate only
    /// if sshd reads the files keysync writes.
    private mutating func checkCertificateSettings() {
        let principals = context.rootFiles.first { $0.purpose == .principals(account: name) }
        guard let principals, String(decoding: principals.content, as: UTF8.self).split(separator: "\n").contains(where: { !$0.hasPrefix("#") }),
              RootFilesPlan.missingSettings(context.rootFiles, sshd: account.sshd) != nil else { return }
        let missing = RootFilesPlan.wantedSettings(context.rootFiles).filter { account.sshd[$0.keyword.lowercased()] != $0.value }
        // sshd keeps the first value of each: a line that sets another one is
        // edited (an appended line would change nothing), the others appended.
        var edits: [(line: SSHDConfigLine, text: String?)] = [], appends: [String] = []
        for setting in missing {
            let text = "\(setting.keyword) \(setting.value)"
            if let line = globalConfigLines(setting.keyword.lowercased()).first { edits.append((line, text)) } else { appends.append(text) }
        }
        let configFix = edits.isEmpty ? ConfigFix.append(appends) : ConfigFix.edit(edits, thenAppend: appends)
        add(.warning, .sshdConfigMissing,
            "sshd does not use the certificate files keysync writes for \(name) (\(missing.map { "\($0.keyword) is \(account.sshd[$0.keyword.lowercased()] ?? "not reported")" }.joined(separator: ", "))): certificates with its principals are refused",
            evidence: missing.map { sshdEvidence($0.keyword.lowercased()) },
            fix: context.managesSSHD
                ? "keysync push --host \(Self.command(context.host)) (manage_sshd writes \(SSHDDropIn.path) and reloads sshd; if it is in place, an earlier value in sshd_config wins: remove that line)"
                : configFix)
    }

    private func patterns(_ keyword: String) -> [String] {
        account.sshd[keyword]?.split(separator: " ").map(String.init) ?? []
    }

    private func userMatches(_ pattern: String) -> Bool {
        SSHDMatch.user(name, host: host.clientAddress, address: host.clientAddress, pattern: pattern)
    }

    private mutating func checkUsers() {
        let denied = patterns("denyusers").filter(userMatches)
        if !denied.isEmpty {
            let lines = configLines("denyusers").filter { $0.values.contains(where: userMatches) }
            // A pattern that may match others too (a wildcard, `user@host`) is
            // never taken out to let one account in: that is the operator's call.
            let onlyThisAccount = denied.allSatisfy { $0 == name }
            let fix = lines.isEmpty || !onlyThisAccount ? ConfigFix.locate("DenyUsers")
                : ConfigFix.edit(lines.map { ($0, ConfigFix.rewritten($0, values: $0.values.filter { !userMatches($0) })) })
            add(.error, .deniedUser, "DenyUsers \(denied.joined(separator: " ")) matches \(name): \"User \(name) from … not allowed because listed in DenyUsers\"",
                evidence: [sshdEvidence("denyusers")] + configEvidence(lines), fix: fix)
        }
        let allowed = patterns("allowusers")
        if !allowed.isEmpty && !allowed.contains(where: userMatches) {
            let lines = globalConfigLines("allowusers")
            add(.error, .notAllowedUser, "AllowUsers (\(allowed.joined(separator: " "))) does not list \(name): \"User \(name) from … not allowed because not listed in AllowUsers\"",
                evidence: [sshdEvidence("allowusers")] + configEvidence(lines),
                fix: lines.first.map { ConfigFix.edit($0, to: ConfigFix.rewritten($0, values: $0.values + [name])) } ?? ConfigFix.locate("AllowUsers"))
        }
    }

    private mutating func checkGroups() {
        let groups = diagnostics.groups
        let primary = account.groupName
        let groupEvidence = "id -Gn \(name): \(groups.joined(separator: " "))"
        let denyPatterns = patterns("denygroups")
        let deniedGroups = groups.filter { group in denyPatterns.contains { SSHDMatch.pattern(group, $0) } }
        if !deniedGroups.isEmpty {
            let supplementary = deniedGroups.filter { $0 != primary }
            let denies = { (pattern: String) in deniedGroups.contains { SSHDMatch.pattern($0, pattern) } }
            let lines = configLines("denygroups").filter { $0.values.contains(where: denies) }
            let fix: String
            // Leaving a supplementary group changes this account only; taking a
            // pattern out of DenyGroups would let the whole group in: not offered.
            if supplementary.count == deniedGroups.count {
                fix = supplementary.map { Self.command("gpasswd", "-d", name, $0) }.joined(separator: " && ")
            } else {
                fix = ConfigFix.locate("DenyGroups")
            }
            add(.error, .deniedGroup, "\(name) is in \(deniedGroups.joined(separator: ", ")), which DenyGroups lists: \"not allowed because a group is listed in DenyGroups\"",
                evidence: [groupEvidence, sshdEvidence("denygroups")] + configEvidence(lines), fix: fix)
        }
        let allowPatterns = patterns("allowgroups")
        if !allowPatterns.isEmpty && !groups.contains(where: { group in allowPatterns.contains { SSHDMatch.pattern(group, $0) } }) {
            // The account's own private group (named like it) goes on the
            // AllowGroups line. Never "join a listed group" (the first one listed
            // is often sudo, wheel or admin), never a shared primary group
            // (`users`): either would let others in.
            let lines = globalConfigLines("allowgroups")
            let fix = primary == name ? lines.first.map { ConfigFix.edit($0, to: ConfigFix.rewritten($0, values: $0.values + [name])) } : nil
            add(.error, .notAllowedGroup, "none of the groups of \(name) (\(groups.joined(separator: ", "))) is in AllowGroups (\(allowPatterns.joined(separator: " "))): \"not allowed because none of user's groups are listed in AllowGroups\"",
                evidence: [groupEvidence, sshdEvidence("allowgroups")] + configEvidence(lines), fix: fix ?? ConfigFix.locate("AllowGroups"))
        }
    }
}
