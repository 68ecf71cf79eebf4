import Foundation
import Testing
@testable import KeySync

/// `report --unused`, `review` and `review --propose-removals` (issue 21)
/// from a fake login history: unused is claimed only where it was watched.
@Suite struct LastUseReportTests {
    static let yaml = """
        \(ReportFixture.grantKeys)
        people:
          dana: {keys: [carol], until: 2027-01-31}
        hosts:
          web-1: {address: 127.77.0.1, groups: [web]}
          web-2: {address: 127.77.0.2, groups: [web]}
        projects:
          usersample:
            hosts: ["group:web"]
            roles:
              deploy:
                account: usersample
                keys:
                  - alice
                  - { key: bob, until: 2026-12-31 }
                people: [dana]
        """
    static let now = try! Date.ISO8601FormatStyle().parse("2026-12-06T12:00:00Z")
    static func daysAgo(_ days: Double) -> Date { now.addingTimeInterval(-days * 86_400) }

    static func login(_ host: String, _ fingerprint: String, daysAgo days: Double, run: Int64 = 1) -> Store.KeyLogin {
        Store.KeyLogin(host: host, account: "usersample", fingerprint: fingerprint, keyType: "ED25519",
                       firstLoginAt: daysAgo(days + 1), lastLoginAt: daysAgo(days), lastExact: true, lastAddress: "10.0.0.9",
                       logins: 3, source: "syslog", certificateID: nil, firstRun: run, lastRun: run)
    }

    static func watch(_ host: String, since days: Double?, behind: Bool = false, readDaysAgo: Double = 0,
                      problem: String? = nil) -> Store.LoginWatch {
        Store.LoginWatch(host: host, source: "syslog:/var/log/auth.log", watchingSince: days.map(daysAgo), readUntil: daysAgo(readDaysAgo),
                         behind: behind, lastScanAt: daysAgo(readDaysAgo), discoveredAt: now, gaps: 0, lastGapAt: nil, problem: problem)
    }

    /// Certificate access has rows too (review s13): one per role principal
    /// and host, naming every CA the host trusts, last used = the account's
    /// last certificate login there; in every format.
    @Test func certificateGrantsHaveRows() throws {
        let ca = InventoryCertificateTests.ca
        let yaml = Self.yaml.replacingOccurrences(of: "people:\n", with: "certificate_authorities:\n  corp-ca: {public: \"\(ca)\"}\npeople:\n")
            .replacingOccurrences(of: "        people: [dana]", with: "        people: [dana]\n        principals: [deploy-web]\n        trusted_cas: [corp-ca]")
        let inventory = try InventoryFixtures.load(yaml)
        var certLogin = Self.login("web-1", "SHA256:cert", daysAgo: 2)
        certLogin.certificateID = "alice@corp"
        let history = LoginHistory(logins: [certLogin], watches: ["web-1": Self.watch("web-1", since: 100), "web-2": Self.watch("web-2", since: 100)])
        let review = try AccessReview(inventory: inventory, history: history, now: Self.now)
        let certificates = review.rows.filter { $0.certificateAuthorities != nil }
        #expect(certificates.map(\.host) == ["web-1", "web-2"])
        #expect(certificates.map { $0.certificateAuthorities ?? [] } == [["corp-ca"], ["corp-ca"]])
        #expect(certificates.map(\.lastUsed) == [Self.daysAgo(2), nil])
        #expect(review.markdown().contains("certificates with principal deploy-web (CAs corp-ca)"))
        #expect(review.csv().contains(",principal:deploy-web,,usersample,deploy,usersample,web-1,") && review.csv().contains(",corp-ca\r\n"))
        #expect(review.json().contains("\"certificate_authorities\" : [") || review.json().contains("\"certificate_authorities\":["))
        #expect(review.html().contains("certificates with principal deploy-web"))
    }

