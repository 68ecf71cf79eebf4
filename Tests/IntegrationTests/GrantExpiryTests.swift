import Foundation
import Testing
@testable import KeySync

/// Grants that end (`{ key: NAME, until: DATE }`, issue 16) against real
/// sshd (OpenSSH 9.2 here: `expiry-time` with `Z`). Hosts 176–178 (see
/// SyncEngineTests for the ranges of every suite; 150–159 are
/// RotationCrashTests').
@Suite struct GrantExpiryTests {
    let fleet: TestFleet

    init() throws { fleet = try TestFleet.shared(minimumHosts: 180) }

    static let file = "/home/usersample/.ssh/authorized_keys"

    /// `YYYY-MM-DD` of `date` in UTC.
    static func day(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day())
    }

    /// `expiry-time="…Z"` as sshd 9.1+ should get it for a grant ending at `date`, computed apart from keysync's code.
    static func expiryOption(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let seconds = c.second! == 0 ? "" : String(format: "%02d", c.second!)
        return String(format: "expiry-time=\"%04d%02d%02d%02d%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!) + seconds + "Z\""
    }

    /// Role `deploy` (account `usersample`) of project `usersample` on `hosts`:
    /// `kp-usersample` without end, then the `grants` (`key: until` text, nil: no until).
    func inventory(_ workspace: Workspace, hosts: [Int], grants: [(String, String?)]) throws -> Inventory {
        let keys = grants.map { key, until in until.map { "{ key: \(key), until: \"\($0)\" }" } ?? key }
        let text = fleet.inventory(
            keys: ["kp-usersample: { file: kp-usersample.pub }"]
                + grants.map { "\($0.0): { file: \($0.0).pub, options: 'from=\"127.0.0.0/8\"' }" },
            hosts: hosts,
            projects: fleet.usersampleProject(hosts: hosts, [
                "uid: 1150", "gid: 1150", "shell: /bin/bash", "home: /home/usersample", "create: true",
                "keys: [kp-usersample, \(keys.joined(separator: ", "))]",
            ]))
        try workspace.write("inventory.yml", text)
        return try Inventory.load(path: workspace.file("inventory.yml"))
    }

    func run(_ inventory: Inventory, _ mode: SyncEngine.Mode, store: Store) throws -> RunReport {
        let settings = SyncEngine.Settings(mode: mode, parallel: 8)
        return try SyncRun(inventory: inventory, targets: try inventory.select(), settings: settings).execute(store: store)
    }

    func lines(_ host: Int) throws -> [String] {
        String(decoding: try fleet.read(host: host, Self.file), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func login(_ host: Int, _ workspace: Workspace, _ key: String) throws -> Int32 {
        try fleet.login(host: host, user: "usersample", key: workspace.file(key)).status
    }

    /// A grant that ended is never written (fresh host 176) and is removed
    /// where an earlier push wrote it (host 177); a grant that ends in a
    /// month is written with `expiry-time` and its login works.
    @Test func aGrantInThePastGoesAndOneInTheFutureCarriesExpiryTime() throws {
        let hosts = [176, 177]
        try fleet.removeAccounts(on: hosts)
        let workspace = try Workspace()
        for key in ["kp-usersample", "kp-contractor", "kp-former"] { try workspace.generateKey(key) }
        let now = Date()
        let future = Self.day(now.addingTimeInterval(30 * 86_400))
        let past = Self.day(now.addingTimeInterval(-3 * 86_400))
        let futureEnd = try GrantUntil.parse(future).get()
        let contractor = try workspace.publicKey("kp-contractor"), former = try workspace.publicKey("kp-former")
        let store = try Store.inMemory()

        // Before: host 177 got kp-former while its grant had no end.
        let before = try inventory(workspace, hosts: [177], grants: [("kp-former", nil)])
        #expect(try run(before, .push, store: store).summary.failed == 0)
        #expect(try login(177, workspace, "kp-former") == 0)

        let inventory = try inventory(workspace, hosts: hosts, grants: [("kp-contractor", future), ("kp-former", past)])
        let check = try run(inventory, .check, store: store)
        #expect(check.exitCode(for: .check, dryRun: false) == 2)
        let expired = check.hosts.first { $0.host == "h177" }?.drift.filter { $0.kind == .grantExpired } ?? []
        #expect(expired.map(\.fingerprint) == [former.fingerprint], "\(check.hosts.map(\.drift))")

        let push = try run(inventory, .push, store: store)
        #expect(push.summary.failed == 0, "\(push.hosts.compactMap(\.error))")
        #expect(push.summary.changed == 2)
        let want = "from=\"127.0.0.0/8\",\(Self.expiryOption(futureEnd)) \(contractor.type) \(contractor.base64)"
        for host in hosts {
            let file = try lines(host)
            #expect(file.contains { $0.hasPrefix(want) }, "h\(host): \(file)")
            #expect(!file.contains { $0.contains(former.base64) }, "h\(host): \(file)")
            // The future grant logs in; the ended one does not.
            #expect(try login(host, workspace, "kp-contractor") == 0)
            #expect(try login(host, workspace, "kp-former") != 0)
            #expect(try login(host, workspace, "kp-usersample") == 0)
        }
        let after = try run(inventory, .check, store: store)
        #expect(after.summary.drift == 0, "\(after.hosts.map(\.drift))")
        #expect(after.exitCode(for: .check, dryRun: false) == 0)
    }

    /// A grant ending about 70 s from now: written with `expiry-time`, the
    /// login works; after the end sshd itself refuses it although the line
    /// is still there (`check`: `grant_expired`), and push removes it.
    @Test func sshdRefusesAGrantAtItsEndBeforeKeysyncRemovesIt() throws {
        let host = 178
        try fleet.removeAccounts(on: [host])
        let workspace = try Workspace()
        for key in ["kp-usersample", "kp-contractor"] { try workspace.generateKey(key) }
        let end = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 70).rounded(.down))
        let until = end.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
        let inventory = try inventory(workspace, hosts: [host], grants: [("kp-contractor", until)])
        let contractor = try workspace.publicKey("kp-contractor")
        let store = try Store.inMemory()

        let push = try run(inventory, .push, store: store)
        #expect(push.summary.failed == 0, "\(push.hosts.compactMap(\.error))")
        #expect(try lines(host).contains { $0.hasPrefix("from=\"127.0.0.0/8\",\(Self.expiryOption(end)) \(contractor.type)") })
        #expect(Date() < end, "the push took too long for this test")
        #expect(try login(host, workspace, "kp-contractor") == 0)

        Thread.sleep(until: end.addingTimeInterval(2))
        #expect(try lines(host).contains { $0.contains(contractor.base64) })
        #expect(try login(host, workspace, "kp-contractor") != 0)
        // sshd saw the key and refused it (the line is there, the file readable).
        let log = try String(contentsOfFile: fleet.directory + "/h\(host)/sshd.log", encoding: .utf8)
        #expect(log.contains("Failed publickey for usersample from 127.0.0.1 port"), "\(log.suffix(2000))")
        #expect(log.contains("ED25519 \(contractor.fingerprint)"))
        #expect(try login(host, workspace, "kp-usersample") == 0)
        let check = try run(inventory, .check, store: store)
        #expect(check.hosts.first?.drift.map(\.kind) == [.grantExpired])

        let removal = try run(inventory, .push, store: store)
        #expect(removal.summary.failed == 0 && removal.summary.changed == 1)
        #expect(!(try lines(host)).contains { $0.contains(contractor.base64) })
        #expect(try run(inventory, .check, store: store).summary.drift == 0)
    }
}
