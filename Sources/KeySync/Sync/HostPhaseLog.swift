import Dispatch
import Logging

/// A step of one host's run, timed by ``HostPhaseLog``.
public enum HostPhase: String, Sendable, CaseIterable {
    /// TCP connect, SSH handshake and the host-key check.
    case connect
    /// Public-key authentication.
    case auth
    /// The read-only probe: script sent, reply read and parsed.
    case probe
    /// The apply script: sent, run, reply read and parsed (per-account
    /// conflicts are in the reply, so they count as done).
    case apply
    /// `keysync offboard`'s read of every account (before and after removing).
    case scan
}

/// Logs each phase of one host's run with its milliseconds (`--log-level`):
/// at `info` when it ends (`host=web-1 ms=12 outcome=ok phase=connect`), at
/// `debug` also when it starts, so a host stuck in a phase shows. Only the
/// host's inventory name and the phase go into a line, never text from the
/// host: error messages are in the report, made terminal-safe there.
struct HostPhaseLog {
    let logger: Logger
    let host: String

    /// A phase under way; `end` logs it once.
    struct Running {
        let log: HostPhaseLog
        let phase: HostPhase
        let started = DispatchTime.now()

        func end(ok: Bool) {
            let ms = Int((DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1_000_000)
            let outcome = ok ? "ok" : "failed"
            log.logger.info("\(log.host) \(phase.rawValue) \(outcome) after \(ms) ms", metadata: [
                "host": "\(log.host)", "phase": "\(phase.rawValue)", "ms": "\(ms)", "outcome": "\(outcome)",
            ])
        }
    }

    func start(_ phase: HostPhase) -> Running {
        logger.debug("\(host) \(phase.rawValue) started", metadata: ["host": "\(host)", "phase": "\(phase.rawValue)"])
        return Running(log: self, phase: phase)
    }

    /// Runs `body` as `phase`: failed when it throws.
    func measure<T, E: Error>(_ phase: HostPhase, _ body: () throws(E) -> T) throws(E) -> T {
        let running = start(phase)
        do {
            let value = try body()
            running.end(ok: true)
            return value
        } catch {
            running.end(ok: false)
            throw error
        }
    }
}

extension Logger {
    /// Drops everything: what the engine logs to unless a caller passes a
    /// logger (``SyncEngine/Settings/logger``).
    public static var disabled: Logger {
        Logger(label: "keysync", factory: { _ in SwiftLogNoOpLogHandler() })
    }
}
