import ArgumentParser
import Foundation
import Testing
@testable import KeySync
@testable import KeySyncCLI

/// `keysync report --expiring 14d`: grants that end, from the inventory only.
@Suite struct ExpiringGrantsReportTests {
    static let yaml = """
        \(ReportFixture.grantKeys)
        \(ReportFixture.hosts)
        projects:
          usersample:
            hosts: ["group:web"]
            roles:
              deploy: {account: usersample, keys: [alice, { key: bob, until: 2026-12-10 }]}
          billing:
            hosts: [db-1, web-1]
            roles:
              billing: {keys: [{ key: "carol", until: "2026-12-31T18:00Z" }, { key: bob, until: 2026-12-01 }]}
        """
    static let now = try! Date.ISO8601FormatStyle().parse("2026-12-06T12:00:00Z")

    func report(_ within: String = "14d", projects: [String] = [], hosts: [String] = []) throws -> ExpiringGrantsReport {
        try ExpiringGrantsReport(inventory: try InventoryFixtures.load(Self.yaml), within: try #require(TimeSpec(within)),
                                 projects: projects, hosts: hosts, now: Self.now)
    }

    @Test func listsGrantsEndingInTheWindowAndThoseEnded() throws {
        let report = try report()
        #expect(report.grants.map { "\($0.project)/\($0.role)/\($0.key)" } == ["billing/billing/bob", "usersample/deploy/bob"])
        #expect(report.grants.map(\.ended) == [true, false])
        #expect(report.grants.map(\.hosts) == [2, 2])
        #expect(report.summaryLine == "2 grants end by 2026-12-20T12:00:00Z, 1 of them has already ended")
        #expect(try self.report("30d").grants.count == 3)
        #expect(try self.report("2027-01-01").grants.count == 3)
        #expect(try self.report("2026-12-31").grants.count == 2)
    }

    @Test func selections() throws {
        #expect(try report("30d", projects: ["usersample"]).grants.map(\.key) == ["bob"])
        let db = try report("30d", hosts: ["db-1"])
        #expect(db.grants.map { "\($0.project)/\($0.key)/\($0.hosts)" } == ["billing/bob/1", "billing/carol/1"])
        #expect(throws: InventoryError.self) { try self.report(projects: ["bilink"]) }
        #expect(throws: InventoryError.self) { try self.report(hosts: ["web-9"]) }
    }

    @Test func table() throws {
        #expect(ReportFormat.table.render(try report()) == """
            PROJECT     ROLE     ACCOUNT     KEY  UNTIL                 LEFT              HOSTS
            billing     billing  billing     bob  2026-12-02T00:00:00Z  ended 4d 12h ago  2
            usersample  deploy   usersample  bob  2026-12-11T00:00:00Z  in 4d 12h         2

            2 grants end by 2026-12-20T12:00:00Z, 1 of them has already ended

            """)
        #expect(ReportFormat.table.render(try report("1h", projects: ["usersample"])) == "no grant ends by 2026-12-06T13:00:00Z\n")
        #expect(ReportFormat.table.render(try report(), colour: true).contains("\u{1B}[31mended 4d 12h ago\u{1B}[0m"))
    }

    @Test func json() throws {
        let text = ReportFormat.json.render(try report())
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(document["generated_at"] as? String == "2026-12-06T12:00:00Z")
        #expect(document["ending_by"] as? String == "2026-12-20T12:00:00Z")
        let grants = try #require(document["grants"] as? [[String: Any]])
        #expect(grants.count == 2)
        #expect(grants[1]["project"] as? String == "usersample" && grants[1]["role"] as? String == "deploy")
        #expect(grants[1]["account"] as? String == "usersample" && grants[1]["key"] as? String == "bob")
        #expect(grants[1]["fingerprint"] as? String == InventoryFixtures.bobFingerprint)
        #expect(grants[1]["until"] as? String == "2026-12-11T00:00:00Z")
        #expect(grants[1]["ended"] as? Bool == false && grants[0]["ended"] as? Bool == true)
        #expect(grants[1]["hosts"] as? Int == 2)
    }

    @Test func csvMarkdownAndHTML() throws {
        let report = try report()
        #expect(ReportFormat.csv.render(report) == "project,role,account,key,fingerprint,until,ended,hosts\r\n"
            + "billing,billing,billing,bob,\(InventoryFixtures.bobFingerprint),2026-12-02T00:00:00Z,true,2\r\n"
            + "usersample,deploy,usersample,bob,\(InventoryFixtures.bobFingerprint),2026-12-11T00:00:00Z,false,2\r\n")
        let markdown = ReportFormat.markdown.render(report)
        #expect(markdown.hasPrefix("# keysync grants ending by 2026-12-20T12:00:00Z\n"))
        #expect(markdown.contains("| usersample | deploy | usersample | bob | 2026-12-11T00:00:00Z | in 4d 12h | 2 |\n"))
        let html = ReportFormat.html.render(report)
        #expect(html.contains("default-src 'none'"))
        #expect(html.contains("<td class=\"bad\">ended 4d 12h ago</td>"))
        expectWellFormedXML(html)
    }

    @Test func prometheus() throws {
        let text = ReportFormat.prometheus.render(try report("30d"))
        let samples = try PrometheusExposition.parse(text)
        #expect(samples.map(\.name) == Array(repeating: "keysync_grant_expiry_timestamp_seconds", count: 3))
        #expect(samples.map(\.labels) == [
            ["key": "bob", "project": "billing", "role": "billing"],
            ["key": "bob", "project": "usersample", "role": "deploy"],
            ["key": "carol", "project": "billing", "role": "billing"],
        ])
        #expect(samples.map(\.value) == [1_796_169_600, 1_796_947_200, 1_798_740_000])
        // No grant in the window: the metric's HELP and TYPE, no sample.
        #expect(try PrometheusExposition.parse(ReportFormat.prometheus.render(try report("1h", projects: ["usersample"]))).isEmpty)
    }

    // MARK: The command

    @Test func theCommandNeedsOnlyTheInventory() throws {
        try withTemporaryDirectory { dir in
            try Self.yaml.write(toFile: "\(dir)/inventory.yml", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: "\(dir)/keys", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: InventoryFixtures.directory + "/keys/carol.pub", toPath: "\(dir)/keys/carol.pub")
            let command = try parseCommand(KeySyncCommand.Report.self, [
                "report", "--expiring", "30d", "--inventory", "\(dir)/inventory.yml", "--db", "\(dir)/none.db", "--format", "csv",
            ])
            #expect(command.expiring == "30d")
            #expect(try command.render(now: Self.now).split(separator: "\r\n").count == 4)
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/none.db"))
        }
        #expect(parseError(["report", "--expiring", "soon"]).hasPrefix("--expiring: expected an age such as 30m"))
        #expect(parseError(["report", "--expiring", "14d", "--kind", "file_mode"]) == "--kind selects drift; it does not apply to --expiring")
    }
}
