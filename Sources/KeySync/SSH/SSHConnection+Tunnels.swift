import CLibSSH2
import Foundation

/// A tunnel an `SSHConnection` carries, held weakly (the connection behind it owns it).
struct WeakTunnel {
    weak var tunnel: SSHTunnel?
}

/// Why a jump host could not open a tunnel.
enum TunnelOpenError: Error {
    /// The host behind is at fault (the jump host could not connect to it, or not in time).
    case target(SSHError)
    /// The jump host is at fault (its connection broke, it refuses forwarding).
    case jumpHost(SSHError)
}

/// The jump-host side of an `SSHConnection`: `direct-tcpip` channels that
/// carry other connections (`SSHTunnel`).
///
/// libssh2 1.10 keeps one half-sent packet per session and refuses
/// (`LIBSSH2_ERROR_BAD_USE`) any other send until the call that left it is
/// made again. So every channel operation that leaves a packet half sent is
/// remembered (`pendingTunnelOperation`) and repeated first; until it
/// completes nothing else is read or written on the session.
extension SSHConnection {
    /// The socket bytes of this connection finally travel on: its own, or the outermost jump host's.
    var rootSocket: Int32 { tunnel?.parent.rootSocket ?? socketFD }

    /// The directions the outermost session is blocked in (libssh2 block directions).
    var rootDirections: Int32 {
        if let tunnel { return tunnel.parent.rootDirections }
        return session.map { libssh2_session_block_directions($0) } ?? 0
    }

    /// Opens a `direct-tcpip` channel to `address`:`port` within `seconds`;
    /// `target` names the host behind in messages.
    func openTunnel(to address: String, port: Int, target: String, seconds: Double) throws(TunnelOpenError) -> SSHTunnel {
        guard let session, !broken else {
            throw .jumpHost(.connectionLost(host: endpoint.label, reason: "the jump host connection is closed"))
        }
        let deadline = Deadline(seconds: seconds)
        let timeout = SSHError.connectTimeout(host: target, seconds: seconds)
        let channel: OpaquePointer?
        do {
            while !serviceTunnels() { try wait(session, deadline: deadline, timeout: timeout) }
            channel = try retryPointer(deadline: deadline, timeout: timeout) {
                keysync_channel_direct_tcpip(session, address, Int32(port))
            }
        } catch {
            // An open cut off half done cannot be taken back: this session
            // opens nothing more (the pool makes a new one).
            broken = true
            if case .connectTimeout = error {
                throw .target(.connectTimeout(host: target, seconds: seconds))
            }
            throw .jumpHost(error)
        }
        guard let channel else {
            let message = LibSSH2.lastError(session)
            guard LibSSH2.lastErrno(session) == LIBSSH2_ERROR_CHANNEL_FAILURE else {
                broken = true
                throw .jumpHost(.connectionLost(host: endpoint.label, reason: message))
            }
            if message.contains("administratively prohibited") {
                throw .jumpHost(.channelFailed(host: endpoint.label, reason: "it refuses to forward connections (\(message)); allow AllowTcpForwarding for \(endpoint.user) in its sshd_config"))
            }
            throw .target(.connectFailed(host: target, reason: "jump host \(endpoint.label) could not connect to it: \(message)"))
        }
        let tunnel = SSHTunnel(parent: self, channel: channel, target: target)
        tunnels.removeAll { $0.tunnel == nil }
        tunnels.append(WeakTunnel(tunnel: tunnel))
        return tunnel
    }

    /// Repeats the operation left half done, then writes what the tunnels
    /// have queued. Returns false while a packet is still half sent: then
    /// nothing else may be sent or read on this session yet.
    @discardableResult
    func serviceTunnels() -> Bool {
        guard session != nil, !broken else {
            failTunnels(.connectionLost(host: endpoint.label, reason: "the jump host connection is closed"))
            return false
        }
        if let pending = pendingTunnelOperation {
            let done = pending.write ? write(pending.tunnel) : readStep(pending.tunnel)
            guard done else { return false }
            pendingTunnelOperation = nil
        }
        for case let open? in tunnels.map(\.tunnel) where open.pendingOutput > 0 {
            if !write(open) { return false }
        }
        return true
    }

