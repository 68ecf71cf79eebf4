import Foundation
import Testing
@testable import KeySync

@Suite("ssh_config: parsing and first-match evaluation")
struct SSHConfigTests {
    func parse(_ text: String) throws -> SSHConfig { try SSHConfig.parse(text, file: "/cfg") }

    @Test("keywords ignore case; Keyword=value, Keyword = value, quotes and comments")
    func syntax() throws {
        let config = try parse("""
            # a comment
            HOST web-1
              hostname=10.0.0.1
              USER = ops   # trailing comment
              IdentityFile "/keys/my key"
              Port =2222
            """)
        let resolved = config.resolve("web-1")
        #expect(resolved.first("hostname")?.arguments == ["10.0.0.1"])
        #expect(resolved.first("user")?.arguments == ["ops"])
        #expect(resolved.first("identityfile")?.arguments == ["/keys/my key"])
        #expect(resolved.first("port")?.arguments == ["2222"] && resolved.first("port")?.line == 6)
    }

    @Test("first value wins; several patterns; * and ?; a negated pattern excludes")
    func firstMatchWins() throws {
        let config = try parse("""
            Host db-? !db-9
              User dbadmin
            Host web-* app
              User webops
              Port 2200
            Host *
              User everyone
              Port 22
            """)
        #expect(config.resolve("db-1").first("user")?.arguments == ["dbadmin"])
        #expect(config.resolve("db-9").first("user")?.arguments == ["everyone"])
        #expect(config.resolve("db-10").first("user")?.arguments == ["everyone"])
        #expect(config.resolve("WEB-7").first("user")?.arguments == ["webops"])
        #expect(config.resolve("app").first("port")?.arguments == ["2200"])
        #expect(config.resolve("other").first("port")?.arguments == ["22"])
        #expect(SSHConfig.matches("x", ["!x"]) == false && SSHConfig.matches("a.b.c", ["*.c"]))
    }

    @Test("Match host sees the HostName found so far; Match all; other criteria are listed, never evaluated")
    func matchBlocks() throws {
        let config = try parse("""
            Host web-1
              HostName 10.1.2.3
            Match host 10.1.*,!10.1.9.*
              User internal
            Match exec "true"
              User guessed
            Match all
              Port 2022
              ProxyCommand nc %h %p
            """)
        let web = config.resolve("web-1")
        #expect(web.first("user")?.arguments == ["internal"])
        #expect(web.first("port")?.arguments == ["2022"])
        #expect(web.notFollowed.map(\.number) == [5])
        #expect(web.first("proxycommand")?.arguments == ["nc", "%h", "%p"])
        #expect(config.resolve("web-2").first("user") == nil)
    }

    @Test("errors name file and line")
    func locatedErrors() {
        #expect(throws: SSHConfig.ParseError(file: "/cfg", line: 2, message: "unclosed quote")) { try parse("Host a\n  User \"ops\n") }
        #expect(throws: SSHConfig.ParseError(file: "/cfg", line: 1, message: "Host needs at least one pattern")) { try parse("Host\n") }
        #expect(throws: SSHConfig.ParseError(file: "/cfg", line: 3, message: "Port has no value")) { try parse("\nHost a\nPort\n") }
    }

    @Test("Include: relative to ~/.ssh, globs, evaluated in the including block")
    func include() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("sshcfg-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        try FileManager.default.createDirectory(atPath: home + "/.ssh/conf.d", withIntermediateDirectories: true)
        try "User from-b\n".write(toFile: home + "/.ssh/conf.d/b.conf", atomically: true, encoding: .utf8)
        try "Host other\nUser never\n".write(toFile: home + "/.ssh/conf.d/a.conf", atomically: true, encoding: .utf8)
        try "Host web-*\n  Include conf.d/*.conf\nHost *\n  User last\n".write(toFile: home + "/.ssh/config", atomically: true, encoding: .utf8)
        let config = try SSHConfigLoader.load(path: home + "/.ssh/config", homeDirectory: home)
        // a.conf's Host line ends with a.conf: b.conf applies to web-1 again.
        #expect(config.resolve("web-1").first("user")?.arguments == ["from-b"])
        #expect(config.resolve("db-1").first("user")?.arguments == ["last"])
        #expect(config.resolve("other").first("user")?.arguments == ["last"])
    }
}

