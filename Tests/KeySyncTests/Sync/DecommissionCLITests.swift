import ArgumentParser
import Foundation
import Testing
@testable import KeySync
@testable import KeySyncCLI

/// `keysync decommission` parses its flags, refuses `--forget` with the
/// flags that need a connection, and push/check list departed hosts only
/// for a selection that can contain them.
@Suite struct DecommissionCLITests: SubcommandParsing {
    typealias Command = KeySyncCommand.Decommission

    func message(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String {
        parseError(["decommission"] + arguments, sourceLocation: sourceLocation)
    }

    @Test func parsesTheHostAndItsFlags() throws {
        let command = try parse(["web-9", "--dry-run", "--force", "--json", "--db", "k.db", "--inventory", "i.yml"])
        #expect(command.host == "web-9" && command.dryRun && command.force && command.output.json && !command.forget)
        #expect(try parse(["web-9", "--forget"]).forget)
        #expect(message([]) == "Missing expected argument '<host>'")
        #expect(message(["web-9", "--forget", "--dry-run"]) == "--forget contacts nothing: it cannot be combined with --dry-run or --force")
        #expect(message(["web-9", "--forget", "--force"]) == "--forget contacts nothing: it cannot be combined with --dry-run or --force")
    }

    @Test func departedHostsAreListedUnlessHostsOrGroupsAreNamed() throws {
        func listing(_ arguments: [String]) throws -> ManagedHistory.DepartedListing {
            try parseCommand(KeySyncCommand.Check.self, ["check"] + arguments).options.selection.departedListing
        }
        #expect(try listing([]) == .all)
        #expect(try listing(["--project", "a", "--project", "b"]) == .projects(["a", "b"]))
        #expect(try listing(["--project", "a", "--host", "h1"]) == ManagedHistory.DepartedListing.none)
        #expect(try listing(["--group", "web"]) == ManagedHistory.DepartedListing.none)
    }
}
