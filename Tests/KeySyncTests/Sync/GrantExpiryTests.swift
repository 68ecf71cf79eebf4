import Foundation
import Testing
@testable import KeySync

/// Grants that end (`until`): how sshd is told (`expiry-time`), and what
/// the planner writes, removes and reports at a fixed clock.
@Suite struct GrantExpiryTests {
    typealias F = PlannerFixture
    let a: PublicKey, b: PublicKey, c: PublicKey

    /// The planner's clock in these tests, and grant ends around it.
    static let now = date("2026-12-06T12:00:00Z")
    static let future = date("2027-01-01T00:00:00Z")    // until: 2026-12-31
    static let past = date("2026-12-01T00:00:00Z")      // until: 2026-11-30
    static let debian12 = "OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024"

    static func date(_ text: String) -> Date { try! Date.ISO8601FormatStyle().parse(text) }

    init() throws { (a, b, c) = try SyncKeys.three() }

    func line(_ key: PublicKey, options: String? = nil) -> String { SyncKeys.line(key, options: options) }
    func block(_ lines: [String]) -> String { SyncKeys.block(project: "usersample", role: "deploy", lines) }

    func entry(_ name: String, _ key: PublicKey, options: String? = nil, until: Date? = nil) -> DesiredEntry {
        DesiredEntry(keyName: name, key: key, options: options, until: until)
    }

    /// Plans `account` on a host whose probe reported `sshd` (and `offsets`), at ``now``.
    func plan(_ account: FakeAccount, _ entries: [DesiredEntry], sshd: String? = debian12, offsets: [Int: String] = [:],
              options: PlanOptions = PlanOptions(), now: Date? = now,
              sourceLocation: SourceLocation = #_sourceLocation) throws -> AccountPlan {
        var header = FakeProbe.header
        if let sshd { header += "sshd_version \(sshd)\n" }
        for (end, offset) in offsets.sorted(by: { $0.key < $1.key }) { header += "utc_offset \(end) \(offset)\n" }
        let probe = try HostProbe(reply: Array(header.utf8) + account.bytes() + Array(FakeProbe.end.utf8), nonce: FakeProbe.nonce)
        var options = options
        options.now = now
        let host = SyncPlanner.plan(probe: probe, accounts: [F.target(account.name, entries)], options: options)
        #expect(host.failure == nil, sourceLocation: sourceLocation)
        return try #require(host.accounts.first, sourceLocation: sourceLocation)
    }

    // MARK: sshd versions and the option

    @Test(arguments: [
        (debian12, ExpiryTimeSyntax.utc),
        ("OpenSSH_9.1p1, OpenSSL 3.0.7", .utc),
        ("OpenSSH_10.0p2 Debian-5, OpenSSL 3.5.0", .utc),
        ("OpenSSH_9.0p1 Ubuntu-1ubuntu8.7, OpenSSL 3.0.2 15 Mar 2022", .localTime(utcOffsets: [:])),
        ("OpenSSH_7.7p1, OpenSSL 1.1.0h", .localTime(utcOffsets: [:])),
        ("OpenSSH_7.4p1, OpenSSL 1.0.2k-fips  26 Jan 2017", .unsupported),
        ("OpenSSH_for_Windows_8.1p1, LibreSSL 3.0.2", .localTime(utcOffsets: [:])),
        ("dropbear_2022.83", .unsupported),
        ("unknown", .unsupported),
    ])
    func syntaxFromTheVersion(_ version: String, _ syntax: ExpiryTimeSyntax) {
        #expect(ExpiryTimeSyntax(sshdVersion: version, utcOffsets: [:]) == syntax)
    }

    @Test func noVersionMeansNoOption() {
        #expect(ExpiryTimeSyntax(sshdVersion: nil, utcOffsets: [:]) == .unsupported)
        #expect(ExpiryTimeSyntax.unsupported.option(until: Self.future) == nil)
    }

