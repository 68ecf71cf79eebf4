import Foundation
import Testing
@testable import KeySync

/// known_hosts matching like OpenSSH: plain, patterns, negation, `[host]:port`,
/// hashed `|1|` entries, `@revoked`, and what the key-exchange preference sees.
@Suite struct KnownHostsTests {
    static let blobA: [UInt8] = Array("blob-a".utf8)
    static let blobB: [UInt8] = Array("blob-b".utf8)
    static var a: String { Data(blobA).base64EncodedString() }
    static var b: String { Data(blobB).base64EncodedString() }

    /// `|1|salt|HMAC-SHA1(salt, name)` as `ssh-keygen -H` writes it.
    static func hashed(_ name: String, salt: [UInt8] = Array("0123456789abcdefghij".utf8)) -> String {
        let hash = KnownHosts.hmacSHA1(key: salt, data: Array(name.utf8))
        return "|1|\(Data(salt).base64EncodedString())|\(Data(hash).base64EncodedString())"
    }

    @Test func plainNamesPortsAndPatterns() {
        let known = KnownHosts(contents: """
            # comment
            web-1,10.0.0.11 ssh-ed25519 \(Self.a)
            [db-1]:2222 ssh-ed25519 \(Self.b)
            *.example.org,!bad.example.org ssh-ed25519 \(Self.a)

            garbage line
            """)
        #expect(known.verify(host: "web-1", port: 22, keyType: "ssh-ed25519", blob: Self.blobA) == .match)
        #expect(known.verify(host: "10.0.0.11", port: 22, keyType: "ssh-ed25519", blob: Self.blobA) == .match)
        #expect(known.verify(host: "WEB-1", port: 22, keyType: "ssh-ed25519", blob: Self.blobA) == .match)
        #expect(known.verify(host: "web-1", port: 22, keyType: "ssh-ed25519", blob: Self.blobB) == .mismatch)
        // Known by ed25519 only: another type is not "unknown" (accept-new must not append it).
        #expect(known.verify(host: "web-1", port: 22, keyType: "ecdsa-sha2-nistp256", blob: Self.blobB) == .otherType(known: ["ssh-ed25519"]))
        // A non-default port is looked up as [host]:port only.
        #expect(known.verify(host: "db-1", port: 2222, keyType: "ssh-ed25519", blob: Self.blobB) == .match)
        #expect(known.verify(host: "db-1", port: 22, keyType: "ssh-ed25519", blob: Self.blobB) == .unknown)
        #expect(known.verify(host: "web-1", port: 2222, keyType: "ssh-ed25519", blob: Self.blobA) == .unknown)
        #expect(known.verify(host: "a.example.org", port: 22, keyType: "ssh-ed25519", blob: Self.blobA) == .match)
        #expect(known.verify(host: "bad.example.org", port: 22, keyType: "ssh-ed25519", blob: Self.blobA) == .unknown)
    }

    @Test func hashedEntries() {
        let known = KnownHosts(contents: """
            \(Self.hashed("127.77.0.1")) ssh-ed25519 \(Self.a)
            \(Self.hashed("[127.77.0.2]:2200")) ssh-ed25519 \(Self.b)
            """)
        #expect(known.verify(host: "127.77.0.1", port: 22, keyType: "ssh-ed25519", blob: Self.blobA) == .match)
        #expect(known.verify(host: "127.77.0.1", port: 22, keyType: "ssh-ed25519", blob: Self.blobB) == .mismatch)
        #expect(known.verify(host: "127.77.0.2", port: 2200, keyType: "ssh-ed25519", blob: Self.blobB) == .match)
        #expect(known.verify(host: "127.77.0.3", port: 22, keyType: "ssh-ed25519", blob: Self.blobA) == .unknown)
    }

    @Test func revokedWinsAndCertAuthorityIsIgnored() {
        let known = KnownHosts(contents: """
            @revoked * ssh-ed25519 \(Self.a)
            web-1 ssh-ed25519 \(Self.a)
            @cert-authority *.example.org ssh-ed25519 \(Self.b)
            """)
        #expect(known.verify(host: "web-1", port: 22, keyType: "ssh-ed25519", blob: Self.blobA) == .revoked)
        #expect(known.verify(host: "x.example.org", port: 22, keyType: "ssh-ed25519", blob: Self.blobB) == .unknown)
    }

