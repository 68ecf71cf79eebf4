import Foundation
import Testing
@testable import KeySync

@Suite struct KeysImporterTests {
    /// `(file, fixture whose .fp holds the expected fingerprint, expected comment or nil to skip)`.
    static let cases: [(String, String, String?)] = [
        ("id_ed25519.rfc4716", "id_ed25519.fp", "256-bit ED25519, converted from OpenSSH"),
        ("id_rsa2048.rfc4716", "id_rsa2048.fp", nil),
        ("id_ecdsa384.rfc4716", "id_ecdsa384.fp", nil),
        ("id_ecdsa256.rfc4716", "id_ecdsa256.fp", "a very long comment that continues here"),
        ("ppk_ed25519_v2.ppk", "id_ed25519.fp", "id_ed25519-putty"),
        ("ppk_ed25519_v3.ppk", "id_ed25519.fp", "id_ed25519-putty"),
        ("ppk_rsa2048_v2.ppk", "id_rsa2048.fp", "id_rsa2048-putty"),
        ("ppk_rsa2048_v3.ppk", "id_rsa2048.fp", "id_rsa2048-putty"),
        ("ppk_ecdsa256_v2.ppk", "id_ecdsa256.fp", "id_ecdsa256-putty"),
        ("ppk_ecdsa256_v3.ppk", "id_ecdsa256.fp", "id_ecdsa256-putty"),
        ("ppk_ed25519_v3_enc.ppk", "id_ed25519.fp", "enc-putty"),
        ("ppk_rsa2048_v2_enc.ppk", "id_rsa2048.fp", "enc-putty"),
        ("id_ed25519", "id_ed25519.fp", "id_ed25519@keysync-test"),
        ("id_ecdsa521", "id_ecdsa521.fp", "id_ecdsa521@keysync-test"),
        ("id_rsa3072", "id_rsa3072.fp", "id_rsa3072@keysync-test"),
        ("id_dsa", "id_dsa.fp", "id_dsa@keysync-test"),
        ("enc_openssh_ed25519", "id_ed25519.fp", ""),
        ("pem_pkcs1_rsa.pem", "pem_pkcs1_rsa.pem.fp", ""),
        ("pem_pkcs8_rsa.pem", "pem_pkcs8_rsa.pem.fp", ""),
        ("pem_pkcs8_ec384.pem", "pem_pkcs8_ec384.pem.fp", ""),
        ("pem_pkcs8_ed25519.pem", "pem_pkcs8_ed25519.pem.fp", ""),
        ("pem_sec1_ec256.pem", "pem_sec1_ec256.pem.fp", ""),
        ("pem_sec1_ec256_compressed.pem", "pem_sec1_ec256_compressed.pem.fp", ""),
        ("pem_sec1_ec521.pem", "pem_sec1_ec521.pem.fp", ""),
        ("id_ed25519.pub", "id_ed25519.fp", "id_ed25519@keysync-test"),
        ("sk_ecdsa-cert.pub", "sk_ecdsa-cert.fp", "sk_ecdsa@keysync-test"),
    ]

    @Test(arguments: cases)
    func importsEveryFormat(_ file: String, _ fingerprintFile: String, _ comment: String?) throws {
        let key = try KeyImporter.importKey(from: KeyFixtures.bytes(file), path: file)
        let expected = try KeyFixtures.expectedFingerprintLine(fingerprintFile).split(separator: " ")
        try #require(expected.count >= 2, "empty \(fingerprintFile)")
        #expect(key.fingerprint == String(expected[1]))
        #expect(key.bits.map(String.init) == String(expected[0]))
        if let comment { #expect(key.comment == comment) }
        #expect(try KeyImporter.parsePublicKeyLine(key.openSSHLine) == key)
    }

    @Test(arguments: ["enc_pem_pkcs1_rsa.pem", "enc_pem_pkcs8_ed25519.pem"])
    func encryptedPEMExplainsHowToExport(_ file: String) throws {
        let error = #expect(throws: KeyParseError.self) {
            try KeyImporter.importKey(from: KeyFixtures.bytes(file), path: file)
        }
        guard case .encryptedPrivateKey(let hint)? = error else { Issue.record("wrong error \(String(describing: error))"); return }
        #expect(hint.contains("ssh-keygen -y -f \(file) > \(file).pub"))
    }

