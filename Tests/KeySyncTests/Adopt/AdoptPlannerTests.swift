import Foundation
import Testing
@testable import KeySync

/// The planner's `adopt: true` rule (SyncPlanner+Adopt.swift): hand-written
/// lines of granted keys are moved into the block byte for byte, never
/// copied, and only for roles that say so.
@Suite struct AdoptPlannerTests {
    typealias F = PlannerFixture
    let a: PublicKey, b: PublicKey, c: PublicKey, d: PublicKey

    init() throws {
        a = try SyncKeys.ed25519()
        b = try SyncKeys.ecdsa256()
        c = try SyncKeys.rsa2048()
        d = try SyncKeys.rsa3072()
    }

    func line(_ key: PublicKey, options: String? = nil) -> String { SyncKeys.line(key, options: options) }
    func block(_ lines: [String], ending: String = "\n") -> String {
        SyncKeys.block(project: "adopted", role: "deploy", lines, ending: ending)
    }
    func target(_ entries: [DesiredEntry], adopt: Bool = true, exclusive: Bool = false) -> AccountTarget {
        AccountTarget(name: "deploy", exclusive: exclusive,
                      blocks: [DesiredBlock(project: "adopted", role: "deploy", entries: entries, adopt: adopt)])
    }
    /// The key lines of `bytes` as they are, terminators dropped, in order.
    func keyLines(_ bytes: [UInt8]) -> [String] {
        AuthorizedKeysFile(bytes: bytes).keyLines.map(\.text)
    }

    /// Odd spacing, comments, CRLF, options, a duplicate, a line sshd skips and no final newline.
    var handKept: String {
        "# deploy keys, kept by hand\r\n"
            + "   \(a.type)   \(a.base64)   alice@laptop  \r\n"
            + "\n"
            + "# bob, CI\n"
            + "from=\"10.0.0.0/8\",no-pty \(line(b))\n"
            + "not a key at all\n"
            + "\t\(line(a)) again\n"
            + "\(c.type) \(c.base64)"
    }

