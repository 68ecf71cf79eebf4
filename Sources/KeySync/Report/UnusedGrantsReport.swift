import Foundation

/// `keysync report --unused 90d`: the inventory's grants with no login seen
/// in the window, from the database's record of sshd's logs (issue 21).
///
/// "Unused" is only claimed where it was observed: a grant is `unused` when
/// every one of its hosts was watched for the whole window (its log read
/// through, without a gap) and none logged a login with the key into the
/// role account. When no login was seen but some host was not watched for
/// the whole window, the grant is `unobserved`, listed with since when each
/// host is watched, and never called unused. Render it with
/// ``ReportFormat``'s `render(_:colour:)`.
public struct UnusedGrantsReport: Sendable {
    /// Use of one grant on one host.
    public struct HostUse: Hashable, Sendable {
        public var host: String
        /// The last login with the key into the account seen there, any time.
        public var lastUsed: Date?
        /// `lastUsed` is the log line's own time (false: the time of the scan that read it, an upper bound).
        public var lastExact: Bool
        /// Every login on the host since then was read; nil: its log was never read.
        public var watchingSince: Date?
        /// Up to when (the last scan that read the log through); nil: never.
        public var readUntil: Date? = nil
        /// The whole window was watched on this host, and its log read as recently as the rest of the fleet's.
        public var covered: Bool
    }

    public enum Status: String, Sendable {
        /// No login in the window, and every host was watched for all of it.
        case unused
        /// No login seen, but not every host was watched for the whole window.
        case unobserved
    }

    /// A grant listed: no login with it in the window.
    public struct Grant: Hashable, Sendable {
        public var grant: AccessGrant
        public var status: Status
        public var hosts: [HostUse]
        /// The newest login on any host, before the window.
        public var lastUsed: Date? { hosts.compactMap(\.lastUsed).max() }
        /// The latest start of watching over its hosts (nil: a host never watched).
        public var watchingSince: Date? {
            hosts.contains { $0.watchingSince == nil } ? nil : hosts.compactMap(\.watchingSince).max()
        }
    }

    public var generatedAt: Date
    /// Logins at or after this moment count as use (and logins the latest scan of a host read).
    public var windowStart: Date
    /// In inventory order; `unused` and `unobserved` ones.
    public var grants: [Grant]
    /// Grants looked at (used ones are not listed).
    public var examined: Int

    public init(generatedAt: Date, windowStart: Date, grants: [Grant], examined: Int) {
        (self.generatedAt, self.windowStart, self.grants, self.examined) = (generatedAt, windowStart, grants, examined)
    }

    /// The grants of `inventory` (`projects`, `hosts`: empty for all; unknown
    /// names throw) with no login in the window `within` back from `now`.
    public init(inventory: Inventory, history: LoginHistory, within: TimeSpec, projects: [String] = [], hosts: [String] = [],
                now: Date = Date()) throws(InventoryError) {
        _ = try inventory.select(projects: projects, hosts: hosts)
        let start = within.date(relativeTo: now)
        let hostSet = Set(hosts)
        var listed: [Grant] = [], examined = 0
        for grant in inventory.accessGrants(projects: projects) {
            let onHosts = hostSet.isEmpty ? grant.hosts : grant.hosts.filter(hostSet.contains)
            guard !onHosts.isEmpty else { continue }
            examined += 1
            var uses: [HostUse] = [], used = false
            for host in onHosts {
                let login = history.login(host: host, account: grant.account, fingerprint: grant.fingerprint)
                if let login, history.isRecent(login, since: start) { used = true; break }
                let watch = history.watches[host]
                uses.append(HostUse(host: host, lastUsed: login?.lastLoginAt, lastExact: login?.lastExact ?? true,
                                    watchingSince: watch?.watchingSince, readUntil: watch?.readUntil,
                                    covered: history.covers(host: host, since: start, now: now)))
            }
            guard !used else { continue }
            listed.append(Grant(grant: grant, status: uses.allSatisfy(\.covered) ? .unused : .unobserved, hosts: uses))
        }
        self.init(generatedAt: now, windowStart: start, grants: listed, examined: examined)
    }

    public var unused: [Grant] { grants.filter { $0.status == .unused } }

    /// `2 of 5 grants unused since …; 1 more not watched long enough to tell`.
    public var summaryLine: String {
        let unusedCount = unused.count, unobserved = grants.count - unusedCount
        var text = "\(unusedCount) of \(examined.counted("grant")) unused since \(windowStart.reportText)"
        if unobserved > 0 {
            text += "; \(unobserved) more with no login seen, but not watched since then on every host (see WATCHING SINCE)"
        }
        return text
    }

    static func hostList(_ grant: Grant) -> String { grant.hosts.map(\.host).joined(separator: " ") }

    static func date(_ date: Date?, exact: Bool = true) -> String {
        guard let date else { return "-" }
        return exact ? date.reportText : "≤ " + date.reportText
    }

    static func lastUsed(_ grant: Grant) -> String {
        guard let use = grant.hosts.filter({ $0.lastUsed != nil }).max(by: { $0.lastUsed! < $1.lastUsed! }) else { return "never seen" }
        return date(use.lastUsed, exact: use.lastExact)
    }

