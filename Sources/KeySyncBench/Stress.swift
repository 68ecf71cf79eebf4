import Foundation
import KeySync

/// `keysync-bench stress INVENTORY ROUNDS [PARALLEL] [--repoll] [--kinds K,…]`: the stall
/// harness of issue 24. Every round connects to every inventory host (as
/// `push`/`check` do: one connection, host key checked) and runs the kinds
/// of command keysync's pump carries: a plain `true`, the real probe
/// script through `sudo -n sh -s` (its stdin, a reply of a few kB), 64 kB
/// through `cat` (input and output both bigger than one packet), with
/// `--kinds` 4 MiB into `wc -c` (`wc4m`: twice sshd's 2 MiB channel window,
/// so writes the window refuses until the host's adjust comes, as a large
/// apply has them), and the
/// push's conversation in one root shell (docs/sync.md, "One shell for
/// probe and apply"): `shell` reads the probe's reply up to its nonce end
/// line, pauses 0–5 ms (planning), sends a real apply script that changes
/// nothing (`result usersample done`) with its own timeout and reads to the
/// end; `shell-nochange` reads the probe's reply, then abandons the shell
/// (EOF, not waited for) and the connection closes, as a push with nothing
/// to write does. Hosts are connected to as push and check connect: a host
/// with `jump:` through its jump hosts (one connection per worker thread
/// and chain, the engine's `JumpPool`), so the harness also runs every kind
/// through tunnels. The transport's 100 ms re-poll is off (behind jump
/// hosts too) unless `--repoll`, so a pump that waits while libssh2 or a
/// tunnel holds what it waits for sits out the command timeout (10 s here)
/// instead of hiding it.
///
/// Prints one JSON line: connections, commands, failures, and per kind the
/// median and slowest milliseconds and the stalls (commands slower than 10×
/// their kind's median, or timed out). Exit 0 only with no stall and no failure.
enum Stress {
    static let allKinds = ["true", "probe", "cat64k", "wc4m", "shell", "shell-nochange"]
    /// Without `--kinds`: all but `wc4m`, whose 800 MB of ciphertext per
    /// 200-host round loads the two cores enough to make the light kinds'
    /// slowest commands exceed 10× their medians without any pump waiting.
    static let defaultKinds = allKinds.filter { $0 != "wc4m" }
    static let usage = "usage: keysync-bench stress INVENTORY ROUNDS [PARALLEL] [--repoll] [--kinds KIND,...] (kinds: \(allKinds.joined(separator: ",")))\n"

