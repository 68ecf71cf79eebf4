import Foundation
import Testing
@testable import KeySync

/// lookup.sh answers the same whether it reads passwd, group and shadow
/// byte by byte, from what `lookup_load` read with one `awk` (issue 24,
/// step 3) or from what the log scan's awk read with the log, on files
/// with the lines that could trip the second and third ways: a name that
/// begins another, a repeated name (the first wins, as getent),
/// glob characters, blanks and backslashes in fields, `*` and `!`
/// passwords, a short line, and a last line without its newline. The
/// files are bound over /etc in a mount namespace of the test's own.
@Suite struct LookupScriptTests {
    static let files: [String: String] = [
        "passwd": """
            root:x:0:0:root:/root:/bin/bash
            ops2:x:2001:2001:a*b?[c] \\\\x  y:/home/ops2:/bin/sh
            ops:x:2000:2000::/home/ops:/bin/bash
            ops:x:2999:2999:second:/x:/bin/sh
            short:x
            *:x:4000:4000::/:/bin/sh

            """ + "tail:x:3000:3000::/home/tail:/bin/sh",
        "group": "root:x:0:\nops:x:2000:\nops2:x:2001:ops,root\nwheel:x:2000:\n",
        "shadow": "root:*:19000:0:99999:7:::\nops:!:19000::::::\nops2:$6$a*b$c:19000:0:99999:7:::\n",
        "shells": "# /etc/shells\n/bin/sh\n/bin/ba*h\n/bin/bash",
        "nsswitch.conf": "passwd: files\ngroup: files systemd\nshadow: files\n",
    ]
    static let queries: [(String, String)] = [
        ("passwd", "root"), ("passwd", "ops"), ("passwd", "ops2"), ("passwd", "op"), ("passwd", "short"), ("passwd", "*"),
        ("passwd", "0"), ("passwd", "2000"), ("passwd", "2001"), ("passwd", "2999"), ("passwd", "12"), ("passwd", "nobody"),
        ("group", "ops"), ("group", "2000"), ("group", "2001"), ("group", "wheel"), ("group", "0"),
        ("shadow", "root"), ("shadow", "ops"), ("shadow", "ops2"), ("shadow", "none"),
    ]

    /// A log scan of one sshd log line `line` (none when empty) that also
    /// loads the lookups, as login_scan has it, with the reply (fd 4) to
    /// `reply`; `$out` holds what awk printed, for login_end.
    static func scanOfLog(_ line: String, reply: String) -> String {
        "exec 4>\(reply)\n" + Shell.assign("nonce", "N0nce") + Shell.assign("login_now", 1_797_000_000)
            + Shell.assign("login_year", 2026) + "lookup_loaded=\n" + ProbeScript.Logins.functions
            + "lookup_db=; lookup_can_load && login_lookup=yes\n"
            + "out=$(printf '%s\\n\\n' \(Shell.quote(line)) | login_parse raw 0 0)\n"
    }

