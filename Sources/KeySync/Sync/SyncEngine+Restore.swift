extension SyncEngine {
    /// One file to put back: the content a run wrote over.
    public struct RestoreFile: Sendable {
        public var account: String
        public var path: String
        /// nil: the file did not exist before that run.
        public var content: [UInt8]?

        public init(account: String, path: String, content: [UInt8]?) {
            self.account = account
            self.path = path
            self.content = content
        }
    }

    /// `keysync restore`: writes `files` back on `job`'s host with push's
    /// safety rules — probe first, refuse symlinks and a path sshd no longer
    /// reads, snapshot the current content (so a restore can be undone too),
    /// compare-and-swap on the hash just read, write as the account.
    ///
    /// Push's key rules hold too (`settings.plan`): a revoked key
    /// (`plan.revoked`: inventory `revoked:` and rotation-retired keys) never
    /// comes back — its lines are left out of the restored bytes, even with
    /// `--force`, and each one is listed in `changes`; and the lockout guard
    /// (`SyncPlanner.lockoutRefusal`) refuses, unless `plan.force`, a restore
    /// that would remove the key keysync logged in with or leave an account
    /// that has keys with none (`lockout_refused`; that file is not written).
    ///
    /// A file that did not exist before the run is not deleted: keysync never
    /// deletes an authorized_keys file; the error says to remove it by hand.
    public func restore(_ job: HostJob, files: [RestoreFile], snapshot: SnapshotHook? = nil) -> HostResult {
        let probed: ProbedHost
        switch connectAndProbe(job) {
        case .probed(let host): probed = host
        case .failed(let result): return result
        }
        defer { probed.connection.close() }
        let label = job.endpoint.label
        var options = settings.plan
        options.loginUser = job.endpoint.user
        options.loginKeyFingerprint = options.loginKeyFingerprint ?? Self.loginKeyFingerprint(probed.connection, probed.identity)
        var result = HostResult(host: job.host, status: .ok)
        var applies: [AccountApply] = [], before: [Snapshot] = [], problems: [String] = []
        for file in files {
            guard let account = probed.probe.accounts[file.account], account.exists else {
                problems.append("account \(file.account) does not exist any more")
                continue
            }
            guard account.path == file.path else {
                problems.append("sshd now reads \(account.path ?? "?") for \(file.account), not \(file.path); nothing restored there")
                continue
            }
            if [account.home, account.directory, account.file].contains(where: { $0?.kind == .symlink }) {
                problems.append("\(file.path) or a folder above it is a symlink; nothing restored there")
                continue
            }
            guard let snapshotContent = file.content else {
                problems.append("\(file.path) did not exist before that run; keysync never deletes it — remove it by hand if you mean to")
                continue
            }
            // Push neither hands such a file to the account nor keeps its bytes; restore does not either.
            if let refusal = SyncPlanner.rootFileThatIsNotKeys(account) {
                problems.append(refusal + "; nothing restored there")
                continue
            }
            let (content, keptOut) = Self.withoutRevoked(snapshotContent, revoked: options.revoked)
            result.changes += keptOut.map { line in
                let type = line.entry.map { "\($0.key.type) " } ?? ""
                return "not restoring revoked key \(type)\(line.grantingFingerprint ?? "") (line \(line.number) of the snapshot) to \(file.path)"
            }
            if let left = AuthorizedKeysFile(bytes: content).lines.first(where: { $0.grantingFingerprint.map(options.revoked.contains) ?? false }) {
                // removingKeys keeps a line whose removal would pair a user's stray markers into a block.
                problems.append("\(file.path) not restored: line \(left.number) of the snapshot holds revoked key \(left.grantingFingerprint ?? "") "
                                + "and cannot be taken out without pairing stray block markers")
                continue
            }
            if account.content == content { continue }
            let current = AuthorizedKeysFile(bytes: account.content ?? [])
            if let refusal = SyncPlanner.lockoutRefusal(account: file.account, old: current, new: content, options: options) {
                result.drift.append(DriftItem(account: file.account, kind: .lockoutRefused, detail: refusal.detail,
                                              fingerprint: refusal.fingerprint))
                problems.append("\(file.path) not restored: \(refusal.change)")
                continue
            }
            if let current = account.content { before.append(Snapshot(account: file.account, path: file.path, content: current)) }
            applies.append(AccountApply(account: file.account,
                                        write: FileWrite(path: file.path, expectedHash: account.contentHash, content: content)))
            result.noteHash(before: account.contentHash, account: file.account, path: file.path)
            result.changes.append("restore \(file.path) (\(content.count) bytes)")
        }
        if !applies.isEmpty {
            if let refusal = Self.writeRefusal(probed.probe, job: job) { return refusal }
            do {
                try snapshot?(job.host, before)
            } catch {
                return .failed(job.host, kind: .storeFailed, error: "\(label): snapshot not recorded, nothing written: \(error)")
            }
            result.snapshots = before
            switch runApply(applies, on: probed.connection, job: job) {
            case .failure(let failure): return failure.result
            case .success(let outcomes):
                // Every restore apply writes, so "done" (nothing written) cannot come back.
                let applied = Self.collect(outcomes, for: applies)
                result.noteWritten(applied.written, by: applies)
                problems += applied.problems
                // What was put back may hold blocks no role names now: the next push reads those accounts.
                for apply in applies {
                    guard let write = apply.write, applied.written[write.path] != nil else { continue }
                    result.accountBlocks[apply.account] = AuthorizedKeysFile(bytes: write.content).heldBlockIDs
                }
            }
        }
        if !problems.isEmpty {
            result.status = .failed
            result.errorKind = result.drift.contains { $0.kind == .lockoutRefused } ? .lockoutRefused : .restoreFailed
            result.error = "\(label): " + problems.joined(separator: "; ")
        } else {
            result.status = result.wroteFiles ? .changed : .ok
        }
        return result
    }

    /// `content` without the lines that grant a key whose fingerprint is in
    /// `revoked` (inside managed blocks or not; a "suspect" line, whose
    /// options keysync reads as invalid but another sshd may take, included:
    /// ``AuthorizedKeysFile/Line/grantingFingerprint``), and the lines left out.
    static func withoutRevoked(_ content: [UInt8], revoked: Set<String>) -> (bytes: [UInt8], keptOut: [AuthorizedKeysFile.Line]) {
        let file = AuthorizedKeysFile(bytes: content)
        let keptOut = file.lines.filter { $0.grantingFingerprint.map(revoked.contains) ?? false }
        guard !keptOut.isEmpty else { return (content, []) }
        return (file.removingKeys(withFingerprints: revoked).serialized(), keptOut)
    }
}

