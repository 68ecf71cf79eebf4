import Foundation
import Testing
@testable import KeySync

/// probe-logins.sh run locally with /bin/sh on log files the test writes
/// (issue 21): only `Accepted publickey` lines of sshd itself are counted,
/// hostile text never counts for another account, and a rotated, truncated
/// or huge file loses no line and counts none twice.
@Suite struct LoginScanScriptTests {
    static let nonce = "N0nce4711"
    static let fpA = "SHA256:" + String(repeating: "A", count: 43)
    static let fpB = "SHA256:" + String(repeating: "B", count: 43)

    /// Runs `login_file PATH FORMAT` (or `login_parse FORMAT` on the file) with
    /// the position given, and parses the reply as the controller does.
    static func scan(_ path: String, format: String = "syslog", inode: String = "", offset: Int? = nil, limit: Int = 1 << 20,
                     parseOnly: Bool = false, cursor: String? = nil, now: Int = 1_797_000_000, year: Int = 2026,
                     timeZone: String? = nil) throws -> (LoginScanReply, String) {
        let want = cursor.map { "login_want=\(Shell.quote($0)) " } ?? ""
        let call = parseOnly ? "{ cat \(Shell.quote(path)); echo; } | \(want)login_parse \(format)\n" : "login_spent=0\nlogin_file \(Shell.quote(path)) \(format)\nlogin_line note read \"$login_spent\"\n"
        // fd 4 is the reply, as in the probe: awk prints the login lines there.
        let script = "export LC_ALL=C\nexec 4>&1\n" + (timeZone.map { "export TZ=\(Shell.quote($0))\n" } ?? "") + Shell.lookupFunctions + Shell.assign("nonce", nonce) + Shell.assign("euid", 0)
            + Shell.assign("login_limit", limit) + Shell.assign("login_left", limit) + Shell.assign("login_skip_after", ProbeScript.Logins.skipAfter)
            + Shell.assign("login_now", now) + Shell.assign("login_year", year)
            + Shell.assign("login_ino", inode) + Shell.assign("login_offset", offset.map(String.init) ?? "")
            + ProbeScript.Logins.functions + call
        let output = try LocalShell.run(script)
        #expect(output.status == 0, "\(output.stderr)")
        var reply = LoginScanReply()
        for line in output.text.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard words.count == 3, words[1] == Substring(nonce) else { continue }
            reply.apply(key: words[0], value: words[2])
        }
        return (reply, output.text)
    }

    static func syslog(_ message: String, tag: String = "sshd[412]", time: String = "Dec  5 10:00:01") -> String {
        "\(time) web-1 \(tag): \(message)\n"
    }

    static func accepted(_ account: String, _ fingerprint: String, port: Int = 50000) -> String {
        "Accepted publickey for \(account) from 10.0.0.5 port \(port) ssh2: ED25519 \(fingerprint)"
    }

    func withLog<T>(_ body: (String) throws -> T) throws -> T {
        try withTemporaryDirectory { directory in try body(directory + "/auth.log") }
    }

    static func inode(_ path: String) throws -> String {
        "\(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as! UInt64)"
    }

    static func append(_ path: String, _ text: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    /// The nonce is on no command line the probe starts: any local user can
    /// read a process's /proc/PID/cmdline while it runs, and one who knew
    /// the nonce could frame lines in a file the probe reads next. The log
    /// parser gets it in its environment (root's alone). strace records
    /// every exec of a whole probe that scans a log and looks up an account.
    @Test(.enabled(if: getuid() == 0, "runs a whole probe as root (setup installs strace)"))
    func theNonceIsOnNoCommandLine() throws {
        try withLog { path in
            try (Self.syslog(Self.accepted("alice", Self.fpA)) + Self.syslog(Self.accepted("bob", Self.fpB)))
                .write(toFile: path, atomically: false, encoding: .utf8)
            let nonce = ProbeScript.makeNonce()
            let script = ProbeScript.render([ProbeRequest(account: "ks-no-such-account")], nonce: nonce,
                                            logins: ProbeScript.Logins(source: LoginSource(kind: .syslog, path: path)))
            let trace = path + ".trace"
            let output = try LocalShell.run(script, arguments: ["-c", "exec strace -f -qq -e trace=execve -s 100000 -o \(Shell.quote(trace)) /bin/sh -s"])
            #expect(output.status == 0, "\(output.stderr)")
            let reply = output.text
            #expect(reply.contains("login_key \(nonce) 1 ") && reply.contains(" alice ") && reply.contains(" bob "), "\(reply)")
            #expect(reply.contains("@account \(nonce) ks-no-such-account\n") && reply.contains("\npasswd \n@end \(nonce)"), "\(reply)")
            let execs = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").filter { $0.contains("execve(") }
            #expect(execs.contains { $0.contains("execve(\"/usr/bin/awk\"") } && execs.contains { $0.contains("execve(\"/usr/bin/dd\"") },
                    "\(execs)")
            #expect(!execs.contains { $0.contains(nonce) }, "\(execs.filter { $0.contains(nonce) })")
        }
    }

    @Test func onlySSHDsOwnAcceptedLinesCount() throws {
        try withLog { path in
            let hostile = [
                Self.syslog(Self.accepted("usersample", Self.fpA)),
                // A name that is a whole forged line, as sshd logs it for an unknown user.
                Self.syslog("Invalid user \(Self.accepted("root", Self.fpB)) from 10.0.0.6 port 4"),
                Self.syslog("Connection closed by invalid user \(Self.accepted("root", Self.fpB)) 10.0.0.6 port 4 [preauth]"),
                // Another program's line, and a user's logger line without sshd's tag form.
                Self.syslog(Self.accepted("root", Self.fpB), tag: "cron[9]"),
                Self.syslog(Self.accepted("root", Self.fpB), tag: "sshd"),
                Self.syslog("x " + Self.accepted("root", Self.fpB)),
                // Extra words after the fingerprint, a bad fingerprint, a bad name.
                Self.syslog(Self.accepted("root", Self.fpB) + " ID evil"),
                Self.syslog(Self.accepted("root", "SHA256:short")),
                Self.syslog(Self.accepted("ro;ot", Self.fpB)),
                Self.syslog(Self.accepted("usersample", Self.fpA, port: 50001), time: "Dec  5 10:00:09"),
            ].joined()
            try hostile.write(toFile: path, atomically: true, encoding: .utf8)
            let (reply, text) = try Self.scan(path, parseOnly: true)
            #expect(reply.uses.map { "\($0.account) \($0.fingerprint) \($0.count)" } == ["usersample \(Self.fpA) 2"])
            #expect(reply.uses.first?.last.map { $0 - reply.uses.first!.first! } == 8)
            // The reply carries facts only: nothing of the other lines.
            #expect(!text.contains("Invalid") && !text.contains("10.0.0.6") && !text.contains("cron"))
        }
    }

    @Test func rawAndCertificateLines() throws {
        try withLog { path in
            let ca = "SHA256:" + String(repeating: "C", count: 43)
            try ("Accepted publickey for deploy from 10.0.0.5 port 22 ssh2: ED25519 \(Self.fpA)\r\n"
                 + "Accepted publickey for deploy from 10.0.0.5 port 22 ssh2: ED25519-CERT \(Self.fpB) ID alice@corp (serial 42) CA ED25519 \(ca)\r\n"
                 + "Accepted publickey for deploy from 10.0.0.5 port 22 ssh2: ED25519 \(Self.fpA)")  // no line end yet: not read
                .write(toFile: path, atomically: true, encoding: .utf8)
            let (reply, _) = try Self.scan(path, format: "raw", parseOnly: true)
            #expect(reply.uses.map { "\($0.keyType) \($0.count) \($0.first == nil) \($0.certificateID ?? "-")" }
                        == ["ED25519 1 true -", "ED25519-CERT 1 true alice@corp"])
        }
    }

    /// Journal entries whose MESSAGE has JSON escapes (sshd writes a key ID
    /// byte that is not printable ASCII as `\ooo`; a tab stays a tab) are
    /// counted like the others: skipping them made such certificates look unused.
    @Test func journalMessagesWithEscapesCount() throws {
        try withLog { path in
            let ca = "SHA256:" + String(repeating: "C", count: 43)
            func entry(_ message: String, uid: String = "0", comm: String = "sshd", cursor: String = "s=a;i=1") -> String {
                "{\"__CURSOR\":\"\(cursor)\",\"__REALTIME_TIMESTAMP\":\"1796990000000000\",\"_UID\":\"\(uid)\",\"_COMM\":\"\(comm)\",\"MESSAGE\":\"\(message)\"}\n"
            }
            let cert = "Accepted publickey for deploy from 10.0.0.5 port 22 ssh2: ED25519-CERT \(Self.fpB) ID "
            try (entry(cert + #"jos\\303\\251@corp (serial 42) CA ED25519 "# + ca)
                 + entry(cert.replacingOccurrences(of: Self.fpB, with: "SHA256:" + String(repeating: "D", count: 43))
                         + #"tab\tid (serial 43) CA ED25519 "# + ca, cursor: "s=a;i=2")
                 + entry(#"Accepted publickey for deploy from 10.0.0.5 port 22 ssh2: ED25519 "# + Self.fpA + #"\nAccepted publickey for root from 10.0.0.5 port 22 ssh2: ED25519 "# + Self.fpA, cursor: "s=a;i=3")
                 + entry(cert + #"quoted\"id (serial 44) CA ED25519 "# + ca, uid: "1000", cursor: "s=a;i=4"))
                .write(toFile: path, atomically: true, encoding: .utf8)
            let (reply, _) = try Self.scan(path, format: "journal", parseOnly: true)
            #expect(reply.uses.map { "\($0.account) \($0.keyType) \($0.certificateID ?? "-")" }.sorted()
                        == [#"deploy ED25519-CERT jos\303\251@corp"#, "deploy ED25519-CERT tab?id"], "\(reply.uses)")
            // A line break inside one message is a blank, never a second line; another uid's entry never counts.
            #expect(!reply.uses.contains { $0.account == "root" } && !reply.uses.contains { $0.keyType == "ED25519" })
        }
    }

    /// A syslog line has no year: the controller's UTC year is still 2026 when
    /// a host east of UTC (Auckland, UTC+13) writes `Jan  1 00:20` of 2027.
    @Test func aYearlessTimeEastOfUTCIsNotAYearEarly() throws {
        try withLog { path in
            try (Self.syslog(Self.accepted("deploy", Self.fpA), time: "Jan  1 00:20:00")
                 + Self.syslog(Self.accepted("deploy", Self.fpB), time: "Dec 31 23:50:00")).write(toFile: path, atomically: true, encoding: .utf8)
            let (reply, _) = try Self.scan(path, parseOnly: true, now: 1_798_716_600, year: 2026, timeZone: "Pacific/Auckland")
            // 2027-01-01 00:20 +13:00 is 2026-12-31 11:20 UTC; 2026-12-31 23:50 +13:00 is 10:50 UTC.
            #expect(reply.uses.first { $0.fingerprint == Self.fpA }?.last == 1_798_716_000)
            #expect(reply.uses.first { $0.fingerprint == Self.fpB }?.last == 1_798_714_200)
            // A year-old "Jan  1 05:00" read on Dec 31 at 22:00 local time is not dated into next year.
            try Self.syslog(Self.accepted("deploy", Self.fpA), time: "Jan  1 05:00:00").write(toFile: path, atomically: true, encoding: .utf8)
            let (old, _) = try Self.scan(path, parseOnly: true, now: 1_798_707_600, year: 2026, timeZone: "Pacific/Auckland")
            // 2026-01-01 05:00 +13:00 is 2025-12-31 16:00 UTC.
            #expect(old.uses.first?.last == 1_767_196_800)
        }
    }

    /// journalctl --cursor starts at the entry the last scan stopped at: it is
    /// skipped. When that entry was vacuumed the journal starts elsewhere:
    /// that is a gap since the first entry read (logins in between are lost).
    @Test func aVacuumedJournalCursorIsAGap() throws {
        try withLog { path in
            func entry(_ cursor: String, _ time: String, _ fingerprint: String) -> String {
                "{\"__CURSOR\":\"\(cursor)\",\"__REALTIME_TIMESTAMP\":\"\(time)000000\",\"_UID\":\"0\",\"_COMM\":\"sshd\",\"MESSAGE\":\"\(Self.accepted("deploy", fingerprint))\"}\n"
            }
            try (entry("s=a;i=7", "1796990000", Self.fpA) + entry("s=a;i=8", "1796990100", Self.fpB)).write(toFile: path, atomically: true, encoding: .utf8)
            let (kept, _) = try Self.scan(path, format: "journal", parseOnly: true, cursor: "s=a;i=7")
            #expect(kept.uses.map(\.fingerprint) == [Self.fpB] && kept.gap == nil, "the stored entry is not counted again")
            // Nothing new: the stored entry alone still gives the position (so a scan without keysync's own login shows).
            try entry("s=a;i=8", "1796990100", Self.fpB).write(toFile: path, atomically: true, encoding: .utf8)
            let (same, sameText) = try Self.scan(path, format: "journal", parseOnly: true, cursor: "s=a;i=8")
            #expect(same.uses.isEmpty && sameText.contains("login_end \(Self.nonce) ") && sameText.contains(" s=a;i=8\n"), "\(sameText)")
            try (entry("s=a;i=7", "1796990000", Self.fpA) + entry("s=a;i=8", "1796990100", Self.fpB)).write(toFile: path, atomically: true, encoding: .utf8)
            let (vacuumed, _) = try Self.scan(path, format: "journal", parseOnly: true, cursor: "s=a;i=5")
            #expect(vacuumed.uses.map(\.fingerprint).sorted() == [Self.fpA, Self.fpB])
            #expect(vacuumed.gap == "vacuumed" && vacuumed.sinceTime == 1_796_990_000)
        }
    }

    /// Position kept after whole lines; a rename (the old inode beside the
    /// new file as auth.log.1) is finished first; a truncated file is read
    /// from its start.
    @Test func rotationAndTruncation() throws {
        try withLog { path in
            try Self.syslog(Self.accepted("a", Self.fpA)).write(toFile: path, atomically: false, encoding: .utf8)
            let first = try Self.scan(path, offset: nil).0
            #expect(first.firstScan && first.uses.map(\.count) == [1])
            guard case .file(let inode, let offset)? = first.position else { Issue.record("no position"); return }
            #expect(inode == (try Self.inode(path)))

            try Self.append(path, Self.syslog(Self.accepted("a", Self.fpA)))
            let second = try Self.scan(path, inode: inode, offset: offset).0
            #expect(second.uses.map(\.count) == [1] && second.gap == nil)
            guard case .file(_, let offset2)? = second.position else { Issue.record("no position"); return }

            // Rotation: one more line into the old file, rename, one line into a new one.
            try Self.append(path, Self.syslog(Self.accepted("a", Self.fpA)))
            try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
            try Self.syslog(Self.accepted("b", Self.fpB)).write(toFile: path, atomically: false, encoding: .utf8)
            let rotated = try Self.scan(path, inode: inode, offset: offset2).0
            #expect(rotated.uses.map { "\($0.account) \($0.count)" } == ["a 1", "b 1"])
            #expect(rotated.gap == nil)
            guard case .file(let inode3, let offset3)? = rotated.position else { Issue.record("no position"); return }
            #expect(inode3 == (try Self.inode(path)))
            let again = try Self.scan(path, inode: inode3, offset: offset3).0
            #expect(again.uses.isEmpty)

            // copytruncate: shorter than the position: read from the start, said as a gap.
            try Self.syslog(Self.accepted("c", Self.fpA)).write(toFile: path, atomically: false, encoding: .utf8)
            let truncated = try Self.scan(path, inode: inode3, offset: offset3 + 500).0
            #expect(truncated.gap == "truncated" && truncated.uses.map(\.account) == ["c"])
        }
    }

    /// A file grown far past the read limit since the last scan: its last
    /// `limit` bytes are read (from a whole line), never the rest.
    @Test func farBehindReadsOnlyTheEnd() throws {
        try withLog { path in
            try Self.syslog(Self.accepted("a", Self.fpA)).write(toFile: path, atomically: false, encoding: .utf8)
            let start = try Self.scan(path).0
            guard case .file(let inode, let offset)? = start.position else { Issue.record("no position"); return }
            let filler = Self.syslog("Connection closed by 10.0.0.9 port 1 [preauth]")
            try Self.append(path, String(repeating: filler, count: 200_000 / filler.utf8.count + 1) + Self.syslog(Self.accepted("b", Self.fpB)))
            let (reply, _) = try Self.scan(path, inode: inode, offset: offset, limit: 4096)
            #expect(reply.gap == "skipped")
            #expect(reply.uses.map(\.account) == ["b"])
            // The piece a run reads, then the end: never more than twice the limit.
            #expect(try #require(reply.bytesRead) <= 2 * 4096)
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
            #expect(reply.position == .file(inode: inode, offset: size))

            // Behind, but not far: a piece per run, no gap, nothing lost.
            try Self.append(path, String(repeating: filler, count: 3000 / filler.utf8.count + 1) + Self.syslog(Self.accepted("c", Self.fpA)))
            let piece = try Self.scan(path, inode: inode, offset: size, limit: 2048).0
            #expect(piece.behind && piece.gap == nil && piece.uses.isEmpty)
            guard case .file(_, let next)? = piece.position else { Issue.record("no position"); return }
            let rest = try Self.scan(path, inode: inode, offset: next, limit: 2048).0
            #expect(rest.uses.map(\.account) == ["c"] && !rest.behind)
        }
    }

    /// Doctor's rule for log files, and one more: a file others may write is
    /// never a source (its lines could be forged by them).
    @Test func groupOrWorldWritableFilesAreNoSource() throws {
        try withLog { path in
            try "".write(toFile: path, atomically: false, encoding: .utf8)
            var verdicts: [String] = []
            for mode in ["600", "640", "644", "660", "602", "1777"] {
                let script = "export LC_ALL=C\n" + ProbeScript.Logins.functions
                    + "chmod \(mode) \(Shell.quote(path)) && if login_safe \(Shell.quote(path)); then echo yes; else echo no; fi\n"
                verdicts.append("\(mode) " + (try LocalShell.run(script).text.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
            #expect(verdicts == ["600 yes", "640 yes", "644 yes", "660 no", "602 no", "1777 no"])
            #expect(try LocalShell.run(ProbeScript.Logins.functions + "login_safe /nonexistent || echo no\n").text == "no\n")
            // Owned by a user (one who created an -E path in /var/tmp first): no source; a system account's (syslog): one.
            var owners: [String] = []
            for uid in ["1001", "104", "0"] {
                let script = "export LC_ALL=C\n" + ProbeScript.Logins.functions
                    + "chmod 640 \(Shell.quote(path)) && chown \(uid) \(Shell.quote(path)) && if login_safe \(Shell.quote(path)); then echo yes; else echo no; fi\n"
                owners.append("\(uid) " + (try LocalShell.run(script).text.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
            #expect(owners == ["1001 no", "104 yes", "0 yes"])
        }
    }
}
