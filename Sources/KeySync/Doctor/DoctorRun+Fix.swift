import Foundation

/// `keysync doctor --fix`: after the diagnosis, one apply per host through
/// push's apply script (``SyncEngine/applyFixes(_:on:job:snapshot:)``),
/// then a second diagnosis, so the report shows what was fixed and what
/// remains. Recorded as a run of command `doctor-fix`.
extension DoctorRun {
    /// The command recorded for a `doctor --fix` run (`keysync history`).
    public static let fixCommand = "doctor-fix"

    /// Fixes what ``DoctorFixPlan`` allows on one probed host (closing its
    /// connection), diagnoses again, and records the host.
    static func fix(_ job: HostJob, probed: SyncEngine.ProbedHost, before: [DoctorReport.Account],
                    engine: SyncEngine, examiner: Examiner, recorder: FixRecorder) -> DoctorReport.Host {
        let plans = zip(job.accounts, before).map { target, account in
            DoctorFixPlan(target, account: probed.probe.accounts[target.name], findings: account.findings)
        }
        let applies = plans.compactMap(\.apply)
        guard !applies.isEmpty else {
            probed.connection.close()
            let accounts = zip(before, plans).map { account, plan in Self.merge(before: account, after: account, plan: plan, applied: false) }
            let errors = before.contains { $0.findings.contains { $0.severity == .error } }
            recorder.record(HostResult(host: job.host, status: errors ? .drift : .ok), fixed: [])
            return DoctorReport.Host(host: job.host, accounts: accounts, fixes: [])
        }
        let applied = engine.applyFixes(applies, on: probed, job: job, snapshot: recorder.snapshot)
        probed.connection.close()
        var result = applied.result
        let done = plans.filter { !applied.failedAccounts.contains($0.account) }
        result.changes = done.flatMap { $0.actions.map(\.description) }
        var changes = done.flatMap { plan in plan.actions.map { (plan.account, $0.description) } }

        // The second diagnosis, on a new connection: it also shows that
        // keysync itself still gets in after the fix.
        var after: [DoctorReport.Account]?
        switch engine.connectAndProbe(job, diagnostics: examiner.options.diagnostics) {
        case .probed(let again):
            again.connection.close()
            after = examiner.examine(job, again.probe, logins: examiner.logins(job))
        case .failed(let failure):
            let reason = "fixes applied, but the second probe failed: \(failure.error ?? "unknown error")"
            result.status = .failed
            result.errorKind = result.errorKind ?? failure.errorKind
            result.error = [result.error, reason].compactMap { $0 }.joined(separator: "; ")
        }
        let accounts = zip(before, plans).enumerated().map { index, pair in
            Self.merge(before: pair.0, after: after?[index] ?? pair.0, plan: pair.1,
                       applied: after != nil && !applied.failedAccounts.contains(pair.1.account))
        }
        if result.status == .failed { changes = changes.filter { !applied.failedAccounts.contains($0.0) } }
        let fixed = accounts.flatMap { account in account.findings.filter { $0.fixed == true }.map { (account.account, $0) } }
        recorder.record(result, fixed: fixed, changes: changes)
        return DoctorReport.Host(host: job.host, error: result.status == .failed ? result.error : nil, accounts: accounts,
                                 fixes: result.changes)
    }

    /// One account's findings after `--fix`: those of the second diagnosis
    /// (`fixed` false, with the reason when `--fix` refused one it covers),
    /// then the findings of the first that a fix answered and that are gone
    /// (`fixed` true).
    static func merge(before: DoctorReport.Account, after: DoctorReport.Account, plan: DoctorFixPlan, applied: Bool) -> DoctorReport.Account {
        var findings = after.findings.map { finding in
            var finding = finding
            finding.fixed = false
            finding.fixRefused = plan.refusals.first { before.findings[$0.key].isSame(as: finding) }?.value
            return finding
        }
        if applied {
            let answered = Set(plan.actions.flatMap(\.findings))
            for index in answered.sorted() where !after.findings.contains(where: { $0.isSame(as: before.findings[index]) }) {
                var finding = before.findings[index]
                finding.fixed = true
                findings.append(finding)
            }
        }
        return DoctorReport.Account(account: after.account, findings: findings)
    }
}

/// Records a `doctor-fix` run as hosts finish: one host result each, not a
/// scan (`scanned` false: it neither opens nor closes drift — `check` does),
/// with the fixes as changes, the findings fixed as `fixed` drift items
/// (kind = finding code) and the snapshots taken before rewriting a file.
final class FixRecorder: Sendable {
    private let store: Store?
    private let runID: Int64?
    private let firstError = FirstError()

    init(store: Store?, inventory: Inventory, selection: String, started: Date) throws {
        self.store = store
        // Runs whose keysync died without a word still say `running`: close them, as push does.
        _ = try? store?.interruptAbandonedRuns()
        runID = try store?.beginRun(command: DoctorRun.fixCommand, selection: selection,
                                    inventoryHash: inventory.inventoryHash, startedAt: started)
    }

    /// Stores the content a rewrite replaces before apply runs; throwing cancels the host's apply.
    var snapshot: SyncEngine.SnapshotHook {
        { [store, runID] host, snapshots in
            guard let store, let runID else { return }
            for snapshot in snapshots {
                _ = try store.recordSnapshot(host: host, account: snapshot.account, path: snapshot.path,
                                             content: snapshot.content, runID: runID)
            }
        }
    }

    func record(_ result: HostResult, fixed: [(account: String, finding: DoctorFinding)], changes: [(account: String, detail: String)] = []) {
        guard let store, let runID else { return }
        let record = Store.HostRecord(
            result, scanned: false,
            drift: fixed.map { Store.DriftRecord(account: $0.account, kind: $0.finding.code.rawValue, detail: $0.finding.message, fixed: true) },
            changes: changes.map { Store.ChangeRecord(account: $0.account, detail: $0.detail) })
        do {
            try store.recordHostResult(record, runID: runID)
        } catch {
            firstError.keep(error)
        }
    }

    /// Ends the run (counts from the recorded hosts); its id, nil without a store.
    func finish(_ hosts: [DoctorReport.Host], interrupted: Bool) throws -> Int64? {
        guard let store, let runID else { return nil }
        try firstError.rethrow()
        try store.finishRun(id: runID, status: interrupted ? .interrupted : .completed)
        return runID
    }
}
