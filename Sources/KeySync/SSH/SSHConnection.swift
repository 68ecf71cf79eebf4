import CLibSSH2
import Foundation

/// One authenticated SSH connection: owns a socket and a non-blocking
/// libssh2 session and frees both. Not `Sendable`: each worker creates and
/// owns its own. Every wait is a `poll` on the socket with a deadline, so a
/// silent host costs one timeout and blocks nobody else.
public final class SSHConnection {
    /// The host this connection talks to.
    public let endpoint: SSHEndpoint
    /// Set when accept-new trusted this host's key during this connection.
    public private(set) var acceptedHostKey: AcceptedHostKey?
    /// The host key the server presented.
    public private(set) var hostKey: PublicKey?
    /// The public key the server accepted in `authenticate(with:)`. For an
    /// agent it is the agent key that worked (not the first one it holds):
    /// the lockout guard must protect the key keysync really logs in with.
    /// nil before authentication, or when libssh2 derived the key itself
    /// (an encrypted PEM key that keysync does not parse).
    public private(set) var authenticatedKey: PublicKey?

    /// The TCP socket; behind a jump host, an unconnected socket that
    /// stands in for it (libssh2 wants one, the callbacks carry the bytes).
    private(set) var socketFD: Int32 = -1
    private(set) var session: OpaquePointer?
    /// The jump host's channel this connection's bytes travel through; nil: a direct TCP connection.
    private(set) var tunnel: SSHTunnel?

    // As a jump host: the tunnels open on this connection (see SSHConnection+Tunnels.swift).
    var tunnels: [WeakTunnel] = []
    /// The tunnel operation libssh2 must be given again before anything
    /// else is sent on this session (it left a packet half sent).
    var pendingTunnelOperation: (tunnel: SSHTunnel, write: Bool)?
    /// Set when this connection can no longer carry tunnels safely (it broke,
    /// or an operation was cut off half done); the jump pool drops it.
    var broken = false

    /// Longest sleep on the socket before `wait` asks libssh2 again (nil:
    /// until the caller's deadline). Off by default: the command pump
    /// decides from libssh2's state, both ways (docs/sync.md, "The stall"),
    /// and the stress harness counts no stall without it. Behind a jump
    /// host too: its bytes pass through the jump connection's libssh2 queue
    /// and the tunnel's inbox before this session sees them, so before each
    /// wait on the outermost socket the tunnel moves what it can without it
    /// (``SSHTunnel/advance()``).
    public var recheckInterval: Double? = nil
    /// Test seam: a pause between the stdout and the stderr read of every
    /// pump pass, which widens the window in which the stderr read takes the
    /// host's last bytes (IntegrationTests, SSHTransportTests).
    var pauseBetweenReads: Double = 0
    /// Test seam: a pause after a write the host's window refused, before
    /// the reads of that pump pass, so that the host's window adjust is
    /// taken off the socket by a read, not by the next write (SSHTransportTests).
    var pauseAfterClosedWindow: Double = 0

    /// Largest output one command may return; protects the controller from a hostile host.
    public static let outputLimit = 64 << 20

    /// Connects, completes the handshake and verifies the host key. Nothing is
    /// sent after the handshake unless the host key is trusted.
    public init(endpoint: SSHEndpoint, hostKeys: HostKeyVerifier) throws(SSHError) {
        precondition(LibSSH2.initialized, "libssh2_init failed")
        self.endpoint = endpoint
        do {
            try connectSocket()
            try handshake(hostKeys: hostKeys)
        } catch {
            close()
            throw error
        }
    }

    /// Connects through `tunnel`, a jump host's channel to `endpoint`,
    /// completes the handshake and verifies the host key (as `init(endpoint:hostKeys:)`).
    /// Errors caused by the jump host's connection are `jumpFailed`.
    init(endpoint: SSHEndpoint, hostKeys: HostKeyVerifier, through tunnel: SSHTunnel) throws(SSHError) {
        precondition(LibSSH2.initialized, "libssh2_init failed")
        self.endpoint = endpoint
        self.tunnel = tunnel
        do throws(SSHError) {
            socketFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard socketFD >= 0 else {
                throw SSHError.handshakeFailed(host: endpoint.label, reason: "cannot create a socket: \(String(cString: strerror(errno)))")
            }
            try handshake(hostKeys: hostKeys)
        } catch {
            close()
            throw viaJump(error)
        }
    }