    /// `h1 2026-12-01T…, h2 never`: since when each host is watched, and up to
    /// when for a host whose log was not read with the rest of the fleet's.
    static func watching(_ grant: Grant) -> String {
        grant.hosts.map { use in
            guard let since = use.watchingSince else { return "\(use.host) not watched" }
            let until = use.covered ? "" : use.readUntil.map { " (read until \($0.reportText))" } ?? " (not read through)"
            return "\(use.host) \(since.reportText)\(until)"
        }.joined(separator: ", ")
    }

    // MARK: Formats

    func table(colour: Bool) -> String {
        let summary = TextTable.Cell(summaryLine).rendered(colour: colour)
        guard !grants.isEmpty else { return summary }
        var table = TextTable(header: ["STATUS", "KEY", "PROJECT", "ROLE", "ACCOUNT", "HOSTS", "LAST USED", "WATCHING SINCE"])
        table.rows = grants.map { item in
            [TextTable.Cell(item.status.rawValue, style: item.status == .unused ? "31" : "33"), TextTable.Cell(item.grant.key, style: "1"),
             TextTable.Cell(item.grant.project), TextTable.Cell(item.grant.role), TextTable.Cell(item.grant.account),
             TextTable.Cell(Self.hostList(item)), TextTable.Cell(Self.lastUsed(item)), TextTable.Cell(Self.watching(item))]
        }
        return table.rendered(colour: colour) + "\n\n" + summary
    }

    /// The `--format json` document; field names are a contract (docs/reports.md).
    struct JSONDocument: Encodable {
        // Every documented key is always there: null when empty.
        struct Host: Encodable {
            let host: String
            @NullWhenNil var last_used: Date?
            let last_used_exact: Bool
            @NullWhenNil var watching_since: Date?
            @NullWhenNil var read_until: Date?
            let watched_whole_window: Bool
        }
        struct Item: Encodable {
            let status, key, fingerprint, project, role, account: String
            @NullWhenNil var person: String?
            @NullWhenNil var until: Date?
            let hosts: [Host]
        }
        let generated_at, window_start: Date
        let examined: Int
        let grants: [Item]
    }

    var jsonDocument: JSONDocument {
        JSONDocument(generated_at: generatedAt, window_start: windowStart, examined: examined, grants: grants.map { item in
            .init(status: item.status.rawValue, key: item.grant.key, fingerprint: item.grant.fingerprint, project: item.grant.project,
                  role: item.grant.role, account: item.grant.account, person: item.grant.person, until: item.grant.until,
                  hosts: item.hosts.map {
                      .init(host: $0.host, last_used: $0.lastUsed, last_used_exact: $0.lastExact, watching_since: $0.watchingSince,
                            read_until: $0.readUntil, watched_whole_window: $0.covered)
                  })
        })
    }

    private static let columns = ["Status", "Key", "Project", "Role", "Account", "Hosts", "Last used", "Watching since"]

    private func cells(_ item: Grant) -> [String] {
        [item.status.rawValue, item.grant.key, item.grant.project, item.grant.role, item.grant.account,
         Self.hostList(item), Self.lastUsed(item), Self.watching(item)]
    }

    func markdown() -> String {
        let out = "# keysync grants unused since \(windowStart.reportText)\n\nGenerated \(generatedAt.reportText). \(summaryLine.markdownEscaped).\n"
        guard !grants.isEmpty else { return out }
        return out + "\n" + markdownTable(Self.columns, grants.map { cells($0).map(\.markdownEscaped) })
    }

    func csv() -> String {
        let header = ["status", "key", "fingerprint", "project", "role", "account", "host", "last_used", "watching_since", "watched_whole_window"]
        var records = [header]
        for item in grants {
            for host in item.hosts {
                records.append([item.status.rawValue, item.grant.key, item.grant.fingerprint, item.grant.project, item.grant.role,
                                item.grant.account, host.host, host.lastUsed?.reportText ?? "", host.watchingSince?.reportText ?? "",
                                host.covered ? "true" : "false"])
            }
        }
        return records.map { $0.map(\.csvField).joined(separator: ",") + "\r\n" }.joined()
    }

    /// One self-contained page (no scripts or outside assets; every value escaped).
    func html() -> String {
        let rows = grants.map { item in
            "<tr>" + cells(item).enumerated().map { index, text in
                index == 0 ? "<td class=\"\(item.status == .unused ? "bad" : "soon")\">\(text.htmlEscaped)</td>" : "<td>\(text.htmlEscaped)</td>"
            }.joined() + "</tr>\n"
        }
        return HTMLPage.tablePage(title: "keysync unused grants", heading: "keysync grants unused since \(windowStart.reportText)",
                                  summary: "Generated \(generatedAt.reportText). \(summaryLine.htmlEscaped).",
                                  columns: Self.columns, rows: rows, empty: "Every grant was used in this window.")
    }

    /// node_exporter textfile format: the last use of each grant listed (0: never seen).
    func prometheus() -> String {
        PrometheusGauge(name: "keysync_grant_last_used_timestamp_seconds",
                        help: "Last login seen with a granted key (0: none seen); only grants unused in the window.",
                        samples: grants.map { item in
            .init(labels: [("key", item.grant.key), ("project", item.grant.project), ("role", item.grant.role), ("status", item.status.rawValue)],
                  value: "\(Int64((item.lastUsed?.timeIntervalSince1970 ?? 0).rounded(.down)))")
        }).text
    }
}
