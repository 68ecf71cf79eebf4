import Foundation
import Testing
@testable import KeySync

/// The libssh2 transport against real sshd hosts (issue 3).
@Suite(.serialized) struct SSHTransportTests {
    let fleet: TestFleet

    init() throws { fleet = try TestFleet.shared(minimumHosts: 20) }

    func endpoint(_ index: Int, knownHosts: String? = nil, accept: Bool = false, timeout: Double = 10) -> SSHEndpoint {
        let host = fleet.hosts[index]
        let path = knownHosts ?? fleet.knownHostsPath
        return SSHEndpoint(name: host.name, address: host.address, port: host.port, user: fleet.user,
                           connectTimeout: timeout, hostKeyPolicy: accept ? .acceptNew(path: path) : .knownHosts(path: path))
    }

    /// The stall (issue 24; docs/sync.md, "The stall"): every libssh2 channel
    /// read first empties the socket into libssh2's queue, so the stderr read
    /// of a pump pass can take the host's last output, EOF and close after
    /// the stdout read of that pass said EAGAIN. A pause of 1 s between the
    /// two reads makes that happen every time: the first pass sends EOF (a
    /// step forward), the command ends 1.5 s in, inside the second pass's
    /// pause, and prints nothing on stderr. With the 100 ms re-poll off, a
    /// pump that trusted the stdout read's EAGAIN would then poll a socket
    /// the host never writes to again and throw `commandTimeout`; the pump
    /// must find the output in libssh2's queue.
    @Test func outputTheStderrReadQueuedIsNotWaitedFor() throws {
        let connection = try connected(2)
        connection.pauseBetweenReads = 1
        for (command, text) in [("printf x", "x"), ("head -c 100000 /dev/zero | tr '\\0' y", String(repeating: "y", count: 100_000))] {
            let result = try connection.exec("sleep 1.5; \(command)", timeout: 30)
            #expect(result.stdoutText == text && result.stderr.isEmpty && result.exitStatus == 0, "\(command)")
        }
    }