    /// A host whose log was last read long before the rest of the fleet's (it
    /// failed, was left out of runs, or ran --no-last-use), or whose latest
    /// scan could not read its log, has logins nobody saw: never "unused".
    @Test func aHostNotReadWithTheFleetIsNotWatched() throws {
        let fresh = Self.watch("web-1", since: 100)
        for stale in [Self.watch("web-2", since: 100, readDaysAgo: 20), Self.watch("web-2", since: 100, problem: "the log file is gone")] {
            let history = LoginHistory(logins: [], watches: ["web-1": fresh, "web-2": stale])
            let report = try unused("30d", history)
            #expect(report.unused.isEmpty && report.grants.allSatisfy { $0.status == .unobserved })
            #expect(report.grants[0].hosts.map(\.covered) == [true, false])
            let review = try AccessReview(inventory: try inventory(), history: history, now: Self.now)
            #expect(review.rows.filter { $0.host == "web-2" }.allSatisfy { AccessReview.lastUsed($0).contains("not read since") })
            #expect(review.rows.filter { $0.host == "web-1" }.allSatisfy { AccessReview.lastUsed($0).hasPrefix("none since") })
        }
        // The whole fleet last read ten days before the report (a timer that stopped): nobody read since.
        let stopped = LoginHistory(logins: [], watches: ["web-1": Self.watch("web-1", since: 100, readDaysAgo: 10),
                                                        "web-2": Self.watch("web-2", since: 100, readDaysAgo: 10)])
        #expect(try unused("30d", stopped).unused.isEmpty)
        // Within a day of the fleet's freshest read: a daily timer's hosts all count.
        let daily = LoginHistory(logins: [], watches: ["web-1": fresh, "web-2": Self.watch("web-2", since: 100, readDaysAgo: 0.9)])
        #expect(try unused("30d", daily).unused.count == 3)
    }

    func inventory() throws -> Inventory { try InventoryFixtures.load(Self.yaml) }

    func unused(_ window: String, _ history: LoginHistory) throws -> UnusedGrantsReport {
        try UnusedGrantsReport(inventory: try inventory(), history: history, within: try #require(TimeSpec(window, allowingZero: true)),
                               now: Self.now)
    }

    @Test func unusedOnlyWhereWatchedForTheWholeWindow() throws {
        let history = LoginHistory(logins: [Self.login("web-1", InventoryFixtures.aliceFingerprint, daysAgo: 5),
                                            Self.login("web-2", InventoryFixtures.bobFingerprint, daysAgo: 40)],
                                   watches: ["web-1": Self.watch("web-1", since: 100), "web-2": Self.watch("web-2", since: 100)])
        let report = try unused("30d", history)
        #expect(report.grants.map { "\($0.status.rawValue) \($0.grant.key)" } == ["unused bob", "unused carol"])
        #expect(report.grants[0].lastUsed == Self.daysAgo(40))
        #expect(report.grants[1].grant.person == "dana")
        #expect(report.summaryLine == "2 of 3 grants unused since 2026-11-06T12:00:00Z")
        #expect(try unused("60d", history).grants.map(\.grant.key) == ["carol"])

        // web-2 watched only for 10 days: no login seen there, but not claimed unused for 30.
        var short = history
        short.watches["web-2"] = Self.watch("web-2", since: 10)
        let partial = try unused("30d", LoginHistory(logins: short.logins, watches: short.watches))
        #expect(partial.grants.map { "\($0.status.rawValue) \($0.grant.key)" } == ["unobserved bob", "unobserved carol"])
        #expect(partial.grants[0].hosts.map(\.covered) == [true, false])
        #expect(partial.unused.isEmpty)
        // A host never watched, or behind in its log, is not covered either.
        let unwatched = try unused("30d", LoginHistory(logins: [], watches: ["web-1": Self.watch("web-1", since: 100),
                                                                           "web-2": Self.watch("web-2", since: 100, behind: true)]))
        #expect(unwatched.unused.isEmpty && unwatched.grants.count == 3)
        #expect(try unused("30d", LoginHistory(logins: [], watches: [:])).unused.isEmpty)
    }

    /// 0d: the database's present is each host's latest scan; a login that scan read is use.
    @Test func zeroWindowCountsTheLatestScan() throws {
        let history = LoginHistory(logins: [Self.login("web-1", InventoryFixtures.aliceFingerprint, daysAgo: 0.01, run: 7),
                                            Self.login("web-1", InventoryFixtures.bobFingerprint, daysAgo: 0.5, run: 6)],
                                   watches: ["web-1": Self.watch("web-1", since: 1), "web-2": Self.watch("web-2", since: 1)],
                                   latestScanRun: ["web-1": 7, "web-2": 7])
        #expect(try unused("0d", history).grants.map { "\($0.status.rawValue) \($0.grant.key)" } == ["unused bob", "unused carol"])
    }

