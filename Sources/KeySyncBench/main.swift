// keysync-bench: measurements for Scripts/bench that the CLI has no command
// for. `keysync-bench transport INVENTORY COMMAND [PARALLEL]` connects to every
// inventory host with the engine's transport and runner (one connection,
// host key checked, one exec each) and prints one JSON line: hosts, ok,
// failed, wall and controller CPU seconds, peak RSS.
// `keysync-bench stress INVENTORY ROUNDS [PARALLEL] [--repoll] [--kinds K,…]`: the stall
// harness (issue 24, docs/sync.md "The stall"); see Stress.swift.
import Foundation
import KeySync

func cpuSeconds() -> (user: Double, system: Double, maxRSSKiB: Int) {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return (seconds(usage.ru_utime), seconds(usage.ru_stime), usage.ru_maxrss)
}

let arguments = CommandLine.arguments
// `keysync-bench probe-script ACCOUNT…`: the probe push and check run, for profiling it on a host.
if arguments.count >= 3, arguments[1] == "probe-script" {
    print(ProbeScript.render(arguments.dropFirst(2).map { ProbeRequest(account: $0) }, nonce: ProbeScript.makeNonce()), terminator: "")
    exit(0)
}
// `keysync-bench apply-script ACCOUNT…`: the apply push runs on a fresh host (group, account, one key written).
if arguments.count >= 3, arguments[1] == "apply-script" {
    let content = Array("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKiSQMq4mWJgVQWaFEj8H3pX9gDnSxFwvD0t5nJ1cXQm kp-bench\n".utf8)
    print(ApplyScript.render(arguments.dropFirst(2).map { account in
        AccountApply(account: account,
                     create: AccountCreation(uid: nil, gid: nil, group: account, createGroup: true, home: "/home/\(account)", shell: "/bin/bash"),
                     write: FileWrite(path: "/home/\(account)/.ssh/authorized_keys", expectedHash: "absent", content: content))
    }, nonce: ProbeScript.makeNonce()), terminator: "")
    exit(0)
}
// `keysync-bench render-scripts DIR`: every script keysync sends to hosts, rendered (for shellcheck).
if arguments.count == 3, arguments[1] == "render-scripts" {
    let folder = URL(fileURLWithPath: arguments[2])
    let requests = [ProbeRequest(account: "usersample", uid: 1001, gid: 1001, group: "usersample"), ProbeRequest(account: "app")]
    let content = Array("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKiSQMq4mWJgVQWaFEj8H3pX9gDnSxFwvD0t5nJ1cXQm kp-bench\n".utf8)
    let applies = [
        AccountApply(account: "app", create: AccountCreation(uid: 1500, gid: 1500, group: "apps", createGroup: true, home: "/home/app", shell: "/bin/bash"),
                     fixHome: true, write: FileWrite(path: "/home/app/.ssh/authorized_keys", expectedHash: "absent", content: content),
                     unlock: true, restrictHome: "/home/app"),
        AccountApply(account: "usersample"),
    ]
    let scripts = [
        "probe.sh": ProbeScript.render(requests, nonce: ProbeScript.makeNonce()),
        "probe-grants.sh": ProbeScript.render(requests, nonce: ProbeScript.makeNonce(), grantEnds: [1_798_761_600, 1_785_456_000]),
        "probe-doctor.sh": ProbeScript.render(requests, nonce: ProbeScript.makeNonce(), diagnostics: ProbeScript.Diagnostics(logPaths: ["/var/log/extra.log"])),
        "probe-logins.sh": ProbeScript.render(requests, nonce: ProbeScript.makeNonce(),
                                              logins: ProbeScript.Logins(source: LoginSource(kind: .syslog, path: "/var/log/auth.log"), discover: true)),
        "apply.sh": ApplyScript.render(applies, nonce: ProbeScript.makeNonce()),
        "probe-scan.sh": ProbeScript.renderScan(nonce: ProbeScript.makeNonce()),
    ]
    do {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, text) in scripts { try Data(text.utf8).write(to: folder.appendingPathComponent(name)) }
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        exit(1)
    }
    exit(0)
}
if arguments.count >= 4, arguments[1] == "stress" {
    exit(Stress.main(Array(arguments.dropFirst(2))))
}
guard arguments.count >= 4, arguments[1] == "transport" else {
    FileHandle.standardError.write(Data("usage: keysync-bench transport INVENTORY COMMAND [PARALLEL]\n".utf8))
    exit(1)
}
let hosts: BenchHosts
do {
    hosts = try BenchHosts(inventoryPath: arguments[2])
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
let command = arguments[3]
let parallel = arguments.count > 4 ? Int(arguments[4]) ?? 64 : 64
let started = Date()
let before = cpuSeconds()
let results = ParallelRunner(width: parallel).run(hosts.inventory.hosts) { host -> Bool in
    do {
        guard let connection = try hosts.connect(host) else { return false }
        return try connection.exec(command, timeout: host.commandTimeout).exitStatus == 0
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        return false
    }
}
let after = cpuSeconds()
let ok = results.filter { $0 }.count
let line = String(format: "{\"hosts\": %d, \"ok\": %d, \"failed\": %d, \"wall\": %.3f, \"user\": %.3f, \"sys\": %.3f, \"max_rss_kib\": %d}",
                  results.count, ok, results.count - ok, Date().timeIntervalSince(started),
                  after.user - before.user, after.system - before.system, after.maxRSSKiB)
print(line)
exit(ok == results.count ? 0 : 3)
