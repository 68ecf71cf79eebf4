import Foundation

/// Explains why a role login would fail: a pure function of one probe (run
/// with ``ProbeScript/Diagnostics``) and the inventory's account, so every
/// finding is testable without a network.
public enum Doctor {
    /// What the analysis knows beyond the probe.
    public struct Context: Sendable {
        /// Inventory host name (used in `keysync push --host` fixes).
        public var host: String
        /// Only per-key findings about this inventory key (account-wide findings stay).
        public var key: String?
        /// Decides what has expired.
        public var now: Date
        /// The files keysync writes under `/etc/ssh/keysync/` on this host
        /// (``RootFiles``); doctor says when sshd does not use them.
        public var rootFiles: [RootFile] = []
        /// `manage_sshd: true` on this host: the fix for missing settings is a push.
        public var managesSSHD = false

        public init(host: String, key: String? = nil, now: Date = Date(), rootFiles: [RootFile] = [], managesSSHD: Bool = false) {
            self.host = host
            self.key = key
            self.now = now
            self.rootFiles = rootFiles
            self.managesSSHD = managesSSHD
        }
    }

    /// Findings for `account` on the probed host: errors first, then warnings, then info.
    public static func examine(_ account: AccountTarget, probe: HostProbe, context: Context) -> [DoctorFinding] {
        guard let found = probe.accounts[account.name] else {
            return [DoctorFinding(.error, .accountMissing, "the probe returned nothing for \(account.name)")]
        }
        var exam = Examination(target: account, account: found, host: probe, context: context,
                               configOrder: Examination.parseOrder(probe.configLines))
        exam.run()
        return exam.findings.enumerated()
            .sorted { ($0.element.severity, $1.offset) > ($1.element.severity, $0.offset) }
            .map(\.element)
    }
}

/// One account's analysis in progress; the checks live in extensions by concern.
struct Examination {
    let target: AccountTarget
    let account: AccountProbe
    let host: HostProbe
    let context: Doctor.Context
    /// The host's sshd_config lines in sshd's reading order (``parseOrder(_:)``).
    let configOrder: [(line: SSHDConfigLine, inMatch: Bool)]
    var findings: [DoctorFinding] = []
    /// Set when a file-level finding already explains why the managed keys are not where sshd reads.
    var keysExplained = false

    var name: String { target.name }
    var diagnostics: AccountDiagnostics { account.diagnostics ?? AccountDiagnostics() }
    var usesPAM: Bool { account.usesPAM }
    var today: Int { account.today ?? Int(context.now.timeIntervalSince1970) / 86400 }

    mutating func run() {
        guard checkAccount() else { return attachLogs() }
        checkSSHD()
        if checkFiles() { checkKeys() }
        attachLogs()
    }

    mutating func add(_ severity: DoctorFinding.Severity, _ code: DoctorCode, _ message: String,
                      evidence: [String?] = [], fix: String? = nil, key: String? = nil, subject: String? = nil) {
        findings.append(DoctorFinding(severity, code, message, evidence: evidence.compactMap { $0 }, fix: fix, key: key, subject: subject))
    }

    // MARK: Evidence

    /// `sshd -T -C user=…,host=…,addr=…: keyword value`, when sshd printed it.
    func sshdEvidence(_ keyword: String) -> String? {
        guard let value = account.sshd[keyword] else { return nil }
        let address = host.clientAddress ?? "?"
        return "sshd -T -C user=\(name),host=\(address),addr=\(address): \(keyword) \(value)"
    }

    /// The sshd_config lines of `keyword` in the order sshd reads them: an
    /// `Include` puts the files it names in its place (Debian's comes first
    /// in sshd_config, so a drop-in's line wins over the main file's), and a
    /// file nothing includes is not read at all.
    func configLines(_ keyword: String) -> [SSHDConfigLine] {
        configOrder.filter { $0.line.keyword == keyword }.map(\.line)
    }

    /// The lines of `keyword` outside `Match` blocks (or in `Match all`), in
    /// sshd's order: the first one is the setting, the one a fix edits.
    func globalConfigLines(_ keyword: String) -> [SSHDConfigLine] {
        configOrder.filter { $0.line.keyword == keyword && !$0.inMatch }.map(\.line)
    }

    /// `lines` (the probe's: sshd_config, then sshd_config.d/*.conf) in
    /// sshd's reading order, each marked when it sits in a `Match` block.
    static func parseOrder(_ lines: [SSHDConfigLine]) -> [(line: SSHDConfigLine, inMatch: Bool)] {
        let main = "/etc/ssh/sshd_config"
        let byFile = Dictionary(grouping: lines, by: \.file)
        let files = lines.map(\.file).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        var out: [(line: SSHDConfigLine, inMatch: Bool)] = []
        var read = Set<String>()
        func readFile(_ file: String, depth: Int, inMatch start: Bool) {
            // A file may be included twice (in a Match block and outside one): once each.
            guard depth < 16, read.insert("\(start) \(file)").inserted else { return }
            var inMatch = start
            for line in byFile[file] ?? [] {
                switch line.keyword {
                case "match":
                    inMatch = line.values.map { $0.lowercased() } != ["all"]
                case "include":
                    for pattern in line.values {
                        let absolute = pattern.hasPrefix("/") ? pattern : "/etc/ssh/" + pattern
                        // As sshd's glob(3): `*` stays within one folder and skips dot files.
                        for included in files.sorted() where fnmatch(absolute, included, FNM_PATHNAME | FNM_PERIOD) == 0 {
                            readFile(included, depth: depth + 1, inMatch: inMatch)
                        }
                    }
                default:
                    out.append((line, inMatch))
                }
            }
        }
        readFile(main, depth: 0, inMatch: false)
        return out
    }

