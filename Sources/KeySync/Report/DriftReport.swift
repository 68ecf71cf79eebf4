import Foundation

/// What `keysync report` shows, read from the database only: every host's
/// latest result with its open drift, drift per run since a date (for the
/// chart), and the latest finished `check` or `push`.
///
/// Open drift is always the state now, however old; `since` only bounds the
/// history. Render it with ``ReportFormat/render(_:colour:)``.
public struct DriftReport: Sendable {
    /// One host: its latest result and the drift open on it now.
    public struct HostSummary: Hashable, Sendable {
        /// The host name.
        public var host: String
        /// The newest result recorded for the host.
        public var latest: Store.HostResult
        /// Open items, by account, kind and subject.
        public var drift: [Store.OpenDrift]

        /// Whether the newest result is a failure (unreachable, auth…).
        public var failed: Bool { latest.status == .failed }
    }

    /// When the report was made.
    public var generatedAt: Date
    /// Start of the history window.
    public var since: Date
    /// Hosts with a recorded result (within the host filter), by name.
    public var hosts: [HostSummary]
    /// Runs since ``since`` that looked at hosts, oldest first.
    public var history: [Store.DriftPoint]
    /// The newest completed `check` or `push`, for "last run" and its duration.
    public var lastRun: Store.Run?

    /// Commands whose runs count as "the last run".
    public static let scanCommands: Set<String> = ["check", "push"]

    /// A report from already fetched values.
    public init(generatedAt: Date, since: Date, hosts: [HostSummary], history: [Store.DriftPoint], lastRun: Store.Run?) {
        (self.generatedAt, self.since, self.hosts, self.history, self.lastRun) = (generatedAt, since, hosts, history, lastRun)
    }

    /// Reads the report from `store`: open drift and latest results matching
    /// `filter`, history since `since`.
    public init(store: Store, since: Date, filter: Store.DriftFilter = .all, generatedAt: Date = Date()) throws {
        let drift = Dictionary(grouping: try store.openDrift(filter), by: \.host)
        let hosts = try store.latestHostResults(hosts: filter.hosts).map {
            HostSummary(host: $0.host, latest: $0, drift: drift[$0.host] ?? [])
        }
        // Runs still going or cut short have no meaningful duration; a few
        // newest runs are enough to find the last one that finished. A run
        // over the whole fleet (or a shard of it) is preferred: an ad-hoc
        // `check --host web-3` must not keep the stale-check alert
        // (docs/scheduling.md) quiet while the scheduled check fails.
        let finished = try store.runs(commands: Self.scanCommands, limit: 100).filter { $0.status == .completed }
        let lastRun = finished.first { $0.selection.isEmpty || $0.selection.hasPrefix("--shard ") } ?? finished.first
        self.init(generatedAt: generatedAt, since: since, hosts: hosts,
                  // Runs that scanned no host but a failed one stay: an outage is
                  // history too (restores and other runs that scan nothing do not).
                  history: try store.driftHistory(since: since, filter: filter)
                      .filter { $0.hostsScanned > 0 || (Self.scanCommands.contains($0.command) && $0.hostsFailed > 0) },
                  lastRun: lastRun)
    }

    /// Every open item, by host, account and kind.
    public var openDrift: [Store.OpenDrift] { hosts.flatMap(\.drift) }
    /// Hosts whose newest result failed.
    public var failedHosts: [HostSummary] { hosts.filter(\.failed) }
    /// Hosts with at least one open item.
    public var hostsWithDrift: [HostSummary] { hosts.filter { !$0.drift.isEmpty } }
    /// Open items per kind, by kind name.
    public var countsByKind: [(kind: String, count: Int)] {
        Dictionary(grouping: openDrift, by: \.kind).map { ($0.key, $0.value.count) }.sorted { $0.kind < $1.kind }
    }

    /// `3 open drift items on 2 of 5 hosts, 1 host failed; last run 12 (check) finished 2023-11-14T22:13:20Z in 4.2 s`.
    public var summaryLine: String {
        var line = openDrift.isEmpty ? "no open drift on \(hosts.count.counted("host"))"
            : "\(openDrift.count.counted("open drift item")) on \(hostsWithDrift.count) of \(hosts.count.counted("host"))"
        line += ", \(failedHosts.count.counted("host")) failed"
        if let run = lastRun, let finished = run.finishedAt {
            line += "; last run \(run.id) (\(run.command)) finished \(finished.reportText) in \((run.duration ?? 0).secondsText) s"
        } else {
            line += "; no completed check or push recorded"
        }
        return line
    }
}
