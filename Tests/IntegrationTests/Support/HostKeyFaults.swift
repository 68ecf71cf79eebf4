import Foundation
import Testing

extension TestFleet {
    /// Gives host `host` a second host key of `type` (`ecdsa`, `rsa`) beside
    /// its ed25519 one and makes its sshd log at DEBUG1 (which names the host
    /// key algorithm each key exchange chose: `kex: host key algorithm: …`),
    /// then reloads that sshd (SIGHUP by its PID: sshd re-executes itself
    /// with the same PID) and waits until it offers the new key. Returns the
    /// new key as `TYPE BASE64`. Undo with `reset(hosts:)`, which rebuilds the
    /// host with only its ed25519 key.
    func addHostKey(host: Int, type: String) throws -> String {
        let file = "/etc/ssh/ssh_host_\(type)_key"
        let line = try sh(host, """
            ssh-keygen -q -t \(type) -N '' -C h\(host) -f \(file) </dev/null &&
            printf 'HostKey %s\\n' \(file) >> /etc/ssh/sshd_config &&
            sed -i 's/^LogLevel VERBOSE$/LogLevel DEBUG1/' /etc/ssh/sshd_config && grep -q '^LogLevel DEBUG1$' /etc/ssh/sshd_config &&
            cut -d' ' -f1,2 \(file).pub
            """).trimmingCharacters(in: .whitespacesAndNewlines)
        guard kill(try sshdPid(host), SIGHUP) == 0 else { throw FaultSetupError(description: "h\(host): SIGHUP to sshd failed") }
        for _ in 0..<100 {
            let scan = try TestFleet.run(["ssh-keyscan", "-T", "2", "-t", type, hosts[host].address], timeout: 10)
            if scan.stdout.contains(line) { return line }
            usleep(50_000)
        }
        throw FaultSetupError(description: "h\(host): sshd does not offer the new \(type) host key after the reload")
    }

    /// `SHA256:…` of each key in a known_hosts or `.pub` file, by `ssh-keygen -l` (not keysync's code).
    static func fingerprints(ofKeysIn path: String) throws -> [String] {
        let result = try TestFleet.run(["ssh-keygen", "-l", "-E", "sha256", "-f", path])
        guard result.succeeded else { throw FaultSetupError(description: "ssh-keygen -l: \(result)") }
        return result.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
    }

    /// The fleet's known_hosts line (`ADDRESS ssh-ed25519 BASE64`) of host `host`.
    func knownHostsLine(host: Int) throws -> String {
        let address = hosts[host].address
        guard let line = try String(contentsOfFile: knownHostsPath, encoding: .utf8).split(separator: "\n")
            .first(where: { $0.hasPrefix(address + " ") }) else {
            throw FaultSetupError(description: "no line for \(address) in \(knownHostsPath)")
        }
        return String(line)
    }

    /// Lets `account` on host `host` run anything with `sudo -n` (a drop-in
    /// in that host's private /etc), so keysync can log in as that account.
    /// Returns the fault whose `undo()` removes the drop-in again.
    func grantSudo(host: Int, account: String) throws -> InjectedFault {
        let file = "/etc/sudoers.d/ks-\(account)"
        try sh(host, "printf '%s ALL=(ALL) NOPASSWD: ALL\\n' \(account) > \(file) && chmod 0440 \(file) && visudo -cq")
        return InjectedFault(host: host, name: "sudo for \(account)", fleet: self, undoScript: "rm -f \(file)")
    }
}

/// A real `ssh-agent -D -a SOCKET` started by the test, holding keys added
/// with `ssh-add` in the given order; stopped by its PID.
final class SSHAgentProcess {
    let socket: String
    private let process: Process

    init(socket: String, keys: [String]) throws {
        self.socket = socket
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ssh-agent", "-D", "-a", socket]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try spawnWithDefaultSignalMask(process)
        self.process = process
        var ready = false
        for _ in 0..<200 where !ready {
            ready = FileManager.default.fileExists(atPath: socket)
            if !ready { usleep(25_000) }
        }
        guard ready else {
            stop()
            throw FaultSetupError(description: "ssh-agent did not create \(socket)")
        }
        for key in keys {
            let added = try TestFleet.run(["ssh-add", "-q", key], environment: ["SSH_AUTH_SOCK": socket])
            guard added.succeeded else {
                stop()
                throw FaultSetupError(description: "ssh-add \(key): \(added)")
            }
        }
    }

    /// `SHA256:…` of the agent's keys, in the order the agent lists them.
    func fingerprints() throws -> [String] {
        let listed = try TestFleet.run(["ssh-add", "-l", "-E", "sha256"], environment: ["SSH_AUTH_SOCK": socket])
        guard listed.succeeded else { throw FaultSetupError(description: "ssh-add -l: \(listed)") }
        return listed.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}
