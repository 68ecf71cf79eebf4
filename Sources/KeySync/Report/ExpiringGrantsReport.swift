import Foundation

/// `keysync report --expiring 14d`: the inventory's grants that end by a
/// moment, and those that have already ended (still in the inventory: time
/// to remove them). From the inventory only; no database, no SSH. Render it
/// with ``ReportFormat``'s `render(_:colour:)`.
public struct ExpiringGrantsReport: Sendable {
    /// One grant, with when it ends: the inventory's ``TimedGrant`` (its
    /// project, role, account, key, fingerprint and `until` read through)
    /// judged at ``ExpiringGrantsReport/generatedAt``.
    @dynamicMemberLookup
    public struct Grant: Hashable, Sendable {
        public var grant: TimedGrant
        /// It ended at or before ``ExpiringGrantsReport/generatedAt``.
        public var ended: Bool
        /// Hosts it applies to (within the host selection).
        public var hosts: Int

        public subscript<Value>(dynamicMember field: KeyPath<TimedGrant, Value>) -> Value { grant[keyPath: field] }
    }

    /// When the report was made: grants are judged at this moment.
    public var generatedAt: Date
    /// Grants ending at or before this moment are listed.
    public var horizon: Date
    /// Soonest end first (then project, role, key).
    public var grants: [Grant]

    /// A report from already chosen grants.
    public init(generatedAt: Date, horizon: Date, grants: [Grant]) {
        (self.generatedAt, self.horizon, self.grants) = (generatedAt, horizon, grants)
    }

    /// The grants of `inventory` ending by `within` (an age counts forward
    /// from `now`), restricted to `projects` and to grants on `hosts` (empty:
    /// all). Unknown names throw ``InventoryError/unknownSelection(_:)``.
    public init(inventory: Inventory, within: TimeSpec, projects: [String] = [], hosts: [String] = [],
                now: Date = Date()) throws(InventoryError) {
        _ = try inventory.select(projects: projects, hosts: hosts)  // names every unknown project and host
        let horizon: Date
        switch within {
        case .ago(let age): horizon = now.addingTimeInterval(age)
        case .date(let date): horizon = date
        }
        let hostSet = Set(hosts), projectSet = Set(projects)
        let grants = inventory.timedGrants.compactMap { grant -> Grant? in
            guard grant.until <= horizon, projectSet.isEmpty || projectSet.contains(grant.project) else { return nil }
            let count = hostSet.isEmpty ? grant.hosts.count : grant.hosts.filter(hostSet.contains).count
            guard count > 0 || hostSet.isEmpty else { return nil }
            return Grant(grant: grant, ended: grant.until <= now, hosts: count)
        }.sorted { ($0.until, $0.project, $0.role, $0.key) < ($1.until, $1.project, $1.role, $1.key) }
        self.init(generatedAt: now, horizon: horizon, grants: grants)
    }

    /// `2 grants end by 2026-12-20T12:00:00Z, 1 of them has already ended`.
    public var summaryLine: String {
        let ended = grants.filter(\.ended).count
        guard !grants.isEmpty else { return "no grant ends by \(horizon.reportText)" }
        return "\(grants.count.counted("grant")) end\(grants.count == 1 ? "s" : "") by \(horizon.reportText)"
            + (ended == 0 ? "" : ", \(ended) of them \(ended == 1 ? "has" : "have") already ended")
    }

    /// `in 3d 4h`, `in 45m`, `ended 2d 1h ago`: the time from `generatedAt` to the end.
    func left(_ grant: Grant) -> String {
        let seconds = Int(abs(grant.until.timeIntervalSince(generatedAt)))
        let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60)
        let text = days > 0 ? "\(days)d \(hours)h" : hours > 0 ? "\(hours)h \(minutes)m" : "\(minutes)m"
        return grant.ended ? "ended \(text) ago" : "in \(text)"
    }

    // MARK: Formats

    func table(colour: Bool) -> String {
        let summary = TextTable.Cell(summaryLine).rendered(colour: colour)
        guard !grants.isEmpty else { return summary }
        var table = TextTable(header: ["PROJECT", "ROLE", "ACCOUNT", "KEY", "UNTIL", "LEFT", "HOSTS"])
        table.rows = grants.map { grant in
            [TextTable.Cell(grant.project, style: "1"), TextTable.Cell(grant.role), TextTable.Cell(grant.account),
             TextTable.Cell(grant.key), TextTable.Cell(grant.until.reportText),
             TextTable.Cell(left(grant), style: grant.ended ? "31" : "33"), TextTable.Cell("\(grant.hosts)")]
        }
        return table.rendered(colour: colour) + "\n\n" + summary
    }

    /// The `--format json` document; field names are a contract (docs/reports.md).
    struct JSONDocument: Encodable {
        struct Item: Encodable {
            let project, role, account, key, fingerprint: String
            let until: Date, ended: Bool, hosts: Int
        }
        let generated_at, ending_by: Date
        let grants: [Item]
    }

    var jsonDocument: JSONDocument {
        JSONDocument(generated_at: generatedAt, ending_by: horizon, grants: grants.map {
            .init(project: $0.project, role: $0.role, account: $0.account, key: $0.key, fingerprint: $0.fingerprint,
                  until: $0.until, ended: $0.ended, hosts: $0.hosts)
        })
    }

    func markdown() -> String {
        let out = "# keysync grants ending by \(horizon.reportText)\n\nGenerated \(generatedAt.reportText). \(summaryLine.markdownEscaped).\n"
        guard !grants.isEmpty else { return out }
        return out + "\n" + markdownTable(["Project", "Role", "Account", "Key", "Until", "Left", "Hosts"], grants.map { grant in
            [grant.project, grant.role, grant.account, grant.key, grant.until.reportText, left(grant), "\(grant.hosts)"].map(\.markdownEscaped)
        })
    }

    func csv() -> String {
        let header = ["project", "role", "account", "key", "fingerprint", "until", "ended", "hosts"]
        let records = [header] + grants.map {
            [$0.project, $0.role, $0.account, $0.key, $0.fingerprint, $0.until.reportText, $0.ended ? "true" : "false", "\($0.hosts)"]
        }
        return records.map { $0.map(\.csvField).joined(separator: ",") + "\r\n" }.joined()
    }

    /// One self-contained page (no scripts or outside assets; every value escaped).
    func html() -> String {
        let rows = grants.map { grant in
            "<tr>" + [grant.project, grant.role, grant.account, grant.key, grant.until.reportText].map { "<td>\($0.htmlEscaped)</td>" }.joined()
                + "<td class=\"\(grant.ended ? "bad" : "soon")\">\(left(grant).htmlEscaped)</td><td>\(grant.hosts)</td></tr>\n"
        }
        return HTMLPage.tablePage(title: "keysync grants ending", heading: "keysync grants ending by \(horizon.reportText)",
                                  summary: "Generated \(generatedAt.reportText). \(summaryLine.htmlEscaped).",
                                  columns: ["Project", "Role", "Account", "Key", "Until", "Left", "Hosts"], rows: rows,
                                  empty: "No grant ends in this window.")
    }

    /// node_exporter textfile format: one sample per grant listed.
    func prometheus() -> String {
        PrometheusGauge(name: "keysync_grant_expiry_timestamp_seconds", help: "End of a key grant (inventory until:), as a Unix time.",
                        samples: grants.map { grant in
            .init(labels: [("key", grant.key), ("project", grant.project), ("role", grant.role)],
                  value: "\(Int64(grant.until.timeIntervalSince1970.rounded(.down)))")
        }).text
    }
}
