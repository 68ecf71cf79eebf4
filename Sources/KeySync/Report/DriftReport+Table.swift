extension DriftReport {
    /// One line per open item (host, account, kind, since, detail), a blank
    /// line, then ``summaryLine``. `colour` adds ANSI colours: bold header
    /// and hosts, kinds red (failures, keys that must not be there) or
    /// yellow, the summary red when a host failed.
    func table(colour: Bool) -> String {
        let summary = TextTable.Cell(summaryLine, style: failedHosts.isEmpty ? nil : "31").rendered(colour: colour)
        guard !openDrift.isEmpty else { return summary }
        var table = TextTable(header: ["HOST", "ACCOUNT", "KIND", "SINCE", "DETAIL"])
        table.rows = openDrift.map { item in
            [TextTable.Cell(item.host, style: "1"), TextTable.Cell(item.account.isEmpty ? "-" : item.account),
             TextTable.Cell(item.kind, style: Self.style(kind: item.kind)), TextTable.Cell(item.since.reportText),
             TextTable.Cell(item.detail)]
        }
        return table.rendered(colour: colour) + "\n\n" + summary
    }

    private static func style(kind: String) -> String {
        let alarming: Set<DriftKind> = [.revokedKey, .unexpectedKey, .unmanagedKey, .hostKeyMismatch, .hostUnreachable,
                                        .authFailed, .sudoFailed, .symlink, .grantExpired]
        return DriftKind(rawValue: kind).map(alarming.contains) == true ? "31" : "33"
    }
}
