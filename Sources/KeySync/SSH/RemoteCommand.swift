import Foundation

/// A command running on an `SSHConnection`, its input open until
/// `closeInput()` or `finish()`. Used by one thread, like its connection.
public final class RemoteCommand {
    private let connection: SSHConnection
    // The channel and its state, moved along by `SSHConnection.pump(_:)`.
    let channel: OpaquePointer
    private(set) var deadline: Deadline
    private(set) var timeoutError: SSHError
    /// Output beyond this many bytes (stdout and stderr together, since
    /// the start) fails the command.
    private(set) var outputLimit: Int
    var input: [UInt8] = []
    var written = 0
    var inputClosed = false
    var eofSent = false
    /// Everything the command printed so far.
    public internal(set) var stdout: [UInt8] = []
    public internal(set) var stderr: [UInt8] = []
    /// How long stdout was when: a mark at most every 100 ms while it grows
    /// (so a reply that dribbles costs a few hundred marks, not one per
    /// byte). Tells when a part of the reply began (``seconds(since:)``).
    private(set) var stdoutMarks: [(count: Int, at: DispatchTime)] = []
    private var result: ExecResult?

    /// Made by `SSHConnection.start(_:timeout:outputLimit:)` only.
    init(connection: SSHConnection, channel: OpaquePointer, deadline: Deadline, timeoutError: SSHError, outputLimit: Int) {
        self.connection = connection
        self.channel = channel
        self.deadline = deadline
        self.timeoutError = timeoutError
        self.outputLimit = outputLimit
    }

    deinit { connection.free(channel) }

    /// Queues `bytes` for the command's standard input (sent while reading).
    public func send(_ bytes: [UInt8]) {
        precondition(!inputClosed, "input already closed")
        input += bytes
    }

    /// Sends end-of-file once the queued input is written.
    public func closeInput() { inputClosed = true }

    /// Sends the queued input and reads until stdout ends with `marker`
    /// (true), or the output ends without it (false: the command exited or
    /// failed; `finish()` tells how). The input stays open: the caller can
    /// send more into the same command afterwards (the sync engine sends
    /// the apply script to the shell that ran the probe). `marker` must be
    /// something only the caller can know (a nonce line): output that
    /// merely looks like it cannot end the read early.
    public func read(untilStdoutEndsWith marker: [UInt8]) throws(SSHError) -> Bool {
        if stdout.ends(with: marker) { return true }
        try connection.pump(self) { stdout.ends(with: marker) }
        return stdout.ends(with: marker)
    }

    /// Gives what comes next its own deadline, `timeout` seconds from now,
    /// and at most `outputLimit` more bytes of output: after a read up to a
    /// marker, the time the caller spent in between (planning) and the
    /// output so far do not count against the next step.
    public func restart(timeout: Double, outputLimit: Int) {
        deadline = Deadline(seconds: timeout)
        timeoutError = .commandTimeout(host: connection.endpoint.label, seconds: timeout)
        self.outputLimit = stdout.count + stderr.count + outputLimit
    }

    /// Ends the conversation without waiting for the command: sends EOF
    /// (the remote shell exits when it reads it) and returns at once; the
    /// caller closes the connection, which ends the channel. Costs no round
    /// trip, unlike `finish()`, which waits for the exit status. Nothing
    /// once `finish()` ran.
    public func abandon() {
        guard result == nil, !eofSent else { return }
        inputClosed = true
        connection.sendEOF(self)
    }

    /// Notes that stdout grew (called by the pump).
    func markStdout() {
        let now = DispatchTime.now()
        if let last = stdoutMarks.last, now.uptimeNanoseconds - last.at.uptimeNanoseconds < 100_000_000 {
            stdoutMarks[stdoutMarks.count - 1].count = stdout.count
        } else {
            stdoutMarks.append((stdout.count, now))
        }
    }

    /// Seconds since stdout first held more than `offset` bytes (to within
    /// 100 ms); nil when it never did.
    public func seconds(since offset: Int) -> Double? {
        guard let mark = stdoutMarks.first(where: { $0.count > offset }) else { return nil }
        return Double(DispatchTime.now().uptimeNanoseconds - mark.at.uptimeNanoseconds) / 1e9
    }

    /// Closes the input, reads everything to the end and returns the
    /// command's whole output and exit status.
    public func finish() throws(SSHError) -> ExecResult {
        if let result { return result }
        closeInput()
        try connection.pump(self)
        let finished = try connection.close(self)
        result = finished
        return finished
    }
}

extension Array where Element == UInt8 {
    /// True when the last bytes are `suffix`.
    func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }
}
