import Foundation
import Testing
@testable import KeySync

/// The built `keysync` executable, run the way an operator runs it: no
/// terminal, stdin from /dev/null, none of the `KEYSYNC_*` variables of the
/// test process (only those a test passes).
enum KeySyncBinary {
    /// `.build/debug/keysync` of this repository (`swift build --build-tests` builds it).
    static var path: String { TestFleet.repositoryRoot.appendingPathComponent(".build/debug/keysync").path }

    /// `env` arguments that clear inherited settings and set `environment`.
    static func envArguments(_ environment: [String: String]) -> [String] {
        var argv = ["env"]
        for name in ["KEYSYNC_INVENTORY", "KEYSYNC_DB", "KEYSYNC_PASSPHRASE", "SSH_AUTH_SOCK"] where environment[name] == nil {
            argv += ["-u", name]
        }
        argv += environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return argv
    }

    /// Runs `keysync ARGS…` to the end.
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 180) throws -> CommandResult {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw FaultSetupError(description: "\(path) is missing: run `swift build --build-tests` first")
        }
        return try CommandRunner.run(envArguments(environment) + [path] + arguments, timeout: timeout)
    }
}

/// A `keysync` process running in the background, for signal tests. Its
/// output goes to files; it is stopped by its PID only.
final class RunningKeySync {
    let process: Process
    let stdoutPath: String
    let stderrPath: String

