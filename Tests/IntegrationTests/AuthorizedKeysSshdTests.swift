import Foundation
import Testing
@testable import KeySync

/// The parser against sshd itself (issue 4): for each line, sshd accepts a
/// login with the key exactly when the parser calls the line a valid key line
/// for that key.
@Suite(.serialized) struct AuthorizedKeysSshdTests {
    let fleet: TestFleet
    let host = 58
    let account = "akparse"

    init() throws { fleet = try TestFleet.shared(minimumHosts: 60) }

    @Test func sshdAcceptsExactlyTheLinesTheParserCallsValid() throws {
        let workspace = try Workspace()
        let ed = try workspace.generateKey("client_ed25519")
        let rsa = try workspace.generateKey("client_rsa", type: "rsa")
        let edKey = try workspace.publicKey("client_ed25519"), rsaKey = try workspace.publicKey("client_rsa")
        let e = edKey.base64, r = rsaKey.base64
        let unpadded = String(r.reversed().drop { $0 == "=" }.reversed())
        #expect(unpadded != r, "an RSA-3072 blob's base64 ends in padding")
        let lines: [(String, String)] = [
            ("plain", "ssh-ed25519 \(e) c"),
            ("leading blanks and tabs", " \t ssh-ed25519\t\(e)\tc"),
            ("no comment", "ssh-ed25519 \(e)"),
            ("restrict,pty", "restrict,pty ssh-ed25519 \(e)"),
            ("upper-case option", "NO-PTY ssh-ed25519 \(e)"),
            ("command quoted with escape", "command=\"echo \\\"hi\\\"\",no-x11-forwarding ssh-ed25519 \(e)"),
            ("from loopback", "from=\"127.0.0.0/8\" ssh-ed25519 \(e)"),
            ("permitopen", "permitopen=\"localhost:80\" ssh-ed25519 \(e)"),
            ("unknown option", "no-such-option ssh-ed25519 \(e)"),
            ("space after comma", "no-pty, no-x11-forwarding ssh-ed25519 \(e)"),
            ("unclosed quote", "command=\"true ssh-ed25519 \(e)"),
            ("unpadded base64", "ssh-rsa \(unpadded) rsa"),
            ("type mismatch", "ssh-rsa \(e)"),
            ("trailing blob bytes", "ssh-ed25519 \(Data(edKey.blob + [0, 0, 0, 0]).base64EncodedString())"),
            ("truncated blob", "ssh-ed25519 \(Data(edKey.blob.dropLast(4)).base64EncodedString())"),
            ("bad tunnel", "tunnel=\"x\" ssh-ed25519 \(e)"),
            ("rsa plain", "ssh-rsa \(r) rsa"),
            ("rsa-sha2-256 token", "rsa-sha2-256 \(r) rsa"),
            ("rsa-sha2-512 token with options", "no-agent-forwarding rsa-sha2-512 \(r)"),
            ("rsa blob under ed25519 token", "ssh-ed25519 \(r)"),
        ]
        try fleet.exec(host: host, ["sh", "-c", "id \(account) >/dev/null 2>&1 || useradd -m -p '*' -s /bin/sh \(account)"])
        var mismatches: [String] = []
        var accepted = 0
        for (name, line) in lines {
            let bytes = Array((line + "\n").utf8)
            let parsed = AuthorizedKeysFile(bytes: bytes).lines[0]
            let client = line.contains(r) ? rsa : ed
            let wanted = line.contains(r) ? rsaKey : edKey
            let parserAccepts = parsed.entry?.key == wanted
            try fleet.exec(host: host, ["sh", "-c", """
                install -d -o \(account) -g \(account) -m 700 /home/\(account)/.ssh && \
                cat > /home/\(account)/.ssh/authorized_keys && chown \(account): /home/\(account)/.ssh/authorized_keys && \
                chmod 600 /home/\(account)/.ssh/authorized_keys
                """], stdin: Data(bytes))
            let login = try fleet.login(host: host, user: account, key: client, command: "true")
            let sshdAccepts = login.status == 0
            if sshdAccepts { accepted += 1 }
            if parserAccepts != sshdAccepts {
                mismatches.append("\(name): parser \(parserAccepts ? "valid" : "invalid (\(parsed.kind))"), sshd \(sshdAccepts ? "accepted" : "refused")")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        // Both outcomes really happened: the comparison can fail either way.
        #expect(accepted == 11)
        #expect(lines.count - accepted == 9)
    }
}
