extension ProbeScript {
    /// The extra, still read-only, part of the probe that `keysync doctor`
    /// asks for (the sync engine does not): sshd's config lines, the
    /// account's groups, how its shadow entry is locked (never the hash),
    /// whether the account can read its keys file, sshd's StrictModes walk,
    /// the other AuthorizedKeysFile files, and the last sshd log lines about
    /// the account.
    ///
    /// Host lines: `client_addr A`, `log_source S`, `config LINE<TAB>FILE<TAB>TEXT`.
    /// Account lines: `groups G…`, `shadow_lock N CLASS FIELDS`, `file_access yes|no|unknown`,
    /// `walk_file STAT<TAB>PATH`, `walk STAT<TAB>PATH`, `keyfile listed|unlisted<TAB>STAT<TAB>PATH`
    /// (then the file framed by `keyfile_content-begin NONCE` … `keyfile_content-end NONCE STATUS`),
    /// `log_checked`, `log LINE`.
    public struct Diagnostics: Hashable, Sendable {
        /// Log files on the host to search first, besides `/var/log/auth.log`,
        /// `/var/log/secure`, the file sshd logs to (`-E FILE`, or its stderr
        /// when that is a file) and the journal.
        public var logPaths: [String]
        /// Log lines kept per account (the last ones).
        public var logLines: Int

        /// Diagnostics searching `logPaths` too and keeping `logLines` lines per account.
        public init(logPaths: [String] = [], logLines: Int = 10) {
            self.logPaths = logPaths
            self.logLines = max(0, logLines)
        }

        /// Lines read from the end of each log source.
        static let logTail = 5000
        /// Bytes read from the end of each log source, at most (a log may be one endless line).
        static let logBytes = 1 << 20

        var prelude: String {
            Shell.assign("diag_lines", logLines) + Shell.assign("diag_log_bytes", Self.logBytes)
                + Shell.assign("diag_log_tail", Self.logTail) + Self.functions
                + "diag_collect_logs\(logPaths.map { " " + Shell.quote($0) }.joined())\ndiag_config\n"
        }

        /// Before the end line: the private temp file of log lines goes.
        static let epilogue = "diag_finish\n"

        /// The doctor part's functions (probe-diagnostics.sh).
        private static let functions = EmbeddedScripts.probeDiagnostics
    }
}
