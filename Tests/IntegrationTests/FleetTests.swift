import Foundation
import Testing

/// Sanity of the test fleet itself: if these fail, every other integration
/// test would fail for reasons that have nothing to do with keysync.
@Suite("Test fleet")
struct FleetTests {
    @Test("hosts listen on their loopback addresses, are isolated, and the admin gets root via sudo")
    func fleetIsUsable() throws {
        let fleet = try TestFleet.shared(minimumHosts: 3)
        #expect(fleet.hosts.count >= 3)
        for host in fleet.hosts.prefix(3) {
            #expect(host.name == "h\(host.index)")
            #expect(host.address == "127.\(fleet.base).0.\(host.index + 1)")
            #expect(host.port == 22)
        }

        // One known_hosts line per host: "127.b.x.y ssh-ed25519 AAAA…".
        let known = try String(contentsOfFile: fleet.knownHostsPath, encoding: .utf8)
            .split(separator: "\n")
        #expect(known.count == fleet.hosts.count)
        #expect(known.first?.hasPrefix("\(fleet.hosts[0].address) ssh-ed25519 AAAA") == true)

        // `exec` runs inside a host: its private /etc holds the admin account
        // with `*` (not `!`) as password field.
        let passwd = try fleet.exec(host: 1, ["getent", "passwd", fleet.user])
        #expect(passwd.succeeded, "\(passwd)")
        #expect(passwd.stdout.contains(":2000:2000:"), "\(passwd)")
        let shadow = try fleet.exec(host: 1, ["getent", "shadow", fleet.user])
        #expect(shadow.stdout.split(separator: ":", omittingEmptySubsequences: false).dropFirst().first == "*",
                "\(shadow)")

        // Hosts do not share /tmp, with each other or with this machine.
        let marker = "/tmp/keysync-fleettest-\(UUID().uuidString)"
        let touch = try fleet.exec(host: 1, ["touch", marker])
        #expect(touch.succeeded, "\(touch)")
        #expect(try fleet.exec(host: 1, ["test", "-e", marker]).status == 0)
        #expect(try fleet.exec(host: 2, ["test", "-e", marker]).status == 1)
        #expect(!FileManager.default.fileExists(atPath: marker))
        try fleet.exec(host: 1, ["rm", "-f", marker])

        // A real login (host key checked against known_hosts) and sudo.
        let id = try fleet.ssh(host: 0, command: "sudo -n id -u")
        #expect(id.succeeded, "\(id)")
        #expect(id.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(id)")
    }

    @Test("every admin key kind logs in with sshd's default algorithms", arguments: TestFleet.KeyKind.allCases)
    func adminKeyLogsIn(kind: TestFleet.KeyKind) throws {
        let fleet = try TestFleet.shared(minimumHosts: 3)
        let id = try fleet.ssh(host: 2, key: kind, command: "sudo -n id -u")
        #expect(id.succeeded, "\(id)")
        #expect(id.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(id)")
    }

    @Test("reset puts a tampered host back, with the same host key")
    func resetRestoresHost() throws {
        let fleet = try TestFleet.shared(minimumHosts: 3)
        let known = try String(contentsOfFile: fleet.knownHostsPath, encoding: .utf8)
        let tamper = try fleet.exec(host: 2, ["sh", "-c", "rm /home/\(fleet.user)/.ssh/authorized_keys"])
        #expect(tamper.succeeded, "\(tamper)")
        #expect(try fleet.ssh(host: 2, command: "true").status == 255)

        try fleet.reset(hosts: [2])
        #expect(try String(contentsOfFile: fleet.knownHostsPath, encoding: .utf8) == known)
        let id = try fleet.ssh(host: 2, command: "sudo -n id -u")
        #expect(id.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(id)")
    }

    @Test("a silent listener accepts TCP and never answers, so ssh times out")
    func silentListenerHangs() throws {
        let fleet = try TestFleet.shared(minimumHosts: 1)
        let listener = try TestListener(.silent, address: fleet.spareAddress(0), lifetime: 60)
        defer { listener.stop() }
        let started = Date()
        let result = try CommandRunner.run([
            "ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2",
            "-o", "UserKnownHostsFile=/dev/null", "\(fleet.user)@\(listener.address)", "true",
        ], timeout: 30)
        let seconds = Date().timeIntervalSince(started)
        #expect(result.status == 255, "\(result)")
        #expect(result.stderr.localizedCaseInsensitiveContains("timed out"), "\(result)")
        #expect(seconds >= 1.5 && seconds < 15, "ssh gave up after \(seconds) s")
    }
}
