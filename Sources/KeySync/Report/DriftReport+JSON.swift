import Foundation

extension DriftReport {
    /// The `--format json` document; field names are a contract (docs/reports.md).
    struct JSONDocument: Encodable {
        struct Summary: Encodable {
            let hosts, hosts_with_drift, hosts_failed, open_drift: Int
            let by_kind: [String: Int]
        }
        struct LastRun: Encodable {
            let run: Int64, command, status: String, started_at: Date, finished_at: Date?, seconds: Double?
        }
        struct Host: Encodable {
            let host, status: String, run: Int64, checked_at: Date, error: String?, error_kind: String?
            let drift: [Item]
        }
        struct Item: Encodable {
            let account, kind, detail: String, fingerprint: String?
            let since: Date, since_run: Int64, last_seen_run: Int64, last_seen_at: Date
        }
        struct Point: Encodable {
            let run: Int64, command: String, started_at: Date
            let hosts_scanned, hosts_failed, hosts_with_drift, found, remaining: Int
            let by_kind: [String: Int]
        }
        let generated_at, since: Date
        let summary: Summary
        let last_run: LastRun?
        let hosts: [Host]
        let history: [Point]
    }

    var jsonDocument: JSONDocument {
        JSONDocument(
            generated_at: generatedAt, since: since,
            summary: .init(hosts: hosts.count, hosts_with_drift: hostsWithDrift.count, hosts_failed: failedHosts.count,
                           open_drift: openDrift.count,
                           by_kind: Dictionary(uniqueKeysWithValues: countsByKind.map { ($0.kind, $0.count) })),
            last_run: lastRun.map {
                .init(run: $0.id, command: $0.command, status: $0.status.rawValue, started_at: $0.startedAt,
                      finished_at: $0.finishedAt, seconds: $0.duration?.milliseconds)
            },
            hosts: hosts.map { host in
                .init(host: host.host, status: host.latest.status.rawValue, run: host.latest.runID,
                      checked_at: host.latest.recordedAt, error: host.latest.error, error_kind: host.latest.errorKind,
                      drift: host.drift.map {
                          .init(account: $0.account, kind: $0.kind, detail: $0.detail, fingerprint: $0.fingerprint,
                                since: $0.since, since_run: $0.sinceRunID, last_seen_run: $0.lastSeenRunID,
                                last_seen_at: $0.lastSeenAt)
                      })
            },
            history: history.map {
                .init(run: $0.runID, command: $0.command, started_at: $0.startedAt, hosts_scanned: $0.hostsScanned, hosts_failed: $0.hostsFailed,
                      hosts_with_drift: $0.hostsWithDrift, found: $0.found, remaining: $0.remaining,
                      by_kind: $0.remainingByKind)
            })
    }
}
