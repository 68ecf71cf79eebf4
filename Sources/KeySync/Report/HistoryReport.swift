import Foundation

/// `keysync history`: what runs did, newest first: for one host (its drift,
/// changes and snapshots per run), or the recent runs overall with counts.
public enum HistoryReport: Sendable {
    /// ``Store/history(host:account:limit:)`` of one host.
    case host(String, account: String?, [Store.HistoryEntry])
    /// ``Store/runs(since:commands:limit:)``.
    case runs([Store.Run])

    /// A table, ending with a newline; `no runs recorded…` when empty.
    public func text() -> String {
        switch self {
        case .host(let host, let account, let entries):
            guard !entries.isEmpty else {
                return "no runs recorded for \(host.terminalSafe())\(account.map { " account \($0.terminalSafe())" } ?? "")\n"
            }
            var table = TextTable(header: ["RUN", "STARTED", "COMMAND", "STATUS", "ACCOUNT", "WHAT", "DETAIL"])
            for entry in entries {
                let run: [TextTable.Cell] = [.init("\(entry.run.id)"), .init(entry.run.startedAt.reportText),
                                             .init(entry.run.command), .init(entry.result?.status.rawValue ?? "-")]
                let items = Self.items(of: entry)
                table.rows += (items.isEmpty ? [["", "-", ""]] : items).map { run + $0.map { TextTable.Cell($0) } }
            }
            return table.rendered(colour: false) + "\n"
        case .runs(let runs):
            guard !runs.isEmpty else { return "no runs recorded\n" }
            var table = TextTable(header: ["RUN", "STARTED", "COMMAND", "STATUS", "HOSTS", "CHANGED", "DRIFT", "FAILED", "SECONDS", "SELECTION"])
            table.rows = runs.map { run in
                [run.id, run.startedAt.reportText, run.command, run.status.rawValue, run.hosts, run.changed, run.drift,
                 run.failed, run.duration?.secondsText ?? "-", run.selection].map { TextTable.Cell("\($0)") }
            }
            return table.rendered(colour: false) + "\n"
        }
    }

    /// Account, what (`error`, `drift`, `fixed`, `change`, `snapshot`) and detail of each item of a run.
    private static func items(of entry: Store.HistoryEntry) -> [[String]] {
        var items: [[String]] = []
        if let error = entry.result?.error { items.append(["", "error", error]) }
        items += entry.drift.map { [$0.account, $0.fixed ? "fixed" : "drift", "\($0.kind): \($0.detail)"] }
        items += entry.changes.map { [$0.account, "change", $0.detail] }
        items += entry.snapshots.map {
            [$0.account, "snapshot", "\($0.path) " + ($0.hash.map { "sha256 \($0.prefix(12))" } ?? "(did not exist)")]
        }
        return items
    }

    /// With a host: `{"host", "account", "runs": [{"run", "command", "selection", "started_at", "finished_at",
    /// "status", "result": {…}, "drift": […], "changes": […], "snapshots": […], "files": […]}]}`; without: `{"runs": [{"run",
    /// "command", "selection", "started_at", "finished_at", "status", "summary": {"hosts", "changed", "drift",
    /// "failed", "seconds"}}]}`, as in the `push`/`check` JSON.
    public func json() -> String {
        struct Run: Encodable {
            let run: Int64, command, selection: String, started_at: Date, finished_at: Date?, status: String
            let summary: Summary?
            let result: Result?, drift: [Drift]?, changes: [Change]?, snapshots: [Snapshot]?, files: [File]?
        }
        struct Summary: Encodable { let hosts, changed, drift, failed: Int, seconds: Double? }
        struct Result: Encodable {
            let status: String, error, error_kind: String?, ms: Int, hash_before, hash_after: String?
        }
        struct Drift: Encodable { let account, kind, detail: String, fingerprint: String?, fixed: Bool }
        struct Change: Encodable { let account, detail: String }
        struct Snapshot: Encodable { let account, path: String, hash: String?, taken_at: Date }
        struct File: Encodable { let account, path: String, hash_before, hash_after: String? }
        struct Document: Encodable { let host, account: String?, runs: [Run] }

        func run(_ run: Store.Run, _ entry: Store.HistoryEntry?) -> Run {
            let summary = entry == nil ? Summary(hosts: run.hosts, changed: run.changed, drift: run.drift, failed: run.failed,
                                                 seconds: run.duration?.milliseconds) : nil
            return Run(run: run.id, command: run.command, selection: run.selection, started_at: run.startedAt,
                       finished_at: run.finishedAt, status: run.status.rawValue, summary: summary,
                       result: entry?.result.map {
                           Result(status: $0.status.rawValue, error: $0.error, error_kind: $0.errorKind,
                                  ms: $0.milliseconds, hash_before: $0.hashBefore, hash_after: $0.hashAfter)
                       },
                       drift: entry?.drift.map {
                           Drift(account: $0.account, kind: $0.kind, detail: $0.detail, fingerprint: $0.fingerprint, fixed: $0.fixed)
                       },
                       changes: entry?.changes.map { Change(account: $0.account, detail: $0.detail) },
                       snapshots: entry?.snapshots.map {
                           Snapshot(account: $0.account, path: $0.path, hash: $0.hash, taken_at: $0.takenAt)
                       },
                       files: entry?.files.map {
                           File(account: $0.account, path: $0.path, hash_before: $0.hashBefore, hash_after: $0.hashAfter)
                       })
        }
        switch self {
        case .host(let host, let account, let entries):
            return ReportJSON.string(Document(host: host, account: account, runs: entries.map { run($0.run, $0) })) + "\n"
        case .runs(let runs):
            return ReportJSON.string(Document(host: nil, account: nil, runs: runs.map { run($0, nil) })) + "\n"
        }
    }
}