    @Test func knownKeyTypesOrderTheHostKeyPreference() {
        let known = KnownHosts(contents: """
            web-1 ssh-rsa \(Self.a)
            web-1 ecdsa-sha2-nistp256 \(Self.b)
            """)
        #expect(known.knownKeyTypes(host: "web-1", port: 22) == ["ssh-rsa", "ecdsa-sha2-nistp256"])
        #expect(known.knownKeyTypes(host: "web-2", port: 22).isEmpty)
    }

    /// Plain names are looked up by name, the other lines matched one by
    /// one: together they keep file order, case does not matter, a line with
    /// a negation is not taken for a plain one, and lines appended later
    /// (accept-new) are found too.
    @Test func plainNamesLookedUpAndPatternLinesKeepFileOrder() {
        var known = KnownHosts(contents: """
            web-* ecdsa-sha2-nistp384 \(Self.b)
            WEB-1,db-1 ssh-rsa \(Self.a)
            \(Self.hashed("web-1")) ecdsa-sha2-nistp256 \(Self.b)
            web-1,!web-1 ssh-dss \(Self.a)
            web-1 ssh-ed25519 \(Self.b)
            """)
        #expect(known.knownKeyTypes(host: "web-1", port: 22) == ["ecdsa-sha2-nistp384", "ssh-rsa", "ecdsa-sha2-nistp256", "ssh-ed25519"])
        #expect(known.knownKeyTypes(host: "db-1", port: 22) == ["ssh-rsa"])
        #expect(known.verify(host: "Web-1", port: 22, keyType: "ssh-ed25519", blob: Self.blobB) == .match)
        #expect(known.verify(host: "web-2", port: 22, keyType: "ecdsa-sha2-nistp384", blob: Self.blobA) == .mismatch)
        #expect(known.verify(host: "db-2", port: 22, keyType: "ssh-ed25519", blob: Self.blobA) == .unknown)
        known.append(contents: "db-2 ssh-ed25519 \(Self.a)\n")
        #expect(known.verify(host: "db-2", port: 22, keyType: "ssh-ed25519", blob: Self.blobA) == .match)
    }

    @Test func aHostKnownByOneTypeIsNotUnknownForAnother() {
        let known = KnownHosts(contents: """
            web-1 ssh-rsa \(Self.a)
            web-1 ecdsa-sha2-nistp256 \(Self.b)
            @revoked web-2 ssh-ed25519 \(Self.a)
            """)
        #expect(known.verify(host: "web-1", port: 22, keyType: "ssh-ed25519", blob: Self.blobA + [1])
                    == .otherType(known: ["ssh-rsa", "ecdsa-sha2-nistp256"]))
        // A host whose only line is @revoked is not known: a new key is unknown, the revoked one revoked.
        #expect(known.verify(host: "web-2", port: 22, keyType: "ssh-ed25519", blob: Self.blobB) == .unknown)
        #expect(known.verify(host: "web-2", port: 22, keyType: "ssh-ed25519", blob: Self.blobA) == .revoked)
    }

    /// OpenSSH's order_hostkeyalgs: algorithms of known keys first, then the rest, each in keysync's order.
    @Test(arguments: [
        ([String](), ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256"]),
        (["ecdsa-sha2-nistp256"], ["ecdsa-sha2-nistp256", "ssh-ed25519", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256"]),
        (["ssh-rsa"], ["rsa-sha2-512", "rsa-sha2-256", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"]),
        (["ssh-rsa", "ssh-ed25519"], ["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"]),
        (["ssh-dss"], ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256"]),
    ])
    func hostKeyPreferenceAsksForKnownTypesFirst(_ known: [String], _ expected: [String]) {
        #expect(SSHConnection.hostKeyPreference(knownKeyTypes: known) == expected)
    }

    @Test func acceptNewLineForm() {
        #expect(KnownHosts.line(host: "h", port: 22, keyType: "ssh-ed25519", blob: Self.blobA) == "h ssh-ed25519 \(Self.a)\n")
        #expect(KnownHosts.line(host: "h", port: 2222, keyType: "ssh-ed25519", blob: Self.blobA) == "[h]:2222 ssh-ed25519 \(Self.a)\n")
    }

    @Test(arguments: [("a*c", "abc", true), ("a?c", "abc", true), ("a*", "", false), ("*", "", true), ("a*b*c", "axxbyyc", true), ("a*b", "ab c", false)])
    func wildcards(_ pattern: String, _ text: String, _ expected: Bool) {
        #expect(KnownHosts.wildcardMatch(text, pattern) == expected)
    }
}
