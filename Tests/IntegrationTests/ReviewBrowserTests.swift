import Foundation
import Testing
@testable import KeySync

/// The `keysync review` HTML page from a real push, logins and check (issue
/// 21), rendered by headless Chromium like the drift report
/// (ReportBrowserTests): the page loads with no console message (no
/// script, no blocked resource), shows the grants and their last use, and a
/// screenshot is taken. Host 165 (LastUseTests' range).
@Suite struct ReviewBrowserTests {
    @Test func reviewPageRendersInHeadlessChromiumWithoutConsoleErrors() throws {
        let fleet = try TestFleet.shared(minimumHosts: 170)
        let host = 165
        try fleet.reset(hosts: [host])
        #expect(try TestFleet.run([TestFleet.script, "authlog", String(host)], timeout: 120).succeeded)
        let workspace = try Workspace()
        for name in ["kp-alice", "kp-deploy"] { try workspace.generateKey(name) }
        try workspace.write("inventory.yml", fleet.inventory(
            keys: ["kp-alice: { file: kp-alice.pub }", "kp-deploy: { file: kp-deploy.pub }"],
            sections: "people:\n  alice: { keys: [kp-alice], until: 2027-03-31 }", hosts: [host],
            projects: fleet.usersampleProject(hosts: [host], ["create: true", "keys: [kp-deploy]", "people: [alice]"])))
        let inventory = try Inventory.load(path: workspace.file("inventory.yml"))
        let store = try Store(path: workspace.file("keysync.db"))
        for mode in [SyncEngine.Mode.push, .check] {
            if mode == .check { #expect(try fleet.login(host: host, user: "usersample", key: workspace.file("kp-alice")).succeeded) }
            var run = SyncRun(inventory: inventory, targets: try inventory.select(), settings: SyncEngine.Settings(mode: mode))
            run.readsLogins = true
            #expect(try run.execute(store: store).summary.failed == 0)
        }

        let html = workspace.file("review.html")
        let review = try TestFleet.run([KeySyncProcess.binary, "review", "--format", "html", "--output", html,
                                        "--db", workspace.file("keysync.db"), "--inventory", workspace.file("inventory.yml")])
        #expect(review.succeeded, "\(review)")

        let page = try Chromium.render(html, in: workspace, size: "1400,900")
        for expected in ["keysync access review", "alice (kp-alice)", "kp-deploy", "h\(host)", "inventory.yml:", "2027-04-01T00:00:00Z",
                         "<th>Last used</th>", "none since", "≤ "] {
            #expect(page.dom.contains(expected), "the rendered page lacks \(expected)")
        }
        #expect(page.console.isEmpty, "console: \(page.console)")
    }
}
