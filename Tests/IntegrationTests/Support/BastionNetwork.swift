import Foundation

/// A network namespace (`ksreach-…`, its own loopback) where copies of fleet
/// hosts' sshd listen, so the controller cannot reach them, and a bastion
/// that joins it: a fleet host's sshd running inside the namespace, reached
/// from the controller's side through a forwarder (a `python3` child whose
/// listening socket was bound before it entered the namespace). The bastion
/// therefore forwards `direct-tcpip` into the namespace, as a jump host at
/// the edge of a private network does.
///
/// Each copy runs in its fleet host's mount namespace (same `/etc`, `/home`,
/// host key), listens on the host's address and `port` inside the namespace
/// only, and logs to a file of ``directory``. Everything is stopped by PID
/// and the namespace deleted by ``stop()`` (or when released).
final class BastionNetwork: @unchecked Sendable {
    let fleet: TestFleet
    /// `ksreach-<pid>-<n>`.
    let name: String
    /// Logs of the sshd copies.
    let directory: String
    private var processes: [Process] = []
    private static let counter = LockedState(0)

    init(fleet: TestFleet) throws {
        self.fleet = fleet
        let n = Self.counter.withLock { value in value += 1; return value }
        // KEYSYNC_NETNS_PREFIX keeps helpers sharing one machine apart (and their leftovers findable).
        let prefix = ProcessInfo.processInfo.environment["KEYSYNC_NETNS_PREFIX"].flatMap { $0.isEmpty ? nil : $0 } ?? "ksreach"
        name = "\(prefix)-\(getpid())-\(n)"
        directory = NSTemporaryDirectory() + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.must(["ip", "netns", "add", name])
        try Self.must(["ip", "-n", name, "link", "set", "lo", "up"])
    }

    deinit { stop() }

    /// Starts host `index`'s sshd inside the namespace on its address and
    /// `port` (besides port 22 there). Returns its log file.
    @discardableResult
    func startHost(_ index: Int, port: Int) throws -> String {
        let host = try fleet.host(index)
        return try startCopy(index, listen: "\(host.address):\(port)", logName: "\(port)", inNamespace: true)
    }

    /// Starts another sshd of host `index` (its mount namespace: same
    /// `/etc`, `/home`, host key) listening on `listen` (`ADDR:PORT` or
    /// `[ADDR]:PORT`), inside the namespace or, with `inNamespace: false`,
    /// beside the fleet. Returns its log file.
    @discardableResult
    func startCopy(_ index: Int, listen: String, logName: String, inNamespace: Bool) throws -> String {
        // The pid now, not the one loaded with the fleet: another suite may have reset the host since.
        let pid = try fleet.sshdPid(index)
        // Logged with -E to the host's private /tmp (read from the fleet folder).
        let inside = "/tmp/\(name)-\(logName).log"
        let log = "\(fleet.directory)/h\(index)\(inside)"
        try? FileManager.default.removeItem(atPath: log)
        let errors = "\(directory)/\(logName)-\(index).stderr"
        // Through a shell that waits for sshd: Foundation takes a child for
        // ended when a socket it inherited closes, and sshd closes every
        // inherited descriptor at start (Foundation would then block in
        // waitpid and reap no other child). TERM to the shell stops sshd.
        let process = try launch(stderr: errors, ["nsenter"] + (inNamespace ? ["--net=/run/netns/\(name)"] : []) + ["-t", String(pid), "-m", "--", "sh", "-c",
                    "/usr/sbin/sshd -D -E \"$1\" -f /etc/ssh/sshd_config -o AddressFamily=any -o \"ListenAddress=$2\" & child=$!; trap 'kill $child' TERM; wait $child",
                    "sshd-copy", inside, listen])
        let shown = listen.hasPrefix("[") ? listen.dropFirst().replacingOccurrences(of: "]:", with: " port ")
            : listen.replacingOccurrences(of: ":", with: " port ")
        try waitListening(log, shown, process: process, errors: errors)
        return log
    }

