import Foundation
import Testing
@testable import KeySync

@Suite("Inventory people: keys that follow a person, left: revokes them")
struct InventoryPeopleTests {
    typealias F = InventoryFixtures

    /// Keys alice (two), bob and carol (fixtures), one host, one project.
    static func yaml(people: String, roles: String, revoked: String = "") -> String {
        """
        defaults: {user: ops}
        keys:
          kp-alice-laptop: {file: keys/alice.pub}
          kp-alice-yubikey: {file: keys/dave.pub}
          kp-bob: {file: keys/bob.pub}
          kp-deploy: {file: keys/carol.pub}
        \(revoked)
        people:
        \(people)
        \(F.billingOnWeb1)
        \(roles)
        """
    }

    @Test func aRoleGetsThePersonsKeysInItsBlock() throws {
        let inventory = try F.load(Self.yaml(people: """
              alice: { keys: [kp-alice-laptop, kp-alice-yubikey], email: alice@example.com, until: 2027-03-31 }
              bob: { keys: [kp-bob] }
            """, roles: """
                  deploy:
                    keys: [kp-deploy]
                    people: [alice, bob]
            """))
        #expect(inventory.warnings == [])
        let alice = try #require(inventory.person(named: "alice"))
        #expect(alice.keys == ["kp-alice-laptop", "kp-alice-yubikey"])
        #expect(alice.email == "alice@example.com")
        // A date is the end of that day, UTC: the next midnight.
        #expect(alice.until == InventoryDate.parse("2027-04-01T00:00Z"))
        #expect(alice.left == nil)
        #expect((alice.line, alice.column) == (9, 3))
        #expect(inventory.people.map(\.name) == ["alice", "bob"])

        let role = try #require(inventory.project(named: "billing")?.roles.first)
        #expect(role.people == ["alice", "bob"])
        #expect(role.keys == ["kp-deploy", "kp-alice-laptop", "kp-alice-yubikey", "kp-bob"])
        let block = try #require(try inventory.select().first?.accounts.first?.blocks.first)
        #expect(block.entries.map(\.keyName) == ["kp-deploy", "kp-alice-laptop", "kp-alice-yubikey", "kp-bob"])
        #expect(inventory.revokedFingerprints.isEmpty)
    }

    /// A person's `until:` ends the grants of all their keys: each entry the
    /// person brings into a block carries it (expiry-time, removal after it).
    @Test func aPersonsUntilEndsTheirGrants() throws {
        let inventory = try F.load(Self.yaml(people: """
              alice: { keys: [kp-alice-laptop, kp-alice-yubikey], until: 2027-03-31 }
              bob: { keys: [kp-bob] }
            """, roles: """
                  deploy:
                    keys: [kp-deploy]
                    people: [alice, bob]
            """))
        let end = try #require(InventoryDate.parse("2027-04-01T00:00Z"))
        let role = try #require(inventory.project(named: "billing")?.roles.first)
        #expect(role.until == ["kp-alice-laptop": end, "kp-alice-yubikey": end])
        let block = try #require(try inventory.select().first?.accounts.first?.blocks.first)
        #expect(block.entries.map(\.until) == [nil, end, end, nil])
        #expect(Set(inventory.timedGrants.map(\.key)) == ["kp-alice-laptop", "kp-alice-yubikey"])
    }

