import Dispatch
import Foundation
import Synchronization

/// The jump-host connections of one run, and what the run learned about them.
///
/// Each worker thread owns its own authenticated connection to each chain
/// of jump hosts it uses and keeps it for the next host behind the same
/// chain: a libssh2 session is used by one thread only, so there is no lock
/// around libssh2 and no pump thread. A host behind the chain is one
/// `direct-tcpip` channel of that connection (`SSHTunnel`), carried by the
/// same thread; a jump host therefore sees at most `parallel` connections
/// from keysync, each made once per run, at most
/// ``concurrentHandshakes`` at a time (sshd's `MaxStartups` drops
/// connections beyond 10 unauthenticated ones by default).
///
/// A jump host that cannot be reached, whose key is not trusted or that
/// refuses the login fails every host behind it with `jump_failed`: the
/// first failure is remembered for the rest of the run, so the others fail
/// at once instead of each waiting out a timeout.
public final class JumpPool: Sendable {
    /// New connections to one jump host under way at once.
    public let concurrentHandshakes: Int

    private struct State {
        /// Each worker thread's connections.
        var sessions: [ObjectIdentifier: JumpSessions] = [:]
        /// Chains (outermost first, up to the failed hop) that failed for good in this run.
        var failures: [[JumpHop]: SSHError] = [:]
        /// Bounds the handshakes under way per jump host (`hostPort`).
        var gates: [String: DispatchSemaphore] = [:]
        /// Jump host connections made so far.
        var made = 0
    }

    private let state = Mutex(State())

    /// A pool; `concurrentHandshakes` bounds new connections per jump host.
    public init(concurrentHandshakes: Int = 8) {
        self.concurrentHandshakes = max(1, concurrentHandshakes)
    }

    deinit { closeAll() }

    /// Jump host connections made so far (each one handshake and login).
    public var connectionsMade: Int { state.withLock { $0.made } }

    /// Connects to `endpoint` through `hops` (outermost first), reusing this
    /// thread's connection to the chain when it has one. The host key of
    /// every hop and of `endpoint` is checked by `hostKeys`; nothing is sent
    /// through a hop before its key is trusted and the login worked.
    ///
    /// Throws `jumpFailed` when a hop is at fault, the target's own error
    /// (`connectFailed`, `connectTimeout`…) when the last hop could not
    /// reach it.
    func connect(to endpoint: SSHEndpoint, through hops: [JumpHop], hostKeys: HostKeyVerifier,
                 identity: (SSHIdentitySource) -> Result<SSHIdentity, SSHError>) throws(SSHError) -> SSHConnection {
        precondition(!hops.isEmpty, "connect(to:through:) needs a jump host")
        let sessions = threadSessions()
        var attempt = 0
        while true {
            attempt += 1
            let (jumpHost, reused) = try establish(hops, for: endpoint, sessions: sessions, hostKeys: hostKeys, identity: identity)
            let tunnel: SSHTunnel
            do {
                tunnel = try jumpHost.openTunnel(to: endpoint.address, port: endpoint.port, target: endpoint.label,
                                                 seconds: endpoint.connectTimeout)
            } catch {
                if jumpHost.broken { sessions.drop(hops) }
                switch error {
                case .target(let failure):
                    throw failure
                case .jumpHost(let failure):
                    // A connection kept from an earlier host may have died
                    // while idle: once more with a new one.
                    if reused && attempt == 1 && jumpHost.broken { continue }
                    if case .channelFailed = failure { remember(failure, for: hops) }
                    throw .jumpFailed(host: endpoint.label, reason: failure)
                }
            }
            do {
                return try SSHConnection(endpoint: endpoint, hostKeys: hostKeys, through: tunnel)
            } catch {
                if jumpHost.broken { sessions.drop(hops) }
                throw error
            }
        }
    }

    /// Closes every jump host connection (when the run is over).
    public func closeAll() {
        let all = state.withLock { state in
            defer { state.sessions = [:] }
            return Array(state.sessions.values)
        }
        for sessions in all { sessions.closeAll() }
    }

    // MARK: - Hops