@Suite("Inventory: defaults ssh_config")
struct InventorySSHConfigTests {
    /// Writes `text` as an ssh_config file; its path.
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sshcfg-\(UUID().uuidString)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("host's own values win over ssh_config, which wins over defaults; HostName stands in for a missing address")
    func precedence() throws {
        let file = try write("""
            Host web-*
              HostName 10.0.0.50
              User cfguser
              Port 2200
              IdentityFile ~/.ssh/%n_%r@%h:%p
              UserKnownHostsFile ~/.ssh/kh_cfg /ignored
              ConnectTimeout 7
            """)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let inventory = try InventoryFixtures.load("""
            defaults: {user: ops, port: 22, connect_timeout: 3, ssh_config: \(file)}
            hosts:
              web-1: {}
              web-2: {address: 10.0.0.2, user: own, port: 2300, identity: /own/key, connect_timeout: 9}
              db-1: {address: 10.0.0.3}
            """)
        let web1 = try #require(inventory.host(named: "web-1"))
        #expect((web1.address, web1.user, web1.port, web1.connectTimeout) == ("10.0.0.50", "cfguser", 2200, 7))
        #expect(web1.credential == .identity(path: "/home/tester/.ssh/web-1_cfguser@10.0.0.50:2200"))
        #expect(web1.knownHosts == "/home/tester/.ssh/kh_cfg")
        let web2 = try #require(inventory.host(named: "web-2"))
        #expect((web2.address, web2.user, web2.port, web2.connectTimeout) == ("10.0.0.2", "own", 2300, 9))
        #expect(web2.credential == .identity(path: "/own/key"))
        let db = try #require(inventory.host(named: "db-1"))
        #expect((db.user, db.port, db.connectTimeout) == ("ops", 22, 3))
    }

    @Test("ProxyJump is a jump chain like jump:; ProxyJump none overrides defaults jump; jump: on the host wins")
    func proxyJump() throws {
        let file = try write("""
            Host deep
              ProxyJump bastion,ops@10.9.0.1:2222
            Host edge
              ProxyJump none
            Host pinned
              ProxyJump inner
            """)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let inventory = try InventoryFixtures.load("""
            defaults: {user: ops, jump: bastion, ssh_config: \(file)}
            hosts:
              bastion: {address: 192.0.2.1}
              inner: {address: 192.0.2.2}
              deep: {address: 10.0.0.1}
              edge: {address: 10.0.0.2}
              pinned: {address: 10.0.0.3, jump: bastion}
            """)
        #expect(inventory.host(named: "deep")?.jumps.map(\.name) == ["bastion", "ops@10.9.0.1:2222"])
        #expect(inventory.host(named: "edge")?.jumps == [])
        #expect(inventory.host(named: "pinned")?.jumps.map(\.name) == ["bastion"])
    }

    @Test("directives keysync does not follow are warnings with file:line, once each, whatever the number of hosts")
    func notFollowedListedOnce() throws {
        let file = try write("""
            Host *
              LocalCommand sshpass -p s3cret-pw true
              StrictHostKeyChecking no
              ServerAliveInterval 30
            Host unrelated
              ControlMaster auto
            Match user root
              User x
            """)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let inventory = try InventoryFixtures.load("""
            defaults: {user: ops, ssh_config: \(file)}
            hosts:
              a: {address: 10.0.0.1}
              b: {address: 10.0.0.2}
            """)
        let fromConfig = inventory.warnings.filter { $0.file == file }
        #expect(fromConfig.map { "\($0.line)" } == ["2", "3", "7"], "\(fromConfig)")
        #expect(fromConfig.allSatisfy { $0.severity == .warning })
        #expect(fromConfig[0].message.contains("localcommand applies to host"))
        #expect(fromConfig[2].message.contains("Match with criteria other than host or all"))
        // A warning printed by every cron run names the directive, never its arguments.
        #expect(!fromConfig.contains { $0.message.contains("s3cret") }, "\(fromConfig)")
    }