    /// The same stall in the other direction. libssh2 refuses a write
    /// while the host's window is closed; the host's window adjust can then
    /// be taken off the socket by the pass's reads, after which the socket
    /// stays quiet (the host waits for our data). Here the host sleeps
    /// before it reads stdin, so 3 MiB fill its 2 MiB window, and the pump
    /// pauses 1 s after the refused write: the adjust arrives in the pause
    /// and the stdout read applies it. With the re-poll off, a pump that
    /// then waited on the socket would sit out its timeout; it must see
    /// the open window and write on.
    @Test func aWindowTheReadsOpenedIsWrittenInto() throws {
        let connection = try connected(3)
        connection.pauseAfterClosedWindow = 1
        let input = [UInt8](repeating: UInt8(ascii: "w"), count: 3 << 20)
        let result = try connection.exec("sleep 0.3; wc -c", stdin: input, timeout: 30)
        #expect(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "\(3 << 20)" && result.exitStatus == 0,
                "\(result.stdoutText) exit \(result.exitStatus)")
    }

    @Test func twentyHostsInParallelRunSudo() throws {
        let identity = try SSHIdentity.load(.file(path: fleet.keyPath(.ed25519)))
        let verifier = HostKeyVerifier()
        let results = ParallelRunner(width: 8).run(Array(0..<20)) { index -> Result<String, SSHError> in
            Result { () throws(SSHError) -> String in
                let connection = try SSHConnection(endpoint: endpoint(index), hostKeys: verifier)
                try connection.authenticate(with: identity)
                return try connection.exec("sudo -n id -u", timeout: 10).stdoutText
            }
        }
        #expect(results.count == 20)
        for result in results {
            #expect(try result.get() == "0\n")
        }
    }

    @Test(arguments: TestFleet.KeyKind.allCases)
    func logsInWithEveryKeyType(_ kind: TestFleet.KeyKind) throws {
        let identity = try SSHIdentity.load(.file(path: fleet.keyPath(kind)))
        let connection = try SSHConnection(endpoint: endpoint(1), hostKeys: HostKeyVerifier())
        try connection.authenticate(with: identity)
        #expect(try connection.exec("sudo -n id -u", timeout: 10).stdoutText == "0\n")
        // sshd agrees on the algorithm: RSA keys must have been signed with rsa-sha2, never SHA-1.
        if kind == .rsa || kind == .rsaPEM {
            let log = try String(contentsOfFile: "\(fleet.directory)/h1/sshd.log", encoding: .utf8)
            #expect(!log.contains("signature algorithm ssh-rsa not in PubkeyAcceptedAlgorithms"))
        }
    }

    /// Every way a key file reaches keysync's own signer (parsed once, one
    /// signature per connection), plus the libssh2 path for an encrypted
    /// OpenSSH key: sshd accepts the login and logs the algorithm it verified.
    @Test(arguments: [
        ("ed25519 OpenSSH", ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""], "ED25519"),
        ("ecdsa-256 OpenSSH", ["ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", ""], "ECDSA"),
        ("ecdsa-384 OpenSSH", ["ssh-keygen", "-q", "-t", "ecdsa", "-b", "384", "-N", ""], "ECDSA"),
        ("ecdsa-521 OpenSSH", ["ssh-keygen", "-q", "-t", "ecdsa", "-b", "521", "-N", ""], "ECDSA"),
        ("ecdsa-384 PEM", ["ssh-keygen", "-q", "-t", "ecdsa", "-b", "384", "-m", "PEM", "-N", ""], "ECDSA"),
        ("rsa-2048 PKCS8", ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PKCS8", "-N", ""], "RSA"),
        ("ed25519 PKCS8 PEM (openssl)", ["openssl-ed25519"], "ED25519"),
        ("ed25519 OpenSSH, encrypted", ["ssh-keygen", "-q", "-t", "ed25519", "-N", "sesame"], "ED25519"),
    ])
    func logsInWithOwnSigner(_ name: String, _ generate: [String], _ logged: String) throws {
        let workspace = try Workspace()
        let key = workspace.file("id")
        if generate == ["openssl-ed25519"] {
            #expect(try TestFleet.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key]).succeeded)
            #expect(try TestFleet.run(["chmod", "600", key]).succeeded)
            // ssh-keygen cannot read ed25519 PEM: the public key is the last 32 bytes of its SPKI DER.
            let der = try TestFleet.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER", "-out", key + ".der"])
            try #require(der.succeeded, "\(der)")
            let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: key + ".der"))).suffix(32)
            var blob = SSHWireWriter()
            blob.string("ssh-ed25519")
            blob.string(Array(raw))
            try ("ssh-ed25519 \(Data(blob.bytes).base64EncodedString()) id\n").write(toFile: key + ".pub", atomically: true, encoding: .utf8)
        } else {
            let made = try TestFleet.run(generate + ["-C", "id", "-f", key])
            try #require(made.succeeded, "\(made)")
        }
        let host = 13, account = "signers"
        let publicLine = try String(contentsOfFile: key + ".pub", encoding: .utf8)
        try fleet.exec(host: host, ["sh", "-c", """
            id \(account) >/dev/null 2>&1 || useradd -m -p '*' -s /bin/sh \(account)
            install -d -o \(account) -g \(account) -m 700 /home/\(account)/.ssh
            cat > /home/\(account)/.ssh/authorized_keys && chown \(account): /home/\(account)/.ssh/authorized_keys
            """], stdin: Data(publicLine.utf8))
        let identity = try SSHIdentity.load(.file(path: key), passphrase: { "sesame" })
        #expect(identity.publicKey?.blob == (try workspace.publicKey("id")).blob, "the identity's public key is the file's")
        let host13 = fleet.hosts[host]
        let connection = try SSHConnection(
            endpoint: SSHEndpoint(name: host13.name, address: host13.address, port: host13.port, user: account,
                                  connectTimeout: 10, hostKeyPolicy: .knownHosts(path: fleet.knownHostsPath)),
            hostKeys: HostKeyVerifier())
        try connection.authenticate(with: identity)
        #expect(try connection.exec("id -un", timeout: 10).stdoutText == "\(account)\n")
        let log = try String(contentsOfFile: "\(fleet.directory)/h\(host)/sshd.log", encoding: .utf8)
        #expect(log.contains("Accepted publickey for \(account)"), "\(name)")
        #expect(log.split(separator: "\n").last { $0.contains("Accepted publickey for \(account)") }?.contains(" \(logged) SHA256:") == true)
    }

    @Test func logsInThroughSSHAgentWithRSA() throws {
        let workspace = try Workspace()
        let socket = workspace.file("agent.sock")
        // ssh-agent in the foreground (-D), owned by this test and killed by PID at the end.
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-agent")
        agent.arguments = ["-D", "-a", socket]
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        defer {
            kill(agent.processIdentifier, SIGKILL)
            agent.waitUntilExit()
        }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(50_000) }
        let add = try TestFleet.run(["ssh-add", fleet.keyPath(.rsa)], environment: ["SSH_AUTH_SOCK": socket])
        #expect(add.succeeded, "\(add)")
        let identity = try SSHIdentity.load(.agent(socketPath: socket))
        let connection = try SSHConnection(endpoint: endpoint(2), hostKeys: HostKeyVerifier())
        try connection.authenticate(with: identity)
        #expect(try connection.exec("id -un", timeout: 10).stdoutText == "\(fleet.user)\n")
    }

    /// The key the server accepted is known after authentication: with an
    /// agent whose first key is refused, the second (the one that logged in),
    /// for the lockout guard; with a key file, that file's key.
    @Test func authenticatedKeyIsTheAgentKeyThatLoggedIn() throws {
        let workspace = try Workspace()
        let stranger = try workspace.generateKey("stranger")
        let agent = try SSHAgentProcess(socket: workspace.file("agent.sock"), keys: [stranger, fleet.keyPath(.ecdsa)])
        defer { agent.stop() }
        let fingerprints = try agent.fingerprints()
        #expect(fingerprints.count == 2)
        let viaAgent = try SSHConnection(endpoint: endpoint(8), hostKeys: HostKeyVerifier())
        #expect(viaAgent.authenticatedKey == nil)
        try viaAgent.authenticate(with: try SSHIdentity.load(.agent(socketPath: agent.socket)))
        #expect(viaAgent.authenticatedKey?.fingerprint == fingerprints.last)
        #expect(viaAgent.authenticatedKey?.type == "ecdsa-sha2-nistp256")

        let file = try SSHIdentity.load(.file(path: fleet.keyPath(.ed25519)))
        let viaFile = try SSHConnection(endpoint: endpoint(8), hostKeys: HostKeyVerifier())
        try viaFile.authenticate(with: file)
        #expect(viaFile.authenticatedKey?.fingerprint == file.publicKey?.fingerprint && file.publicKey != nil)
    }

    @Test func oneMebibyteThroughCatIsIntact() throws {
        let identity = try SSHIdentity.load(.file(path: fleet.keyPath(.ed25519)))
        let connection = try SSHConnection(endpoint: endpoint(3), hostKeys: HostKeyVerifier())
        try connection.authenticate(with: identity)
        var generator = SystemRandomNumberGenerator()
        let payload = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let result = try connection.exec("cat", stdin: payload, timeout: 30)
        #expect(result.exitStatus == 0)
        #expect(result.stdout == payload)
        // And a large output with a small input.
        let big = try connection.exec("head -c 1048576 /dev/zero", timeout: 30)
        #expect(big.stdout.count == 1 << 20)
    }

    @Test func changedHostKeyIsRefusedBeforeAnythingIsSent() throws {
        let workspace = try Workspace()
        let other = try workspace.generateKey("fake_host_key")
        let fakeLine = try String(contentsOfFile: other + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        try workspace.write("known_hosts", "\(fleet.hosts[4].address) \(fakeLine)\n")
        #expect {
            _ = try SSHConnection(endpoint: endpoint(4, knownHosts: workspace.file("known_hosts")), hostKeys: HostKeyVerifier())
        } throws: { error in
            guard case SSHError.hostKeyMismatch(let host, let type, _, _)? = error as? SSHError else { return false }
            return host.contains(fleet.hosts[4].address) && type == "ssh-ed25519"
        }
    }

    @Test func unknownHostIsRefusedAndAcceptNewRecordsIt() throws {
        let workspace = try Workspace()
        let path = workspace.file("known_hosts")
        #expect(throws: SSHError.self) {
            _ = try SSHConnection(endpoint: endpoint(5, knownHosts: path), hostKeys: HostKeyVerifier())
        }
        let accepted = try SSHConnection(endpoint: endpoint(5, knownHosts: path, accept: true), hostKeys: HostKeyVerifier())
        #expect(accepted.acceptedHostKey?.fingerprint.hasPrefix("SHA256:") == true)
        #expect(accepted.acceptedHostKey?.keyType == "ssh-ed25519" && accepted.acceptedHostKey?.knownHosts == path)
        // The appended line is now trusted by a strict connection, and hashed entries work too.
        _ = try SSHConnection(endpoint: endpoint(5, knownHosts: path), hostKeys: HostKeyVerifier())
        let hashed = try TestFleet.run(["ssh-keygen", "-H", "-f", path])
        #expect(hashed.succeeded)
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("|1|"))
        _ = try SSHConnection(endpoint: endpoint(5, knownHosts: path), hostKeys: HostKeyVerifier())
    }

    @Test func refusedKeyGivesTypedAuthError() throws {
        let workspace = try Workspace()
        let stranger = try workspace.generateKey("stranger")
        let identity = try SSHIdentity.load(.file(path: stranger))
        let connection = try SSHConnection(endpoint: endpoint(6), hostKeys: HostKeyVerifier())
        #expect {
            try connection.authenticate(with: identity)
        } throws: { error in
            guard case SSHError.authFailed(_, let user, let reason)? = error as? SSHError else { return false }
            return user == fleet.user && reason.contains("ssh-ed25519") && reason.contains("SHA256:")
        }
    }

    @Test func closedPortAndSilentListenerFailAloneWithinTheirTimeouts() throws {
        let silent = try TestListener(.silent, address: fleet.spareAddress(1))
        let closed = SSHEndpoint(name: "closed", address: fleet.spareAddress(2), port: 22, user: fleet.user,
                                 connectTimeout: 3, hostKeyPolicy: .knownHosts(path: fleet.knownHostsPath))
        let hanging = SSHEndpoint(name: "silent", address: silent.address, port: silent.port, user: fleet.user,
                                  connectTimeout: 2, hostKeyPolicy: .knownHosts(path: fleet.knownHostsPath))
        let endpoints = [hanging, closed] + (7..<12).map { endpoint($0) }
        let identity = try SSHIdentity.load(.file(path: fleet.keyPath(.ed25519)))
        let verifier = HostKeyVerifier()
        let started = Date()
        let results = ParallelRunner(width: 8).run(endpoints) { endpoint -> Result<String, SSHError> in
            Result { () throws(SSHError) -> String in
                let connection = try SSHConnection(endpoint: endpoint, hostKeys: verifier)
                try connection.authenticate(with: identity)
                return try connection.exec("true", timeout: 10).stdoutText
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        guard case .failure(.handshakeTimeout(_, let seconds)) = results[0] else {
            Issue.record("silent listener: \(results[0])"); return
        }
        #expect(seconds == 2)
        guard case .failure(.connectFailed(_, let reason)) = results[1] else {
            Issue.record("closed port: \(results[1])"); return
        }
        #expect(reason.contains("refused"))
        for result in results.dropFirst(2) { #expect((try? result.get()) == "") }
        // The silent host costs its own timeout, not more (generous bound: a shared, noisy machine).
        #expect(elapsed < 30)
    }

    @Test func commandDeadlineStopsAHangingCommand() throws {
        let identity = try SSHIdentity.load(.file(path: fleet.keyPath(.ed25519)))
        let connection = try SSHConnection(endpoint: endpoint(12), hostKeys: HostKeyVerifier())
        try connection.authenticate(with: identity)
        #expect {
            _ = try connection.exec("sleep 30", timeout: 1)
        } throws: { error in
            if case SSHError.commandTimeout(_, 1)? = error as? SSHError { return true }
            return false
        }
    }

    // MARK: One command, two steps (probe and apply in one root shell)

    /// `sudo -n sh -s` on `connection` with its first step read (`reply`,
    /// then the nonce end line): the shared shell, waiting for more.
    func shellAfterFirstStep(on connection: SSHConnection, nonce: String) throws -> RemoteCommand {
        let command = try connection.start("sudo -n sh -s", timeout: 30)
        command.send(Array("echo reply; printf '@end %s\\n' \(nonce)\n".utf8))
        #expect(try command.read(untilStdoutEndsWith: ProbeScript.endMarker(nonce: nonce)))
        return command
    }

    /// A logged-in connection to host `index` with no re-poll: the tests of
    /// the pump must not need it (docs/sync.md, "The stall").
    func connected(_ index: Int) throws -> SSHConnection {
        let identity = try SSHIdentity.load(.file(path: fleet.keyPath(.ed25519)))
        let connection = try SSHConnection(endpoint: endpoint(index), hostKeys: HostKeyVerifier())
        try connection.authenticate(with: identity)
        connection.recheckInterval = nil
        return connection
    }

    /// The probe's shell is read up to its nonce end line, then takes the
    /// apply. Lines that only look like the end (no nonce, another nonce,
    /// the nonce with more after it, the end line not at a line start),
    /// printed apart so each can end a chunk, do not end the read; the
    /// controller's time between the steps (planning) is longer than the
    /// first step's deadline and does not count against the second.
    @Test func aShellReadUpToItsNonceLineTakesMoreInputWithItsOwnDeadline() throws {
        let connection = try connected(3)
        let nonce = ProbeScript.makeNonce()
        let command = try connection.start("sudo -n sh -s", timeout: 4)
        let lookalikes = ["@end", "@end 00000000000000000000000000000000", "@end \(nonce)x", "x@end \(nonce)", "@end  \(nonce)"]
        command.send(Array((lookalikes.map { "printf '%s\\n' '\($0)'; sleep 0.2\n" }.joined() + "printf '@end %s\\n' \(nonce)\n").utf8))
        #expect(try command.read(untilStdoutEndsWith: ProbeScript.endMarker(nonce: nonce)))
        let first = lookalikes.map { $0 + "\n" }.joined() + "@end \(nonce)\n"
        #expect(String(decoding: command.stdout, as: UTF8.self) == first)
        sleep(5)
        command.restart(timeout: 10, outputLimit: 1 << 20)
        command.send(Array("id -u\n".utf8))
        let result = try command.finish()
        #expect(result.stdoutText == first + "0\n" && result.exitStatus == 0, "\(result.stderrText)")
    }

    /// The second step of the conversation hangs: it fails with its own
    /// timeout, as a `commandTimeout` naming those seconds.
    @Test func aHangingSecondStepTimesOutWithItsOwnTimeout() throws {
        let connection = try connected(5)
        let command = try shellAfterFirstStep(on: connection, nonce: ProbeScript.makeNonce())
        command.restart(timeout: 1, outputLimit: 1 << 20)
        command.send(Array("sleep 30\n".utf8))
        #expect {
            _ = try command.finish()
        } throws: { error in
            if case SSHError.commandTimeout(_, 1)? = error as? SSHError { return true }
            return false
        }
    }

    /// Behind a jump host nothing waits for a re-poll either (docs/sync.md,
    /// "The stall"): the tunnel connection has none, and 4 MiB into `wc -c`
    /// (twice the windows of both the jump host's channel and the host's own,
    /// so writes wait for their adjusts), 1 MiB both ways through `cat`, and
    /// the shared shell's two steps all finish; a pump that waited on the
    /// outermost socket for bytes already in the tunnel would sit out the
    /// 30 s timeout and fail with `commandTimeout`.
    @Test func behindAJumpHostNothingWaitsForARepoll() throws {
        let jumpHost = try connected(7)
        let target = fleet.hosts[9]
        let tunnel: SSHTunnel
        do {
            tunnel = try jumpHost.openTunnel(to: target.address, port: target.port, target: target.name, seconds: 10)
        } catch {
            Issue.record("no tunnel through \(fleet.hosts[7].name): \(error)")
            return
        }
        let connection = try SSHConnection(endpoint: endpoint(9), hostKeys: HostKeyVerifier(), through: tunnel)
        try connection.authenticate(with: SSHIdentity.load(.file(path: fleet.keyPath(.ed25519))))
        #expect(connection.recheckInterval == nil)
        let large = [UInt8](repeating: UInt8(ascii: "j"), count: 4 << 20)
        let counted = try connection.exec("sleep 0.3; wc -c", stdin: large, timeout: 30)
        #expect(counted.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "\(4 << 20)" && counted.exitStatus == 0,
                "\(counted.stdoutText) exit \(counted.exitStatus)")
        var generator = SystemRandomNumberGenerator()
        let payload = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(try connection.exec("cat", stdin: payload, timeout: 30).stdout == payload)

        let nonce = ProbeScript.makeNonce()
        let shell = try shellAfterFirstStep(on: connection, nonce: nonce)
        shell.restart(timeout: 30, outputLimit: 1 << 20)
        shell.send(Array("head -c 300000 /dev/zero | wc -c\n".utf8))
        let result = try shell.finish()
        #expect(result.stdoutText == "reply\n@end \(nonce)\n300000\n" && result.exitStatus == 0, "\(result.stdoutText)")
    }

    /// A shell that exits before the marker: the read says so, `finish`
    /// gives its exit status. An abandoned shell (EOF sent, not waited for)
    /// leaves the connection usable for another command.
    @Test func aShellThatEndsWithoutTheMarkerAndAnAbandonedOne() throws {
        let connection = try connected(6)
        let nonce = ProbeScript.makeNonce()
        let failing = try connection.start("sudo -n sh -s", timeout: 30)
        failing.send(Array("echo reply; echo '@end \(nonce)' >&2; exit 3\n".utf8))
        #expect(try failing.read(untilStdoutEndsWith: ProbeScript.endMarker(nonce: nonce)) == false)
        #expect(try failing.finish().exitStatus == 3)

        try shellAfterFirstStep(on: connection, nonce: nonce).abandon()
        #expect(try connection.exec("echo ok", timeout: 30).stdoutText == "ok\n")
    }
}
