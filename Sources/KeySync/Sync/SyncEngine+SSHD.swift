import Foundation
import Synchronization

/// Lets one host at a time change sshd (manage_sshd): a drop-in is
/// written, sshd reloaded and a fresh login confirmed before the next host
/// starts, so a change that locks keysync out stops at one host per run
/// (and, with `push --canary N`, before any host after the canaries).
final class SSHDChangeGate: Sendable {
    private let mutex = Mutex(())

    func run<T: Sendable>(_ body: () -> T) -> T {
        mutex.withLock { _ in body() }
    }
}

extension SyncEngine {
    /// How long to keep trying the fresh login after a reload: sshd
    /// re-executes on SIGHUP and listens again a moment later.
    static let reloginAttempts = 20

    /// Installs the drop-in on `connection` (sshd-dropin.sh), then logs in
    /// again on a new connection with the same credentials; when that fails
    /// the previous drop-in is put back and sshd reloaded once more. The
    /// outcome lands in `result` (status, error and kind on failure; the
    /// drop-in's drift marked not repaired).
    func installDropIn(_ write: FileWrite, previous: [UInt8]?, job: HostJob, connection: SSHConnection,
                       identity: SSHIdentity, into result: inout HostResult) {
        let label = job.endpoint.label
        let outcome: SSHDOutcome = sshdGate.run {
            let phase = HostPhaseLog(logger: settings.logger, host: job.host).start(.apply)
            defer { phase.end(ok: true) }
            let steps: [SSHDDropInScript.Step]
            do {
                steps = try runSSHDScript(on: connection, job: job) { SSHDDropInScript.install(write, previous: previous, nonce: $0) }
            } catch {
                return .failed(.applyFailed, "\(SSHDDropIn.path): \(error); the drop-in is either old or new, sshd was not reloaded by keysync")
            }
            if let failure = Self.failure(in: steps) { return failure }
            let reloadedHow = steps.last { $0.name == "reload" }?.text ?? "reloaded"
            if let problem = relogin(job, identity: identity) {
                let rolledBack: String
                do {
                    let back = try runSSHDScript(on: connection, job: job) { SSHDDropInScript.rollback(write, previous: previous, nonce: $0) }
                    rolledBack = back.map { "\($0.name) \($0.ok ? "ok" : "failed")\($0.text.isEmpty ? "" : ": " + $0.text)" }.joined(separator: "; ")
                } catch {
                    rolledBack = "rollback failed: \(error)"
                }
                return .failed(.sshdReloadFailed, "a fresh login after the reload (\(reloadedHow)) failed: \(problem); rolled back: \(rolledBack)")
            }
            return .installed(reloadedHow)
        }
        switch outcome {
        case .installed(let how):
            result.changes.append("sshd reloaded (\(how)); a fresh login works")
        case .failed(let kind, let reason):
            result.status = .failed
            result.errorKind = kind
            result.error = "\(label): \(reason)"
            for index in result.drift.indices where result.drift[index].kind == .sshdDropinChanged {
                result.drift[index].repairable = false
            }
            for index in result.drift.indices where result.drift[index].kind == .sshdConfigMissing {
                result.drift[index].repairable = false
            }
        }
    }

    enum SSHDOutcome: Sendable {
        case installed(String)
        case failed(HostFailureKind, String)
    }

    /// The first failed step of an install reply as a failure (nil: all passed).
    static func failure(in steps: [SSHDDropInScript.Step]) -> SSHDOutcome? {
        let restore = steps.first { $0.name == "restore" }
        let back = restore.map { $0.ok ? "; \($0.text)" : "; restoring the previous drop-in failed: \($0.text)" } ?? ""
        guard let failed = steps.first(where: { !$0.ok && $0.name != "restore" }) else {
            return steps.contains { $0.name == "reload" } ? nil : .failed(.applyFailed, "no result from the sshd step")
        }
        switch failed.name {
        case "write":
            // The probe's hash no longer matches: someone changed the drop-in since (compare-and-swap).
            let kind: HostFailureKind = failed.text.hasPrefix("conflict: ") ? .conflict : .applyFailed
            return .failed(kind, "\(SSHDDropIn.path) not written: \(failed.text.isEmpty ? "no reason given" : failed.text); sshd not reloaded")
        case "test":
            return .failed(.sshdConfigInvalid, "sshd -t refused the configuration with \(SSHDDropIn.path): \(failed.text)\(back); sshd not reloaded")
        case "effective":
            return .failed(.sshdDropinOverridden, "sshd would not use \(SSHDDropIn.path) (\(failed.text)): sshd keeps the first value of a setting, so an earlier line in sshd_config or another drop-in wins; remove or change it\(back); sshd not reloaded")
        default:
            return .failed(.sshdReloadFailed, "sshd was not reloaded: \(failed.text)\(back)")
        }
    }

    /// Runs a drop-in script as root on `connection` and returns its steps.
    private func runSSHDScript(on connection: SSHConnection, job: HostJob,
                               _ render: (_ nonce: String) -> String) throws -> [SSHDDropInScript.Step] {
        let nonce = ProbeScript.makeNonce()
        let script = render(nonce)
        // The reload waits up to 10 s for sshd to come back.
        let reply = try connection.exec(job.become.shellCommand, stdin: Array(script.utf8), timeout: job.commandTimeout + 15,
                                        outputLimit: 1 << 20)
        if let failure = Self.becomeFailure(reply, label: job.endpoint.label, become: job.become) {
            throw SSHDStepError(description: failure.error ?? "the remote shell failed")
        }
        var steps = try SSHDDropInScript.steps(from: reply.stdout, nonce: nonce)
        // write_root_file's own result line says why a write failed.
        if let index = steps.firstIndex(where: { $0.name == "write" }) {
            switch (try? ApplyScript.outcomes(from: reply.stdout, nonce: nonce))?[SSHDDropIn.path] {
            case .failed(let reason)?: steps[index].text = reason
            case .conflict(let reason)?: steps[index].text = "conflict: " + reason
            default: break
            }
        }
        return steps
    }

    /// A new connection with the job's credentials that runs a root shell:
    /// nil when it works, else why not. Connection failures are retried
    /// (sshd re-executes on SIGHUP and listens again a moment later); a
    /// refused login is not.
    func relogin(_ job: HostJob, identity: SSHIdentity) -> String? {
        var last = "not tried"
        for attempt in 0..<Self.reloginAttempts {
            if attempt > 0 { usleep(500_000) }
            do throws(SSHError) {
                let connection = try connect(job, identity: identity)
                defer { connection.close() }
                let reply = try connection.exec(job.become.shellCommand, stdin: Array("exit 0\n".utf8), timeout: job.commandTimeout,
                                                outputLimit: 1 << 16)
                if reply.exitStatus == 0 { return nil }
                return "\(job.become == .sudo ? "sudo -n sh" : "sh") exited \(reply.exitStatus): \(reply.stderrText.prefix(200))"
            } catch {
                last = error.description
                if error.kind != .hostUnreachable { return last }
            }
        }
        return last
    }
}

/// The drop-in script could not run or its reply was unusable.
struct SSHDStepError: Error, CustomStringConvertible {
    let description: String
}