    deinit { close() }

    /// Ends the session and closes the socket; safe to call twice. Behind
    /// a jump host, also closes the channel; as a jump host, fails the
    /// tunnels still open on it.
    public func close() {
        if let session {
            // Best effort, non-blocking: a dead peer must not stall teardown.
            _ = libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "bye", "")
            libssh2_session_free(session)
            self.session = nil
        }
        if socketFD >= 0 {
            Foundation.close(socketFD)
            socketFD = -1
        }
        tunnel?.close()
        for case let open? in tunnels.map(\.tunnel) where open.failure == nil {
            open.failure = .connectionLost(host: endpoint.label, reason: "the jump host connection was closed")
        }
        tunnels = []
        pendingTunnelOperation = nil
    }

    /// `error`, or `jumpFailed` with the jump host's error when the tunnel under this connection failed.
    func viaJump(_ error: SSHError) -> SSHError {
        guard let failure = tunnel?.failure else { return error }
        if case .jumpFailed = error { return error }
        return .jumpFailed(host: endpoint.label, reason: failure)
    }

    // MARK: Connect and handshake

    /// Resolves the endpoint's address (A and AAAA records; a literal as
    /// itself) and connects to the first address that accepts, in the
    /// resolver's order, within one `connect_timeout` (``AddressDialer``).
    /// The host key is later checked for the name as written, never for the
    /// address that answered, as ssh does (its `CheckHostIP` is off by default).
    private func connectSocket() throws(SSHError) {
        let label = endpoint.label
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(endpoint.address, String(endpoint.port), &hints, &result)
        guard status == 0, let first = result else {
            throw .resolve(host: label, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(result) }
        let addresses = sequence(first: first) { $0.pointee.ai_next }
            .filter { $0.pointee.ai_family == AF_INET || $0.pointee.ai_family == AF_INET6 }
        let dialer = AddressDialer(addresses: addresses, describe: Self.numericHostPort)
        switch dialer.connect(label: label, timeout: endpoint.connectTimeout, deadline: Deadline(seconds: endpoint.connectTimeout),
                              attempt: Self.attempt) {
        case .success(let fd): socketFD = fd
        case .failure(let error): throw error
        }
    }

    /// Connects a non-blocking socket to `ai` and waits until `deadline`.
    private static func attempt(_ ai: UnsafeMutablePointer<addrinfo>, deadline: Deadline) -> AddressDialer<UnsafeMutablePointer<addrinfo>>.Attempt {
        let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failed(reason: String(cString: strerror(errno))) }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let outcome: AddressDialer<UnsafeMutablePointer<addrinfo>>.Attempt
        if connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 || errno == EINPROGRESS {
            switch poll(fd: fd, events: Int16(POLLOUT), deadline: deadline) {
            case .ready:
                var soError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
                if soError == 0 { return .connected(fd) }
                outcome = .failed(reason: String(cString: strerror(soError)))
            case .timedOut:
                outcome = .timedOut
            case .failed(let code):
                outcome = .failed(reason: String(cString: strerror(code)))
            }
        } else {
            outcome = .failed(reason: String(cString: strerror(errno)))
        }
        Foundation.close(fd)
        return outcome
    }

    /// `address:port` (`[address]:port` for IPv6) of a resolved address.
    private static func numericHostPort(_ ai: UnsafeMutablePointer<addrinfo>) -> String {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var port = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        guard getnameinfo(ai.pointee.ai_addr, ai.pointee.ai_addrlen, &host, socklen_t(host.count), &port, socklen_t(port.count),
                          NI_NUMERICHOST | NI_NUMERICSERV) == 0 else { return "?" }
        let address = String(cString: host), service = String(cString: port)
        return address.contains(":") ? "[\(address)]:\(service)" : "\(address):\(service)"
    }

    private func handshake(hostKeys: HostKeyVerifier) throws(SSHError) {
        let abstract = tunnel.map { Unmanaged.passUnretained($0).toOpaque() }
        guard let session = keysync_session_init(abstract) else {
            throw .handshakeFailed(host: endpoint.label, reason: "cannot allocate a libssh2 session")
        }
        self.session = session
        if tunnel != nil { keysync_session_set_io(session, tunnelSend, tunnelReceive) }
        libssh2_session_set_blocking(session, 0)
        let known = (try? hostKeys.knownKeyTypes(host: endpoint.address, port: endpoint.port,
                                                 policy: endpoint.hostKeyPolicy)) ?? []
        setPreferences(session, knownHostKeyTypes: known)

        let deadline = Deadline(seconds: endpoint.connectTimeout)
        let timeout = SSHError.handshakeTimeout(host: endpoint.label, seconds: endpoint.connectTimeout)
        try retry(deadline: deadline, timeout: timeout) { libssh2_session_handshake(session, socketFD) }
            .orThrow { .handshakeFailed(host: endpoint.label, reason: LibSSH2.lastError(session)) }

        var length = 0
        var type: Int32 = 0
        guard let raw = libssh2_session_hostkey(session, &length, &type), length > 0 else {
            throw .handshakeFailed(host: endpoint.label, reason: "server sent no host key")
        }
        let blob = raw.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
        hostKey = blob.sshBlobKeyType.map { PublicKey(type: $0, blob: blob) }
        do {
            if case .accepted(let key) = try hostKeys.verify(endpoint, blob: blob) { acceptedHostKey = key }
        } catch let error as SSHError {
            throw error
        } catch {
            throw .handshakeFailed(host: endpoint.label, reason: "\(error)")
        }
    }

    /// Prefer curve25519-sha256 and ed25519, keeping secure fallbacks; the
    /// host key algorithms come from `hostKeyPreference(knownKeyTypes:)`.
    private func setPreferences(_ session: OpaquePointer, knownHostKeyTypes: [String]) {
        let kex = "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group14-sha256"
        let hostKeyTypes = Self.hostKeyPreference(knownKeyTypes: knownHostKeyTypes)
        _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_KEX, kex)
        _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, hostKeyTypes.joined(separator: ","))
    }

    /// Host key algorithms keysync offers (SHA-1 `ssh-rsa` and DSA are not among them).
    static let hostKeyAlgorithms = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                                    "rsa-sha2-512", "rsa-sha2-256"]

    /// The host key algorithms to offer a host that known_hosts knows by
    /// `knownKeyTypes`, as OpenSSH's `order_hostkeyalgs` does: the algorithms
    /// of known keys first, the rest after, each part in keysync's order (an
    /// `ssh-rsa` key is asked for as rsa-sha2-512/256). Without it a host
    /// known by its ECDSA key that also has an ed25519 key would answer with
    /// ed25519, a key keysync cannot check — which it refuses
    /// (`KnownHosts.Verdict.otherType`).
    static func hostKeyPreference(knownKeyTypes: [String]) -> [String] {
        let known = Set(knownKeyTypes.flatMap { $0 == "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256"] : [$0] })
        return hostKeyAlgorithms.filter(known.contains) + hostKeyAlgorithms.filter { !known.contains($0) }
    }

    // MARK: Authentication

    /// Authenticates as `endpoint.user` with `identity`.
    public func authenticate(with identity: SSHIdentity) throws(SSHError) {
        do { try authenticateDirectly(with: identity) } catch { throw viaJump(error) }
    }

    private func authenticateDirectly(with identity: SSHIdentity) throws(SSHError) {
        guard let session else { throw .connectionLost(host: endpoint.label, reason: "session closed") }
        let deadline = Deadline(seconds: endpoint.connectTimeout)
        let user = endpoint.user
        let offered = try retryPointer(deadline: deadline) {
            libssh2_userauth_list(session, user, UInt32(user.utf8.count))
        }
        if libssh2_userauth_authenticated(session) != 0 { return }
        let methods = offered.map { String(cString: $0) } ?? ""
        guard methods.split(separator: ",").contains("publickey") else {
            throw .authFailed(host: endpoint.label, user: user,
                              reason: "server does not offer publickey authentication (offers: \(methods.isEmpty ? "none" : methods)); check PubkeyAuthentication in sshd_config")
        }
        switch identity.material {
        case let .libssh2(privateKey, passphrase, publicBlob):
            let rc = try retry(deadline: deadline, timeout: authTimeout) {
                privateKey.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { chars in
                        libssh2_userauth_publickey_frommemory(session, user, user.utf8.count, nil, 0,
                                                              chars.baseAddress, chars.count, passphrase)
                    }
                }
            }
            if rc != 0 { throw refused(identity: identity.label, blob: publicBlob, algorithm: publicBlob?.sshBlobKeyType, libssh2Code: rc) }
            authenticatedKey = publicBlob.flatMap(Self.publicKey)
        case let .signer(signer):
            let box = SignContext { data in signer.sign(data) }
            let rc = try authenticate(blob: signer.authenticationBlob, context: box, deadline: deadline)
            if rc != 0 {
                throw refused(identity: identity.label, blob: signer.publicBlob, algorithm: signer.authenticationName, libssh2Code: rc)
            }
            authenticatedKey = Self.publicKey(signer.publicBlob)
        case let .agent(socketPath):
            authenticatedKey = Self.publicKey(try authenticateWithAgent(socketPath: socketPath, deadline: deadline))
        }
    }

    private static func publicKey(_ blob: [UInt8]) -> PublicKey? {
        blob.sshBlobKeyType.map { PublicKey(type: $0, blob: blob) }
    }

    private var authTimeout: SSHError { .connectionLost(host: endpoint.label, reason: "authentication timed out") }

    /// Offers the agent's keys in the agent's order; returns the blob of the
    /// one the server accepted.
    private func authenticateWithAgent(socketPath: String, deadline: Deadline) throws(SSHError) -> [UInt8] {
        let agent: SSHAgentClient
        let identities: [SSHAgentClient.Identity]
        do {
            agent = try SSHAgentClient(socketPath: socketPath)
            identities = try agent.identities()
        } catch let error as SSHError {
            throw error
        } catch {
            throw .identity(path: "ssh-agent", reason: "\(error)")
        }
        guard !identities.isEmpty else {
            throw .identity(path: "ssh-agent", reason: "the agent holds no keys (ssh-add one)")
        }
        var tried: [String] = []
        for identity in identities {
            let isRSA = identity.blob.sshBlobKeyType == "ssh-rsa"
            let box = SignContext { data in
                try? agent.sign(blob: identity.blob, data: Array(data), flags: isRSA ? SSHAgentClient.signRSASHA256 : 0)
            }
            let blob = isRSA ? Self.renamed(identity.blob, to: "rsa-sha2-256") : identity.blob
            if try authenticate(blob: blob, context: box, deadline: deadline) == 0 { return identity.blob }
            tried.append("\(identity.blob.sshBlobKeyType ?? "?") \(Fingerprint.sha256(of: identity.blob))")
        }
        throw .authFailed(host: endpoint.label, user: endpoint.user,
                          reason: "server refused every agent key (\(tried.joined(separator: ", "))); check the account's authorized_keys (keysync doctor explains why)")
    }

    /// Runs `libssh2_userauth_publickey` with keysync's own signer.
    private func authenticate(blob: [UInt8], context: SignContext, deadline: Deadline) throws(SSHError) -> Int32 {
        guard let session else { throw .connectionLost(host: endpoint.label, reason: "session closed") }
        let user = endpoint.user
        let abstract = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 1)
        defer { abstract.deallocate() }
        abstract.pointee = Unmanaged.passUnretained(context).toOpaque()
        return try withExtendedLifetime(context) { () throws(SSHError) -> Int32 in
            try retry(deadline: deadline, timeout: authTimeout) {
                blob.withUnsafeBufferPointer { buffer in
                    libssh2_userauth_publickey(session, user, buffer.baseAddress, buffer.count, signCallback, abstract)
                }
            }
        }
    }

    private func refused(identity: String, blob: [UInt8]?, algorithm: String?, libssh2Code: Int32) -> SSHError {
        guard let session else { return .connectionLost(host: endpoint.label, reason: "session closed") }
        if libssh2Code != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED && libssh2Code != LIBSSH2_ERROR_AUTHENTICATION_FAILED {
            return .identity(path: identity, reason: LibSSH2.lastError(session))
        }
        let key = blob.map { " \($0.sshBlobKeyType ?? "?") \(Fingerprint.sha256(of: $0))" } ?? ""
        let algo = algorithm.map { " signed with \($0)" } ?? ""
        var advice = "check that the key is in the account's authorized_keys, owned by the account with mode 0600 (keysync doctor explains why)"
        if algorithm == "ssh-dss" { advice = "DSA keys are refused by OpenSSH ≥ 7.0; use an ed25519 key" }
        if algorithm?.hasPrefix("rsa-sha2") == true { advice += ", and that sshd's PubkeyAcceptedAlgorithms allows \(algorithm!)" }
        return .authFailed(host: endpoint.label, user: endpoint.user,
                           reason: "server refused key \(identity)\(key)\(algo); \(advice)")
    }

    /// An `ssh-rsa` blob with its name changed, which is how libssh2 1.10 is
    /// made to send an rsa-sha2 request (see `shared/SSH-NOTES.md`).
    static func renamed(_ blob: [UInt8], to name: String) -> [UInt8] {
        var reader = SSHWireReader(blob)
        _ = reader.stringIfPresent()
        var writer = SSHWireWriter()
        writer.string(name)
        return writer.bytes + blob[reader.offset...]
    }

    // MARK: Exec

    /// Runs `command`, feeds `stdin`, and collects stdout, stderr and the exit
    /// status; throws `commandTimeout` past `timeout` seconds, and
    /// `channelFailed` once the output passes `outputLimit` bytes (a host
    /// cannot make the controller hold more than the caller expects).
    public func exec(_ command: String, stdin: [UInt8] = [], timeout: Double,
                     outputLimit: Int = SSHConnection.outputLimit) throws(SSHError) -> ExecResult {
        let running = try start(command, timeout: timeout, outputLimit: outputLimit)
        running.send(stdin)
        return try running.finish()
    }

    /// Starts `command` and returns it running, its input still open: the
    /// caller queues input with `send`, can read the answer up to a marker
    /// (`read(untilStdoutEndsWith:)`) and send more, and collects everything
    /// with `finish`, within one deadline, `timeout` seconds from now, unless
    /// the caller gives a later step its own (`restart`). The sync engine
    /// runs probe and apply so, in one root shell (docs/sync.md, "One shell
    /// for probe and apply").
    public func start(_ command: String, timeout: Double, outputLimit: Int = SSHConnection.outputLimit) throws(SSHError) -> RemoteCommand {
        do { return try startDirectly(command, timeout: timeout, outputLimit: outputLimit) } catch { throw viaJump(error) }
    }

    private func startDirectly(_ command: String, timeout: Double, outputLimit: Int) throws(SSHError) -> RemoteCommand {
        guard let session else { throw .connectionLost(host: endpoint.label, reason: "session closed") }
        let deadline = Deadline(seconds: timeout)
        let timeoutError = SSHError.commandTimeout(host: endpoint.label, seconds: timeout)
        guard let channel = try retryPointer(deadline: deadline, timeout: timeoutError, { keysync_channel_open_session(session) }) else {
            throw .channelFailed(host: endpoint.label, reason: LibSSH2.lastError(session))
        }
        let running = RemoteCommand(connection: self, channel: channel, deadline: deadline, timeoutError: timeoutError,
                                    outputLimit: outputLimit)
        try retry(deadline: deadline, timeout: timeoutError) {
            keysync_channel_exec(channel, command, UInt32(command.utf8.count))
        }.orThrow { .channelFailed(host: endpoint.label, reason: LibSSH2.lastError(session)) }
        return running
    }

    /// Moves data both ways on `command`'s channel until its output ends
    /// (EOF, everything read) or `done` says so. For `RemoteCommand`.
    func pump(_ command: RemoteCommand, until done: () -> Bool = { false }) throws(SSHError) {
        do { try pumpDirectly(command, until: done) } catch { throw viaJump(error) }
    }

    private func pumpDirectly(_ command: RemoteCommand, until done: () -> Bool) throws(SSHError) {
        guard let session else { throw .connectionLost(host: endpoint.label, reason: "session closed") }
        let channel = command.channel
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // Passes in a row that moved nothing while libssh2 held data (below).
        var idlePasses = 0
        while true {
            // The deadline holds on every pass, not only in wait(): nothing a
            // host sends may keep this loop turning past it.
            guard command.deadline.remainingMilliseconds > 0 else { throw command.timeoutError }
            var progressed = false
            // Set when sending stopped because the socket was full: the wait
            // below must then also wake when it can be written again, or
            // both sides could wait for each other.
            var sendBlocked = false
            // Set when the host's window refused the write: a window adjust
            // that one of the reads below takes off the socket opens it again.
            var windowClosed = false
            if command.written < command.input.count {
                let n = command.input[command.written...].withUnsafeBytes { raw in
                    keysync_channel_write(channel, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
                }
                if n > 0 { command.written += n; progressed = true }
                else if n == LIBSSH2_ERROR_EAGAIN || n == 0 {
                    sendBlocked = n != 0 && Self.blockedOutbound(session)
                    windowClosed = !sendBlocked
                    if windowClosed && pauseAfterClosedWindow > 0 { usleep(UInt32(pauseAfterClosedWindow * 1_000_000)) }
                }
                else { throw lost(session) }
            } else if command.inputClosed && !command.eofSent {
                let rc = keysync_channel_send_eof(channel)
                if rc == 0 { command.eofSent = true; progressed = true }
                else if rc == LIBSSH2_ERROR_EAGAIN { sendBlocked = Self.blockedOutbound(session) }
                else { throw lost(session) }
            }
            for (stream, isStdout) in [(Int32(0), true), (Int32(SSH_EXTENDED_DATA_STDERR), false)] {
                let n = buffer.withUnsafeMutableBytes { raw in
                    keysync_channel_read(channel, stream, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
                }
                if n > 0 {
                    if isStdout {
                        command.stdout += buffer[..<n]
                        command.markStdout()
                    } else {
                        command.stderr += buffer[..<n]
                    }
                    progressed = true
                } else if n < 0 && n != LIBSSH2_ERROR_EAGAIN {
                    throw lost(session)
                }
                if isStdout && pauseBetweenReads > 0 { usleep(UInt32(pauseBetweenReads * 1_000_000)) }
            }
            if command.stdout.count + command.stderr.count > command.outputLimit {
                throw .channelFailed(host: endpoint.label, reason: "command output exceeds \(command.outputLimit) bytes, more than this command can legitimately print")
            }
            // Decided from libssh2's memory, read after the last call that
            // touched the socket, never from the reads' return codes: every
            // channel read first empties the socket into libssh2's queue, so
            // the stderr read can take the host's last data, EOF and close
            // after the stdout read said EAGAIN (docs/sync.md, "The stall").
            // `libssh2_channel_eof` is true only once the host sent EOF and
            // nothing of this channel is queued: everything is read.
            if libssh2_channel_eof(channel) != 0 { return }
            // Only after a pass that read something can the answer have
            // become complete (a marker at the end of stdout).
            if progressed && done() { return }
            // Data libssh2 holds that neither read took (a window adjust it
            // owes may have to go out first) is looked at again at once. A
            // host that queues data nobody reads (extended data on a stream
            // other than stderr) keeps this loop turning only until the
            // deadline, which every pass checks above.
            if progressed { idlePasses = 0; continue }
            if Self.queuedBytes(channel) > 0 {
                // A window adjust owed goes out on the next pass or two; data
                // nobody reads stays: after a few idle passes, 1 ms between
                // them, so such a host costs no CPU while it runs out its time.
                idlePasses += 1
                if idlePasses > 3 { usleep(1_000) }
                continue
            }
            idlePasses = 0
            // The same in the other direction: libssh2 refuses a write while
            // the host's window is closed (its channel write first empties
            // the socket, then says EAGAIN or 0), and the host's window
            // adjust can then arrive before the reads of this pass, which
            // apply it. Waiting would stall: the host waits for our data.
            if windowClosed && libssh2_channel_window_write_ex(channel, nil) > 0 { continue }
            // The last call that read the socket got EAGAIN, nothing is
            // queued and nothing can be sent: only new bytes from the host
            // can move this on.
            try wait(session, deadline: command.deadline, timeout: command.timeoutError, writable: sendBlocked)
        }
    }

    /// Bytes of `channel`'s data (any stream) that libssh2 holds, read from the socket but not by us yet.
    private static func queuedBytes(_ channel: OpaquePointer) -> UInt {
        var queued: UInt = 0
        _ = libssh2_channel_window_read_ex(channel, &queued, nil)
        return queued
    }

    private static func blockedOutbound(_ session: OpaquePointer) -> Bool {
        libssh2_session_block_directions(session) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0
    }

    /// Sends EOF on `command`'s channel, waiting only while the socket is
    /// full (never for the host); failures are left to the connection's
    /// close, which follows. For `RemoteCommand.abandon()`.
    func sendEOF(_ command: RemoteCommand) {
        let channel = command.channel
        guard session != nil, (try? retry(deadline: command.deadline, timeout: command.timeoutError, {
            keysync_channel_send_eof(channel)
        })) == 0 else { return }
        command.eofSent = true
    }

    /// Closes `command`'s channel and returns what it printed and its exit status. For `RemoteCommand`.
    func close(_ command: RemoteCommand) throws(SSHError) -> ExecResult {
        do { return try closeDirectly(command) } catch { throw viaJump(error) }
    }

    private func closeDirectly(_ command: RemoteCommand) throws(SSHError) -> ExecResult {
        guard let session else { throw .connectionLost(host: endpoint.label, reason: "session closed") }
        let channel = command.channel
        try retry(deadline: command.deadline, timeout: command.timeoutError) { libssh2_channel_close(channel) }
            .orThrow { lost(session) }
        try retry(deadline: command.deadline, timeout: command.timeoutError) { libssh2_channel_wait_closed(channel) }
            .orThrow { lost(session) }
        return ExecResult(stdout: command.stdout, stderr: command.stderr, exitStatus: libssh2_channel_get_exit_status(channel))
    }

    /// Frees a channel while its session lives (freeing the session frees its channels). For `RemoteCommand`.
    func free(_ channel: OpaquePointer) {
        if session != nil { libssh2_channel_free(channel) }
    }

    private func lost(_ session: OpaquePointer) -> SSHError {
        .connectionLost(host: endpoint.label, reason: LibSSH2.lastError(session))
    }

    // MARK: Waiting

    /// Repeats `operation` while it returns EAGAIN, waiting for the socket in
    /// the direction libssh2 asks for; returns the final code.
    func retry(deadline: Deadline, timeout: SSHError, _ operation: () -> Int32) throws(SSHError) -> Int32 {
        guard let session else { throw .connectionLost(host: endpoint.label, reason: "session closed") }
        while true {
            let rc = operation()
            guard rc == LIBSSH2_ERROR_EAGAIN else { return rc }
            try wait(session, deadline: deadline, timeout: timeout)
        }
    }

    /// Like `retry` for calls that return a pointer, NULL with EAGAIN meaning "again".
    func retryPointer<T>(deadline: Deadline, timeout: SSHError? = nil, _ operation: () -> T?) throws(SSHError) -> T? {
        guard let session else { throw .connectionLost(host: endpoint.label, reason: "session closed") }
        while true {
            if let value = operation() { return value }
            guard LibSSH2.lastErrno(session) == LIBSSH2_ERROR_EAGAIN else { return nil }
            try wait(session, deadline: deadline, timeout: timeout ?? authTimeout)
        }
    }

    func wait(_ session: OpaquePointer, deadline: Deadline, timeout: SSHError, writable: Bool = false) throws(SSHError) {
        // Behind a jump host, bytes that moved inside the tunnel are work to
        // do now; the deadline still holds (a host that keeps sending
        // packets that are no output must not keep a command alive).
        if let tunnel, tunnel.advance() {
            guard deadline.remainingMilliseconds > 0 else { throw timeout }
            return
        }
        // Behind a jump host the bytes arrive on the outermost connection's
        // socket, in the direction that session is blocked in.
        let directions = tunnel == nil ? libssh2_session_block_directions(session) : rootDirections
        var events: Int16 = writable && tunnel == nil ? Int16(POLLOUT) : 0
        if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        if events == 0 { events = Int16(POLLIN) }
        // Sleep until the socket moves or the caller's deadline, unless a
        // test or the stress harness (`--repoll`) sets an interval after
        // which libssh2 is asked again.
        let slice = recheckInterval.map { Deadline(seconds: min($0, max(deadline.remainingSeconds, 0.001))) } ?? deadline
        switch Self.poll(fd: rootSocket, events: events, deadline: slice) {
        case .ready: return
        case .timedOut where deadline.remainingMilliseconds > 0: return
        case .timedOut: throw timeout
        case .failed(let code): throw .connectionLost(host: endpoint.label, reason: String(cString: strerror(code)))
        }
    }

    enum PollResult { case ready, timedOut, failed(Int32) }

    /// The re-poll interval the transport used before the stall was found
    /// (``recheckInterval``; `keysync-bench stress --repoll`).
    public static let repollInterval = 0.1

    static func poll(fd: Int32, events: Int16, deadline: Deadline) -> PollResult {
        while true {
            let remaining = deadline.remainingMilliseconds
            guard remaining > 0 else { return .timedOut }
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let rc = Foundation.poll(&descriptor, 1, remaining)
            if rc > 0 { return .ready }
            if rc == 0 { return .timedOut }
            if errno != EINTR { return .failed(errno) }
        }
    }
}

private extension Int32 {
    /// Throws `error()` unless this libssh2 return code is success.
    func orThrow(_ error: () -> SSHError) throws(SSHError) {
        if self != 0 { throw error() }
    }
}
