import Foundation

/// `keysync where`: every host and account where one key was seen, managed or
/// not, with the run that last saw it.
public struct KeyLocationReport: Sendable {
    /// `SHA256:…`.
    public var fingerprint: String
    /// How the key was named on the command line (inventory key name, file), if not by fingerprint.
    public var label: String?
    /// From ``Store/whereKey(fingerprint:)``, newest first.
    public var sightings: [Store.KeySighting]
    /// Logins with the key read from sshd's logs, per host and account, newest first (``Store/keyLogins(fingerprint:)``).
    public var logins: [Store.KeyLogin] = []

    /// A report of `sightings` of `fingerprint`.
    public init(fingerprint: String, label: String? = nil, sightings: [Store.KeySighting]) {
        (self.fingerprint, self.label, self.sightings) = (fingerprint, label, sightings)
    }

    private var title: String { label.map { "\(fingerprint) (\($0))" } ?? fingerprint }

    /// A heading line and a table, or `… not seen on any host`; ends with a newline.
    public func text() -> String {
        guard !sightings.isEmpty else { return "\(title.terminalSafe()): not seen on any host\n" + lastUse() }
        let hosts = Set(sightings.map(\.key.host)).count
        var table = TextTable(header: ["HOST", "ACCOUNT", "MANAGED", "TYPE", "LAST SEEN", "RUN", "IN LATEST SCAN", "COMMENT"])
        table.rows = sightings.map { sighting in
            let key = sighting.key
            // Account '' is the host itself: a host key accept-new trusted.
            return [.init(key.host), .init(key.account == Store.hostKeyAccount ? "(host key)" : key.account), .init(key.managed ? "yes" : "no"), .init(key.keyType),
                    .init(key.lastSeenAt.reportText), .init(key.lastSeenRun.map(String.init) ?? "-"),
                    .init(sighting.seenInLatestScan ? "yes" : "no"), .init(key.comment)]
        }
        return "\(title.terminalSafe()): seen in \(sightings.count.counted("account")) on \(hosts.counted("host"))\n"
            + table.rendered(colour: false) + "\n" + lastUse()
    }

    /// The last use per host and account, or that no login was seen.
    func lastUse() -> String {
        guard !logins.isEmpty else { return "last use: no login with it seen in sshd's logs\n" }
        var table = TextTable(header: ["HOST", "ACCOUNT", "LAST USED", "FROM", "LOGINS", "FIRST SEEN", "LOG"])
        table.rows = logins.map { login in
            // A log without times (sshd -E): the scan's time, an upper bound.
            [.init(login.host), .init(login.account), .init((login.lastExact ? "" : "≤ ") + login.lastLoginAt.reportText),
             .init(login.lastAddress), .init("\(login.logins)"), .init(login.firstLoginAt.reportText), .init(login.source)]
        }
        return "last use: \(logins.count.counted("account")) on \(Set(logins.map(\.host)).count.counted("host"))\n"
            + table.rendered(colour: false) + "\n"
    }

    /// `{"fingerprint", "label", "sightings": [{"host", "account", "managed", "key_type", "comment",
    /// "first_seen_run", "first_seen_at", "last_seen_run", "last_seen_at", "in_latest_scan"}], "logins": [{"host",
    /// "account", "last_used", "last_used_exact", "last_address", "logins", "first_used", "key_type", "log", "certificate_id"}]}`.
    public func json() -> String {
        struct Sighting: Encodable {
            let host, account: String, managed: Bool, key_type, comment: String
            let first_seen_run: Int64?, first_seen_at: Date, last_seen_run: Int64?, last_seen_at: Date
            let in_latest_scan: Bool
        }
        struct Login: Encodable {
            let host, account: String, last_used: Date, last_used_exact: Bool, last_address: String, logins: Int
            let first_used: Date, key_type, log: String, certificate_id: String?
        }
        struct Document: Encodable { let fingerprint: String, label: String?, sightings: [Sighting], logins: [Login] }
        return ReportJSON.string(Document(fingerprint: fingerprint, label: label, sightings: sightings.map {
            Sighting(host: $0.key.host, account: $0.key.account, managed: $0.key.managed, key_type: $0.key.keyType,
                     comment: $0.key.comment, first_seen_run: $0.key.firstSeenRun, first_seen_at: $0.key.firstSeenAt,
                     last_seen_run: $0.key.lastSeenRun, last_seen_at: $0.key.lastSeenAt, in_latest_scan: $0.seenInLatestScan)
        }, logins: logins.map {
            Login(host: $0.host, account: $0.account, last_used: $0.lastLoginAt, last_used_exact: $0.lastExact, last_address: $0.lastAddress,
                  logins: $0.logins, first_used: $0.firstLoginAt, key_type: $0.keyType, log: $0.source, certificate_id: $0.certificateID)
        })) + "\n"
    }
}
