import Foundation

/// What `adopt` read on one host.
public struct AdoptHostScan: Sendable {
    /// Every keys file the scan found, one section each, in reply order;
    /// empty when the host failed.
    public var sections: [AccountProbe] = []
    /// `ok`, or `failed` with the error; the accepted host key and the time taken.
    public var result: HostResult
}

extension SyncEngine {
    /// `keysync adopt` on one host: connect (host key checked as for push),
    /// run offboard's read-only scan of every account's keys files
    /// (``ProbeScript/renderScan(nonce:)``), and nothing else: adopt never
    /// writes on a host. Never throws: a failure is in the result.
    func adoptScan(_ job: HostJob) -> AdoptHostScan {
        let started = DispatchTime.now()
        var scan = cancellation.isCancelled
            ? AdoptHostScan(result: .failed(job.host, kind: .interrupted, error: "\(job.host): not started (interrupted)"))
            : adoptScanConnected(job)
        scan.result.acceptedHostKey = hostKeys.acceptedKey(forHost: job.host)
        scan.result.milliseconds = Int((DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1_000_000)
        return scan
    }

    private func adoptScanConnected(_ job: HostJob) -> AdoptHostScan {
        let connection: SSHConnection
        do { connection = try connectAuthenticated(job).get().connection } catch { return AdoptHostScan(result: error.result) }
        defer { connection.close() }
        switch scan(job, on: connection) {
        case .success(let probe): return AdoptHostScan(sections: probe.sections, result: HostResult(host: job.host, status: .ok))
        case .failure(let failure): return AdoptHostScan(result: failure.result)
        }
    }
}