    @Test func adoptRoleWrapsTheLinesItFindsByteForByteAndAddsNoKey() throws {
        let before = F.bytes(handKept)
        let account = FakeAccount.existing("deploy", content: before)
        let want = target([F.entry("alice", a), F.entry("ci", b, options: "from=\"10.0.0.0/8\",no-pty"), F.entry("carol", c)])
        let plan = try F.single(account, want)
        let write = try #require(plan.apply?.write)
        let after = write.content
        // The same key lines, byte for byte, only moved: nothing added, nothing removed.
        #expect(keyLines(after).sorted() == keyLines(before).sorted())
        #expect(after == F.bytes(
            "# deploy keys, kept by hand\r\n"
                + "# keysync:begin project=adopted role=deploy\r\n"
                + "   \(a.type)   \(a.base64)   alice@laptop  \r\n"
                + "from=\"10.0.0.0/8\",no-pty \(line(b))\n"
                + "\(c.type) \(c.base64)\r\n"
                + "# keysync:end project=adopted role=deploy\r\n"
                + "\n# bob, CI\nnot a key at all\n\t\(line(a)) again\n"))
        #expect(plan.drift.filter { $0.kind == .unwrappedKey }.count == 3)
        #expect(!plan.drift.contains { $0.kind == .missingKey || $0.kind == .unexpectedKey })
        // The second copy of alice's key was there before and stays: reported, not repaired.
        #expect(plan.drift.filter { $0.kind == .duplicateKey }.map(\.repairable) == [false])
        #expect(plan.changes.allSatisfy { $0.hasPrefix("fix unwrapped_key: ") }, "\(plan.changes)")
        #expect(plan.lockout == nil)

        let again = try F.replan(after: plan, account, want)
        #expect(again.apply == nil, "the wrapped lines are kept as they are: \(again.changes)")
        #expect(again.drift.map(\.kind) == [.invalidLine, .duplicateKey])
    }

    @Test func withoutAdoptTheSameInventoryAddsCopiesAndLeavesEveryHandWrittenLine() throws {
        let before = F.bytes(handKept)
        let account = FakeAccount.existing("deploy", content: before)
        let plan = try F.single(account, target([F.entry("alice", a), F.entry("carol", c)], adopt: false))
        let after = try #require(plan.apply?.write).content
        #expect(after == F.bytes(handKept + "\r\n" + block([line(a), line(c)], ending: "\r\n")))
        #expect(plan.drift.filter { $0.kind == .missingKey }.count == 2)
    }

    @Test func aLineWithOtherOptionsIsNotTakenTheKeyIsAdded() throws {
        let before = F.bytes("no-pty \(line(a))\n\(line(b))\n")
        let plan = try F.single(.existing("deploy", content: before), target([F.entry("alice", a), F.entry("bob", b)]))
        let after = try #require(plan.apply?.write).content
        #expect(after == F.bytes("no-pty \(line(a))\n" + block([line(b), line(a)])))
        #expect(Set(plan.drift.map(\.kind)) == [.unwrappedKey, .missingKey])
    }

    /// sshd uses the first line of a key: only that one may move, and a key
    /// the block adds goes after the lines of that key already there.
    @Test func theLineSshdMeetsFirstStaysFirst() throws {
        let hand = "\(line(b))\ncommand=\"/bin/true\" \(line(a))\n\(line(a)) plain\n"
        let plan = try F.single(.existing("deploy", content: F.bytes(hand)), target([F.entry("bob", b), F.entry("alice", a)]))
        let after = try #require(plan.apply?.write).content
        #expect(after == F.bytes("command=\"/bin/true\" \(line(a))\n\(line(a)) plain\n" + block([line(b), line(a)])))
        #expect(Set(plan.drift.map(\.kind)) == [.unwrappedKey, .missingKey, .duplicateKey])
    }

    /// A line that would have to move past a copy of its key with other
    /// options stays; the key is added the way a normal push adds it.
    @Test func aLineThatWouldPassACopyWithOtherOptionsStays() throws {
        let hand = "\(line(b))\nno-pty \(line(b)) copy\n\(line(c))\n"
        let want = target([F.entry("bob", b), F.entry("carol", c, options: "no-agent-forwarding")])
        let plan = try F.single(.existing("deploy", content: F.bytes(hand)), want)
        let after = try #require(plan.apply?.write).content
        #expect(after == F.bytes(hand + block([line(b), line(c, options: "no-agent-forwarding")])))
        #expect(!plan.drift.contains { $0.kind == .unwrappedKey })
    }

    @Test func linesInsideOtherBlocksAreNeverTaken() throws {
        let other = SyncKeys.block(project: "billing", role: "deploy", [line(a)])
        let before = F.bytes(other + "\(line(b)) by hand\n")
        var want = target([F.entry("alice", a), F.entry("bob", b)])
        want.blocks.insert(DesiredBlock(project: "billing", role: "deploy", entries: [F.entry("alice", a)]), at: 0)
        let plan = try F.single(.existing("deploy", content: before), want)
        let after = try #require(plan.apply?.write).content
        #expect(after == F.bytes(other + block(["\(line(b)) by hand", line(a)])))
    }

    @Test func anExistingAdoptBlockKeepsItsLinesAndTakesNewOnes() throws {
        let wrapped = "  \(a.type) \(a.base64)   alice  "
        let before = F.bytes("# top\n" + block([wrapped]) + "\(line(b)) pasted later\n")
        let want = target([F.entry("alice", a), F.entry("bob", b), F.entry("dave", d)])
        let plan = try F.single(.existing("deploy", content: before), want)
        let after = try #require(plan.apply?.write).content
        #expect(after == F.bytes("# top\n" + block([wrapped, "\(line(b)) pasted later", line(d)])))
        #expect(Set(plan.drift.map(\.kind)) == [.unwrappedKey, .missingKey])
        let again = try F.replan(after: plan, .existing("deploy", content: before), want)
        #expect(again.apply == nil && again.drift.isEmpty)
    }

    /// A timed grant (`until:`) is written with expiry-time on sshd ≥ 7.7;
    /// the hand-written line of its key, which has no such option, is still
    /// the one taken into the block — so at the end the key goes from the
    /// file, instead of the block line going and the hand line staying.
    @Test func aTimedGrantTakesTheHandWrittenLineAndEndsIt() throws {
        func plan(_ content: [UInt8], at now: String) throws -> AccountPlan {
            let header = FakeProbe.header + "sshd_version OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024\n"
            let account = FakeAccount.existing("deploy", content: content)
            let probe = try HostProbe(reply: Array(header.utf8) + account.bytes() + Array(FakeProbe.end.utf8), nonce: FakeProbe.nonce)
            var options = PlanOptions()
            options.now = try Date.ISO8601FormatStyle().parse(now)
            let until = try Date.ISO8601FormatStyle().parse("2027-01-01T00:00:00Z")
            let want = target([F.entry("bob", b), DesiredEntry(keyName: "alice", key: a, until: until)])
            let host = SyncPlanner.plan(probe: probe, accounts: [want], options: options)
            #expect(host.failure == nil)
            return try #require(host.accounts.first)
        }
        let hand = F.bytes("# hand-kept\n\(line(a)) alice\n\(line(b))\n")
        let before = try plan(hand, at: "2026-12-06T12:00:00Z")
        let written = try #require(before.apply?.write).content
        // Taken into the block byte for byte: one line of the key, in the block.
        let file = AuthorizedKeysFile(bytes: written)
        #expect(file.lines.filter { $0.grantingFingerprint == a.fingerprint }.map(\.text) == ["\(line(a)) alice"])
        #expect(file.managedLineNumbers.contains(file.lines.first { $0.grantingFingerprint == a.fingerprint }?.number ?? 0))
        #expect(before.drift.map(\.kind).contains(.unwrappedKey))
        // The next push writes it the way keysync writes a timed grant: with its expiry-time.
        let second = try plan(written, at: "2026-12-07T12:00:00Z")
        let rewritten = try #require(second.apply?.write, "\(second.drift)").content
        #expect(keyLines(rewritten).contains { $0.hasPrefix("expiry-time=") && $0.contains(a.base64) }, "\(keyLines(rewritten))")
        #expect(AuthorizedKeysFile(bytes: rewritten).lines.filter { $0.grantingFingerprint == a.fingerprint }.count == 1)
        // After the end the key is gone from the file.
        let after = try plan(rewritten, at: "2027-01-02T00:00:00Z")
        let final = try #require(after.apply?.write).content
        #expect(!AuthorizedKeysFile(bytes: final).lines.contains { $0.grantingFingerprint == a.fingerprint })
        #expect(after.drift.map(\.kind).contains(.grantExpired))
    }

    @Test func revokedKeysAreNeitherTakenNorKept() throws {
        let before = F.bytes("\(line(a))\n\(line(b))\n")
        var options = PlanOptions()
        options.revoked = [b.fingerprint]
        let plan = try F.single(.existing("deploy", content: before), target([F.entry("alice", a), F.entry("bob", b)]), options: options)
        let after = try #require(plan.apply?.write).content
        #expect(after == F.bytes(block([line(a)])))
    }

    @Test func exclusiveAdoptKeepsTheWrappedLinesAndDropsTheRest() throws {
        let before = F.bytes("\(line(a)) mine\n\(line(b))\n")
        let plan = try F.single(.existing("deploy", content: before), target([F.entry("alice", a)], exclusive: true))
        let after = try #require(plan.apply?.write).content
        #expect(after == F.bytes(block(["\(line(a)) mine"])))
    }

    @Test func movingKeyLinesLeavesEverythingElseInPlace() throws {
        let file = AuthorizedKeysFile(text: "# c\n\(line(a))\n# d\n\(line(b))")
        let id = try ManagedBlockID(project: "p", role: "r")
        let moved = file.movingKeyLines(into: [(id: id, lines: [2, 4], at: nil)])
        #expect(String(decoding: moved.serialized(), as: UTF8.self) == "# c\n\(id.beginMarker)\n\(id.endMarker)\n# d\n")
        #expect(moved.managedBlock(id)?.entries.isEmpty == true)
        // Comments and lines inside blocks are never taken.
        #expect(file.movingKeyLines(into: [(id: id, lines: [1, 3, 99, 0], at: nil)]) == file)
        // A new block can start after the last line, which then gets its line feed.
        let end = AuthorizedKeysFile(text: "\(line(a))\n# tail").movingKeyLines(into: [(id: id, lines: [1], at: 3)])
        #expect(String(decoding: end.serialized(), as: UTF8.self) == "# tail\n\(id.beginMarker)\n\(id.endMarker)\n")
        #expect(AuthorizedKeysFile(bytes: []).movingKeyLines(into: [(id: id, lines: [1], at: nil)]).serialized().isEmpty)
    }

    @Test func aNewBlockIsNeverPlacedInsideAnother() throws {
        // The adopting role also grants a key that sits in another role's
        // block: the place after that key's line is inside that block.
        let other = try ManagedBlockID(project: "other", role: "ops")
        let before = F.bytes("\(line(a)) hand\n\(other.beginMarker)\n\(line(b))\n\(other.endMarker)\n")
        var want = target([F.entry("alice", a), F.entry("bob", b)])
        want.blocks.append(DesiredBlock(project: "other", role: "ops", entries: [F.entry("bob", b)]))
        let plan = try F.single(.existing("deploy", content: before), want)
        let after = AuthorizedKeysFile(bytes: try #require(plan.apply?.write).content)
        let ids = after.managedBlocks.map(\.id)
        #expect(Set(ids) == [other, try ManagedBlockID(project: "adopted", role: "deploy")], "\(String(decoding: after.serialized(), as: UTF8.self))")
        #expect(after.managedBlock(other)?.entries.map(\.key.fingerprint) == [b.fingerprint])
        #expect(after.managedBlock(try ManagedBlockID(project: "adopted", role: "deploy"))?.keyLines.map(\.text).contains("\(line(a)) hand") == true)
        // movingKeyLines itself puts an anchor inside a block after it.
        let file = AuthorizedKeysFile(bytes: before)
        let id = try ManagedBlockID(project: "p", role: "r")
        let moved = file.movingKeyLines(into: [(id: id, lines: [1], at: 3)])
        #expect(String(decoding: moved.serialized(), as: UTF8.self)
                == "\(other.beginMarker)\n\(line(b))\n\(other.endMarker)\n\(id.beginMarker)\n\(id.endMarker)\n")
    }

    @Test func aCertificateLineIsNeverAdopted() throws {
        // It grants nothing (sshd never takes one from authorized_keys): the key is added, the line left outside.
        let cert = try SyncKeys.key("id_ed25519-cert.pub")
        #expect(cert.fingerprint == a.fingerprint)
        let before = F.bytes(cert.openSSHLine + "\n")
        let plan = try F.single(.existing("deploy", content: before), target([F.entry("alice", a)]))
        let after = AuthorizedKeysFile(bytes: try #require(plan.apply?.write).content)
        let id = try ManagedBlockID(project: "adopted", role: "deploy")
        #expect(after.managedBlock(id)?.keyLines.map(\.text) == [line(a)])
        #expect(after.lines.first?.text == cert.openSSHLine, "the certificate line stays where it was")
        // And the next run is in sync: nothing more to write.
        let again = try F.single(.existing("deploy", content: after.serialized()), target([F.entry("alice", a)]))
        #expect(again.apply?.write == nil && !again.drift.contains { $0.kind == .missingKey }, "\(again.drift)")
    }
}