    /// This thread's authenticated connection to the last of `hops`, made
    /// hop by hop where missing; `reused` when it was already there.
    private func establish(_ hops: [JumpHop], for target: SSHEndpoint, sessions: JumpSessions, hostKeys: HostKeyVerifier,
                           identity: (SSHIdentitySource) -> Result<SSHIdentity, SSHError>) throws(SSHError) -> (SSHConnection, reused: Bool) {
        var parent: SSHConnection?
        var reused = true
        for index in hops.indices {
            let chain = Array(hops[...index])
            if let cached = sessions.connections[chain], !cached.broken, cached.session != nil {
                parent = cached
                continue
            }
            sessions.drop(chain)
            reused = false
            let hop = hops[index]
            let connection: SSHConnection
            do {
                connection = try gated(hop.endpoint) { () throws(SSHError) -> SSHConnection in
                    // Another thread may have found out meanwhile.
                    if let failure = failure(for: chain) { throw failure }
                    let made = try connect(hop, after: parent, hostKeys: hostKeys)
                    try made.authenticate(with: identity(hop.identity).get())
                    return made
                }
            } catch {
                if Self.isLasting(error) { remember(error, for: chain) }
                throw .jumpFailed(host: target.label, reason: error)
            }
            state.withLock { $0.made += 1 }
            sessions.connections[chain] = connection
            parent = connection
        }
        return (parent!, reused)
    }

    /// A connection to `hop`: direct, or through `parent` (the hop before it).
    private func connect(_ hop: JumpHop, after parent: SSHConnection?, hostKeys: HostKeyVerifier) throws(SSHError) -> SSHConnection {
        guard let parent else { return try SSHConnection(endpoint: hop.endpoint, hostKeys: hostKeys) }
        let tunnel: SSHTunnel
        do {
            tunnel = try parent.openTunnel(to: hop.endpoint.address, port: hop.endpoint.port, target: hop.endpoint.label,
                                           seconds: hop.endpoint.connectTimeout)
        } catch {
            switch error {
            case .target(let failure), .jumpHost(let failure): throw failure
            }
        }
        return try SSHConnection(endpoint: hop.endpoint, hostKeys: hostKeys, through: tunnel)
    }

    /// Whether a hop's `error` will happen again for the next host behind it
    /// in this run (so it fails them at once). A handshake cut off (sshd's
    /// `MaxStartups` drops) or a connection lost is tried again.
    static func isLasting(_ error: SSHError) -> Bool {
        switch error {
        case .handshakeFailed, .connectionLost, .jumpFailed: return false
        default: return true
        }
    }

    private func failure(for chain: [JumpHop]) -> SSHError? {
        state.withLock { state in
            for length in 1...chain.count {
                if let failure = state.failures[Array(chain.prefix(length))] { return failure }
            }
            return nil
        }
    }

    private func remember(_ error: SSHError, for chain: [JumpHop]) {
        state.withLock { state in
            if state.failures[chain] == nil { state.failures[chain] = error }
        }
    }

    /// Runs `body` holding one of `endpoint`'s handshake slots.
    private func gated<T>(_ endpoint: SSHEndpoint, _ body: () throws(SSHError) -> T) throws(SSHError) -> T {
        let gate = state.withLock { state in
            if let gate = state.gates[endpoint.hostPort] { return gate }
            let gate = DispatchSemaphore(value: concurrentHandshakes)
            state.gates[endpoint.hostPort] = gate
            return gate
        }
        gate.wait()
        defer { gate.signal() }
        return try body()
    }

    /// The calling thread's connections.
    private func threadSessions() -> JumpSessions {
        let key = ObjectIdentifier(Thread.current)
        return state.withLock { state in
            if let existing = state.sessions[key] { return existing }
            let made = JumpSessions()
            state.sessions[key] = made
            return made
        }
    }
}

/// One worker thread's jump host connections, by chain (outermost first).
/// Only that thread uses them while the run goes on; `JumpPool.closeAll()`
/// closes them after it, hence `@unchecked Sendable`.
final class JumpSessions: @unchecked Sendable {
    var connections: [[JumpHop]: SSHConnection] = [:]

    /// Closes and forgets the connection to `chain` and every longer chain through it, innermost first.
    func drop(_ chain: [JumpHop]) {
        let doomed = connections.keys.filter { $0.starts(with: chain) }.sorted { $0.count > $1.count }
        for key in doomed { connections.removeValue(forKey: key)?.close() }
    }

    func closeAll() {
        for key in connections.keys.sorted(by: { $0.count > $1.count }) { connections[key]?.close() }
        connections = [:]
    }
}
