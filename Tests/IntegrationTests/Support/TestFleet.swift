import Foundation
import Synchronization

/// The real-sshd test fleet that `Scripts/testfleet` runs on loopback
/// addresses (see README.md, "How the test fleet works").
///
/// Integration tests call ``shared(minimumHosts:)`` once per test; the first
/// call in a process makes sure the fleet is up (starting it with
/// `Scripts/testfleet up N` when it is missing or too small), later calls reuse
/// it. A fleet this process started itself is stopped when the process exits,
/// unless `KEYSYNC_FLEET_KEEP=1`; a fleet that was already there (for example
/// the one `Scripts/test` starts) is left to whoever started it.
///
/// Tests are never skipped for want of hosts: when the fleet cannot start,
/// ``shared(minimumHosts:)`` throws an error that carries the script's output.
struct TestFleet: Sendable {
    /// One sshd host of the fleet.
    struct Host: Sendable, Hashable, Codable {
        /// 0-based index, as used by `Scripts/testfleet exec I` and `addr I`.
        let index: Int
        /// `h<index>`.
        let name: String
        /// Loopback address the host's sshd listens on, `127.<base>.<i/200>.<i%200+1>`.
        let address: String
        /// Always 22.
        let port: Int
        /// PID of the host's listening sshd when this process loaded `hosts.json`.
        /// Stale once any suite resets or restarts the host: use
        /// ``TestFleet/sshdPid(_:)`` for the one running now.
        let pid: Int32?
    }

    /// The admin client keys (unencrypted) that every host authorizes for ``user`` and root.
    enum KeyKind: String, CaseIterable, Sendable, CustomStringConvertible {
        case ed25519
        case ecdsa
        /// RSA 3072, OpenSSH private key format.
        case rsa
        /// RSA 3072, PEM (PKCS#1) private key format.
        case rsaPEM = "rsa_pem"

        var description: String { rawValue }
    }

    /// The fleet directory (`$KEYSYNC_FLEET_DIR`, default `/tmp/keysync-fleet`).
    let directory: String
    /// Hosts in index order.
    let hosts: [Host]
    /// OpenSSH known_hosts file with every host's ed25519 host key.
    let knownHostsPath: String
    /// Private key file for each admin key kind (`.pub` beside it).
    let keyPaths: [KeyKind: String]
    /// Admin login on every host (`ops`, uid 2000, passwordless sudo).
    let user: String
    /// Second octet of the host addresses (`KEYSYNC_FLEET_BASE`).
    let base: Int

    /// Path of the private key of `kind`.
    func keyPath(_ kind: KeyKind) -> String { keyPaths[kind]! }

    /// PID of host `index`'s listening sshd now, from the pid file
    /// `Scripts/testfleet` writes at every start (`up`, `reset`, `authlog`):
    /// the fleet this process loaded may predate a reset by another suite.
    func sshdPid(_ index: Int) throws -> Int32 {
        _ = try host(index)
        let path = "\(directory)/h\(index)/pid"
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        guard let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0 else {
            throw TestFleetError.noRunningSSHD(index: index, pidFile: path, contents: text)
        }
        return pid
    }

    /// The host with `index`, or an error naming the fleet's size.
    func host(_ index: Int) throws -> Host {
        guard hosts.indices.contains(index) else {
            throw TestFleetError.noSuchHost(index: index, count: hosts.count)
        }
        return hosts[index]
    }

    // MARK: - Locations

    /// The repository root, found from this file's location.
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent() // Support
        .deletingLastPathComponent() // IntegrationTests
        .deletingLastPathComponent() // Tests
        .deletingLastPathComponent()

    /// `Scripts/testfleet` in this repository.
    static var script: String { repositoryRoot.appendingPathComponent("Scripts/testfleet").path }

    /// The fleet directory the script uses with this process's environment.
    static var directoryPath: String {
        let env = ProcessInfo.processInfo.environment["KEYSYNC_FLEET_DIR"] ?? ""
        return env.isEmpty ? "/tmp/keysync-fleet" : env
    }

    // MARK: - Getting the fleet

    /// The fleet, with at least `minimumHosts` hosts running. Thread-safe;
    /// starts or grows the fleet at most when needed, and checks once per
    /// process that the hosts it lists really run (`up` restarts dead ones).
    static func shared(minimumHosts: Int = 1) throws -> TestFleet {
        try state.withLock { state in
            if let fleet = state.fleet, fleet.hosts.count >= minimumHosts {
                return fleet
            }
            if let failure = state.failure {
                throw failure // one failed start per process is enough to report
            }
            let hostsFile = directoryPath + "/hosts.json"
            let existedBefore = FileManager.default.fileExists(atPath: hostsFile)
            var wanted = max(minimumHosts, 1)
            if let text = ProcessInfo.processInfo.environment["KEYSYNC_TEST_HOSTS"], let n = Int(text) {
                wanted = max(wanted, n)
            }
            let up = try CommandRunner.run([script, "up", String(wanted)], timeout: 900)
            guard up.succeeded else {
                if !existedBefore {
                    // Leave no half-started fleet behind.
                    _ = try? CommandRunner.run([script, "down"], timeout: 120)
                }
                state.failure = TestFleetError.startFailed(up)
                throw TestFleetError.startFailed(up)
            }
            if !existedBefore, state.fleet == nil, up.stderr.contains(", 0 already running)"),
               ProcessInfo.processInfo.environment["KEYSYNC_FLEET_KEEP"] != "1" {
                state.stopAtExit = true
                atexit { TestFleet.stopIfStartedHere() }
            }
            let fleet = try load(directory: directoryPath)
            guard fleet.hosts.count >= minimumHosts else {
                throw TestFleetError.tooFewHosts(have: fleet.hosts.count, need: minimumHosts)
            }
            state.fleet = fleet
            return fleet
        }
    }

