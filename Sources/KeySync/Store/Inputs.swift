extension Store {
    /// Everything a run learned about one host, recorded in one transaction
    /// by ``Store/recordHostResult(_:runID:at:)``.
    public struct HostRecord: Hashable, Sendable {
        public var host: String
        public var status: HostStatus
        /// The probe succeeded, so `drift` is the complete picture of the host
        /// (items not listed are gone). `false` for hosts that could not be read
        /// and for commands that do not look for drift (`restore`).
        public var scanned: Bool
        /// The run read only some of the host's accounts (`--project`, a
        /// rotation's push): items it does not list are not gone, and only a
        /// whole scan closes them.
        public var partial = false
        public var error: String?
        /// Why the host failed: a ``HostFailureKind`` raw value, e.g. `host_key_mismatch`, `command_timeout`, `conflict`.
        public var errorKind: String?
        public var milliseconds: Int
        /// SHA-256 hex of the `authorized_keys` bytes before and after, for
        /// a host with one file (`host_results`); every file is in `files`.
        public var hashBefore: String?
        public var hashAfter: String?
        /// Each keys file read or written, per account (`file_hashes`).
        public var files: [FileHashRecord]
        public var drift: [DriftRecord]
        public var changes: [ChangeRecord]
        /// Every key read on the host, managed or not (for `keysync where`).
        public var seenKeys: [SeenKey]
        /// Contents before writing; usually already stored by
        /// ``Store/recordSnapshot(host:account:path:content:runID:at:)`` before the write.
        public var snapshots: [SnapshotInput]
        /// How the run reached the host (recorded in `managed_hosts` for
        /// `decommission`); nil when it did not log in, or must not update it.
        public var endpoint: HostEndpoint?
        /// The keysync blocks each account's file held after the run, for the
        /// accounts whose file was read (an absent file: none). Accounts not
        /// listed keep what an earlier run recorded.
        public var accountBlocks: [String: [BlockRef]] = [:]
        /// push and check: what the scan of sshd's log found (last use of keys); nil: no scan.
        public var logins: LoginScanRecord?

        /// A host's result; `scanned` defaults to `status != .failed`.
        public init(
            host: String, status: HostStatus, scanned: Bool? = nil,
            error: String? = nil, errorKind: String? = nil, milliseconds: Int = 0,
            hashBefore: String? = nil, hashAfter: String? = nil, files: [FileHashRecord] = [],
            drift: [DriftRecord] = [], changes: [ChangeRecord] = [],
            seenKeys: [SeenKey] = [], snapshots: [SnapshotInput] = []
        ) {
            self.host = host
            self.status = status
            self.scanned = scanned ?? (status != .failed)
            self.error = error
            self.errorKind = errorKind
            self.milliseconds = milliseconds
            self.hashBefore = hashBefore
            self.hashAfter = hashAfter
            self.files = files
            self.drift = drift
            self.changes = changes
            self.seenKeys = seenKeys
            self.snapshots = snapshots
        }
    }

    /// A drift item as the engine reports it (JSON `hosts[].drift[]`).
    ///
    /// Its identity across runs is (host, account, kind, fingerprint, or detail
    /// when there is no fingerprint).
    public struct DriftRecord: Hashable, Sendable {
        /// The Unix account; empty for the host itself.
        public var account: String
        /// A drift kind from DESIGN.md, e.g. `missing_key`.
        public var kind: String
        public var detail: String
        public var fingerprint: String?
        /// This run repaired it (`push`); it does not stay open.
        public var fixed: Bool

        /// A drift item.
        public init(account: String = "", kind: String, detail: String = "", fingerprint: String? = nil, fixed: Bool = false) {
            (self.account, self.kind, self.detail, self.fingerprint, self.fixed) = (account, kind, detail, fingerprint, fixed)
        }
    }

    /// One account's keys file in a run: its hash before and after.
    public struct FileHashRecord: Hashable, Sendable {
        public var account: String
        public var path: String
        /// SHA-256 hex before the run; `absent` when there was no file.
        public var hashBefore: String?
        /// SHA-256 hex of what the run wrote; `nil` when it did not write the file.
        public var hashAfter: String?

        /// A file's hashes.
        public init(account: String, path: String, hashBefore: String? = nil, hashAfter: String? = nil) {
            (self.account, self.path, self.hashBefore, self.hashAfter) = (account, path, hashBefore, hashAfter)
        }
    }

    /// A change made on a host (JSON `hosts[].changes[]`).
    public struct ChangeRecord: Hashable, Sendable {
        /// The Unix account; empty for the host itself.
        public var account: String
        public var detail: String

        /// A change.
        public init(account: String = "", detail: String) {
            (self.account, self.detail) = (account, detail)
        }
    }

    /// A key read in an account's `authorized_keys`.
    public struct SeenKey: Hashable, Sendable {
        public var account: String
        /// `SHA256:…`.
        public var fingerprint: String
        public var keyType: String
        /// The line's comment (public, no secrets).
        public var comment: String
        /// Inside a keysync block.
        public var managed: Bool

        /// A key seen.
        public init(account: String, fingerprint: String, keyType: String, comment: String = "", managed: Bool) {
            (self.account, self.fingerprint, self.keyType, self.comment, self.managed) = (account, fingerprint, keyType, comment, managed)
        }
    }

    /// File content to keep before a write.
    public struct SnapshotInput: Hashable, Sendable {
        public var account: String
        public var path: String
        /// `nil`: the file did not exist.
        public var content: [UInt8]?

        /// A snapshot to store.
        public init(account: String, path: String, content: [UInt8]?) {
            (self.account, self.path, self.content) = (account, path, content)
        }
    }
}