    init(_ arguments: [String], environment: [String: String] = [:], outputPrefix: String) throws {
        stdoutPath = outputPrefix + ".out"
        stderrPath = outputPrefix + ".err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = Array(KeySyncBinary.envArguments(environment).dropFirst()) + [KeySyncBinary.path] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try spawnWithDefaultSignalMask(process)
        self.process = process
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Sends `signal` to this process (by PID).
    func send(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits for the exit; returns the status (128 + signal when killed by one).
    /// Past `timeout` the process is killed and an error thrown.
    func wait(timeout: TimeInterval = 120) throws -> Int32 {
        let end = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < end { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw FaultSetupError(description: "keysync (pid \(pid)) did not exit within \(timeout) s; killed")
        }
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// One fault test's world: a workspace with project keys `ka`, `kb`, `kc`,
/// inventories for the fault accounts `fz0…` on fleet hosts (and fake hosts),
/// a database file, and the binary to push with.
final class FaultWorld: @unchecked Sendable {
    let fleet: TestFleet
    let workspace: Workspace
    var database: String { workspace.file("keysync.db") }

    init(_ fleet: TestFleet, name: String = #function) throws {
        self.fleet = fleet
        workspace = try Workspace(name)
        for key in ["ka", "kb", "kc"] { try workspace.generateKey(key) }
    }

    /// Where most fault tests start: the fault accounts gone from `hosts`,
    /// `a.yml` (fz0 with `ka`) pushed, `b.yml` (fz0 with `next`) written.
    static func pushed(_ fleet: TestFleet, hosts: [Int], next: [String] = ["ka", "kb"], name: String = #function,
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> FaultWorld {
        try fleet.removeFaultAccounts(hosts)
        let world = try FaultWorld(fleet, name: name)
        try world.writeInventory("a.yml", .init(hosts: hosts, keys: ["ka"]))
        try world.writeInventory("b.yml", .init(hosts: hosts, keys: next))
        let push = try world.keysync("push", inventory: "a.yml")
        try #require(push.status == 0, "\(push)", sourceLocation: sourceLocation)
        return world
    }

    /// An inventory for a fault test.
    struct InventorySpec {
        /// Fleet host indices.
        var hosts: [Int]
        /// Extra hosts by name and address (spare addresses for fake hosts).
        var fakeHosts: [(name: String, address: String)] = []
        /// Role accounts per host: `fz0` … `fz<accounts-1>`.
        var accounts = 1
        /// Keys granted to every role.
        var keys = ["ka"]
        /// `defaults:` overrides (`connect_timeout: 3` …), as YAML lines.
        var defaults: [String: String] = [:]
        /// Extra settings per host name, as inline YAML (`command_timeout: 3`).
        var hostSettings: [String: String] = [:]
        /// `revoked:` entries.
        var revoked: [String] = []
        /// Extra YAML appended under `projects:`.
        var extraProjects = ""
    }

    /// Writes `spec` as `inventory.yml` in the workspace and returns its path.
    @discardableResult
    func writeInventory(_ spec: InventorySpec) throws -> String {
        try writeInventory("inventory.yml", spec)
    }

    /// Writes `spec` as `name` in the workspace and returns its path.
    @discardableResult
    func writeInventory(_ name: String, _ spec: InventorySpec) throws -> String {
        var defaults: [String: String] = [
            "user": fleet.user, "identity": fleet.keyPath(.ed25519), "known_hosts": fleet.knownHostsPath,
            "connect_timeout": "10", "command_timeout": "30", "parallel": "16",
        ]
        defaults.merge(spec.defaults) { _, new in new }
        var hostLines: [String] = []
        for index in spec.hosts {
            let name = "h\(index)"
            let extra = spec.hostSettings[name].map { ", \($0)" } ?? ""
            hostLines.append("  \(name): { address: \(fleet.hosts[index].address)\(extra) }")
        }
        for fake in spec.fakeHosts {
            let extra = spec.hostSettings[fake.name].map { ", \($0)" } ?? ""
            hostLines.append("  \(fake.name): { address: \(fake.address)\(extra) }")
        }
        let allHosts = spec.hosts.map { "h\($0)" } + spec.fakeHosts.map(\.name)
        let roles = (0..<spec.accounts).map { i in
            "      fz\(i): { account: fz\(i), uid: \(3100 + i), gid: \(3100 + i), home: /home/fz\(i), shell: /bin/bash, create: true, keys: [\(spec.keys.joined(separator: ", "))] }"
        }
        let text = """
            defaults:
            \(defaults.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value)" }.joined(separator: "\n"))
            keys:
              ka: { file: ka.pub }
              kb: { file: kb.pub }
              kc: { file: kc.pub }
            \(spec.revoked.isEmpty ? "" : "revoked:\n" + spec.revoked.map { "  - \($0)" }.joined(separator: "\n"))
            hosts:
            \(hostLines.joined(separator: "\n"))
            projects:
              faults:
                hosts: [\(allHosts.joined(separator: ", "))]
                roles:
            \(roles.joined(separator: "\n"))
            \(spec.extraProjects)
            """
        try workspace.write(name, text)
        return workspace.file(name)
    }

    /// `keysync push --inventory INVENTORY --db DB ARGS…` (also `check`, with `command`).
    func keysync(_ command: String = "push", inventory: String = "inventory.yml", _ arguments: [String] = [],
                 environment: [String: String] = [:], timeout: TimeInterval = 180) throws -> CommandResult {
        try KeySyncBinary.run([command, "--inventory", workspace.file(inventory), "--db", database] + arguments,
                              environment: environment, timeout: timeout)
    }

    /// The `--json` document of a push or check.
    func report(_ result: CommandResult) throws -> RunReport {
        do {
            return try JSONDecoder().decode(RunReport.self, from: Data(result.stdout.utf8))
        } catch {
            throw FaultSetupError(description: "no JSON report in the output (\(error)): \(result)")
        }
    }

    /// The host results recorded for `run` (error kind and time per host).
    func hostResults(run: Int64) throws -> [String: Store.HostResult] {
        let store = try Store(path: database)
        return Dictionary(uniqueKeysWithValues: try store.hostResults(runID: run).map { ($0.host, $0) })
    }

    /// `PRAGMA integrity_check` of the database file (with Python's sqlite3, like any other reader).
    func integrityCheck() throws -> String {
        let result = try TestFleet.run(["python3", "-c",
            "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])", database])
        guard result.succeeded else { throw FaultSetupError(description: "integrity check: \(result)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Whether any value in any table of the database holds `text` (as text or bytes).
    func databaseContains(_ text: String) throws -> Bool {
        let result = try TestFleet.run(["python3", "-c", """
            import sqlite3, sys
            db, needle = sqlite3.connect(sys.argv[1]), sys.argv[2].encode()
            found = False
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                for row in db.execute('SELECT * FROM "%s"' % table):
                    for v in row:
                        b = v if isinstance(v, bytes) else str(v).encode() if v is not None else b""
                        found = found or needle in b
            print("yes" if found else "no")
            """, database, text])
        guard result.succeeded else { throw FaultSetupError(description: "database search: \(result)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "yes"
    }

    /// Rows of one SQL query on the database file, tab-separated (Python's sqlite3).
    func query(_ sql: String) throws -> [String] {
        let result = try TestFleet.run(["python3", "-c", """
            import sqlite3, sys
            for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):
                print("\\t".join("" if v is None else str(v) for v in row))
            """, database, sql])
        guard result.succeeded else { throw FaultSetupError(description: "query: \(result)") }
        return result.stdout.split(separator: "\n").map(String.init)
    }
}
