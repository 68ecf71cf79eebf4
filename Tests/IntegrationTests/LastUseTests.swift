import Foundation
import Testing
@testable import KeySync

/// Last use of keys (issue 21) against real sshd: hosts 160–169, restarted
/// with sshd logging to /var/log/auth.log in a private /var/log
/// (`testfleet authlog`), real logins with the OpenSSH client, then `check`
/// reads the log and `report --unused`, `where` and `review` read the database.
@Suite(.serialized) struct LastUseTests {
    let fleet: TestFleet

    init() throws { fleet = try TestFleet.shared(minimumHosts: 170) }

    static let log = "/var/log/auth.log"

    /// Hosts fresh (`reset`), then logging to /var/log/auth.log.
    func authlog(_ hosts: [Int]) throws {
        try fleet.reset(hosts: hosts)
        let result = try TestFleet.run([TestFleet.script, "authlog"] + hosts.map(String.init), timeout: 120)
        #expect(result.succeeded, "\(result)")
    }

    /// Keys `names` granted to role deploy (account usersample) on `hosts`.
    func inventory(_ workspace: Workspace, hosts: [Int], keys names: [String]) throws -> Inventory {
        for name in names { try workspace.generateKey(name) }
        try workspace.write("inventory.yml", fleet.inventory(
            keys: names.map { "\($0): { file: \($0).pub }" }, hosts: hosts,
            projects: fleet.usersampleProject(hosts: hosts, ["create: true", "keys:"] + names.map { "  - \($0)" })))
        return try Inventory.load(path: workspace.file("inventory.yml"))
    }