    /// Reads what the channel of `tunnel` has into its inbox (the caller serviced the session first).
    func read(_ tunnel: SSHTunnel) {
        _ = readStep(tunnel)
    }

    /// Writes `tunnel`'s outbox as far as the channel takes it; false when a packet is left half sent.
    private func write(_ tunnel: SSHTunnel) -> Bool {
        guard let session else { return true }
        while tunnel.pendingOutput > 0 {
            let n = tunnel.outbox[tunnel.outboxStart...].withUnsafeBytes { raw in
                keysync_channel_write(tunnel.channel, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
            }
            if n > 0 {
                tunnel.outboxStart += n
            } else if n == LIBSSH2_ERROR_EAGAIN && Self.outboundBlocked(session) {
                pendingTunnelOperation = (tunnel, true)
                return false
            } else if n == LIBSSH2_ERROR_EAGAIN || n == 0 {
                return true // the channel's window is full: the jump host opens it again
            } else {
                fail(tunnel, code: Int32(n))
                return true
            }
        }
        tunnel.outbox.removeAll(keepingCapacity: true)
        tunnel.outboxStart = 0
        return true
    }

    /// One read of `tunnel`'s channel into its inbox; false when it left a
    /// packet (a window adjustment) half sent.
    private func readStep(_ tunnel: SSHTunnel) -> Bool {
        guard let session else { return true }
        var buffer = [UInt8](repeating: 0, count: SSHTunnel.readChunk)
        let n = buffer.withUnsafeMutableBytes { raw in
            keysync_channel_read(tunnel.channel, 0, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
        }
        if n > 0 {
            tunnel.inbox += buffer[..<n]
        } else if n == LIBSSH2_ERROR_EAGAIN {
            if Self.outboundBlocked(session) {
                pendingTunnelOperation = (tunnel, false)
                return false
            }
        } else if n == 0 {
            if libssh2_channel_eof(tunnel.channel) != 0 { tunnel.eof = true }
        } else {
            fail(tunnel, code: Int32(n))
        }
        return true
    }

    /// A channel operation of `tunnel` failed with libssh2 `code`: a closed
    /// channel fails that tunnel, anything else the whole session.
    private func fail(_ tunnel: SSHTunnel, code: Int32) {
        let error = SSHError.connectionLost(host: endpoint.label, reason: session.map(LibSSH2.lastError) ?? "libssh2 error \(code)")
        if code == LIBSSH2_ERROR_CHANNEL_CLOSED || code == LIBSSH2_ERROR_CHANNEL_EOF_SENT {
            tunnel.failure = tunnel.failure ?? error
            return
        }
        broken = true
        failTunnels(error)
    }

    private func failTunnels(_ error: SSHError) {
        for case let open? in tunnels.map(\.tunnel) where open.failure == nil { open.failure = error }
        if let pending = pendingTunnelOperation, pending.tunnel.failure == nil { pending.tunnel.failure = error }
        pendingTunnelOperation = nil
    }

    /// Longest a tunnel's close may take before its jump host connection is given up.
    static let tunnelCloseSeconds = 2.0

    /// Sends what `tunnel` still holds, closes its channel and frees it. For `SSHTunnel.close()`.
    func closeTunnel(_ tunnel: SSHTunnel) {
        defer { tunnels.removeAll { $0.tunnel == nil || $0.tunnel === tunnel } }
        guard let session, !broken else { return }
        let deadline = Deadline(seconds: Self.tunnelCloseSeconds)
        let timeout = SSHError.connectionLost(host: endpoint.label, reason: "closing a tunnel took longer than \(Int(Self.tunnelCloseSeconds)) s")
        do {
            while !serviceTunnels() { try wait(session, deadline: deadline, timeout: timeout) }
            if pendingTunnelOperation?.tunnel === tunnel { pendingTunnelOperation = nil }
            _ = try retry(deadline: deadline, timeout: timeout) { libssh2_channel_close(tunnel.channel) }
            _ = try retry(deadline: deadline, timeout: timeout) { libssh2_channel_free(tunnel.channel) }
        } catch {
            // The channel is freed with the session; this one is not used again.
            broken = true
            failTunnels(error)
        }
    }

    private static func outboundBlocked(_ session: OpaquePointer) -> Bool {
        libssh2_session_block_directions(session) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0
    }
}
