import Foundation
import Testing
@testable import KeySync

@Suite struct ProbeScriptTests {
    static let requests = [
        ProbeRequest(account: "usersample", uid: 1001, gid: 1001, group: "usersample"),
        ProbeRequest(account: "app"),
    ] + Hostile.values.map { ProbeRequest(account: "u" + $0, uid: 7, gid: nil, group: "g" + $0) }

    @Test func renderedScriptParses() throws {
        try LocalShell.syntaxCheck(ProbeScript.render([], nonce: "0"))
        try LocalShell.syntaxCheck(ProbeScript.render(Self.requests, nonce: "0"))
    }

    @Test func startsWithTheMarkerAndEndsWithEnd() {
        let script = ProbeScript.render(Self.requests, nonce: "0")
        #expect(script.contains("printf '%s\\n' '\(ProbeScript.marker)'\n"))
        #expect(script.hasSuffix(ProbeScript.endLine))
    }

    /// Host values reach the reply through `printf '%s'`: dash's `echo`
    /// turns a `\n` in a GECOS field into a line break.
    @Test func theProbeNeverEchoesAValue() {
        let script = ProbeScript.render(Self.requests, nonce: "0", diagnostics: ProbeScript.Diagnostics())
        for line in script.split(separator: "\n") where line.contains("echo ") {
            #expect(!line.contains("echo \"") || line.contains("echo \"$?\""), "\(line)")
        }
    }

    @Test func hostileAccountAndGroupNamesArriveAsLiteralArguments() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let body = ProbeScript.render(Self.requests, nonce: "0").droppingPrelude(of: ProbeScript.render([], nonce: "0"))
        let output = try LocalShell.run(StubCalls.stubs(["probe_account"], recordingInto: folder.file("calls").path)
                                        + "nonce=0\n" + body, directory: folder.url)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.text == "@end 0\n")
        let calls = try StubCalls.calls(in: folder.file("calls"))
        #expect(calls == Self.requests.map { request in
            ["probe_account", request.account, request.uid.map(String.init) ?? "-", request.gid.map(String.init) ?? "-",
             request.group ?? ""]
        })
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["calls"])
    }

    @Test func valuesAppearOnlyInsideSingleQuotes() {
        let body = ProbeScript.render(Self.requests, nonce: "0").droppingPrelude(of: ProbeScript.render([], nonce: "0"))
        // The end line names the prelude's nonce variable, no inventory value.
        #expect(body.hasSuffix(ProbeScript.endLine))
        for line in unquotedRemainder(String(body.dropLast(ProbeScript.endLine.count))).split(separator: "\n") {
            let words = line.split(separator: " ")
            #expect(["probe_account", "echo"].contains(String(words.first ?? "")), "\(line)")
            for word in words.dropFirst() {
                #expect(word.allSatisfy { $0 == "'" || $0 == "\\" || $0 == "-" || $0.isNumber }, "unquoted \(word) in \(line)")
            }
        }
    }

    /// A process that runs as the account can be opened through /proc by
    /// that account: it must hold neither the script (stdin: an account
    /// writing there would run commands as root) nor the reply (it could
    /// read the nonce and forge frames). A stub `setpriv` records what the
    /// read as the account and apply's `as_user` would hand over.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")))
    func processesOfTheAccountGetNeitherTheScriptNorTheReply() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let record = folder.file("fds").path
        let stub = """
            setpriv() {
                KS_RECORD=\(Shell.quote(record)) python3 -c 'import os
            out = []
            for f in sorted(os.listdir("/proc/self/fd"), key=int):
                try: out.append(f + " " + os.readlink("/proc/self/fd/" + f))
                except OSError: pass
            open(os.environ["KS_RECORD"], "a").write("\\n".join(out) + "\\n--\\n")'
            }

            """
        let probe = stub + ProbeScript.render([], nonce: "n0").droppingEndLine + "read_as_account content /etc/hostname 0 0\n"
        let apply = stub + ApplyScript.render([], nonce: "n0").droppingEndLine + "as_user 1 1 true >/dev/null 2>&1\n"
        for script in [probe, apply] {
            let output = try LocalShell.run(script, arguments: ["-s"], directory: folder.url)
            #expect(output.status == 0, "\(output.stderr)")
        }
        let sets = try String(contentsOfFile: record, encoding: .utf8).components(separatedBy: "--\n").filter { !$0.isEmpty }
        #expect(sets.count == 2)
        for set in sets {
            let fds = Dictionary(uniqueKeysWithValues: set.split(separator: "\n").map { line in
                let parts = line.split(separator: " ", maxSplits: 1)
                return (Int(parts[0]) ?? -1, String(parts.count > 1 ? parts[1] : ""))
            })
            #expect(fds[0] == "/dev/null", "stdin is \(fds[0] ?? "closed"): \(set)")
            // The only other descriptors: stdout/stderr (a pipe to a root process or /dev/null) and python's own.
            for (fd, target) in fds where fd != 0 {
                #expect(!target.contains("keysync-sh-"), "fd \(fd) reaches the script or the reply (\(target)): \(set)")
                #expect(fd <= 2 || !target.hasPrefix("pipe:"), "fd \(fd) is an extra pipe (\(target)): \(set)")
            }
        }
    }

    /// The real probe, run locally (read-only): its reply parses, and what it
    /// says about root and a missing account is right.
    @Test(.enabled(if: getuid() == 0, "reads /etc/shadow: needs root"))
    func realProbeReplyParses() throws {
        let missing = "keysync-nosuchuser"
        let script = ProbeScript.render([
            ProbeRequest(account: "root", uid: 0, gid: 0, group: "root"),
            ProbeRequest(account: missing, uid: 0, gid: 0, group: "root"),
        ], nonce: "n0")
        let output = try LocalShell.run(script, arguments: ["-s", "--", "127.0.0.1 40000 22"])
        #expect(output.status == 0, "\(output.stderr)")
        let probe = try HostProbe(reply: output.stdout, nonce: "n0")
        #expect(probe.euid == 0)
        let root = try #require(probe.accounts["root"])
        #expect(root.exists && root.uid == 0 && root.gid == 0)
        #expect(root.groupName == "root")
        #expect(root.shadow != nil)
        // Today's day number is asked of the host (a `date` process) only when an expiry date needs it.
        if root.shadow?.expire != nil {
            #expect(root.today.map { abs($0 - Int(Date().timeIntervalSince1970) / 86400) <= 1 } == true)
        } else {
            #expect(root.today == nil)
        }
        #expect(root.home?.kind == .directory)
        #expect(root.path?.hasPrefix("/") == true)
        let gone = try #require(probe.accounts[missing])
        #expect(!gone.exists)
        #expect(gone.uidOwner == "root")
        #expect(gone.gidOwner == "root")
        #expect(gone.groupNameGID == 0)
    }
}