    /// ProxyCommand and ProxyJump are one setting in ssh (the first wins):
    /// `ProxyCommand none` first means direct, a command first is an error
    /// (keysync cannot take that route, nor swap it for a bastion), and a
    /// ProxyCommand after a ProxyJump never applies. Checked against `ssh -G`.
    /// A config another user may write could redirect hosts and known_hosts:
    /// refused as ssh refuses it, at the inventory's ssh_config.
    @Test func aWritableConfigIsRefused() throws {
        let file = try write("Host *\n  Port 2222\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(chmod(file, 0o666) == 0)
        let errors = InventoryFixtures.diagnostics("defaults: {user: ops, ssh_config: \(file)}\nhosts:\n  a: {address: 10.0.0.1}\n")
        #expect(errors.contains { $0.message.contains("bad owner or permissions") }, "\(errors)")
        #expect(chmod(file, 0o644) == 0)
        #expect(try InventoryFixtures.load("defaults: {user: ops, ssh_config: \(file)}\nhosts:\n  a: {address: 10.0.0.1}\n").hosts.first?.port == 2222)
    }

    @Test func proxyCommandAndProxyJumpAreOneSetting() throws {
        let file = try write("""
            Host direct-*
              ProxyCommand none
            Host piped-*
              ProxyCommand sshpass -p s3cret-pw nc %h %p
            Host *
              ProxyJump bastion
              ProxyCommand nc %h %p
            """)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let inventory = try InventoryFixtures.load("""
            defaults: {user: ops, ssh_config: \(file)}
            hosts:
              direct-1: {address: 10.0.0.1}
              web-1: {address: 10.0.0.2}
              bastion: {address: 10.0.0.3}
            """)
        #expect(inventory.host(named: "direct-1")?.jumps.isEmpty == true)
        #expect(inventory.host(named: "web-1")?.jumps.map(\.name) == ["bastion"])
        let errors = InventoryFixtures.diagnostics("""
            defaults: {user: ops, ssh_config: \(file)}
            hosts:
              piped-1: {address: 10.0.0.4}
            """).filter { $0.severity == .error }
        #expect(errors.map { "\($0.line)" } == ["4"], "\(errors)")
        #expect(errors.first?.message.contains("keysync never reaches a host through a command") == true)
        #expect(!errors.contains { $0.message.contains("s3cret") })
        // Host patterns are case-sensitive against the lower-cased name, as in ssh.
        #expect(!SSHConfig.matches("Web1", ["Web1"]) && SSHConfig.matches("Web1", ["web1"]))
        #expect(SSHConfig.matches("web1", ["WEB1"], caseSensitive: false))
    }

    @Test("a value keysync cannot use is an error at its ssh_config line; a missing file at the inventory's ssh_config")
    func locatedErrors() throws {
        let file = try write("Host a\n  Port 99999\nHost b\n  IdentityFile ~/.ssh/%d/key\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let errors = InventoryFixtures.diagnostics("""
            defaults: {user: ops, ssh_config: \(file)}
            hosts:
              a: {address: 10.0.0.1}
              b: {address: 10.0.0.2}
            """).filter { $0.severity == .error }
        #expect(errors.map { "\($0.file):\($0.line)" } == ["\(file):2", "\(file):4"], "\(errors)")
        #expect(errors.last?.message.contains("uses %d, which keysync does not expand") == true)
        InventoryFixtures.expectError("""
            defaults: {user: ops, ssh_config: /nonexistent/ssh_config}
            """, at: 1, 35, "ssh_config file /nonexistent/ssh_config not found")
    }
}

extension InventorySSHConfigTests {
    @Test("a ProxyJump hop that is neither a host nor [user@]address[:port] is an error at the host, naming the ProxyJump line")
    func unknownProxyJumpHop() throws {
        let file = try write("Host web-1\n  ProxyJump bastoin\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        InventoryFixtures.expectError("""
            defaults: {user: ops, ssh_config: \(file)}
            hosts:
              bastion: {address: 192.0.2.1}
              web-1: {address: 10.0.0.1}
            """, at: 4, 3, "host \"web-1\": jump \"bastoin\" (ProxyJump at \(file):2): no host \"bastoin\" under hosts:; did you mean \"bastion\"?")
    }
}
