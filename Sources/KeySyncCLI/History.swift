import ArgumentParser
import KeySync

extension KeySyncCommand {
    /// `keysync history`: runs and what they did to a host, newest first.
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "Show runs and what they did on a host, newest first.",
            discussion: "With --host: each run's drift, fixes, changes and snapshots on that host. Without: recent runs with their counts. --command offboard lists the offboardings (the person is the selection)."
        )

        @OptionGroup var databaseOption: DatabaseOption

        @Option(help: "The host whose runs to show.")
        var host: String?

        @Option(help: "Only this account's drift, changes and snapshots (needs --host).")
        var account: String?

        @Option(help: "Only runs of this command, e.g. offboard (repeatable).")
        var command: [String] = []

        @Option(help: "At most this many runs.")
        var limit = 20

        @OptionGroup var output: TableOutputOptions

        func validate() throws {
            if account != nil && host == nil { throw ValidationError("--account needs --host") }
            if limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() throws {
            print(try render(), terminator: "")
        }

        /// The history as text or JSON; errors are printed and exit 1.
        func render() throws -> String {
            let store = try databaseOption.openStoreForReading()
            let history = try exitOnError {
                let commands = command.isEmpty ? nil : Set(command)
                if let host {
                    return HistoryReport.host(host, account: account,
                                              try store.history(host: host, account: account, commands: commands, limit: limit))
                }
                return HistoryReport.runs(try store.runs(commands: commands, limit: limit))
            }
            return output.json ? history.json() : history.text()
        }
    }
}
