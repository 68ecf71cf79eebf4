import Foundation
import Testing
@testable import KeySync

@Suite("Doctor: sshd settings certificates need (issue 19)")
struct DoctorCertificateTests {
    static let files = [
        RootFile(path: RootFiles.trustedCAsPath, purpose: .trustedCAs, content: Array("# c\nssh-ed25519 AAAA ca\n".utf8)),
        RootFile(path: RootFiles.principalsPath("usersample"), purpose: .principals(account: "usersample"), content: Array("# c\nbilling-deploy\n".utf8)),
        RootFile(path: RootFiles.revocationListPath, purpose: .revocationList, content: RevocationList().encoded()),
    ]

    func findings(_ fixture: DoctorFixture, files: [RootFile] = files, managesSSHD: Bool = false) throws -> [DoctorFinding] {
        Doctor.examine(fixture.target, probe: try fixture.probe(),
                       context: Doctor.Context(host: "h1", now: Date(timeIntervalSince1970: 20000 * 86400), rootFiles: files,
                                               managesSSHD: managesSSHD))
    }

    @Test func withManageSSHDTheFixIsAPush() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd += ["revokedkeys none"]
        let finding = try #require(try findings(fixture, managesSSHD: true).first { $0.code == .sshdConfigMissing })
        #expect(finding.fix == "keysync push --host h1 (manage_sshd writes /etc/ssh/sshd_config.d/50-keysync.conf and reloads sshd; if it is in place, an earlier value in sshd_config wins: remove that line)")
    }

    @Test func missingSettingsAreNamedWithTheFix() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd += ["trustedusercakeys /etc/ssh/keysync/trusted_user_ca_keys", "authorizedprincipalsfile none", "revokedkeys none"]
        let finding = try #require(try findings(fixture).first { $0.code == .sshdConfigMissing })
        #expect(finding.severity == .warning)
        #expect(finding.message == "sshd does not use the certificate files keysync writes for usersample (AuthorizedPrincipalsFile is none, RevokedKeys is none): certificates with its principals are refused")
        #expect(finding.fix == "printf '%s\\n' 'AuthorizedPrincipalsFile /etc/ssh/keysync/principals/%u' 'RevokedKeys /etc/ssh/keysync/revoked_keys.krl' >> /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
    }

    /// sshd keeps the first value: a line that sets another one is edited,
    /// not followed by an appended line that changes nothing (review s13).
    @Test func aSettingWithAnotherValueIsEditedNotAppended() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd += ["trustedusercakeys /etc/ssh/keysync/trusted_user_ca_keys", "authorizedprincipalsfile /etc/ssh/other/%u", "revokedkeys none"]
        fixture.config = ["AuthorizedPrincipalsFile /etc/ssh/other/%u"]
        let finding = try #require(try findings(fixture).first { $0.code == .sshdConfigMissing })
        #expect(finding.fix == "sed -i '1c AuthorizedPrincipalsFile /etc/ssh/keysync/principals/%u' /etc/ssh/sshd_config && printf '%s\\n' 'RevokedKeys /etc/ssh/keysync/revoked_keys.krl' >> /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
        #expect(CertificateLogin.settingFix("AuthorizedPrincipalsFile", "/x/%u", current: "/etc/ssh/other/%u").hasPrefix("change the line that sets AuthorizedPrincipalsFile /etc/ssh/other/%u to AuthorizedPrincipalsFile /x/%u"))
        #expect(CertificateLogin.settingFix("RevokedKeys", "/k", current: "none") == "printf '%s\\n' 'RevokedKeys /k' >> /etc/ssh/sshd_config && sshd -t && systemctl reload sshd")
    }

    @Test func nothingWhenSSHDUsesThemOrTheAccountHasNoPrincipals() throws {
        var fixture = try DoctorFixture()
        fixture.account.sshd += ["trustedusercakeys /etc/ssh/keysync/trusted_user_ca_keys",
                                 "authorizedprincipalsfile /etc/ssh/keysync/principals/%u",
                                 "revokedkeys /etc/ssh/keysync/revoked_keys.krl"]
        #expect(try !findings(fixture).contains { $0.code == .sshdConfigMissing })
        let unused = try DoctorFixture()
        var noPrincipals = Self.files
        noPrincipals[1].content = Array("# c\n".utf8)
        #expect(try !findings(unused, files: noPrincipals).contains { $0.code == .sshdConfigMissing })
        #expect(try !findings(unused, files: []).contains { $0.code == .sshdConfigMissing })
    }
}
