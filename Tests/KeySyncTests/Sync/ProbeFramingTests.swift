import Testing
@testable import KeySync

/// The nonce-framed content of the probe reply (`content-begin NONCE` …
/// `\ncontent-end NONCE STATUS`): file bytes cannot fake the boundary.
@Suite struct ProbeFramingTests {
    func reply(_ content: [UInt8], nonce: String = "abc123", status: String = "0") -> [UInt8] {
        Array("KEYSYNC-PROBE 2\neuid 0\nsetpriv yes\n@account \(nonce) app\npasswd app:x:1001:1001::/home/app:/bin/sh\npath /home/app/.ssh/authorized_keys\n".utf8)
            + Array("stat directory|755|1001|1001|4096|3|/home/app\nstat directory|700|1001|1001|4096|2|/home/app/.ssh\nstat regular file|600|1001|1001|5|1|/home/app/.ssh/authorized_keys\n".utf8)
            + Array("content-begin \(nonce)\n".utf8) + content + Array("\ncontent-end \(nonce) \(status)\n@end \(nonce)\n".utf8)
    }

    @Test(arguments: [
        "ssh-ed25519 AAAA k\n",
        "no final newline",
        "",
        "\ncontent-end other 0\n@end other\n@account other mallory\n",
        "line\r\n\u{0}\u{FF}",
    ])
    func contentSurvivesExactly(_ text: String) throws {
        let bytes = Array(text.utf8)
        let probe = try HostProbe(reply: reply(bytes), nonce: "abc123")
        let account = try #require(probe.accounts["app"])
        #expect(account.content == bytes)
        #expect(probe.accounts["mallory"] == nil)
        #expect(account.file?.kind == .regular && account.file?.mode == 0o600)
        #expect(account.fileLinks == 1 && account.fileSize == 5)
        #expect(account.directory?.mode == 0o700)
        #expect(account.home?.mode == 0o755)
    }

    /// A file that knew the nonce could end its frame and start a second
    /// section for an account probed before it, one without its revoked
    /// keys: the reply is refused, not the first section replaced.
    @Test func aSecondSectionForAnAccountIsMalformed() {
        let forged = "\ncontent-end abc123 0\n@account abc123 app\npasswd app:x:1001:1001::/home/app:/bin/sh\n"
        #expect(throws: ProbeError.malformed("two sections for account app")) {
            try HostProbe(reply: reply(Array(forged.utf8)), nonce: "abc123")
        }
    }

    @Test func unreadableFileIsAReadErrorNotContent() throws {
        let probe = try HostProbe(reply: reply([], status: "1"), nonce: "abc123")
        #expect(probe.accounts["app"]?.content == nil)
        #expect(probe.accounts["app"]?.readError != nil)
    }

    @Test func missingEndMarkerIsMalformed() {
        var bytes = reply(Array("x".utf8))
        bytes.removeLast(30)
        #expect(throws: ProbeError.self) { try HostProbe(reply: bytes, nonce: "abc123") }
    }

    /// A reply whose frames carry a nonce other than the one the controller
    /// rendered the script with is not ours (a replayed or forged reply).
    @Test func anotherNonceIsMalformed() {
        #expect(throws: ProbeError.self) { try HostProbe(reply: reply(Array("x".utf8), nonce: "abc124"), nonce: "abc123") }
    }
}
