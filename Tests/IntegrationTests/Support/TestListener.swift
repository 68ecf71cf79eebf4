import Foundation

/// A TCP listener on a spare loopback address that misbehaves in one way
/// (see ``Behaviour``). It runs as a `python3` child process, ends by itself
/// after `lifetime` seconds, and is stopped by PID with ``stop()`` (or when
/// released).
///
/// ```swift
/// let hang = try TestListener(.silent, address: fleet.spareAddress(0))
/// // connect to hang.address:hang.port; expect a banner timeout
/// ```
final class TestListener {
    enum Behaviour {
        /// Accepts connections and never sends a byte: the host that hangs after connect.
        case silent
        /// Sends an SSH banner, reads what the client sends, then closes the
        /// connection: a host that dies mid-handshake.
        case bannerThenClose

        /// The body of the listener's accept loop, in Python (indented for it).
        fileprivate var loop: String {
            switch self {
            case .silent:
                return """
                        try:
                            held.append(s.accept()[0])
                        except socket.timeout:
                            pass
                    """
            case .bannerThenClose:
                return """
                        try:
                            c = s.accept()[0]
                        except socket.timeout:
                            continue
                        try:
                            c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\\r\\n")
                            c.settimeout(1.0)
                            c.recv(65536)  # the client's banner and key exchange init
                        except OSError:
                            pass
                        c.close()
                    """
            }
        }

        fileprivate var name: String { self == .silent ? "silent listener" : "banner-then-close listener" }
    }

    /// Address it listens on.
    let address: String
    /// Port it listens on.
    let port: Int
    private let process: Process

    /// Starts listening on `address:port` and returns once the socket is bound.
    init(_ behaviour: Behaviour, address: String, port: Int = 22, lifetime: TimeInterval = 300) throws {
        precondition(address.hasPrefix("127."), "test listeners stay on loopback")
        self.address = address
        self.port = port
        let script = """
            import socket, sys, time
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((sys.argv[1], int(sys.argv[2])))
            s.listen(256)
            s.settimeout(0.5)
            print("ready", flush=True)
            held, end = [], time.time() + float(sys.argv[3])
            while time.time() < end:
            \(behaviour.loop)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["--default-signal=PIPE", "python3", "-c", script, address, String(port), String(lifetime)]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try spawnWithDefaultSignalMask(process)
        } catch {
            throw CommandError.launchFailed(argv: ["python3", "(\(behaviour.name))"], reason: "\(error)")
        }
        self.process = process
        // The first line is "ready" once bound; EOF means it failed (address in use…).
        let line = out.fileHandleForReading.availableData
        guard String(decoding: line, as: UTF8.self).hasPrefix("ready") else {
            process.waitUntilExit()
            let reason = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw CommandError.launchFailed(argv: ["python3", "(\(behaviour.name) on \(address):\(port))"], reason: reason)
        }
    }

    /// Stops the listener (by its PID) and waits for it to exit.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}

extension TestFleet {
    /// The `n`-th loopback address beside the fleet that no host uses
    /// (`127.<base>.255.<n+1>`; hosts stop at `127.<base>.49.x`), for
    /// listeners and closed-port tests.
    func spareAddress(_ n: Int) -> String {
        precondition((0..<254).contains(n), "spare addresses are 0..<254")
        return "127.\(base).255.\(n + 1)"
    }
}
