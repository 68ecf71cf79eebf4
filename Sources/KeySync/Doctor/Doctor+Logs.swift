/// The last sshd log lines about the account: quoted under the findings
/// they confirm, and all of them in one `sshd_log` finding.
extension Examination {
    /// Fragments of sshd's log messages that confirm each finding.
    static let logSignatures: [DoctorCode: [String]] = [
        .accountLocked: ["because account is locked"],
        .accountExpired: ["has expired", "ccount expired"],
        .accountInactive: ["has expired", "ccount expired"],
        .passwordChangeRequired: ["assword change required", "must change your password", "assword has expired"],
        .passwordExpired: ["assword change required", "must change your password", "assword has expired"],
        .shellInvalid: ["because shell"],
        .deniedUser: ["listed in DenyUsers"],
        .notAllowedUser: ["not listed in AllowUsers"],
        .deniedGroup: ["listed in DenyGroups"],
        .notAllowedGroup: ["listed in AllowGroups", "not in any group"],
        .homeUnsafe: ["bad ownership or modes"],
        .directoryUnsafe: ["bad ownership or modes"],
        .fileUnsafe: ["bad ownership or modes", "is not a regular file"],
        .fileUnreadable: ["Could not open user", "Could not open authorized keys"],
        .keyMissing: ["Failed publickey"],
        .keyTypeRefused: ["not in PubkeyAcceptedAlgorithms"],
        .keyRSASHA1: ["not in PubkeyAcceptedAlgorithms"],
        .keyFromRestricted: ["not from a permitted host"],
        .accountMissing: ["Invalid user"],
    ]

    mutating func attachLogs() {
        guard account.diagnostics != nil else { return }
        guard !host.logSources.isEmpty else {
            add(.info, .sshdLogUnavailable, "no sshd log found on the host (looked for /var/log/auth.log, /var/log/secure, the file sshd logs to, the journal); --sshd-log PATH names another")
            return
        }
        let lines = diagnostics.logLines
        guard !lines.isEmpty else { return }
        for index in findings.indices {
            guard let signatures = Self.logSignatures[findings[index].code] else { continue }
            let matching = lines.filter { line in signatures.contains { line.contains($0) } }.suffix(3)
            findings[index].evidence += matching.map { "sshd log: \($0)" }
        }
        add(.info, .sshdLog, "the last \(lines.count) sshd log line\(lines.count == 1 ? "" : "s") about \(name) (from \(host.logSources.joined(separator: ", ")))",
            evidence: lines.map { "sshd log: \($0)" })
    }
}
