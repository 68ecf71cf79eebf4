extension Store.HostRecord {
    /// How every command records a host's result — push, check, restore,
    /// decommission, offboard and doctor --fix: status, error and its kind,
    /// time, each keys file's hashes (per account; the host's own
    /// `hash_before`/`hash_after` only when it has one file), the keys seen
    /// and a host key accept-new appended, how the host was reached and the
    /// blocks its accounts hold.
    ///
    /// - Parameters:
    ///   - scanned: whether the result is the whole picture of the host; nil:
    ///     unless it failed (push, check).
    ///   - repaired: this run's writes stand, so the drift items it repairs are recorded `fixed`.
    ///   - repairedAccounts: on a host that failed, the accounts whose keys
    ///     file this run still wrote (their items are `fixed`: another
    ///     account's conflict does not undo a write that stood).
    ///   - drift: the items to record instead of the result's (doctor --fix records the findings it fixed).
    ///   - changes: the changes with their accounts, instead of the result's
    ///     (each recorded for the account whose plan made it, else for the
    ///     host itself, account '').
    init(_ result: HostResult, scanned: Bool? = nil, repaired: Bool = false, repairedAccounts: Set<String> = [],
         drift: [Store.DriftRecord]? = nil, changes: [Store.ChangeRecord]? = nil) {
        let files = result.files.values.sorted { $0.path < $1.path }
        var accountOf: [String: String] = [:]
        for (account, lines) in result.changesByAccount.sorted(by: { $0.key < $1.key }) {
            for line in lines where accountOf[line] == nil { accountOf[line] = account }
        }
        let only = files.count == 1 ? files.first : nil
        self.init(
            host: result.host, status: Store.HostStatus(rawValue: result.status.rawValue) ?? .failed, scanned: scanned,
            error: result.error, errorKind: result.errorKind?.rawValue, milliseconds: result.milliseconds,
            hashBefore: only?.hashBefore, hashAfter: only?.hashAfter, files: files,
            drift: drift ?? result.drift.map {
                Store.DriftRecord(account: $0.account, kind: $0.kind.rawValue, detail: $0.detail,
                                  fingerprint: $0.fingerprint,
                                  fixed: $0.repairable && (repaired || (!$0.account.isEmpty && repairedAccounts.contains($0.account))))
            },
            changes: changes ?? result.changes.map { Store.ChangeRecord(account: accountOf[$0] ?? "", detail: $0) },
            seenKeys: result.seenKeys.map {
                Store.SeenKey(account: $0.account, fingerprint: $0.fingerprint, keyType: $0.type, comment: $0.comment, managed: $0.managed)
            } + (result.acceptedHostKey.map { [Store.SeenKey(acceptedHostKey: $0)] } ?? []))
        endpoint = result.endpoint
        accountBlocks = result.accountBlocks.mapValues { $0.map { Store.BlockRef(project: $0.project, role: $0.role) } }
        logins = result.logins?.record
    }
}
