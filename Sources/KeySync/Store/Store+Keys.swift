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

    /// Every key seen on `host` (of one account, if given), by account and fingerprint.
    public func keys(host: String, account: String? = nil) throws -> [HostKey] {
        try read("read the keys seen on \(host)") { db in
            var request = HostKey.filter(HostKey.Columns.host == host)
            if let account { request = request.filter(HostKey.Columns.account == account) }
            return try request.order(HostKey.Columns.account, HostKey.Columns.fingerprint).fetchAll(db)
        }
    }
}
