import Foundation

/// Creating a missing role account (`groupadd` + `useradd`, password field `*`).
public struct AccountCreation: Hashable, Sendable {
    public var uid: Int?
    public var gid: Int?
    public var group: String
    /// Create the group first (it does not exist yet).
    public var createGroup: Bool
    public var home: String
    public var shell: String

    public init(uid: Int?, gid: Int?, group: String, createGroup: Bool, home: String, shell: String) {
        self.uid = uid
        self.gid = gid
        self.group = group
        self.createGroup = createGroup
        self.home = home
        self.shell = shell
    }
}

/// Replacing one file (authorized_keys, or a root file under `/etc/ssh/keysync/`),
/// guarded by the hash the plan was made from.
public struct FileWrite: Hashable, Sendable {
    /// The file sshd reads (from `sshd -T`), and its folder.
    public var path: String
    /// sha256 hex of the content planned from, or `absent`.
    public var expectedHash: String
    public var content: [UInt8]
    /// A root-owned keys file whose folder is the one AuthorizedKeysFile
    /// names (`/etc/ssh/authorized_keys`): apply makes it (root, 0755)
    /// when it is missing. Never for a folder made from `%u` or `%h`.
    public var makeFolder = false

    public var directory: String { (path as NSString).deletingLastPathComponent }

    public init(path: String, expectedHash: String, content: [UInt8], makeFolder: Bool = false) {
        self.path = path
        self.expectedHash = expectedHash
        self.content = content
        self.makeFolder = makeFolder
    }
}

/// Everything apply does for one account, in order: create, unlock, fix
/// home, restrict home, write.
public struct AccountApply: Hashable, Sendable {
    public var account: String
    public var create: AccountCreation?
    /// Remove group/other write from home and give it to the account (`--fix-home`).
    public var fixHome: Bool
    public var write: FileWrite?
    /// Replace a locked shadow password field with `*` (`usermod -p '*'`,
    /// `doctor --fix`), only while it is still `!`… with nothing or `*`
    /// behind: a password hash is never replaced.
    public var unlock: Bool
    /// Remove group/other write from this home (the path as probed), never
    /// changing its owner (`doctor --fix`); refused when the home moved, is
    /// a symlink, or is owned by neither the account nor root.
    public var restrictHome: String?

    public init(account: String, create: AccountCreation? = nil, fixHome: Bool = false, write: FileWrite? = nil,
                unlock: Bool = false, restrictHome: String? = nil) {
        self.account = account
        self.create = create
        self.fixHome = fixHome
        self.write = write
        self.unlock = unlock
        self.restrictHome = restrictHome
    }
}

/// What apply reported for one account.
public enum ApplyOutcome: Hashable, Sendable {
    /// Written; the new content's hash.
    case written(hash: String)
    /// Nothing to write (account created or home fixed only).
    case done
    /// The file changed between probe and apply; nothing was written.
    case conflict(String)
    case failed(String)
}

/// The POSIX `sh` script that applies a plan on one host, run as root.
///
/// A keys file outside the account's home (a root-owned layout,
/// `AuthorizedKeysFile /etc/ssh/authorized_keys/%u`) is written by root
/// instead, root:root 0644, only in a folder nobody but root can change
/// (apply.sh's `write_root_keys`); the rest of these rules hold for it too.
///
/// Safety rules (DESIGN.md, "Writing on a host" and "Threat model"):
/// nothing is followed through a symlink; every folder from home to the
/// key file is checked; the file is written *as the account* (setpriv) into
/// a temp file in the same folder, fsynced and renamed over the old one, so
/// a crash leaves either the old or the new bytes; the rename happens only
/// if the file still has the hash the plan was made from. Root never
/// chowns anything, and chmods only a home that root owns inside a folder
/// only root can change (`restrict_home`): between a check and a root
/// `chown`/`chmod` by path, the account could swap in a link to any file.
/// Commands that run as the account get stdin from /dev/null and never the
/// reply's file descriptor (a process of the account's uid can be opened
/// through /proc by that account). Leftover temp files from an interrupted
/// run are removed first. Content travels as it is when it is plain ASCII
/// lines, otherwise base64-encoded so any bytes (invalid UTF-8, NUL)
/// survive (``contentWord(_:)``). Every result line and the end line carry
/// the controller's nonce.
public enum ApplyScript {
    static let marker = "KEYSYNC-APPLY 2"

