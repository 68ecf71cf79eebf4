import Foundation

/// A command running on an `SSHConnection`, its input open until
/// `closeInput()` or `finish()`. Used by one thread, like its connection.
public final class RemoteCommand {
    private let connection: SSHConnection
    // The channel and its state, moved along by `SSHConnection.pump(_:)`.
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
