import Foundation

/// `keysync review`: an access review an auditor can sign off, from the
/// inventory and the database (issue 21). One row per grant and host: person
/// (or key) → role account → host → granted since → last used → expires
/// (`until`) → the line of the inventory that grants it.
public struct AccessReview: Sendable {
    public struct Row: Hashable, Sendable {
        public var grant: AccessGrant
        public var host: String
        /// When keysync first saw the key in the account's file on the host (nil: never seen there).
        public var grantedSince: Date?
        /// The last login with the key into the account there (nil: none seen).
        public var lastUsed: Date?
        /// `lastUsed` is the log line's own time; false: the scan's (an upper bound).
        public var lastExact: Bool
        /// Since when every login on the host was read (nil: its log was never read).
        public var watchingSince: Date?
        /// Up to when; and whether that is as recent as the rest of the fleet's
        /// reads (false: the host failed, was left out or could not read its log).
        public var readUntil: Date? = nil
        public var watched = false
        /// A certificate grant (a role's principal): the CAs the host trusts,
        /// any of which can sign it (`TrustedUserCAKeys` is host-wide); nil
        /// for a key grant. Its last use is the last certificate login into
        /// the account on the host (sshd logs the key ID, not the principal).
        public var certificateAuthorities: [String]? = nil
    }

    public var generatedAt: Date
    /// The inventory file, as the source column names it.
    public var inventoryPath: String
    public var rows: [Row]

    public init(generatedAt: Date, inventoryPath: String, rows: [Row]) {
        (self.generatedAt, self.inventoryPath, self.rows) = (generatedAt, inventoryPath, rows)
    }

    /// The review of `inventory`'s grants (`projects`: empty for all; an unknown name throws).
    public init(inventory: Inventory, history: LoginHistory, projects: [String] = [], now: Date = Date()) throws(InventoryError) {
        _ = try inventory.select(projects: projects)
        var rows: [Row] = []
        for grant in inventory.accessGrants(projects: projects) {
            for host in grant.hosts {
                let login = history.login(host: host, account: grant.account, fingerprint: grant.fingerprint)
                rows.append(Row(grant: grant, host: host,
                                grantedSince: history.firstSeen(host: host, account: grant.account, fingerprint: grant.fingerprint),
                                lastUsed: login?.lastLoginAt, lastExact: login?.lastExact ?? true,
                                watchingSince: history.watches[host]?.watchingSince, readUntil: history.watches[host]?.readUntil,
                                watched: history.covers(host: host, since: nil, now: now)))
            }
        }
        rows += Self.certificateRows(inventory: inventory, history: history, projects: projects, now: now)
        self.init(generatedAt: now, inventoryPath: inventory.path, rows: rows)
    }

    /// One row per role principal and host (review s13: certificate access
    /// had no row): a certificate from any CA the host trusts with that
    /// principal logs in as the role's account.
    static func certificateRows(inventory: Inventory, history: LoginHistory, projects: [String], now: Date) -> [Row] {
        let wanted = Set(projects)
        // The newest certificate login per host and account, found in one pass over the history.
        var lastCertificateLogin: [String: Store.KeyLogin] = [:]
        for login in history.logins where login.certificateID != nil {
            let id = login.host + "\u{0}" + login.account
            if lastCertificateLogin[id].map({ $0.lastLoginAt < login.lastLoginAt }) ?? true { lastCertificateLogin[id] = login }
        }
        var rows: [Row] = []
        for project in inventory.projects where wanted.isEmpty || wanted.contains(project.name) {
            for role in project.roles where !role.principals.isEmpty {
                for host in project.hosts {
                    let cas = inventory.trustedCAs(onHost: host)
                    let last = lastCertificateLogin[host + "\u{0}" + role.account]
                    for principal in role.principals {
                        let grant = AccessGrant(project: project.name, role: role.name, account: role.account, key: "principal:" + principal,
                                                fingerprint: "", person: nil, until: nil, hosts: project.hosts, source: nil)
                        rows.append(Row(grant: grant, host: host, grantedSince: nil, lastUsed: last?.lastLoginAt, lastExact: last?.lastExact ?? true,
                                        watchingSince: history.watches[host]?.watchingSince, readUntil: history.watches[host]?.readUntil,
                                        watched: history.covers(host: host, since: nil, now: now), certificateAuthorities: cas))
                    }
                }
            }
        }
        return rows
    }

    /// `alice (kp-alice)` or `kp-deploy`; a certificate grant:
    /// `certificates with principal P (CAs a, b)`.
    static func who(_ row: Row) -> String {
        if let cas = row.certificateAuthorities {
            return "certificates with principal \(row.grant.key.dropFirst("principal:".count)) (CAs \(cas.isEmpty ? "none" : cas.joined(separator: ", ")))"
        }
        return row.grant.person.map { "\($0) (\(row.grant.key))" } ?? row.grant.key
    }

    /// `inventory.yml:12`.
    func source(_ grant: AccessGrant) -> String {
        let file = (inventoryPath as NSString).lastPathComponent
        return grant.source.map { "\(file):\($0.line)" } ?? file
    }

