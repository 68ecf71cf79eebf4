import Foundation
import Testing
@testable import KeySync

/// `keys: [{ key: NAME, until: DATE }]` on a role (issue 16, grants that expire).
@Suite struct InventoryGrantUntilTests {
    typealias F = InventoryFixtures

    static func yaml(keys: String, extraRole: String = "") -> String {
        """
        defaults: {user: ops}
        keys:
          alice: {file: keys/alice.pub}
          bob: {file: keys/bob.pub, options: 'from="10.0.0.0/8"'}
        hosts: {web-1: {address: 127.77.0.1}}
        projects:
          p:
            hosts: [web-1]
            roles:
              deploy:
                keys: \(keys)
        \(extraRole)
        """
    }

    static func date(_ text: String) -> Date { try! Date.ISO8601FormatStyle().parse(text) }

    @Test(arguments: [
        ("2026-12-31", "2027-01-01T00:00:00Z"),          // a date: the end of that day, UTC
        ("2024-02-29", "2024-03-01T00:00:00Z"),
        ("2026-12-31T18:00Z", "2026-12-31T18:00:00Z"),
        ("2026-12-31t18:00z", "2026-12-31T18:00:00Z"),
        ("2026-12-31T18:00:30Z", "2026-12-31T18:00:30Z"),
        ("2026-12-31T19:00+01:00", "2026-12-31T18:00:00Z"),
        ("2026-12-31T13:30-04:30", "2026-12-31T18:00:00Z"),
    ])
    func untilForms(_ text: String, _ end: String) throws {
        #expect(try GrantUntil.parse(text).get() == Self.date(end))
    }

    @Test(arguments: [
        ("2026-13-01", "is not a calendar date"),
        ("2025-02-29", "is not a calendar date"),
        ("2026-04-31", "is not a calendar date"),
        ("2026-12-31T24:00Z", "no such time of day"),
        ("2026-12-31T18:00", "has a time but no zone"),
        ("2026-12-31 18:00Z", "is not a date"),
        ("2026-12-31T18:00CET", "unknown zone \"CET\""),
        ("31.12.2026", "is not a date"),
        ("tomorrow", "is not a date"),
        ("20261231", "is not a date"),
        // The end of 9999-12-31 is 10000-01-01: 13 digits in expiry-time, a line sshd skips.
        ("9999-12-31", "sshd's expiry-time cannot hold"),
        ("9999-12-31T23:30-01:00", "sshd's expiry-time cannot hold"),
    ])
    func badUntil(_ text: String, _ message: String) {
        // The last writable end still parses, and people's dates agree.
        #expect((try? GrantUntil.parse("9999-12-31T23:59:59Z").get()) != nil)
        #expect(InventoryDate.parse("9999-12-31", endOfDay: true) == nil && InventoryDate.parse("9999-12-31") != nil)
        guard case .failure(let problem) = GrantUntil.parse(text) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(problem.reason.contains(message), "\(problem.reason)")
    }

    @Test func roleKeysMixNamesAndGrantsWithAnEnd() throws {
        let inventory = try F.load(Self.yaml(keys: "[alice, { key: bob, until: 2026-12-31 }]"))
        let role = try #require(inventory.project(named: "p")?.roles.first)
        #expect(role.keys == ["alice", "bob"])
        #expect(role.until == ["bob": Self.date("2027-01-01T00:00:00Z")])
        let entries = try #require(inventory.select().first?.accounts.first?.blocks.first?.entries)
        #expect(entries.map(\.until) == [nil, Self.date("2027-01-01T00:00:00Z")])
        #expect(entries[1].options == "from=\"10.0.0.0/8\"")
        #expect(inventory.warnings.isEmpty)
    }

    @Test func aBlockListAndAGrantWithoutUntil() throws {
        let inventory = try F.load(Self.yaml(keys: "\n          - key: alice\n          - { key: bob, until: \"2026-12-31T18:00Z\" }"))
        let role = try #require(inventory.project(named: "p")?.roles.first)
        #expect(role.keys == ["alice", "bob"])
        #expect(role.until == ["bob": Self.date("2026-12-31T18:00:00Z")])
    }

    @Test func aBadDateIsALocatedError() {
        F.expectError(Self.yaml(keys: "[alice, { key: bob, until: 2026-02-30 }]"), at: 11, 42,
                      #"project "p" role "deploy": keys: key "bob": until "2026-02-30" is not a calendar date"#)
    }

    @Test func aGrantNeedsItsKeyAndKnownFields() {
        F.expectError(Self.yaml(keys: "[{ until: 2026-12-31 }]"), at: 11, 16,
                      #"keys item needs key (a key name)"#)
        F.expectError(Self.yaml(keys: "[{ key: bob, untill: 2026-12-31 }]"), at: 11, 28,
                      #"unknown field "untill"; did you mean "until"?"#)
        F.expectError(Self.yaml(keys: "[{ key: carl, until: 2026-12-31 }]"), at: 11, 23, #"undefined key "carl""#)
        F.expectError(Self.yaml(keys: "[[alice]]"), at: 11, 16, "keys item must be a key name or { key: NAME, until: DATE }, found a list")
    }

    @Test func theSameKeyForOneAccountWithAnotherEndIsAnError() {
        let other = """
              ci:
                account: deploy
                keys: [{ key: alice, until: 2027-01-31 }]
        """
        let errors = F.diagnostics(Self.yaml(keys: "[{ key: alice, until: 2026-12-31 }]", extraRole: other)).filter { $0.severity == .error }
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains(#"key "alice" is also granted to account "deploy" by project "p" role "deploy" (line 11) with a different until"#) == true,
                "\(errors)")
        #expect(errors.first.map { "\($0.line):\($0.column)" } == "14:23")
    }

    @Test func theExampleInventoryHasAGrantThatEnds() throws {
        let inventory = try Inventory.load(path: F.repositoryRoot + "/inventory.example", homeDirectory: F.home)
        #expect(inventory.projects.flatMap(\.roles).contains { !$0.until.isEmpty })
    }
}
