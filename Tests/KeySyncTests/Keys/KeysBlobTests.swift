import Foundation
import Testing
@testable import KeySync

@Suite struct KeysBlobTests {
    static let publicKeys = KeyFixtures.names(withSuffix: ".pub")

    @Test func everyKeyTypeHasAFixture() {
        #expect(Self.publicKeys.count >= 18)
    }

    @Test(arguments: publicKeys)
    func fingerprintMatchesSSHKeygen(_ name: String) throws {
        let key = try KeyFixtures.publicKey(name)
        let expected = try KeyFixtures.expectedFingerprintLine(name.replacingOccurrences(of: ".pub", with: ".fp"))
        #expect(key.fingerprintLine == expected)
    }

    /// Certificates signed by an Ed25519 CA and by an RSA CA (rsa-sha2-512); editing a signed byte breaks them.
    @Test(arguments: [("id_ed25519-cert.pub", "id_ed25519-id"), ("id_dsa-cert.pub", "dsa-id"), ("sk_ecdsa-cert.pub", "sk_ecdsa-id")])
    func certificateSignaturesAreVerified(_ name: String, _ keyID: String) throws {
        let cert = try KeyFixtures.publicKey(name)
        let info = try #require(cert.certificate)
        #expect(info.keyID == keyID)
        #expect(info.kind == .user)
        #expect(info.principals.isEmpty == false)
        var tampered = cert.blob
        let range = try #require(tampered.firstRange(of: Array(keyID.utf8)))
        tampered[range.lowerBound] ^= 0x01
        #expect(throws: KeyParseError.invalid("certificate signature does not verify with its CA key (\(info.signatureKey.type))")) {
            try PublicKey(blob: tampered)
        }
    }

    @Test func keyFactsHelpers() throws {
        let rsa = try KeyFixtures.publicKey("id_rsa3072.pub")
        #expect(rsa.bits == 3072 && rsa.keyType?.isRSA == true && !rsa.isCertificate)
        let sk = try KeyFixtures.publicKey("sk_ed25519.pub")
        #expect(sk.isSecurityKey && sk.bits == 256 && sk.keyType?.shortName == "ED25519-SK")
        let dsaCert = try KeyFixtures.publicKey("id_dsa-cert.pub")
        #expect(dsaCert.isCertificate && dsaCert.keyType?.isDSA == true && dsaCert.keyType?.plain == KeyType.named("ssh-dss"))
        #expect(KeyType.named("rsa-sha2-256") == KeyType.named("ssh-rsa"))
        #expect(KeyType.named("RSA") == nil)
        #expect(KeyType.all.count == 16)  // 8 plain types and their certificates
    }
}
