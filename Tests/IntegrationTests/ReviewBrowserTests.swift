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
        try workspace.write("inventory.yml", """
            \(fleet.inventoryDefaults())
            keys:
              kp-alice: { file: kp-alice.pub }
              kp-deploy: { file: kp-deploy.pub }
            people:
              alice: { keys: [kp-alice], until: 2027-03-31 }
            hosts:
            \(fleet.inventoryHosts([host]))
            projects:
              usersample:
                hosts: [h\(host)]
                roles:
                  deploy: { account: usersample, create: true, keys: [kp-deploy], people: [alice] }
            """)
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

        let chromium = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--enable-logging=stderr", "--v=0", "--user-data-dir=\(workspace.file("chromium"))"]
        let dom = try TestFleet.run(chromium + ["--dump-dom", "file://\(html)"], timeout: 120)
        #expect(dom.succeeded, "\(dom.stderr)")
        for expected in ["keysync access review", "alice (kp-alice)", "kp-deploy", "h\(host)", "inventory.yml:", "2027-04-01T00:00:00Z",
                         "<th>Last used</th>", "none since"] {
            #expect(dom.stdout.contains(expected), "the rendered page lacks \(expected)")
        }
        // Console messages (errors, CSP violations) are logged as `CONSOLE(…)` with --enable-logging.
        let console = dom.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Refused to") || $0.contains("Uncaught") }
        #expect(console.isEmpty, "console: \(console)")
        let png = workspace.file("review.png")
        let shot = try TestFleet.run(chromium + ["--window-size=1400,900", "--screenshot=\(png)", "file://\(html)"], timeout: 120)
        #expect(shot.succeeded, "\(shot.stderr)")
        let image = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(image.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG screenshot")
        #expect(image.count > 10_000, "a page with content, not a blank image (\(image.count) bytes)")
        if let keep = ProcessInfo.processInfo.environment["KEYSYNC_KEEP_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(atPath: png, toPath: keep)
        }
    }
}