    /// Reads `hosts.json` of the fleet in `directory` as written by `Scripts/testfleet up`.
    static func load(directory: String) throws -> TestFleet {
        let path = directory + "/hosts.json"
        let file: HostsFile
        do {
            file = try JSONDecoder().decode(HostsFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw TestFleetError.unreadableHostsFile(path: path, reason: "\(error)")
        }
        var keys: [KeyKind: String] = [:]
        for kind in KeyKind.allCases {
            guard let path = file.keys[kind.rawValue] else {
                throw TestFleetError.unreadableHostsFile(path: path, reason: "no \"\(kind.rawValue)\" entry in \"keys\"")
            }
            keys[kind] = path
        }
        return TestFleet(
            directory: directory, hosts: file.hosts, knownHostsPath: file.known_hosts,
            keyPaths: keys, user: file.user, base: file.base
        )
    }

    // MARK: - Working with hosts

    /// Runs `args` inside host `host` (its private `/etc`, `/home`, `/root`,
    /// `/tmp`), as root, via `Scripts/testfleet exec`. Use it to set up or
    /// tamper with a host: `fleet.exec(host: 3, ["usermod", "-L", "usersample"])`.
    @discardableResult
    func exec(host: Int, _ args: [String], stdin: Data? = nil, timeout: TimeInterval = 60) throws -> CommandResult {
        _ = try self.host(host)
        precondition(!args.isEmpty, "exec needs a command")
        return try CommandRunner.run([Self.script, "exec", String(host)] + args, stdin: stdin, timeout: timeout)
    }

    /// Rebuilds hosts as `up` first made them (fresh `/etc`, `/home`, `/root`,
    /// `/tmp`; same host key, so known_hosts stays valid) and restarts them,
    /// via `Scripts/testfleet reset`. For tests that tamper with a host.
    func reset(hosts indices: [Int]) throws {
        for index in indices { _ = try host(index) }
        let result = try CommandRunner.run([Self.script, "reset"] + indices.map(String.init), timeout: 120)
        guard result.succeeded else { throw TestFleetError.resetFailed(result) }
    }

    /// Runs `command` on host `host` with the OpenSSH client (tests only; the
    /// product never shells out to `ssh`), logging in as `user` (default: the
    /// admin) with the admin key `key`, host key checked against the fleet's
    /// known_hosts, no agent, no config files.
    func ssh(
        host: Int, key: KeyKind = .ed25519, user: String? = nil, command: String,
        options: [String] = [], timeout: TimeInterval = 60
    ) throws -> CommandResult {
        let target = try self.host(host)
        let argv = [
            "ssh", "-F", "/dev/null", "-i", keyPath(key), "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=\(knownHostsPath)", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=10", "-p", String(target.port),
        ] + options + ["\(user ?? self.user)@\(target.address)", command]
        return try CommandRunner.run(argv, timeout: timeout)
    }

    /// Runs any command line with Foundation `Process`; see ``CommandRunner/run(_:stdin:environment:timeout:)``.
    @discardableResult
    static func run(
        _ argv: [String], stdin: Data? = nil, environment: [String: String] = [:], timeout: TimeInterval = 120
    ) throws -> CommandResult {
        try CommandRunner.run(argv, stdin: stdin, environment: environment, timeout: timeout)
    }

    // MARK: - Process-wide state

    private struct State {
        var fleet: TestFleet?
        var stopAtExit = false
        var failure: TestFleetError?
    }

    private static let state = LockedState(State())

    private static func stopIfStartedHere() {
        guard state.withLock({ $0.stopAtExit }) else { return }
        if let down = try? CommandRunner.run([script, "down"], timeout: 120), !down.succeeded {
            FileHandle.standardError.write(Data("TestFleet: stopping the fleet failed: \(down)\n".utf8))
        }
    }

    /// The shape of `hosts.json`.
    private struct HostsFile: Decodable {
        let hosts: [Host]
        let known_hosts: String
        let keys: [String: String]
        let user: String
        let base: Int
    }
}

/// Why the fleet could not be used; each message says what to look at.
enum TestFleetError: Error, CustomStringConvertible {
    case startFailed(CommandResult)
    case unreadableHostsFile(path: String, reason: String)
    case tooFewHosts(have: Int, need: Int)
    case noSuchHost(index: Int, count: Int)
    case resetFailed(CommandResult)
    case noRunningSSHD(index: Int, pidFile: String, contents: String)

    var description: String {
        switch self {
        case let .startFailed(result):
            return "the test fleet did not start (integration tests need it; run as root on Linux): \(result)"
        case let .unreadableHostsFile(path, reason):
            return "cannot read the fleet description \(path): \(reason)"
        case let .tooFewHosts(have, need):
            return "the test fleet has \(have) host(s), the test needs \(need)"
        case let .noSuchHost(index, count):
            return "no host h\(index): the test fleet has \(count) host(s)"
        case let .resetFailed(result):
            return "resetting test hosts failed: \(result)"
        case let .noRunningSSHD(index, pidFile, contents):
            return "h\(index) has no running sshd: \(pidFile) says \(contents.debugDescription)"
        }
    }
}

/// A value behind a `Mutex` that closures can share (a `Mutex` itself cannot be captured by an escaping closure).
final class LockedState<Value>: Sendable {
    private let value: Mutex<Value>

    init(_ value: sending Value) { self.value = Mutex(value) }

    func withLock<R, E: Error>(_ body: (inout sending Value) throws(E) -> sending R) throws(E) -> sending R {
        try value.withLock(body)
    }
}
