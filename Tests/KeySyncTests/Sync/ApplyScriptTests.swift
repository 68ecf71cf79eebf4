import Foundation
import Testing
@testable import KeySync

@Suite struct ApplyScriptTests {
    static func hostileApply(_ value: String) -> AccountApply {
        AccountApply(
            account: "u" + value,
            create: AccountCreation(uid: 1001, gid: 1002, group: "g" + value, createGroup: true,
                                    home: "/home/" + value, shell: "/bin/" + value),
            fixHome: true,
            write: FileWrite(path: "/home/\(value)/.ssh/\(value)", expectedHash: "h" + value,
                             content: Array("ssh-ed25519 AAAA \(value)\r\n".utf8) + [0xff, 0x00]),
            unlock: true, restrictHome: "/home/" + value)
    }

    @Test func everyRenderedScriptParses() throws {
        try LocalShell.syntaxCheck(ApplyScript.render([], nonce: "n0"))
        try LocalShell.syntaxCheck(ApplyScript.render(Hostile.values.map(Self.hostileApply), nonce: "n0"))
        try LocalShell.syntaxCheck(ApplyScript.render([AccountApply(account: "a"), AccountApply(account: "b", fixHome: true)], nonce: "n0"))
    }

    /// The script body passes every value as one literal word: stubs record
    /// the arguments, and nothing the values say is executed.
    @Test(arguments: Hostile.values)
    func hostileValuesArriveAsLiteralArguments(_ value: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let apply = Self.hostileApply(value)
        let body = ApplyScript.render([apply], nonce: "n0").droppingPrelude(of: ApplyScript.render([], nonce: "n0"))
        let log = folder.file("calls").path
        let output = try LocalShell.run(StubCalls.stubs(["run_create", "unlock_account", "fix_home", "restrict_home", "write_file"], recordingInto: log) + "nonce=n0\n" + body,
                                        directory: folder.url)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.text == "@end n0\n")
        let calls = try StubCalls.calls(in: folder.file("calls"))
        let create = try #require(apply.create)
        let write = try #require(apply.write)
        #expect(calls == [
            ["run_create", apply.account, "groupadd", "-g", "1002", "--", create.group],
            ["run_create", apply.account, "useradd", "-m", "-d", create.home, "-s", create.shell, "-g", create.group,
             "-p", "*", "-u", "1001", "--", apply.account],
            ["unlock_account", apply.account],
            ["fix_home", apply.account],
            ["restrict_home", apply.account, "/home/" + value],
            ["write_file", apply.account, write.directory, write.path, write.expectedHash, SHA256Digest.hex(write.content),
             ApplyScript.contentWord(write.content)],
        ])
        #expect(!FileManager.default.fileExists(atPath: folder.file("PWNED").path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["calls"])
    }

    @Test func valuesAppearOnlyInsideSingleQuotes() throws {
        let body = ApplyScript.render(Hostile.values.map(Self.hostileApply), nonce: "n0").droppingPrelude(of: ApplyScript.render([], nonce: "n0"))
        #expect(body.hasSuffix(ProbeScript.endLine))
        let remainder = unquotedRemainder(String(body.dropLast(ProbeScript.endLine.count)))
        for line in remainder.split(separator: "\n") {
            // Outside quotes: a function name, then quoted words (now `'`), escaped quotes (`\`) and numbers.
            let words = line.split(separator: " ")
            #expect(["run_create", "unlock_account", "fix_home", "restrict_home", "write_file", "result"].contains(String(words.first ?? "")), "\(line)")
            for word in words.dropFirst() {
                #expect(word.allSatisfy { $0 == "'" || $0 == "\\" }, "unquoted text \(word) in \(line)")
            }
        }
    }

    /// Plain ASCII lines travel as they are (no `base64` process on the
    /// host), anything else as base64; apply.sh's `content_bytes` gives back
    /// the exact bytes either way, quotes, `$`, backquotes, backslashes, CR
    /// and a missing last newline included.
    @Test func contentWordsGiveBackTheExactBytes() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let prelude = String(ApplyScript.render([], nonce: "n0").dropLast(ProbeScript.endLine.count))
        let contents: [[UInt8]] = [
            Array("ssh-ed25519 AAAA k1\r\n# it's $(x) `y` \\n '\"\t|\n\n".utf8),
            Array("no final newline '".utf8), [], Array("|".utf8),
            [0x23, 0x0d, 0x0a, 0xff, 0x00, 0x27], Array("caf\u{e9}\n".utf8), [0x01, 0x0a],
        ]
        for (index, content) in contents.enumerated() {
            let word = ApplyScript.contentWord(content)
            let plain = content.allSatisfy { (0x20...0x7E).contains($0) || [0x09, 0x0A, 0x0D].contains($0) }
            #expect(word.hasPrefix("|") == plain, "\(content)")
            let out = folder.file("out\(index)")
            let output = try LocalShell.run(prelude + "content_bytes \(Shell.quote(word)) > \(Shell.quote(out.path))\n")
            #expect(output.status == 0, "\(output.stderr)")
            #expect(try [UInt8](Data(contentsOf: out)) == content, "\(content)")
        }
    }

    @Test func contentTravelsAsBase64AndDecodesToTheExactBytes() throws {
        let content: [UInt8] = [0x23, 0x0d, 0x0a, 0xff, 0x00, 0x27, 0x24, 0x28, 0x60]  // # CR LF ff NUL ' $ ( `
        let script = ApplyScript.render([AccountApply(account: "alice", write: FileWrite(path: "/x/.ssh/ak", expectedHash: "absent", content: content))], nonce: "n0")
        let line = try #require(script.split(separator: "\n").first { $0.hasPrefix("write_file ") })
        let base64 = try #require(line.split(separator: " ").last).dropFirst().dropLast()
        #expect(Data(base64Encoded: String(base64)).map([UInt8].init) == content)
    }

    @Test func accountWithoutWriteReportsDone() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let body = ApplyScript.render([AccountApply(account: "alice", fixHome: true), AccountApply(account: "bob")], nonce: "n0")
            .droppingPrelude(of: ApplyScript.render([], nonce: "n0"))
        let output = try LocalShell.run(StubCalls.stubs(["fix_home"], recordingInto: folder.file("calls").path)
                                        + "nonce=n0\nnl='\n'\n" + ApplyScript.resultFunction + body)
        #expect(output.text == "result n0 alice done \nresult n0 bob done \n@end n0\n")
        #expect(try ApplyScript.outcomes(from: Array("KEYSYNC-APPLY 2\n".utf8) + output.stdout, nonce: "n0") == ["alice": .done, "bob": .done])
    }

    @Test func createWithoutGroupOrUidOmitsThem() throws {
        let script = ApplyScript.render([AccountApply(account: "app", create: AccountCreation(
            uid: nil, gid: nil, group: "staff", createGroup: false, home: "/srv/app", shell: "/bin/sh"))], nonce: "n0")
        #expect(!script.contains("'groupadd'"))
        #expect(script.contains("run_create 'app' 'useradd' '-m' '-d' '/srv/app' '-s' '/bin/sh' '-g' 'staff' '-p' '*' '--' 'app'\n"))
    }

    /// A new private group of the account's own name with no gid asked for
    /// comes with `useradd -U`; a gid or another name needs `groupadd` first.
    @Test func privateGroupComesWithUseraddU() throws {
        let privateGroup = ApplyScript.render([AccountApply(account: "app", create: AccountCreation(
            uid: 1500, gid: nil, group: "app", createGroup: true, home: "/home/app", shell: "/bin/bash"))], nonce: "n0")
        #expect(!privateGroup.contains("'groupadd'"))
        #expect(privateGroup.contains("run_create 'app' 'useradd' '-m' '-d' '/home/app' '-s' '/bin/bash' '-U' '-p' '*' '-u' '1500' '--' 'app'\n"))
        let withGID = ApplyScript.render([AccountApply(account: "app", create: AccountCreation(
            uid: nil, gid: 1500, group: "app", createGroup: true, home: "/home/app", shell: "/bin/bash"))], nonce: "n0")
        #expect(withGID.contains("run_create 'app' 'groupadd' '-g' '1500' '--' 'app'\n"))
        #expect(withGID.contains("'-g' 'app' '-p'"))
        let otherName = ApplyScript.render([AccountApply(account: "app", create: AccountCreation(
            uid: nil, gid: nil, group: "apps", createGroup: true, home: "/home/app", shell: "/bin/bash"))], nonce: "n0")
        #expect(otherName.contains("run_create 'app' 'groupadd' '--' 'apps'\n"))
    }

    // MARK: Outcomes

    @Test func parsesEveryOutcome() throws {
        let reply = """
        KEYSYNC-APPLY 2
        useradd: warning: noise that is not a result
        result n0 alice ok 0123abcd
        result n0 bob conflict /home/bob/.ssh/authorized_keys changed since it was read
        result n0 carol error useradd failed: useradd: UID 1001 is not unique
        result n0 dave done
        result n0 erin error cannot fix home /home/erin
        result n0 erin done
        result n0 frank weird something
        @end n0

        """
        let outcomes = try ApplyScript.outcomes(from: Array(reply.utf8), nonce: "n0")
        #expect(outcomes == [
            "alice": .written(hash: "0123abcd"),
            "bob": .conflict("/home/bob/.ssh/authorized_keys changed since it was read"),
            "carol": .failed("useradd failed: useradd: UID 1001 is not unique"),
            "dave": .done,
            "erin": .failed("cannot fix home /home/erin"),
            "frank": .failed("something"),
        ])
    }

    @Test(arguments: [
        "KEYSYNC-APPLY 2\nresult n0 alice ok abc\n",
        "KEYSYNC-APPLY 2\nresult n0 alice ok abc\n@end n",
        "KEYSYNC-APPLY 2\n",
        "KEYSYNC-APPLY 2",
    ])
    func missingEndIsAnError(_ reply: String) {
        #expect(throws: ProbeError.self) { try ApplyScript.outcomes(from: Array(reply.utf8), nonce: "n0") }
    }

    /// A result or end line a process on the host printed (an account's
    /// process that found the reply through /proc, an error text with a line
    /// break) lacks the nonce: the reply is refused, never read as a result.
    @Test(arguments: [
        "KEYSYNC-APPLY 2\nresult alice ok abc\n@end n0\n",
        "KEYSYNC-APPLY 2\nresult n1 alice ok abc\n@end n0\n",
        "KEYSYNC-APPLY 2\nresult n0 alice error x\n@end\n",
        "KEYSYNC-APPLY 2\nresult n0 alice error x\n@end n1\n",
        "KEYSYNC-APPLY 2\nresult n0 alice error x\n@end n0\nresult n0 alice ok abc\n",
    ])
    func linesWithoutTheNonceAreRefused(_ reply: String) {
        #expect(throws: ProbeError.self) { try ApplyScript.outcomes(from: Array(reply.utf8), nonce: "n0") }
    }

    @Test(arguments: ["", "result n0 alice ok abc\n@end n0\n", "KEYSYNC-PROBE 2\n@end n0\n", "KEYSYNC-APPLY 1\n@end n0\n", "sudo: a password is required\n"])
    func missingMarkerIsAnError(_ reply: String) {
        #expect(throws: ProbeError.malformed("apply reply has no marker")) { try ApplyScript.outcomes(from: Array(reply.utf8), nonce: "n0") }
    }

    /// In the probe's shell the apply's reply follows the probe's: only the
    /// bytes after the probe's reply are the apply's. A probe reply holding
    /// lines that look like apply results (a host's file) adds nothing, and
    /// a shell that exited before the apply's end line is named with its
    /// exit status.
    @Test func theApplyReplyInTheProbesShellStartsAfterTheProbes() throws {
        let probe = "KEYSYNC-PROBE 2\ncontent-begin p0\nKEYSYNC-APPLY 2\nresult n0 mallory ok 00\n@end n0\ncontent-end p0 0\n@end p0\n"
        let apply = "KEYSYNC-APPLY 2\nresult n0 alice ok abc\n@end n0\n"
        let shell = ExecResult(stdout: Array((probe + apply).utf8), stderr: [], exitStatus: 0)
        #expect(try ApplyScript.outcomes(from: shell, after: probe.utf8.count, nonce: "n0") == ["alice": .written(hash: "abc")])
        // Cut at the wrong place (inside the probe's reply): refused, never the file's lines.
        #expect(throws: ProbeError.self) { try ApplyScript.outcomes(from: shell, after: 0, nonce: "n0") }
        let killed = ExecResult(stdout: Array((probe + "KEYSYNC-APPLY 2\n").utf8), stderr: Array("Killed\n".utf8), exitStatus: 137)
        #expect(throws: ProbeError.malformed("apply reply ended early (connection or command cut off) (the probe's shell exited with status 137: Killed)")) {
            try ApplyScript.outcomes(from: killed, after: probe.utf8.count, nonce: "n0")
        }
        #expect(ProbeScript.endMarker(nonce: "p0") == Array("\n@end p0\n".utf8))
        #expect(Array(probe.utf8).ends(with: ProbeScript.endMarker(nonce: "p0")))
        #expect(!Array((probe + "x").utf8).ends(with: ProbeScript.endMarker(nonce: "p0")))
    }

    @Test func fileWriteDirectory() {
        #expect(FileWrite(path: "/home/a/.ssh/authorized_keys", expectedHash: "absent", content: []).directory == "/home/a/.ssh")
        #expect(FileWrite(path: "/etc/ssh/keys/a", expectedHash: "absent", content: []).directory == "/etc/ssh/keys")
    }
}
