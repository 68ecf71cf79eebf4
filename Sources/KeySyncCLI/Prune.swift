import ArgumentParser
import Foundation
import KeySync

extension KeySyncCommand {
    /// `keysync prune`: retention for the database.
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Remove old runs, keys not seen since, and snapshots nothing refers to.",
            discussion: "Runs in progress, rotations and retired keys are kept."
        )

        @OptionGroup var databaseOption: DatabaseOption

        @Option(help: "Keep runs newer than this: an age (90d, 12w…) or an ISO 8601 date in the past.")
        var keep: String

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard let spec = TimeSpec(keep) else { throw ValidationError("--keep: expected \(TimeSpec.expected), got \"\(keep)\"") }
            if spec.date(relativeTo: Date()) > Date() { throw ValidationError("--keep: \(keep) is in the future; that would remove every run") }
        }

        func run() throws {
            print(try render(), terminator: "")
        }

        /// Prunes and says what was removed, as text or JSON; errors are printed and exit 1.
        func render(now: Date = Date()) throws -> String {
            let store = try databaseOption.openStore()
            let cutoff = TimeSpec(keep)!.date(relativeTo: now)
            let report = PruneReport(cutoff: cutoff, result: try exitOnError { try store.prune(keepingRunsNewerThan: cutoff) })
            return output.json ? report.json() : report.text()
        }
    }
}
