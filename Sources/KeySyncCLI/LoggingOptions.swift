import ArgumentParser
import KeySync
import Logging

/// `--log-level`: each host's phases (connect, auth, probe, apply) with
/// their milliseconds, on stderr through swift-log (``HostPhase``).
struct LoggingOptions: ParsableArguments {
    /// What `--log-level` takes: the engine logs phase ends at `info` and starts at `debug`.
    enum Level: String, CaseIterable, ExpressibleByArgument {
        case info, debug

        var logLevel: Logger.Level {
            switch self {
            case .info: return .info
            case .debug: return .debug
            }
        }
    }

    @Option(name: .customLong("log-level"),
            help: ArgumentHelp("Log each host's phases (connect, auth, probe, apply) with milliseconds to stderr; debug also when each starts.",
                               valueName: "level"))
    var level: Level?

    /// A logger writing to stderr at `level`, or one that drops everything
    /// without `--log-level`. No global bootstrap: commands run in-process
    /// (tests) may each make their own.
    var logger: Logger {
        guard let level else { return .disabled }
        var logger = Logger(label: "keysync", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = level.logLevel
        return logger
    }

    /// The progress line redraws itself on stderr: not while log lines go there too.
    var quiet: Bool { level == nil }
}