    @Test func utcIsWrittenWithZAndReadBackBySshdsRules() throws {
        #expect(ExpiryTimeSyntax.utc.option(until: Self.future) == #"expiry-time="202701010000Z""#)
        let withSeconds = Self.date("2026-12-31T18:00:30Z")
        #expect(ExpiryTimeSyntax.utc.option(until: withSeconds) == #"expiry-time="20261231180030Z""#)
        for until in [Self.future, withSeconds, Self.date("2028-02-29T23:59:00Z")] {
            let text = try #require(ExpiryTimeSyntax.utc.option(until: until))
            #expect(try AuthorizedKeyOptions.parse(text).expiry == until)
        }
    }

    @Test func localTimeUsesTheHostsOffsetAtTheEnd() {
        let end = Int(Self.future.timeIntervalSince1970)
        let berlin = ExpiryTimeSyntax.localTime(utcOffsets: [end: 3600])
        #expect(berlin.option(until: Self.future) == #"expiry-time="202701010100""#)
        let newYork = ExpiryTimeSyntax.localTime(utcOffsets: [end: -5 * 3600])
        #expect(newYork.option(until: Self.future) == #"expiry-time="202612311900""#)
        // An end the probe gave no offset for: no option (removal still works).
        #expect(berlin.option(until: Self.past) == nil)
    }

    @Test(arguments: [("+0100", 3600), ("-0430", -16200), ("+0000", 0), ("+1400", 50400)])
    func offsets(_ text: String, _ seconds: Int) {
        #expect(ExpiryTimeSyntax.offset(Substring(text)) == seconds)
    }

    @Test(arguments: ["", "0100", "+01:00", "+1500", "+0060", "+01000", "UTC"])
    func badOffsets(_ text: String) {
        #expect(ExpiryTimeSyntax.offset(Substring(text)) == nil)
    }

