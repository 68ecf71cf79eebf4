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
    /// runs of the same check (run ids, times): hosts, their status and drift,
    /// and the summary. With `readOnly`, the folder `readOnly.0` is mounted
    /// read-only at `readOnly.1` for the command (the databases' paths name that mount).
    func report(_ databases: [String], inventory: String, readOnly: (String, String)? = nil) throws -> NSDictionary {
        let arguments = ["report", "--format", "json", "--inventory", inventory] + databases.flatMap { ["--db", $0] }
        let result = try readOnly.map { try Self.runOnReadOnlyMount($0.0, at: $0.1, arguments) } ?? KeySyncProcess.run(arguments)
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

    /// `keysync arguments…` in a mount namespace of its own where `folder` is
    /// also mounted read-only at `mountPoint` (as root even writes fail there).
    static func runOnReadOnlyMount(_ folder: String, at mountPoint: String, _ arguments: [String]) throws -> CommandResult {
        let script = """
            set -e
            mount --bind "$1" "$2"
            mount -o remount,ro,bind "$2"
            shift 2
            exec "$@"
            """
        return try CommandRunner.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", folder, mountPoint,
                                      KeySyncProcess.binary] + arguments, timeout: 180)
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

        // An auditor's copy on a read-only mount (or a full disk): the reading
        // commands read it where it is and write nothing (they opened it for
        // writing, and failed, before session 14).
        let mount = workspace.file("ro")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: false)
        let readOnlyDatabases = (1...3).map { "\(mount)/shard\($0).db" }
        #expect(try report(readOnlyDatabases, inventory: inventory, readOnly: (workspace.path, mount)) == merged)
        #expect(try report(["\(mount)/all.db"], inventory: inventory, readOnly: (workspace.path, mount)) == single)
        let listing = try FileManager.default.contentsOfDirectory(atPath: workspace.path).sorted()
        for arguments in [["history", "--host", "h180"], ["where", "kp-usersample", "--inventory", inventory], ["review", "--inventory", inventory],
                          ["report", "--unused", "0d", "--inventory", inventory]] {
            let writable = try KeySyncProcess.run(arguments + ["--db", workspace.file("all.db")])
            let readOnly = try Self.runOnReadOnlyMount(workspace.path, at: mount, arguments + ["--db", "\(mount)/all.db"])
            #expect(readOnly.status == 0 && readOnly.status == writable.status, "\(readOnly)")
            let differsOnlyInTime = { (text: String) in text.replacingOccurrences(of: #"\d{4}-\d\d-\d\dT[\d:]+Z"#, with: "T", options: .regularExpression) }
            #expect(differsOnlyInTime(readOnly.stdout) == differsOnlyInTime(writable.stdout), "\(arguments)")
            #expect(!readOnly.stdout.isEmpty, "\(arguments)")
        }
        let push = try Self.runOnReadOnlyMount(workspace.path, at: mount, ["check", "--inventory", inventory, "--db", "\(mount)/all.db"])
        #expect(push.status == 1 && push.stderr.contains("\(mount)/all.db"), "\(push)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.path).sorted() == listing)
    }
}
