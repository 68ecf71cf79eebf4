import Foundation
import Testing
@testable import KeySync

/// `keysync adopt` against real sshd hosts (issue 18): files kept by hand,
/// with odd spacing, comments, CRLF, options, duplicates, a weak key, a line
/// sshd cannot parse and no final newline, are drafted into an inventory;
/// `push --dry-run` of the draft adds and removes no key; the real push
/// keeps every key that was there able to log in and every line it does not
/// own where it was. Hosts 46–48.
@Suite(.serialized) struct AdoptTests {
    let fleet: TestFleet

    init() throws { fleet = try TestFleet.shared(minimumHosts: 49) }

    func keysync(_ arguments: [String]) throws -> CommandResult { try KeySyncProcess.run(arguments) }

    /// Creates `account` on `host` (key logins allowed) and gives it `content` as authorized_keys (0600, its own).
    func seed(host: Int, account: String, _ content: [UInt8]) throws {
        let result = try fleet.exec(host: host, ["sh", "-c", """
            userdel -r "$1" 2>/dev/null; useradd -m -s /bin/bash -p '*' "$1" &&
            install -d -o "$1" -g "$1" -m 700 "/home/$1/.ssh" && cat > "/home/$1/.ssh/authorized_keys" &&
            chown "$1:$1" "/home/$1/.ssh/authorized_keys" && chmod 600 "/home/$1/.ssh/authorized_keys"
            """, "sh", account], stdin: Data(content))
        #expect(result.succeeded, "\(result)")
    }

    /// The key lines of `bytes` as they are, each without its line ending.
    func keyLines(_ bytes: [UInt8]) -> [String] {
        AuthorizedKeysFile(bytes: bytes).keyLines.map { line in
            var text = line.text
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            return text
        }
    }

