import Testing
@testable import KeySync

@Suite struct SmokeTests {
    @Test func fingerprintMatchesSSHKeygenFormat() {
        let fp = Fingerprint.sha256(of: Array("abc".utf8))
        #expect(fp == "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0")
    }
}
