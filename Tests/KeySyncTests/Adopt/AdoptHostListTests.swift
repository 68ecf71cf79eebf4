import Foundation
import Testing
@testable import KeySync
@testable import KeySyncCLI

/// `keysync adopt --hosts FILE` and the command's flags.
@Suite struct AdoptHostListTests {
    @Test func namesAddressesAndPorts() throws {
        let entries = try AdoptHostList.parse("""
            # fleet\r
            web-1 10.0.0.11\r
              db-1   10.0.1.5:2222   # the database

            v6 [2001:db8::1]:2200
            v6b 2001:db8::2
            """, path: "hosts.txt")
        #expect(entries.map { "\($0.name) \($0.address) \($0.port.map(String.init) ?? "-") \($0.line)" } == [
            "web-1 10.0.0.11 - 2", "db-1 10.0.1.5 2222 3", "v6 2001:db8::1 2200 5", "v6b 2001:db8::2 - 6",
        ])
    }

    @Test func everyProblemIsLocated() {
        let text = "web-1\nweb 1.2.3.4 extra\nbad/name 1.2.3.4\nweb-1 10.0.0.1\nweb-1 10.0.0.2\nx 10.0.0.1\ny 10.0.0.3:99999\n"
        do {
            _ = try AdoptHostList.parse(text, path: "h.txt")
            Issue.record("expected an error")
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "h.txt:1:1: error: expected NAME ADDRESS[:PORT], found only \"web-1\"",
                "h.txt:2:13: error: unexpected \"extra\" after the address (one NAME ADDRESS[:PORT] a line; a comment starts with #)",
                "h.txt:3:1: error: host name \"bad/name\" must start with a letter or digit and hold only letters, digits, '.', '_', '-' and '@'",
                "h.txt:5:1: error: host \"web-1\" is already listed on line 4",
                "h.txt:6:3: error: 10.0.0.1 port 22 is already host \"web-1\" (line 4)",
                "h.txt:7:3: error: port \"99999\" is not a number from 1 to 65535",
            ])
        }
        #expect(throws: AdoptError.noHosts("e.txt")) { try AdoptHostList.parse("# none\n", path: "e.txt") }
    }

    @Test func parsesTheCommand() throws {
        let command = try KeySyncCommand.parseAsRoot([
            "adopt", "--hosts", "h.txt", "--account", "deploy", "--account", "www", "--user", "admin",
            "--identity", "k", "--known-hosts", "kh", "--accept-new-host-keys", "--become", "none",
        ])
        let adopt = try #require(command as? KeySyncCommand.Adopt)
        #expect(adopt.hosts == "h.txt" && adopt.account == ["deploy", "www"] && adopt.user == "admin" && adopt.acceptNewHostKeys)
        let imported = try #require(try KeySyncCommand.parseAsRoot(["inventory", "import", "--ansible", "hosts.ini"]) as? KeySyncCommand.InventoryImport)
        #expect(imported.ansible == "hosts.ini" && imported.output == nil)
    }

    @Test(arguments: [
        ([], "give either --hosts FILE or --inventory-hosts"),
        (["--hosts", "h", "--inventory-hosts"], "give either --hosts FILE or --inventory-hosts"),
        (["--inventory-hosts", "--user", "x"], "--user go with --hosts; with --inventory-hosts the inventory's defaults and hosts say how to connect"),
        (["--hosts", "h", "--inventory", "i.yml"], "--inventory goes with --inventory-hosts; --hosts FILE needs no inventory"),
        (["--hosts", "h", "--become", "su"], "--become must be sudo or none"),
        (["--hosts", "h", "--account", "Bad"], "--account \"Bad\" is not a valid Unix name ([a-z_][a-z0-9_-]*[$]?, at most 32 characters)"),
    ] as [([String], String)])
    func badFlagsAreRefused(_ arguments: [String], _ message: String) {
        #expect {
            _ = try KeySyncCommand.parseAsRoot(["adopt"] + arguments)
        } throws: { error in
            KeySyncCommand.message(for: error).contains(message)
        }
    }

    @Test func anExistingOutputIsNeverOverwritten() throws {
        let path = NSTemporaryDirectory() + "adopt-exists-\(UUID().uuidString)"
        try "keep".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for arguments in [["adopt", "--hosts", "h", "--output", path], ["inventory", "import", "--ansible", "a", "--output", path]] {
            #expect {
                _ = try KeySyncCommand.parseAsRoot(arguments)
            } throws: { error in
                KeySyncCommand.message(for: error).contains("\(path) exists")
            }
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep")
    }
}