    /// Makes host `index` the bastion: its sshd copy inside the namespace on
    /// port 22, reached from the controller's side on the host's address and `port`.
    func startBastion(_ index: Int, port: Int) throws -> Process {
        let host = try fleet.host(index)
        try startHost(index, port: 22)
        return try forward(from: host.address, port, to: host.address, 22)
    }

    /// A forwarder from `address:port` on the controller's side to `target:targetPort` in the namespace.
    func forward(from address: String, _ port: Int, to target: String, _ targetPort: Int) throws -> Process {
        let script = """
            import ctypes, os, socket, sys, threading
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((sys.argv[1], int(sys.argv[2])))
            s.listen(256)
            fd = os.open(sys.argv[3], os.O_RDONLY)
            if ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000) != 0:
                raise OSError(ctypes.get_errno(), "setns")
            print("ready", flush=True)
            def pipe(a, b):
                try:
                    while True:
                        data = a.recv(65536)
                        if not data:
                            break
                        b.sendall(data)
                except OSError:
                    pass
                for sock, how in ((b, socket.SHUT_WR), (a, socket.SHUT_RD)):
                    try:
                        sock.shutdown(how)
                    except OSError:
                        pass
            while True:
                c, _ = s.accept()
                try:
                    u = socket.create_connection((sys.argv[4], int(sys.argv[5])))
                except OSError:
                    c.close()
                    continue
                threading.Thread(target=pipe, args=(c, u), daemon=True).start()
                threading.Thread(target=pipe, args=(u, c), daemon=True).start()
            """
        let out = Pipe()
        let process = try launch(["python3", "-c", script, address, String(port), "/run/netns/\(name)", target, String(targetPort)],
                                 stdout: out)
        let line = out.fileHandleForReading.availableData
        guard String(decoding: line, as: UTF8.self).hasPrefix("ready") else {
            throw WorkspaceError.command("forwarder \(address):\(port) → \(name) \(target):\(targetPort) did not start")
        }
        return process
    }

    /// `[address]:port ssh-ed25519 KEY` for host `index` (its host key, as known_hosts wants it for a port other than 22);
    /// `name` instead of the host's address when given (`::1`, a DNS name).
    func knownHostsLine(_ index: Int, port: Int, keyOf keyIndex: Int? = nil, name: String? = nil) throws -> String {
        let address = try name ?? fleet.host(index).address
        let pub = try String(contentsOfFile: "\(fleet.directory)/h\(keyIndex ?? index)/etc/ssh/ssh_host_ed25519_key.pub", encoding: .utf8)
        let fields = pub.split(separator: " ")
        return "[\(address)]:\(port) \(fields[0]) \(fields[1])"
    }

    /// Stops what this network started (by PID) and deletes the namespace.
    func stop() {
        for process in processes.reversed() where process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        processes = []
        _ = try? CommandRunner.run(["ip", "netns", "delete", name], timeout: 30)
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: -

    @discardableResult
    private func launch(stderr: String? = nil, _ argv: [String], stdout: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["--default-signal=PIPE"] + argv
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout ?? FileHandle.nullDevice
        if let stderr, FileManager.default.createFile(atPath: stderr, contents: nil), let handle = FileHandle(forWritingAtPath: stderr) {
            process.standardError = handle
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try spawnWithDefaultSignalMask(process)
        processes.append(process)
        return process
    }

    /// Waits for `Server listening on ADDR port PORT.` (`shown`) in `log`;
    /// fails at once, with what nsenter or sshd said, when `process` ends.
    private func waitListening(_ log: String, _ shown: String, process: Process, errors: String) throws {
        for _ in 0..<200 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if text.contains("Server listening on \(shown).") { return }
            if !process.isRunning { break }
            usleep(50_000)
        }
        let said = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        let logged = (try? String(contentsOfFile: log, encoding: .utf8)) ?? "(no log \(log))"
        throw WorkspaceError.command("sshd copy on \(shown) (\(name)) is not listening"
            + (process.isRunning ? "" : " (exited \(process.terminationStatus))") + ": stderr \(said.debugDescription), log \(logged.debugDescription)")
    }

    private static func must(_ argv: [String]) throws {
        let result = try CommandRunner.run(argv, timeout: 30)
        guard result.succeeded else { throw WorkspaceError.command("\(result)") }
    }
}
