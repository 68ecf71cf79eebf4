import Foundation

extension DriftReport {
    /// One self-contained page: summary, a drift-over-time chart in inline SVG,
    /// a per-host table and the open items (long text goes in the last column,
    /// the only one that wraps). No scripts, fonts or external assets (a
    /// Content-Security-Policy forbids loading any); every value from the
    /// database is HTML-escaped. The page is also well-formed XML.
    func html() -> String {
        HTMLPage.head(title: "keysync drift report", style: """
        table{border-collapse:collapse;margin-bottom:1.5em}
        th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top;white-space:nowrap}
        td:last-child{white-space:normal}
        th{background:#f3f3f3}
        .cards{display:flex;gap:1em;flex-wrap:wrap}
        .card{border:1px solid #ccc;border-radius:6px;padding:.5em 1em;min-width:8em}
        .card b{display:block;font-size:1.8em}
        .failed,.bad{color:#b00020}
        .drift{color:#a05a00}
        .ok,.changed{color:#1b7a1b}
        code{font-size:.9em}
        """) + """
        <body>
        <h1>keysync drift report</h1>
        <p>Generated \(generatedAt.reportText), history since \(since.reportText). \(summaryLine.htmlEscaped).</p>
        <div class="cards">
        \(card(hosts.count, "hosts"))
        \(card(hostsWithDrift.count, "hosts with drift", bad: !hostsWithDrift.isEmpty))
        \(card(openDrift.count, "open drift items", bad: !openDrift.isEmpty))
        \(card(failedHosts.count, "hosts failed", bad: !failedHosts.isEmpty))
        </div>
        <h2>Drift over time</h2>
        \(chart())
        <h2>Hosts</h2>
        \(hostTable())
        <h2>Open drift</h2>
        \(driftTable())
        </body>
        </html>

        """
    }

