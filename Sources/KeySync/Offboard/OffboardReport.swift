import Foundation

/// What `keysync offboard` prints: with `--json` this document (see
/// docs/sync.md, "Offboarding"), else ``text()``.
///
/// ```json
/// {"run": 12, "person": "bob", "left": "2026-12-05", "dry_run": false,
///  "keys": [{"name", "type", "fingerprint"}],
///  "hosts": [{"host", "status": "ok|changed|drift|failed", "error",
///             "found": [{"account", "path", "line", "key", "fingerprint", "block", "removed", "reason"}],
///             "remaining": [{"account", "path", "line", "key", "fingerprint", "block", "reason"}]}],
///  "summary": {"hosts", "found", "removed", "remaining", "failed", "seconds"},
///  "interrupted": false}
/// ```
public struct OffboardReport: Codable, Sendable {
    /// One of the person's keys.
    public struct Key: Codable, Hashable, Sendable {
        public var name: String
        public var type: String
        public var fingerprint: String
    }

    /// A key line: where it was found, whether it went, and why not.
    public struct Line: Codable, Hashable, Sendable {
        public var account: String
        public var path: String
        public var line: Int
        public var key: String
        public var fingerprint: String
        /// `project=P role=R` when inside a keysync block.
        public var block: String?
        /// In `found` only: removed and verified gone.
        public var removed: Bool?
        /// Why it was not removed (or, in `remaining`, why it is still there).
        public var reason: String?

        init(_ finding: KeyFinding, removed: Bool?, reason: String?) {
            (account, path, line, key, fingerprint, block) = (finding.account, finding.path, finding.line, finding.key,
                                                              finding.fingerprint, finding.block)
            (self.removed, self.reason) = (removed, reason)
        }
    }

    /// One host: its status and every key line found or still there.
    public struct Host: Codable, Sendable {
        public var host: String
        /// `ok` nothing found, `changed` every line found was removed,
        /// `drift` a line remains (or, with `--dry-run`, was found), `failed`.
        public var status: HostStatus
        public var error: String?
        /// Lines the first read found, in file order.
        public var found: [Line]
        /// Lines still there: the re-read after writing (with `--dry-run`,
        /// or where nothing could be written, the first read).
        public var remaining: [Line]
    }

    /// Counts over the whole run, as in `summary`.
    public struct Summary: Codable, Sendable {
        public var hosts: Int
        /// Key lines found, removed, still there (over all hosts).
        public var found: Int
        public var removed: Int
        public var remaining: Int
        /// Hosts that failed.
        public var failed: Int
        public var seconds: Double
    }

    public var run: Int64?
    public var person: String
    /// The person's `left:`, as ``InventoryDate/text(_:)`` prints it.
    public var left: String
    public var dryRun: Bool
    public var keys: [Key]
    public var hosts: [Host]
    public var summary: Summary
    /// Stopped early (SIGINT/SIGTERM): hosts not started are failed.
    public var interrupted: Bool
    /// Hosts keysync reached before that left `hosts:` without a
    /// `decommission` (still `host_departed`): not scanned, so this run cannot
    /// say that none of the person's keys remains there.
    public var notScanned: [String] = []

    enum CodingKeys: String, CodingKey {
        case run, person, left, dryRun = "dry_run", keys, hosts, summary, interrupted, notScanned = "not_scanned"
    }

    /// A report of `results` (in inventory host order).
    public init(run: Int64?, person: InventoryPerson, keys: [Key], dryRun: Bool, results: [OffboardHostResult],
                seconds: Double, interrupted: Bool) {
        self.run = run
        self.person = person.name
        left = person.left.map(InventoryDate.text) ?? ""
        self.dryRun = dryRun
        self.keys = keys
        self.interrupted = interrupted
        hosts = results.map { outcome in
            Host(host: outcome.result.host, status: outcome.result.status, error: outcome.result.error,
                 found: outcome.found.map { Line($0.finding, removed: $0.removed, reason: $0.reason) },
                 remaining: outcome.remaining.map { Line($0.finding, removed: nil, reason: $0.reason) })
        }
        summary = Summary(hosts: hosts.count, found: hosts.reduce(0) { $0 + $1.found.count },
                          removed: hosts.reduce(0) { $0 + $1.found.filter { $0.removed == true }.count },
                          remaining: hosts.reduce(0) { $0 + $1.remaining.count },
                          failed: hosts.filter { $0.status == .failed }.count,
                          seconds: (seconds * 1000).rounded() / 1000)
    }

    /// 130 interrupted, 3 a host failed, 2 a key line remains somewhere
    /// (with `--dry-run`: was found), 0 none remains anywhere.
    public var exitCode: Int32 {
        if interrupted { return 130 }
        if summary.failed > 0 { return 3 }
        if summary.remaining > 0 || !notScanned.isEmpty { return 2 }
        return 0
    }

    /// One line per key line found (removed, or why not), per line still
    /// there, and per failed host, then the summary; ends with a newline.
    /// Host text (paths, errors) is made terminal-safe.
    public func text() -> String {
        var out = "offboard \(person) (left \(left)): "
            + keys.map { "\($0.name) \($0.fingerprint)" }.joined(separator: ", ") + "\n"
        for host in hosts {
            let name = host.host.terminalSafe()
            for line in host.found {
                let place = Self.place(line)
                if line.removed == true {
                    out += "\(name): removed \(place)\n"
                } else if dryRun && line.reason == "dry run" {
                    out += "\(name): would remove \(place)\n"
                } else {
                    out += "\(name): NOT removed \(place): \((line.reason ?? "see the error").terminalSafe())\n"
                }
            }
            for line in host.remaining where !host.found.contains(where: { $0.path == line.path && $0.fingerprint == line.fingerprint }) {
                out += "\(name): REMAINS \(Self.place(line))\(line.reason.map { ": " + $0.terminalSafe() } ?? "")\n"
            }
            if host.status == .failed {
                out += "\(name): FAILED: \((host.error ?? "unknown error").terminalSafe())\n"
            }
        }
        for host in notScanned {
            out += "\(host.terminalSafe()): NOT SCANNED: no longer under hosts: and not decommissioned (host_departed); "
                + "`keysync decommission \(host.terminalSafe())` removes keysync's blocks and revoked keys there\n"
        }
        let s = summary
        var line = "\(dryRun ? "looked at" : "offboarded on") \(s.hosts.counted("host")) in \(String(format: "%.1f", s.seconds)) s: "
            + "\(s.found.counted("key line")) found, \(dryRun ? "0 removed (dry run)" : "\(s.removed) removed"), "
            + "\(s.remaining) remaining, \(s.failed) failed"
        if let run { line += " (run \(run))" }
        if interrupted { line += " — INTERRUPTED" }
        return out + line + "\n"
    }

    /// `kp-bob SHA256:… from ops: /home/ops/.ssh/authorized_keys line 3 (block project=P role=R)`.
    private static func place(_ line: Line) -> String {
        "\(line.key) \(line.fingerprint) from \(line.account.terminalSafe()): \(line.path.terminalSafe()) line \(line.line)"
            + (line.block.map { " (block \($0.terminalSafe()))" } ?? "")
    }
}
