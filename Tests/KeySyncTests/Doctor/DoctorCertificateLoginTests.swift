import Foundation
import Testing
@testable import KeySync

/// `doctor --try-login CERT` (issue 19): each reason sshd would refuse a
/// user certificate, from certificates ssh-keygen signs for the test.
@Suite("Doctor: --try-login with a certificate")
struct DoctorCertificateLoginTests {
    typealias Lab = KeysRevocationListTests.KeyLab
    static let account = "certdeploy"
    let lab: Lab
    let ca: PublicKey

    init() throws {
        lab = try Lab()
        ca = try lab.key("ca")
        _ = try lab.key("user")
    }

    /// `user-cert.pub` signed by `signer` with these ssh-keygen arguments; the certificate.
    func certificate(signer: String = "ca", principal: String = "billing-deploy", serial: Int = 42, keyID: String = "alice@corp",
                     validity: String = "-5m:+1h", extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> CertificateLogin {
        let result = try lab.run(["-q", "-s", signer, "-I", keyID, "-n", principal, "-z", String(serial), "-V", validity] + extra + ["user.pub"])
        try #require(result.status == 0, "\(result.output)", sourceLocation: sourceLocation)
        return try #require(try CertificateLogin.load(path: lab.directory + "/user-cert.pub"), sourceLocation: sourceLocation)
    }

    func policy(trusted: [String] = ["corp-ca"], revoked: [RevokedCertificate] = [], revokedKeys: Set<String> = []) -> CertificateLogin.Policy {
        CertificateLogin.Policy(authorities: [InventoryCertificateAuthority(name: "corp-ca", publicKey: ca)], revoked: revoked,
                                revokedFingerprints: revokedKeys, trustedCAs: trusted, principals: ["billing-deploy"], roles: ["billing/deploy"])
    }

    /// A probe of the account whose sshd uses keysync's files, which hold `caLines` and `principals`.
    func probe(caLines: [PublicKey]? = nil, principals: String = "billing-deploy\n",
               principalsFile: String = "/etc/ssh/keysync/principals/%u") throws -> HostProbe {
        var account = FakeAccount.existing(Self.account, content: nil)
        account.sshd = ["authorizedkeysfile .ssh/authorized_keys", "trustedusercakeys /etc/ssh/keysync/trusted_user_ca_keys",
                        "authorizedprincipalsfile \(principalsFile)", "revokedkeys /etc/ssh/keysync/revoked_keys.krl"]
        let nonce = FakeProbe.nonce
        func file(_ path: String, _ text: String) -> String {
            "rootfile \(nonce) \(path) regular file|644|0|0|\(text.utf8.count)\n"
                + "rootfile_content-begin \(nonce) base64\n\(Data(text.utf8).base64EncodedString())\nrootfile_content-end \(nonce) 0\n"
        }
        let cas = "# keysync\n" + (caLines ?? [ca]).map { $0.openSSHLine + "\n" }.joined()
        let files = file(RootFiles.trustedCAsPath, cas) + file(RootFiles.principalsPath(Self.account), "# keysync\n" + principals)
        return try HostProbe(reply: Array(FakeProbe.header.utf8) + account.bytes() + Array((files + FakeProbe.end).utf8), nonce: nonce)
    }

    func explain(_ certificate: CertificateLogin, policy: CertificateLogin.Policy? = nil, probe: HostProbe? = nil) throws -> [DoctorFinding] {
        certificate.explain(account: Self.account, host: "h1", policy: policy ?? self.policy(), probe: try probe ?? self.probe(), now: Date())
    }

    /// A certificate that does not parse is reported as one, not as "not a private key" (review s13).
    @Test func aBrokenCertificateSaysWhyItIsBroken() throws {
        let text = try String(contentsOfFile: KeyFixtures.path("id_ed25519-cert.pub"), encoding: .utf8)
        let parts = text.split(separator: " ")
        var blob = try #require(Data(base64Encoded: String(parts[1])))
        blob[blob.count - 10] ^= 0x01  // inside the CA signature
        let path = NSTemporaryDirectory() + "keysync-broken-\(getpid())-cert.pub"
        try "\(parts[0]) \(blob.base64EncodedString()) broken\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        #expect {
            _ = try CertificateLogin.load(path: path)
        } throws: { error in
            "\(error)".contains("a certificate (ssh-ed25519-cert-v01@openssh.com) keysync cannot use") && "\(error)".contains("signature")
        }
        #expect(try CertificateLogin.load(path: KeyFixtures.path("id_ed25519")) == nil, "a private key is no certificate")
    }

    /// sshd's principals file: a '#' anywhere starts a comment (auth_process_principals).
    @Test func aPrincipalsFileIsReadAsSSHDReadsIt() {
        #expect(CertificateLogin.principalLines(Array("ops#prod\n  # note\n\nbilling-deploy\t# x\n".utf8)) == ["ops", "billing-deploy"])
    }

