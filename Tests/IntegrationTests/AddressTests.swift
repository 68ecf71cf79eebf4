import Foundation
import Testing

/// How keysync reaches an address (issue 20). IPv6: host 190's sshd also
/// listens on `[::1]:22000+base` (loopback only); an inventory host with
/// `address: "::1"` and that port is pushed and checked, its key found under
/// `[::1]:PORT` in known_hosts.
///
/// Host names with several addresses (A and AAAA), tried one after the other
/// as ssh does. keysync runs in a private mount namespace whose `/etc/hosts`
/// is a bind-mounted file of the test (the machine's own is never touched):
/// `dual.keysync.test` resolves to `::1` first, where nothing listens on the
/// port, then to host 200's address, where a copy of its sshd listens on that
/// port. `silent.keysync.test` resolves first to an address whose SYNs are
/// dropped (a listener whose accept queue is full), then to that host: as
/// with ssh's ConnectTimeout, the silent address uses up the one
/// `connect_timeout` and the second is not tried. Uses host 200 (201–204
/// reserved for this suite) and spare addresses 200 and 201.
@Suite(.serialized) struct AddressTests {
    let fleet: TestFleet
    static let ipv6Host = 190, host = 200

    init() throws { fleet = try TestFleet.shared(minimumHosts: 205) }

    @Test("a host at ::1 with its own port is pushed and checked; known_hosts has it as [::1]:port")
    func pushAndCheckOverIPv6Loopback() throws {
        try fleet.removeAccounts(on: [Self.ipv6Host])
        let port = 22_000 + fleet.base
        let copies = try BastionNetwork(fleet: fleet)
        defer { copies.stop() }
        let log = try copies.startCopy(Self.ipv6Host, listen: "[::1]:\(port)", logName: "ipv6", inNamespace: false)
        let workspace = try Workspace()
        try workspace.generateKey("kp-usersample")
        let line = try copies.knownHostsLine(Self.ipv6Host, port: port, name: "::1")
        try workspace.write("known_hosts", line + "\n")
        try workspace.write("inventory.yml", """
            \(fleet.inventoryDefaults(knownHosts: workspace.file("known_hosts")))
            keys:
              kp-usersample: { file: kp-usersample.pub }
            hosts:
              v6: { address: "::1", port: \(port) }
            projects:
              usersample:
                hosts: [v6]
                roles:
                  deploy: { account: usersample, create: true, keys: [kp-usersample] }
            """)
        let common = ["--inventory", workspace.file("inventory.yml"), "--db", workspace.file("keysync.db")]
        let push = try KeySyncProcess.run(["push", "--json"] + common)
        #expect(push.status == 0 && push.stdout.contains("\"changed\""), "\(push)")
        let check = try KeySyncProcess.run(["check", "--json"] + common)
        #expect(check.status == 0, "\(check)")
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("Accepted publickey for \(fleet.user) from ::1"), "\(text)")