    @Test func formats() throws {
        let history = LoginHistory(logins: [], watches: ["web-1": Self.watch("web-1", since: 100), "web-2": Self.watch("web-2", since: 100)])
        let report = try unused("30d", history)
        let json = try JSONSerialization.jsonObject(with: Data(ReportFormat.json.render(report).utf8)) as? [String: Any]
        let grants = try #require(json?["grants"] as? [[String: Any]])
        #expect(grants.map { $0["key"] as? String } == ["alice", "bob", "carol"])
        #expect((grants[0]["hosts"] as? [[String: Any]])?.first?["watched_whole_window"] as? Bool == true)
        let csv = ReportFormat.csv.render(report)
        #expect(csv.hasPrefix("status,key,fingerprint,project,role,account,host,last_used,watching_since,watched_whole_window\r\n"))
        #expect(csv.components(separatedBy: "\r\n").count == 1 + 6 + 1)
        #expect(ReportFormat.html.render(report).contains("<td class=\"bad\">unused</td>"))
        #expect(ReportFormat.markdown.render(report).contains("| unused | alice | usersample | deploy | usersample | web-1 web-2 | never seen |"))
        #expect(ReportFormat.prometheus.render(report).contains("keysync_grant_last_used_timestamp_seconds{key=\"alice\""))
    }