    static func main(_ arguments: [String]) -> Int32 {
        var repoll = false
        var kinds = defaultKinds
        var positional: [String] = []
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--repoll": repoll = true
            case "--kinds":
                let list = (rest.popFirst() ?? "").split(separator: ",").map(String.init)
                guard !list.isEmpty, list.allSatisfy(allKinds.contains) else {
                    FileHandle.standardError.write(Data(usage.utf8))
                    return 1
                }
                kinds = allKinds.filter(list.contains)
            default: positional.append(argument)
            }
        }
        guard positional.count >= 2, let rounds = Int(positional[1]), rounds > 0 else {
            FileHandle.standardError.write(Data(usage.utf8))
            return 1
        }
        let chosen = kinds, repollOn = repoll
        let parallel = positional.count > 2 ? Int(positional[2]) ?? 64 : 64
        let inventory: Inventory
        do {
            inventory = try Inventory.load(path: positional[0])
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            return 1
        }
        // Connected as push and check connect: hosts with `jump:` through
        // their jump hosts (one connection per worker thread and chain).
        let jobs = inventory.hosts.map { SyncRun.job(for: $0, accounts: []) }
        let engine = SyncEngine(jobs: jobs, settings: SyncEngine.Settings(mode: .check, parallel: parallel))
        if let problem = engine.inputProblem(jobs) {
            FileHandle.standardError.write(Data("\(problem)\n".utf8))
            return 1
        }
        let probe = Array(ProbeScript.render([ProbeRequest(account: "usersample")], nonce: ProbeScript.makeNonce()).utf8)
        let input = [UInt8](repeating: UInt8(ascii: "k"), count: 64 * 1024)
        let large = [UInt8](repeating: UInt8(ascii: "m"), count: 4 << 20)
        var durations: [String: [Double]] = Dictionary(uniqueKeysWithValues: kinds.map { ($0, []) })
        var failures: [String] = []
        var timeouts: [String: Int] = [:]
        let started = Date()
        for _ in 0..<rounds {
            let results = ParallelRunner(width: parallel).run(jobs) { job -> [(String, Result<Double, SSHError>)] in
                let connection: SSHConnection
                do throws(SSHError) {
                    connection = try engine.authenticatedConnection(job)
                } catch {
                    return [("connect", .failure(error))]
                }
                if repollOn { connection.recheckInterval = SSHConnection.repollInterval }
                let commands: [(String, String, [UInt8], Int)] = [
                    ("true", "true", [], 0), ("probe", "sudo -n sh -s", probe, -1), ("cat64k", "cat", input, input.count),
                    ("wc4m", "wc -c", large, "\(large.count)\n".utf8.count),
                ]
                var results = commands.filter { chosen.contains($0.0) }.map { kind, command, stdin, expected in
                    timed(kind) { () throws(SSHError) in
                        let result = try connection.exec(command, stdin: stdin, timeout: 10)
                        guard result.exitStatus == 0, expected < 0 || result.stdout.count == expected else {
                            throw .channelFailed(host: job.host, reason: "exit \(result.exitStatus), \(result.stdout.count) bytes")
                        }
                    }
                }
                if chosen.contains("shell") {
                    results.append(timed("shell") { () throws(SSHError) in try probeThenApply(on: connection, host: job.host) })
                }
                // Last: the abandoned shell's channel stays open until the connection closes.
                if chosen.contains("shell-nochange") {
                    results.append(timed("shell-nochange") { () throws(SSHError) in
                        let (command, _) = try probeInKeptShell(on: connection, host: job.host)
                        command.abandon()
                    })
                }
                return results
            }
            engine.jumpPool.closeAll()
            for (kind, result) in results.joined() {
                switch result {
                case .success(let ms): durations[kind, default: []].append(ms)
                case .failure(.commandTimeout): timeouts[kind, default: 0] += 1
                case .failure(let error): failures.append("\(kind): \(error)")
                }
            }
        }
        var fields: [String] = []
        var stalls = 0
        for kind in kinds {
            let sorted = (durations[kind] ?? []).sorted()
            let median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
            let slow = sorted.filter { $0 > 10 * median }.count + timeouts[kind, default: 0]
            stalls += slow
            fields.append(String(format: "\"%@\": {\"commands\": %d, \"median_ms\": %.1f, \"max_ms\": %.1f, \"stalls\": %d, \"timeouts\": %d}",
                                 kind, sorted.count + timeouts[kind, default: 0], median, sorted.last ?? 0, slow, timeouts[kind, default: 0]))
        }
        for failure in failures.prefix(5) { FileHandle.standardError.write(Data("\(failure)\n".utf8)) }
        print(String(format: "{\"hosts\": %d, \"behind_jump_hosts\": %d, \"jump_connections\": %d, \"rounds\": %d, \"repoll\": %@, \"wall\": %.1f, \"failures\": %d, \"stalls\": %d, ",
                     jobs.count, jobs.filter { !$0.jumps.isEmpty }.count, engine.jumpPool.connectionsMade, rounds, repoll ? "true" : "false", Date().timeIntervalSince(started), failures.count, stalls)
              + fields.joined(separator: ", ") + "}")
        return stalls == 0 && failures.isEmpty ? 0 : 3
    }

    /// `kind` and how long `body` took in milliseconds, or its error.
    static func timed(_ kind: String, _ body: () throws(SSHError) -> Void) -> (String, Result<Double, SSHError>) {
        let start = Date()
        do throws(SSHError) {
            try body()
            return (kind, .success(Date().timeIntervalSince(start) * 1000))
        } catch {
            return (kind, .failure(error))
        }
    }

    /// The real probe in `sudo -n sh -s`, read up to its nonce end line; the shell waits for more.
    static func probeInKeptShell(on connection: SSHConnection, host: String) throws(SSHError) -> (RemoteCommand, Int) {
        let nonce = ProbeScript.makeNonce()
        let command = try connection.start("sudo -n sh -s", timeout: 10)
        command.send(Array(ProbeScript.render([ProbeRequest(account: "usersample")], nonce: nonce).utf8))
        guard try command.read(untilStdoutEndsWith: ProbeScript.endMarker(nonce: nonce)) else {
            let result = try command.finish()
            throw .channelFailed(host: host, reason: "probe ended without its end line (exit \(result.exitStatus))")
        }
        do {
            _ = try HostProbe(reply: command.stdout, nonce: nonce)
        } catch {
            throw .channelFailed(host: host, reason: "probe reply: \(error)")
        }
        return (command, command.stdout.count)
    }

    /// The push's conversation: probe, a planning pause, an apply that
    /// changes nothing, in one shell, the apply with its own timeout.
    static func probeThenApply(on connection: SSHConnection, host: String) throws(SSHError) {
        let (command, replyLength) = try probeInKeptShell(on: connection, host: host)
        usleep(UInt32.random(in: 0..<5000))
        let nonce = ProbeScript.makeNonce()
        command.restart(timeout: 10, outputLimit: 1 << 20)
        command.send(Array(ApplyScript.render([AccountApply(account: "usersample")], nonce: nonce).utf8))
        let result = try command.finish()
        let outcomes: [String: ApplyOutcome]
        do {
            outcomes = try ApplyScript.outcomes(from: result, after: replyLength, nonce: nonce)
        } catch {
            throw .channelFailed(host: host, reason: "apply reply: \(error)")
        }
        guard result.exitStatus == 0, outcomes == ["usersample": .done] else {
            throw .channelFailed(host: host, reason: "apply: exit \(result.exitStatus), \(outcomes)")
        }
    }
}
