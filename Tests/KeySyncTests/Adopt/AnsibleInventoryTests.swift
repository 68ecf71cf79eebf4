import Foundation
import Testing
@testable import KeySync

/// `keysync inventory import --ansible`: INI and YAML inventories to keysync hosts.
@Suite struct AnsibleInventoryTests {
    let ini = """
        # our fleet\r
        bastion ansible_host=10.0.0.1 ansible_user=admin

        [web]
        web[01:03].example.com ansible_port=2222
        app1:2200 ansible_host=10.0.0.9   # a comment
        web#3 ansible_host="10.0.0.10"

        [db]
        db1 ansible_host=10.0.1.5 ansible_python_interpreter=/usr/bin/python3

        [prod:children]
        web
        db

        [prod:vars]
        ansible_user=deploy
        ntp_server=ntp.example.com

        [web:vars]
        ansible_user=www

        [all:vars]
        ansible_user=ops
        """

    func summary(_ inventory: AnsibleInventory) -> [String] {
        inventory.hosts.map { "\($0.name) \($0.address):\($0.port.map(String.init) ?? "-") \($0.user ?? "-") [\($0.groups.joined(separator: ","))]" }
    }

    @Test func iniHostsGroupsChildrenRangesAndPrecedence() throws {
        let inventory = try AnsibleInventory.parse(ini, path: "hosts")
        #expect(summary(inventory) == [
            "bastion 10.0.0.1:- admin []",
            // web:vars (the nearer group) beats prod:vars, which beats all:vars.
            "web01.example.com web01.example.com:2222 www [web,prod]",
            "web02.example.com web02.example.com:2222 www [web,prod]",
            "web03.example.com web03.example.com:2222 www [web,prod]",
            "app1 10.0.0.9:2200 www [web,prod]",
            "web-3 10.0.0.10:- www [web,prod]",
            "db1 10.0.1.5:- deploy [db,prod]",
        ])
        #expect(inventory.notes.map(\.description) == [
            "line 7: host \"web#3\" is named web-3 (inventory names are letters, digits, '.', '_', '-', '@')",
            "line 10: ansible_python_interpreter (host db1) not imported: keysync has no such setting",
            "line 18: ntp_server (group prod) not imported: keysync has no such setting",
        ])
    }

    @Test func theOutputListsWhatWasNotImportedAndValidates() throws {
        let inventory = try AnsibleInventory.parse(ini, path: "/srv/ansible/hosts")
        let text = inventory.text()
        #expect(text.hasPrefix("# Imported from the Ansible inventory hosts: 7 hosts.\n"))
        #expect(text.contains("#   line 18: ntp_server (group prod) not imported: keysync has no such setting\n"))
        #expect(text.contains("  app1: { address: 10.0.0.9, port: 2200, user: www, groups: [web, prod] }\n"))
        let loaded = try Inventory.parse(text, path: "/tmp/imported.yml", homeDirectory: "/root")
        #expect(loaded.hosts.map(\.name) == inventory.hosts.map(\.name))
        #expect(loaded.hosts.first { $0.name == "web02.example.com" }?.port == 2222)
    }

    /// Ansible's precedence among a host's groups: by depth below all, then
    /// ansible_group_priority, then name, the later winning (sort_groups).
    @Test func groupsOfOneDepthGoByPriorityThenName() throws {
        let plain = "h1\n[alpha]\nh1\n[zeta]\nh1\n[alpha:vars]\nansible_user=a\n[zeta:vars]\nansible_user=z\n"
        #expect(summary(try AnsibleInventory.parse(plain, path: "hosts")) == ["h1 h1:- z [alpha,zeta]"])
        let prioritised = plain + "[alpha:vars]\nansible_group_priority=10\n"
        #expect(summary(try AnsibleInventory.parse(prioritised, path: "hosts")) == ["h1 h1:- a [alpha,zeta]"])
    }

    /// Two Ansible names for one machine (same address and port): the draft
    /// keeps the first, with the second's groups, and validates (two hosts
    /// may not share an address in keysync's inventory).
    @Test func twoNamesForOneMachineBecomeOneHost() throws {
        let ini = "[web]\nweb1 ansible_host=10.0.0.5\n[db]\ndb1 ansible_host=10.0.0.5\ndb2 ansible_host=10.0.0.6\n"
        let inventory = try AnsibleInventory.parse(ini, path: "hosts")
        #expect(summary(inventory) == ["web1 10.0.0.5:- - [web,db]", "db2 10.0.0.6:- - [db]"])
        #expect(inventory.notes.map(\.description).contains("line 4: host db1 has the address and port of host web1 (line 2); not imported, its groups added to web1"))
        let loaded = try Inventory.parse(inventory.text() + "defaults: {user: ops}\n", path: "/tmp/i.yml", homeDirectory: "/root")
        #expect(loaded.hosts.map(\.name) == ["web1", "db2"])
    }

    /// Children listed through nested YAML aliases would be walked an
    /// exponential number of times: the walk stops with a located problem.
    @Test func aliasesNestedInChildrenAreBounded() {
        var yaml = "all:\n  children:\n    g0: &g0\n      hosts: { h1: {} }\n"
        for level in 1...24 { yaml += "    g\(level): &g\(level)\n      children: { a\(level): *g\(level - 1), b\(level): *g\(level - 1) }\n" }
        let error = #expect(throws: AdoptError.self) { try AnsibleInventory.parse(yaml, path: "inventory.yml") }
        #expect("\(String(describing: error))".contains("more than 100000 group entries"), "\(String(describing: error))")
    }

    @Test func yamlInventory() throws {
        let yaml = """
            all:
              vars:
                ansible_user: ops
              hosts:
                bastion:
                  ansible_host: 10.0.0.1
              children:
                web:
                  hosts:
                    web[1:3:2]:
                      ansible_port: 2222
                  vars:
                    http_port: 80
                prod:
                  children:
                    web:
                    db:
                      hosts:
                        db1: { ansible_host: 10.0.1.5, ansible_ssh_user: admin, ansible_become: true }
            """
        let inventory = try AnsibleInventory.parse(yaml, path: "inventory.yml")
        #expect(summary(inventory) == [
            "bastion 10.0.0.1:- ops []",
            "web1 web1:2222 ops [web,prod]",
            "web3 web3:2222 ops [web,prod]",
            "db1 10.0.1.5:- admin [prod,db]",
        ])
        #expect(inventory.notes.map(\.description) == [
            "line 13: http_port (group web) not imported: keysync has no such setting",
            "line 19: ansible_become (host db1) not imported: keysync has no such setting",
        ])
        // Every host has a user, and all but one share ops: not in defaults (db1 differs), on each host.
        let loaded = try Inventory.parse(inventory.text(), path: "/tmp/i.yml", homeDirectory: "/root")
        #expect(loaded.hosts.map(\.user) == ["ops", "ops", "ops", "admin"])
    }

    @Test(arguments: [
        ("hosts", "[web\nh1 ansible_port=x\n", [
            "hosts:1:1: error: expected [GROUP], [GROUP:vars] or [GROUP:children], found \"[web\"",
            "hosts:2:4: error: ansible_port of host \"h1\" must be a number from 1 to 65535, found \"x\"",
        ]),
        ("hosts", "h1 ansible_host=not_an address\n[g]\nh2 =x\nweb[3:1]\n", [
            "hosts:1:1: error: host \"h1\": address \"not_an\" is not a valid IPv4 address, IPv6 address or host name",
            "hosts:1:24: error: expected NAME=VALUE after the host name, found \"address\"",
            "hosts:3:4: error: expected NAME=VALUE after the host name, found \"=x\"",
            "hosts:4:1: error: host range \"web[3:1]\" must be [START:END] or [START:END:STEP] with numbers or single letters, START ≤ END",
        ]),
        ("bad.yml", "all:\n  hosts:\n    h1:\n      ansible_port: twenty\n  bogus: 1\n", [
            "bad.yml:4:21: error: ansible_port of host \"h1\" must be a number from 1 to 65535, found \"twenty\"",
            "bad.yml:5:3: error: group \"all\" has \"bogus\"; expected hosts, vars or children",
        ]),
        ("bad.yml", "all:\n  hosts: [a, b]\n", [
            "bad.yml:2:10: error: hosts of group \"all\" must be a mapping of host names, found a list",
        ]),
        // Two entries for one host (or one variable): YAML keeps one without a word.
        ("bad.yml", "all:\n  hosts:\n    db1: { ansible_host: 127.0.0.21 }\n    db1: { ansible_host: 127.0.0.22, ansible_port: 22, ansible_port: 23 }\n", [
            "bad.yml:4:5: error: hosts of group \"all\": duplicate host name \"db1\" (first at line 3)",
        ]),
        ("bad.yml", "all:\n  hosts:\n    db1: { ansible_port: 22, ansible_port: 23 }\n", [
            "bad.yml:3:30: error: host \"db1\": duplicate variable \"ansible_port\" (first at line 3); YAML keeps one, so which was meant is not known",
        ]),
        ("bad.yml", "all:\n  hosts:\n    h1: { ansible_user: \"Bad User\" }\n", [
            "bad.yml:3:25: error: ansible_user of host \"h1\" \"Bad User\" is not a valid Unix name ([a-z_][a-z0-9_-]*[$]?, at most 32 characters)",
        ]),
    ] as [(String, String, [String])])
    func badInputIsLocated(_ path: String, _ text: String, _ expected: [String]) {
        do {
            _ = try AnsibleInventory.parse(text, path: path)
            Issue.record("expected \(expected)")
        } catch {
            #expect(error.diagnostics.map(\.description) == expected)
        }
    }

    @Test func noHostsIsAnError() {
        #expect(throws: AdoptError.noHosts("empty")) { try AnsibleInventory.parse("# nothing\n[web]\n", path: "empty") }
    }

    @Test(arguments: [
        ("web[01:03]", ["web01", "web02", "web03"]),
        ("db-[a:c].x", ["db-a.x", "db-b.x", "db-c.x"]),
        ("n[1:2]-[a:b]", ["n1-a", "n1-b", "n2-a", "n2-b"]),
        ("plain", ["plain"]),
    ])
    func ranges(_ pattern: String, _ expected: [String]) throws {
        #expect(try AnsibleInventory.expand(pattern).get() == expected)
    }
}