    @Test func reviewRowsNameTheInventoryLine() throws {
        let history = LoginHistory(
            logins: [Self.login("web-1", InventoryFixtures.aliceFingerprint, daysAgo: 2)],
            watches: ["web-1": Self.watch("web-1", since: 100)],
            sightings: [Store.HostKey(host: "web-1", account: "usersample", fingerprint: InventoryFixtures.aliceFingerprint,
                                      keyType: "ssh-ed25519", comment: "", managed: true, firstSeenRun: 1, firstSeenAt: Self.daysAgo(50),
                                      lastSeenRun: 2, lastSeenAt: Self.now)])
        let review = try AccessReview(inventory: try inventory(), history: history, now: Self.now)
        #expect(review.rows.map { "\($0.grant.key)@\($0.host):\($0.grant.source?.line ?? 0)" }
                    == ["alice@web-1:18", "alice@web-2:18", "bob@web-1:19", "bob@web-2:19", "carol@web-1:20", "carol@web-2:20"])
        let csv = review.render(.csv).components(separatedBy: "\r\n")
        #expect(csv[1].hasPrefix(",alice,\(InventoryFixtures.aliceFingerprint),usersample,deploy,usersample,web-1,2026-10-17T12:00:00Z,2026-12-04T12:00:00Z,true,2026-08-28T12:00:00Z,,"))
        #expect(csv[5].hasPrefix("dana,carol,"))
        #expect(csv[5].contains(",2027-02-01T00:00:00Z,"))
        let markdown = review.render(.markdown)
        #expect(markdown.contains("| dana (carol) | usersample | deploy | usersample | web-2 | not seen on host | not watched | 2027-02-01T00:00:00Z | inventory.yml:20 |"))
        let json = try JSONSerialization.jsonObject(with: Data(review.render(.json).utf8)) as? [String: Any]
        #expect((json?["rows"] as? [[String: Any]])?.count == 6)
        #expect(review.render(.html).contains("<th>Granted since</th>"))
    }

    @Test func proposedRemovalsAreADiffOfTheLinesThatGrant() throws {
        let inventory = try inventory()
        let text = Self.yaml
        let grants = inventory.accessGrants()
        let removal = GrantRemoval(text: text, removing: grants.filter { $0.key == "bob" || $0.key == "carol" }, allGrants: grants)
        #expect(removal.notes.isEmpty)
        #expect(removal.removed.map(\.key) == ["carol", "bob"])
        let diff = removal.diff(from: text, path: "inventory.yml")
        #expect(diff.split(separator: "\n").filter { $0.first == "-" || $0.first == "+" } == [
            "--- inventory.yml", "+++ inventory.yml (keysync)", "-          - { key: bob, until: 2026-12-31 }",
            "-        people: [dana]", "+        people: []",
        ])
        // The edited inventory still loads, without those grants.
        let edited = try InventoryFixtures.load(removal.text)
        #expect(edited.accessGrants().map(\.key) == ["alice"])
    }

    @Test(arguments: ["\r\n", "\r", "\u{2028}", "\u{85}"])
    func aLineBreakYAMLCountsAboveAGrantRemovesThatGrantNotItsNeighbour(_ lineBreak: String) throws {
        // libyaml ends a line at each of these; a split on Characters (CRLF
        // is one) shifted every later line and removed the key in use.
        let text = Self.yaml.replacingOccurrences(of: "people:\n", with: "# edited on Windows\(lineBreak)people:\n")
        let grants = try InventoryFixtures.load(text).accessGrants()
        let bob = grants.filter { $0.key == "bob" }
        let removal = GrantRemoval(text: text, removing: bob, allGrants: grants)
        #expect(removal.notes.isEmpty && removal.removed.map(\.key) == ["bob"])
        #expect(removal.text == text.replacingOccurrences(of: "          - { key: bob, until: 2026-12-31 }\n", with: ""))
        #expect(try InventoryFixtures.load(removal.text).accessGrants().map(\.key).sorted() == ["alice", "carol"])
    }

    @Test func aGrantIsRemovedOnlyWhereItsNameStands() throws {
        // The inventory changed since it was read: the line at the grant's place names another key.
        let grants = try InventoryFixtures.load(Self.yaml).accessGrants()
        let bob = grants.filter { $0.key == "bob" }
        let edited = Self.yaml.replacingOccurrences(of: "{ key: bob, until", with: "{ key: bobby, until")
        let removal = GrantRemoval(text: edited, removing: bob, allGrants: grants)
        #expect(removal.text == edited && removal.removed.isEmpty)
        #expect(removal.notes.count == 1 && removal.notes[0].contains("the text there is not bob"), "\(removal.notes)")
    }

    @Test func flowListsAndBlockMappingsAndPeopleStillInUse() throws {
        let text = """
            keys: [a, b]
            x:
              keys: [alpha, { key: beta, until: "2026-12-31" }, gamma]
              more:
                - key: delta
                  until: 2026-12-31
                - epsilon
            """
        var lines = text.components(separatedBy: "\n")
        #expect(GrantRemoval.remove(at: GrantSource(line: 3, column: 24), in: &lines) == nil)  // beta
        #expect(lines[2] == "  keys: [alpha, gamma]")
        #expect(GrantRemoval.remove(at: GrantSource(line: 5, column: 12), in: &lines) == nil)  // delta with its until
        #expect(Array(lines[3...]) == ["  more:", "    - epsilon"])
        #expect(GrantRemoval.remove(at: GrantSource(line: 3, column: 10), in: &lines) == nil)  // alpha
        #expect(lines[2] == "  keys: [gamma]")
        #expect(GrantRemoval.remove(at: GrantSource(line: 2, column: 1), in: &lines) != nil)  // not in a list
        var open = ["keys: [alpha,", "  beta]"]
        #expect(GrantRemoval.remove(at: GrantSource(line: 1, column: 8), in: &open) == "the list continues on the next line")

        // A person with two keys, one still used: not removed, said why.
        let person = AccessGrant(project: "p", role: "r", account: "a", key: "k1", fingerprint: "f1", person: "dana", until: nil,
                                 hosts: [], source: GrantSource(line: 1, column: 10, person: "dana"))
        var other = person
        (other.key, other.fingerprint) = ("k2", "f2")
        let removal = GrantRemoval(text: "people: [dana]\n", removing: [person], allGrants: [person, other])
        #expect(removal.text == "people: [dana]\n" && removal.removed.isEmpty)
        #expect(removal.notes == ["p/r: person dana (line 1) still uses k2; unused: k1 (remove it from the person's keys by hand if it is no longer theirs)"])
    }

    @Test func zeroAgeOnlyWhereAllowed() {
        #expect(TimeSpec("0d") == nil)
        #expect(TimeSpec("0d", allowingZero: true) == .ago(0))
    }
}
