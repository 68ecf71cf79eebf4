import Foundation
import GRDB

extension Store {
    /// Where a key was found: one host and account.
    public struct KeySighting: Hashable, Sendable {
        /// The key as last seen there, with the runs that first and last saw it.
        public var key: HostKey
        /// The newest scan of the host still listed it. `false` means a later
        /// scan did not find it (removed), or scanned other accounts only.
        public var seenInLatestScan: Bool
    }

    /// Every host and account where a key was seen, managed or not, newest
    /// sighting first: the first question after a leaked laptop.
    public func whereKey(fingerprint: String) throws -> [KeySighting] {
        try read("look up \(fingerprint)") { db in
            try SQLRequest<Row>(literal: """
                SELECT k.*, k.last_seen_run >= IFNULL(
                    (SELECT MAX(run_id) FROM host_results h WHERE h.host = k.host AND h.scanned), 0
                ) AS current
                FROM host_keys k WHERE k.fingerprint = \(fingerprint)
                ORDER BY k.last_seen_at DESC, k.host, k.account
                """).fetchAll(db).map { try KeySighting(key: HostKey(row: $0), seenInLatestScan: $0["current"] ?? false) }
        }
    }

    /// The SSH host keys `--accept-new-host-keys` trusted for `host`, oldest
    /// first. They live in `host_keys` under account '' (the host itself, as
    /// in `drift`), so `keysync where FINGERPRINT` finds them too; `seen` is
    /// `first_seen_run/at` (the run that appended the key to known_hosts).
    public func acceptedHostKeys(host: String) throws -> [HostKey] {
        try read("read the accepted host keys of \(host)") { db in
            try HostKey.filter(HostKey.Columns.host == host && HostKey.Columns.account == Self.hostKeyAccount)
                .order(Column("first_seen_at"), HostKey.Columns.fingerprint).fetchAll(db)
        }
    }

    /// The `host_keys.account` of a host's own SSH host keys: '' is the host itself.
    public static let hostKeyAccount = ""

    /// Where keys with these fingerprints were seen, by host: `[account, fingerprint]`.
    public func sightings(of fingerprints: Set<String>) throws -> [String: Set<[String]>] {
        guard !fingerprints.isEmpty else { return [:] }
        return try read("read where revoked keys were seen") { db in
            var found: [String: Set<[String]>] = [:]
            for key in try HostKey.filter(fingerprints.contains(HostKey.Columns.fingerprint)).fetchAll(db) {
                found[key.host, default: []].insert([key.account, key.fingerprint])
            }
            return found
        }
    }

    /// Every key seen on `host` (of one account, if given), by account and fingerprint.
    public func keys(host: String, account: String? = nil) throws -> [HostKey] {
        try read("read the keys seen on \(host)") { db in
            var request = HostKey.filter(HostKey.Columns.host == host)
            if let account { request = request.filter(HostKey.Columns.account == account) }
            return try request.order(HostKey.Columns.account, HostKey.Columns.fingerprint).fetchAll(db)
        }
    }
}

extension Store.SeenKey {
    /// The `host_keys` row of a host key accept-new appended to known_hosts.
    init(acceptedHostKey key: AcceptedHostKey) {
        self.init(account: Store.hostKeyAccount, fingerprint: key.fingerprint, keyType: key.keyType,
                  comment: "host key accepted into \(key.knownHosts) for \(KnownHosts.lookupName(host: key.address, port: key.port))",
                  managed: false)
    }
}
