import Foundation
import Testing
@testable import KeySync

@Suite("Inventory certificates: certificate_authorities, principals, trusted_cas, revoked certificates")
struct InventoryCertificateTests {
    typealias F = InventoryFixtures

    static let ca = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK7SM2KtoSDsPPRHKV+Iixz0ebybyttPud7ae8PCgxWT ca_ed25519@keysync-test"
    static let caFingerprint = "SHA256:zjqN6/WZCTHPN3EN62/RJ6CYA64PWoqjSyFYNRnI6EE"

    /// One CA (corp-ca, line 5), keys alice and bob, one role. `revoked` and
    /// `role` are inserted as written (indented by the caller).
    static func yaml(revoked: String = "", role: String = "        principals: [billing-deploy]\n        trusted_cas: [corp-ca]") -> String {
        """
        defaults: {user: ops}
        keys:
          kp-alice: {file: keys/alice.pub}
        certificate_authorities:
          corp-ca: { public: "\(ca)" }
        \(revoked)
        \(F.billingOnWeb1)
              deploy:
                keys: [kp-alice]
        \(role)
        """
    }

    @Test func authoritiesPrincipalsAndRevokedCertificatesLoad() throws {
        let inventory = try F.load(Self.yaml(revoked: """
            revoked:
              - { ca: corp-ca, serial: 42 }
              - { ca: corp-ca, serial: "100-199" }
              - { ca: corp-ca, key_id: "alice@corp" }
              - \(F.bobFingerprint)
            """))
        #expect(inventory.warnings == [])
        let ca = try #require(inventory.certificateAuthority(named: "corp-ca"))
        #expect(ca.fingerprint == Self.caFingerprint)
        #expect(ca.line == 5)
        #expect(inventory.revokedCertificates == [
            RevokedCertificate(authority: "corp-ca", match: .serials(42...42), line: 7),
            RevokedCertificate(authority: "corp-ca", match: .serials(100...199), line: 8),
            RevokedCertificate(authority: "corp-ca", match: .keyID("alice@corp"), line: 9),
        ])
        #expect(inventory.revokedFingerprints == [F.bobFingerprint])
        let role = try #require(inventory.project(named: "billing")?.roles.first)
        #expect(role.principals == ["billing-deploy"])
        #expect(role.trustedCAs == ["corp-ca"])
    }

    @Test func theLargestSerialIsAccepted() throws {
        let inventory = try F.load(Self.yaml(revoked: "revoked: [{ ca: corp-ca, serial: 18446744073709551615 }]"))
        #expect(inventory.revokedCertificates.map(\.match) == [.serials(UInt64.max...UInt64.max)])
    }

    @Test(arguments: [
        ("{ ca: other-ca, serial: 1 }", 7, 11, "undefined certificate authority \"other-ca\""),
        ("{ ca: corp-cb, serial: 1 }", 7, 11, "did you mean \"corp-ca\"?"),
        ("{ ca: corp-ca, serial: 0 }", 7, 28, "serial 0 cannot be revoked"),
        ("{ ca: corp-ca, serial: -3 }", 7, 28, "must be a certificate serial from 1"),
        ("{ ca: corp-ca, serial: 18446744073709551616 }", 7, 28, "must be a certificate serial from 1"),
        ("{ ca: corp-ca, serial: \"9-3\" }", 7, 28, "is empty"),
        ("{ ca: corp-ca, serial: 1x }", 7, 28, "must be a certificate serial"),
        ("{ ca: corp-ca }", 7, 5, "needs serial (a number, or LOW-HIGH) or key_id"),
        ("{ serial: 3 }", 7, 5, "needs ca"),
        ("{ ca: corp-ca, serial: 1, key_id: x }", 7, 31, "give either serial or key_id"),
        ("{ ca: corp-ca, serail: 1 }", 7, 20, "did you mean \"serial\"?"),
        ("corp-ca", 7, 5, "is a certificate authority; revoke its certificates with { ca: corp-ca, serial: N }"),
        ("[1]", 7, 5, "revoked item must be a key name"),
    ])
    func aBadRevokedCertificateIsLocated(entry: String, line: Int, column: Int, message: String) {
        F.expectError(Self.yaml(revoked: "revoked:\n  - \(entry)"), at: line, column, message)
    }

    /// sshd compares key IDs and principals byte for byte: two Unicode
    /// spellings of one text are two entries, both revoked / both written
    /// (review s13: the second was dropped as a repeat).
    @Test func unicodeSpellingsAreDistinctAsInSSHD() throws {
        let nfc = "jos\u{e9}", nfd = "jose\u{301}"
        let inventory = try F.load(Self.yaml(revoked: "revoked:\n  - { ca: corp-ca, key_id: \"\(nfc)\" }\n  - { ca: corp-ca, key_id: \"\(nfd)\" }",
                                              role: "        principals: [\"\(nfc)\", \"\(nfd)\"]\n        trusted_cas: [corp-ca]"))
        #expect(inventory.revokedCertificates.count == 2 && inventory.warnings.isEmpty, "\(inventory.warnings)")
        #expect(inventory.project(named: "billing")?.roles.first?.principals.map { Array($0.utf8) } == [Array(nfc.utf8), Array(nfd.utf8)])
        let krl = RevocationList(inventory: inventory)
        #expect(krl.certificates.values.first?.keyIDs.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) } == [Array(nfd.utf8), Array(nfc.utf8)].sorted { $0.lexicographicallyPrecedes($1) })
        let principals = RootFiles.files(for: "web-1", in: inventory).first { $0.path == RootFiles.principalsPath("deploy") }
        #expect(principals.map { String(decoding: $0.content, as: UTF8.self).utf8.split(separator: 10).count } == 3, "header + two lines")
    }

    @Test func aRepeatedCertificateEntryIsListedOnce() throws {
        let inventory = try F.load(Self.yaml(revoked: "revoked:\n  - { ca: corp-ca, key_id: a }\n  - { ca: corp-ca, key_id: a }"))
        #expect(inventory.revokedCertificates.count == 1)
        #expect(inventory.warnings.map(\.line) == [8])
        #expect(inventory.warnings.first?.message.contains("repeats line 7") == true)
    }

    @Test(arguments: [
        ("principals: [\"two words\"]", "must not hold blanks"),
        ("principals: [\"#ops\"]", "must not hold '#'"),
        // sshd cuts a principals-file line at any '#': "ops#prod" would grant "ops" (review s13).
        ("principals: [\"ops#prod\"]", "must not hold '#'"),
        ("principals: [\"a,b\"]", "must not hold ','"),
        ("principals: [\"a\\u0085b\"]", "must not hold control or line-separator characters"),
        ("principals: [\"tab\\there\"]", "must not hold control"),
    ])
    func aPrincipalSSHDCouldNotMatchIsRefused(field: String, message: String) {
        F.expectError(Self.yaml(role: "        \(field)\n        trusted_cas: [corp-ca]"), at: 15, 22, message)
    }

    @Test func anUndefinedTrustedCAIsLocatedWithASuggestion() {
        F.expectError(Self.yaml(role: "        principals: [p]\n        trusted_cas: [corp-cx]"), at: 16, 23,
                      "project \"billing\" role \"deploy\": undefined certificate authority \"corp-cx\"; did you mean \"corp-ca\"?")
    }

    @Test func halfOfACertificateSetupWarns() throws {
        let onlyPrincipals = try F.load(Self.yaml(role: "        principals: [p, p]"))
        #expect(onlyPrincipals.warnings.map(\.message) == [
            "project \"billing\" role \"deploy\": principals without trusted_cas; a certificate logs in only if its CA is trusted on the host (through this or another role there)",
            "project \"billing\" role \"deploy\": principal \"p\" is already listed (line 15); listed once",
        ])
        #expect(onlyPrincipals.project(named: "billing")?.roles.first?.principals == ["p"])
        let onlyCAs = try F.load(Self.yaml(role: "        trusted_cas: [corp-ca]"))
        #expect(onlyCAs.warnings.map(\.message) == [
            "project \"billing\" role \"deploy\": trusted_cas without principals; no certificate can log in as deploy until its principal is listed",
        ])
    }

    /// sshd trusts every CA of a host for every account: a role whose host
    /// also trusts another role's CA is warned at its principals (review s13).
    @Test func aCATrustedForAnotherRoleOnTheHostWarns() throws {
        let yaml = Self.yaml(role: "        principals: [billing-deploy]\n        trusted_cas: [corp-ca]\n      play:\n        keys: [kp-alice]\n        principals: [sandbox]\n        trusted_cas: [contractor-ca]")
            .replacingOccurrences(of: "  corp-ca: { public: \"\(Self.ca)\" }", with: "  corp-ca: { public: \"\(Self.ca)\" }\n  contractor-ca: { public: \"\(F.alice)\" }")
        let inventory = try F.load(yaml)
        let warnings = inventory.warnings.filter { $0.message.contains("sshd trusts every CA of a host") }
        #expect(warnings.count == 2, "\(inventory.warnings)")
        #expect(warnings.first?.message.contains("role \"deploy\": sshd trusts every CA of a host for every account, so certificates from \"contractor-ca\" (trusted for project billing role play) on web-1") == true, "\(warnings)")
    }

    /// OpenSSH 10 cannot parse a KRL naming a DSA CA and then refuses every
    /// key on the host (review s13): a DSA CA is refused where it is defined.
    @Test func aDSACertificateAuthorityIsRefused() throws {
        let dsa = try String(contentsOfFile: KeyFixtures.path("id_dsa.pub"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let yaml = Self.yaml().replacingOccurrences(of: "corp-ca: { public: \"\(Self.ca)\" }", with: "corp-ca: { public: \"\(dsa)\" }")
        let errors = F.diagnostics(yaml).filter { $0.severity == .error }
        #expect(errors.first.map { "\($0.line):\($0.column)" } == "5:22")
        #expect(errors.first?.message.contains("DSA CA keys are not supported") == true, "\(errors)")
    }

    @Test func aCertificateIsNotACertificateAuthority() throws {
        let cert = try String(contentsOfFile: KeyFixtures.path("id_ed25519-cert.pub"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let yaml = Self.yaml().replacingOccurrences(of: "corp-ca: { public: \"\(Self.ca)\" }", with: "corp-ca: { public: \"\(cert)\" }")
        let errors = F.diagnostics(yaml).filter { $0.severity == .error }
        #expect(errors.first.map { "\($0.line):\($0.column)" } == "5:22")
        #expect(errors.first?.message.contains("is a certificate; a CA is a plain public key") == true)
    }

    @Test func aCertificateIsNotAKeyToGrant() throws {
        // In authorized_keys it would grant nothing: sshd never takes a certificate from there.
        let cert = try String(contentsOfFile: KeyFixtures.path("id_ed25519-cert.pub"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let yaml = Self.yaml().replacingOccurrences(of: "kp-alice: {file: keys/alice.pub}", with: "kp-alice: { public: \"\(cert)\" }")
        let errors = F.diagnostics(yaml).filter { $0.severity == .error }
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.message.contains("key \"kp-alice\" is a certificate (ssh-ed25519-cert-v01@openssh.com); authorized_keys needs the key itself") == true,
                "\(errors)")
        // Defined only to be revoked (which revokes the key it certifies): no error.
        let revokedOnly = Self.yaml(revoked: "revoked: [kp-old-cert]")
            .replacingOccurrences(of: "  kp-alice: {file: keys/alice.pub}", with: "  kp-alice: {file: keys/alice.pub}\n  kp-old-cert: { public: \"\(cert)\" }")
        let loaded = try F.load(revokedOnly)
        #expect(loaded.revokedFingerprints.contains(F.aliceFingerprint) == false && loaded.keys.contains { $0.name == "kp-old-cert" })
    }

    @Test func aCertificateAuthorityNeedsKeyMaterial() {
        let yaml = Self.yaml().replacingOccurrences(of: "corp-ca: { public: \"\(Self.ca)\" }", with: "corp-ca: { file: keys/missing.pub }")
        let errors = F.diagnostics(yaml).filter { $0.severity == .error }
        // The CA is reported once; the role's reference to it is not.
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("certificate authority \"corp-ca\": key file") == true)
    }
}