    /// `hosts` logging to auth.log (``authlog(_:)``), keys `names` granted on
    /// them, and a first push recorded in the workspace's database.
    func pushed(_ hosts: [Int], keys names: [String], test: String = #function) throws
        -> (workspace: Workspace, inventory: Inventory, store: Store) {
        try authlog(hosts)
        let workspace = try Workspace(test)
        let inventory = try inventory(workspace, hosts: hosts, keys: names)
        let store = try Store(path: workspace.file("keysync.db"))
        try run(inventory, .push, store: store)
        return (workspace, inventory, store)
    }

    @discardableResult
    func run(_ inventory: Inventory, _ mode: SyncEngine.Mode, store: Store) throws -> RunReport {
        var run = SyncRun(inventory: inventory, targets: try inventory.select(), settings: SyncEngine.Settings(mode: mode, parallel: 8))
        run.readsLogins = true
        let report = try run.execute(store: store)
        #expect(report.summary.failed == 0, "\(report.hosts.compactMap(\.error))")
        return report
    }

    func login(_ workspace: Workspace, host: Int, key: String) throws {
        let result = try fleet.login(host: host, user: "usersample", key: workspace.file(key))
        #expect(result.succeeded, "login with \(key) on h\(host): \(result)")
    }

    func keysync(_ workspace: Workspace, _ arguments: [String]) throws -> CommandResult {
        try TestFleet.run([KeySyncProcess.binary] + arguments + ["--db", workspace.file("keysync.db"),
                                                                "--inventory", workspace.file("inventory.yml")])
    }

    static func fingerprint(_ workspace: Workspace, _ name: String) throws -> String { try workspace.publicKey(name).fingerprint }

    /// Logins with two of three granted keys: `report --unused 0d` names
    /// exactly the third; last use and counts match the logins; `where`
    /// shows the last use per host; `review` lists every grant.
    @Test func twoOfThreeKeysUsedReportNamesTheThird() throws {
        let hosts = [160, 161]
        let (workspace, inventory, store) = try pushed(hosts, keys: ["ka", "kb", "kc"])

        let before = Date().addingTimeInterval(-1)
        try login(workspace, host: 160, key: "ka")
        try login(workspace, host: 160, key: "ka")
        try login(workspace, host: 161, key: "kb")
        let report = try run(inventory, .check, store: store)
        let after = Date().addingTimeInterval(1)
        #expect(report.hosts.allSatisfy { ($0.logBytesRead ?? -1) > 0 })

        let ka = try Self.fingerprint(workspace, "ka"), kb = try Self.fingerprint(workspace, "kb")
        let kc = try Self.fingerprint(workspace, "kc")
        let aLogins = try store.keyLogins(fingerprint: ka)
        #expect(aLogins.map { "\($0.host) \($0.account) \($0.logins)" } == ["h160 usersample 2"])
        let bLogins = try store.keyLogins(fingerprint: kb)
        #expect(bLogins.map { "\($0.host) \($0.account) \($0.logins)" } == ["h161 usersample 1"])
        #expect(try store.keyLogins(fingerprint: kc).isEmpty)
        for login in aLogins + bLogins {
            // An -E file has no time on its lines: the scan's time, an upper bound, and said so.
            #expect(login.lastLoginAt >= before && login.lastLoginAt <= after, "\(login.lastLoginAt) not in \(before)…\(after)")
            #expect(!login.lastExact)
            #expect(login.source == "file")
            #expect(login.keyType == "ED25519")
            #expect(login.lastAddress.hasPrefix("127."))
        }
        let watches = try store.loginWatches()
        #expect(watches["h160"]?.source == "file:/var/log/auth.log")

        let unused = try keysync(workspace, ["report", "--unused", "0d", "--format", "json"])
        #expect(unused.succeeded, "\(unused)")
        struct Document: Decodable {
            struct Item: Decodable { let status, key, fingerprint: String }
            let grants: [Item]
        }
        let document = try JSONDecoder().decode(Document.self, from: Data(unused.stdout.utf8))
        #expect(document.grants.map { "\($0.status) \($0.key) \($0.fingerprint)" } == ["unused kc \(kc)"])
        let table = try keysync(workspace, ["report", "--unused", "0d"])
        #expect(table.stdout.contains("1 of 3 grants unused"), "\(table.stdout)")

        let whereA = try keysync(workspace, ["where", "ka"])
        #expect(whereA.succeeded && whereA.stdout.contains("last use: 1 account on 1 host"), "\(whereA)")
        let whereJSON = try keysync(workspace, ["where", "ka", "--json"])
        struct Where: Decodable {
            struct Login: Decodable { let host, account: String, logins: Int }
            let logins: [Login]
        }
        let located = try JSONDecoder().decode(Where.self, from: Data(whereJSON.stdout.utf8))
        #expect(located.logins.map { "\($0.host) \($0.account) \($0.logins)" } == ["h160 usersample 2"])

        let review = try keysync(workspace, ["review", "--format", "csv"])
        #expect(review.succeeded, "\(review)")
        let rows = review.stdout.split(separator: "\r\n").dropFirst()
        #expect(rows.count == 6, "3 grants × 2 hosts: \(review.stdout)")
        #expect(rows.contains { $0.contains(",ka,") && $0.contains(",h160,") && $0.contains("inventory.yml,") }, "\(review.stdout)")

        // The proposed edit removes kc's line and nothing else; the inventory is untouched.
        let original = try String(contentsOfFile: workspace.file("inventory.yml"), encoding: .utf8)
        let proposal = try keysync(workspace, ["review", "--propose-removals", "0d"])
        #expect(proposal.succeeded, "\(proposal)")
        #expect(proposal.stdout.split(separator: "\n").filter { $0.hasPrefix("-") && !$0.hasPrefix("---") } == ["-          - kc"], "\(proposal.stdout)")
        #expect(try String(contentsOfFile: workspace.file("inventory.yml"), encoding: .utf8) == original)

        // h161 drops out of the runs (it fails, or runs leave it out) while h160
        // is checked on: a day later its logins are read by nobody, so nothing
        // is called unused there, and no removal is proposed. (The day is made
        // by moving h161's last read back in the database.)
        var onlyH160 = SyncRun(inventory: inventory, targets: try inventory.select(hosts: ["h160"]),
                               settings: SyncEngine.Settings(mode: .check, parallel: 8))
        onlyH160.readsLogins = true
        _ = try onlyH160.execute(store: store)
        let aged = try TestFleet.run(["sqlite3", workspace.file("keysync.db"),
                                      "update login_watch set read_until = datetime(read_until, '-2 days'), last_scan_at = datetime(last_scan_at, '-2 days') where host = 'h161'"])
        #expect(aged.succeeded, "\(aged)")
        let unobserved = try JSONDecoder().decode(Document.self, from: Data(try keysync(workspace, ["report", "--unused", "0d", "--format", "json"]).stdout.utf8))
        // (ka: h160's latest scan read no login with it, and h161 is not watched; kb: h161's latest scan read one.)
        #expect(unobserved.grants.map { "\($0.status) \($0.key)" } == ["unobserved ka", "unobserved kc"], "\(unobserved.grants.map(\.status))")
        let none = try keysync(workspace, ["review", "--propose-removals", "0d"])
        #expect(none.succeeded && !none.stdout.contains("-          - kc"), "\(none)")
        #expect(try keysync(workspace, ["review"]).stdout.contains("not read since"))
    }

    /// A log that stops getting sshd's logins (here LogLevel ERROR: no
    /// "Accepted" line is written any more) looks like a host nobody logs in
    /// to. keysync's own login is missing from the scan: not watched at once,
    /// a gap on the second such scan, and no grant is called unused there.
    @Test func aLogThatStopsGettingLoginsIsNotWatched() throws {
        let host = 165
        let (workspace, inventory, store) = try pushed([host], keys: ["ka"])
        defer { try? fleet.reset(hosts: [host]) }
        try run(inventory, .check, store: store)
        let watched = try #require(try store.loginWatches()["h\(host)"])
        #expect(watched.problem == nil && watched.watchingSince != nil)
        try fleet.sh(host, "sed -i 's/^LogLevel .*/LogLevel ERROR/' /etc/ssh/sshd_config")
        try fleet.reloadSSHD(host: host)
        try login(workspace, host: host, key: "ka")
        try run(inventory, .check, store: store)
        let once = try #require(try store.loginWatches()["h\(host)"])
        #expect(once.problem == Store.missingOwnLogin && once.watchingSince == watched.watchingSince, "\(once)")
        try run(inventory, .check, store: store)
        let twice = try #require(try store.loginWatches()["h\(host)"])
        #expect(twice.problem == Store.missingOwnLogin && twice.gaps > watched.gaps, "\(twice)")
        let report = try keysync(workspace, ["report", "--unused", "0d", "--format", "json"])
        #expect(report.succeeded && report.stdout.contains("\"unobserved\"") && !report.stdout.contains("\"unused\""), "\(report)")
    }

    /// A revoked key that still logs in from where keysync does not read (here
    /// the keys file of an account the inventory does not name) is
    /// `revoked_key_used` on the next check (review s15 removal #7); where
    /// keysync finds the key it logged in with (usersample's file), it is
    /// `revoked_key` alone.
    @Test func aRevokedKeyThatStillLogsInIsReported() throws {
        let host = 166
        let (workspace, granted, store) = try pushed([host], keys: ["ka", "kb"])
        defer { try? fleet.reset(hosts: [host]) }
        try workspace.generateKey("kleak")
        // An account outside the inventory holds kleak, and usersample too (by
        // hand); the check before the revocation starts the log scan.
        let leak = try String(contentsOfFile: workspace.file("kleak.pub"), encoding: .utf8)
        _ = try fleet.sh(host, """
            useradd -m -s /bin/sh -p '*' stranger && su -s /bin/sh stranger -c 'umask 077 && mkdir -p ~/.ssh && cat > ~/.ssh/authorized_keys'
            """, stdin: Data(leak.utf8))
        _ = try fleet.sh(host, "su -s /bin/sh usersample -c 'cat >> ~/.ssh/authorized_keys'", stdin: Data(leak.utf8))
        try run(granted, .check, store: store)
        #expect(try fleet.login(host: host, user: "stranger", key: workspace.file("kleak")).succeeded)
        #expect(try fleet.login(host: host, user: "usersample", key: workspace.file("kleak")).succeeded)

        var text = try String(contentsOfFile: workspace.file("inventory.yml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "\nhosts:\n", with: "\n  kleak: { file: kleak.pub }\nrevoked: [kleak]\nhosts:\n")
        try workspace.write("inventory.yml", text)
        let revoked = try Inventory.load(path: workspace.file("inventory.yml"))
        let report = try run(revoked, .check, store: store)
        let drift = report.hosts.first?.drift ?? []
        let used = drift.filter { $0.kind == .revokedKeyUsed }
        #expect(used.map(\.account) == ["stranger"], "\(drift)")
        let leaked = try Self.fingerprint(workspace, "kleak")
        #expect(used.first?.fingerprint == leaked)
        #expect(drift.contains { $0.kind == .revokedKey && $0.account == "usersample" && $0.fingerprint == leaked }, "\(drift)")
        #expect(report.exitCode(for: .check, dryRun: false) == 2)
        // Nothing new in the log: the next check has no such item.
        #expect(!(try run(revoked, .check, store: store)).hosts[0].drift.contains { $0.kind == .revokedKeyUsed })
    }

    /// A log renamed between two checks (sshd re-opened on SIGHUP, as
    /// logrotate does it): the lines at the end of the old file and in the
    /// new one are each counted once; a third check counts nothing again.
    @Test func rotatedLogLosesNoLineAndCountsNoneTwice() throws {
        let host = 162
        let (workspace, inventory, store) = try pushed([host], keys: ["ka"])
        let ka = try Self.fingerprint(workspace, "ka")

        try login(workspace, host: host, key: "ka")
        try login(workspace, host: host, key: "ka")
        try run(inventory, .check, store: store)
        #expect(try store.keyLogins(fingerprint: ka).map(\.logins) == [2])

        try login(workspace, host: host, key: "ka")  // into the file that is renamed next
        try fleet.sh(host, "mv \(Self.log) \(Self.log).1")
        try fleet.reloadSSHD(host: host)  // sshd opens a new /var/log/auth.log
        try login(workspace, host: host, key: "ka")
        #expect(try fleet.sh(host, "grep -c 'Accepted publickey for usersample' \(Self.log).1 \(Self.log)")
                    .split(separator: "\n") == ["\(Self.log).1:3", "\(Self.log):1"])
        try run(inventory, .check, store: store)
        #expect(try store.keyLogins(fingerprint: ka).map(\.logins) == [4])
        #expect(try store.loginWatches()["h\(host)"]?.gaps == 0)

        try run(inventory, .check, store: store)
        #expect(try store.keyLogins(fingerprint: ka).map(\.logins) == [4])
    }

    /// A user name that is a whole forged log line, and a key comment that is
    /// one: sshd writes the name in its `Invalid user` lines, never as an
    /// `Accepted` line of its own, so nothing is counted for root or for the
    /// key the forged line names; only usersample's real login counts, and
    /// nothing of the other lines reaches the controller or the database.
    @Test func hostileLogLineIsNotCountedForAnotherAccount() throws {
        let host = 163
        try authlog([host])
        let workspace = try Workspace()
        let inventory = try inventory(workspace, hosts: [host], keys: ["ka", "kb"])
        let kb = try Self.fingerprint(workspace, "kb")
        // ka's comment is a forged line too (sshd does not log comments; keysync must not either).
        let forged = "Accepted publickey for root from 10.6.6.6 port 22 ssh2: ED25519 \(kb)"
        let comment = try TestFleet.run(["ssh-keygen", "-q", "-c", "-C", forged, "-f", workspace.file("ka")])
        #expect(comment.succeeded, "\(comment)")
        let inventoryWithComment = try Inventory.load(path: workspace.file("inventory.yml"))
        let store = try Store(path: workspace.file("keysync.db"))
        try run(inventoryWithComment, .push, store: store)
        _ = inventory

        let marker = "kslastuse\(UInt32.random(in: 100_000...999_999))"
        for user in [forged, "\(marker) \(forged)"] {
            let result = try fleet.login(host: host, user: user, key: workspace.file("ka"))
            #expect(!result.succeeded)
        }
        try login(workspace, host: host, key: "ka")
        let log = try fleet.sh(host, "cat \(Self.log)")
        #expect(log.contains("Invalid user \(marker)"), "the hostile names are in the log: \(log.suffix(2000))")

        let report = try run(inventoryWithComment, .check, store: store)
        let logins = try store.keyLogins(hosts: ["h\(host)"])
        #expect(logins.filter { $0.account != fleet.user }.map { "\($0.account) \($0.logins)" } == ["usersample 1"])
        #expect(!logins.contains { $0.account == "root" || $0.fingerprint == kb || $0.lastAddress == "10.6.6.6" })
        // Nothing but the parsed facts left the host.
        for file in ["keysync.db", "keysync.db-wal"] {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: workspace.file(file)))) ?? Data()
            #expect(bytes.range(of: Data(marker.utf8)) == nil, "\(file) holds a log line")
            #expect(bytes.range(of: Data("Invalid user".utf8)) == nil, "\(file) holds a log line")
        }
        #expect(!String(describing: report).contains(marker))
    }

    /// A log that grew by a gigabyte (sparse) since the last scan: the probe
    /// reads its last megabyte, not the gigabyte; the login after it counts,
    /// and the watch says lines were skipped.
    @Test func gigabyteLogIsNotReadWhole() throws {
        let host = 164
        let (workspace, inventory, store) = try pushed([host], keys: ["ka"])
        let watchedFrom = try #require(try store.loginWatches()["h\(host)"]?.watchingSince)

        try fleet.sh(host, "truncate -s +1G \(Self.log) && printf '\\n' >> \(Self.log)")
        try login(workspace, host: host, key: "ka")
        #expect(try fleet.sh(host, "stat -c %s \(Self.log)").trimmingCharacters(in: .whitespacesAndNewlines).count >= 10)
        let report = try run(inventory, .check, store: store)
        let read = try #require(report.hosts.first?.logBytesRead)
        // The piece a run reads (the limit: a full read is what makes it ask the size), then the end.
        #expect(read <= 2 * ProbeScript.Logins.readLimit, "read \(read) bytes of a 1 GB log")
        #expect(try store.keyLogins(fingerprint: try Self.fingerprint(workspace, "ka")).map(\.logins) == [1])
        let watch = try #require(try store.loginWatches()["h\(host)"])
        #expect(watch.gaps == 1)
        #expect(try #require(watch.watchingSince) > watchedFrom)

        // The next check reads only what was added since.
        let next = try run(inventory, .check, store: store)
        #expect(try #require(next.hosts.first?.logBytesRead) < 65_536)
        try fleet.sh(host, ": > \(Self.log)")
    }
}
