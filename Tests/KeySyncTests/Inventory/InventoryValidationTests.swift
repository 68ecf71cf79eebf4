import Foundation
import Testing
@testable import KeySync

/// One invalid inventory and the single error it must produce.
struct ValidationCase: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let line: Int
    let column: Int
    let message: String
    var testDescription: String { name }
}

@Suite("Inventory validation: every error, located")
struct InventoryValidationTests {
    /// One host `web-1`, project `p` on it, role `deploy` with `fields` (its
    /// flow mapping, on line 7).
    static func deployRole(_ fields: String) -> String {
        """
        defaults: {user: ops}
        hosts: {web-1: {address: 127.77.0.1}}
        projects:
          p:
            hosts: [web-1]
            roles:
              deploy: \(fields)
        """
    }

    static let cases: [ValidationCase] = [
        // Unknown fields, with and without a suggestion.
        .init(name: "unknown field in defaults", yaml: """
            defaults:
              user: ops
              prot: 22
            """, line: 3, column: 3, message: #"defaults: unknown field "prot"; did you mean "port"?"#),
        .init(name: "unknown top-level section", yaml: """
            defaults: {user: ops}
            host:
              web-1: {address: 127.77.0.1}
            """, line: 2, column: 1, message: #"the inventory: unknown field "host"; did you mean "hosts"?"#),
        .init(name: "unknown host field", yaml: """
            defaults: {user: ops}
            hosts:
              web-1: {adress: 127.77.0.1, address: 127.77.0.2}
            """, line: 3, column: 11, message: #"host "web-1": unknown field "adress"; did you mean "address"?"#),
        .init(name: "unknown field without a close match lists the fields", yaml: """
            defaults: {user: ops}
            keys:
              k: {file: keys/alice.pub, colour: blue}
            """, line: 3, column: 29, message: #"key "k": unknown field "colour"; expected one of: public, file, options"#),
        .init(name: "unknown role field", yaml: deployRole("{acount: svc}"), line: 7, column: 16, message: #"unknown field "acount"; did you mean "account"?"#),

        // Wrong types.
        .init(name: "hosts is a list", yaml: """
            defaults: {user: ops}
            hosts: [web-1]
            """, line: 2, column: 8, message: "hosts must be a mapping of names, found a list"),
        .init(name: "port is not a number", yaml: """
            defaults: {user: ops}
            hosts:
              web-1:
                address: 127.77.0.1
                port: ssh
            """, line: 5, column: 11, message: #"host "web-1": port must be an integer from 1 to 65535, found "ssh""#),
        .init(name: "quoted port is a string", yaml: """
            defaults: {user: ops, port: "22"}
            """, line: 1, column: 29, message: #"port must be an integer from 1 to 65535, found the quoted string "22""#),
        .init(name: "groups is not a list", yaml: """
            defaults: {user: ops}
            hosts:
              web-1: {address: 127.77.0.1, groups: web}
            """, line: 3, column: 40, message: #"host "web-1": groups must be a list, found "web""#),
        .init(name: "create is not a boolean", yaml: """
            defaults: {user: ops}
            hosts: {web-1: {address: 127.77.0.1}}
            projects:
              p:
                hosts: [web-1]
                roles:
                  deploy:
                    create: maybe
            """, line: 8, column: 17, message: #"create must be true or false, found "maybe""#),
        .init(name: "host is a string", yaml: """
            defaults: {user: ops}
            hosts:
              web-1: 127.77.0.1
            """, line: 3, column: 10, message: #"host "web-1" must be a mapping, found "127.77.0.1""#),
        .init(name: "timeout is zero", yaml: """
            defaults: {user: ops, connect_timeout: 0}
            """, line: 1, column: 40, message: "defaults: connect_timeout must be more than 0 and at most 86400 seconds, found 0"),
        .init(name: "parallel out of range", yaml: """
            defaults: {user: ops, parallel: 0}
            """, line: 1, column: 33, message: "defaults: parallel 0 is out of range (1 to 4096)"),

        // Undefined references.
        .init(name: "undefined key", yaml: """
            defaults: {user: ops}
            keys:
              alice: {file: keys/alice.pub}
            hosts: {web-1: {address: 127.77.0.1}}
            projects:
              p:
                hosts: [web-1]
                roles:
                  deploy: {keys: [alice, alcie]}
            """, line: 9, column: 30, message: #"project "p" role "deploy": undefined key "alcie"; did you mean "alice"?"#),
        .init(name: "undefined host", yaml: """
            defaults: {user: ops}
            hosts: {web-1: {address: 127.77.0.1}}
            projects:
              p:
                hosts: [web-1, web-2]
                roles: {deploy: {}}
            """, line: 5, column: 20, message: #"project "p": undefined host "web-2"; did you mean "web-1"?"#),
        .init(name: "undefined group", yaml: """
            defaults: {user: ops}
            hosts: {web-1: {address: 127.77.0.1, groups: [web]}}
            projects:
              p:
                hosts: ["group:wbe"]
                roles: {deploy: {}}
            """, line: 5, column: 13, message: #"project "p": undefined group "wbe"; did you mean "web"?"#),
        .init(name: "group named without group: prefix", yaml: """
            defaults: {user: ops}
            hosts: {web-1: {address: 127.77.0.1, groups: [web]}}
            projects:
              p:
                hosts: [web]
                roles: {deploy: {}}
            """, line: 5, column: 13, message: #"undefined host "web"; did you mean "group:web"?"#),
        .init(name: "revoked names an undefined key", yaml: """
            defaults: {user: ops}
            revoked:
              - kp-gone
            """, line: 3, column: 5, message: #"revoked: undefined key "kp-gone""#),
        .init(name: "revoked fingerprint malformed", yaml: """
            defaults: {user: ops}
            revoked: ["SHA256:abc"]
            """, line: 2, column: 11, message: #"revoked: "SHA256:abc" is not a SHA256 fingerprint"#),

        // Hosts.
        .init(name: "duplicate address and port", yaml: """
            defaults: {user: ops}
            hosts:
              web-1: {address: 127.77.0.1}
              web-2: {address: 127.77.0.1, port: 22}
            """, line: 4, column: 20, message: #"host "web-2": address 127.77.0.1 port 22 is already used by host "web-1" (line 3)"#),
        .init(name: "duplicate IPv6 address written differently", yaml: """
            defaults: {user: ops}
            hosts:
              a: {address: "::1"}
              b: {address: "0:0:0:0:0:0:0:1"}
            """, line: 4, column: 16, message: #"is already used by host "a" (line 3)"#),
        .init(name: "duplicate host name", yaml: """
            defaults: {user: ops}
            hosts:
              web-1: {address: 127.77.0.1}
              web-1: {address: 127.77.0.2}
            """, line: 4, column: 3, message: #"hosts: duplicate name "web-1" (first at line 3)"#),
        .init(name: "host without address", yaml: """
            defaults: {user: ops}
            hosts:
              web-1: {port: 2222}
            """, line: 3, column: 3, message: #"host "web-1" has no address"#),
        .init(name: "host without user", yaml: """
            hosts:
              web-1: {address: 127.77.0.1}
              web-2: {address: 127.77.0.2, user: ops}
              web-3: {address: 127.77.0.3}
            """, line: 2, column: 3, message: #"host "web-1" has no user (nor do 1 other host); set user in defaults or on the host"#),
        .init(name: "invalid IPv4 address", yaml: """
            defaults: {user: ops}
            hosts: {web-1: {address: 10.0.0.300}}
            """, line: 2, column: 26, message: #"host "web-1": address "10.0.0.300" is not a valid IPv4 address"#),
        .init(name: "invalid host name", yaml: """
            defaults: {user: ops}
            hosts: {web-1: {address: bad_host.example}}
            """, line: 2, column: 26, message: "is not a valid IPv4 address, IPv6 address or host name"),
        .init(name: "bracketed IPv6", yaml: """
            defaults: {user: ops}
            hosts: {web-1: {address: "[::1]"}}
            """, line: 2, column: 26, message: "write IPv6 addresses without brackets"),
        .init(name: "port 0", yaml: """
            defaults: {user: ops}
            hosts: {web-1: {address: 127.77.0.1, port: 0}}
            """, line: 2, column: 44, message: #"host "web-1": port 0 is out of range (1 to 65535)"#),
        .init(name: "port 65536", yaml: """
            defaults: {user: ops, port: 65536}
            """, line: 1, column: 29, message: "defaults: port 65536 is out of range (1 to 65535)"),
        .init(name: "unknown become", yaml: """
            defaults: {user: ops}
            hosts:
              web-1: {address: 127.77.0.1, become: doas}
            """, line: 3, column: 40, message: #"host "web-1": become must be sudo or none, found "doas""#),
        .init(name: "identity and agent together", yaml: """
            defaults: {user: ops, agent: true, identity: ~/.ssh/id_rsa}
            """, line: 1, column: 46, message: "defaults: identity and agent: true exclude each other"),
        .init(name: "~user path", yaml: """
            defaults: {user: ops, known_hosts: ~bob/known_hosts}
            """, line: 1, column: 36, message: "~user paths are not supported"),
        .init(name: "invalid login user", yaml: """
            defaults: {user: "Ops Team"}
            """, line: 1, column: 18, message: #"defaults: user "Ops Team" is not a valid Unix name"#),
        .init(name: "host name with a space", yaml: """
            defaults: {user: ops}
            hosts:
              "web 1": {address: 127.77.0.1}
            """, line: 3, column: 3, message: #"host name "web 1" must start with a letter or digit"#),

        // Keys.
        .init(name: "key file missing", yaml: """
            keys:
              alice: {file: keys/nobody.pub}
            """, line: 2, column: 17, message: #"key "alice": key file \#(InventoryFixtures.directory)/keys/nobody.pub not found"#),
        .init(name: "a key that fails to load is reported once", yaml: """
            defaults: {user: ops}
            keys:
              alice: {file: keys/nobody.pub}
            hosts: {web-1: {address: 127.77.0.1}}
            projects:
              p:
                hosts: [web-1]
                roles:
                  deploy: {keys: [alice]}
            """, line: 3, column: 17, message: "not found"),
        .init(name: "key file unreadable", yaml: """
            keys:
              alice: {file: keys}
            """, line: 2, column: 17, message: #"key "alice": cannot read key file \#(InventoryFixtures.directory)/keys: not a regular file (a FIFO, device or folder)"#),
        .init(name: "key file that never ends", yaml: """
            keys:
              alice: {file: /dev/zero}
            """, line: 2, column: 17, message: #"key "alice": cannot read key file /dev/zero: not a regular file"#),
        .init(name: "invalid inline key", yaml: """
            keys:
              alice:
                public: "ssh-ed25519 not-base64!"
            """, line: 3, column: 13, message: #"key "alice": invalid key: public: line 1: "#),
        .init(name: "key with public and file", yaml: """
            keys:
              alice:
                public: "\(InventoryFixtures.alice)"
                file: keys/alice.pub
            """, line: 4, column: 5, message: #"key "alice": give either public or file, not both"#),
        .init(name: "key with neither public nor file", yaml: """
            keys:
              alice: {options: no-pty}
            """, line: 2, column: 3, message: #"key "alice" needs public (an OpenSSH public key line) or file"#),

        // Roles and accounts.
        .init(name: "account name invalid", yaml: deployRole("{account: Deploy-User}"), line: 7, column: 25, message: #"project "p" role "deploy": account "Deploy-User" is not a valid Unix name"#),
        .init(name: "account name defaults to an invalid role name", yaml: """
            defaults: {user: ops}
            hosts: {web-1: {address: 127.77.0.1}}
            projects:
              p:
                hosts: [web-1]
                roles:
                  9deploy: {}
            """, line: 7, column: 7, message: #"the account name defaults to the role name, and "9deploy" is not a valid Unix name"#),
        .init(name: "account name longer than 32", yaml: deployRole("{account: abcdefghijklmnopqrstuvwxyz0123456}"), line: 7, column: 25, message: "at most 32 characters"),
        .init(name: "uid out of range", yaml: deployRole("{uid: 4294967295}"), line: 7, column: 21, message: #"project "p" role "deploy": uid 4294967295 is out of range (0 to 4294967294)"#),
        .init(name: "negative gid", yaml: deployRole("{gid: -1}"), line: 7, column: 21, message: "gid -1 is out of range (0 to 4294967294)"),
        .init(name: "uid with a leading zero (YAML 1.1 octal)", yaml: deployRole("{uid: 0755}"), line: 7, column: 21, message: "uid 0755 has a leading zero, which YAML 1.1 tools read as octal; write 755"),
        .init(name: "uid with a sign", yaml: deployRole("{uid: +1001}"), line: 7, column: 21, message: "uid must be an integer from 0 to 4294967294, found"),
        .init(name: "uid 0 for a non-root account", yaml: deployRole("{uid: 0}"), line: 7, column: 21, message: "uid 0 is root's; only account root may have it"),
        .init(name: "relative shell", yaml: deployRole("{shell: bin/bash}"), line: 7, column: 23, message: #"shell "bin/bash" must be an absolute path"#),
        .init(name: "home with a colon", yaml: deployRole(#"{home: "/home/a:b"}"#), line: 7, column: 22, message: #"home "/home/a:b" must not hold ':' or control or line-separator characters; found ':'"#),
        .init(name: "uid conflict between roles on the same host", yaml: """
            defaults: {user: ops}
            hosts: {web-1: {address: 127.77.0.1}}
            projects:
              a:
                hosts: [web-1]
                roles:
                  deploy: {account: svc, uid: 1001}
              b:
                hosts: [web-1]
                roles:
                  ci: {account: svc, uid: 1002}
            """, line: 11, column: 31, message: #"project "b" role "ci": account "svc" uid 1002 conflicts with uid 1001 from project "a" role "deploy" (line 7) on host "web-1""#),
        .init(name: "shell conflict counts the hosts", yaml: """
            defaults: {user: ops}
            hosts:
              web-1: {address: 127.77.0.1, groups: [web]}
              web-2: {address: 127.77.0.2, groups: [web]}
              web-3: {address: 127.77.0.3, groups: [web]}
            projects:
              a:
                hosts: ["group:web"]
                roles:
                  deploy: {account: svc, shell: /bin/bash}
              b:
                hosts: [web-2, web-3, web-1]
                roles:
                  ci: {account: svc, shell: /bin/sh}
            """, line: 14, column: 33, message: #"shell /bin/sh conflicts with shell /bin/bash from project "a" role "deploy" (line 10) on host "web-1" and 2 other hosts"#),
        .init(name: "two accounts with one uid on the same host", yaml: """
            defaults: {user: ops}
            hosts: {web-1: {address: 127.77.0.1}}
            projects:
              a:
                hosts: [web-1]
                roles:
                  deploy: {uid: 1001}
                  ci: {uid: 1001}
            """, line: 8, column: 17, message: #"project "a" role "ci": account "ci" has uid 1001, already used by account "deploy" on host "web-1""#),
        .init(name: "key granted and revoked by name", yaml: """
            defaults: {user: ops}
            keys:
              alice: {file: keys/alice.pub}
            revoked: [alice]
            hosts: {web-1: {address: 127.77.0.1}}
            projects:
              p:
                hosts: [web-1]
                roles:
                  deploy: {keys: [alice]}
            """, line: 10, column: 23, message: #"project "p" role "deploy": key "alice" is granted here but revoked (line 4)"#),
        .init(name: "key granted and revoked by fingerprint", yaml: """
            defaults: {user: ops}
            keys:
              alice: {public: "\(InventoryFixtures.alice)"}
            revoked:
              - \(InventoryFixtures.aliceFingerprint)
            hosts: {web-1: {address: 127.77.0.1}}
            projects:
              p:
                hosts: [web-1]
                roles:
                  deploy:
                    keys:
                      - alice
            """, line: 13, column: 13, message: #"key "alice" is granted here but revoked (line 5)"#),
        .init(name: "same key material with different options on one account", yaml: """
            defaults: {user: ops}
            keys:
              alice: {file: keys/alice.pub}
              alice-restricted: {file: keys/alice.pub, options: no-pty}
            hosts: {web-1: {address: 127.77.0.1}}
            projects:
              a:
                hosts: [web-1]
                roles: {deploy: {account: svc, keys: [alice]}}
              b:
                hosts: [web-1]
                roles: {ci: {account: svc, keys: [alice-restricted]}}
            """, line: 12, column: 39, message: #"key "alice-restricted" is also granted to account "svc" by project "a" role "deploy" (line 9) with different options"#),
        .init(name: "project with an empty host list", yaml: """
            defaults: {user: ops}
            hosts: {web-1: {address: 127.77.0.1}}
            projects:
              p:
                hosts: []
                roles: {deploy: {}}
            """, line: 5, column: 12, message: #"project "p" has no hosts"#),
        .init(name: "project without hosts", yaml: """
            defaults: {user: ops}
            projects:
              p:
                roles: {deploy: {}}
            """, line: 3, column: 3, message: #"project "p" has no hosts"#),
        .init(name: "project name unusable in a block marker", yaml: """
            defaults: {user: ops}
            hosts: {web-1: {address: 127.77.0.1}}
            projects:
              "a=b":
                hosts: [web-1]
                roles: {deploy: {}}
            """, line: 4, column: 3, message: #"project name "a=b" must start with a letter or digit"#),
        .init(name: "merge key with a scalar", yaml: """
            defaults: {user: ops}
            hosts:
              web-1: {<<: nothing, address: 127.77.0.1}
            """, line: 3, column: 15, message: "a merge key (<<) takes a mapping or a list of mappings"),
    ]

    @Test(arguments: cases)
    func reportsTheErrorWhereItIs(_ check: ValidationCase) {
        InventoryFixtures.expectError(check.yaml, at: check.line, check.column, check.message)
    }

    /// Options are validated as sshd reads them: an unknown one, or an
    /// unterminated quote, is an error at the options' column.
    @Test func invalidKeyOptions() {
        #expect(throws: KeyParseError.self) { try AuthorizedKeyOptions.parse("bogus-option") }
        InventoryFixtures.expectError("""
            keys:
              alice:
                file: keys/alice.pub
                options: 'bogus-option,from="10.0.0.0/8'
            """, at: 4, 14, #"key "alice": invalid options:"#)
    }

    /// Options sshd parses but that make it refuse every login with the key
    /// are an error where they are written; an expiry-time already past is a
    /// warning (yesterday's valid inventory must still load).
    @Test func optionsThatLockTheKeyOutAreRefused() throws {
        InventoryFixtures.expectError("""
            keys:
              alice:
                file: keys/alice.pub
                options: 'from="10.0.0.0/33"'
            """, at: 4, 14, #"key "alice": options: from= entry "10.0.0.0/33" is malformed; sshd refuses every login with this key"#)
        InventoryFixtures.expectError("""
            keys:
              alice:
                file: keys/alice.pub
                options: 'principals="deploy"'
            """, at: 4, 14, "principals= without cert-authority")
        let inventory = try InventoryFixtures.load("""
            keys:
              alice:
                file: keys/alice.pub
                options: 'expiry-time="20200101"'
            """)
        #expect(inventory.warnings.contains { $0.message.contains("use until: for a grant that ends") }, "\(inventory.warnings)")
    }

    /// A UTF-8 byte order mark (Windows editors write one) is not an error,
    /// and positions stay as editors show them.
    @Test func aByteOrderMarkIsAccepted() throws {
        let inventory = try InventoryFixtures.load("\u{FEFF}defaults: {user: ops}\nhosts:\n  web-1: {address: 127.77.0.1}\n")
        #expect(inventory.hosts.map(\.name) == ["web-1"])
        InventoryFixtures.expectError("\u{FEFF}defaults: {user: ops}\nhosts:\n  web-1: {address: nope!}\n", at: 3, 20, "address")
    }

    /// Merge keys of merge keys of one anchor double with each level: the
    /// expansion stops with an error instead of running for hours.
    @Test func mergeKeyBombsAreBounded() {
        var yaml = "x-anchors:\n  - &m0 {user: ops}\n"
        for level in 1...30 { yaml += "  - &m\(level) {<<: [*m\(level - 1), *m\(level - 1)]}\n" }
        yaml += "defaults: {<<: *m30}\nhosts:\n  web-1: {address: 127.77.0.1}\n"
        let errors = InventoryFixtures.diagnostics(yaml).filter { $0.severity == .error }
        #expect(errors.contains { $0.message.contains("merge keys (<<) expand to more than") }, "\(errors)")
    }

    /// Options written in front of the key (`public:` or a `.pub` file) are
    /// not silently dropped: a `from=` the operator wrote would not reach a
    /// host. The error says where options go.
    @Test func optionsInTheKeyLineAreRefused() throws {
        InventoryFixtures.expectError("""
            keys:
              alice:
                public: 'from="10.0.0.0/8",no-pty \(InventoryFixtures.alice)'
            """, at: 3, 13, #"line 1: the key line starts with authorized_keys options "from=\"10.0.0.0/8\",no-pty"; give the key alone and its options under the key's `options:`"#)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keysync-keyfiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("restricted.pub").path
        try Data("# backup key\nrestrict,command=\"/usr/bin/backup\" \(InventoryFixtures.alice)\n".utf8).write(to: URL(fileURLWithPath: file))
        InventoryFixtures.expectError("""
            keys:
              alice: {file: \(file)}
            """, at: 2, 17, "line 2: the key line starts with authorized_keys options \"restrict,command=\\\"/usr/bin/backup\\\"\"")
        // The same key with its options where they belong validates.
        let inventory = try InventoryFixtures.load("""
            keys:
              alice: {public: "\(InventoryFixtures.alice)", options: 'from="10.0.0.0/8",no-pty'}
            """)
        #expect(inventory.keys.first { $0.name == "alice" }?.options == #"from="10.0.0.0/8",no-pty"#)
    }

    /// A FIFO as a key file would block the read forever; a huge file is not
    /// a public key: both are refused at once, with the file named.
    @Test func fifoAndOversizedKeyFilesAreRefusedWithoutReading() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keysync-keyfiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("fifo.pub").path, big = folder.appendingPathComponent("big.pub").path
        #expect(mkfifo(fifo, 0o600) == 0)
        try Data(count: (1 << 20) + 1).write(to: URL(fileURLWithPath: big))
        let diagnostics = InventoryFixtures.diagnostics("""
            keys:
              alice: {file: \(fifo)}
              bob: {file: \(big)}
            """)
        #expect(diagnostics.map(\.message) == [
            #"key "alice": cannot read key file \#(fifo): not a regular file (a FIFO, device or folder)"#,
            #"key "bob": cannot read key file \#(big): 1048577 bytes: larger than a public key file can be (1024 KiB)"#,
        ])
    }

    @Test func collectsEveryErrorInFileOrder() {
        let diagnostics = InventoryFixtures.diagnostics("""
            defaults:
              usr: ops
              port: 99999
            keys:
              alice: {file: keys/missing.pub}
            hosts:
              web-1: {address: 127.77.0.1, user: ops}
              web-2: {address: 127.77.0.1, user: ops}
            projects:
              p:
                hosts: [web-1, web-3]
                roles:
                  deploy: {keys: [bob]}
            """)
        #expect(diagnostics.map { "\($0.line):\($0.column)" } == ["2:3", "3:9", "5:17", "8:20", "11:20", "13:23"])
        #expect(diagnostics.allSatisfy { $0.severity == .error })
        #expect(diagnostics == diagnostics.sorted())
    }

    @Test func diagnosticPrintsLikeACompiler() {
        let diagnostic = Diagnostic(file: "inventory.yml", line: 14, column: 3, message: #"host "web1" has no address"#)
        #expect(diagnostic.description == #"inventory.yml:14:3: error: host "web1" has no address"#)
        #expect(InventoryError.invalid([diagnostic]).description == diagnostic.description)
    }

    @Test func acceptsValidAddresses() throws {
        let inventory = try InventoryFixtures.load("""
            defaults: {user: ops}
            hosts:
              a: {address: 127.77.0.1}
              b: {address: "::1"}
              c: {address: "fe80::1%eth0"}
              d: {address: db-1.example.internal}
              e: {address: localhost}
              f: {address: 127.77.0.1, port: 2222}
              g: {address: LOCALHOST., port: 2222}
            """)
        #expect(inventory.hosts.map(\.address) == ["127.77.0.1", "::1", "fe80::1%eth0", "db-1.example.internal", "localhost", "127.77.0.1", "LOCALHOST."])
    }

    @Test func uidConflictsOnlyCountOnTheSameHost() throws {
        let inventory = try InventoryFixtures.load("""
            defaults: {user: ops}
            hosts:
              web-1: {address: 127.77.0.1}
              web-2: {address: 127.77.0.2}
            projects:
              a:
                hosts: [web-1]
                roles: {deploy: {account: svc, uid: 1001}}
              b:
                hosts: [web-2]
                roles: {ci: {account: svc, uid: 1002}}
            """)
        #expect(try inventory.select().flatMap(\.accounts).map(\.uid) == [1001, 1002])
    }

    @Test func warnings() throws {
        let inventory = try InventoryFixtures.load("""
            defaults: {user: ops}
            keys:
              alice: {file: keys/alice.pub}
              alice-again: {public: "\(InventoryFixtures.alice)"}
              bob: {file: keys/bob.pub}
            hosts: {web-1: {address: 127.77.0.1}}
            projects:
              p:
                hosts: [web-1]
                roles:
                  deploy: {keys: [alice, alice-again, alice]}
              q:
                hosts: [web-1]
                roles: {}
            """)
        #expect(inventory.warnings.map { "\($0.line):\($0.column): \($0.message)" } == [
            #"4:3: key "alice-again" is the same key as "alice" (line 3)"#,
            #"5:3: key "bob" is not granted to any role"#,
            #"11:30: project "p" role "deploy": key "alice-again" is already granted as "alice"; listed once"#,
            #"11:43: project "p" role "deploy": key "alice" is already granted; listed once"#,
            #"14:12: project "q" has no roles"#,
        ])
        #expect(inventory.warnings.allSatisfy { $0.severity == .warning })
        #expect(try inventory.select().first?.accounts.first?.blocks.first?.entries.map(\.keyName) == ["alice"])
    }
}