    /// `never seen (watching since …)` when there is no login.
    static func lastUsed(_ row: Row) -> String {
        if let used = row.lastUsed { return row.lastExact ? used.reportText : "≤ " + used.reportText }
        guard let since = row.watchingSince else { return "not watched" }
        guard row.watched else {
            return "none seen \(since.reportText) to \(row.readUntil?.reportText ?? "-") (not read since)"
        }
        return "none since \(since.reportText)"
    }

    private func cells(_ row: Row) -> [String] {
        [Self.who(row), row.grant.project, row.grant.role, row.grant.account, row.host,
         row.grantedSince?.reportText ?? "not seen on host", Self.lastUsed(row), row.grant.until?.reportText ?? "-", source(row.grant)]
    }

    private static let columns = ["Person or key", "Project", "Role", "Account", "Host", "Granted since", "Last used", "Expires", "Source"]

    public var summaryLine: String {
        let grants = Set(rows.map { "\($0.grant.project)\u{0}\($0.grant.role)\u{0}\($0.grant.key)" }).count
        let used = rows.filter { $0.lastUsed != nil }.count
        return "\(grants.counted("grant")) on \(rows.count.counted("host account")), \(used) with a login seen"
    }

    public func markdown() -> String {
        let out = "# keysync access review\n\nGenerated \(generatedAt.reportText) from \(inventoryPath.markdownEscaped). \(summaryLine.markdownEscaped).\n"
        guard !rows.isEmpty else { return out }
        return out + "\n" + markdownTable(Self.columns, rows.map { cells($0).map(\.markdownEscaped) })
    }

    public func csv() -> String {
        let header = ["person", "key", "fingerprint", "project", "role", "account", "host", "granted_since", "last_used", "last_used_exact",
                      "watching_since", "until", "source_file", "source_line", "certificate_authorities"]
        let records: [[String]] = [header] + rows.map { row -> [String] in
            let grant = row.grant
            let who: [String] = [grant.person ?? "", grant.key, grant.fingerprint, grant.project, grant.role, grant.account, row.host]
            let when: [String] = [row.grantedSince?.reportText ?? "", row.lastUsed?.reportText ?? "", row.lastExact ? "true" : "false",
                                  row.watchingSince?.reportText ?? "", grant.until?.reportText ?? ""]
            let source: [String] = [inventoryPath, grant.source.map { "\($0.line)" } ?? "", row.certificateAuthorities?.joined(separator: " ") ?? ""]
            return who + when + source
        }
        return records.map { $0.map(\.csvField).joined(separator: ",") + "\r\n" }.joined()
    }

    /// `{"generated_at", "inventory", "rows": [{"person", "key", "fingerprint", "project", "role", "account", "host",
    /// "granted_since", "last_used", "last_used_exact", "watching_since", "read_until", "watched", "until", "source_line",
    /// "certificate_authorities"}]}`;
    /// every key is always present (null when empty).
    public func json() -> String {
        // Every documented key is always there: null when empty.
        struct Item: Encodable {
            @NullWhenNil var person: String?
            let key, fingerprint, project, role, account, host: String
            @NullWhenNil var granted_since: Date?
            @NullWhenNil var last_used: Date?
            let last_used_exact: Bool
            @NullWhenNil var watching_since: Date?
            @NullWhenNil var read_until: Date?
            let watched: Bool
            @NullWhenNil var until: Date?
            @NullWhenNil var source_line: Int?
            @NullWhenNil var certificate_authorities: [String]?
        }
        struct Document: Encodable { let generated_at: Date, inventory: String, rows: [Item] }
        return ReportJSON.string(Document(generated_at: generatedAt, inventory: inventoryPath, rows: rows.map {
            Item(person: $0.grant.person, key: $0.grant.key, fingerprint: $0.grant.fingerprint, project: $0.grant.project,
                 role: $0.grant.role, account: $0.grant.account, host: $0.host, granted_since: $0.grantedSince, last_used: $0.lastUsed,
                 last_used_exact: $0.lastExact, watching_since: $0.watchingSince, read_until: $0.readUntil, watched: $0.watched,
                 until: $0.grant.until, source_line: $0.grant.source?.line, certificate_authorities: $0.certificateAuthorities)
        })) + "\n"
    }

    /// One self-contained page (no scripts or outside assets; every value escaped).
    public func html() -> String {
        let body = rows.map { row in
            "<tr>" + cells(row).enumerated().map { index, text in
                index == 6 && row.lastUsed == nil ? "<td class=\"soon\">\(text.htmlEscaped)</td>" : "<td>\(text.htmlEscaped)</td>"
            }.joined() + "</tr>\n"
        }
        return HTMLPage.tablePage(title: "keysync access review", heading: "keysync access review",
                                  summary: "Generated \(generatedAt.reportText) from \(inventoryPath.htmlEscaped). \(summaryLine.htmlEscaped).",
                                  columns: Self.columns, rows: body, empty: "No grants.")
    }

    /// The `review --format` values.
    public enum Format: String, CaseIterable, Sendable {
        case markdown, csv, html, json
    }

    public func render(_ format: Format) -> String {
        switch format {
        case .markdown: return markdown()
        case .csv: return csv()
        case .html: return html()
        case .json: return json()
        }
    }
}