    private func card(_ value: Int, _ label: String, bad: Bool = false) -> String {
        "<div class=\"card\"><b\(bad ? " class=\"bad\"" : "")>\(value)</b>\(label)</div>"
    }

    private func table(_ header: [String], _ rows: [[String]]) -> String {
        "<table>\n<tr>" + header.map { "<th>\($0)</th>" }.joined() + "</tr>\n"
            + rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>\n" }.joined() + "</table>"
    }

    private func hostTable() -> String {
        guard !hosts.isEmpty else { return "<p>No host results recorded.</p>" }
        return table(["Host", "Status", "Last result", "Open drift", "Kinds", "Error"], hosts.map { host in
            let status = host.latest.status.rawValue
            return [host.host.htmlEscaped, "<span class=\"\(status)\">\(status)</span>",
                    "run \(host.latest.runID), \(host.latest.recordedAt.reportText)", "\(host.drift.count)",
                    Set(host.drift.map(\.kind)).sorted().map { "<code>\($0.htmlEscaped)</code>" }.joined(separator: " "),
                    (host.latest.error ?? "").htmlEscaped]
        })
    }

    private func driftTable() -> String {
        guard !openDrift.isEmpty else { return "<p>No open drift.</p>" }
        return table(["Host", "Account", "Kind", "Since", "Fingerprint", "Detail"], openDrift.map { item in
            [item.host.htmlEscaped, item.account.isEmpty ? "-" : item.account.htmlEscaped,
             "<code>\(item.kind.htmlEscaped)</code>", "\(item.since.reportText) (run \(item.sinceRunID))",
             item.fingerprint.map { "<code>\($0.htmlEscaped)</code>" } ?? "", item.detail.htmlEscaped]
        })
    }

    /// Open items and hosts with drift after each run, as two polylines with
    /// a point (and tooltip) per run, on a time axis.
    private func chart() -> String {
        // Runs in which every host failed have no drift to plot: told, not drawn as a drop to 0.
        let history = self.history.filter { $0.hostsScanned > 0 }
        let blind = self.history.count - history.count
        let blindText = blind == 0 ? "" : "<p>\(blind.counted("run")) scanned no host (every host failed).</p>"
        guard let first = history.first, let last = history.last else {
            return blind == 0 ? "<p>No runs since \(since.reportText).</p>" : blindText
        }
        let (width, height, left, right, top, bottom) = (720.0, 240.0, 44.0, 12.0, 12.0, 36.0)
        // The y axis goes to an even number (ticks at 0, half and top are whole), at least 2.
        let highest = history.map { max($0.remaining, $0.hostsWithDrift) }.max() ?? 0
        let maximum = Double(max(2, highest + highest % 2))
        let span = last.startedAt.timeIntervalSince(first.startedAt)
        func x(_ date: Date) -> String {
            let fraction = span > 0 ? date.timeIntervalSince(first.startedAt) / span : 0.5
            return Self.coordinate(left + fraction * (width - left - right))
        }
        func y(_ value: Int) -> String { Self.coordinate(height - bottom - Double(value) / maximum * (height - top - bottom)) }
        func series(_ value: (Store.DriftPoint) -> Int, colour: String, dash: String) -> String {
            let points = history.map { "\(x($0.startedAt)),\(y(value($0)))" }.joined(separator: " ")
            return "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash) points=\"\(points)\"/>\n"
                + history.map { point in
                    "<circle cx=\"\(x(point.startedAt))\" cy=\"\(y(value(point)))\" r=\"3\" fill=\"\(colour)\"><title>"
                        + "run \(point.runID) (\(point.command.htmlEscaped)) \(point.startedAt.reportText): "
                        + "\(point.remaining.counted("open item")) on \(point.hostsWithDrift.counted("host")) (\(point.hostsScanned) scanned)"
                        + "</title></circle>\n"
                }.joined()
        }
        let ticks = [0, Int(maximum) / 2, Int(maximum)]
        let axisY = Self.coordinate(height - bottom)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"Open drift items per run\">\n"
            + "<title>Open drift items and hosts with drift per run</title>\n"
        for tick in ticks {
            svg += "<line x1=\"\(Self.coordinate(left))\" y1=\"\(y(tick))\" x2=\"\(Self.coordinate(width - right))\" y2=\"\(y(tick))\" stroke=\"#ddd\"/>"
                + "<text x=\"\(Self.coordinate(left - 6))\" y=\"\(y(tick))\" font-size=\"11\" text-anchor=\"end\" dominant-baseline=\"middle\">\(tick)</text>\n"
        }
        svg += "<text x=\"\(Self.coordinate(left))\" y=\"\(Self.coordinate(height - bottom + 16))\" font-size=\"11\">\(first.startedAt.reportText)</text>\n"
        if span > 0 {
            svg += "<text x=\"\(Self.coordinate(width - right))\" y=\"\(Self.coordinate(height - bottom + 16))\" font-size=\"11\" text-anchor=\"end\">\(last.startedAt.reportText)</text>\n"
        }
        svg += "<line x1=\"\(Self.coordinate(left))\" y1=\"\(axisY)\" x2=\"\(Self.coordinate(width - right))\" y2=\"\(axisY)\" stroke=\"#888\"/>\n"
        svg += series(\.remaining, colour: "#b00020", dash: "")
        svg += series(\.hostsWithDrift, colour: "#1f5fa8", dash: " stroke-dasharray=\"5 3\"")
        svg += "<text x=\"\(Self.coordinate(left + 8))\" y=\"\(Self.coordinate(height - 4))\" font-size=\"11\" fill=\"#b00020\">— open drift items</text>"
            + "<text x=\"\(Self.coordinate(left + 160))\" y=\"\(Self.coordinate(height - 4))\" font-size=\"11\" fill=\"#1f5fa8\">- - hosts with drift</text>\n"
        return svg + "</svg>" + blindText
    }

    /// An SVG coordinate with one decimal, so output is stable.
    private static func coordinate(_ value: Double) -> String { String(format: "%.1f", value) }
}

/// The head every keysync HTML page shares: no scripts, fonts or external
/// assets (a Content-Security-Policy forbids loading any), well-formed XML.
enum HTMLPage {
    /// The style of keysync's table pages (expiring, unused, review).
    static let tableStyle = """
    table{border-collapse:collapse}
    th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;white-space:nowrap}
    th{background:#f3f3f3}
    .bad{color:#b00020}
    .soon{color:#a05a00}
    """

    /// A whole table page (expiring, unused, review): the `heading` and the
    /// `summary` line under it, then a table of `columns` and `rows` (each a
    /// `<tr>` line), or `empty` when there is no row. Every argument is HTML
    /// already (values escaped by the caller).
    static func tablePage(title: String, heading: String, summary: String, columns: [String], rows: [String], empty: String) -> String {
        let header = "<tr>" + columns.map { "<th>\($0)</th>" }.joined() + "</tr>\n"
        return head(title: title, style: tableStyle) + """
        <body>
        <h1>\(heading)</h1>
        <p>\(summary)</p>
        \(rows.isEmpty ? "<p>\(empty)</p>" : "<table>\n" + header + rows.joined() + "</table>")
        </body>
        </html>

        """
    }

    /// `<!DOCTYPE html>` through `</head>`, with the common body style and `style`.
    static func head(title: String, style: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8"/>
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>\(title.htmlEscaped)</title>
        <style>
        body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
        \(style)
        </style>
        </head>

        """
    }
}
