import Foundation
import Testing
@testable import KeySync

/// Control and line-separator characters in inventory values that reach a
/// line of a host file (key options, key comments, `public:` text, home and
/// shell, block-marker names) are refused where they are written, with the
/// character named and the value shown escaped — never written to a host.
@Suite struct InventoryControlCharacterTests {
    static let alice = InventoryFixtures.alice
    static let aliceKey = alice.split(separator: " ").prefix(2).joined(separator: " ")

    /// An inventory granting key `k` (defined by `keyYAML`) to one role.
    static func inventory(key keyYAML: String, role: String = "{account: svc, keys: [k]}") -> String {
        """
        defaults: {user: ops}
        keys:
          k: \(keyYAML)
        hosts: {web-1: {address: 127.77.0.1}}
        projects:
          p:
            hosts: [web-1]
            roles:
              deploy: \(role)
        """
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let key: String
        let line: Int, column: Int
        let message: String
        var role = "{account: svc, keys: [k]}"
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        // The issue's case: a second, unrestricted key line smuggled into a restricted one.
        Case(name: "line feed inside command=", key: #"{public: "\#(alice)", options: "command=\"true\"\nssh-ed25519 AAAA x"}"#,
             line: 3, column: 119,
             message: #"key "k": options must not hold control or line-separator characters; found a line feed (\n) at character 15 of "command=\"true\"\nssh-ed25519 AAAA x""#),
        Case(name: "carriage return in options", key: #"{public: "\#(alice)", options: "no-pty,command=\"a\rb\""}"#,
             line: 3, column: 119, message: #"found a carriage return (\r) at character 18 of "no-pty,command=\"a\rb\"""#),
        Case(name: "tab in options", key: #"{public: "\#(alice)", options: "command=\"a\tb\""}"#,
             line: 3, column: 119, message: #"found a tab (\t) at character 11"#),
        Case(name: "escape in options", key: #"{public: "\#(alice)", options: "command=\"\e[2J\""}"#,
             line: 3, column: 119, message: #"found an escape (\e) at character 10 of "command=\"\e[2J\"""#),
        Case(name: "DEL in options", key: #"{public: "\#(alice)", options: "command=\"\x7F\""}"#,
             line: 3, column: 119, message: #"found a delete (\x7F)"#),
        Case(name: "C1 CSI in options", key: #"{public: "\#(alice)", options: "command=\"\x9B2J\""}"#,
             line: 3, column: 119, message: #"found a C1 control character (\x9B)"#),
        Case(name: "next line (U+0085) in options", key: #"{public: "\#(alice)", options: "command=\"a\Nb\""}"#,
             line: 3, column: 119, message: #"found a next-line control (\x85)"#),
        Case(name: "line separator in options", key: #"{public: "\#(alice)", options: "command=\"a\Lb\""}"#,
             line: 3, column: 119, message: #"found a line separator (\u2028)"#),
        Case(name: "paragraph separator in options", key: #"{public: "\#(alice)", options: "command=\"a\Pb\""}"#,
             line: 3, column: 119, message: #"found a paragraph separator (\u2029)"#),
        Case(name: "bidi override in options", key: #"{public: "\#(alice)", options: "command=\"\u202Ehs\""}"#,
             line: 3, column: 119, message: #"found a bidirectional control (\u202E)"#),
        Case(name: "options as a literal block of two lines", key: "\n    public: \"\(alice)\"\n    options: |\n      no-pty\n      ssh-ed25519 AAAA x",
             line: 5, column: 14, message: #"options must not hold control or line-separator characters; found a line feed (\n) at character 7"#),

        Case(name: "escape sequences in a public: comment",
             key: #"{public: "\#(aliceKey) evil\e]0;pwned\a\r"}"#, line: 3, column: 15,
             message: #"key "k": the key comment must not hold control or line-separator characters; found an escape (\e) at character 5 of "evil\e]0;pwned\a""#),
        Case(name: "a second key after a line feed in public:",
             key: #"{public: "\#(aliceKey) a\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOJ7VhfDTf72vO/4wVVnlPMeUxaGBXgq6vJwb1xYPQoi b"}"#,
             line: 3, column: 15, message: #"key "k": public must be one line (an OpenSSH public key line); found a line feed (\n) at character 83 of "…"#),
        Case(name: "tab in a public: comment", key: #"{public: "\#(aliceKey) a\tb"}"#, line: 3, column: 15,
             message: #"the key comment must not hold control or line-separator characters; found a tab (\t) at character 2 of "a\tb""#),

        Case(name: "line feed in home", key: "{public: \"\(alice)\"}", line: 9, column: 36,
             message: #"home "/home/svc\nroot::0:0::/:/bin/sh" must not hold ':' or control or line-separator characters; found a line feed (\n) at character 10"#,
             role: #"{account: svc, home: "/home/svc\nroot::0:0::/:/bin/sh", keys: [k]}"#),
        Case(name: "line separator in shell", key: "{public: \"\(alice)\"}", line: 9, column: 37,
             message: #"shell "/bin/sh\u2028" must not hold ':' or control or line-separator characters; found a line separator (\u2028) at character 8"#,
             role: #"{account: svc, shell: "/bin/sh\L", keys: [k]}"#),
    ]

    @Test(arguments: cases)
    func refusedWhereWritten(_ c: Case) {
        let yaml = Self.inventory(key: c.key, role: c.role)
        InventoryFixtures.expectError(yaml, at: c.line, c.column, c.message)
        // The whole diagnostic is one printable line.
        for diagnostic in InventoryFixtures.diagnostics(yaml) {
            #expect(!diagnostic.description.unicodeScalars.contains { $0.isUnsafeInText }, "\(diagnostic.description.debugDescription)")
        }
    }

    /// The comment of a key read from `file:` is checked too, and the message names the file.
    @Test func commentInAKeyFileIsRefusedNamingTheFile() throws {
        try withTemporaryDirectory { dir in
            let file = "\(dir)/evil.pub"
            try Data("\(Self.aliceKey) x\u{1B}[2J\u{9B}31m\rok\n".utf8).write(to: URL(fileURLWithPath: file))
            InventoryFixtures.expectError(Self.inventory(key: "{file: \(file)}"), at: 3, 13,
                #"key "k": the key comment in \#(file) must not hold control or line-separator characters; found an escape (\e) at character 2 of "x\e[2J\x9B31m\rok""#)
        }
    }

    /// What is not a problem: a `public:` block scalar's final line break, a
    /// Windows `.pub` file (CRLF), tabs between the fields, non-ASCII text.
    @Test func ordinaryValuesStillLoad() throws {
        try withTemporaryDirectory { dir in
            let file = "\(dir)/windows.pub"
            let carol = try String(contentsOfFile: InventoryFixtures.directory + "/keys/carol.pub", encoding: .utf8)
                .split(separator: " ").prefix(2).joined(separator: " ")
            try Data("\(carol) carol@laptop\r\n".utf8).write(to: URL(fileURLWithPath: file))
            let inventory = try InventoryFixtures.load("""
                defaults: {user: ops}
                keys:
                  block:
                    public: |
                      \(Self.alice)
                    options: 'command="echo \\"hi\\"",no-pty'
                  windows: {file: \(file)}
                  tabs: {public: "ssh-ed25519\\tAAAAC3NzaC1lZDI1NTE5AAAAIOJ7VhfDTf72vO/4wVVnlPMeUxaGBXgq6vJwb1xYPQoi\\tbob@tést ✓"}
                hosts: {web-1: {address: 127.77.0.1}}
                projects:
                  p:
                    hosts: [web-1]
                    roles:
                      deploy: {account: svc, home: /home/svc/é, keys: [block, windows, tabs]}
                """)
            #expect(inventory.keys.map(\.publicKey.comment) == ["alice@test", "carol@laptop", "bob@tést ✓"])
            #expect(inventory.keys.first?.options == #"command="echo \"hi\"",no-pty"#)
        }
    }

    /// Any diagnostic quoting a raw value (an unknown field named with an
    /// escape sequence) prints it made visible, on one line.
    @Test func diagnosticsQuotingOtherValuesAreTerminalSafe() {
        let diagnostics = InventoryFixtures.diagnostics(#"""
            defaults: {user: ops, "col\e[31mour\nx": red}
            """#)
        #expect(diagnostics.map(\.message) == [#"defaults: unknown field "col\u{1B}[31mour\u{A}x"; expected one of: user, port, identity, agent, known_hosts, become, connect_timeout, command_timeout, jump, manage_sshd, parallel, ssh_config"#])
    }

    /// The zone of an IPv6 address ends up in known_hosts lines (accept-new).
    @Test func ipv6ZoneIsAnInterfaceName() {
        InventoryFixtures.expectError(#"""
            defaults: {user: ops}
            hosts:
              a: {address: "fe80::1%eth0\n* ssh-ed25519 AAAA"}
            """#, at: 3, 16, #"host "a": address "fe80::1%eth0\u{A}* ssh-ed25519 AAAA" has an invalid zone after %"#)
    }

    /// Library-level guards behind the inventory's: options text with a line
    /// break never parses, and block-marker names refuse every unsafe character.
    @Test func optionsAndMarkersRefuseLineBreaks() {
        #expect(throws: KeyParseError.invalid("options contain a line break, which would end the authorized_keys line")) {
            try AuthorizedKeyOptions.parse("command=\"a\nb\"")
        }
        #expect(throws: KeyParseError.self) { try AuthorizedKeyOptions.parse("command=\"a\rb\"") }
        for bad in ["a\u{9B}b", "a\u{2028}", "\u{202E}x", "a\u{7F}"] {
            #expect(!ManagedBlockID.isValidName(bad), "\(bad.debugDescription)")
        }
        #expect(ManagedBlockID.isValidName("déploiement"))
    }

    @Test(arguments: [
        ("plain", nil), ("a\tb", "a tab (\\t) at character 2"), ("\u{0}", "a NUL (\\0) at character 1"),
        ("x\u{85}", "a next-line control (\\x85) at character 2"), ("é\u{2066}", "a bidirectional control (\\u2066) at character 2"),
    ] as [(String, String?)])
    func unsafeTextProblem(_ text: String, _ expected: String?) {
        let problem = UnsafeText.problem(text, "v")
        #expect(problem.map { $0.contains(expected ?? "∅") } ?? (expected == nil), "\(problem ?? "nil")")
    }

    @Test func longValuesAreCutAroundTheCharacter() {
        let text = String(repeating: "a", count: 100) + "\n" + String(repeating: "b", count: 100)
        let quoted = UnsafeText.quoted(text, around: 101, limit: 20)
        #expect(quoted == "\"…aaaaaaaaaa\\nbbbbbbbbb…\"")
    }
}