    @Test func leftRevokesEveryKeyAndRolesThatNameThePersonAreSkippedWithAWarning() throws {
        let inventory = try F.load(Self.yaml(people: """
              alice: { keys: [kp-alice-laptop] }
              bob:
                keys: [kp-bob]
                left: 2026-12-05
            """, roles: """
                  deploy:
                    keys: [kp-deploy]
                    people: [alice, bob]
            """))
        let bob = try #require(inventory.person(named: "bob"))
        #expect(bob.left == InventoryDate.parse("2026-12-05T00:00Z"))
        #expect(inventory.revokedFingerprints == [F.bobFingerprint])
        let role = try #require(inventory.project(named: "billing")?.roles.first)
        #expect(role.people == ["alice"])
        #expect(role.keys == ["kp-deploy", "kp-alice-laptop"])
        #expect(inventory.warnings.map(\.description) == [
            "\(F.path):4:3: warning: key \"kp-alice-yubikey\" is not granted to any role",
            "\(F.path):21:25: warning: project \"billing\" role \"deploy\": person \"bob\" left on 2026-12-05 (line 10); their keys are revoked, so this role does not grant them. Remove \"bob\" from people",
        ])
    }

    @Test func aLeaversKeyGrantedDirectlyIsAnErrorLikeAnyRevokedKey() {
        F.expectError(Self.yaml(people: """
              bob: { keys: [kp-bob], left: 2026-12-05 }
            """, roles: """
                  deploy:
                    keys: [kp-deploy, kp-bob]
            """), at: 17, 27, #"key "kp-bob" is granted here but revoked (line 9)"#)
    }

    @Test(arguments: [
        ("unknown person in a role, with a suggestion", "alice: { keys: [kp-alice-laptop] }", "people: [alcie]",
         18, 18, #"project "billing" role "deploy": undefined person "alcie"; did you mean "alice"?"#),
        ("unknown key of a person, with a suggestion", "alice: { keys: [kp-alice-laptpo] }", "people: [alice]",
         9, 19, #"person "alice": undefined key "kp-alice-laptpo"; did you mean "kp-alice-laptop"?"#),
        ("unknown field of a person", "alice: { keys: [kp-alice-laptop], emial: a@b.c }", "people: [alice]",
         9, 37, #"person "alice": unknown field "emial"; did you mean "email"?"#),
        ("a day that does not exist", "alice: { keys: [kp-alice-laptop], until: 2027-02-29 }", "people: [alice]",
         9, 44, #"person "alice": until must be a date YYYY-MM-DD (UTC) or a time YYYY-MM-DDTHH:MMZ, found "2027-02-29""#),
        ("left is not a date", "alice: { keys: [kp-alice-laptop], left: yesterday }", "people: [alice]",
         9, 43, #"person "alice": left must be a date YYYY-MM-DD (UTC) or a time YYYY-MM-DDTHH:MMZ, found "yesterday""#),
        ("a time zone other than UTC", "alice: { keys: [kp-alice-laptop], until: 2027-03-31T18:00+01:00 }", "people: [alice]",
         9, 44, #"until must be a date YYYY-MM-DD (UTC) or a time YYYY-MM-DDTHH:MMZ, found "2027-03-31T18:00+01:00""#),
        ("an email with a space", "alice: { keys: [kp-alice-laptop], email: \"alice @example.com\" }", "people: [alice]",
         9, 44, #"person "alice": email "alice @example.com" is not an address"#),
        ("people is not a list", "alice: { keys: [kp-alice-laptop] }", "people: alice",
         18, 17, #"project "billing" role "deploy": people must be a list, found "alice""#),
        ("person name with a space", "\"al ice\": { keys: [kp-alice-laptop] }", "people: []",
         9, 3, #"person name "al ice" must start with a letter or digit"#),
    ] as [(String, String, String, Int, Int, String)])
    func locatedErrors(_ name: String, _ person: String, _ rolePeople: String, _ line: Int, _ column: Int, _ message: String) {
        F.expectError(Self.yaml(people: "  " + person, roles: """
                  deploy:
                    keys: [kp-deploy]
                    \(rolePeople)
            """), at: line, column, message)
    }

    @Test func warningsForRepeatsSharedKeysNoKeysAndRevokedKeys() throws {
        let inventory = try F.load(Self.yaml(people: """
              alice: { keys: [kp-alice-laptop, kp-alice-laptop, kp-deploy] }
              carol: { keys: [kp-alice-yubikey, kp-bob] }
              dave: {}
            """, roles: """
                  deploy:
                    keys: [kp-deploy]
                    people: [alice, carol, alice, dave]
            """, revoked: "revoked: [kp-bob]"))
        #expect(inventory.warnings.map { "\($0.line):\($0.column): \($0.message)" } == [
            #"9:36: person "alice": key "kp-alice-laptop" is listed twice; listed once"#,
            #"10:37: person "carol": key "kp-bob" is revoked (line 7); roles that name carol do not grant it"#,
            #"11:3: person "dave" has no keys; roles naming them grant nothing and offboard has nothing to look for"#,
            #"20:18: project "billing" role "deploy": key "kp-deploy" of person "alice" is already granted; listed once"#,
            #"20:32: project "billing" role "deploy": person "alice" is listed twice; listed once"#,
        ])
        let role = try #require(inventory.project(named: "billing")?.roles.first)
        #expect(role.keys == ["kp-deploy", "kp-alice-laptop", "kp-alice-yubikey"])
        #expect(role.people == ["alice", "carol", "dave"])
    }

    @Test func aKeyOfTwoPeopleIsAWarningAndIsRevokedWhenEitherLeaves() throws {
        let inventory = try F.load(Self.yaml(people: """
              alice: { keys: [kp-alice-laptop, kp-deploy] }
              bob: { keys: [kp-bob, kp-deploy], left: 2026-12-05T17:30Z }
            """, roles: """
                  deploy:
                    people: [alice]
            """))
        #expect(inventory.warnings.map { "\($0.line):\($0.column): \($0.message)" } == [
            #"4:3: key "kp-alice-yubikey" is not granted to any role"#,
            #"9:36: person "alice": key "kp-deploy" is revoked (line 10); roles that name alice do not grant it"#,
            #"10:25: person "bob": key "kp-deploy" is also a key of person "alice" (line 9); if either leaves, it is revoked for both"#,
        ])
        #expect(inventory.revokedFingerprints == [F.bobFingerprint, F.carolFingerprint])
        #expect(inventory.project(named: "billing")?.roles.first?.keys == ["kp-alice-laptop"])
        #expect(inventory.person(named: "bob")?.left.map(InventoryDate.text) == "2026-12-05T17:30Z")
    }
}

@Suite("Inventory dates: a day or an instant, UTC only")
struct InventoryDateTests {
    @Test(arguments: [
        ("2027-03-31", false, "2027-03-31"),
        ("2027-03-31", true, "2027-04-01"),
        ("2028-02-29", true, "2028-03-01"),
        ("2026-12-31T18:00Z", true, "2026-12-31T18:00Z"),
        ("2026-12-31T18:00:30Z", false, "2026-12-31T18:00:30Z"),
        ("1969-07-20T20:17Z", false, "1969-07-20T20:17Z"),
        ("2000-01-01T00:00Z", true, "2000-01-01"),
    ])
    func parsesAndPrints(_ text: String, _ endOfDay: Bool, _ printed: String) throws {
        let date = try #require(InventoryDate.parse(text, endOfDay: endOfDay))
        #expect(InventoryDate.text(date) == printed)
    }

    @Test func theInstantIsUTC() {
        #expect(InventoryDate.parse("1970-01-02")?.timeIntervalSince1970 == 86_400)
        #expect(InventoryDate.parse("2026-12-31T18:00Z")?.timeIntervalSince1970 == 1_798_740_000)
        #expect(InventoryDate.day(Date(timeIntervalSince1970: 1_798_740_000)) == "2026-12-31")
    }

    @Test(arguments: ["", "2027-3-31", "2027-02-29", "2027-13-01", "2027-04-31", "2027-03-31T24:00Z", "2027-03-31T18:60Z",
                      "2027-03-31T18:00", "2027-03-31 18:00Z", "2027-03-31T18:00+00:00", "2027-03-31T18:00:61Z",
                      "2027-03-31Z", "２０２７-03-31", "2027-03-31T18:00Zx"])
    func refuses(_ text: String) {
        #expect(InventoryDate.parse(text) == nil)
    }
}
