import Foundation

/// The result of `keysync doctor` (its `--json` document, docs/doctor.md):
/// `{"hosts":[{"host","status","error","accounts":[{"account","findings":[…]}]}],"summary":{…}}`.
/// `--fix` adds `fixed` (and `fix_refused`) to findings, `fixes` to hosts,
/// `fixed` to the summary and the `run` id.
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
        /// `failed` when the host could not be probed (or, with `--fix`, a fix
        /// failed), else the worst severity of the findings not fixed (`ok` when none or only info).
        public var status: Status
        /// Why the host could not be probed (or a fix failed); always in
        /// JSON (null for a probed host), while `fixes` is there only with `--fix`.
        @NullWhenNil public var error: String?
        public var accounts: [Account]
        /// `--fix` only: what was done on the host, in order (nil without `--fix`).
        public var fixes: [String]?

        public init(host: String, error: String? = nil, accounts: [Account], fixes: [String]? = nil) {
            self.host = host
            self.error = error
            self.accounts = accounts
            self.fixes = fixes
            let worst = accounts.flatMap(\.findings).filter { $0.fixed != true }.map(\.severity).max()
            status = error != nil ? .failed : worst == .error ? .error : worst == .warning ? .warning : .ok
        }

        enum CodingKeys: String, CodingKey { case host, status, error, accounts, fixes }
    }

    /// Counts over the whole run.
    public struct Summary: Codable, Sendable {
        public var hosts: Int
        /// Findings with severity error / warning (not counting those `--fix` fixed).
        public var errors: Int
        public var warnings: Int
        /// Hosts that could not be probed.
        public var failed: Int
        public var seconds: Double
        /// `--fix` only: findings fixed (nil without `--fix`).
        public var fixed: Int?
    }

    public var hosts: [Host]
    public var summary: Summary
    /// Set when the run stopped early (SIGINT).
    public var interrupted: Bool
    /// `--fix` only: the id of the recorded `doctor-fix` run (nil without a database).
    public var run: Int64?

    enum CodingKeys: String, CodingKey { case hosts, summary, interrupted, run }

    /// `fix`: a `--fix` run (fixed findings are counted apart, `run` is written, null without a database).
    public init(hosts: [Host], seconds: Double, interrupted: Bool = false, fix: Bool = false, run: Int64? = nil) {
        self.hosts = hosts
        self.interrupted = interrupted
        self.run = run
        let all = hosts.flatMap(\.accounts).flatMap(\.findings)
        let findings = all.filter { $0.fixed != true }
        summary = Summary(hosts: hosts.count, errors: findings.filter { $0.severity == .error }.count,
                          warnings: findings.filter { $0.severity == .warning }.count,
                          failed: hosts.filter { $0.status == .failed }.count, seconds: seconds,
                          fixed: fix ? all.count - findings.count : nil)
    }

    /// Writes `run` only in `--fix` runs (null there without a database).
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(hosts, forKey: .hosts)
        try container.encode(summary, forKey: .summary)
        try container.encode(interrupted, forKey: .interrupted)
        if summary.fixed != nil { try container.encode(run, forKey: .run) }
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
            }
            for fix in host.fixes ?? [] { out += "\(host.host): fixed: \(fix.terminalSafe())\n" }
            for account in host.accounts {
                let shown = account.findings.filter { verbose || $0.severity != .info }
                let open = shown.filter { $0.fixed != true }
                let errors = open.filter { $0.severity == .error }.count, warnings = open.filter { $0.severity == .warning }.count
                let fixed = account.findings.filter { $0.fixed == true }.count
                let counts = [fixed > 0 ? "\(fixed) fixed" : nil, errors + warnings == 0 ? "ok" : nil,
                              errors > 0 ? errors.counted("error") : nil, warnings > 0 ? warnings.counted("warning") : nil]
                    .compactMap { $0 }.joined(separator: ", ")
                out += "\(host.host) \(account.account): \(counts)\n"
                for finding in shown {
                    let label = finding.fixed == true ? "fixed \(finding.severity.rawValue)" : finding.severity.rawValue
                    out += "  \(label) \(finding.code.rawValue): \(finding.message.terminalSafe())\n"
                    for line in finding.evidence { out += "      \(line.terminalSafe())\n" }
                    if let fix = finding.fix, finding.fixed != true { out += "    fix: \(fix.terminalSafe())\n" }
                    if let refused = finding.fixRefused { out += "    not fixed: \(refused.terminalSafe())\n" }
                }
            }
        }
        let s = summary
        out += "examined \(s.hosts.counted("host")) in \(s.seconds.secondsText) s: \(s.errors.counted("error")), \(s.warnings.counted("warning")), \(s.failed) failed"
        if let fixed = s.fixed { out += ", \(fixed) fixed" + (run.map { " (run \($0))" } ?? "") }
        return out + (interrupted ? " — INTERRUPTED\n" : "\n")
    }
}
