import Foundation
import GRDB
import Testing
@testable import KeySync

/// How a scan's logins reach the database (issue 21): times written without
/// GRDB's DateFormatter must read back as the same dates, and a second scan
/// adds to the counts and moves the last login.
@Suite struct StoreLoginsTests {
    /// `Store.databaseDate` is byte for byte what GRDB writes for the same Date.
    @Test(arguments: [0, 59, 86_399, 86_400, 951_782_400, 951_868_799, 1_700_000_000, 1_796_553_004, 2_147_483_647,
                      4_107_542_400, 253_402_300_799])
    func databaseDateIsGRDBs(seconds: Int) {
        #expect(Store.databaseDate(seconds) == Date(timeIntervalSince1970: TimeInterval(seconds)).databaseValue)
    }

    /// Every day of four years (a leap year among them) and times of day: the same text as GRDB.
    @Test func databaseDateAgreesDayByDay() {
        var mismatches: [Int] = []
        for day in stride(from: 19_700, to: 19_700 + 4 * 366, by: 1) {
            let seconds = day * 86_400 + (day * 7_919) % 86_400
            if Store.databaseDate(seconds) != Date(timeIntervalSince1970: TimeInterval(seconds)).databaseValue { mismatches.append(seconds) }
        }
        #expect(mismatches.isEmpty)
    }

    /// Outside the years the fast path writes, GRDB's own text.
    @Test func databaseDateOutsideItsYearsIsGRDBs() {
        for seconds in [-1, -86_400 * 400, 253_402_300_800] {
            #expect(Store.databaseDate(seconds) == Date(timeIntervalSince1970: TimeInterval(seconds)).databaseValue)
        }
    }

    static let fp = "SHA256:" + String(repeating: "Q", count: 43)

    static func scan(start: LoginPosition?, end: Int, at date: Date, _ uses: [LoginUse]) -> Store.LoginScanRecord {
        Store.LoginScanRecord(startSource: start == nil ? nil : LoginSource(kind: .syslog, path: "/var/log/auth.log"),
                              startPosition: start, source: LoginSource(kind: .syslog, path: "/var/log/auth.log"),
                              position: .file(inode: "12", offset: end), uses: uses, scannedAt: date, discovered: start == nil,
                              firstScan: start == nil, firstTime: start == nil ? date : nil)
    }

    /// Timed and untimed logins: times as the lines said (untimed: the scan's),
    /// counts added, the last login and its address moved forward only.
    @Test(arguments: Backing.allCases) func scansAddUp(_ backing: Backing) throws {
        try withStore(backing) { store in
            let first = Int(hour(0).timeIntervalSince1970)
            var record = Store.HostRecord(host: "web-1", status: .ok)
            record.logins = Self.scan(start: nil, end: 100, at: hour(1), [
                LoginUse(account: "deploy", fingerprint: Self.fp, keyType: "ED25519", count: 2, first: first, last: first + 60,
                         address: "10.0.0.5"),
                LoginUse(account: "backup", fingerprint: Self.fp, keyType: "ED25519", count: 1, address: "10.0.0.6"),
            ])
            try recordRun(store, at: hour(1), [record])
            record.logins = Self.scan(start: .file(inode: "12", offset: 100), end: 200, at: hour(3), [
                LoginUse(account: "deploy", fingerprint: Self.fp, keyType: "ED25519", count: 3, first: first + 7200, last: first + 7260,
                         address: "10.0.0.7"),
            ])
            try recordRun(store, at: hour(3), [record])

            let logins = try store.keyLogins(fingerprint: Self.fp)
            let deploy = try #require(logins.first { $0.account == "deploy" })
            #expect(deploy.logins == 5)
            #expect(deploy.firstLoginAt == hour(0))
            #expect(deploy.lastLoginAt == Date(timeIntervalSince1970: TimeInterval(first + 7260)))
            #expect(deploy.lastAddress == "10.0.0.7" && deploy.lastExact)
            let backup = try #require(logins.first { $0.account == "backup" })
            #expect(backup.logins == 1 && backup.firstLoginAt == hour(1) && backup.lastLoginAt == hour(1) && !backup.lastExact)
        }
    }

    /// Many pairs in one reply, and pairs listed twice (a rotation read in
    /// two parts): every login counted once, the last one kept.
    @Test(arguments: Backing.allCases) func manyPairsAndRepeatsInOneReply(_ backing: Backing) throws {
        try withStore(backing) { store in
            let base = Int(hour(0).timeIntervalSince1970)
            func use(_ i: Int, count: Int = 1, at offset: Int = 0) -> LoginUse {
                LoginUse(account: "a\(i)", fingerprint: Self.fp, keyType: "ED25519", count: count, first: base + offset, last: base + offset,
                         address: "10.0.0.\(i % 250)")
            }
            let per = 64
            var uses = (0..<(2 * per + 10)).map { use($0) }
            uses.insert(use(3, count: 2, at: 60), at: 10)
            uses.append(use(5, count: 4, at: 120))
            var record = Store.HostRecord(host: "web-1", status: .ok)
            record.logins = Self.scan(start: nil, end: 100, at: hour(1), uses)
            try recordRun(store, at: hour(1), [record])

            let logins = try store.keyLogins(fingerprint: Self.fp)
            #expect(logins.count == 2 * per + 10)
            #expect(logins.reduce(0) { $0 + $1.logins } == 2 * per + 10 + 2 + 4)
            let a3 = try #require(logins.first { $0.account == "a3" })
            #expect(a3.logins == 3 && a3.lastLoginAt == Date(timeIntervalSince1970: TimeInterval(base + 60)) && a3.firstLoginAt == hour(0))
            let a5 = try #require(logins.first { $0.account == "a5" })
            #expect(a5.logins == 5 && a5.lastLoginAt == Date(timeIntervalSince1970: TimeInterval(base + 120)))
        }
    }