@Suite struct AuthorizedKeysPathTests {
    @Test(arguments: [
        (nil, "/home/u/.ssh/authorized_keys"),
        (".ssh/authorized_keys .ssh/authorized_keys2", "/home/u/.ssh/authorized_keys"),
        ("/etc/ssh/keys/%u", "/etc/ssh/keys/u"),
        ("%h/.ssh/keys", "/home/u/.ssh/keys"),
        ("keys/%u/%u", "/home/u/keys/u/u"),
        ("keys/%%u", "/home/u/keys/%u"),
        ("100%%", "/home/u/100%"),
        ("%x/keys", "/home/u/%x/keys"),
        ("keys%", "/home/u/keys%"),
        ("/abs", "/abs"),
        ("%h", "/home/u"),
        ("%u/ak", "/home/u/u/ak"),
    ] as [(String?, String)])
    func expands(_ setting: String?, _ expected: String) {
        #expect(AuthorizedKeysPath.expand(setting, home: "/home/u", user: "u") == expected)
    }

    /// The controller (planning a new account) and the probe's awk (existing
    /// accounts) must agree on the path.
    @Test func probeExpansionAgreesWithSwift() throws {
        let cases: [(String, String, String)] = [
            (".ssh/authorized_keys", "/home/u", "u"),
            ("/etc/ssh/keys/%u", "/home/u", "u"),
            ("%h/.ssh/k%%", "/srv/my home", "svc"),
            ("%x%", "/home/u", "u"),
            ("%h/k", #"/home/back\slash\t"#, "u"),
            ("%h/%u", "/home/a&b", "a"),
        ]
        var script = ProbeScript.render([], nonce: "0") + "echo '---'\n"
        for (token, home, user) in cases {
            script += "akf_expand \(Shell.quote(token)) \(Shell.quote(home)) \(Shell.quote(user)); printf '%s\\n' \"$akf_path\"\n"
        }
        let output = try LocalShell.run(script, arguments: ["-s", "--", "127.0.0.1 1 22"])
        let lines = output.text.components(separatedBy: "---\n").last?.split(separator: "\n", omittingEmptySubsequences: false) ?? []
        for (index, (token, home, user)) in cases.enumerated() {
            let probe = index < lines.count ? String(lines[index]) : "<none>"
            #expect(probe == AuthorizedKeysPath.expand(token, home: home, user: user), "\(token) home \(home)")
        }
    }
}
