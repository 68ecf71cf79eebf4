import Foundation

extension DriftReport {
    /// node_exporter textfile format: `# HELP`/`# TYPE` then the samples of
    /// each metric. The run metrics are left out when no run completed.
    func prometheus() -> String {
        var out = ""
        func metric(_ name: String, _ help: String, _ samples: [PrometheusGauge.Sample]) {
            out += PrometheusGauge(name: name, help: help, samples: samples).text
        }
        let items = Dictionary(grouping: openDrift) { [$0.host, $0.kind] }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        metric("keysync_drift_items", "Open drift items per host and drift kind.", items.map { key, value in
            .init(labels: [("host", key[0]), ("kind", key[1])], value: "\(value.count)")
        })
        metric("keysync_hosts_failed", "Hosts whose latest result is a failure.", [.init(labels: [], value: "\(failedHosts.count)")])
        if let run = lastRun, let finished = run.finishedAt {
            metric("keysync_last_run_timestamp_seconds", "End of the latest completed keysync check or push, as a Unix time.",
                   [.init(labels: [], value: Self.number(finished.timeIntervalSince1970))])
            metric("keysync_run_duration_seconds", "Duration of the latest completed keysync check or push.",
                   [.init(labels: [], value: Self.number(run.duration ?? 0))])
        }
        return out
    }

    /// A sample value: an integer when whole, else up to millisecond precision.
    private static func number(_ value: Double) -> String {
        let rounded = value.milliseconds
        return rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
    }
}