    @Test func expiryTimeJoinsTheKeysOwnOptions() throws {
        let written = entry("kb", b, options: #"from="10.0.0.0/8",no-agent-forwarding"#, until: Self.future).forHost(.utc)
        #expect(written.options == #"from="10.0.0.0/8",no-agent-forwarding,expiry-time="202701010000Z""#)
        let parsed = try AuthorizedKeyOptions.parse(try #require(written.options))
        #expect(parsed.values("from") == ["10.0.0.0/8"] && parsed.contains("no-agent-forwarding"))
        // A key that already has an expiry-time keeps it: sshd applies the earliest.
        let own = entry("kb", b, options: #"expiry-time="20261215""#, until: Self.future).forHost(.utc)
        #expect(own.options == #"expiry-time="20261215",expiry-time="202701010000Z""#)
        #expect(try AuthorizedKeyOptions.parse(try #require(own.options)).values("expiry-time").count == 2)
        // No end, or an sshd without the option: the entry as it was.
        #expect(entry("ka", a, options: "no-pty").forHost(.utc).options == "no-pty")
        #expect(entry("kb", b, until: Self.future).forHost(.unsupported).options == nil)
    }

    // MARK: Planning

    @Test func aGrantThatEndsLaterIsWrittenWithExpiryTime() throws {
        let account = FakeAccount.existing("usersample", content: nil)
        let entries = [entry("ka", a), entry("kb", b, options: #"from="10.0.0.0/8""#, until: Self.future)]
        let first = try plan(account, entries)
        let content = try #require(first.apply?.write?.content)
        #expect(content == F.bytes(block([line(a), line(b, options: #"from="10.0.0.0/8",expiry-time="202701010000Z""#)])))
        var after = account
        after.content = content
        let again = try plan(after, entries)
        #expect(again.apply == nil && again.drift.isEmpty)
    }

    @Test func sshdBefore77GetsTheLineWithoutTheOption() throws {
        let first = try plan(.existing("usersample", content: nil), [entry("kb", b, until: Self.future)],
                             sshd: "OpenSSH_7.4p1, OpenSSL 1.0.2k-fips  26 Jan 2017")
        #expect(first.apply?.write?.content == F.bytes(block([line(b)])))
    }

    @Test func sshd77To90GetsLocalTime() throws {
        let end = Int(Self.future.timeIntervalSince1970)
        let first = try plan(.existing("usersample", content: nil), [entry("kb", b, until: Self.future)],
                             sshd: "OpenSSH_8.4p1 Debian-5+deb11u3, OpenSSL 1.1.1w", offsets: [end: "+0100"])
        #expect(first.apply?.write?.content == F.bytes(block([line(b, options: #"expiry-time="202701010100""#)])))
    }

    @Test func anEndedGrantIsNeverWritten() throws {
        let plan = try plan(.existing("usersample", content: nil), [entry("ka", a), entry("kb", b, until: Self.past)])
        #expect(plan.apply?.write?.content == F.bytes(block([line(a)])))
        #expect(plan.drift.map(\.kind) == [.missingKey])
    }

    @Test func anEndedGrantStillThereIsGrantExpiredAndRemoved() throws {
        let before = "# mine\n" + block([line(a), line(b, options: #"expiry-time="202612010000Z""#)])
        let account = FakeAccount.existing("usersample", content: F.bytes(before))
        let entries = [entry("ka", a), entry("kb", b, until: Self.past)]
        let first = try plan(account, entries)
        #expect(first.drift.map(\.kind) == [.grantExpired])
        let item = try #require(first.drift.first)
        #expect(item.detail == "kb (project usersample, role deploy): the grant ended 2026-12-01T00:00:00Z and the line is still there")
        #expect(item.fingerprint == b.fingerprint && item.repairable)
        #expect(first.apply?.write?.content == F.bytes("# mine\n" + block([line(a)])))
        #expect(first.changes.contains { $0.hasPrefix("fix grant_expired: kb") })
        var after = account
        after.content = first.apply?.write?.content
        let again = try plan(after, entries)
        #expect(again.apply == nil && again.drift.isEmpty)
    }

    @Test func theClockDecides() throws {
        let entries = [entry("kb", b, until: Self.future)]
        let account = FakeAccount.existing("usersample", content: F.bytes(block([line(b, options: #"expiry-time="202701010000Z""#)])))
        #expect(try plan(account, entries).drift.isEmpty)
        #expect(try plan(account, entries, now: Self.future.addingTimeInterval(-1)).drift.isEmpty)
        #expect(try plan(account, entries, now: Self.future).drift.map(\.kind) == [.grantExpired])
        // Without a clock nothing has ended.
        #expect(try plan(account, entries, now: nil).drift.isEmpty)
    }

    @Test func aChangedUntilIsOptionsChangedAndRepaired() throws {
        let account = FakeAccount.existing("usersample", content: F.bytes(block([line(b, options: #"expiry-time="202612150000Z""#)])))
        let first = try plan(account, [entry("kb", b, until: Self.future)])
        #expect(first.drift.map(\.kind) == [.optionsChanged])
        #expect(first.drift.first?.detail.contains(#"want "expiry-time="202701010000Z"""#) == true)
        #expect(first.apply?.write?.content == F.bytes(block([line(b, options: #"expiry-time="202701010000Z""#)])))
        // A grant that no longer ends loses the option.
        let unended = try plan(account, [entry("kb", b)])
        #expect(unended.drift.map(\.kind) == [.optionsChanged])
        #expect(unended.apply?.write?.content == F.bytes(block([line(b)])))
    }

    @Test func anUpgradedSshdGetsTheUTCForm() throws {
        let account = FakeAccount.existing("usersample", content: F.bytes(block([line(b)])))
        let plan = try plan(account, [entry("kb", b, until: Self.future)])
        #expect(plan.drift.map(\.kind) == [.optionsChanged])
    }

    /// The lockout guard does not keep an ended grant alive: the inventory
    /// named the day. keysync's own login key stays guarded.
    @Test func theLockoutGuardLetsAnEndedLastKeyGo() throws {
        let account = FakeAccount.existing("usersample", content: F.bytes(block([line(b)])))
        let ended = try plan(account, [entry("kb", b, until: Self.past)])
        #expect(ended.apply?.write?.content == F.bytes(block([])))
        #expect(!ended.drift.contains { $0.kind == .lockoutRefused })

        // The same removal without an end (the key dropped from the role) is still refused.
        let dropped = try plan(account, [])
        #expect(dropped.drift.contains { $0.kind == .lockoutRefused })

        let ops = FakeAccount.existing("ops", content: F.bytes(block([line(a), line(c)])))
        let login = try plan(ops, [entry("ka", a, until: Self.past), entry("kc", c)],
                             options: PlanOptions(loginKeyFingerprint: a.fingerprint, loginUser: "ops"))
        #expect(login.drift.contains { $0.kind == .lockoutRefused && $0.fingerprint == a.fingerprint })
        #expect(login.apply == nil)
    }

    /// A key under rotation keeps its grant's end in every stage.
    @Test func aRotatedKeyKeepsItsUntil() {
        let overlay = RotationOverlay([RotationOverlay.Key(name: "kb", old: b, new: c, stages: [:], otherwise: .both)])
        let staged = overlay.entries([entry("ka", a), entry("kb", b, until: Self.future)],
                                     for: RotationPair(host: "h", account: "usersample"))
        #expect(staged.map(\.until) == [nil, Self.future, Self.future])
    }

    /// doctor does not explain a login that fails because its grant ended.
    @Test func doctorLeavesEndedGrantsAlone() throws {
        var fixture = try DoctorFixture()
        fixture.setContent("# the grant ended, push removed the line\n")
        let now = Date(timeIntervalSince1970: 20000 * 86400)  // the fixture's clock
        fixture.target.blocks[0].entries[0].until = now
        #expect(try fixture.problems().isEmpty)
        fixture.target.blocks[0].entries[0].until = now.addingTimeInterval(86400)
        #expect(try fixture.problems() == [.keyMissing])
    }

    // MARK: Probe

    @Test func theProbeAsksForTheVersionOnlyWhenAGrantEnds() throws {
        let requests = [ProbeRequest(account: "usersample")]
        #expect(!ProbeScript.render(requests, nonce: "0").contains("-V"))
        let script = ProbeScript.render(requests, nonce: "0", grantEnds: [1_798_761_600, 1_798_761_600, 1_796_083_200])
        #expect(script.contains("grant_ends='1796083200 1798761600'\n"))
        #expect(script.contains(#""$sshd_bin" -V"#))
        try LocalShell.syntaxCheck(script)
    }

    @Test func theReplyCarriesTheVersionAndOffsets() throws {
        let reply = FakeProbe.header + "sshd_version OpenSSH_8.4p1 Debian-5+deb11u3, OpenSSL 1.1.1w\n"
            + "utc_offset 1798761600 +0100\nutc_offset 1796083200 \nutc_offset x +0100\n" + FakeProbe.end
        let probe = try HostProbe(reply: Array(reply.utf8), nonce: FakeProbe.nonce)
        #expect(probe.sshdVersion == "OpenSSH_8.4p1 Debian-5+deb11u3, OpenSSL 1.1.1w")
        #expect(probe.utcOffsets == [1_798_761_600: 3600])
    }

    /// The shell part, run locally with a stand-in sshd: the version line
    /// is found in the usage text of an sshd without `-V`, and sshd 7.7–9.0
    /// get the offset at each end in the login's time zone.
    @Test(arguments: [
        ("sshd: illegal option -- V\nOpenSSH_8.4p1 Debian-5, OpenSSL 1.1.1w\nusage: sshd [-46DdeiqTt]", "OpenSSH_8.4p1 Debian-5, OpenSSL 1.1.1w", true),
        ("OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024", "OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024", false),
        ("sshd: illegal option -- V\nOpenSSH_7.4p1, OpenSSL 1.0.2k-fips", "OpenSSH_7.4p1, OpenSSL 1.0.2k-fips", false),
        ("nothing useful", "unknown", false),
    ])
    func theShellPartFindsTheVersion(_ output: String, _ version: String, _ offsets: Bool) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let sshd = folder.file("sshd").path
        try Data("#!/bin/sh\nprintf '%s\\n' \(Shell.quote(output)) >&2\nexit 1\n".utf8).write(to: URL(fileURLWithPath: sshd))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: sshd)
        let script = "put() { printf '%s %s\\n' \"$1\" \"$2\"; }\nsshd_bin=\(Shell.quote(sshd))\nTZ=Europe/Berlin\nexport TZ\n"
            + "grant_ends='1798761600 1785456000'\n" + ProbeScript.grantExpiry
        let result = try LocalShell.run(script)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.text == "sshd_version \(version)\n"
            + (offsets ? "utc_offset 1798761600 +0100\nutc_offset 1785456000 +0200\n" : ""))
    }
}
