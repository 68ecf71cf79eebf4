import Foundation
import Testing
@testable import KeySync

@Suite("Inventory: jump hosts (jump:)")
struct InventoryJumpTests {
    @Test("defaults jump: a named host; the bastion itself stays direct; jump: none overrides")
    func defaultsJumpThroughANamedHost() throws {
        let inventory = try InventoryFixtures.load("""
            defaults: {user: ops, jump: bastion-1, known_hosts: kh}
            hosts:
              bastion-1: {address: 192.0.2.1, port: 2222, user: jumper, identity: ~/.ssh/jump}
              web-1: {address: 10.0.0.11}
              db-1: {address: 10.0.0.12, jump: none}
            """)
        let bastion = InventoryJump(name: "bastion-1", address: "192.0.2.1", port: 2222, user: "jumper",
                                    credential: .identity(path: "/home/tester/.ssh/jump"),
                                    knownHosts: InventoryFixtures.directory + "/kh")
        #expect(inventory.host(named: "web-1")?.jumps == [bastion])
        #expect(inventory.host(named: "bastion-1")?.jumps == [])
        #expect(inventory.host(named: "db-1")?.jumps == [])
    }

    @Test("user@address:port, [IPv6]:port and a bare IPv6 address; the rest from defaults")
    func addressReferences() throws {
        let inventory = try InventoryFixtures.load("""
            defaults: {user: ops, connect_timeout: 4}
            hosts:
              a: {address: 10.0.0.1, jump: "jumper@192.0.2.7:2200"}
              b: {address: 10.0.0.2, jump: "[2001:db8::7]:22"}
              c: {address: 10.0.0.3, jump: "2001:db8:0:0::8"}
              d: {address: "2001:DB8:0:0::9"}
            """)
        let a = try #require(inventory.host(named: "a")?.jumps.first)
        #expect((a.user, a.address, a.port, a.connectTimeout) == ("jumper", "192.0.2.7", 2200, 4))
        #expect(a.credential == .identity(path: "/home/tester/.ssh/id_ed25519") && a.knownHosts == "/home/tester/.ssh/known_hosts")
        let b = try #require(inventory.host(named: "b")?.jumps.first)
        #expect((b.user, b.address, b.port) == ("ops", "2001:db8::7", 22))
        let c = try #require(inventory.host(named: "c")?.jumps.first)
        // IPv6 as ssh spells it (known_hosts is looked up and written that way).
        #expect((c.address, c.port) == ("2001:db8::8", 22))
        #expect(inventory.host(named: "d")?.address == "2001:db8::9")
    }

    @Test("chains: a list, and a named jump host's own jump before it")
    func chains() throws {
        let inventory = try InventoryFixtures.load("""
            defaults: {user: ops}
            hosts:
              outer: {address: 192.0.2.1}
              inner: {address: 10.1.0.1, jump: outer}
              web-1: {address: 10.1.0.11, jump: inner}
              web-2: {address: 10.1.0.12, jump: [outer, "10.1.0.2"]}
              web-3: {address: 10.1.0.13, jump: [outer, inner]}
            """)
        #expect(inventory.host(named: "web-1")?.jumps.map(\.name) == ["outer", "inner"])
        #expect(inventory.host(named: "web-2")?.jumps.map(\.name) == ["outer", "10.1.0.2"])
        #expect(inventory.host(named: "inner")?.jumps.map(\.name) == ["outer"])
        // In a list only the first hop is reached its own way (as ProxyJump): inner's jump: is not repeated.
        #expect(inventory.host(named: "web-3")?.jumps.map(\.name) == ["outer", "inner"])
        // The engine job carries the hops, outermost first, host keys checked strictly.
        let job = SyncRun.job(for: try #require(inventory.host(named: "web-1")), accounts: [], acceptNewHostKeys: true)
        #expect(job.jumps.map(\.endpoint.address) == ["192.0.2.1", "10.1.0.1"])
        #expect(job.jumps.allSatisfy { if case .knownHosts = $0.endpoint.hostKeyPolicy { true } else { false } })
        #expect(job.endpoint.hostKeyPolicy == .acceptNew(path: "/home/tester/.ssh/known_hosts"))
    }

    @Test("a loop of named jump hosts is an error naming the loop")
    func loop() {
        InventoryFixtures.expectError("""
            defaults: {user: ops}
            hosts:
              a: {address: 10.0.0.1, jump: b}
              b: {address: 10.0.0.2, jump: a}
            """, at: 4, 32, "the jump hosts loop (a → b → a)")
    }

    @Test("a reference that is neither a host nor an address, with a suggestion")
    func badReference() {
        InventoryFixtures.expectError("""
            defaults: {user: ops}
            hosts:
              bastion: {address: 10.0.0.1}
              web: {address: 10.0.0.2, jump: bastoin}
            """, at: 4, 34, #"no host "bastoin" under hosts:; did you mean "bastion"?"#)
        InventoryFixtures.expectError("""
            defaults: {user: ops}
            hosts:
              web: {address: 10.0.0.2, jump: "ops@10.0.0.1:99999"}
            """, at: 3, 34, "port 99999 out of range")
        InventoryFixtures.expectError("""
            defaults: {user: ops}
            hosts:
              web: {address: 10.0.0.2, jump: [{address: x}]}
            """, at: 3, 35, "must be a string")
    }
}