    func configEvidence(_ lines: [SSHDConfigLine]) -> [String] { lines.map { "\($0.location): \($0.text)" } }

    /// `stat PATH: directory 0777 uid=1001(usersample) gid=1001(usersample)`.
    func statEvidence(_ stat: FileStat, _ path: String) -> String {
        guard stat.kind != .absent else { return "stat \(path): no such file or directory" }
        let kind = stat.kind == .regular ? "regular file" : stat.kind.rawValue
        return "stat \(path): \(kind) \(SyncPlanner.octal(stat.mode)) uid=\(stat.uid)\(owner(stat.uid).map { "(\($0))" } ?? "")"
            + " gid=\(stat.gid)\((stat.gid == 0 ? "root" : stat.gid == account.gid ? account.groupName : nil).map { "(\($0))" } ?? "")"
    }

    /// A user name for `uid` when the probe knows it.
    func owner(_ uid: Int) -> String? { uid == 0 ? "root" : uid == account.uid ? name : nil }

    /// The shadow entry with its password field shown only by class: `usersample:!:19000:0:99999:7:::`.
    var shadowEvidence: String? {
        let d = diagnostics
        if let fields = d.shadowFields {
            let rest = switch d.passwordAfterLock {
            case .star?: "*"
            case .hash?: "<password hash>"
            default: ""
            }
            return "shadow: \(name):\(String(repeating: "!", count: d.lockMarks))\(rest):\(fields)"
        }
        guard let shadow = account.shadow else { return nil }
        let expire = shadow.expire.map(String.init) ?? ""
        return "shadow: password \(shadow.password.rawValue), last change \(shadow.lastChange.map(String.init) ?? ""), expire \(expire)"
    }

    /// `day 19723 (2024-01-01)`.
    func dayText(_ day: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return "day \(day) (\(formatter.string(from: Date(timeIntervalSince1970: Double(day) * 86400))))"
    }

    // MARK: Fixes

    /// `keysync push --host H --project P…` for the account's projects (or `projects`).
    func pushFix(projects: [String]? = nil) -> String {
        var seen = Set<String>()
        let names = (projects ?? target.blocks.map(\.project)).filter { seen.insert($0).inserted }
        return Self.command(["keysync", "push", "--host", context.host] + names.flatMap { ["--project", $0] })
    }

    /// A shell word that needs no quoting.
    static func isPlain(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || "-_./:@%+=,".contains(c)) }

    /// `command` with every argument quoted where needed.
    static func command(_ words: String...) -> String { command(words) }

    /// `command` with every argument quoted where needed.
    static func command(_ words: [String]) -> String {
        words.map { !$0.isEmpty && $0.allSatisfy(isPlain) ? $0 : Shell.quote($0) }.joined(separator: " ")
    }
}

/// Fix commands that edit sshd_config.
enum ConfigFix {
    /// Checks the new config and makes sshd read it (new connections only).
    static let reload = "sshd -t && systemctl reload sshd"

    /// Appends `lines` to sshd_config, then reloads.
    static func append(_ lines: String...) -> String { append(lines) }

    /// Appends `lines` to sshd_config, then reloads.
    static func append(_ lines: [String]) -> String {
        "printf '%s\\n' " + lines.map { Examination.command($0) }.joined(separator: " ") + " >> /etc/ssh/sshd_config && " + reload
    }

    /// Replaces `line` with `text` (comments it out when nil), then reloads.
    static func edit(_ line: SSHDConfigLine, to text: String?) -> String { edit([(line, text)]) }

    /// Replaces each line (line numbers stay valid: one line becomes one line), then reloads once.
    static func edit(_ edits: [(line: SSHDConfigLine, text: String?)], thenAppend lines: [String] = []) -> String {
        edits.map { line, text in
            let expression = text.map { "\(line.line)c \($0.replacingOccurrences(of: "\\", with: "\\\\"))" } ?? "\(line.line)s/^/#/"
            return Examination.command("sed", "-i", expression, line.file)
        }.joined(separator: " && ") + " && " + (lines.isEmpty ? reload : append(lines))
    }

    /// `line` with its keyword as written and `values`.
    static func rewritten(_ line: SSHDConfigLine, values: [String]) -> String? {
        guard !values.isEmpty else { return nil }
        let keyword = line.text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "=" }).first.map(String.init) ?? line.keyword
        return ([keyword] + values).joined(separator: " ")
    }

    /// Where to look when the line could not be found (an Include elsewhere, a crypto policy).
    static func locate(_ keyword: String) -> String {
        "grep -rniE \(Shell.quote("^[[:space:]]*\(keyword)")) /etc/ssh/sshd_config /etc/ssh/sshd_config.d /etc/crypto-policies/back-ends 2>/dev/null"
    }
}