    @Test(.enabled(if: getuid() == 0, "binds files over /etc in its own mount namespace: root only"))
    func theLoadedFilesAnswerAsReadingThem() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var script = "set -e\n"
        for (name, text) in Self.files.sorted(by: { $0.key < $1.key }) {
            try Data(text.utf8).write(to: folder.file(name))
            script += "mount --bind \(Shell.quote(folder.file(name).path)) /etc/\(name)\n"
        }
        script += "set +e\n" + Shell.lookupFunctions
        let ask = Self.queries.map { "lookup \($0.0) \(Shell.quote($0.1)); printf '%s|%s %s=%s\\n' \"$round\" \($0.0) \(Shell.quote($0.1)) \"$found\"\n" }.joined()
        let shells = ["/bin/sh", "/bin/ba*h", "/bin/bash", "/bin/b", "/bin/zsh"].map {
            "lookup_listed_shell \(Shell.quote($0)); printf '%s|shell %s=%s\\n' \"$round\" \(Shell.quote($0)) $?\n"
        }.joined()
        // The third way: the log scan's awk reads the files (login_scan sets
        // login_lookup as here), and login_end hands them to lookup.sh.
        let scanned = Self.scanOfLog("", reply: "/dev/null")
            + "login_end 0 && [ -n \"$lookup_db\" ] && [ \"$lookup_loaded\" = yes ] && [ -z \"$login_lookup\" ] && echo scanned\nround=scanned\n"
        script += "round=read\n" + ask + "lookup_load\n[ -n \"$lookup_db\" ] && echo loaded\nround=loaded\n" + ask + shells
            + scanned + ask + shells
        let output = try LocalShell.run(script, privateMounts: true)
        #expect(output.status == 0, "\(output.stderr)")
        let lines = output.text.split(separator: "\n").map(String.init)
        #expect(lines.contains("loaded"), "\(output.text) \(output.stderr)")
        let read = lines.filter { $0.hasPrefix("read|") }.map { $0.dropFirst(5) }
        let loaded = lines.filter { $0.hasPrefix("loaded|") && !$0.contains("|shell ") }.map { $0.dropFirst(7) }
        #expect(read.count == Self.queries.count && read == loaded)
        #expect(lines.contains("scanned"), "\(output.text) \(output.stderr)")
        let scannedAnswers = lines.filter { $0.hasPrefix("scanned|") }.map { $0.dropFirst(8) }
        let loadedAll = lines.filter { $0.hasPrefix("loaded|") }.map { $0.dropFirst(7) }
        #expect(scannedAnswers.count == Self.queries.count + 5 && scannedAnswers == loadedAll)
        let answers = Dictionary(uniqueKeysWithValues: loaded.map { line in
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), String(parts[1]))
        })
        #expect(answers["passwd ops"] == "ops:x:2000:2000::/home/ops:/bin/bash")
        #expect(answers["passwd 2999"] == "ops:x:2999:2999:second:/x:/bin/sh")
        #expect(answers["passwd ops2"] == "ops2:x:2001:2001:a*b?[c] \\\\x  y:/home/ops2:/bin/sh")
        #expect(answers["passwd *"] == "*:x:4000:4000::/:/bin/sh")
        #expect(answers["passwd op"] == "" && answers["passwd short"] == "short:x" && answers["passwd 12"] == "")
        #expect(answers["group 2000"] == "ops:x:2000:" && answers["group 2001"] == "ops2:x:2001:ops,root")
        #expect(answers["shadow ops2"] == "ops2:$6$a*b$c:19000:0:99999:7:::" && answers["shadow root"] == "root:*:19000:0:99999:7:::")
        // A last line without its newline: found once loaded (as getent does), missed by `read`.
        let tail = "lookup_load\nlookup passwd tail; printf '%s\\n' \"$found\"\n"
        #expect(try LocalShell.run(script + tail, privateMounts: true).text.hasSuffix("tail:x:3000:3000::/home/tail:/bin/sh\n"))
        // What the scan's awk read for the lookups stays in the shell: with
        // fd 4 (the reply) on stdout, only the scan's own lines come out,
        // no line of passwd, group or shadow.
        let leak = Self.scanOfLog("Accepted publickey for ops from 10.0.0.5 port 5 ssh2: ED25519 SHA256:" + String(repeating: "A", count: 43),
                                  reply: "&1")
            + "login_end 0 && [ -n \"$lookup_db\" ] && echo scanned\n"
        let replyLines = try LocalShell.run(script.components(separatedBy: "round=read\n")[0] + leak, privateMounts: true).text
            .split(separator: "\n").map(String.init)
        #expect(replyLines == ["login_key N0nce 1 - - ops 10.0.0.5 ED25519 SHA256:" + String(repeating: "A", count: 43), "scanned"],
                "\(replyLines)")
        let listed = lines.filter { $0.hasPrefix("loaded|shell ") }
        #expect(listed == ["loaded|shell /bin/sh=0", "loaded|shell /bin/ba*h=0", "loaded|shell /bin/bash=0",
                           "loaded|shell /bin/b=1", "loaded|shell /bin/zsh=1"])
    }
}
