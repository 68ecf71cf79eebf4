import ArgumentParser
import Testing
@testable import KeySyncCLI

/// Parses `arguments` (everything after `keysync`) as the binary would,
/// without running it, and requires a `Command`.
func parseCommand<Command: ParsableCommand>(_ type: Command.Type, _ arguments: [String],
                                            sourceLocation: SourceLocation = #_sourceLocation) throws -> Command {
    try #require(try KeySyncCommand.parseAsRoot(arguments) as? Command, sourceLocation: sourceLocation)
}

/// The message keysync prints for `arguments` (everything after `keysync`), which must not parse.
func parseError(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String {
    do {
        let command = try KeySyncCommand.parseAsRoot(arguments)
        Issue.record("parsed: \(command)", sourceLocation: sourceLocation)
        return ""
    } catch {
        return KeySyncCommand.message(for: error)
    }
}

/// A suite about one subcommand: `parse(["--json"])` is `keysync NAME --json`.
protocol SubcommandParsing {
    associatedtype Command: ParsableCommand
}

extension SubcommandParsing {
    func parse(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> Command {
        try parseCommand(Command.self, [Command._commandName] + arguments, sourceLocation: sourceLocation)
    }
}
