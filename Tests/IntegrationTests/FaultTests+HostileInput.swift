import Foundation
import Testing
@testable import KeySync

/// Issue 15, hostile input: text a host or its users control never drives
/// the operator's terminal; inventory values that would break a host file's
/// lines, and database files others could read or swap, are refused before
/// anything is opened or any host is contacted. Part of ``FaultTests`` (same
/// hosts, serialized, rows in `Scripts/faults`); these use host 29.
extension FaultTests {
    static let hostileHost = 29

    /// Unsafe characters left raw in `text` (line feeds excepted), as code points.
    static func rawControls(_ text: String) -> [String] {
        text.unicodeScalars.filter { $0.isUnsafeInText && $0 != "\n" }.map { "U+" + String($0.value, radix: 16, uppercase: true) }
    }

    /// A fault account plants a key whose comment sets the terminal's title
    /// (`ESC ] 0 ; pwned BEL`), returns the carriage to overprint the line,
    /// and carries a C1 CSI; every command shows it escaped, JSON as `\u`
    /// escapes, and the line itself is kept byte for byte.
    @Test func hostileKeyCommentFromTheAccountIsPrintedEscaped() throws {
        let host = Self.hostileHost
        defer { try? fleet.removeFaultAccounts([host]) }
        let world = try FaultWorld.pushed(fleet, hosts: [host])

        try world.workspace.generateKey("planted")
        let planted = try world.workspace.publicKey("planted")
        let comment = "evil\u{1B}]0;pwned\u{07}\rFAKE \u{9B}2J"
        let escaped = #"evil\u{1B}]0;pwned\u{7}\u{D}FAKE \u{9B}2J"#
        let line = "ssh-ed25519 \(planted.base64) \(comment)\n"
        let file = "/home/fz0/.ssh/authorized_keys"
        // The hostile step, as the account itself.
        try fleet.sh(host, "su -s /bin/sh fz0 -c 'cat >> \(file)'", stdin: Data(line.utf8))
        try #require(try fleet.read(host: host, file).suffix(line.utf8.count) == Array(line.utf8), "the account could not append its line")

        let checkRun = try world.keysync("check", inventory: "b.yml")
        let dryRun = try world.keysync("push", inventory: "b.yml", ["--dry-run"])
        let dryRunJSON = try world.keysync("push", inventory: "b.yml", ["--dry-run", "--json"])
        let push = try world.keysync("push", inventory: "b.yml")
        let whereText = try KeySyncBinary.run(["where", "--db", world.database, planted.fingerprint])
        let whereJSON = try KeySyncBinary.run(["where", "--db", world.database, "--json", planted.fingerprint])
        let history = try KeySyncBinary.run(["history", "--db", world.database, "--host", "h\(host)"])
        let texts = [("check", checkRun), ("push --dry-run", dryRun), ("push", push), ("where", whereText), ("history", history)]

        try FaultCheck.run("hostile key comment (ESC ]0;pwned BEL, CR, C1 CSI) appended by the account itself (su fz0)",
                           expected: "check, push --dry-run (diff), push, where, history print it escaped (\\u{1B}…), never a raw control character") { check in
            var seen: [String] = []
            for (name, result) in texts {
                let raw = Self.rawControls(result.stdout + result.stderr)
                seen.append("\(name) exit \(result.status), \(raw.isEmpty ? "no raw controls" : "RAW \(Set(raw).sorted())")\(result.stdout.contains(escaped) ? ", comment shown escaped" : "")")
                check.require(raw.isEmpty, "\(name) printed raw \(Set(raw).sorted()): \(result.stdout.debugDescription)")
            }
            check.observe(seen.joined(separator: "; "))
            check.require(checkRun.status == 2, "check (kb missing: drift): \(checkRun)")
            check.require(dryRun.status == 0 && dryRun.stdout.contains(" ssh-ed25519 \(planted.base64) \(escaped)\n"),
                          "the dry-run diff does not show the planted line escaped: \(dryRun)")
            check.require(whereText.status == 0 && whereText.stdout.contains(escaped), "where: \(whereText)")
            check.require(push.status == 0, "push: \(push)")
        }
        try FaultCheck.run("the same comment in --json output, the database and the host file",
                           expected: "JSON holds \\u001b…\\r…\\u009b and decodes to the exact comment; the database keeps it exactly; push keeps the line byte for byte") { check in
            let raw = Self.rawControls(dryRunJSON.stdout + whereJSON.stdout)
            let report = try world.report(dryRunJSON)
            let diff = report.hosts.first?.diff ?? ""
            struct Sightings: Decodable { struct S: Decodable { let comment: String }; let sightings: [S] }
            let sighted = try JSONDecoder().decode(Sightings.self, from: Data(whereJSON.stdout.utf8)).sightings.map(\.comment)
            let stored = try world.query("SELECT hex(comment) FROM host_keys WHERE fingerprint = '\(planted.fingerprint)'")
            let kept = try fleet.read(host: host, file)
            let keptLine = kept.suffix(line.utf8.count) == Array(line.utf8)
            let login = try fleet.login(host: host, user: "fz0", key: world.workspace.file("kb")).status
            check.observe("JSON: \(raw.isEmpty ? "no raw controls" : "RAW \(Set(raw).sorted())"), \\u001b \(dryRunJSON.stdout.contains(#"\u001b]0;pwned\u0007\rFAKE \u009b2J"#) ? "present" : "MISSING"), decodes exactly \(diff.contains(line) && sighted == [comment]); database comment exact \(stored == [Data(comment.utf8).map { String(format: "%02X", $0) }.joined()]); line kept byte for byte \(keptLine); new key logs in (exit \(login))")
            check.require(raw.isEmpty, "raw controls in JSON: \(raw)")
            check.require(dryRunJSON.stdout.contains(#"\u001b]0;pwned\u0007\rFAKE \u009b2J"#), "escapes missing: \(dryRunJSON.stdout)")
            check.require(diff.contains(line), "the decoded diff lacks the exact line: \(diff.debugDescription)")
            check.require(sighted == [comment], "where --json: \(sighted)")
            check.require(stored == [Data(comment.utf8).map { String(format: "%02X", $0) }.joined()], "stored: \(stored)")
            check.require(keptLine, "the planted line changed: \(String(decoding: kept, as: UTF8.self).debugDescription)")
            check.require(login == 0, "kb does not log in after the push")
        }
    }

    /// A compromised host's sudo answers with escape sequences on stderr:
    /// the failure is reported with them escaped.
    @Test func hostileSudoErrorIsPrintedEscaped() throws {
        let host = Self.hostileHost
        try fleet.removeFaultAccounts([host])
        let world = try FaultWorld(fleet)
        try world.writeInventory(.init(hosts: [host], keys: ["ka"]))
        let fake = try fleet.replaceProgram(host: host, path: "/usr/bin/sudo", script: """
            #!/bin/sh
            printf 'sudo: \\033]0;pwned\\007\\r\\033[2J\\302\\2332Jsorry, not today\\n' >&2
            exit 1
            """)
        let checkRun: CommandResult, push: CommandResult, json: CommandResult
        do {
            defer { fake.undo() }
            checkRun = try world.keysync("check")
            push = try world.keysync("push")
            json = try world.keysync("check", ["--json"])
        }
        let escaped = #"sudo: \u{1B}]0;pwned\u{7}\u{D}\u{1B}[2J\u{9B}2Jsorry, not today"#
        try FaultCheck.run("sudo's stderr carries escape sequences (a compromised host)",
                           expected: "check and push report sudo_failed with the text escaped (\\u{1B}…), exit 3; --json holds \\u001b") { check in
            let raw = Self.rawControls(checkRun.stdout + checkRun.stderr + push.stdout + push.stderr + json.stdout)
            let error = try world.report(json).hosts.first?.error ?? ""
            let line = checkRun.stdout.split(separator: "\n").first ?? ""
            check.observe("check exit \(checkRun.status): \(line.prefix(120)); push exit \(push.status); \(raw.isEmpty ? "no raw controls" : "RAW \(Set(raw).sorted())"); JSON error decodes exactly \(error.contains("sudo: \u{1B}]0;pwned\u{07}\r"))")
            check.require(raw.isEmpty, "raw controls: \(Set(raw).sorted())")
            check.require(checkRun.status == 3 && checkRun.stdout.hasPrefix("h\(host): FAILED: ") && checkRun.stdout.contains("sudo failed: \(escaped)"), "check: \(checkRun)")
            check.require(push.status == 3 && push.stdout.contains(escaped), "push: \(push)")
            check.require(json.stdout.contains(#"\u001b]0;pwned\u0007\r\u001b[2J\u009b2J"#), "JSON: \(json.stdout)")
            check.require(error.contains("sudo: \u{1B}]0;pwned\u{07}\r\u{1B}[2J\u{9B}2Jsorry"), "decoded error: \(error.debugDescription)")
        }
    }

    /// Inventory values that would break a line of a host file are refused,
    /// located, before any host is contacted.
    @Test func inventoryValuesThatWouldBreakAHostFileAreRefused() throws {
        let host = Self.hostileHost
        try fleet.removeFaultAccounts([host])
        defer { try? fleet.removeFaultAccounts([host]) }
        let world = try FaultWorld(fleet)
        let ws = world.workspace
        let good = try world.writeInventory("good.yml", .init(hosts: [host], keys: ["ka", "kb"]))
        let setup = try world.keysync("push", inventory: "good.yml")
        try #require(setup.status == 0, "\(setup)")
        let goodText = try String(contentsOfFile: good, encoding: .utf8)
        let unrestricted = try ws.publicKey("kc").base64
        // The issue's case: kb is to run one command only; the line feed would put kc, unrestricted, on a line of its own.
        try ws.write("newline-options.yml", goodText.replacingOccurrences(
            of: "  kb: { file: kb.pub }",
            with: #"  kb: { file: kb.pub, options: "command=\"/usr/bin/true\",no-pty\nssh-ed25519 \#(unrestricted) pwned" }"#))
        let evilPub = ws.file("evil.pub")
        try Data("ssh-ed25519 \(try ws.publicKey("kb").base64) kb\u{1B}]0;pwned\u{07}\r\n".utf8).write(to: URL(fileURLWithPath: evilPub))
        try ws.write("escape-comment.yml", goodText.replacingOccurrences(of: "  kb: { file: kb.pub }", with: "  kb: { file: evil.pub }"))
        try ws.write("newline-home.yml", goodText.replacingOccurrences(
            of: "home: /home/fz0,", with: #"home: "/home/fz0\npwned::0:0::/root:/bin/sh","#))

        struct Case { var fault, inventory, message, probe: String }
        let cases = [
            Case(fault: "a line feed inside a key's command=\"…\" option (would add an unrestricted key line)", inventory: "newline-options.yml",
                 message: #"newline-options\.yml:\d+:\d+: error: key "kb": options must not hold control or line-separator characters; found a line feed \(\\n\) at character 31 of "command=\\"/usr/bin/true\\",no-pty\\nssh-ed25519 "#,
                 probe: "pwned"),
            Case(fault: "escape sequence and CR in the comment of a file: key", inventory: "escape-comment.yml",
                 message: #"escape-comment\.yml:\d+:\d+: error: key "kb": the key comment in .*evil\.pub must not hold control or line-separator characters; found an escape \(\\e\)"#,
                 probe: "pwned"),
            Case(fault: "a line feed in a role's home (would add a passwd line)", inventory: "newline-home.yml",
                 message: #"newline-home\.yml:\d+:\d+: error: project "faults" role "fz0": home "/home/fz0\\npwned::0:0::/root:/bin/sh" must not hold"#,
                 probe: "pwned"),
        ]
        for c in cases {
            try FaultCheck.run("bad input: \(c.fault)", expected: "push and inventory validate exit 1 with the located error, the value shown escaped; no host contacted, nothing touched") { check in
                let before = try fleet.authorizedKeysHashes(host: host, accounts: ["fz0"])
                let passwd = try fleet.sh(host, "sha256sum /etc/passwd")
                let runs = try world.query("SELECT COUNT(*) FROM runs")
                let logStart = fleet.sshdLogSize(host: host)
                let push = try world.keysync("push", inventory: c.inventory)
                let validate = try KeySyncBinary.run(["inventory", "validate", "--inventory", ws.file(c.inventory)])
                let contacted = try fleet.sshdLog(host: host, from: logStart).contains("Connection from")
                let after = try fleet.authorizedKeysHashes(host: host, accounts: ["fz0"])
                let planted = try fleet.sh(host, "grep -rl '\(c.probe)' /home/fz0/.ssh /etc/passwd 2>/dev/null; true")
                let firstLine = push.stderr.split(separator: "\n").first { $0.contains("error") } ?? ""
                check.observe("exit \(push.status)/\(validate.status): \(firstLine.replacingOccurrences(of: ws.path + "/", with: "").prefix(260)); host contacted \(contacted)")
                for (name, result) in [("push", push), ("inventory validate", validate)] {
                    check.require(result.status == 1, "\(name) exit \(result.status)")
                    check.require(result.stderr.range(of: c.message, options: .regularExpression) != nil, "\(name) stderr does not match /\(c.message)/: \(result.stderr)")
                    check.require(Self.rawControls(result.stderr).isEmpty, "\(name) printed raw controls")
                    check.require(result.stdout.isEmpty, "\(name) stdout: \(result.stdout)")
                }
                check.require(!contacted, "the host was contacted")
                let passwdAfter = try fleet.sh(host, "sha256sum /etc/passwd")
                let runsAfter = try world.query("SELECT COUNT(*) FROM runs")
                check.require(after == before && passwdAfter == passwd, "host files changed")
                check.require(planted.isEmpty, "planted text found in \(planted)")
                check.require(runsAfter == runs, "a run was recorded")
            }
        }
    }

    /// Database files another user could read, write or swap are refused
    /// before anything is opened (and before any host is contacted).
    @Test func unsafeDatabaseFilesAreRefusedBeforeAnythingIsOpened() throws {
        let host = Self.hostileHost
        defer { try? fleet.removeFaultAccounts([host]) }
        let world = try FaultWorld.pushed(fleet, hosts: [host])
        let ws = world.workspace
        for suffix in ["-wal", "-shm"] { unlink(world.database + suffix) }
        func copy(_ name: String) throws -> String {
            let path = ws.file(name)
            try FileManager.default.copyItem(atPath: world.database, toPath: path)
            return path
        }
        // Each case: the --db path, the file the error names, what it says, and its setup.
        var cases: [(fault: String, db: String, named: String, message: String)] = []
        let link = ws.file("link.db")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: world.database)
        cases.append(("--db is a symlink to the real database", link, link, "it is a symbolic link"))
        let dangling = ws.file("dangling.db")
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: ws.file("created-through-link.db"))
        cases.append(("--db is a dangling symlink (opening would create its target)", dangling, dangling, "it is a symbolic link"))
        let open644 = try copy("open.db")
        chmod(open644, 0o644)
        cases.append(("database readable by everyone (0644)", open644, open644, #"mode 0644\); it holds authorized_keys snapshots\. Fix: chmod 600 "#))
        let wal = try copy("wal.db")
        chmod(wal, 0o600)
        try #require(FileManager.default.createFile(atPath: wal + "-wal", contents: Data(), attributes: [.posixPermissions: 0o640]))
        cases.append(("its -wal readable by the group (0640)", wal, wal + "-wal", #"mode 0640\).*Fix: chmod 600 .*wal\.db-wal"#))
        let foreign = try copy("foreign.db")
        chmod(foreign, 0o600)
        try #require(chown(foreign, 65534, 65534) == 0, "chown nobody")
        cases.append(("database owned by another user (nobody)", foreign, foreign, #"it is owned by .*uid 65534.*, not by .*Fix: run keysync as its owner, or if the file is yours: chown root .*foreign\.db$"#))
        let shared = ws.file("shared")
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false)
        chmod(shared, 0o777)
        try FileManager.default.copyItem(atPath: world.database, toPath: shared + "/keysync.db")
        cases.append(("database in a world-writable folder without the sticky bit", shared + "/keysync.db", shared, #"this folder is writable by every user and has no sticky bit \(mode 0777\).*Fix: chmod o-w "#))

        for c in cases {
            try FaultCheck.run("database: \(c.fault)", expected: "check and push exit 1 naming the file and the fix (chmod 600 …); nothing opened or created, no host contacted") { check in
                let files = [c.db, c.db + "-wal", c.db + "-shm", world.database, world.database + "-wal", ws.file("created-through-link.db")]
                func state() -> [String] {
                    files.map { path in
                        var info = stat()
                        guard lstat(path, &info) == 0 else { return "\(path): absent" }
                        let hash = FileManager.default.contents(atPath: path).map { SHA256Digest.hex($0) } ?? "-"
                        return "\(path): \(String(info.st_mode, radix: 8)) \(info.st_uid) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(hash)"
                    }
                }
                let before = state()
                let hostBefore = try fleet.authorizedKeysHashes(host: host, accounts: ["fz0"])
                let logStart = fleet.sshdLogSize(host: host)
                let results = [try KeySyncBinary.run(["check", "--inventory", ws.file("a.yml"), "--db", c.db]),
                               try KeySyncBinary.run(["push", "--inventory", ws.file("a.yml"), "--db", c.db])]
                let contacted = try fleet.sshdLog(host: host, from: logStart).contains("Connection from")
                let changed = zip(before, state()).filter { $0 != $1 }.map(\.1)
                let message = results[0].stderr.split(separator: "\n").first { $0.hasPrefix("error:") } ?? ""
                check.observe("exit \(results.map { String($0.status) }.joined(separator: "/")): \(message.replacingOccurrences(of: ws.path + "/", with: "").prefix(300)); files changed \(changed.count); host contacted \(contacted)")
                for result in results {
                    check.require(result.status == 1, "exit \(result.status): \(result)")
                    check.require(result.stderr.contains("error: \(c.named): refusing to use the keysync database: "), "stderr: \(result.stderr)")
                    check.require(result.stderr.range(of: c.message, options: .regularExpression) != nil, "stderr does not match /\(c.message)/: \(result.stderr)")
                    check.require(result.stdout.isEmpty, "stdout: \(result.stdout)")
                }
                check.require(changed.isEmpty, "files changed: \(changed)")
                check.require(!contacted, "the host was contacted")
                let hostAfter = try fleet.authorizedKeysHashes(host: host, accounts: ["fz0"])
                check.require(hostAfter == hostBefore, "host file changed")
            }
        }
    }
}
