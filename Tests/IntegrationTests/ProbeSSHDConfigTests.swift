import Foundation
import Testing
@testable import KeySync

/// The probe reads sshd_config with shell builtins instead of starting
/// `sshd -T` per account (issue 11: `sshd -T` alone cost more than
/// `sudo cat`). Here, on a real host, for each config shape: what the fast
/// path says (AuthorizedKeysFile, UsePAM) is exactly what `sshd -T` says, and
/// a config with a `Match` block is handed to `sshd -T`.
@Suite(.serialized) struct ProbeSSHDConfigTests {
    let fleet: TestFleet
    let host = 40
    let account = "ops"

    init() throws { fleet = try TestFleet.shared(minimumHosts: 41) }

    struct Variant: CustomStringConvertible {
        let name: String
        /// Lines put before the host's own config (first value wins in sshd).
        var top = ""
        /// Lines put after it (Match blocks must come last).
        var bottom = ""
        /// Files under /etc/ssh, path relative to /etc/ssh → content.
        var files: [String: String] = [:]
        /// Whether the probe must ask `sshd -T` (a Match block, a quoted value).
        var needsSSHD = false
        var description: String { name }
    }

    static let variants: [Variant] = [
        Variant(name: "host config as is"),
        Variant(name: "comments, blanks, lower case and keyword=value",
                top: "# AuthorizedKeysFile .ssh/commented\n\n   \nauthorizedkeysfile=/etc/ssh/keys/%u .ssh/authorized_keys\nusepam=yes\n"),
        Variant(name: "keyword = value with a tab between files",
                top: "AuthorizedKeysFile = %h/.ssh/ak\t.ssh/authorized_keys\n  UsePAM   Yes\n"),
        Variant(name: "relative Include with a glob, read in place and sorted",
                top: "Include keysync-test.d/*.conf\nAuthorizedKeysFile .ssh/after_include\n",
                files: ["keysync-test.d/20-b.conf": "AuthorizedKeysFile .ssh/from_b\nUsePAM yes\n",
                        "keysync-test.d/10-a.conf": "# first file\nAuthorizedKeysFile .ssh/from_a %h/.ssh/second\n"]),
        Variant(name: "absolute Include that matches nothing", top: "Include /etc/ssh/keysync-none.d/*.conf\n"),
        Variant(name: "Match block for the account", bottom: "Match User ops\n    AuthorizedKeysFile .ssh/match_only\n",
                needsSSHD: true),
        Variant(name: "Match inside an included file", top: "Include keysync-test.d/*.conf\n",
                files: ["keysync-test.d/10-m.conf": "Match Group nosuchgroup\n    PubkeyAuthentication no\n"], needsSSHD: true),
        Variant(name: "quoted AuthorizedKeysFile", top: "AuthorizedKeysFile \".ssh/quoted keys\"\n", needsSSHD: true),
        // sshd makes ~ root's home when it reads the config: only sshd -T knows (review s13).
        Variant(name: "AuthorizedKeysFile with ~", top: "AuthorizedKeysFile ~/.ssh/authorized_keys .ssh/authorized_keys\n", needsSSHD: true),
        // sshd unquotes and cuts a trailing comment; the fast path would compare the raw text (review s13 certs F11).
        Variant(name: "quoted TrustedUserCAKeys with a comment",
                top: "TrustedUserCAKeys \"/etc/ssh/keysync/trusted_user_ca_keys\" # keysync\n", needsSSHD: true),
    ]

    @Test(arguments: variants)
    func fastPathAgreesWithSSHDMinusT(_ variant: Variant) throws {
        let original = try fleet.exec(host: host, ["cat", "/etc/ssh/sshd_config"]).stdout
        defer {
            _ = try? fleet.exec(host: host, ["sh", "-c", "cat > /etc/ssh/sshd_config; rm -rf /etc/ssh/keysync-test.d"],
                                stdin: Data(original.utf8))
        }
        for (path, content) in variant.files {
            try fleet.exec(host: host, ["sh", "-c", "mkdir -p \"$(dirname \"$1\")\" && cat > \"$1\"", "sh", "/etc/ssh/" + path],
                           stdin: Data(content.utf8))
        }
        let config = variant.top + original + variant.bottom
        try fleet.exec(host: host, ["sh", "-c", "cat > /etc/ssh/sshd_config"], stdin: Data(config.utf8))

        let sshdT = try fleet.exec(host: host, ["/usr/sbin/sshd", "-T", "-C", "user=\(account),host=127.0.0.1,addr=127.0.0.1"])
        #expect(sshdT.succeeded, "sshd -T refused the test config: \(sshdT.stderr)")
        var expected: [String: String] = [:]
        for line in sshdT.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2, ["authorizedkeysfile", "usepam"].contains(parts[0]) { expected[String(parts[0])] = String(parts[1]) }
        }

        let reply = try fleet.exec(host: host, ["sh", "-s", "--", "127.0.0.1 40000 22"],
                                   stdin: Data(ProbeScript.render([ProbeRequest(account: account)], nonce: "n0").utf8))
        #expect(reply.succeeded, "\(reply.stderr)")
        #expect(reply.stderr.isEmpty, "the probe wrote to stderr: \(reply.stderr)")
        let probe = try HostProbe(reply: Array(reply.stdout.utf8), nonce: "n0")
        let ops = try #require(probe.accounts[account])
        #expect(ops.sshd["authorizedkeysfile"] == expected["authorizedkeysfile"], "\(variant)")
        #expect(ops.sshd["usepam"] == expected["usepam"], "\(variant)")
        // The fast path reports only those two settings; sshd -T reports more.
        #expect((ops.sshd["pubkeyauthentication"] != nil) == variant.needsSSHD, "\(variant): asked sshd -T?")
        #expect(ops.sshdError == nil)
    }
}
