import ArgumentParser
import KeySync

extension KeySyncCommand {
    /// `keysync check`: read-only drift check for cron and systemd timers.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Read-only drift check; records drift in the database.",
            discussion: "Writes nothing on hosts. Exit 0 in sync, 2 drift found, 3 if any host failed."
        )

        @OptionGroup var options: SyncOptions

        func run() throws {
            try SyncCommandRunner.run(options, mode: .check)
        }
    }
}
