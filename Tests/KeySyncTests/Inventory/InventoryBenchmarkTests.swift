import Foundation
import Testing
@testable import KeySync

/// Load-and-validate time for a 10,000-host inventory. Run with
/// `KEYSYNC_BENCH=1 swift test -c release --filter InventoryBenchmark`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["KEYSYNC_BENCH"] == "1"))
struct InventoryBenchmarkTests {
    /// 10,000 block-style hosts in 20 groups, 12 keys, 10 projects with 3 roles each over groups and single hosts.
    static func fleet(hosts count: Int) -> String {
        var yaml = "defaults:\n  user: ops\n  parallel: 128\nkeys:\n"
        for k in 0..<12 { yaml += "  k\(k): {file: keys/\(["alice", "bob", "carol", "dave"][k % 4]).pub\(k < 4 ? "" : ", options: 'no-pty'")}\n" }
        yaml += "revoked:\n  - SHA256:Kgf5W/0sww1xJhEfhiFYIx2SSD/WAXGY6Ixngw8nd34\nhosts:\n"
        for i in 0..<count {
            yaml += "  host-\(i):\n    address: 127.\(77 + i / 62_500).\(i / 250 % 250).\(i % 250 + 1)\n    groups: [g\(i % 20), all]\n"
            if i % 10 == 0 { yaml += "    port: 2222\n    user: admin\n" }
        }
        yaml += "projects:\n"
        for p in 0..<10 {
            yaml += "  p\(p):\n    hosts: [\"group:g\(p)\", \"group:g\(p + 10)\", host-\(p * 7)]\n    roles:\n"
            for r in 0..<3 {
                yaml += "      r\(r):\n        account: a\(p)r\(r)\n        uid: \(10_000 + p * 10 + r)\n        shell: /bin/bash\n        keys: [k\((p + r) % 12), k\((p + r + 1) % 12)]\n"
            }
        }
        return yaml
    }

    @Test func tenThousandHosts() throws {
        let yaml = Self.fleet(hosts: 10_000)
        var best = Duration.seconds(60)
        var inventory: Inventory?
        for _ in 0..<3 {
            let elapsed = try ContinuousClock().measure {
                inventory = try Inventory.parse(yaml, path: InventoryFixtures.path, homeDirectory: InventoryFixtures.home)
            }
            best = min(best, elapsed)
        }
        let selectTime = try ContinuousClock().measure { _ = try inventory?.select() }
        let ms = { (d: Duration) in Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
        print("inventory benchmark: 10000 hosts, \(yaml.utf8.count / 1024) KiB: load+validate \(String(format: "%.0f", ms(best))) ms (best of 3), select all \(String(format: "%.0f", ms(selectTime))) ms")
        #expect(inventory?.hosts.count == 10_000)
        #expect(try inventory?.select().count == 10_000)
        #expect(best < .seconds(1))
    }
}
