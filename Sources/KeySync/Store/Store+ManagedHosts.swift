import Foundation
import GRDB

extension Store {
    /// One keysync block named by its markers (`project=P role=R`), as the
    /// database remembers it; `project` and `role` are what the file says.
    public struct BlockRef: Hashable, Sendable, Comparable {
        public var project: String
        public var role: String

        /// A block reference.
        public init(project: String, role: String) { (self.project, self.role) = (project, role) }

        public static func < (a: BlockRef, b: BlockRef) -> Bool { (a.project, a.role) < (b.project, b.role) }

        /// `managed_accounts.blocks` text: one `project role` per line (names never hold blanks).
        static func text(_ blocks: [BlockRef]) -> String {
            Set(blocks).sorted().map { "\($0.project) \($0.role)" }.joined(separator: "\n")
        }

        static func parse(_ text: String) -> [BlockRef] {
            text.split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ", maxSplits: 1)
                return parts.count == 2 ? BlockRef(project: String(parts[0]), role: String(parts[1])) : nil
            }
        }
    }

    /// How a run reached a host: what `keysync decommission` uses once the
    /// inventory no longer says (address, port, user, credentials, and the
    /// host key it verified, so nothing else can answer in the host's place).
    public struct HostEndpoint: Hashable, Sendable {
        public var address: String
        public var port: Int
        public var user: String
        /// The private key file; nil: the ssh agent.
        public var identity: String?
        /// `sudo` or `none`.
        public var become: String
        public var connectTimeout: Double
        public var commandTimeout: Double
        /// The host key the server presented, verified against `knownHosts`: `type base64`.
        public var hostKey: String?
        public var knownHosts: String?
        /// The jump hosts the run went through, outermost first; empty: direct.
        public var jumps: [RecordedJump]

        /// An endpoint.
        public init(address: String, port: Int, user: String, identity: String?, become: String,
                    connectTimeout: Double, commandTimeout: Double, hostKey: String?, knownHosts: String?,
                    jumps: [RecordedJump] = []) {
            (self.address, self.port, self.user, self.identity, self.become) = (address, port, user, identity, become)
            (self.connectTimeout, self.commandTimeout, self.hostKey, self.knownHosts) = (connectTimeout, commandTimeout, hostKey, knownHosts)
            self.jumps = jumps
        }
    }

    /// One jump host on the way a run reached a host (`managed_hosts.jumps`,
    /// a JSON array): what `keysync decommission` logs in to on its way
    /// once neither the host's `jump:` nor its ssh_config entry says any more.
    public struct RecordedJump: Codable, Hashable, Sendable {
        /// The inventory host's name, or the reference as written (`ops@10.0.0.1:2222`).
        public var name: String
        public var address: String
        public var port: Int
        public var user: String
        /// The private key file; nil: the ssh agent.
        public var identity: String?
        /// The known_hosts file its key was checked against (always strictly).
        public var knownHosts: String
        public var connectTimeout: Double

        enum CodingKeys: String, CodingKey {
            case name, address, port, user, identity, knownHosts = "known_hosts", connectTimeout = "connect_timeout"
        }

        /// A recorded jump host.
        public init(name: String, address: String, port: Int, user: String, identity: String?, knownHosts: String, connectTimeout: Double) {
            (self.name, self.address, self.port, self.user, self.identity) = (name, address, port, user, identity)
            (self.knownHosts, self.connectTimeout) = (knownHosts, connectTimeout)
        }

        /// `managed_hosts.jumps` for `jumps`: NULL when direct.
        static func text(_ jumps: [RecordedJump]) -> String? {
            guard !jumps.isEmpty, let data = try? JSONEncoder().encode(jumps) else { return nil }
            return String(decoding: data, as: UTF8.self)
        }

        /// The jumps of a `managed_hosts.jumps` value. Unreadable text counts
        /// as direct: the recorded host key still decides who may answer.
        static func parse(_ text: String?) -> [RecordedJump] {
            guard let text else { return [] }
            return (try? JSONDecoder().decode([RecordedJump].self, from: Data(text.utf8))) ?? []
        }
    }

    /// Why a managed host is no longer reported when it leaves the inventory.
    public enum HostRetirement: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
        /// `keysync decommission HOST` removed every keysync block and revoked key there.
        case decommissioned
        /// `keysync decommission HOST --forget`: the machine is gone; nothing was contacted.
        case forgotten
    }

    /// A host keysync has reached (table `managed_hosts`).
    public struct ManagedHost: StoreRecord {
        public static let databaseTableName = "managed_hosts"
        public var host: String
        /// nil: known only from runs recorded before schema v2 (no way to reach it).
        public var address: String?
        public var port: Int?
        public var user: String?
        public var identity: String?
        public var agent: Bool
        public var become: String?
        public var connectTimeout: Double?
        public var commandTimeout: Double?
        /// `type base64` of the host key the last run verified.
        public var hostKey: String?
        public var knownHosts: String?
        /// JSON of the jump hosts the last run went through (``RecordedJump``); nil: direct.
        public var jumps: String?
        public var lastRun: Int64?
        public var lastReachedAt: Date?
        public var retired: HostRetirement?
        public var retiredRun: Int64?
        public var retiredAt: Date?

        public enum CodingKeys: String, CodingKey, ColumnExpression {
            case host, address, port, user, identity, agent, become
            case connectTimeout = "connect_timeout", commandTimeout = "command_timeout"
            case hostKey = "host_key", knownHosts = "known_hosts", jumps, lastRun = "last_run", lastReachedAt = "last_reached_at"
            case retired, retiredRun = "retired_run", retiredAt = "retired_at"
        }

        /// How to reach it, when a run since schema v2 recorded it.
        public var endpoint: HostEndpoint? {
            guard let address, let port, let user, let become else { return nil }
            return HostEndpoint(address: address, port: port, user: user, identity: agent ? nil : identity, become: become,
                                connectTimeout: connectTimeout ?? 10, commandTimeout: commandTimeout ?? 30,
                                hostKey: hostKey, knownHosts: knownHosts, jumps: RecordedJump.parse(jumps))
        }
    }

    /// An account keysync has written blocks into on a host (table `managed_accounts`).
    public struct ManagedAccount: Hashable, Sendable {
        public var host: String
        public var account: String
        /// The blocks its file held after the last run that read it; nil: not read since schema v2.
        public var blocks: [BlockRef]?
    }

    /// Records how `host` was reached and the blocks of the accounts the run
    /// read; called inside ``recordHostResults(_:runID:at:)``'s transaction.
    /// Reaching a host puts it back in service (it is no longer retired).
    func recordManaged(_ db: Database, _ record: HostRecord, runID: Int64, at date: Date) throws {
        if let endpoint = record.endpoint {
            try db.cachedStatement(sql: """
                INSERT INTO managed_hosts (host, address, port, user, identity, agent, become, connect_timeout,
                                           command_timeout, host_key, known_hosts, jumps, last_run, last_reached_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (host) DO UPDATE SET
                    address = excluded.address, port = excluded.port, user = excluded.user, identity = excluded.identity,
                    agent = excluded.agent, become = excluded.become, connect_timeout = excluded.connect_timeout,
                    command_timeout = excluded.command_timeout, host_key = IFNULL(excluded.host_key, host_key),
                    known_hosts = excluded.known_hosts, jumps = excluded.jumps, last_run = excluded.last_run,
                    last_reached_at = excluded.last_reached_at, retired = NULL, retired_run = NULL, retired_at = NULL
                """).execute(arguments: [
                    record.host, endpoint.address, endpoint.port, endpoint.user, endpoint.identity, endpoint.identity == nil,
                    endpoint.become, endpoint.connectTimeout, endpoint.commandTimeout, endpoint.hostKey, endpoint.knownHosts,
                    RecordedJump.text(endpoint.jumps), runID, date,
                ])
        }
        guard !record.accountBlocks.isEmpty else { return }
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO managed_accounts (host, account, blocks, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (host, account) DO UPDATE SET blocks = excluded.blocks, updated_at = excluded.updated_at
            WHERE blocks IS NOT excluded.blocks
            """)
        let delete = try db.cachedStatement(sql: "DELETE FROM managed_accounts WHERE host = ? AND account = ?")
        for (account, blocks) in record.accountBlocks.sorted(by: { $0.key < $1.key }) {
            // An account without blocks is forgotten: nothing of keysync's is left to remove there.
            if blocks.isEmpty {
                try delete.execute(arguments: [record.host, account])
            } else {
                try upsert.execute(arguments: [record.host, account, BlockRef.text(blocks), date])
            }
        }
    }

    /// Every host keysync has reached, by name.
    public func managedHosts() throws -> [ManagedHost] {
        try read("read the managed hosts") { try ManagedHost.order(ManagedHost.Columns.host).fetchAll($0) }
    }

    /// The record of `host`, if keysync has reached it.
    public func managedHost(named host: String) throws -> ManagedHost? {
        try read("read the managed host \(host)") { try ManagedHost.fetchOne($0, key: host) }
    }

    /// Accounts with keysync blocks (or not read since schema v2), by host and account.
    public func managedAccounts(host: String? = nil) throws -> [ManagedAccount] {
        let onlyHost: SQL = host.map { "WHERE host = \($0)" } ?? ""
        return try read("read the managed accounts") { db in
            try SQLRequest<Row>(literal: "SELECT host, account, blocks FROM managed_accounts \(onlyHost) ORDER BY host, account")
                .fetchAll(db).map { row in
                    ManagedAccount(host: row["host"], account: row["account"], blocks: (row["blocks"] as String?).map(BlockRef.parse))
                }
        }
    }

    /// Marks `host` as no longer in service: `decommission` cleaned it or
    /// `--forget` recorded it gone. It stops being reported as `host_departed`
    /// until a run reaches it again.
    public func retireHost(_ host: String, as retirement: HostRetirement, runID: Int64, at date: Date = Date()) throws {
        try write("record \(host) as \(retirement.rawValue)") { db in
            try requireRun(db, runID)
            try db.execute(literal: """
                INSERT INTO managed_hosts (host, retired, retired_run, retired_at) VALUES (\(host), \(retirement), \(runID), \(date))
                ON CONFLICT (host) DO UPDATE SET retired = excluded.retired, retired_run = excluded.retired_run,
                    retired_at = excluded.retired_at
                """)
        }
    }
}
