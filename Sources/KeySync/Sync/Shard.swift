/// `--shard K/N`: the share of the selected hosts one of N controllers
/// handles. A host belongs to shard `hash(name) mod N + 1`, with a hash
/// fixed here (64-bit FNV-1a of the UTF-8 name), so the split is the same on
/// every machine, in every run and for every Swift version: each host is
/// in exactly one shard for a given N, and a host keeps its shard while N
/// stays the same.
public struct Shard: Hashable, Sendable, CustomStringConvertible {
    /// 1-based index of this shard.
    public let index: Int
    /// Number of shards.
    public let count: Int

    /// `K/N` with 1 ≤ K ≤ N ≤ 10000; nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), (1...10_000).contains(n), (1...n).contains(k) else { return nil }
        index = k
        count = n
    }

    /// `K/N`.
    public var description: String { "\(index)/\(count)" }

    /// Whether host `name` belongs to this shard.
    public func contains(_ name: String) -> Bool { Self.shard(of: name, count: count) == index }

    /// The 1-based shard of host `name` among `count`.
    public static func shard(of name: String, count: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(count)) + 1
    }
}
