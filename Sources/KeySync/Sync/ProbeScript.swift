/// One account the probe looks at, with the ids keysync would create it with.
public struct ProbeRequest: Hashable, Sendable {
    public var account: String
    public var uid: Int?
    public var gid: Int?
    /// The primary group name keysync would use or create.
    public var group: String?

    public init(account: String, uid: Int? = nil, gid: Int? = nil, group: String? = nil) {
        self.account = account
        self.uid = uid
        self.gid = gid
        self.group = group
    }
}

/// The read-only POSIX `sh` script run once per host (as root through
/// `sudo -n sh -s`, or `sh -s` when the login is root).
///
/// The reply is line-oriented (`key value`), one `@account NONCE NAME`
/// section per account, ended by `@end NONCE`. File bytes come framed by
/// `content-begin NONCE` … `\ncontent-end NONCE STATUS`. The nonce is the
/// controller's, fresh per run: nothing on the host (a file, a GECOS field,
/// a log line) can start or end a frame, because it cannot know the nonce,
/// and every value is printed with `printf '%s'` (never `echo`, which turns
/// `\n` into a line break) on one line.
///
/// Hostile hosts (DESIGN.md, "Threat model"): a key file is read *as the
/// account* (setpriv), as sshd reads it, so nothing the account cannot read
/// reaches the controller; processes that run as the account get neither
/// the script (stdin is /dev/null) nor the reply (their output goes through
/// a root `head -c`, which also bounds it). A root-owned file with one link
/// (the seed incident: an admin wrote it with sudo) is read as root only
/// after the folder and the file were checked without following any link
/// (see `read_as_root`). Password hashes never leave the host: only the
/// class of the shadow password field (`locked`, `star`, `hash`, `empty`).
public enum ProbeScript {
    /// Marker on the first line of a reply, to tell a probe reply from a login banner or an error.
    static let marker = "KEYSYNC-PROBE 2"

    /// Key files larger than this are not read: the probe reports
    /// `too_large SIZE` (drift `file_too_large`), so one huge file costs the
    /// controller nothing, and at most this many bytes per file are ever held.
    public static let fileSizeLimit = 4 << 20

    /// The script for `requests`. `$1` is the login's `SSH_CLIENT` (for `sshd -T -C addr=`).
    /// `nonce` frames the reply (``makeNonce()``; the parser must be given the same one).
    /// With `diagnostics`, each account section also carries what `keysync doctor` needs.
    /// With `grantEnds` (Unix times of the grants on this host that end), the
    /// reply says how sshd takes `expiry-time` (``grantExpiry``).
    /// With `rootFiles` (paths under `/etc/ssh/keysync/`), the reply also
    /// says what each of them holds (root-files.sh, ``RootFileProbe``). With
    /// `logins`, it also reads sshd's log since the last scan (``Logins``).
    public static func render(_ requests: [ProbeRequest], nonce: String, diagnostics: Diagnostics? = nil,
                              grantEnds: [Int] = [], rootFiles: [String] = [], sweepRootFiles: Bool = false,
                              logins: Logins? = nil) -> String {
        // Doctor wants sshd's own view (sshd -T) and its version, always.
        var script = Shell.assign("nonce", nonce) + Shell.assign("read_limit", fileSizeLimit)
            + (diagnostics == nil ? "" : Shell.assign("sshd_t", "yes"))
            + (rootFiles.isEmpty ? "" : Shell.assign("root_files", "yes")) + Shell.lookupFunctions + prelude
            + (diagnostics?.prelude ?? "")
        if !grantEnds.isEmpty {
            script += Shell.assign("grant_ends", Set(grantEnds).sorted().map(String.init).joined(separator: " ")) + grantExpiry
        }
        if let logins { script += logins.script }
        for request in requests {
            let uid = request.uid.map(String.init) ?? "-"
            let gid = request.gid.map(String.init) ?? "-"
            script += "probe_account " + [request.account, uid, gid, request.group ?? ""].map(Shell.quote).joined(separator: " ") + "\n"
            if diagnostics != nil { script += "diagnose_account \(Shell.quote(request.account))\n" }
        }
        if diagnostics != nil { script += Diagnostics.epilogue }
        if !rootFiles.isEmpty || sweepRootFiles {
            script += EmbeddedScripts.rootFiles
            for path in rootFiles { script += "probe_root_file \(Shell.quote(path))\n" }
        }
        if sweepRootFiles {
            script += "sweep_root_files " + ([RootFiles.folder] + rootFiles).map(Shell.quote).joined(separator: " ") + "\n"
        }
        script += endLine
        return script
    }

    /// Only when a grant on the host ends: sshd's version says how to write
    /// `expiry-time` (7.7 added it, 9.1 its `Z` suffix). `sshd -V` is one
    /// exec (an older sshd without `-V` prints its version in the usage
    /// text, before reading any config). sshd 7.7–9.0 read the time in local
    /// time, so for them `date` also gives the offset from UTC at each end
    /// (the login's TZ is sshd's: sshd passes its own TZ on).
    static let grantExpiry = EmbeddedScripts.probeGrantExpiry

    /// The script's last line.
    static let endLine = "printf '@end %s\\n' \"$nonce\"\n"

    /// What the reply's stdout ends with once the probe ran to its end
    /// line: `@end NONCE` on a line of its own. The shell that printed it
    /// is then waiting for more input (the apply, or EOF). A host's file
    /// cannot end a reply early: it cannot know the nonce. (The line break
    /// before it is the previous line's: the reply always starts with its marker line.)
    public static func endMarker(nonce: String) -> [UInt8] { Array("\n@end \(nonce)\n".utf8) }

    /// The most a well-behaved host prints for `accounts` accounts: each
    /// file at most once as the account and once as root (base64), doctor's
    /// other key files and log lines, plus the lines around them. The
    /// transport stops reading past it, so a compromised host costs the
    /// controller at most this much memory per host in flight.
    public static func replyLimit(accounts: Int, diagnostics: Bool) -> Int {
        let perFile = fileSizeLimit + 1 + (fileSizeLimit + 2) / 3 * 4 + 4096
        // One keys file read as the account or as root, plus the files after
        // the first in AuthorizedKeysFile (authorized_keys2), read as the account.
        let perAccount = perFile * (diagnostics ? 4 : 1) + fileSizeLimit + 4096 + (256 << 10)
        return (1 << 20) + max(1, accounts) * perAccount
    }

    /// 128 random bits as hex.
    public static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return SHA256Digest.lowerHex((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// The probe's functions (probe.sh): the reply's first lines (marker,
    /// euid, setpriv), sshd_config read without `sshd -T` when it has no
    /// `Match`, `probe_account`, and the reads as the account and as root.
    static let prelude = EmbeddedScripts.probe
}
