/// A key read from a host's file, for `keysync where` (managed or not).
public struct SeenKey: Hashable, Codable, Sendable {
    public var account: String
    public var fingerprint: String
    public var type: String
    public var comment: String
    /// Inside a keysync managed block.
    public var managed: Bool
}

/// The file content a write replaced, kept in the database before writing.
public struct Snapshot: Hashable, Sendable {
    public var account: String
    public var path: String
    /// The bytes before the write; `nil` when the write created the file
    /// (recorded as such, so `history` and `restore` show the run wrote it).
    public var content: [UInt8]?
}

/// What happened on one host in one run. `Sendable`: built on a worker,
/// gathered on the controller.
public struct HostResult: Sendable {
    public var host: String
    public var status: HostStatus
    /// Why the host failed, for people.
    public var error: String?
    /// Why the host failed, for machines (`error_kind`).
    public var errorKind: HostFailureKind?
    /// What push changed (or, with --dry-run, would change).
    public var changes: [String] = []
    public var drift: [DriftItem] = []
    /// Unified diffs per file, filled for --dry-run.
    public var diffs: [String] = []
    public var seenKeys: [SeenKey] = []
    /// Content before each write (taken before the write happened).
    public var snapshots: [Snapshot] = []
    /// Each account's keys file the run read or wrote, by path: its sha256
    /// before (`absent`: no file) and after a write.
    public var files: [String: Store.FileHashRecord] = [:]
    /// Set when accept-new trusted this host's key during the run (also when
    /// the host failed after the handshake: the key is in known_hosts now).
    public var acceptedHostKey: AcceptedHostKey?
    public var milliseconds: Int = 0
    /// How the host was reached, once the probe answered (recorded for `keysync decommission`).
    public var endpoint: Store.HostEndpoint?
    /// The keysync blocks each account's file holds after this run, for the
    /// accounts whose file was read (see `Store.HostRecord.accountBlocks`).
    public var accountBlocks: [String: [ManagedBlockID]] = [:]
    /// What the scan of sshd's log found (push and check, when asked).
    public var logins: LoginScanResult?
    /// The account whose read or write as the account held this host until
    /// command_timeout (``HostProbe/stalledAccount(in:nonce:)``,
    /// ``ApplyScript/stalledAccount(in:nonce:)``); the engine tries the host
    /// again without it.
    var stalledAccount: String?
    /// The drift list is the whole picture of the host: the probe was read
    /// whole and planned (set by the engine, also on results that then failed
    /// in the apply); the run records the host as looked at.
    var listsWholeHost = false
    /// Failed only because ``accountsLeftOut`` were left out: what else the
    /// run repaired stands.
    var failedOnlyByLeavingOut = false
    /// Accounts an apply that then stalled had done (written or `done`).
    var appliedAccounts: Set<String> = []
    /// Each account's changes (`changes` is their concatenation), to carry
    /// what an apply stopped part way still did (``SyncEngine/carrying(_:into:)``).
    var changesByAccount: [String: [String]] = [:]
    /// Accounts left out of this result because they held the host: the run
    /// carries their open items as they were (``ResultRecorder``).
    public var accountsLeftOut: [String] = []

    public init(host: String, status: HostStatus) {
        self.host = host
        self.status = status
    }

    /// Whether the run wrote a keys file on the host.
    var wroteFiles: Bool { files.values.contains { $0.hashAfter != nil } }
    /// The accounts whose keys file the run wrote (the write stood).
    var writtenAccounts: Set<String> { Set(files.values.filter { $0.hashAfter != nil }.map(\.account)) }

    /// Notes the hash of `account`'s file at `path` before the run.
    mutating func noteHash(before hash: String, account: String, path: String) {
        files[path, default: Store.FileHashRecord(account: account, path: path)].hashBefore = hash
    }

    /// Notes the hashes an apply reported (`written`, by path), each for the account of its write.
    mutating func noteWritten(_ written: [String: String], by applies: [AccountApply]) {
        for apply in applies {
            guard let path = apply.write?.path, let hash = written[path] else { continue }
            files[path, default: Store.FileHashRecord(account: apply.account, path: path)].hashAfter = hash
        }
    }

    /// A failed host; failures that are drift kinds (`host_unreachable`,
    /// `sudo_failed`…) are also listed as a drift item so reports show them.
    static func failed(_ host: String, kind: HostFailureKind, error: String) -> HostResult {
        var result = HostResult(host: host, status: .failed)
        result.error = error
        result.errorKind = kind
        if let driftKind = kind.driftKind { result.drift = [DriftItem(account: "", kind: driftKind, detail: error)] }
        return result
    }
}
