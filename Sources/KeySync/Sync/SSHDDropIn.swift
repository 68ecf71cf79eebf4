import Foundation

/// `manage_sshd: true` (issue 19): keysync points sshd at the files under
/// `/etc/ssh/keysync/` with its own drop-in, validates it with `sshd -t`
/// and `sshd -T`, reloads sshd and confirms with a fresh login
/// (sshd-dropin.sh, docs/certificates.md).
public enum SSHDDropIn {
    public static let folder = "/etc/ssh/sshd_config.d"
    public static let path = folder + "/50-keysync.conf"
    /// The main configuration, whose `Include` must reach ``folder``.
    public static let mainConfig = "/etc/ssh/sshd_config"
    /// What to add to ``mainConfig`` when it has no such `Include`.
    public static let includeLine = "Include /etc/ssh/sshd_config.d/*.conf"

    /// The drop-in for `files`: the settings that use them, the same lines
    /// `sshd_config_missing` names; nil when there are none (no
    /// `certificate_authorities:`), and then keysync writes no drop-in.
    public static func content(for files: [RootFile]) -> [UInt8]? {
        let settings = RootFilesPlan.wantedSettings(files)
        guard !settings.isEmpty else { return nil }
        let text = "# keysync: points sshd at the files under /etc/ssh/keysync (manage_sshd); edits are replaced\n"
            + settings.map { "\($0.keyword) \($0.value)\n" }.joined()
        return Array(text.utf8)
    }

    /// The settings of `content` as `sshd -T` prints them (keyword lower-cased).
    static func effectiveSettings(_ content: [UInt8]) -> [String] {
        String(decoding: content, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            return parts[0].lowercased() + " " + (parts.count > 1 ? parts[1] : "")
        }
    }

    /// Whether `text` (sshd_config) has an `Include` before any `Match`
    /// whose pattern matches `path` (relative patterns are under
    /// `/etc/ssh`, as sshd reads them). An `Include` inside a `Match` block
    /// counts only for the connections it matches, so it does not count;
    /// nor do files an included file includes (keysync reads the main file only).
    public static func mainConfigIncludes(_ path: String = path, text: String) -> Bool {
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            // A line with an unclosed quote is skipped (sshd refuses such a file anyway).
            guard let words = try? SSHConfig.words(of: line, file: mainConfig, line: 0),
                  let (keyword, arguments) = SSHConfig.directive(words) else { continue }
            switch keyword.lowercased() {
            case "match": return false
            case "include":
                for pattern in arguments where fnmatch(pattern.hasPrefix("/") ? pattern : "/etc/ssh/" + pattern, path, FNM_PATHNAME) == 0 {
                    return true
                }
            default: continue
            }
        }
        return false
    }
}

/// What keysync does about sshd's drop-in on one host: a pure function of
/// the job and the probe.
public struct SSHDDropInPlan: Hashable, Sendable {
    public enum Action: Hashable, Sendable {
        /// In place (or left alone, with the drift saying why).
        case none
        /// Write `write`, validate, reload; `previous` is what to put back (nil: remove ours).
        case install(write: FileWrite, previous: [UInt8]?)
        /// The host fails and nothing is written on it.
        case refuse(kind: HostFailureKind, reason: String)
    }

    public var drift: [DriftItem] = []
    public var action: Action = .none

    public init() {}

    /// The drop-in about to be replaced (for the database's snapshot).
    public var snapshots: [Snapshot] {
        guard case .install(_, let previous?) = action else { return [] }
        return [Snapshot(account: "", path: SSHDDropIn.path, content: previous)]
    }

    /// `probe` holds what the probe saw of ``SSHDDropIn/path`` and
    /// ``SSHDDropIn/mainConfig`` (``RootFileProbe``).
    public static func plan(_ job: HostJob.SSHDManagement, probe: [String: RootFileProbe]) -> SSHDDropInPlan {
        var plan = SSHDDropInPlan()
        let path = SSHDDropIn.path
        let seen = probe[path] ?? RootFileProbe()
        func drift(_ kind: DriftKind, _ detail: String) {
            plan.drift.append(DriftItem(account: "", kind: kind, detail: detail))
        }
        if let reason = seen.unsafe { drift(.sshdDropinChanged, "\(path) not written: \(reason)"); return plan }
        switch seen.stat.kind {
        case .symlink: drift(.symlink, "\(path) is a symlink; keysync never writes through it"); return plan
        case .directory, .other: drift(.sshdDropinChanged, "\(path) is not a regular file; left alone"); return plan
        case .regular where seen.content == nil || seen.unreadable:
            drift(.sshdDropinChanged, "\(path) could not be read; left alone")
            return plan
        case .regular, .absent: break
        }
        var problems: [String] = []
        if seen.stat.kind == .absent {
            problems.append("\(path) is missing")
        } else {
            if seen.content != job.content { problems.append("\(path) differs from what keysync writes") }
            if seen.stat.uid != 0 || seen.stat.gid != 0 { problems.append("owned by \(seen.stat.uid):\(seen.stat.gid), not root:root") }
            if seen.stat.mode != 0o644 { problems.append("mode \(String(seen.stat.mode, radix: 8)), not 644") }
        }
        guard !problems.isEmpty, let hash = seen.hash else { return plan }
        var detail = problems.joined(separator: "; ")
        let main = probe[SSHDDropIn.mainConfig]
        if let reason = includeProblem(main) {
            plan.action = .refuse(kind: .sshdIncludeMissing, reason: reason)
            detail += "; " + reason
        } else if let held = job.heldBack {
            detail += "; " + held
        } else {
            plan.action = .install(write: FileWrite(path: path, expectedHash: hash, content: job.content), previous: seen.content)
        }
        var item = DriftItem(account: "", kind: .sshdDropinChanged, detail: detail)
        if case .install = plan.action { item.repairable = true }
        plan.drift.append(item)
        return plan
    }

