import Foundation
import Testing
@testable import KeySync

@Suite("Inventory loading: defaults, paths, keys, YAML errors")
struct InventoryLoadingTests {
    typealias F = InventoryFixtures

    @Test func builtInDefaults() throws {
        let inventory = try F.load("""
            defaults: {user: ops}
            hosts:
              web-1: {address: 127.77.0.1}
            """)
        let host = try #require(inventory.host(named: "web-1"))
        #expect(host == InventoryHost(
            name: "web-1", address: "127.77.0.1", port: 22, user: "ops",
            credential: .identity(path: "/home/tester/.ssh/id_ed25519"),
            knownHosts: "/home/tester/.ssh/known_hosts", become: .sudo,
            connectTimeout: 10, commandTimeout: 30, groups: []))
        #expect(inventory.parallel == 64)
    }

    /// `become: none` is for a root login: as another user the probe could
    /// not read other accounts' files, and its errors would not say why
    /// (review s15 contract #5).
    @Test func becomeNoneWithALoginOtherThanRootIsAWarning() throws {
        let inventory = try F.load("""
            defaults: {user: ops, become: none}
            hosts:
              web-1: {address: 127.77.0.1}
              web-2: {address: 127.77.0.2}
              root-1: {address: 127.77.0.3, user: root}
            """)
        #expect(inventory.warnings.map(\.message) == [
            #"host "web-1" logs in as ops with become: none, which is for a root login (and 1 other host); keysync needs root there: use become: sudo, or user: root"#,
        ])
    }

    @Test func hostsOverrideDefaults() throws {
        let inventory = try F.load("""
            defaults:
              user: ops
              port: 2200
              identity: secrets/id_keysync
              known_hosts: /etc/keysync/known_hosts
              become: none
              parallel: 8
              connect_timeout: 5
              command_timeout: 7.5
            hosts:
              plain: {address: 127.77.0.1}
              custom:
                address: 127.77.0.2
                user: admin
                port: 2222
                identity: ~/.ssh/id_admin
                known_hosts: ./known_hosts
                become: sudo
                connect_timeout: 1
                command_timeout: 60
                groups: [db, web, db]
            """)
        #expect(inventory.parallel == 8)
        #expect(inventory.host(named: "plain") == InventoryHost(
            name: "plain", address: "127.77.0.1", port: 2200, user: "ops",
            credential: .identity(path: F.directory + "/secrets/id_keysync"),
            knownHosts: "/etc/keysync/known_hosts", become: .direct, connectTimeout: 5, commandTimeout: 7.5))
        #expect(inventory.host(named: "custom") == InventoryHost(
            name: "custom", address: "127.77.0.2", port: 2222, user: "admin",
            credential: .identity(path: "/home/tester/.ssh/id_admin"),
            knownHosts: F.directory + "/known_hosts", become: .sudo, connectTimeout: 1, commandTimeout: 60,
            groups: ["db", "web"]))
        #expect(inventory.groups == ["db": ["custom"], "web": ["custom"]])
    }

    @Test func agentFromDefaultsUnlessTheHostNamesAnIdentity() throws {
        let inventory = try F.load("""
            defaults: {user: ops, agent: true}
            hosts:
              a: {address: 127.77.0.1}
              b: {address: 127.77.0.2, identity: /keys/id_b}
              c: {address: 127.77.0.3, agent: false}
            """)
        #expect(inventory.hosts.map(\.credential) == [
            .agent, .identity(path: "/keys/id_b"), .identity(path: "/home/tester/.ssh/id_ed25519"),
        ])
    }

    @Test func mergeKeysShareSettings() throws {
        let inventory = try F.load("""
            defaults: {user: ops}
            hosts:
              web-1: &web {address: 127.77.0.1, port: 2222, groups: [web]}
              web-2: {<<: *web, address: 127.77.0.2}
            """)
        #expect(inventory.hosts.map { "\($0.address):\($0.port) \($0.groups)" } == ["127.77.0.1:2222 [\"web\"]", "127.77.0.2:2222 [\"web\"]"])
    }

    @Test func keysFromFilesAndInline() throws {
        let inventory = try F.load("""
            defaults: {user: ops}
            keys:
              alice-file: {file: keys/alice.pub}
              alice-inline: {public: "\(F.alice)"}
              bob:
                file: keys/bob.pub
                options: 'from="127.77.0.0/24",no-agent-forwarding'
            revoked: [alice-inline, bob]
            """)
        let file = try #require(inventory.key(named: "alice-file"))
        let inline = try #require(inventory.key(named: "alice-inline"))
        #expect(file.publicKey == inline.publicKey)
        #expect(file.fingerprint == F.aliceFingerprint)
        #expect(file.file == F.directory + "/keys/alice.pub")
        #expect(inline.file == nil)
        #expect(inventory.key(named: "bob")?.options == #"from="127.77.0.0/24",no-agent-forwarding"#)
        #expect(inventory.revokedFingerprints == [F.aliceFingerprint, F.bobFingerprint])
        #expect(inventory.keys.map(\.name) == ["alice-file", "alice-inline", "bob"])
    }

    @Test func projectsExpandGroupsWithoutRepeats() throws {
        let inventory = try F.load("""
            defaults: {user: ops}
            hosts:
              web-1: {address: 127.77.0.1, groups: [web]}
              db-1: {address: 127.77.0.2, groups: [db]}
              web-2: {address: 127.77.0.3, groups: [web]}
            projects:
              p:
                hosts: [db-1, "group:web", web-1, "group:db"]
                roles:
                  deploy: {}
            """)
        let project = try #require(inventory.project(named: "p"))
        #expect(project.hosts == ["db-1", "web-1", "web-2"])
        #expect(project.roles == [InventoryRole(name: "deploy", account: "deploy", create: false, keys: [], exclusive: false)])
    }

    @Test func hashIsTheSHA256OfTheFile() throws {
        let path = F.repositoryRoot + "/inventory.example"
        let inventory = try Inventory.load(path: path, homeDirectory: F.home)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(inventory.inventoryHash == SHA256Digest.hex(bytes))
        #expect(inventory.inventoryHash.count == 64)
    }

    @Test func theExampleValidates() throws {
        let inventory = try Inventory.load(path: F.repositoryRoot + "/inventory.example", homeDirectory: F.home)
        #expect(inventory.warnings == [])
        #expect(inventory.projects.map(\.name) == ["usersample", "billing"])
        #expect(inventory.hosts.count == 4)
        #expect(inventory.keys.count == 8)
        #expect(inventory.revokedFingerprints == ["SHA256:Kgf5W/0sww1xJhEfhiFYIx2SSD/WAXGY6Ixngw8nd34",
                                                  try #require(inventory.key(named: "kp-bob")?.fingerprint)])
        #expect(inventory.people.map(\.name) == ["alice", "bob"])
        #expect(inventory.person(named: "alice")?.until.map(InventoryDate.text) == "2027-04-01")
        #expect(inventory.person(named: "bob")?.left.map(InventoryDate.text) == "2026-12-05")
        #expect(inventory.key(named: "kp-usersample")?.fingerprint == "SHA256:hLvskShAm6P48pz7rI5DGMBCxDLdHYekidyq7Aug0o8")
        #expect(inventory.key(named: "kp-deploy")?.options?.contains("no-agent-forwarding") == true)

        let shared = try #require(inventory.select(hosts: ["app-1"]).first)
        let usersample = try #require(shared.accounts.first)
        #expect(usersample == AccountTarget(
            name: "usersample", uid: 1001, gid: 1001, group: "usersample", shell: "/bin/bash",
            home: "/home/usersample", create: true, exclusive: false, blocks: usersample.blocks))
        #expect(usersample.blocks.map { "\($0.project)/\($0.role)" } == ["usersample/deploy", "billing/ci"])
        #expect(usersample.blocks[0].entries.map(\.keyName) == ["kp-usersample", "kp-deploy", "kp-alice-laptop", "kp-alice-yubikey"])
        #expect(shared.accounts.map(\.name) == ["usersample", "billing"])
        #expect(shared.accounts[1].exclusive)
    }

    @Test func unreadableInventory() {
        #expect(throws: InventoryError.unreadable(path: "/nonexistent/inventory.yml", reason: "No such file or directory")) {
            try Inventory.load(path: "/nonexistent/inventory.yml")
        }
    }

    /// `/dev/zero` (or a generator that never stops) ends in an error naming
    /// the file, not in memory exhaustion; a folder is named as one; a pipe
    /// (the operator's `<(…)`) is still read.
    @Test func anEndlessOrFolderInventoryIsRefusedAndAPipeIsRead() throws {
        let endless = #expect(throws: InventoryError.self) { try Inventory.load(path: "/dev/zero") }
        guard case .unreadable(path: "/dev/zero", let reason) = endless else { Issue.record("\(String(describing: endless))"); return }
        #expect(reason.contains("more than 512 MiB"), "\(reason)")
        #expect(throws: InventoryError.unreadable(path: "/tmp", reason: "Is a directory")) { try Inventory.load(path: "/tmp") }

        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let text = "defaults: {user: ops, identity: /dev/null}\nhosts: {}\n"
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let writer = Thread { _ = text.utf8CString.withUnsafeBufferPointer { write(writeEnd, $0.baseAddress, $0.count - 1) }; close(writeEnd) }
        writer.start()
        defer { close(readEnd) }
        let inventory = try Inventory.load(path: "/dev/fd/\(readEnd)")
        #expect(inventory.hosts.isEmpty)
    }

    @Test func nonUTF8Inventory() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keysync-\(UUID()).yml").path
        try Data("defaults: {user: ops}\nhosts:\n  web-\u{FF}".utf8.map { $0 == 0xC3 ? 0xFF : $0 }).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: InventoryError.self) { try Inventory.load(path: path) }
        #expect(error?.diagnostics.map(\.description) == ["\(path):3:1: error: the file is not UTF-8 text"])
    }

    @Test(arguments: [
        ("tab indentation", "hosts:\n\tweb-1: {address: 127.77.0.1}\n", 2, 1, "YAML does not allow tabs for indentation"),
        ("tab after a key", "defaults:\n  user: ops\n\tport: 22\n", 3, 1, "tabs"),
        ("unclosed double quote", "defaults:\n  user: \"ops\nhosts: {}\n", 2, 9, "while scanning a quoted scalar that starts here"),
        ("unclosed single quote", "keys:\n  a: {public: 'ssh-ed25519 AAAA}\n", 2, 15, "quoted scalar"),
        ("unclosed flow list", "projects:\n  p:\n    hosts: [web-1, web-2\n", 4, 1, "invalid YAML:"),
        ("bad indentation", "defaults:\n  user: ops\n port: 22\n", 3, 2, "invalid YAML:"),
        ("control character", "defaults:\n  user: o\u{7}ps\n", 2, 10, "invalid YAML: control characters are not allowed"),
        // Found by FuzzInventory: libyaml's offset counts bytes, and CRLF is one Character.
        ("control character after CRLF and é", "defaults:\r\n  user: café\u{7}\r\n", 2, 13, "control characters are not allowed"),
        // Found by FuzzInventory: libyaml reports the line after the last one.
        ("unclosed flow list, no final newline", "projects:\n  p:\n    hosts: [web-1, web-2", 3, 25, "invalid YAML:"),
        ("undefined alias", "defaults: *nothing\n", 1, 11, "found undefined alias"),
        ("two documents", "defaults: {}\n---\nhosts: {}\n", 2, 1, "invalid YAML:"),
        ("a scalar document", "just text\n", 1, 1, "the inventory must be a mapping"),
        ("an empty document", "# nothing here\n", 1, 1, "the inventory is empty"),
    ] as [(String, String, Int, Int, String)])
    func malformedYAMLIsLocated(_ name: String, _ yaml: String, _ line: Int, _ column: Int, _ message: String) {
        F.expectError(yaml, at: line, column, message)
    }

    /// 5 000 nested lists (10 KB) overflowed the stack in Yams and crashed
    /// keysync; nesting is now measured first (found while writing the fuzz targets).
    @Test func deepNestingIsRefusedWithALocationInsteadOfCrashing() {
        let deep = "hosts: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n"
        F.expectError(deep, at: 1, 107, "nested more than 100 levels deep")
        let unclosed = "defaults:\n  user: " + String(repeating: "{a: ", count: 20_000)
        F.expectError(unclosed, at: 2, 9 + 4 * 98, "nested more than 100 levels deep")
        // 100 levels are still read (and refused for what they are).
        let allowed = "hosts: " + String(repeating: "[", count: 99) + String(repeating: "]", count: 99) + "\n"
        F.expectError(allowed, at: 1, 8, "hosts must be a mapping")
    }
}
