import Foundation
import Testing
@testable import KeySync

/// Scan sections as the scan script sends them, for drafts.
enum AdoptFixture {
    static let now = Date(timeIntervalSince1970: 1_796_000_000)

    /// `accounts` as one host's scan reply parsed by ``HostProbe``; each with
    /// `keys_file_index` (1 unless `index` says otherwise).
    static func sections(_ accounts: [FakeAccount], index: [String: Int] = [:],
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> [AccountProbe] {
        var reply = Array(FakeProbe.header.utf8)
        for account in accounts {
            var bytes = account.bytes()
            let marker = Array("\npath \(account.path)\n".utf8)
            let at = try #require(bytes.firstRange(of: marker), sourceLocation: sourceLocation)
            bytes.insert(contentsOf: Array("keys_file_index \(index[account.path] ?? 1)\n".utf8), at: at.upperBound)
            reply += bytes
        }
        reply += Array(FakeProbe.end.utf8)
        return try HostProbe(reply: reply, nonce: FakeProbe.nonce, scan: true).sections
    }

    static func account(_ name: String, uid: Int = 1001, _ content: String, home: String? = nil) -> FakeAccount {
        var account = FakeAccount.existing(name, content: Array(content.utf8))
        (account.uid, account.gid, account.home) = (uid, uid, home)
        return account
    }

    static func host(_ name: String, _ number: Int) -> DraftHost {
        var host = DraftHost(name: name, address: "127.0.0.\(number)", port: 22, user: "ops")
        host.identity = "/root/.ssh/id_ed25519"
        host.knownHosts = "/root/.ssh/known_hosts"
        return host
    }

    static func input(_ name: String, _ number: Int, _ accounts: [FakeAccount], index: [String: Int] = [:],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> AdoptDraft.HostInput {
        AdoptDraft.HostInput(host: host(name, number), sections: try sections(accounts, index: index, sourceLocation: sourceLocation))
    }

    /// The draft's text loaded as an inventory: it must validate.
    static func load(_ draft: AdoptDraft, sourceLocation: SourceLocation = #_sourceLocation) throws -> Inventory {
        do {
            return try Inventory.parse(draft.text(date: now), path: "/tmp/adopted.yml", homeDirectory: "/root")
        } catch {
            Issue.record("the draft does not validate:\n\(error)\n\(draft.text(date: now))", sourceLocation: sourceLocation)
            throw error
        }
    }

    /// The keys (fingerprint and options) the inventory grants `account` on `host`.
    static func granted(_ inventory: Inventory, host: String, account: String) throws -> Set<String> {
        let target = try #require(try inventory.select(hosts: [host]).first)
        let blocks = target.accounts.first { $0.name == account }?.blocks ?? []
        return Set(blocks.flatMap(\.entries).map { "\($0.options ?? "") \($0.key.fingerprint)" })
    }

    /// The keys (fingerprint and options) of the first line of each key in `content`.
    static func found(_ content: String) -> Set<String> {
        var seen = Set<String>(), out = Set<String>()
        for line in AuthorizedKeysFile(text: content).keyLines where seen.insert(line.entry!.key.fingerprint).inserted {
            out.insert("\(line.entry!.options?.text ?? "") \(line.entry!.key.fingerprint)")
        }
        return out
    }
}

@Suite struct AdoptDraftTests {
    typealias X = AdoptFixture
    let a: PublicKey, b: PublicKey, c: PublicKey

    init() throws {
        a = try SyncKeys.ed25519()
        b = try SyncKeys.ecdsa256()
        c = try SyncKeys.rsa3072()
    }

    func line(_ key: PublicKey, _ comment: String, options: String? = nil) -> String {
        (options.map { $0 + " " } ?? "") + "\(key.type) \(key.base64) \(comment)"
    }

    /// `adopt --inventory-hosts` reached the hosts the inventory's way: the
    /// draft keeps it (jump hosts, manage_sshd), by name when the jump host
    /// is in the draft, else by where it was reached.
    @Test func theDraftReachesHostsTheWayAdoptDid() throws {
        let source = try Inventory.parse("""
            defaults: {user: ops, identity: /root/.ssh/id_ed25519}
            hosts:
              bastion: {address: 10.0.0.1, port: 2222}
              web-1: {address: 10.0.1.1, jump: bastion, manage_sshd: true}
            """, path: "/tmp/source.yml", homeDirectory: "/root")
        let hosts = try source.hosts.map { host in
            AdoptDraft.HostInput(host: DraftHost(host), sections: try X.sections([X.account("deploy", line(a, "alice") + "\n")]))
        }
        let both = try X.load(AdoptDraft(hosts, now: X.now))
        #expect(both.host(named: "web-1")?.jumps.map(\.name) == ["bastion"])
        #expect(both.host(named: "web-1")?.manageSSHD == true && both.host(named: "bastion")?.manageSSHD == false)
        let alone = try X.load(AdoptDraft([hosts[1]], now: X.now))
        let jump = try #require(alone.host(named: "web-1")?.jumps.first)
        #expect((jump.user, jump.address, jump.port) == ("ops", "10.0.0.1", 2222))
    }

    @Test func aUniformFleetIsOneProjectWithARolePerAccountAndValidates() throws {
        let deploy = "# by hand\r\n  \(line(a, "alice@laptop"))  \r\n\(line(b, "ci deploy", options: "from=\"10.0.0.0/8\",no-pty"))\n"
        let root = line(c, "root@admin") + "\n"
        let inputs = try (1...3).map { try X.input("web-\($0)", $0, [X.account("deploy", deploy), X.account("root", uid: 0, root, home: "/root")]) }
        let draft = AdoptDraft(inputs, now: X.now)
        #expect(draft.keys.map(\.name) == ["alice@laptop", "ci-deploy", "root@admin"])
        #expect(draft.keys[1].options == "from=\"10.0.0.0/8\",no-pty")
        #expect(draft.projects.map(\.name) == ["adopted"])
        let project = try #require(draft.projects.first)
        #expect(project.hosts == ["web-1", "web-2", "web-3"])
        #expect(project.roles.map(\.name) == ["deploy", "root"])
        #expect(project.roles[0] == AdoptDraft.Role(name: "deploy", account: "deploy", uid: 1001, gid: 1001, shell: "/bin/bash",
                                                    home: "/home/deploy", keys: ["alice@laptop", "ci-deploy"]))
        #expect(project.roles[1].uid == 0 && project.roles[1].home == "/root")
        #expect(draft.notes.isEmpty && draft.differences.isEmpty && draft.failures.isEmpty)

        let inventory = try X.load(draft)
        #expect(inventory.warnings.isEmpty, "\(inventory.warnings)")
        #expect(inventory.groups == ["adopted": ["web-1", "web-2", "web-3"]])
        for host in ["web-1", "web-3"] {
            #expect(try X.granted(inventory, host: host, account: "deploy") == X.found(deploy))
            #expect(try X.granted(inventory, host: host, account: "root") == X.found(root))
        }
        let text = draft.text(date: X.now)
        #expect(text.hasPrefix("# keysync adopt draft, 2026-11-30: 3 hosts read; 3 keys, 1 project.\n"))
        #expect(text.contains("""
            defaults:
              user: ops
              identity: /root/.ssh/id_ed25519
              known_hosts: /root/.ssh/known_hosts
            keys:
              alice@laptop:
                public: "ssh-ed25519 \(a.base64) alice@laptop"
            """))
        #expect(text.contains("  web-2: { address: 127.0.0.2, groups: [adopted] }\n"))
        #expect(text.contains("""
              adopted:
                hosts: ["group:adopted"]
                roles:
                  deploy:
                    uid: 1001
                    gid: 1001
                    shell: /bin/bash
                    home: /home/deploy
                    adopt: true
                    keys: [alice@laptop, ci-deploy]
            """))
    }

    /// The decision for differing sets: one role per distinct set, each in
    /// the project of exactly the hosts that have it; no host is granted a
    /// key it did not have.
    @Test func anAccountWhoseKeysDifferGetsARolePerSetInTheProjectOfItsHosts() throws {
        let both = line(a, "alice") + "\n" + line(b, "bob") + "\n"
        let onlyAlice = line(a, "alice") + "\n"
        let ops = line(c, "ops") + "\n"
        let inputs = try [
            X.input("h1", 1, [X.account("deploy", both), X.account("ops", uid: 2000, ops)]),
            X.input("h2", 2, [X.account("deploy", onlyAlice), X.account("ops", uid: 2000, ops)]),
            X.input("h3", 3, [X.account("deploy", both), X.account("ops", uid: 2000, ops)]),
            X.input("h4", 4, [X.account("ops", uid: 2000, ops)]),
        ]
        let draft = AdoptDraft(inputs, now: X.now)
        #expect(draft.projects.map(\.name) == ["adopted", "adopted-2", "adopted-3"])
        #expect(draft.projects.map(\.hosts) == [["h1", "h2", "h3", "h4"], ["h1", "h3"], ["h2"]])
        #expect(draft.projects.map { $0.roles.map(\.account) } == [["ops"], ["deploy"], ["deploy"]])
        #expect(draft.projects[1].roles[0].keys == ["alice", "bob"])
        #expect(draft.projects[2].roles[0].keys == ["alice"])
        #expect(draft.differences == ["account deploy: project adopted-2 (h1, h3): keys [alice, bob], uid 1001, home /home/deploy, shell /bin/bash; "
                                      + "project adopted-3 (h2): keys [alice], uid 1001, home /home/deploy, shell /bin/bash"])
        let inventory = try X.load(draft)
        #expect(inventory.groups["adopted-2"] == ["h1", "h3"])
        #expect(try X.granted(inventory, host: "h2", account: "deploy") == X.found(onlyAlice))
        #expect(try X.granted(inventory, host: "h3", account: "deploy") == X.found(both))
        #expect(try X.granted(inventory, host: "h4", account: "deploy").isEmpty)
        #expect(draft.text(date: X.now).contains("# Key sets that differ between hosts"))
    }

    @Test func linesThatAreNotAdoptedAreListedWithHostFileAndLine() throws {
        let rsa1024 = try KeyFixtures.text("id_rsa1024.pub").trimmingCharacters(in: .newlines)
        let dsa = try KeyFixtures.text("id_dsa.pub").trimmingCharacters(in: .newlines)
        let cert = try KeyFixtures.text("id_rsa2048-cert.pub").trimmingCharacters(in: .newlines)
        let content = [
            line(a, "alice"),                                   // 1 adopted
            "ssh-ed25519 AAAA-not-base64 broken",               // 2 invalid
            line(a, "alice again"),                             // 3 duplicate
            rsa1024,                                            // 4 weak RSA
            dsa,                                                // 5 DSA
            line(b, "bob OLD laptop, do not use"),              // 6 looks revoked
            cert,                                               // 7 certificate
            "expiry-time=\"20200101\" " + line(c, "carol"),     // 8 expired: sshd refuses it
        ].joined(separator: "\n") + "\n"
        let second = line(c, "in keys2") + "\n"
        var keys2 = X.account("deploy", second)
        keys2.pathOverride = "/home/deploy/.ssh/authorized_keys2"
        let input = try X.input("h1", 1, [X.account("deploy", content), keys2], index: ["/home/deploy/.ssh/authorized_keys2": 2])
        let draft = AdoptDraft([input], now: X.now)
        #expect(draft.keys.map(\.name) == ["alice"])
        let file = "h1 /home/deploy/.ssh/authorized_keys"
        let notes = draft.notes.map(\.description)
        #expect(notes.count == 8, "\(notes)")
        #expect(notes[0].hasPrefix(file + ":2: keysync cannot parse this line ("))
        #expect(notes[1] == file + ":3: duplicate: repeats the key of line 1 (ssh-ed25519 \(a.fingerprint) \"alice again\"); sshd uses the first, this one is left as it is")
        #expect(notes[2].hasPrefix(file + ":4: weak key (RSA 1024 bits, under 2048): ssh-rsa SHA256:"))
        #expect(notes[3].hasPrefix(file + ":5: weak key (DSA, refused by OpenSSH since 7.0): ssh-dss SHA256:"))
        #expect(notes[4].hasPrefix(file + ":6: looks revoked (its comment says \"old\")"))
        #expect(notes[5].hasPrefix(file + ":7: a certificate, not a key"))
        #expect(notes[6].hasPrefix(file + ":8: sshd refuses it (expiry-time"))
        #expect(notes[7].hasPrefix("h1 /home/deploy/.ssh/authorized_keys2:1: in a second AuthorizedKeysFile (keysync manages only the first)"))
        #expect(notes.allSatisfy { $0.hasSuffix("left as it is") || $0.contains("not adopted") }, "\(notes)")
        let text = draft.text(date: X.now)
        for note in notes { #expect(text.contains("#   " + InventoryYAML.commentText(note) + "\n")) }
        _ = try X.load(draft)
    }

    @Test func keysRevokedInTheSourceInventoryAreNotAdopted() throws {
        let draft = AdoptDraft([try X.input("h1", 1, [X.account("deploy", line(a, "a") + "\n" + line(b, "b") + "\n")])],
                               revoked: [b.fingerprint], now: X.now)
        #expect(draft.keys.map(\.name) == ["a"])
        #expect(draft.notes.map(\.message) == ["revoked in the inventory: ecdsa-sha2-nistp256 \(b.fingerprint) \"b\"; left on the host as it is, not adopted"])
    }

    /// Comments are a host's text: names are made valid and unique, values
    /// quoted, control characters dropped from `public:`, escaped in comments.
    @Test func hostileCommentsAndNamesStillMakeAValidDraft() throws {
        let content = [
            line(a, "\"quoted\" \\ back\u{1B}[31m"),
            "no-pty " + line(a, "same key, other options"),   // a duplicate: listed, not adopted
            line(b, ""),
            line(c, "- : # { } [ ] & * ! | > ' % @ `"),
        ].joined(separator: "\r\n") + "\r\n"
        let other = line(b, "") + "\n"
        let draft = AdoptDraft([
            try X.input("h1", 1, [X.account("deploy", content)]),
            try X.input("h2", 2, [X.account("deploy", "no-agent-forwarding " + other)]),
        ], now: X.now)
        let names = draft.keys.map(\.name)
        #expect(names.count == 4 && Set(names).count == 4, "\(names)")
        #expect(names[0] == "quoted-back-31m")
        #expect(names[1].hasPrefix("ecdsa-") && names[3] == names[1] + "-2")
        #expect(names[2].hasPrefix("rsa-"))
        #expect(draft.keys[0].publicKey.comment == "\"quoted\" \\ back[31m")
        let inventory = try X.load(draft)
        #expect(inventory.key(named: names[3])?.options == "no-agent-forwarding")
        #expect(inventory.warnings.map(\.message).contains { $0.contains("is the same key as") })
    }

    @Test func failedHostsAreListedAndInNoProject() throws {
        let draft = AdoptDraft([
            try X.input("h1", 1, [X.account("deploy", line(a, "a") + "\n")]),
            AdoptDraft.HostInput(host: X.host("h2", 2), sections: [], error: "h2 (127.0.0.2:22): connection refused"),
        ], now: X.now)
        #expect(draft.projects.map(\.hosts) == [["h1"]])
        #expect(draft.hostsRead == 1)
        let text = draft.text(date: X.now)
        #expect(text.contains("#   h2: h2 (127.0.0.2:22): connection refused\n"))
        #expect(text.contains("  h2: { address: 127.0.0.2 }\n"))
        _ = try X.load(draft)
    }

    @Test func accountsThatCannotBeRolesAreListedOrWrittenWithoutTheField() throws {
        let content = line(a, "a") + "\n"
        let toor = X.account("toor", uid: 0, content)
        var bad = X.account("Bad.Name", content)
        bad.uid = 1005
        let draft = AdoptDraft([
            try X.input("h1", 1, [X.account("root", uid: 0, content, home: "/root"), toor, bad,
                                  X.account("app", uid: 1001, line(b, "b") + "\n"), X.account("app2", uid: 1001, line(c, "c") + "\n")]),
        ], now: X.now)
        let roles = try #require(draft.projects.first).roles
        #expect(roles.map(\.account) == ["root", "toor", "app", "app2"])
        #expect(roles.map(\.uid) == [0, nil, nil, nil])
        #expect(draft.notes.map(\.message).contains { $0.contains("Bad.Name") && $0.contains("not adopted") })
        _ = try X.load(draft)
    }

    @Test func onlyTheNamedAccounts() throws {
        let draft = AdoptDraft([try X.input("h1", 1, [X.account("deploy", line(a, "a") + "\n"), X.account("web", line(b, "b") + "\n")])],
                               accounts: ["web", "nobody"], now: X.now)
        #expect(draft.projects.flatMap(\.roles).map(\.account) == ["web"])
        #expect(draft.notes.map(\.description) == ["every host: no account nobody with a keys file; nothing adopted for it"])
    }

    /// The promise, without a network: planning the draft against the files
    /// it was made from adds and removes no key, only wraps; planning again
    /// after that write changes nothing.
    @Test func pushingTheDraftAddsAndRemovesNoKey() throws {
        let files = [
            "# by hand\r\n   \(line(a, "alice"))   \r\n\n\(line(b, "ci", options: "command=\"/usr/bin/deploy\",no-pty"))\r\n\(line(a, "alice copy"))\n# end",
            "\(line(b, "ci", options: "command=\"/usr/bin/deploy\",no-pty"))\n\(line(c, "carol"))",
        ]
        let inputs = try files.enumerated().map { try X.input("h\($0.offset + 1)", $0.offset + 1, [X.account("deploy", $0.element)]) }
        let inventory = try X.load(AdoptDraft(inputs, now: X.now))
        for (index, content) in files.enumerated() {
            let accounts = try #require(try inventory.select(hosts: ["h\(index + 1)"]).first).accounts
            let probe = try FakeProbe.probe([X.account("deploy", content)], scan: true)
            let plan = try #require(SyncPlanner.plan(probe: probe, accounts: accounts, options: PlanOptions()).accounts.first)
            #expect(!plan.drift.contains { [.missingKey, .unexpectedKey, .optionsChanged, .revokedKey].contains($0.kind) }, "\(plan.drift)")
            let written = try #require(plan.apply?.write).content
            let lines = { (bytes: [UInt8]) in AuthorizedKeysFile(bytes: bytes).keyLines.map { $0.bytes.last == 0x0a ? $0.text : $0.text } }
            #expect(lines(written).sorted() == lines(Array(content.utf8)).sorted())
            let again = try FakeProbe.probe([X.account("deploy", String(decoding: written, as: UTF8.self))])
            #expect(SyncPlanner.plan(probe: again, accounts: accounts, options: PlanOptions()).accounts.first?.apply == nil)
        }
    }
}
