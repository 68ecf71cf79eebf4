import Foundation
import Testing
@testable import KeySync

/// The HTML report from a real push/check, rendered by headless Chromium
/// (issue 7): the page loads, shows the hosts and drift kinds, and a
/// screenshot is taken.
@Suite struct ReportBrowserTests {
    @Test func htmlReportRendersInHeadlessChromium() throws {
        let fleet = try TestFleet.shared(minimumHosts: 62)
        let hosts = [60, 61]
        try fleet.removeAccounts(on: hosts)
        let workspace = try Workspace()
        try workspace.generateKey("kp-usersample")
        try workspace.write("inventory.yml", fleet.inventory(
            hosts: hosts, projects: fleet.usersampleProject(hosts: hosts, ["create: true", "keys: [kp-usersample]"])))
        let inventory = try Inventory.load(path: workspace.file("inventory.yml"))
        let store = try Store(path: workspace.file("keysync.db"))
        let push = SyncRun(inventory: inventory, targets: try inventory.select(), settings: SyncEngine.Settings(mode: .push))
        #expect(try push.execute(store: store).summary.failed == 0)
        try fleet.exec(host: 61, ["usermod", "-L", "usersample"])
        try fleet.exec(host: 61, ["chmod", "0755", "/home/usersample/.ssh"])
        let check = SyncRun(inventory: inventory, targets: try inventory.select(), settings: SyncEngine.Settings(mode: .check))
        #expect(try check.execute(store: store).summary.drift == 1)

        let html = workspace.file("report.html")
        let keysync = TestFleet.repositoryRoot.appendingPathComponent(".build/debug/keysync").path
        let report = try TestFleet.run([keysync, "report", "--db", workspace.file("keysync.db"), "--format", "html", "--output", html])
        #expect(report.succeeded, "\(report)")

        let page = try Chromium.render(html, in: workspace, size: "1200,1400")
        for expected in ["h60", "h61", "account_locked", "dir_mode", "<svg"] {
            #expect(page.dom.contains(expected), "the rendered page lacks \(expected)")
        }
        #expect(page.console.isEmpty, "console: \(page.console)")
    }
}
