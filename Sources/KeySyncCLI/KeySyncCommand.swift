import ArgumentParser
import Foundation
import KeySync

/// The `keysync` root command. Each subcommand lives in its own file.
@main
struct KeySyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keysync",
        abstract: "Keep SSH authorized_keys right across a fleet of Linux servers.",
        discussion: """
            Exit codes: 0 in sync / done; 1 bad usage or bad input (nothing touched); \
            2 drift found (check) or lint problems; 3 at least one host failed.
            """,
        version: KeySyncVersion.string,
        subcommands: [
            Push.self, Check.self, Report.self, Rotate.self, Doctor.self,
            Keys.self, Inventory.self, Adopt.self, History.self, Restore.self, Where.self, Review.self, Prune.self, Decommission.self, Offboard.self,
        ]
    )

    /// Like ArgumentParser's `main()`, except that bad usage exits 1 (DESIGN.md:
    /// "1 bad usage or bad input") instead of sysexits' 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(1)
            }
            exit(withError: error)
        }
    }
}
