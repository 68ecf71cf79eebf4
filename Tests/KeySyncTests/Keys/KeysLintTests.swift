import Foundation
import Testing
@testable import KeySync

@Suite struct KeysLintTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15

    func codes(_ text: String) -> [[String]] {
        AuthorizedKeysFile(text: text).lint(now: now).map { $0.problems.map(\.code) }
    }

    @Test func reportsEveryWarningKind() throws {
        let ed = try KeyFixtures.text("id_ed25519.pub").trimmingCharacters(in: .newlines)
        let lines = [
            ed,
            "expiry-time=\"20200101Z\" " + ed,
            "principals=\"alice\" " + ed,
            try KeyFixtures.text("id_rsa1024.pub").trimmingCharacters(in: .newlines),
            try KeyFixtures.text("id_dsa.pub").trimmingCharacters(in: .newlines),
            "from=\"10.0.0.1/8,,192.168.0.0/16\" " + ed,
            "garbage",
            "# keysync:end project=p role=r",
            "cert-authority,principals=\"a\",expiry-time=\"20991231\" " + ed,
        ]
        #expect(codes(lines.joined(separator: "\n")) == [
            [],
            ["expired", "duplicate"],
            ["principals-without-cert-authority", "duplicate"],
            ["weak-rsa", "ssh-rsa"],
            ["dsa"],
            ["bad-from", "bad-from", "duplicate"],
            ["invalid"],
            ["marker"],
            ["duplicate"],
        ])
        let lint = AuthorizedKeysFile(text: lines.joined(separator: "\n")).lint(now: now)
        #expect(lint[1].problems.last?.description == "duplicate of line 1; sshd uses the first")
        #expect(lint[6].problems.first?.severity == .error)
    }

    @Test func expiryTimeFormats() throws {
        let utc = try #require(ExpiryTime.parse("202401020304Z"))
        #expect(utc.timeIntervalSince1970 == 1_704_164_640)
        #expect(ExpiryTime.parse("20240102030405utc")?.timeIntervalSince1970 == 1_704_164_645)
        #expect(ExpiryTime.parse("20240231Z") == ExpiryTime.parse("20240302Z"))  // mktime rolls over like sshd
        for bad in ["2024010", "2024-01-02", "20241301Z", "19690101Z", "202401021", "Z", "20240100"] {
            #expect(ExpiryTime.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func cleanFileHasNoProblems() throws {
        let text = try KeyFixtures.text("id_ed25519.pub") + "\n# comment\n" + KeyFixtures.text("id_ecdsa384.pub")
        #expect(AuthorizedKeysFile(text: text).lint(now: now).allSatisfy { $0.problems.isEmpty })
    }
}
