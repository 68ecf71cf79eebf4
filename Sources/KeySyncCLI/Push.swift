import ArgumentParser
import KeySync

extension KeySyncCommand {
    /// `keysync push`: converge the selected hosts.
    struct Push: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "push",
            abstract: "Converge the selected hosts to the inventory.",
            discussion: "Exit 0 when every host is in sync or was changed (a host that left the inventory is listed as host_departed drift, see `keysync decommission`; `check` exits 2 for it), 1 on bad input (nothing sent to any host), 3 if any host failed, 130 when interrupted."
        )

        @OptionGroup var options: SyncOptions

        @Flag(name: .long, help: "Print the diff per host and write nothing on hosts.")
        var dryRun = false

        @Flag(name: .long, help: "Allow changes the lockout guard refuses (removing keysync's own login key, emptying an account).")
        var force = false

        @Flag(name: .long, help: "Repair home directories that sshd's StrictModes would refuse.")
        var fixHome = false

        @Option(name: .long, help: ArgumentHelp("manage_sshd: change sshd's drop-in on the first N hosts that need it alone; the others only if all of them passed.", valueName: "N"))
        var canary = 0

        func validate() throws {
            if canary < 0 { throw ValidationError("--canary must be 0 or more") }
        }

        func run() throws {
            try SyncCommandRunner.run(options, mode: .push, dryRun: dryRun, force: force, fixHome: fixHome, canary: canary)
        }
    }
}
