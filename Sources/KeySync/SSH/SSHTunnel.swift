import CLibSSH2
import Foundation

/// A TCP stream that a jump host opened to a host behind it: one
/// `direct-tcpip` channel of the jump host's connection (`parent`).
///
/// The SSH session of the host behind it sends and receives through libssh2
/// transport callbacks (`LIBSSH2_CALLBACK_SEND`/`RECV`) that land here, on
/// the thread that owns both connections: no socket pair and no pump thread,
/// and every wait is the inner connection's own `poll` on the outermost
/// socket, with its own deadline. Bytes go through two small buffers:
/// `outbox` (accepted from the inner session, not yet taken by the channel)
/// and `inbox` (read from the channel, not yet asked for).
///
/// Not `Sendable`: used by the thread that owns `parent`, like it.
final class SSHTunnel {
    /// The jump host's connection that carries the channel.
    let parent: SSHConnection
    let channel: OpaquePointer
    /// `address:port` of the host behind, for messages.
    let target: String
    /// Bytes the inner session handed over that the channel has not taken yet (from `outboxStart`).
    var outbox: [UInt8] = []
    var outboxStart = 0
    /// Bytes read from the channel that the inner session has not asked for yet (from `inboxStart`).
    var inbox: [UInt8] = []
    var inboxStart = 0
    /// The jump host sent end-of-file on the channel (the host behind closed the connection).
    var eof = false
    /// Set when the jump host's connection failed under this tunnel; the
    /// inner connection reports its errors as `jumpFailed` with it.
    var failure: SSHError?
    private(set) var closed = false

    /// Most bytes the outbox holds; more makes the inner session wait (EAGAIN).
    static let outboxLimit = 256 * 1024
    /// Bytes asked of the channel at once.
    static let readChunk = 32 * 1024

    /// Made by `SSHConnection.openTunnel` only.
    init(parent: SSHConnection, channel: OpaquePointer, target: String) {
        self.parent = parent
        self.channel = channel
        self.target = target
    }

    deinit { close() }

    var pendingOutput: Int { outbox.count - outboxStart }

    /// Closes and frees the channel (best effort within a short deadline);
    /// a jump host connection that cannot finish it is marked broken, so it
    /// is not used again.
    func close() {
        guard !closed else { return }
        closed = true
        parent.closeTunnel(self)
    }

    // MARK: The inner session's side (transport callbacks)

    /// Takes up to `length` bytes from the inner session: queued, then
    /// written as far as the channel takes them. -EAGAIN when the outbox is full.
    func send(_ bytes: UnsafeRawBufferPointer) -> Int {
        if failure != nil || closed { return -Int(ECONNRESET) }
        if pendingOutput >= Self.outboxLimit {
            parent.serviceTunnels()
            if failure != nil { return -Int(ECONNRESET) }
            if pendingOutput >= Self.outboxLimit { return -Int(EAGAIN) }
        }
        if outboxStart > 0 && outboxStart == outbox.count { outbox.removeAll(keepingCapacity: true); outboxStart = 0 }
        let count = min(bytes.count, Self.outboxLimit - pendingOutput)
        outbox.append(contentsOf: bytes.prefix(count))
        parent.serviceTunnels()
        return count
    }

    /// Moves what can move without the socket: the outbox into a channel
    /// window that opened again, and what libssh2 already holds for the
    /// channel into the inbox; first the same for the tunnel under the jump
    /// host's own connection (a chain of jump hosts). True when bytes moved
    /// (or the tunnel failed), so the inner session has something to do
    /// before it waits. libssh2 1.10 refuses a write while the window is
    /// closed after emptying the socket, so the jump host's window adjust may
    /// have been read by then, or by the read that follows here; the outbox
    /// is therefore written again after the read, or the bytes would sit
    /// there while the host behind waits for them (docs/sync.md, "The stall").
    func advance() -> Bool {
        if failure != nil || closed { return true }
        let queued = pendingOutput, held = inbox.count - inboxStart, ended = eof
        let below = parent.tunnel?.advance() ?? false
        if parent.serviceTunnels() {
            if inboxStart == inbox.count && !eof { parent.read(self) }
            if pendingOutput > 0 { parent.serviceTunnels() }
        }
        return below || failure != nil || pendingOutput < queued || inbox.count - inboxStart > held || eof != ended
    }

    /// Gives the inner session up to `length` bytes: what the inbox holds,
    /// else what the channel has now. -EAGAIN when nothing is there yet, 0
    /// at end-of-file, -ECONNRESET when the jump host's connection failed.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        if inboxStart == inbox.count && !eof && failure == nil && !closed {
            if parent.serviceTunnels() { parent.read(self) }
        }
        if inboxStart < inbox.count {
            let count = min(buffer.count, inbox.count - inboxStart)
            inbox.withUnsafeBytes { raw in
                buffer.baseAddress!.copyMemory(from: raw.baseAddress! + inboxStart, byteCount: count)
            }
            inboxStart += count
            if inboxStart == inbox.count { inbox.removeAll(keepingCapacity: true); inboxStart = 0 }
            return count
        }
        if failure != nil || closed { return -Int(ECONNRESET) }
        if eof { return 0 }
        return -Int(EAGAIN)
    }
}

/// `LIBSSH2_CALLBACK_SEND` of a session behind a jump host: its abstract
/// pointer is the `SSHTunnel` (unretained; the connection holds it).
let tunnelSend: keysync_send_fn = { _, buffer, length, _, abstract in
    guard let pointer = keysync_session_abstract(abstract), let buffer else { return -Int(EBADF) }
    let tunnel = Unmanaged<SSHTunnel>.fromOpaque(pointer).takeUnretainedValue()
    return tunnel.send(UnsafeRawBufferPointer(start: buffer, count: length))
}

/// `LIBSSH2_CALLBACK_RECV` of a session behind a jump host (see `tunnelSend`).
let tunnelReceive: keysync_recv_fn = { _, buffer, length, _, abstract in
    guard let pointer = keysync_session_abstract(abstract), let buffer else { return -Int(EBADF) }
    let tunnel = Unmanaged<SSHTunnel>.fromOpaque(pointer).takeUnretainedValue()
    return tunnel.receive(into: UnsafeMutableRawBufferPointer(start: buffer, count: length))
}