import Foundation

extension SyncRun {
    /// `keysync restore --host H --run ID`: puts back what run `runID` wrote
    /// over on `host` (every account, or one), recorded as a `restore` run
    /// (not a scan: it neither opens nor closes drift). Returns the run id and the host's result.
    ///
    /// Keys revoked since (the inventory's `revoked:` and keys retired by
    /// rotations, as for push) are left out of what is restored; `force`
    /// lets the restore past the lockout guard (see `SyncEngine.restore`).
    public static func restore(inventory: Inventory, store: Store, host name: String, runID: Int64, account: String? = nil,
                               force: Bool = false,
                               passphrase: @escaping (String) -> String? = { _ in nil }) throws -> (run: Int64, result: HostResult) {
        guard let host = inventory.host(named: name) else { throw RestoreError.unknownHost(name) }
        let all = try store.snapshots(host: name, runID: runID, account: account)
        guard !all.isEmpty else { throw RestoreError.nothingWritten(host: name, runID: runID) }
        // Root files are push's to write again (RestorePlan says why).
        let snapshots = all.filter { !RootFiles.isDerived(path: $0.ref.path) }
        guard !snapshots.isEmpty else { throw RestoreError.rootFilesOnly(host: name, runID: runID) }
        let files = snapshots.map { SyncEngine.RestoreFile(account: $0.ref.account, path: $0.ref.path, content: $0.content) }
        let accounts = Array(Set(files.map(\.account))).sorted().map { AccountTarget(name: $0, blocks: []) }
        let job = job(for: host, accounts: accounts)
        let revoked = inventory.revokedFingerprints.union(try store.retiredFingerprints())
        let engine = SyncEngine(jobs: [job], settings: SyncEngine.Settings(mode: .push, plan: PlanOptions(revoked: revoked, force: force)),
                                passphrase: passphrase)
        // Bad input, as for push: nothing recorded, nothing contacted.
        if let problem = engine.inputProblem([job]) { throw problem }
        let restoreRun = try store.beginRun(command: "restore", selection: "--host \(name) --run \(runID)",
                                            inventoryHash: inventory.inventoryHash)
        let started = Date()
        var result = engine.restore(job, files: files) { host, before in
            for snapshot in before {
                try store.recordSnapshot(host: host, account: snapshot.account, path: snapshot.path,
                                         content: snapshot.content, runID: restoreRun)
            }
        }
        result.milliseconds = Int(Date().timeIntervalSince(started) * 1000)
        let recorder = ResultRecorder(store: store, runID: restoreRun)
        recorder.record(result, writes: true, scanned: false)
        try recorder.finish()
        try store.finishRun(id: restoreRun)
        return (restoreRun, result)
    }
}

/// Why a restore could not start (nothing was contacted).
public enum RestoreError: Error, Equatable, CustomStringConvertible {
    case unknownHost(String)
    case nothingWritten(host: String, runID: Int64)
    case rootFilesOnly(host: String, runID: Int64)

    public var description: String {
        switch self {
        case .unknownHost(let host): return "host \"\(host)\" is not in the inventory"
        case let .nothingWritten(host, runID): return "run \(runID) wrote no file on \(host) (no snapshot); `keysync history --host \(host)` lists the runs that did"
        case let .rootFilesOnly(host, runID):
            return "run \(runID) wrote only root files on \(host) (/etc/ssh/keysync, sshd's drop-in); they come from the inventory: edit it and `keysync push --host \(host)`"
        }
    }
}
