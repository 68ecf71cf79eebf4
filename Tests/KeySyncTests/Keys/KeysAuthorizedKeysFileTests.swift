import Foundation
import Testing
@testable import KeySync

@Suite struct KeysAuthorizedKeysFileTests {
    static let ed = (try? KeyFixtures.text("id_ed25519.pub"))?.trimmingCharacters(in: .newlines) ?? ""
    static var edBase64: String { String(ed.split(separator: " ")[1]) }

    func kind(_ line: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        AuthorizedKeysFile(text: line + "\n").lines.first.map { $0.kind.name } ?? "none"
    }

    @Test func roundTripsAnyBytes() {
        let samples: [[UInt8]] = [
            [], [0x0a], Array("a\r\nb".utf8), [0xff, 0xfe, 0x0a, 0x00, 0x0a, 0x0d],
            Array((Self.ed + "\r\n# c\n\n  \t\n" + Self.ed).utf8),
        ]
        for bytes in samples {
            #expect(AuthorizedKeysFile(bytes: bytes).serialized() == bytes)
        }
    }

    @Test func linesKeepNumbersBytesAndTerminators() throws {
        let file = AuthorizedKeysFile(text: "# one\r\n\n\(Self.ed)\nnot a key")
        #expect(file.lines.map(\.number) == [1, 2, 3, 4])
        #expect(file.lines.map(\.kind.name) == ["comment", "blank", "key", "invalid"])
        #expect(file.lines[0].bytes == Array("# one\r\n".utf8))
        #expect(file.lines[3].hasNewline == false)
        #expect(!file.endsWithNewline)
        let entry = try #require(file.lines[2].entry)
        #expect(entry.key.type == "ssh-ed25519")
        #expect(entry.comment == "id_ed25519@keysync-test")
        #expect(entry.options == nil)
    }

    @Test func crlfKeyLinesAreValidAndTheCommentLosesTheCR() throws {
        let file = AuthorizedKeysFile(text: Self.ed + "\r\nssh-ed25519 \(Self.edBase64)\r\n")
        #expect(try #require(file.lines[0].entry).comment == "id_ed25519@keysync-test")
        #expect(try #require(file.lines[1].entry).comment == "")
    }

    @Test func sshdStopsReadingALineAtNUL() {
        let bytes = Array(("ssh-ed25519 " + Self.edBase64).utf8) + [0] + Array(" garbage!!\n".utf8)
        #expect(AuthorizedKeysFile(bytes: bytes).lines.first?.kind.name == "key")
    }

    @Test(arguments: [
        ("", "blank"), ("   \t", "blank"), ("\r", "blank"), ("  # comment", "comment"), ("#", "comment"),
        ("ssh-ed25519", "invalid"), ("ssh-ed25519 ", "invalid"), ("ssh-foo AAAA", "invalid"),
    ])
    func classifiesSimpleLines(_ line: String, _ expected: String) {
        #expect(kind(line) == expected)
    }

    /// Each variant of a key line and whether sshd accepts it (true) or skips it (false).
    static let keyLineCases: [(String, Bool)] = [
        ("ssh-ed25519 \(edBase64) c", true),
        ("  \tssh-ed25519\t\(edBase64)\tc", true),
        ("ssh-ed25519 \(edBase64.dropLast()) c", false),                       // unpadded
        ("ssh-ed25519 \(edBase64.prefix(20)) \(edBase64.dropFirst(20))", false),  // split base64: second half is comment
        ("ssh-ed25519 \(edBase64)\u{0B}", true),                                // vertical tab inside base64 is skipped
        ("ssh-rsa \(edBase64) c", false),                                      // type mismatch
        ("SSH-ED25519 \(edBase64) c", false),                                  // type token is case-sensitive
        ("no-pty ssh-ed25519 \(edBase64) c", true),
        ("NO-PTY,No-Agent-Forwarding ssh-ed25519 \(edBase64)", true),
        ("no-pty, ssh-ed25519 \(edBase64)", true),                              // sshd: options end at the blank
        ("no-pty, no-X11-forwarding ssh-ed25519 \(edBase64)", false),           // space after a comma
        ("no-pty,,restrict ssh-ed25519 \(edBase64)", true),
        ("ptyx ssh-ed25519 \(edBase64)", false),
        ("foo ssh-ed25519 \(edBase64)", false),
        ("command=\"echo \\\"hi\\\" there\" ssh-ed25519 \(edBase64)", true),
        ("command=\"unterminated ssh-ed25519 \(edBase64)", false),
        ("command=noquote ssh-ed25519 \(edBase64)", false),
        ("command=\"a\",command=\"b\" ssh-ed25519 \(edBase64)", false),
        ("from=\"10.0.0.0/8,!10.1.*\",no-port-forwarding ssh-ed25519 \(edBase64)", true),
        ("expiry-time=\"20300101\" ssh-ed25519 \(edBase64)", true),
        ("expiry-time=\"203001011200Z\" ssh-ed25519 \(edBase64)", true),
        ("expiry-time=\"20300101120000UTC\" ssh-ed25519 \(edBase64)", true),
        ("expiry-time=\"2030-01-01\" ssh-ed25519 \(edBase64)", false),
        ("expiry-time=\"20301301\" ssh-ed25519 \(edBase64)", false),
        ("environment=\"PATH=/bin\" ssh-ed25519 \(edBase64)", true),
        ("environment=\"BAD-NAME=x\" ssh-ed25519 \(edBase64)", false),
        ("environment=\"NOEQUALS\" ssh-ed25519 \(edBase64)", false),
        // sshd finds the `=` byte; by Characters `=` + U+0301 is no `=` (the key was hidden from checks).
        ("environment=\"FOO=\u{301}x\" ssh-ed25519 \(edBase64)", true),
        ("permitopen=\"host:22\",permitopen=\"[::1]:*\",permitopen=\"h/80\" ssh-ed25519 \(edBase64)", true),
        ("permitopen=\"host\" ssh-ed25519 \(edBase64)", false),
        ("permitopen=\"host:0\" ssh-ed25519 \(edBase64)", false),
        ("permitopen=\"host:ssh\" ssh-ed25519 \(edBase64)", true),
        // A service name is the host's to know (this machine may have no /etc/services entry for it).
        ("permitopen=\"host:no-such-service-here\" ssh-ed25519 \(edBase64)", true),
        ("permitopen=\"host:a b\" ssh-ed25519 \(edBase64)", false),
        ("permitopen=\"host:-5432\" ssh-ed25519 \(edBase64)", false),
        ("permitopen=\"host:+70000\" ssh-ed25519 \(edBase64)", false),
        ("permitlisten=\"8080\",permitlisten=\"localhost:*\" ssh-ed25519 \(edBase64)", true),
        ("permitlisten=\"70000\" ssh-ed25519 \(edBase64)", false),
        ("tunnel=\"5\",tunnel=\"any\" ssh-ed25519 \(edBase64)", true),
        ("tunnel=\"x\" ssh-ed25519 \(edBase64)", false),
        ("restrict,pty,user-rc,no-touch-required,verify-required,cert-authority,principals=\"a,b\" ssh-ed25519 \(edBase64)", true),
        ("no-restrict ssh-ed25519 \(edBase64)", false),
        ("cert-authority=\"x\" ssh-ed25519 \(edBase64)", false),
    ]

