extension DriftReport {
    /// A heading, the summary, open drift per host and account, and failed hosts.
    func markdown() -> String {
        func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |\n" }
        var out = "# keysync drift report\n\n"
        out += "Generated \(generatedAt.reportText), history since \(since.reportText).\n\n"
        out += summaryLine.markdownEscaped + ".\n"
        if !openDrift.isEmpty {
            out += "\n## Open drift\n\n" + row(["Host", "Account", "Kind", "Since", "Detail"]) + row(Array(repeating: "---", count: 5))
            for item in openDrift {
                out += row([item.host, item.account.isEmpty ? "-" : item.account, item.kind, item.since.reportText, item.detail]
                    .map(\.markdownEscaped))
            }
        }
        if !failedHosts.isEmpty {
            out += "\n## Failed hosts\n\n" + row(["Host", "Run", "Error"]) + row(Array(repeating: "---", count: 3))
            for host in failedHosts {
                out += row([host.host.markdownEscaped, "\(host.latest.runID)", (host.latest.error ?? "").markdownEscaped])
            }
        }
        return out
    }
}