    /// `rootFiles` are written after the accounts (root-files.sh); their
    /// outcomes are keyed by path.
    public static func render(_ accounts: [AccountApply], nonce: String, rootFiles: [FileWrite] = []) -> String {
        var script = Shell.assign("nonce", nonce) + Shell.assign("read_limit", ProbeScript.fileSizeLimit) + Shell.lookupFunctions + prelude
        for account in accounts {
            let name = Shell.quote(account.account)
            if let create = account.create {
                // The usual user-private group (same name, no gid asked for) comes
                // with the account (`useradd -U`, gid = uid when free): one
                // process less per new account than groupadd + useradd.
                let privateGroup = create.createGroup && create.gid == nil && create.group == account.account
                if create.createGroup && !privateGroup {
                    var groupadd = ["groupadd"]
                    if let gid = create.gid { groupadd += ["-g", String(gid)] }
                    groupadd += ["--", create.group]
                    script += "run_create \(name) \(groupadd.map(Shell.quote).joined(separator: " "))\n"
                }
                var useradd = ["useradd", "-m", "-d", create.home, "-s", create.shell]
                    + (privateGroup ? ["-U"] : ["-g", create.group]) + ["-p", "*"]
                if let uid = create.uid { useradd += ["-u", String(uid)] }
                useradd += ["--", account.account]
                script += "run_create \(name) \(useradd.map(Shell.quote).joined(separator: " "))\n"
            }
            if account.unlock {
                script += "unlock_account \(name)\n"
            }
            if account.fixHome {
                script += "fix_home \(name)\n"
            }
            if let home = account.restrictHome {
                script += "restrict_home \(name) \(Shell.quote(home))\n"
            }
            if let write = account.write {
                let content = contentWord(write.content)
                script += "write_file " + [account.account, write.directory, write.path, write.expectedHash,
                                           SHA256Digest.hex(write.content), content].map(Shell.quote).joined(separator: " ")
                    + (write.makeFolder ? " yes\n" : "\n")
            } else {
                script += "result \(name) 'done'\n"
            }
        }
        if !rootFiles.isEmpty {
            script += EmbeddedScripts.rootFiles
            for file in rootFiles {
                script += "write_root_file " + [file.path, file.expectedHash, SHA256Digest.hex(file.content),
                                                Data(file.content).base64EncodedString()].map(Shell.quote).joined(separator: " ") + "\n"
            }
        }
        script += ProbeScript.endLine
        return script
    }

    /// How a keys file's bytes travel in the script (apply.sh's
    /// `content_bytes`): `|` and the text itself when every byte is a
    /// printable ASCII character, a tab, CR or LF (all but exotic files;
    /// no `base64` process on the host, and a third fewer bytes to send),
    /// else base64. Either way the host checks the written file against
    /// the content's hash before it is renamed into place.
    static func contentWord(_ content: [UInt8]) -> String {
        let plain = content.allSatisfy { (0x20...0x7E).contains($0) || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        return plain ? "|" + String(decoding: content, as: UTF8.self) : Data(content).base64EncodedString()
    }

    /// The outcomes an apply reply reported before it stopped (a timeout):
    /// the nonce-checked `result` lines so far, without the end line.
    static func partialOutcomes(from reply: [UInt8], nonce: String) -> [String: ApplyOutcome] {
        guard !nonce.isEmpty else { return [:] }
        var reader = ByteLineReader(reply)
        guard reader.line() == Substring(marker) else { return [:] }
        var results: [String: ApplyOutcome] = [:]
        while let line = reader.line() {
            let fields = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: false)
            guard fields.first == "result", fields.count >= 4, fields[1] == Substring(nonce) else { continue }
            record(fields, into: &results)
        }
        return results
    }

