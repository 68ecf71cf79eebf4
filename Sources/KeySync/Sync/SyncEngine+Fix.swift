extension SyncEngine {
    /// What one `doctor --fix` apply did on a host.
    struct FixApplied {
        /// `changed` when every account applied, `failed` (with the reasons) otherwise;
        /// hashes and snapshots of the rewritten files.
        var result: HostResult
        /// Accounts whose steps did not all apply (conflict, error, or the whole apply failed).
        var failedAccounts: Set<String>
    }

    /// `keysync doctor --fix`: runs `applies` once through push's apply
    /// script on the host `probed` just read, with push's rules — root and
    /// setpriv required, the content about to be replaced snapshotted first,
    /// compare-and-swap on the probed hash, nothing through a symlink.
    func applyFixes(_ applies: [AccountApply], on probed: ProbedHost, job: HostJob, snapshot: SnapshotHook?) -> FixApplied {
        let everyone = Set(applies.map(\.account))
        if let refusal = Self.writeRefusal(probed.probe, job: job) { return FixApplied(result: refusal, failedAccounts: everyone) }
        let label = job.endpoint.label
        var result = HostResult(host: job.host, status: .changed)
        result.snapshots = applies.compactMap { apply in
            guard let write = apply.write, let content = probed.probe.accounts[apply.account]?.content else { return nil }
            return Snapshot(account: apply.account, path: write.path, content: content)
        }
        do {
            try snapshot?(job.host, result.snapshots)
        } catch {
            return FixApplied(result: .failed(job.host, kind: .storeFailed, error: "\(label): snapshot not recorded, nothing written: \(error)"),
                              failedAccounts: everyone)
        }
        for apply in applies {
            if let write = apply.write { result.noteHash(before: write.expectedHash, account: apply.account, path: write.path) }
        }
        switch runApply(applies, on: probed.connection, job: job) {
        case .failure(let failure):
            return FixApplied(result: failure.result, failedAccounts: everyone)
        case .success(let outcomes):
            let applied = Self.collect(outcomes, for: applies)
            result.noteWritten(applied.written, by: applies)
            let failed = Set(applies.map(\.account).filter { account in
                switch outcomes[account] {
                case .written?, .done?: return false
                default: return true
                }
            })
            if !applied.problems.isEmpty {
                result.status = .failed
                result.errorKind = applied.conflicts.isEmpty ? .applyFailed : .conflict
                result.error = "\(label): " + applied.problems.joined(separator: "; ")
            }
            return FixApplied(result: result, failedAccounts: failed)
        }
    }
}
