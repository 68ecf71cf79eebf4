extension ProbeScript {
    /// The read-only script `keysync offboard` runs on a host: every passwd
    /// account — root, the login user, role accounts and people's own
    /// accounts alike — and each of its AuthorizedKeysFile files that exists
    /// (sshd reads all of them: by default `.ssh/authorized_keys` *and*
    /// `.ssh/authorized_keys2`), one `@account NONCE NAME` section per file.
    ///
    /// A leaver's key pasted by hand into an account keysync does not manage
    /// is exactly what offboarding must find, so the scan is not limited to
    /// the inventory's accounts. Each section is what push's probe sends for
    /// an account (`passwd`, `path`, the `stat` lines from home down to the
    /// file, the bytes framed by the nonce), made by the same shell functions
    /// (`probe_paths`), with the same rules: the file is read *as the
    /// account* (`setpriv`), a root-owned file only in the seed-incident case,
    /// values printed with `printf '%s'`, everything framed by the nonce.
    ///
    /// Accounts come from /etc/passwd when nsswitch.conf names only files for
    /// passwd, else from `getent passwd`; AuthorizedKeysFile from
    /// sshd_config as push reads it, or from `sshd -T -C user=…` per account
    /// when the config has a `Match` block (every account is asked: an
    /// offboarding must not skip one for speed).
    public static func renderScan(nonce: String) -> String {
        Shell.assign("nonce", nonce) + Shell.assign("read_limit", fileSizeLimit) + Shell.lookupFunctions + prelude + scanFunctions
            + "scan_accounts\n" + endLine
    }

    /// The most a scan reply may be: as a probe of 16 accounts. Key files are
    /// a few kilobytes, so hundreds of accounts fit; a host that sends more
    /// (huge files, or a compromised host) fails with "reply too large"
    /// instead of costing the controller unbounded memory.
    public static let scanReplyLimit = replyLimit(accounts: 16, diagnostics: false)

    /// `scan_accounts` and `scan_entry` (probe-scan.sh).
    private static let scanFunctions = EmbeddedScripts.probeScan
}