    @Test(arguments: keyLineCases)
    func keyLinesFollowSSHD(_ line: String, _ valid: Bool) {
        let parsed = AuthorizedKeysFile(text: line).lines[0]
        #expect((parsed.kind.name == "key") == valid, "\(parsed.kind)")
    }

    @Test func optionsAreLowerCasedAndUnescaped() throws {
        let entry = try AuthorizedKeyEntry.parse("Command=\"say \\\"hi\\\" \\n\",NO-PTY ssh-ed25519 \(Self.edBase64) c")
        let options = try #require(entry.options)
        #expect(options.options == [.init(name: "command", value: "say \"hi\" \\n"), .init(name: "no-pty", value: nil)])
        #expect(options.text == "Command=\"say \\\"hi\\\" \\n\",NO-PTY")
    }

    @Test func standaloneOptionsMustBeOneField() {
        #expect(throws: KeyParseError.self) { try AuthorizedKeyOptions.parse("no-pty, no-agent-forwarding") }
        #expect(throws: KeyParseError.self) { try AuthorizedKeyOptions.parse("no-pty,") }
        #expect(throws: KeyParseError.self) { try AuthorizedKeyOptions.parse("bogus") }
        #expect((try? AuthorizedKeyOptions.parse("from=\"10.0.0.0/8\",no-agent-forwarding"))?.options.count == 2)
    }

    @Test func rsaSha2TokenSelectsSshRsaBlob() throws {
        let rsa = try KeyFixtures.publicKey("id_rsa2048.pub")
        let entry = try AuthorizedKeyEntry.parse("rsa-sha2-512 \(rsa.base64) x")
        #expect(entry.key.type == "ssh-rsa")
        #expect(entry.typeToken == "rsa-sha2-512")
        #expect(entry.key.fingerprint == rsa.fingerprint)
    }

    @Test func smallRSAIsInvalid() throws {
        // A 768-bit modulus: ssh-rsa with e=65537 and n of 96 bytes.
        var w = SSHWireWriter()
        w.string("ssh-rsa"); w.mpint([1, 0, 1]); w.mpint([0xc1] + [UInt8](repeating: 0x11, count: 95))
        let line = "ssh-rsa \(SSHBase64.encode(w.bytes))"
        guard case .invalid(let reason) = AuthorizedKeysFile(text: line).lines[0].kind else {
            Issue.record("768-bit RSA accepted"); return
        }
        #expect(reason.contains("768 bits"))
    }

    @Test func trailingBlobBytesAreInvalid() throws {
        let key = try KeyFixtures.publicKey("id_ed25519.pub")
        let line = "ssh-ed25519 \(SSHBase64.encode(key.blob + [0]))"
        #expect(kind(line) == "invalid")
    }

    @Test func ecdsaCurveMustMatch() throws {
        let p256 = try KeyFixtures.publicKey("id_ecdsa256.pub")
        #expect(kind("ecdsa-sha2-nistp384 \(p256.base64)") == "invalid")
        var blob = p256.blob
        // Rename the inner curve to nistp384 while keeping the nistp256 type: still invalid.
        if let range = blob.ranges(of: Array("nistp256".utf8)).last {
            blob.replaceSubrange(range.upperBound - 3..<range.upperBound, with: Array("384".utf8))
        }
        #expect(kind("ecdsa-sha2-nistp256 \(SSHBase64.encode(blob))") == "invalid")
    }
}