        // A wrong key under [::1]:port is refused with the bracketed name in the message.
        try workspace.write("known_hosts", "[::1]:\(port) ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOJ7VhfDTf72vO/4wVVnlPMeUxaGBXgq6vJwb1xYPQoi\n")
        let refused = try KeySyncProcess.run(["check", "--json"] + common)
        #expect(refused.status == 3 && refused.stdout.contains("v6 ([::1]:\(port))"), "\(refused)")
    }

    @Test("a name whose first address refuses is reached at its next one, its host key checked under the name; every address failing names each; a silent first address uses up connect_timeout")
    func everyAddressIsTriedInTheResolversOrder() throws {
        try fleet.removeAccounts(on: [Self.host])
        let port = 23_000 + fleet.base
        let live = fleet.hosts[Self.host].address, dead = fleet.spareAddress(200), silent = fleet.spareAddress(201)
        // Held bound, never listening: connections there are refused, and nothing else can listen there meanwhile.
        let reserved = try [("::1", AF_INET6), (dead, AF_INET)].map { try Self.reserve($0.0, port: port, family: $0.1) }
        defer { reserved.forEach { close($0) } }
        let blackhole = try Self.fullListener(silent, port: port)
        defer { blackhole.forEach { close($0) } }
        let copies = try BastionNetwork(fleet: fleet)
        defer { copies.stop() }
        let log = try copies.startCopy(Self.host, listen: "\(live):\(port)", logName: "dual", inNamespace: false)

        let workspace = try Workspace()
        try workspace.generateKey("kp-usersample")
        try workspace.write("hosts", """
            127.0.0.1 localhost
            ::1 dual.keysync.test
            \(live) dual.keysync.test
            ::1 dead.keysync.test
            \(dead) dead.keysync.test
            \(silent) silent.keysync.test
            \(live) silent.keysync.test

            """)
        // Only under the name, as ssh would look it up: no line for any address.
        try workspace.write("known_hosts", try ["dual", "dead", "silent"].map {
            try copies.knownHostsLine(Self.host, port: port, name: "\($0).keysync.test") + "\n"
        }.joined())
        try workspace.write("inventory.yml", """
            \(fleet.inventoryDefaults(knownHosts: workspace.file("known_hosts")))
            keys:
              kp-usersample: { file: kp-usersample.pub }
            hosts:
              dual: { address: dual.keysync.test, port: \(port) }
              dead: { address: dead.keysync.test, port: \(port), connect_timeout: 5 }
              silent: { address: silent.keysync.test, port: \(port), connect_timeout: 3 }
            projects:
              usersample:
                hosts: [dual, dead, silent]
                roles:
                  deploy: { account: usersample, create: true, keys: [kp-usersample] }
            """)

        let push = try run(["push", "--json", "--inventory", workspace.file("inventory.yml"), "--db", workspace.file("keysync.db")],
                           hosts: workspace.file("hosts"), resolving: ["dual.keysync.test", "dead.keysync.test", "silent.keysync.test"])
        // What getaddrinfo returned in keysync's namespace: the order this test relies on.
        #expect(push.resolved["dual.keysync.test"] == ["::1", live], "\(push.resolved)")
        #expect(push.resolved["dead.keysync.test"] == ["::1", dead], "\(push.resolved)")
        #expect(push.resolved["silent.keysync.test"] == [silent, live], "\(push.resolved)")
        #expect(push.result.status == 3, "\(push.result)")
        #expect(try runHosts("status", push.result) == ["dual": "changed", "dead": "failed", "silent": "failed"], "\(push.result.stdout)")
        #expect(try runHosts("error", push.result)["silent"] == "silent (silent.keysync.test:\(port)): no TCP connection within 3 s (connect_timeout)",
                "\(push.result.stdout)")
        #expect(try runHosts("error", push.result)["dead"]
            == "dead (dead.keysync.test:\(port)): connect failed: [::1]:\(port): Connection refused; \(dead):\(port): Connection refused",
            "\(push.result.stdout)")
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("on \(live) port \(port)") && text.contains("Accepted publickey for \(fleet.user)"), "\(text)")
        #expect(text.components(separatedBy: "Connection from").count - 1 == 1, "only dual's connection reached the host: \(text)")
        #expect(String(decoding: try fleet.read(host: Self.host, "/home/usersample/.ssh/authorized_keys"), as: UTF8.self)
            .contains("keysync:begin project=usersample role=deploy"))
    }

    /// `keysync arguments…` in a private mount namespace whose `/etc/hosts`
    /// is `hosts`; `resolved` is what `getent ahosts` returned there for each
    /// name of `resolving` (stream addresses, in order).
    func run(_ arguments: [String], hosts: String, resolving names: [String]) throws
        -> (result: CommandResult, resolved: [String: [String]]) {
        let getent = hosts + ".getent"
        let script = """
            set -e
            mount --bind "$1" /etc/hosts
            for name in \(names.joined(separator: " ")); do
                printf '= %s\\n' "$name"; getent ahosts "$name" || true
            done > "$2"
            shift 2
            exec "$@"
            """
        let result = try CommandRunner.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", hosts, getent,
                                            KeySyncProcess.binary] + arguments, timeout: 180)
        var resolved: [String: [String]] = [:]
        var current = ""
        for line in try String(contentsOfFile: getent, encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.first == "=" { current = String(fields[1]) } else if fields.count >= 2 && fields[1] == "STREAM" {
                resolved[current, default: []].append(String(fields[0]))
            }
        }
        return (result, resolved)
    }

    /// A listener on `address`:`port` (IPv4) that never accepts, its accept
    /// queue filled by connections of its own, so the kernel drops further
    /// SYNs: a connect there hangs like one to a host behind a dropping
    /// firewall. Returns every socket, to close afterwards.
    static func fullListener(_ address: String, port: Int) throws -> [Int32] {
        let listener = try reserve(address, port: port, family: AF_INET)
        var sockets = [listener]
        guard listen(listener, 0) == 0 else {
            close(listener)
            throw CommandError.launchFailed(argv: ["listen", "\(address):\(port)"], reason: String(cString: strerror(errno)))
        }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, address, &target.sin_addr)
        func connectNonBlocking() -> Int32 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            _ = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            return fd
        }
        // Backlog 0 holds one connection; two more make sure it is full.
        for _ in 0..<3 { sockets.append(connectNonBlocking()) }
        // The premise: one more connect gets no answer (its SYN is dropped).
        let probe = connectNonBlocking()
        sockets.append(probe)
        var descriptor = pollfd(fd: probe, events: Int16(POLLOUT), revents: 0)
        guard poll(&descriptor, 1, 1000) == 0 else {
            sockets.forEach { close($0) }
            throw CommandError.launchFailed(argv: ["connect", "\(address):\(port)"], reason: "a full accept queue still answered")
        }
        return sockets
    }

    /// A TCP socket bound to `address`:`port` that never listens.
    static func reserve(_ address: String, port: Int, family: Int32) throws -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CommandError.launchFailed(argv: ["socket"], reason: String(cString: strerror(errno))) }
        var hints = addrinfo()
        hints.ai_family = family
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(address, String(port), &hints, &info) == 0, let ai = info else {
            close(fd)
            throw CommandError.launchFailed(argv: ["bind", address], reason: "not an address")
        }
        defer { freeaddrinfo(info) }
        guard bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw CommandError.launchFailed(argv: ["bind", "\(address):\(port)"], reason: "\(reason) (something else uses the port)")
        }
        return fd
    }
}
