import Foundation
import KeySync
import Testing

/// The built `keysync` binary (`.build/debug/keysync`) run as a child process,
/// for tests that need its exit code or must `kill -9` it mid-run. Output goes
/// to files, so the child can never block on a full pipe.
final class KeySyncProcess: @unchecked Sendable {
    /// `.build/debug/keysync` of this repository (`swift build --build-tests` builds it).
    static var binary: String { TestFleet.repositoryRoot.appendingPathComponent(".build/debug/keysync").path }

    let arguments: [String]
    let process = Process()
    private let outPath: String
    private let errPath: String

    /// Starts `keysync arguments…` with no signal blocked.
    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        self.arguments = arguments
        let stem = NSTemporaryDirectory() + "keysync-child-\(UUID().uuidString.prefix(8))"
        (outPath, errPath) = (stem + ".out", stem + ".err")
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try spawnWithDefaultSignalMask(process)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// SIGKILL by PID, then reaps it.
    func kill9() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Waits for the exit (killing it after `timeout` seconds); the result has
    /// 128 + signal for a signal death, like ``CommandRunner``.
    func wait(timeout: TimeInterval = 180) -> CommandResult {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return CommandResult(argv: [Self.binary] + arguments, status: status, stdout: read(outPath), stderr: read(errPath))
    }

    private func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// Runs `keysync arguments…` to the end.
    static func run(_ arguments: [String], timeout: TimeInterval = 180) throws -> CommandResult {
        try KeySyncProcess(arguments).wait(timeout: timeout)
    }
}

/// A watcher inside each host's namespace that reads a file every ~50 ms and
/// logs, whenever it changes, which of two keys it holds (as non-comment
/// lines): `<sample> <old><new>` with 0/1 flags, or `<sample> missing`. The
/// loop uses bash builtins only (`mapfile`, `read -t` on a private FIFO), so it
/// costs almost nothing between samples. Stopped by a flag file, after which
/// it writes `end <samples>`. It first closes every inherited descriptor above
/// 2: Foundation's `Process` learns that a child ended when a socket the child
/// inherited closes, so a detached loop holding it would make `exec` wait forever.
struct HostKeyWatch {
    let fleet: TestFleet
    let hosts: [Int]
    let file: String
    static let dir = "/tmp/keysync-watch"

    static let script = ##"""
    for f in /proc/$$/fd/*; do n=${f##*/}; ((n > 2)) && eval "exec $n>&-" 2>/dev/null; done
    F=$1; OLD=$2; NEW=$3; D=/tmp/keysync-watch
    rm -rf "$D"; mkdir -p "$D"; mkfifo "$D/fifo"; exec 9<>"$D/fifo"
    echo $$ > "$D/pid"
    prev=; n=0
    while [[ ! -e $D/stop ]]; do
        if [[ -e $F ]] && mapfile -t L < "$F"; then
            o=0; w=0
            for l in "${L[@]}"; do
                [[ $l == \#* ]] && continue
                [[ $l == *"$OLD"* ]] && o=1
                [[ $l == *"$NEW"* ]] && w=1
            done
            s="$o$w"
        else
            s=missing
        fi
        n=$((n + 1))
        if [[ $s != "$prev" ]]; then echo "$n $s" >> "$D/log"; prev=$s; fi
        read -t 0.05 -u 9
    done
    echo "end $n" >> "$D/log"
    """##

    /// Starts the watchers (detached, one per host) and waits for each first sample.
    /// `old` and `new` are the keys' base64 blobs.
    static func start(_ fleet: TestFleet, hosts: [Int], file: String, old: String, new: String) throws -> HostKeyWatch {
        let started = ParallelRunner(width: 8).run(hosts) { host -> String? in
            do {
                let launch = try fleet.exec(host: host, ["sh", "-c", "setsid bash -c \"$0\" _ \"$1\" \"$2\" \"$3\" </dev/null >/dev/null 2>&1 &",
                                                         script, file, old, new])
                guard launch.succeeded else { return "h\(host): \(launch)" }
                for _ in 0..<200 {
                    if try fleet.exec(host: host, ["test", "-s", dir + "/log"]).succeeded { return nil }
                    usleep(25_000)
                }
                return "h\(host): the watcher wrote no sample"
            } catch { return "h\(host): \(error)" }
        }
        if let failure = started.compactMap({ $0 }).first { throw WorkspaceError.command("watcher: " + failure) }
        return HostKeyWatch(fleet: fleet, hosts: hosts, file: file)
    }

    /// Stops the watchers and returns each host's log lines (ending with `end N`).
    func stop() throws -> [Int: [String]] {
        let logs = ParallelRunner(width: 8).run(hosts) { host -> [String] in
            _ = try? fleet.exec(host: host, ["touch", Self.dir + "/stop"])
            for _ in 0..<200 {
                if let log = try? fleet.exec(host: host, ["cat", Self.dir + "/log"]).stdout, log.contains("\nend ") {
                    return log.split(separator: "\n").map(String.init)
                }
                usleep(25_000)
            }
            return ["h\(host): the watcher did not stop"]
        }
        return Dictionary(uniqueKeysWithValues: zip(hosts, logs))
    }
}

/// `field` (`status`, `error`) of each host in a `push`/`check --json` report,
/// by host name; hosts without the field are left out.
func runHosts(_ field: String, _ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: String] {
    let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result)",
                              sourceLocation: sourceLocation)
    let hosts = try #require(report["hosts"] as? [[String: Any]], sourceLocation: sourceLocation)
    return Dictionary(uniqueKeysWithValues: hosts.compactMap { host in (host[field] as? String).map { (host["host"] as! String, $0) } })
}