    static let authLog = LoginSource(kind: .syslog, path: "/var/log/auth.log")

    /// `web-1` with a first scan of auth.log (to offset 100) recorded at hour 1.
    static func firstScanned(_ store: Store) throws -> Store.HostRecord {
        var record = Store.HostRecord(host: "web-1", status: .ok)
        record.logins = scan(start: nil, end: 100, at: hour(1), [])
        try recordRun(store, at: hour(1), [record])
        return record
    }

    /// A scan of auth.log on from offset `from` to `to` at `hour(hours)`; `edit` fills in the rest of the reply.
    static func continued(from: Int, to: Int, at hours: Int, loginAccount: String? = nil,
                          _ edit: (inout LoginScanReply) -> Void = { _ in }) -> LoginScanResult {
        var reply = LoginScanReply()
        reply.source = authLog
        reply.position = .file(inode: "12", offset: to)
        edit(&reply)
        return LoginScanResult(request: ProbeScript.Logins(source: authLog, position: .file(inode: "12", offset: from), now: hour(hours)),
                               reply: reply, scannedAt: hour(hours), loginAccount: loginAccount)
    }

    /// Pairs over the probe's limit were read past but not listed: the
    /// watch starts again at that scan, so nothing is called unused for the
    /// time whose logins were not all seen.
    @Test(arguments: Backing.allCases) func pairsOverTheLimitAreAGap(_ backing: Backing) throws {
        try withStore(backing) { store in
            var record = try Self.firstScanned(store)
            #expect(try store.loginWatches()["web-1"]?.watchingSince == hour(1))

            let scan = Self.continued(from: 100, to: 200, at: 5) { $0.dropped = 3 }
            #expect(scan.record?.gap?.contains("3 account/key pairs") == true && scan.record?.sinceTime == nil)
            record.logins = scan.record
            try recordRun(store, at: hour(5), [record])
            let watch = try #require(try store.loginWatches()["web-1"])
            #expect(watch.watchingSince == hour(5) && watch.gaps == 1 && watch.lastGapAt == hour(5))
            // With a gap of the log's own too (a rotated file gone): still up to now, not from that gap's time.
            let both = Self.continued(from: 200, to: 300, at: 7) { reply in
                reply.dropped = 3
                reply.gap = "rotated"
                reply.sinceTime = Int(hour(6).timeIntervalSince1970)
            }
            #expect(both.record?.sinceTime == nil)
        }
    }

    /// keysync's own login goes to sshd's log before its probe runs: a scan
    /// that reads on and finds no login of that account reads a source that
    /// may not get sshd's logins. Not watched while it lasts; once (a line
    /// written late) is not a gap, twice in a row is.
    @Test(arguments: Backing.allCases) func aScanWithoutKeysyncsOwnLoginIsNotWatching(_ backing: Backing) throws {
        try withStore(backing) { store in
            var record = try Self.firstScanned(store)
            func scan(from: Int, to: Int, at hours: Int, _ accounts: [String]) throws -> Store.LoginWatch {
                record.logins = Self.continued(from: from, to: to, at: hours, loginAccount: "ops") { reply in
                    reply.uses = accounts.map { LoginUse(account: $0, fingerprint: Self.fp, keyType: "ED25519", count: 1, address: "127.0.0.1") }
                }.record
                try recordRun(store, at: hour(hours), [record])
                return try #require(try store.loginWatches()["web-1"])
            }
            let once = try scan(from: 100, to: 200, at: 2, ["deploy"])
            #expect(once.problem == Store.missingOwnLogin && once.watchingSince == hour(1) && once.readUntil == hour(1))
            #expect(!once.covers(since: nil, fleetReadUntil: nil))
            let late = try scan(from: 200, to: 300, at: 3, ["ops"])
            #expect(late.problem == nil && late.watchingSince == hour(1) && late.readUntil == hour(3) && late.gaps == 0)
            _ = try scan(from: 300, to: 400, at: 4, [])
            let twice = try scan(from: 400, to: 500, at: 5, ["deploy"])
            #expect(twice.problem == Store.missingOwnLogin && twice.watchingSince == hour(5) && twice.gaps == 1)
            let back = try scan(from: 500, to: 600, at: 6, ["ops", "deploy"])
            #expect(back.problem == nil && back.watchingSince == hour(5) && back.covers(since: hour(5), fleetReadUntil: nil))
        }
    }
}
