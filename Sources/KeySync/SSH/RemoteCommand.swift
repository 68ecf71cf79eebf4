import Foundation

/// A command running on an `SSHConnection`, its input open until
/// `closeInput()` or `finish()`. Used by one thread, like its connection.
public final class RemoteCommand {
    private let connection: SSHConnection
    // The channel and its state, moved along by `SSHConnection.pump(_:until:)`.
    let channel: OpaquePointer
    let deadline: Deadline
    let timeoutError: SSHError
    /// Output beyond this many bytes fails the command.
    let outputLimit: Int
    var input: [UInt8] = []
    var written = 0
    var inputClosed = false
    var eofSent = false
    /// Everything the command printed so far.
    public internal(set) var stdout: [UInt8] = []
    public internal(set) var stderr: [UInt8] = []
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


    /// Sends queued input and reads until stdout ends with `marker` (true),
    /// or the output ends without it (false: the command exited or failed;
    /// `finish()` tells how).
    public func read(untilStdoutEndsWith marker: [UInt8]) throws(SSHError) -> Bool {
        if stdout.ends(with: marker) { return true }
        _ = try connection.pump(self) { stdout.ends(with: marker) }
        return stdout.ends(with: marker)
    }

    /// Closes the input, reads everything to the end and returns the
    /// command's whole output and exit status.
    public func finish() throws(SSHError) -> ExecResult {
        if let result { return result }
        closeInput()
        _ = try connection.pump(self) { false }
        let finished = try connection.close(self)
        result = finished
        return finished
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }
}
