import Foundation

/// The result of `keysync doctor` (its `--json` document, docs/doctor.md):
/// `{"hosts":[{"host","status","error","accounts":[{"account","findings":[…]}]}],"summary":{…}}`.
public struct DoctorReport: Codable, Sendable {
    /// A host's worst outcome.
    public enum Status: String, Codable, Sendable {
        case ok, warning, error, failed
    }

    /// One role account on one host.
    public struct Account: Codable, Sendable {
        public var account: String
        /// Errors first, then warnings, then info.
        public var findings: [DoctorFinding]

        public init(account: String, findings: [DoctorFinding]) {
            self.account = account
            self.findings = findings
        }
    }

    /// One host.
    public struct Host: Codable, Sendable {
        public var host: String
        /// `failed` when the host could not be probed, else the worst finding's severity (`ok` when none or only info).
        public var status: Status
        /// Why the host could not be probed.
        public var error: String?
        public var accounts: [Account]

        public init(host: String, error: String? = nil, accounts: [Account]) {
            self.host = host
            self.error = error
            self.accounts = accounts
            let worst = accounts.flatMap(\.findings).map(\.severity).max()
            status = error != nil ? .failed : worst == .error ? .error : worst == .warning ? .warning : .ok
        }

        enum CodingKeys: String, CodingKey { case host, status, error, accounts }

        /// Always writes `error` (null for a probed host).
        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(host, forKey: .host)
            try container.encode(status, forKey: .status)
            try container.encode(error, forKey: .error)
            try container.encode(accounts, forKey: .accounts)
        }
    }

    /// Counts over the whole run.
    public struct Summary: Codable, Sendable {
        public var hosts: Int
        /// Findings with severity error / warning.
        public var errors: Int
        public var warnings: Int
        /// Hosts that could not be probed.
        public var failed: Int
        public var seconds: Double
    }

    public var hosts: [Host]
    public var summary: Summary
    /// Set when the run stopped early (SIGINT).
    public var interrupted: Bool

    public init(hosts: [Host], seconds: Double, interrupted: Bool = false) {
        self.hosts = hosts
        self.interrupted = interrupted
        let findings = hosts.flatMap(\.accounts).flatMap(\.findings)
        summary = Summary(hosts: hosts.count, errors: findings.filter { $0.severity == .error }.count,
                          warnings: findings.filter { $0.severity == .warning }.count,
                          failed: hosts.filter { $0.status == .failed }.count, seconds: seconds)
    }

    /// 3 when a host failed (wins), else 2 when a finding is an error, else 0; 130 when interrupted.
    public var exitCode: Int32 {
        if interrupted { return 130 }
        if summary.failed > 0 { return 3 }
        return summary.errors > 0 ? 2 : 0
    }

    /// The report for people: per host and account, each finding with its
    /// evidence and fix, then a summary line. `verbose` adds info findings.
    /// Text from hosts is made terminal-safe.
    public func text(verbose: Bool = true) -> String {
        var out = ""
        for host in hosts {
            if let error = host.error {
                out += "\(host.host): FAILED: \(error.terminalSafe())\n"
                continue
            }
            for account in host.accounts {
                let shown = account.findings.filter { verbose || $0.severity != .info }
                let errors = shown.filter { $0.severity == .error }.count, warnings = shown.filter { $0.severity == .warning }.count
                let counts = errors + warnings == 0 ? "ok" : [errors > 0 ? errors.counted("error") : nil, warnings > 0 ? warnings.counted("warning") : nil]
                    .compactMap { $0 }.joined(separator: ", ")
                out += "\(host.host) \(account.account): \(counts)\n"
                for finding in shown {
                    out += "  \(finding.severity.rawValue) \(finding.code.rawValue): \(finding.message.terminalSafe())\n"
                    for line in finding.evidence { out += "      \(line.terminalSafe())\n" }
                    if let fix = finding.fix { out += "    fix: \(fix.terminalSafe())\n" }
                }
            }
        }
        let s = summary
        out += "examined \(s.hosts.counted("host")) in \(s.seconds.secondsText) s: \(s.errors.counted("error")), \(s.warnings.counted("warning")), \(s.failed) failed"
        return out + (interrupted ? " — INTERRUPTED\n" : "\n")
    }
}
