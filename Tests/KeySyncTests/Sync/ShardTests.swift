import Testing
@testable import KeySync

@Suite("--shard K/N: a stable split of the hosts")
struct ShardTests {
    @Test("every host is in exactly one shard, for every N", arguments: [1, 2, 3, 7])
    func everyHostInExactlyOneShard(_ count: Int) {
        let names = (0..<500).map { "web-\($0)" }
        for name in names {
            let shards = (1...count).filter { Shard("\($0)/\(count)")!.contains(name) }
            #expect(shards == [Shard.shard(of: name, count: count)], "\(name)")
        }
        // And the split is not degenerate: each shard gets a fair share.
        let sizes = (1...count).map { k in names.filter { Shard("\(k)/\(count)")!.contains($0) }.count }
        #expect(sizes.allSatisfy { $0 > 500 / count / 2 }, "\(sizes)")
    }

    @Test("the hash is fixed (FNV-1a 64): the same shard on every machine and Swift version")
    func fixedHash() {
        #expect(Shard.shard(of: "", count: 1_000_000) == Int(UInt64(0xcbf2_9ce4_8422_2325) % 1_000_000) + 1)
        #expect(Shard.shard(of: "a", count: 1_000_000) == Int(UInt64(0xaf63_dc4c_8601_ec8c) % 1_000_000) + 1)
    }

    @Test("K/N is parsed strictly", arguments: ["0/3", "4/3", "1/0", "a/b", "3", "1/3/4", "-1/3", "1/10001", ""])
    func malformed(_ text: String) {
        #expect(Shard(text) == nil)
    }

    @Test func wellFormed() {
        #expect(Shard("2/3").map { ($0.index, $0.count, $0.description) } ?? (0, 0, "") == (2, 3, "2/3"))
    }
}
