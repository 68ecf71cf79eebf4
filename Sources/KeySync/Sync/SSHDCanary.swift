/// `push --canary N` with manage_sshd: sshd drop-in changes in waves, as
/// `rotate --canary` does with keys (``RotationPlanner/waves(_:canary:)``).
///
/// 1. Every host converges with its drop-in held back (files, accounts;
///    the drop-in's drift says it waits), which tells which hosts need a
///    drop-in change.
/// 2. The first `count` of those, in inventory order, get it alone.
/// 3. Only if none of them failed, the others get it; otherwise they keep
///    their drift `sshd_dropin_changed`, naming the canary that failed.
struct SSHDCanary {
    let count: Int

    static let waiting = "held back until the canary hosts pass (push --canary)"

    func run(_ jobs: [HostJob], engine: SyncEngine, snapshot: @escaping SyncEngine.SnapshotHook,
             progress: @escaping @Sendable (ParallelRunner.Progress, HostResult) -> Void) -> [HostResult] {
        var held = jobs
        for index in held.indices { held[index].sshd?.heldBack = Self.waiting }
        var results = engine.run(held, snapshot: snapshot) { _, result, done in progress(done, result) }
        let due = Self.due(results)
        let waves = Self.waves(due, count: count)
        for (number, wave) in waves.enumerated() {
            let ran = engine.run(wave.map { jobs[$0] }, snapshot: snapshot) { _, result, done in progress(done, result) }
            for (index, result) in zip(wave, ran) { results[index] = result }
            let failed = zip(wave, ran).filter { $0.1.status == .failed }.map { $0.1.host }
            guard number == 0, !failed.isEmpty, waves.count > 1 else { continue }
            for index in waves[1] { Self.stop(&results[index], canaries: failed) }
            break
        }
        return results
    }

    /// The hosts (indices) whose drop-in waits for its turn, in job order.
    static func due(_ results: [HostResult]) -> [Int] {
        results.indices.filter { index in
            results[index].status != .failed
                && results[index].drift.contains { $0.kind == .sshdDropinChanged && $0.detail.hasSuffix(waiting) }
        }
    }

    /// The canaries (the first `count`), then the rest; empty waves dropped.
    static func waves(_ due: [Int], count: Int) -> [[Int]] {
        [Array(due.prefix(count)), Array(due.dropFirst(count))].filter { !$0.isEmpty }
    }

    /// A host not changed because a canary failed: its drift says which.
    static func stop(_ result: inout HostResult, canaries: [String]) {
        for index in result.drift.indices where result.drift[index].kind == .sshdDropinChanged {
            result.drift[index].detail = String(result.drift[index].detail.dropLast(waiting.count))
                + "not changed: the canary host\(canaries.count == 1 ? "" : "s") \(canaries.joined(separator: ", ")) failed"
        }
    }
}
