import Foundation
import Logging
import Testing
@testable import KeySync
@testable import KeySyncCLI

/// `--log-level`: each host's phases with their milliseconds, through swift-log.
@Suite struct HostPhaseLogTests {
    @Test func aPhaseIsLoggedWhenItEndsWithItsOutcomeAndMilliseconds() throws {
        let capture = LogCapture()
        let log = HostPhaseLog(logger: capture.logger(level: .info), host: "web-1")
        let value = log.measure(.probe) { () -> Int in
            Thread.sleep(forTimeInterval: 0.02)
            return 7
        }
        #expect(value == 7)
        #expect(throws: SSHError.self) {
            try log.measure(.auth) { () throws(SSHError) in throw .authFailed(host: "web-1", user: "root", reason: "no") }
        }
        let lines = capture.lines
        try #require(lines.count == 2)
        #expect(lines[0].level == .info && lines[1].level == .info)
        #expect(lines.map { $0.metadata["phase"] } == ["probe", "auth"])
        #expect(lines.map { $0.metadata["outcome"] } == ["ok", "failed"])
        #expect(lines.allSatisfy { $0.metadata["host"] == "web-1" })
        let ms = try #require(lines[0].metadata["ms"].flatMap { Int($0) })
        #expect(ms >= 20 && lines[0].message == "web-1 probe ok after \(ms) ms")
    }

    @Test func debugAlsoSaysWhenAPhaseStarts() {
        let capture = LogCapture()
        HostPhaseLog(logger: capture.logger(level: .debug), host: "db-1").start(.apply).end(ok: true)
        #expect(capture.lines.map(\.level) == [.debug, .info])
        #expect(capture.lines.first?.message == "db-1 apply started")
    }

    /// The engine logs through the logger in its settings; a host that
    /// refuses the connection ends at the connect phase.
    @Test func theEngineLogsTheConnectPhaseOfAnUnreachableHost() throws {
        let capture = LogCapture()
        let job = HostJob(host: "closed", endpoint: SSHEndpoint(name: "closed", address: "127.0.0.1", port: 1, user: "root",
                                                                 connectTimeout: 5, hostKeyPolicy: .acceptNew(path: "/nonexistent/known_hosts")),
                          identity: .file(path: KeyFixtures.path("id_ed25519")), become: .direct, commandTimeout: 5, accounts: [])
        let engine = SyncEngine(jobs: [job], settings: SyncEngine.Settings(mode: .check, logger: capture.logger(level: .debug)))
        let results = engine.run([job])
        #expect(results.map(\.status) == [.failed])
        #expect(capture.lines.map { "\($0.level) \($0.metadata["phase"] ?? "") \($0.metadata["outcome"] ?? "")" }
            == ["debug connect ", "info connect failed"])
        #expect(capture.lines.allSatisfy { $0.metadata["host"] == "closed" })
    }

    @Test func theDefaultLoggerDropsEverything() {
        #expect(SyncEngine.Settings(mode: .check).logger.handler is SwiftLogNoOpLogHandler)
    }

    @Test func logLevelParsesOnTheCommandsThatContactHosts() throws {
        for command in ["push", "check", "doctor", "offboard"] {
            let extra = command == "offboard" ? ["alice"] : []
            let parsed = try KeySyncCommand.parseAsRoot([command] + extra + ["--log-level", "debug"])
            let logging: LoggingOptions? = switch parsed {
            case let push as KeySyncCommand.Push: push.options.logging
            case let check as KeySyncCommand.Check: check.options.logging
            case let doctor as KeySyncCommand.Doctor: doctor.logging
            case let offboard as KeySyncCommand.Offboard: offboard.logging
            default: nil
            }
            #expect(logging?.level == .debug, "\(command)")
            #expect(logging?.logger.logLevel == .debug, "\(command)")
            #expect(logging?.logger.handler is StreamLogHandler, "\(command)")
        }
        let plain = try #require(try KeySyncCommand.parseAsRoot(["push"]) as? KeySyncCommand.Push)
        #expect(plain.options.logging.level == nil && plain.options.logging.quiet)
        #expect(plain.options.logging.logger.handler is SwiftLogNoOpLogHandler)
        do {
            _ = try KeySyncCommand.parseAsRoot(["check", "--log-level", "loud"])
            Issue.record("--log-level loud parsed")
        } catch {
            #expect(KeySyncCommand.message(for: error) == "The value 'loud' is invalid for '--log-level <level>'. Please provide one of 'info' and 'debug'.")
        }
    }
}

/// A swift-log handler that keeps what it is given.
final class LogCapture: @unchecked Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let lock = NSLock()
    private var kept: [Line] = []

    var lines: [Line] { lock.withLock { kept } }

    func logger(level: Logger.Level) -> Logger {
        var logger = Logger(label: "test", factory: { _ in Handler(capture: self) })
        logger.logLevel = level
        return logger
    }

    fileprivate func keep(_ line: Line) { lock.withLock { kept.append(line) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            capture.keep(Line(level: event.level, message: event.message.description,
                              metadata: (event.metadata ?? [:]).mapValues { "\($0)" }))
        }
    }
}
