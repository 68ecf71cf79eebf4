import ArgumentParser
import Foundation
import KeySync

extension KeySyncCommand {
    /// `keysync keys lint FILE [--json]`
    struct KeysLint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lint",
            abstract: "Check an authorized_keys file the way sshd reads it.",
            discussion: "Exit status: 0 clean, 2 an invalid line or a warning, 1 unreadable file."
        )

        @Argument(help: "The authorized_keys file.")
        var file: String

        @OptionGroup var output: TableOutputOptions

        func run() throws {
            let report = LintReport(file: AuthorizedKeysFile(bytes: try KeyImporter.readFile(file)), now: Date())
            print(output.json ? report.json() : report.text())
            if report.hasProblems { throw ExitCode(2) }
        }
    }
}
