extension DriftReport {
    /// RFC 4180: a header, then one CRLF-terminated record per open drift item.
    func csv() -> String {
        let header = ["host", "account", "kind", "since", "since_run", "last_seen_run", "last_seen_at", "detail", "fingerprint"]
        let records = [header] + openDrift.map {
            [$0.host, $0.account, $0.kind, $0.since.reportText, "\($0.sinceRunID)", "\($0.lastSeenRunID)",
             $0.lastSeenAt.reportText, $0.detail, $0.fingerprint ?? ""]
        }
        return records.map { $0.map(\.csvField).joined(separator: ",") + "\r\n" }.joined()
    }
}