    /// Why the drop-in would not be read by sshd, with the fix; nil when an `Include` covers it.
    static func includeProblem(_ main: RootFileProbe?) -> String? {
        guard let main, main.stat.kind == .regular || main.stat.kind == .symlink, let bytes = main.content else {
            let why = main?.unsafe ?? (main?.stat.kind == .absent ? "it is missing" : "it could not be read")
            return "\(SSHDDropIn.mainConfig) cannot be checked for an Include of \(SSHDDropIn.folder) (\(why)); nothing written"
        }
        if SSHDDropIn.mainConfigIncludes(text: String(decoding: bytes, as: UTF8.self)) { return nil }
        return "\(SSHDDropIn.mainConfig) has no Include of \(SSHDDropIn.folder) before any Match, so sshd would not read \(SSHDDropIn.path); nothing written. Fix: add `\(SSHDDropIn.includeLine)` to \(SSHDDropIn.mainConfig), above any setting it must override (sshd keeps the first value)"
    }
}

/// The script that installs (or rolls back) the drop-in, and its reply.
enum SSHDDropInScript {
    /// `install_dropin` for `write` (`previous`: the bytes to put back; nil: none).
    static func install(_ write: FileWrite, previous: [UInt8]?, nonce: String) -> String {
        let arguments = [write.path, write.expectedHash, SHA256Digest.hex(write.content), Data(write.content).base64EncodedString(),
                         previous.map { SHA256Digest.hex($0) } ?? "absent", Data(previous ?? []).base64EncodedString()]
            + SSHDDropIn.effectiveSettings(write.content)
        return render("install_dropin " + arguments.map(Shell.quote).joined(separator: " "), nonce: nonce)
    }

    /// `rollback_dropin` after a failed login: `previous` back, `sshd -t`, reload.
    static func rollback(_ write: FileWrite, previous: [UInt8]?, nonce: String) -> String {
        let arguments = [write.path, SHA256Digest.hex(write.content), previous.map { SHA256Digest.hex($0) } ?? "absent",
                         Data(previous ?? []).base64EncodedString()]
        return render("rollback_dropin " + arguments.map(Shell.quote).joined(separator: " "), nonce: nonce)
    }

    private static func render(_ call: String, nonce: String) -> String {
        // apply.sh's file_hash reads at most read_limit + 1 bytes.
        Shell.assign("nonce", nonce) + Shell.assign("read_limit", ProbeScript.fileSizeLimit) + Shell.lookupFunctions
            + ApplyScript.resultFunction + EmbeddedScripts.apply
            + EmbeddedScripts.rootFiles + EmbeddedScripts.sshdDropin + call + "\n" + ProbeScript.endLine
    }

    /// One `sshd NONCE STEP STATUS TEXT` line.
    struct Step: Hashable, Sendable {
        var name: String
        var ok: Bool
        var text: String
    }

    /// The steps of a reply, in order; throws when the reply is cut off or a line lacks `nonce`.
    static func steps(from reply: [UInt8], nonce: String) throws(ProbeError) -> [Step] {
        _ = try ApplyScript.outcomes(from: reply, nonce: nonce) // marker, nonce, end line
        var reader = ByteLineReader(reply)
        var steps: [Step] = []
        while let line = reader.line() {
            let fields = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: false)
            guard fields.first == "sshd" else { continue }
            guard fields.count >= 4, fields[1] == Substring(nonce) else { throw .malformed("sshd step without the controller's nonce") }
            steps.append(Step(name: String(fields[2]), ok: fields[3] == "ok", text: fields.count > 4 ? String(fields[4]) : ""))
        }
        return steps
    }
}
