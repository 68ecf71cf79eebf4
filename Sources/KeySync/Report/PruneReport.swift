import Foundation

/// `keysync prune`: what ``Store/prune(keepingRunsNewerThan:)`` removed.
public struct PruneReport: Sendable {
    /// Runs that started before it were removed.
    public var cutoff: Date
    /// What was removed.
    public var result: Store.PruneResult

    /// A report of `result`.
    public init(cutoff: Date, result: Store.PruneResult) {
        (self.cutoff, self.result) = (cutoff, result)
    }

    /// `removed 3 runs, 2 snapshot contents and 1 key sighting from before 2023-11-14T22:13:20Z`.
    public func text() -> String {
        "removed \(result.runs.counted("run")), \(result.snapshots.counted("snapshot content"))"
            + " and \(result.hostKeys.counted("key sighting")) from before \(cutoff.reportText)\n"
    }

    /// `{"cutoff", "runs", "snapshots", "host_keys"}` (counts removed).
    public func json() -> String {
        struct Document: Encodable { let cutoff: Date, runs, snapshots, host_keys: Int }
        return ReportJSON.string(Document(cutoff: cutoff, runs: result.runs, snapshots: result.snapshots,
                                          host_keys: result.hostKeys)) + "\n"
    }
}
