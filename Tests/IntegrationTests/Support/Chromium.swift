import Foundation
import Testing

/// Headless Chromium for the HTML report tests (ReportBrowserTests,
/// ReviewBrowserTests): the rendered DOM, the console messages, a screenshot.
enum Chromium {
    struct Page {
        /// The DOM after rendering (`--dump-dom`).
        var dom: String
        /// Console messages and blocked loads (`CONSOLE(…)`, `Refused to …`, `Uncaught …`): none on a good page.
        var console: [String]
    }

    /// Renders `html` (a file), checks that it loads and that a screenshot of
    /// `size` is a PNG with content; `KEYSYNC_KEEP_SCREENSHOT=FILE` keeps it.
    static func render(_ html: String, in workspace: Workspace, size: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Page {
        let chromium = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--enable-logging=stderr", "--v=0", "--user-data-dir=\(workspace.file("chromium"))"]
        let dom = try TestFleet.run(chromium + ["--dump-dom", "file://\(html)"], timeout: 120)
        #expect(dom.succeeded, "\(dom.stderr)", sourceLocation: sourceLocation)
        let png = workspace.file("page.png")
        let shot = try TestFleet.run(chromium + ["--window-size=\(size)", "--screenshot=\(png)", "file://\(html)"], timeout: 120)
        #expect(shot.succeeded, "\(shot.stderr)", sourceLocation: sourceLocation)
        let image = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(image.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG screenshot", sourceLocation: sourceLocation)
        #expect(image.count > 10_000, "a page with content, not a blank image (\(image.count) bytes)", sourceLocation: sourceLocation)
        if let keep = ProcessInfo.processInfo.environment["KEYSYNC_KEEP_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(atPath: png, toPath: keep)
        }
        let console = (dom.stderr + "\n" + shot.stderr).split(separator: "\n")
            .filter { $0.contains("CONSOLE") || $0.contains("Refused to") || $0.contains("Uncaught") }.map(String.init)
        return Page(dom: dom.stdout, console: console)
    }
}
