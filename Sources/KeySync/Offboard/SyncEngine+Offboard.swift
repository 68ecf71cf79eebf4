import Foundation

/// What `offboard` did on one host.
public struct OffboardHostResult: Sendable {
    /// A line found in the first scan, and what became of it.
    public struct Found: Hashable, Sendable {
        public var finding: KeyFinding
        /// Its file was rewritten without it and the re-read no longer has it there.
        public var removed: Bool
        /// Why it was not removed (the plan's reason, the apply's error), if known.
        public var reason: String?
    }

    /// A line the re-read (or, with `--dry-run` or a host that could not be
    /// written, the only read) still finds, and why.
    public struct Remaining: Hashable, Sendable {
        public var finding: KeyFinding
        public var reason: String?
    }

    /// The engine's result for the host: status, error, changes, drift,
    /// snapshots and hashes, as recorded in the store.
    public var result: HostResult
    public var found: [Found] = []
    public var remaining: [Remaining] = []
}

extension SyncEngine {
    /// `keysync offboard` on one host: connect, scan every account's keys
    /// files (``ProbeScript/renderScan(nonce:)``), plan
    /// (``OffboardPlanner``), snapshot, apply with compare-and-swap as the
    /// account (push's apply script, one file per account per exec), then
    /// scan again to verify. Never throws: every failure is in the result.
    ///
    /// - Parameter keys: fingerprint → key name, the leaver's keys.
    func offboard(_ job: HostJob, keys: [String: String], snapshot: SnapshotHook?) -> OffboardHostResult {
        let started = DispatchTime.now()
        var outcome = cancellation.isCancelled
            ? OffboardHostResult(result: .failed(job.host, kind: .interrupted, error: "\(job.host): not started (interrupted)"))
            : offboardConnected(job, keys: keys, snapshot: snapshot)
        outcome.result.acceptedHostKey = hostKeys.acceptedKey(forHost: job.host)
        outcome.result.milliseconds = Int((DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1_000_000)
        return outcome
    }

    private func offboardConnected(_ job: HostJob, keys: [String: String], snapshot: SnapshotHook?) -> OffboardHostResult {
        let label = job.endpoint.label
        let connection: SSHConnection, identity: SSHIdentity
        do {
            (connection, identity) = try connectAuthenticated(job).get()
        } catch {
            return OffboardHostResult(result: error.result)
        }
        defer { connection.close() }

        let first: HostProbe
        switch scan(job, on: connection) {
        case .success(let probe): first = probe
        case .failure(let failure): return OffboardHostResult(result: failure.result)
        }
        var options = settings.plan
        options.revoked = Set(keys.keys)
        options.loginUser = job.endpoint.user
        options.loginKeyFingerprint = options.loginKeyFingerprint ?? Self.loginKeyFingerprint(connection, identity)
        let plan = OffboardPlanner.plan(sections: first.sections, keys: keys, options: options)

        var outcome = OffboardHostResult(result: HostResult(host: job.host, status: .ok))
        var problems = plan.unreadable
        var why: [String: String] = [:]    // path → why its lines stay
        for file in plan.files {
            outcome.result.noteHash(before: SHA256Digest.hex(file.oldContent), account: file.account, path: file.path)
            if let blocked = file.blocked { why[file.path] = blocked }
            if let lockout = file.lockout {
                outcome.result.drift.append(DriftItem(account: file.account, kind: .lockoutRefused, detail: "\(file.path): \(lockout.detail)",
                                                      fingerprint: lockout.fingerprint))
            }
        }
        let writes = plan.files.compactMap { file in file.write.map { (account: file.account, write: $0, old: file.oldContent) } }
        var written = Set<String>()
        if settings.dryRun {
            for file in plan.files where file.write != nil { why[file.path] = "dry run" }
        } else if !writes.isEmpty {
            if let refusal = Self.writeRefusal(first, job: job) {
                problems.append(Self.unlabelled(refusal.error ?? "cannot write", label))
                outcome.result.errorKind = refusal.errorKind
                for write in writes { why[write.write.path] = "nothing written on this host" }
            } else {
                let snapshots = writes.map { Snapshot(account: $0.account, path: $0.write.path, content: $0.old) }
                do {
                    try snapshot?(job.host, snapshots)
                    outcome.result.snapshots = snapshots
                    // The apply script answers once per account: one file per account per exec.
                    var rounds: [[AccountApply]] = [], round: [String: Int] = [:]
                    for write in writes {
                        let index = round[write.account, default: 0]
                        round[write.account] = index + 1
                        if rounds.count == index { rounds.append([]) }
                        rounds[index].append(AccountApply(account: write.account, write: write.write))
                    }
                    for applies in rounds {
                        switch runApply(applies, on: connection, job: job) {
                        case .failure(let failure):
                            problems.append(Self.unlabelled(failure.result.error ?? "apply failed", label))
                            outcome.result.errorKind = failure.result.errorKind
                            for apply in applies { why[apply.write!.path] = "apply failed: " + Self.unlabelled(failure.result.error ?? "", label) }
                        case .success(let outcomes):
                            let applied = Self.collect(outcomes, for: applies)
                            outcome.result.noteWritten(applied.written, by: applies)
                            written.formUnion(applied.written.keys)
                            problems += applied.problems
                            if !applied.conflicts.isEmpty { outcome.result.errorKind = .conflict }
                            outcome.result.drift += applied.conflicts.map { DriftItem(account: $0.account, kind: .conflict, detail: $0.reason) }
                            for apply in applies where applied.written[apply.write!.path] == nil {
                                why[apply.write!.path] = "not written: " + (applied.problems.first { $0.hasPrefix("\(apply.account):") } ?? "no result")
                            }
                        }
                    }
                } catch {
                    problems.append("snapshot not recorded, nothing written: \(error)")
                    outcome.result.errorKind = .storeFailed
                    for write in writes { why[write.write.path] = "nothing written (snapshot not recorded)" }
                }
            }
        }

        // Verify: what is there now, read again the same way.
        var after = plan
        if !written.isEmpty {
            switch scan(job, on: connection) {
            case .success(let probe):
                after = OffboardPlanner.plan(sections: probe.sections, keys: keys, options: options)
                problems += after.unreadable.filter { !plan.unreadable.contains($0) }
            case .failure(let failure):
                problems.append("the re-read to verify failed: " + Self.unlabelled(failure.result.error ?? "", label))
                outcome.result.errorKind = outcome.result.errorKind ?? failure.result.errorKind
                after.files.removeAll { written.contains($0.path) }   // not verified: not counted as removed either
                for path in written { why[path] = "written, but not verified" }
                written = []
            }
        }
        let left = Set(after.findings.map { "\($0.path)\u{0}\($0.fingerprint)" })
        for finding in plan.findings {
            let removed = written.contains(finding.path) && !left.contains("\(finding.path)\u{0}\(finding.fingerprint)")
            let stayed = why[finding.path] ?? (written.contains(finding.path) ? "still there after the write" : nil)
            outcome.found.append(.init(finding: finding, removed: removed, reason: removed ? nil : stayed))
        }
        outcome.remaining = after.findings.map { .init(finding: $0, reason: why[$0.path] ?? (written.contains($0.path) ? "still there after the write" : nil)) }

        for found in outcome.found {
            let f = found.finding
            var drift = DriftItem(account: f.account, kind: .revokedKey, detail: f.summary, fingerprint: f.fingerprint)
            drift.repairable = found.removed
            outcome.result.drift.append(drift)
            if found.removed { outcome.result.changes.append(f.removal) }
        }
        let foundKeys = Set(plan.findings.map { "\($0.path)\u{0}\($0.fingerprint)" })
        for rest in outcome.remaining where !foundKeys.contains("\(rest.finding.path)\u{0}\(rest.finding.fingerprint)") {
            let f = rest.finding
            outcome.result.drift.append(DriftItem(account: f.account, kind: .revokedKey, detail: f.summary + ", found on the re-read",
                                                  fingerprint: f.fingerprint))
        }
        if !problems.isEmpty {
            outcome.result.status = .failed
            outcome.result.errorKind = outcome.result.errorKind ?? .offboardFailed
            outcome.result.error = "\(label): " + problems.joined(separator: "; ")
        } else if !outcome.remaining.isEmpty {
            outcome.result.status = .drift
        } else if outcome.found.contains(where: \.removed) {
            outcome.result.status = .changed
        }
        return outcome
    }

    /// `text` without a leading `label: ` (errors made for a whole host start with it).
    static func unlabelled(_ text: String, _ label: String) -> String {
        text.hasPrefix(label + ": ") ? String(text.dropFirst(label.count + 2)) : text
    }

    /// Runs the scan on an open connection and parses it (logged as the
    /// host's `scan` phase); a failure names the host.
    func scan(_ job: HostJob, on connection: SSHConnection) -> Result<HostProbe, Failure> {
        let phase = HostPhaseLog(logger: settings.logger, host: job.host).start(.scan)
        let result = Self.scanScript(job, on: connection)
        phase.end(ok: (try? result.get()) != nil)
        return result
    }

    private static func scanScript(_ job: HostJob, on connection: SSHConnection) -> Result<HostProbe, Failure> {
        let label = job.endpoint.label
        do {
            let nonce = ProbeScript.makeNonce()
            let reply = try connection.exec(job.become.shellCommand, stdin: Array(ProbeScript.renderScan(nonce: nonce).utf8),
                                            timeout: job.commandTimeout, outputLimit: ProbeScript.scanReplyLimit)
            if let failure = becomeFailure(reply, label: label, become: job.become) { return .failure(Failure(result: failure.named(job.host))) }
            return .success(try HostProbe(reply: reply.stdout, nonce: nonce, scan: true))
        } catch let error as SSHError {
            return .failure(Failure(result: .failed(job.host, kind: error.kind, error: error.description)))
        } catch {
            return .failure(Failure(result: .failed(job.host, kind: .probeFailed, error: "\(label): \(error)")))
        }
    }
}