    @Test func theDraftAddsAndRemovesNoKeyAndEveryKeyStillLogsInAfterPush() throws {
        let (shared, twin, other) = (46, 47, 48)
        try fleet.reset(hosts: [shared, twin, other])
        let workspace = try Workspace()
        for name in ["alice", "ci", "bob", "carol"] { try workspace.generateKey(name) }
        let weak = try TestFleet.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-C", "old-rsa", "-f", workspace.file("weak")])
        #expect(weak.succeeded, "\(weak)")
        func bare(_ name: String) throws -> String {
            let key = try workspace.publicKey(name)
            return "\(key.type) \(key.base64)"
        }
        let weakLine = try String(contentsOfFile: workspace.file("weak.pub"), encoding: .utf8).trimmingCharacters(in: .newlines)
        // Odd spacing and CRLF, options, a comment, a duplicate, a weak key,
        // a line sshd cannot parse, and no final newline.
        let handKept = Array("""
            # deploy keys, kept by hand\r
            \r
               \(try bare("alice"))   alice@laptop\r
            no-pty,from="127.0.0.0/8"  \(try bare("ci")) ci@build
            # alice again, from her desktop
            \(try bare("alice")) alice-copy
            \(weakLine)
            this is not a key
            \t\(try bare("bob")) bob@desk
            """.utf8)
        let otherFile = Array("\(try bare("carol")) carol\r\n\(try bare("ci")) ci@build\r\n".utf8)
        try seed(host: shared, account: "deploy", handKept)
        try seed(host: twin, account: "deploy", handKept)
        try seed(host: other, account: "deploy", otherFile)
        var before: [Int: [String: [UInt8]]] = [:]
        for host in [shared, twin, other] {
            for path in ["/home/deploy/.ssh/authorized_keys", "/home/ops/.ssh/authorized_keys", "/root/.ssh/authorized_keys"] {
                before[host, default: [:]][path] = try fleet.read(host: host, path)
            }
        }

        // adopt: reads only, writes the draft.
        try workspace.write("hosts.txt", """
            # the fleet, by hand
            h\(shared) \(fleet.hosts[shared].address)
            h\(twin)   \(fleet.hosts[twin].address):22
            h\(other) \(fleet.hosts[other].address)   # the odd one

            """)
        let draftPath = workspace.file("adopted.yml")
        let adopt = try keysync(["adopt", "--hosts", workspace.file("hosts.txt"), "--user", fleet.user,
                                 "--identity", fleet.keyPath(.ed25519), "--known-hosts", fleet.knownHostsPath,
                                 "--output", draftPath])
        #expect(adopt.status == 0, "\(adopt)")
        #expect(adopt.stderr.contains("adopt: 3 of 3 hosts read"), "\(adopt.stderr)")
        for host in [shared, twin, other] {
            for (path, bytes) in before[host]! { #expect(try fleet.read(host: host, path) == bytes, "adopt changed \(path) on h\(host)") }
        }
        let draft = try String(contentsOfFile: draftPath, encoding: .utf8)
        let file = "/home/deploy/.ssh/authorized_keys"
        for host in [shared, twin] {
            #expect(draft.contains("#   h\(host) \(file):6: duplicate: repeats the key of line 3"), "\(draft)")
            #expect(draft.contains("#   h\(host) \(file):7: weak key (RSA 1024 bits, under 2048)"))
            #expect(draft.contains("#   h\(host) \(file):8: keysync cannot parse this line"))
        }
        #expect(!draft.contains("h\(other) \(file)"), "nothing to note on h\(other)")
        // Grouped by shared key sets: deploy's set of h46 and h47 is one
        // project, h48's another; ops and root are alike everywhere.
        let inventory = try Inventory.load(path: draftPath)
        #expect(inventory.key(named: "ci@build")?.options == "no-pty,from=\"127.0.0.0/8\"")
        let deployKeys = { (host: Int) throws -> [String] in
            let target = try #require(try inventory.select(hosts: ["h\(host)"]).first)
            return target.accounts.first { $0.name == "deploy" }?.blocks.flatMap(\.entries).map(\.keyName) ?? []
        }
        #expect(try deployKeys(shared) == ["alice@laptop", "ci@build", "bob@desk"])
        #expect(try deployKeys(twin) == ["alice@laptop", "ci@build", "bob@desk"])
        // ci@build without options is another grant than with them: a second name.
        #expect(try deployKeys(other) == ["carol", "ci@build-2"])
        #expect(inventory.projects.map(\.name) == ["adopted", "adopted-2", "adopted-3"], "\(draft)")
        let validate = try keysync(["inventory", "validate", "--inventory", draftPath])
        #expect(validate.status == 0, "\(validate)")

        // The promise: the dry run adds and removes no key, only wraps.
        let db = workspace.file("keysync.db")
        let dry = try keysync(["push", "--dry-run", "--json", "--inventory", draftPath, "--db", db])
        #expect(dry.status == 0, "\(dry)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as? [String: Any])
        let hosts = try #require(report["hosts"] as? [[String: Any]])
        #expect(hosts.count == 3)
        for host in hosts {
            let changes = host["changes"] as? [String] ?? []
            #expect(!changes.isEmpty && changes.allSatisfy { $0.hasPrefix("fix unwrapped_key: ") }, "\(changes)")
            let diff = (host["diff"] as? String ?? "").split(separator: "\n").filter { $0.hasPrefix("+") || $0.hasPrefix("-") }
                .filter { !$0.hasPrefix("+++") && !$0.hasPrefix("---") }
            // Only markers are added; a line that moves is one - and one + of the same key.
            let added = diff.filter { $0.hasPrefix("+") && !$0.hasPrefix("+# keysync:") }.map { keyLines(Array($0.dropFirst().utf8)) }
            let removed = diff.filter { $0.hasPrefix("-") }.map { keyLines(Array($0.dropFirst().utf8)) }
            #expect(added == removed, "\(host["host"] ?? "?"): \(diff)")
            #expect(!diff.contains { $0.hasPrefix("-# ") }, "no line keysync does not own is dropped")
        }
        for host in [shared, twin, other] {
            for (path, bytes) in before[host]! { #expect(try fleet.read(host: host, path) == bytes, "--dry-run changed \(path) on h\(host)") }
        }

        // The real push: every key that was there still logs in, every line stays.
        let push = try keysync(["push", "--inventory", draftPath, "--db", db])
        #expect(push.status == 0, "\(push)")
        for host in [shared, twin, other] {
            for (path, old) in before[host]! {
                let new = try fleet.read(host: host, path)
                #expect(keyLines(new).sorted() == keyLines(old).sorted(), "h\(host) \(path): key lines differ")
                let owned = AuthorizedKeysFile(bytes: new)
                #expect(owned.managedBlocks.count == 1, "h\(host) \(path): \(String(decoding: new, as: UTF8.self))")
            }
            let mode = try fleet.exec(host: host, ["stat", "-c", "%U %a", file])
            #expect(mode.stdout == "deploy 600\n")
        }
        let after = String(decoding: try fleet.read(host: shared, file), as: UTF8.self)
        for kept in ["# deploy keys, kept by hand\r\n\r\n", "\n# alice again, from her desktop\n\(try bare("alice")) alice-copy\n",
                     "\n\(weakLine)\nthis is not a key", "   \(try bare("alice"))   alice@laptop\r\n",
                     "no-pty,from=\"127.0.0.0/8\"  \(try bare("ci")) ci@build\n", "\t\(try bare("bob")) bob@desk"] {
            #expect(after.contains(kept), "lost \(kept.debugDescription) in \(after.debugDescription)")
        }
        // The weak key is not adopted, but it was there and sshd takes it: it still logs in too.
        let logins = [(shared, ["alice", "ci", "bob", "weak"]), (twin, ["alice", "ci", "bob", "weak"]), (other, ["carol", "ci"])]
        for (host, keys) in logins {
            for key in keys {
                #expect(try fleet.login(host: host, user: "deploy", key: workspace.file(key)).succeeded, "\(key) on h\(host)")
            }
            #expect(try fleet.ssh(host: host, command: "true").succeeded)
            #expect(try fleet.ssh(host: host, user: "root", command: "true").succeeded)
        }
        // The draft is now what the hosts have: push again changes nothing.
        let again = try keysync(["push", "--inventory", draftPath, "--db", db])
        #expect(again.status == 0 && again.stdout.contains("0 changed"), "\(again)")
        // What check still reports is exactly what the draft listed as not adopted
        // (the weak key is no drift: keysync does not own its line).
        let check = try keysync(["check", "--json", "--inventory", draftPath, "--db", db])
        #expect(check.status == 2, "\(check)")
        let checked = try #require(try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any])
        var kinds: [String: [String]] = [:]
        for host in checked["hosts"] as? [[String: Any]] ?? [] {
            kinds[host["host"] as? String ?? "?"] = (host["drift"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }.sorted()
        }
        #expect(kinds == ["h\(shared)": ["duplicate_key", "invalid_line"], "h\(twin)": ["duplicate_key", "invalid_line"], "h\(other)": []])
    }

    @Test func fromAnAnsibleInventoryThroughInventoryHostsAndOnlyTheNamedAccount() throws {
        let host = 48
        try fleet.reset(hosts: [host])
        let workspace = try Workspace()
        try workspace.generateKey("carol")
        let carol = try workspace.publicKey("carol")
        try seed(host: host, account: "deploy", Array("\(carol.type) \(carol.base64) carol\n".utf8))
        // Start from an Ansible inventory, as docs/adopting.md does.
        try workspace.write("hosts.ini", """
            [web]
            h\(host) ansible_host=\(fleet.hosts[host].address) ansible_user=\(fleet.user) ansible_python_interpreter=/usr/bin/python3
            """)
        let imported = try keysync(["inventory", "import", "--ansible", workspace.file("hosts.ini"), "--output", workspace.file("inventory.yml")])
        #expect(imported.status == 0, "\(imported)")
        var text = try String(contentsOfFile: workspace.file("inventory.yml"), encoding: .utf8)
        #expect(text.contains("#   line 2: ansible_python_interpreter (host h\(host)) not imported: keysync has no such setting\n"), "\(text)")
        #expect(text.contains("defaults:\n  user: \(fleet.user)\nhosts:\n  h\(host): { address: \(fleet.hosts[host].address), groups: [web] }\n"), "\(text)")
        text = text.replacingOccurrences(of: "defaults:\n", with: """
            defaults:
              identity: \(fleet.keyPath(.ed25519))
              known_hosts: \(fleet.knownHostsPath)
              command_timeout: 120

            """)
        try workspace.write("inventory.yml", text)
        let draftPath = workspace.file("draft.yml")
        let adopt = try keysync(["adopt", "--inventory-hosts", "--inventory", workspace.file("inventory.yml"),
                                 "--account", "deploy", "--output", draftPath])
        #expect(adopt.status == 0, "\(adopt)")
        let inventory = try Inventory.load(path: draftPath)
        #expect(inventory.projects.flatMap(\.roles).map(\.account) == ["deploy"])
        #expect(inventory.hosts.map(\.groups) == [["web", "adopted"]])
        #expect(inventory.hosts.first?.commandTimeout == 120 && inventory.hosts.first?.user == fleet.user)

        // Never overwrites: the same output again is refused before any host is contacted.
        let again = try keysync(["adopt", "--inventory-hosts", "--inventory", workspace.file("inventory.yml"), "--output", draftPath])
        #expect(again.status == 1 && again.stderr.contains("exists"), "\(again)")
        // A host whose key is not in known_hosts is not read.
        try workspace.write("empty_known_hosts", "")
        try workspace.write("hosts.txt", "h\(host) \(fleet.hosts[host].address)\n")
        let strict = try keysync(["adopt", "--hosts", workspace.file("hosts.txt"), "--user", fleet.user,
                                  "--identity", fleet.keyPath(.ed25519), "--known-hosts", workspace.file("empty_known_hosts")])
        #expect(strict.status == 3, "\(strict)")
        #expect(strict.stdout.contains("Hosts that could not be read"), "\(strict.stdout)")
        #expect(try String(contentsOfFile: workspace.file("empty_known_hosts"), encoding: .utf8).isEmpty)
        let accepted = try keysync(["adopt", "--hosts", workspace.file("hosts.txt"), "--user", fleet.user,
                                    "--identity", fleet.keyPath(.ed25519), "--known-hosts", workspace.file("empty_known_hosts"),
                                    "--accept-new-host-keys", "--account", "deploy"])
        #expect(accepted.status == 0, "\(accepted)")
        #expect(accepted.stdout.contains("keys: [carol]"), "\(accepted.stdout)")
        #expect(accepted.stderr.contains("accepted new host key"), "\(accepted.stderr)")

        // Relative --identity and --known-hosts go into the draft as absolute
        // paths: a draft written to another folder (--output out/draft.yml)
        // still names the files given, and reads the host with them.
        try FileManager.default.createDirectory(atPath: workspace.file("out"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fleet.keyPath(.ed25519), toPath: workspace.file("id"))
        let relative = try TestFleet.run(["sh", "-c", """
            cd \(Shell.quote(workspace.path)) && exec \(Shell.quote(KeySyncProcess.binary)) adopt --hosts hosts.txt --user \(fleet.user) \
              --identity id --known-hosts empty_known_hosts --account deploy --output out/draft.yml
            """])
        #expect(relative.status == 0, "\(relative)")
        let relativeDraft = try String(contentsOfFile: workspace.file("out/draft.yml"), encoding: .utf8)
        #expect(relativeDraft.contains("identity: \(workspace.file("id"))") && relativeDraft.contains("known_hosts: \(workspace.file("empty_known_hosts"))"),
                "\(relativeDraft)")
        let fromDraft = try keysync(["adopt", "--inventory-hosts", "--inventory", workspace.file("out/draft.yml"), "--account", "deploy"])
        #expect(fromDraft.status == 0, "\(fromDraft)")
    }
}