    /// The account whose commands as the account were under way when an
    /// apply reply stopped, and the byte offset of its marker line: the last
    /// `@as_account NONCE NAME` line with no result for NAME after it. Nil
    /// when the reply stopped in root's own steps (a hung `useradd` or
    /// directory lookup is nobody's stall).
    static func stalledAccount(in reply: [UInt8], nonce: String) -> (account: String, markerOffset: Int)? {
        guard !nonce.isEmpty else { return nil }
        let marker = Array("@as_account \(nonce) ".utf8), result = Array("result \(nonce) ".utf8)
        var writing: (account: String, markerOffset: Int)?
        var start = 0
        while start < reply.count {
            let end = reply[start...].firstIndex(of: 0x0A) ?? reply.count
            let line = reply[start..<end]
            if line.starts(with: marker) {
                writing = (String(decoding: line.dropFirst(marker.count), as: UTF8.self), start)
            } else if let current = writing, line.starts(with: result),
                      line.dropFirst(result.count).split(separator: 0x20, maxSplits: 1).first.map({ String(decoding: $0, as: UTF8.self) }) == current.account {
                writing = nil
            }
            start = end + 1
        }
        return writing
    }

    /// One `result NONCE NAME KIND [TEXT]` line's outcome into `results`.
    private static func record(_ fields: [Substring], into results: inout [String: ApplyOutcome]) {
        let account = String(fields[2])
        let rest = fields.count > 4 ? String(fields[4]) : ""
        switch fields[3] {
        case "ok": results[account] = .written(hash: rest)
        case "done": results[account] = results[account] ?? .done
        case "conflict": results[account] = .conflict(rest)
        default: results[account] = .failed(rest)
        }
    }

    /// Parses the apply reply into one outcome per account; throws when it
    /// is cut off or a result or end line does not carry `nonce`.
    public static func outcomes(from reply: [UInt8], nonce: String) throws(ProbeError) -> [String: ApplyOutcome] {
        var reader = ByteLineReader(reply)
        guard reader.line() == Substring(marker) else { throw .malformed("apply reply has no marker") }
        guard !nonce.isEmpty else { throw .malformed("no nonce to check the reply against") }
        var results: [String: ApplyOutcome] = [:]
        var ended = false
        while !ended, let line = reader.line() {
            let fields = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: false)
            switch fields.first {
            case "@end":
                guard fields.count == 2, fields[1] == Substring(nonce) else { throw .malformed("apply end line without the controller's nonce") }
                ended = true
            case "result":
                guard fields.count >= 4, fields[1] == Substring(nonce) else { throw .malformed("apply result without the controller's nonce") }
                record(fields, into: &results)
            default:
                continue
            }
        }
        guard ended else { throw .malformed("apply reply ended early (connection or command cut off)") }
        guard reader.atEnd else { throw .malformed("bytes after the apply end line") }
        return results
    }

    /// Parses the apply's reply in the probe's shell: what `shell` printed
    /// after the probe's `replyLength` bytes. A shell that exited before
    /// the apply's end line (killed, or failed on a line) is named with its
    /// exit status and the start of its stderr.
    public static func outcomes(from shell: ExecResult, after replyLength: Int, nonce: String) throws(ProbeError) -> [String: ApplyOutcome] {
        let reply = Array(shell.stdout[min(replyLength, shell.stdout.count)...])
        do {
            return try outcomes(from: reply, nonce: nonce)
        } catch .malformed(let reason) {
            guard shell.exitStatus != 0 else { throw .malformed(reason) }
            let stderr = shell.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw .malformed("\(reason) (the probe's shell exited with status \(shell.exitStatus)\(stderr.isEmpty ? "" : ": " + stderr.suffix(300)))")
        }
    }

    /// `result NAME KIND [TEXT]`: one reply line with the nonce, whatever TEXT holds.
    static let resultFunction = EmbeddedScripts.applyResult

    /// `result`, then the functions `render` calls (apply.sh): `run_create`,
    /// `unlock_account`, `fix_home`, `restrict_home`, `write_file`.
    private static let prelude = resultFunction + EmbeddedScripts.apply
}
