import ArgumentParser
import Foundation
import Testing
@testable import KeySync
@testable import KeySyncCLI

@Suite struct RotationCLITests: SubcommandParsing {
    typealias Command = KeySyncCommand.Rotate

    @Test func parsesAStartAResumeAndAStatus() throws {
        let start = try parse(["kp-usersample", "--new-key", "new.pub", "--verify-identity", "new", "--project", "a",
                               "--project", "b", "--canary", "2", "--parallel", "8", "--json"])
        #expect(start.key == "kp-usersample" && start.newKey == "new.pub" && start.verifyIdentity == "new")
        #expect(start.project == ["a", "b"] && start.canary == 2 && start.parallelOption.parallel == 8 && start.output.json && start.status == nil)
        #expect(try parse(["--resume", "7"]).resume == 7)
        #expect(try parse(["--resume", "7", "--verify-identity", "k"]).verifyIdentity == "k")
        #expect(try parse(["--status"]).status == 0)
        #expect(try parse(["--status", "4", "--json"]).status == 4)
        #expect(try parse(["--json", "--status"]).status == 0)
    }

    @Test(arguments: [
        ([], "Missing KEY: the inventory key to rotate (or --resume ID, --status)"),
        (["kp"], "Missing --new-key FILE: the new public or private key"),
        (["kp", "--new-key", "n", "--canary=-1"], "--canary must be 0 or more"),
        (["kp", "--new-key", "n", "--parallel", "0"], "--parallel must be between 1 and 4096 (as the inventory's parallel)"),
        (["--resume", "3", "--canary", "1"], "--resume continues with the rotation's own projects, canary and key check; leave out --project, --canary and --accept-key-type"),
        (["--resume", "3", "--accept-key-type"], "--resume continues with the rotation's own projects, canary and key check; leave out --project, --canary and --accept-key-type"),
        (["--status", "--resume", "3"], "--status only shows a rotation; it takes no KEY and no other option but --db and --json"),
        (["kp", "--status"], "--status only shows a rotation; it takes no KEY and no other option but --db and --json"),
    ])
    func badUsageIsExplained(_ arguments: [String], _ expected: String) {
        #expect(parseError(["rotate"] + arguments) == expected)
    }

    @Test func statusAndBadInputExitCodes() throws {
        let fixture = try RotationFixture()
        let db = fixture.folder.file("keysync.db").path
        let inventory = fixture.folder.file("inventory.yml").path
        let unknown = try parse(["kp-nope", "--new-key", RotationFixture.newKeyPath, "--inventory", inventory, "--db", db])
        #expect(throws: ExitCode(1)) { try unknown.run() }
        let status = try parse(["--status", "--db", db])
        #expect(throws: ExitCode(1)) { try status.run() }  // the database holds no rotation
    }
}