    @Test func aGoodCertificateWouldLogIn() throws {
        defer { lab.remove() }
        let findings = try explain(try certificate())
        #expect(findings.map(\.code) == [.certificateOK])
        #expect(findings[0].severity == .info)
        #expect(findings[0].message.contains("would log in as certdeploy: a user certificate signed by corp-ca"))
        #expect(findings[0].message.contains("principal billing-deploy is listed for certdeploy"))
        #expect(findings[0].evidence.first?.contains("serial 42, key ID \"alice@corp\", principals [\"billing-deploy\"]") == true)
    }

    @Test func expiredAndNotYetValid() throws {
        defer { lab.remove() }
        let expired = try explain(try certificate(validity: "20200101:20200102"))
        #expect(expired.map(\.code) == [.certificateExpired])
        #expect(expired[0].message.contains("expired at 2020-01-02"))
        #expect(expired[0].fix?.hasPrefix("re-sign it: ssh-keygen -s CA -I alice@corp -n billing-deploy -V -5m:+1d") == true)
        #expect(try explain(try certificate(validity: "+1d:+2d")).map(\.code) == [.certificateNotYetValid])
        // Principals and key ID come from the certificate a user handed over: quoted in the command the operator pastes.
        let hostile = try explain(try certificate(principal: "x $(touch /tmp/pwned)", keyID: "id; rm -rf ~", validity: "20200101:20200102"))
        #expect(hostile[0].fix == "re-sign it: ssh-keygen -s CA -I 'id; rm -rf ~' -n 'x $(touch /tmp/pwned)' -V -5m:+1d \(lab.directory)/user.pub", "\(hostile)")
    }

    @Test func aPrincipalTheAccountDoesNotListIsExplained() throws {
        defer { lab.remove() }
        let findings = try explain(try certificate(principal: "someone-else"))
        #expect(findings.map(\.code) == [.certificatePrincipal])
        #expect(findings[0].severity == .error)
        #expect(findings[0].message.hasSuffix("names [\"someone-else\"], but certdeploy accepts [\"billing-deploy\"] (principals of billing/deploy)"))
        // Listed by the role but not yet on the host: push.
        let stale = try explain(try certificate(), probe: try probe(principals: "other\n"))
        #expect(stale.map(\.code) == [.certificatePrincipal])
        #expect(stale[0].fix == "keysync push --host h1")
        // Without an AuthorizedPrincipalsFile sshd wants the account's own name.
        let none = try explain(try certificate(), probe: try probe(principalsFile: "none"))
        #expect(none.map(\.code) == [.certificatePrincipal])
        #expect(none[0].message.contains("must name the account certdeploy"))
        #expect(try explain(try certificate(principal: Self.account), probe: try probe(principalsFile: "none")).map(\.code) == [.certificateOK])
    }

    @Test func aCANobodyTrustsIsExplained() throws {
        defer { lab.remove() }
        let other = try lab.key("other-ca")
        let unknown = try explain(try certificate(signer: "other-ca"))
        #expect(unknown.map(\.code) == [.certificateCAUntrusted])
        #expect(unknown[0].message.contains("signed by CA \(other.fingerprint), which is not under certificate_authorities"))
        // Known, but not in the role's trusted_cas (nor on the host).
        let untrusted = try explain(try certificate(), policy: policy(trusted: []), probe: try probe(caLines: []))
        #expect(untrusted.map(\.code) == [.certificateCAUntrusted])
        #expect(untrusted[0].message.contains("CA corp-ca is not in trusted_cas of billing/deploy"))
        // In trusted_cas, but the host's file does not hold it yet.
        let stale = try explain(try certificate(), probe: try probe(caLines: []))
        #expect(stale.map(\.code) == [.certificateCAUntrusted])
        #expect(stale[0].fix == "keysync push --host h1")
    }

    @Test func revokedSerialKeyIDOrKeyIsExplained() throws {
        defer { lab.remove() }
        let cert = try certificate()
        let serial = try explain(cert, policy: policy(revoked: [RevokedCertificate(authority: "corp-ca", match: .serials(40...45), line: 7)]))
        #expect(serial.map(\.code) == [.certificateRevoked])
        #expect(serial[0].message.contains("serial 42 of corp-ca is revoked (revoked: entry on line 7)"))
        let keyID = try explain(cert, policy: policy(revoked: [RevokedCertificate(authority: "corp-ca", match: .keyID("alice@corp"), line: 8)]))
        #expect(keyID.map(\.code) == [.certificateRevoked])
        #expect(keyID[0].message.contains("key ID \"alice@corp\" of corp-ca is revoked"))
        let key = try explain(cert, policy: policy(revokedKeys: [cert.info.certifiedKey.fingerprint]))
        #expect(key.map(\.code) == [.certificateRevoked])
        // Another CA's serial 42 is not this one.
        #expect(try explain(cert, policy: policy(revoked: [RevokedCertificate(authority: "other", match: .serials(42...42))])).map(\.code) == [.certificateOK])
    }

    @Test func aHostCertificateAndAPlainKeyFile() throws {
        defer { lab.remove() }
        #expect(try explain(try certificate(extra: ["-h"])).map(\.code).contains(.certificateNotUser))
        #expect(try CertificateLogin.load(path: lab.directory + "/user.pub") == nil)
        #expect(try CertificateLogin.load(path: lab.directory + "/user") == nil)
    }
}
