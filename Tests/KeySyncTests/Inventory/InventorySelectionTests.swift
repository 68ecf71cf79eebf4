import Testing
@testable import KeySync

@Suite("Inventory selection: projects, hosts, groups, merged accounts")
struct InventorySelectionTests {
    typealias F = InventoryFixtures

    /// Two projects share web-2 and the `svc` account there; db-1 has only `shop`; lab-1 is in no project.
    static let yaml = """
        defaults: {user: ops}
        keys:
          alice: {file: keys/alice.pub}
          bob: {file: keys/bob.pub, options: no-pty}
          carol: {file: keys/carol.pub}
        hosts:
          web-1: {address: 127.77.0.1, groups: [web]}
          web-2: {address: 127.77.0.2, groups: [web]}
          db-1: {address: 127.77.0.3, groups: [db]}
          lab-1: {address: 127.77.0.4, groups: [lab]}
        projects:
          shop:
            hosts: ["group:web", db-1]
            roles:
              deploy: {account: svc, uid: 1001, shell: /bin/bash, create: true, keys: [alice, bob]}
              admin: {account: shop, keys: [carol], exclusive: true}
          blog:
            hosts: [web-2]
            roles:
              writer: {account: svc, home: /srv/svc, exclusive: true, keys: [carol, alice]}
        """

    let inventory: Inventory
    init() throws { inventory = try F.load(Self.yaml) }

    /// `host: account[project/role:key,key …] …` for compact comparisons.
    func summary(_ targets: [HostTarget]) -> [String] {
        targets.map { target in
            target.host.name + ": " + target.accounts.map { account in
                account.name + "[" + account.blocks.map { "\($0.project)/\($0.role):" + $0.entries.map(\.keyName).joined(separator: ",") }.joined(separator: " ") + "]"
            }.joined(separator: " ")
        }
    }

    @Test func everythingByDefault() throws {
        let targets = try inventory.select()
        #expect(summary(targets) == [
            "web-1: svc[shop/deploy:alice,bob] shop[shop/admin:carol]",
            "web-2: svc[shop/deploy:alice,bob blog/writer:carol,alice] shop[shop/admin:carol]",
            "db-1: svc[shop/deploy:alice,bob] shop[shop/admin:carol]",
        ])
        #expect(targets.allSatisfy { $0.projectScope == nil })
    }

    @Test func oneAccountGetsBlocksFromSeveralProjects() throws {
        let target = try #require(inventory.select(hosts: ["web-2"]).first)
        let svc = target.accounts[0]
        #expect(svc.name == "svc")
        #expect(svc.uid == 1001)
        #expect(svc.shell == "/bin/bash")      // from shop/deploy
        #expect(svc.home == "/srv/svc")        // from blog/writer
        #expect(svc.create)                    // any role
        #expect(svc.exclusive)                 // any role
        #expect(svc.blocks.map(\.project) == ["shop", "blog"])
        let bob = svc.blocks[0].entries[1]
        #expect(bob.options == "no-pty")
        #expect(bob.key.fingerprint == F.bobFingerprint)
        #expect(bob.line == "no-pty " + F.bob)
        #expect(svc.blocks[0].entries[0].line == F.alice)
    }

    @Test func accountSettingsDoNotDependOnTheSelection() throws {
        let onWeb1 = try #require(inventory.select(hosts: ["web-1"]).first?.accounts.first)
        #expect(!onWeb1.exclusive && onWeb1.home == nil)
        let blogOnly = try inventory.select(projects: ["blog"])
        #expect(summary(blogOnly) == ["web-2: svc[blog/writer:carol,alice]"])
        #expect(blogOnly[0].accounts[0].uid == 1001)      // merged from shop, which is not selected
        #expect(blogOnly[0].projectScope == ["blog"])
    }

    @Test func byProject() throws {
        #expect(summary(try inventory.select(projects: ["shop"])) == [
            "web-1: svc[shop/deploy:alice,bob] shop[shop/admin:carol]",
            "web-2: svc[shop/deploy:alice,bob] shop[shop/admin:carol]",
            "db-1: svc[shop/deploy:alice,bob] shop[shop/admin:carol]",
        ])
        #expect(try inventory.select(projects: ["shop", "blog"]).map(\.host.name) == ["web-1", "web-2", "db-1"])
    }

    @Test func byGroupAndHostInInventoryOrder() throws {
        #expect(try inventory.select(groups: ["db"]).map(\.host.name) == ["db-1"])
        #expect(try inventory.select(hosts: ["db-1", "web-1"]).map(\.host.name) == ["web-1", "db-1"])
        #expect(try inventory.select(hosts: ["web-1"], groups: ["db"]).map(\.host.name) == ["web-1", "db-1"])
        #expect(try inventory.select(groups: ["web", "db"]).map(\.host.name) == ["web-1", "web-2", "db-1"])
    }

    @Test func projectAndHostIntersect() throws {
        #expect(summary(try inventory.select(projects: ["blog"], groups: ["web"])) == ["web-2: svc[blog/writer:carol,alice]"])
        #expect(try inventory.select(projects: ["blog"], hosts: ["db-1"]).isEmpty)
    }

    @Test func hostsWithoutProjectsAreNotTargets() throws {
        #expect(try inventory.select(groups: ["lab"]).isEmpty)
        #expect(inventory.host(named: "lab-1") != nil)
    }

    @Test func unknownNamesAreErrors() {
        #expect(throws: InventoryError.unknownSelection([
            #"unknown project "shpo"; did you mean "shop"?"#,
            #"unknown host "web-3"; did you mean "web-1"?"#,
            #"unknown group "dbs"; did you mean "db"?"#,
        ])) {
            try inventory.select(projects: ["shpo"], hosts: ["web-1", "web-3"], groups: ["dbs"])
        }
    }

    @Test func emptyRolesStillGiveABlock() throws {
        let inventory = try F.load("""
            defaults: {user: ops}
            hosts: {web-1: {address: 127.77.0.1}}
            projects:
              p:
                hosts: [web-1]
                roles:
                  deploy: {keys: []}
                  ci:
            """)
        #expect(try inventory.select().first?.accounts == [
            AccountTarget(name: "deploy", blocks: [DesiredBlock(project: "p", role: "deploy", entries: [])]),
            AccountTarget(name: "ci", blocks: [DesiredBlock(project: "p", role: "ci", entries: [])]),
        ])
    }

    @Test func hostsWithTheSameProjectsShareTheirMergedAccounts() throws {
        var yaml = "defaults: {user: ops}\nkeys: {alice: {file: keys/alice.pub}}\nhosts:\n"
        for i in 0..<2_000 { yaml += "  h\(i): {address: 127.77.\(i / 250).\(i % 250 + 1), groups: [g\(i % 3)]}\n" }
        yaml += "projects:\n  a: {hosts: [\"group:g0\", \"group:g1\"], roles: {r: {account: svc, keys: [alice]}}}\n"
        yaml += "  b: {hosts: [\"group:g1\", \"group:g2\"], roles: {r: {account: svc, uid: 7}}}\n"
        let inventory = try F.load(yaml)
        #expect(inventory.accountsByProjects.count == 3)
        let targets = try inventory.select()
        #expect(targets.count == 2_000)
        #expect(targets[1].accounts[0].blocks.count == 2)
        #expect(targets[0].accounts[0].uid == nil)
        #expect(targets[2].accounts[0].uid == 7)
    }
}
