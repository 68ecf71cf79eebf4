import Foundation
import Synchronization

/// What a finished subprocess left behind.
struct CommandResult: Sendable, CustomStringConvertible {
    /// The command line that ran.
    let argv: [String]
    /// Exit status (a signal death is reported as 128 + signal number).
    let status: Int32
    /// Standard output, decoded as UTF-8 (invalid bytes replaced).
    let stdout: String
    /// Standard error, decoded as UTF-8 (invalid bytes replaced).
    let stderr: String

    /// `true` when the exit status is 0.
    var succeeded: Bool { status == 0 }

    var description: String {
        var text = "`\(argv.joined(separator: " "))` exited with \(status)"
        if !stdout.isEmpty { text += "\n--- stdout\n" + stdout }
        if !stderr.isEmpty { text += "\n--- stderr\n" + stderr }
        return text
    }
}

/// Why a subprocess could not be run to the end.
enum CommandError: Error, CustomStringConvertible {
    case launchFailed(argv: [String], reason: String)
    case timedOut(argv: [String], seconds: Double, stdout: String, stderr: String)

    var description: String {
        switch self {
        case let .launchFailed(argv, reason):
            return "could not start `\(argv.joined(separator: " "))`: \(reason)"
        case let .timedOut(argv, seconds, stdout, stderr):
            return "`\(argv.joined(separator: " "))` did not finish within \(seconds) s and was terminated"
                + (stdout.isEmpty ? "" : "\n--- stdout so far\n" + stdout)
                + (stderr.isEmpty ? "" : "\n--- stderr so far\n" + stderr)
        }
    }
}

/// Runs subprocesses for tests (Foundation `Process`), collecting stdout and
/// stderr concurrently so that neither pipe can fill up and block the child.
enum CommandRunner {
    /// Runs `argv` (the first element is looked up on `PATH` unless it holds a
    /// `/`) with default signal handling, feeding it `stdin` (or nothing), and waits at most `timeout`
    /// seconds; then it is terminated and ``CommandError/timedOut`` thrown.
    /// `environment` entries are added to (and override) this process's.
    static func run(
        _ argv: [String],
        stdin: Data? = nil,
        environment: [String: String] = [:],
        timeout: TimeInterval = 120
    ) throws -> CommandResult {
        guard !argv.isEmpty else {
            throw CommandError.launchFailed(argv: argv, reason: "empty command line")
        }
        // Through env(1): PATH lookup, and SIGPIPE back to its default (the
        // test process ignores it, and children would inherit that).
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["--default-signal=PIPE"] + argv
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let outPipe = Pipe()
        let errPipe = Pipe()
        let inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = stdin == nil ? FileHandle.nullDevice : inPipe

        do {
            try spawnWithDefaultSignalMask(process)
        } catch {
            throw CommandError.launchFailed(argv: argv, reason: "\(error)")
        }

        let output = OutputCollector()
        let group = DispatchGroup()
        let outReader = outPipe.fileHandleForReading
        let errReader = errPipe.fileHandleForReading
        DispatchQueue.global().async(group: group) { output.setStdout(outReader.readDataToEndOfFile()) }
        DispatchQueue.global().async(group: group) { output.setStderr(errReader.readDataToEndOfFile()) }
        if let stdin {
            let writer = inPipe.fileHandleForWriting
            DispatchQueue.global().async {
                try? writer.write(contentsOf: stdin)
                try? writer.close()
            }
        }

        if group.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            _ = group.wait(timeout: .now() + 5)
            let (out, err) = output.snapshot()
            throw CommandError.timedOut(argv: argv, seconds: timeout, stdout: out, stderr: err)
        }
        process.waitUntilExit()
        let (out, err) = output.snapshot()
        let status = process.terminationReason == .uncaughtSignal
            ? 128 + process.terminationStatus : process.terminationStatus
        return CommandResult(argv: argv, status: status, stdout: out, stderr: err)
    }
}

/// Starts `process` with no signal blocked. `Process` hands the calling
/// thread's signal mask to the child, and test code runs on worker threads
/// that block nearly every signal: a child started from there would ignore
/// SIGTERM (so `terminate()` would not stop it) and pass the mask on to
/// everything it starts.
func spawnWithDefaultSignalMask(_ process: Process) throws {
    var none = sigset_t()
    var saved = sigset_t()
    sigemptyset(&none)
    pthread_sigmask(SIG_SETMASK, &none, &saved)
    defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
    try process.run()
}

/// Bytes read by the two reader threads, handed over under a lock.
private final class OutputCollector: Sendable {
    private let output = Mutex((out: Data(), err: Data()))

    func setStdout(_ data: Data) { output.withLock { $0.out = data } }
    func setStderr(_ data: Data) { output.withLock { $0.err = data } }

    func snapshot() -> (String, String) {
        output.withLock { (String(decoding: $0.out, as: UTF8.self), String(decoding: $0.err, as: UTF8.self)) }
    }
}
