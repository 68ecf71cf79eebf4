import Foundation
import Testing
@testable import KeySync
@testable import KeySyncCLI

@Suite("keysync inventory validate|hosts")
struct InventoryCommandTests {
    typealias F = InventoryFixtures

    @Test(arguments: [
        (["--inventory", "flag.yml"], ["KEYSYNC_INVENTORY": "env.yml"], "flag.yml"),
        ([], ["KEYSYNC_INVENTORY": "env.yml"], "env.yml"),
        ([], ["KEYSYNC_INVENTORY": ""], "inventory.yml"),
        ([], [:], "inventory.yml"),
    ] as [([String], [String: String], String)])
    func inventoryPathFallbacks(_ arguments: [String], _ environment: [String: String], _ expected: String) throws {
        let validate = try KeySyncCommand.InventoryValidate.parse(arguments)
        #expect(validate.inventoryOption.resolvedInventoryPath(environment: environment) == expected)
        let hosts = try KeySyncCommand.InventoryHosts.parse(arguments)
        #expect(hosts.inventoryOption.resolvedInventoryPath(environment: environment) == expected)
    }

    @Test func parsesTheSelection() throws {
        let command = try KeySyncCommand.parseAsRoot(
            ["inventory", "hosts", "--project", "a", "--project", "b", "--host", "h", "--group", "g", "--json", "--inventory", "x.yml"])
        let hosts = try #require(command as? KeySyncCommand.InventoryHosts)
        #expect(hosts.selection.project == ["a", "b"])
        #expect(hosts.selection.host == ["h"])
        #expect(hosts.selection.group == ["g"])
        #expect(hosts.output.json)
        #expect(hosts.inventoryOption.inventory == "x.yml")
        #expect(try KeySyncCommand.parseAsRoot(["inventory", "validate"]) is KeySyncCommand.InventoryValidate)
    }

    func example() throws -> KeySync.Inventory {
        try Inventory.load(path: F.repositoryRoot + "/inventory.example", homeDirectory: F.home)
    }

    @Test func validateSummary() throws {
        let inventory = try example()
        #expect(KeySyncCommand.InventoryValidate.summary(of: inventory)
            == "\(inventory.path): ok — 2 projects, 4 hosts, 8 keys, 2 people, 2 revoked, 2 certificate revocations")
    }

    @Test func hostsTable() throws {
        let inventory = try example()
        let table = KeySyncCommand.InventoryHosts.table(try inventory.select(projects: ["billing"]))
        #expect(table.split(separator: "\n").map(String.init) == [
            "HOST   ADDRESS           LOGIN  ACCOUNT              UID   PROJECT  ROLE     KEY            FINGERPRINT",
            "app-1  127.77.0.21:2222  ops    usersample           1001  billing  ci       kp-billing-ci  SHA256:hcMkQ/SyFF94V16DcJ10tjmTKPG094adFNY0AWaUvag",
            "app-1  127.77.0.21:2222  ops    billing (exclusive)  1002  billing  billing  kp-billing     SHA256:kN4XE68747KFcmx5ojijvNgIa8r4sCmm543ILpIs8Ao",
            "app-1  127.77.0.21:2222  ops    billing (exclusive)  1002  billing  billing  kp-contractor  SHA256:G6862mOJJ1YNE5zAS4jP8FXafNMlHonDcgRH917lYIs",
            "db-1   127.77.0.31:22    root   billing (exclusive)  1002  billing  billing  kp-billing     SHA256:kN4XE68747KFcmx5ojijvNgIa8r4sCmm543ILpIs8Ao",
            "db-1   127.77.0.31:22    root   billing (exclusive)  1002  billing  billing  kp-contractor  SHA256:G6862mOJJ1YNE5zAS4jP8FXafNMlHonDcgRH917lYIs",
            "db-1   127.77.0.31:22    root   usersample           1001  billing  ci       kp-billing-ci  SHA256:hcMkQ/SyFF94V16DcJ10tjmTKPG094adFNY0AWaUvag",
        ])
    }

    @Test func hostsJSON() throws {
        let inventory = try example()
        let text = try KeySyncCommand.InventoryHosts.json(try inventory.select(hosts: ["db-1"]), of: inventory)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(document["inventory_hash"] as? String == inventory.inventoryHash)
        // The second is kp-bob's: bob has left (people:).
        #expect(document["revoked"] as? [String] == ["SHA256:Kgf5W/0sww1xJhEfhiFYIx2SSD/WAXGY6Ixngw8nd34", "SHA256:YZNSC9cHIWXZwaauuFRxBa1i8dOVM8+egczdwKUm8JY"])
        let host = try #require((document["hosts"] as? [[String: Any]])?.first)
        #expect(host["host"] as? String == "db-1")
        #expect(host["user"] as? String == "root")
        #expect(host["become"] as? String == "none")
        #expect(host["identity"] as? String == "/home/tester/.ssh/id_ed25519")
        #expect(host["agent"] as? Bool == false)
        #expect(host["command_timeout"] as? Double == 60)
        let accounts = try #require(host["accounts"] as? [[String: Any]])
        #expect(accounts.map { $0["account"] as? String } == ["billing", "usersample"])
        #expect(accounts[0]["exclusive"] as? Bool == true)
        #expect(accounts[0]["group"] == nil)
        let key = try #require(((accounts[1]["blocks"] as? [[String: Any]])?.first?["keys"] as? [[String: Any]])?.first)
        #expect(key["name"] as? String == "kp-billing-ci")
        #expect(key["type"] as? String == "ssh-rsa")
        #expect(key["fingerprint"] as? String == "SHA256:hcMkQ/SyFF94V16DcJ10tjmTKPG094adFNY0AWaUvag")
        #expect(key["options"] as? String == "no-pty,no-agent-forwarding")
        #expect(key["until"] == nil)
        let billing = try #require((accounts[0]["blocks"] as? [[String: Any]])?.first?["keys"] as? [[String: Any]])
        #expect(billing.map { $0["until"] as? String } == [nil, "2027-01-01T00:00:00Z"])
    }

    @Test func diagnosticsAreColouredOnlyWhenAsked() {
        let diagnostic = Diagnostic(file: "inventory.yml", line: 3, column: 5, message: "bad")
        #expect(diagnostic.rendered(colour: false) == "inventory.yml:3:5: error: bad")
        #expect(diagnostic.rendered(colour: true) == "\u{1B}[1minventory.yml:3:5:\u{1B}[0m \u{1B}[1;31merror:\u{1B}[0m bad")
    }
}