    @Test func errorsNameTheFileAndHoldNoKeyMaterial() throws {
        var bytes = try KeyFixtures.bytes("pem_pkcs8_rsa.pem")
        bytes[40] ^= 0x55  // corrupt the base64
        let error = #expect(throws: KeyParseError.self) { try KeyImporter.importKey(from: bytes, path: "k.pem") }
        let text = error?.description ?? ""
        #expect(text.hasPrefix("k.pem: "))
        #expect(!text.contains("MII"))
    }

    /// A PEM body without its armour is not echoed: its first characters
    /// would be key material (a PKCS#8 Ed25519 seed starts at byte 16).
    @Test func aLineWithoutAKeyTypeIsNotShown() throws {
        let body = "MC4CAQAwBQYDK2VwBCIEIPtG0ndSYnCxDcBMFBE8I5bhc4fvHbW9MNT1vF6dNXQE"
        let error = #expect(throws: KeyParseError.self) { try KeyImporter.importKey(from: Array((body + "\n").utf8), path: "k") }
        #expect(error?.description.contains("not a public key line") == true, "\(String(describing: error))")
        #expect(error?.description.contains("MC4C") == false)
        // A line with a key type still says what is wrong with it.
        let typo = #expect(throws: KeyParseError.self) { try KeyImporter.importKey(from: Array("ssh-ed25519 !!!\n".utf8), path: "k") }
        #expect(typo?.description.contains("not a public key line") == false, "\(String(describing: typo))")
    }

    @Test func unreadableFileIsReported() {
        let error = #expect(throws: KeyParseError.self) { try KeyImporter.importKey(contentsOf: "/nonexistent/key.pub") }
        #expect(error == .unreadable(path: "/nonexistent/key.pub", reason: "no such file"))
    }

    /// `keys fingerprint /dev/zero` ends in an error, not in memory exhaustion.
    @Test func anEndlessFileIsReportedNotReadWhole() {
        let error = #expect(throws: KeyParseError.self) { try KeyImporter.importKeys(contentsOf: "/dev/zero") }
        #expect(error == .unreadable(path: "/dev/zero", reason: "cannot read the file (more than 16 MiB, the most keysync reads from such a file)"))
    }

    @Test func authorizedKeysFileGivesEveryKey() throws {
        let text = try KeyFixtures.text("id_ed25519.pub") + "# x\n" + KeyFixtures.text("id_rsa2048.pub")
        #expect(try KeyImporter.importKeys(from: Array(text.utf8), path: "ak").count == 2)
        #expect(throws: KeyParseError.self) { try KeyImporter.importKey(from: Array(text.utf8), path: "ak") }
    }

    /// A huge Public-Lines count is an error naming the section, not an
    /// arithmetic overflow that kills the process.
    @Test func puttyPublicLinesCountCannotOverflow() throws {
        let original = try KeyFixtures.text("ppk_ed25519_v3.ppk")
        let line = try #require(original.split(separator: "\n").first { $0.hasPrefix("Public-Lines:") })
        for count in ["9223372036854775807", "9223372036854775806", "1000"] {
            let text = original.replacingOccurrences(of: String(line), with: "Public-Lines: \(count)")
            let error = #expect(throws: KeyParseError.self) { try KeyImporter.importKey(from: Array(text.utf8), path: "x.ppk") }
            #expect(error?.description.contains("Public-Lines") == true, "\(String(describing: error))")
        }
    }

    /// One key is one key: options in front of it are an error (they would be
    /// dropped), while a whole authorized_keys file still gives its keys.
    @Test func optionsInFrontOfAKeyAreRefused() throws {
        let text = "from=\"10.0.0.0/8\" " + (try KeyFixtures.text("id_ed25519.pub"))
        let error = #expect(throws: KeyParseError.self) { try KeyImporter.importKey(from: Array(text.utf8), path: "k.pub") }
        #expect(error?.description.contains("options \"from=\\\"10.0.0.0/8\\\"\"") == true, "\(String(describing: error))")
        #expect(try KeyImporter.importKeys(from: Array(text.utf8), path: "ak").count == 1)
    }

    @Test func puttyTypeMustMatchBlob() throws {
        let text = try KeyFixtures.text("ppk_ed25519_v3.ppk").replacingOccurrences(of: "File-3: ssh-ed25519", with: "File-3: ssh-rsa")
        #expect(throws: KeyParseError.self) { try KeyImporter.importKey(from: Array(text.utf8), path: "x.ppk") }
    }
}
