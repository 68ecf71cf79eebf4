import Foundation
import Testing

/// `--shard K/N` and `report --db A --db B …` on hosts 180–189: three shard
/// runs, each with its own database, cover every host exactly once, and the
/// report over the three databases equals the report of one run over all.
@Suite struct ShardReportTests {
    let fleet: TestFleet
    static let hosts = Array(180...189)

    init() throws { fleet = try TestFleet.shared(minimumHosts: 190) }

    /// `report --format json` over `databases`, without what differs between
    /// runs of the same check (run ids, times): hosts, their status and drift, and the summary.
    func report(_ databases: [String], inventory: String) throws -> NSDictionary {
        let result = try KeySyncProcess.run(["report", "--format", "json", "--inventory", inventory] + databases.flatMap { ["--db", $0] })
        #expect(result.status == 0, "\(result)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result)")
        let hosts = try #require(document["hosts"] as? [[String: Any]]).map { host -> [String: Any] in
            var host = host
            for key in ["run", "checked_at"] { host[key] = nil }
            host["drift"] = (host["drift"] as? [[String: Any]] ?? []).map { item in
                item.filter { !["since", "since_run", "last_seen_run", "last_seen_at"].contains($0.key) }
            }
            return host
        }
        return ["hosts": hosts, "summary": document["summary"] ?? [:]] as NSDictionary
    }

    @Test("shards 1/3, 2/3 and 3/3 cover every host exactly once, and their merged report equals one run's")
    func shardsCoverEveryHostOnceAndMergeIntoOneReport() throws {
        try fleet.removeAccounts(on: Self.hosts)
        let workspace = try Workspace()
        try workspace.generateKey("kp-usersample")
        try workspace.write("inventory.yml", """
            \(fleet.inventoryDefaults())
            keys:
              kp-usersample: { file: kp-usersample.pub }
            hosts:
            \(fleet.inventoryHosts(Self.hosts))
            projects:
              usersample:
                hosts: [\(Self.hosts.map { "h\($0)" }.joined(separator: ", "))]
                roles:
                  deploy: { account: usersample, create: true, keys: [kp-usersample] }
            """)
        let inventory = workspace.file("inventory.yml")
        var seen: [String: Int] = [:]
        for k in 1...3 {
            let check = try KeySyncProcess.run(["check", "--json", "--shard", "\(k)/3", "--inventory", inventory,
                                                "--db", workspace.file("shard\(k).db")])
            #expect(check.status == 2, "\(check)")
            for (host, status) in try runHosts("status", check) {
                #expect(status == "drift", "\(host)")
                seen[host, default: 0] += 1
            }
        }
        #expect(seen == Dictionary(uniqueKeysWithValues: Self.hosts.map { ("h\($0)", 1) }))

        let whole = try KeySyncProcess.run(["check", "--json", "--inventory", inventory, "--db", workspace.file("all.db")])
        let wholeHosts = try runHosts("status", whole)
        #expect(whole.status == 2 && wholeHosts.count == Self.hosts.count, "\(whole)")
        let merged = try report((1...3).map { workspace.file("shard\($0).db") }, inventory: inventory)
        let single = try report([workspace.file("all.db")], inventory: inventory)
        #expect(merged == single, "merged: \(merged)\nsingle: \(single)")
        #expect(((merged["hosts"] as? [Any]) ?? []).count == Self.hosts.count)
    }
}
