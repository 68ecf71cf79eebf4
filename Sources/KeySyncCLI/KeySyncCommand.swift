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
            2 drift found (check), doctor errors, something decommission or offboard could not remove, \
            or lint problems; 3 at least one host failed (3 wins over 2); 130 interrupted.
            """,
        version: KeySyncVersion.string,
        subcommands: [
            Push.self, Check.self, Report.self, Rotate.self, Doctor.self,
            Keys.self, Inventory.self, Adopt.self, History.self, Restore.self, Where.self, Review.self, Prune.self, Decommission.self, Offboard.self,
        ]
    )

    /// No command: bad usage (exit 1, help on stderr), not help on stdout with exit 0.
    func run() throws { throw ValidationError("a command is needed; see keysync --help") }

    /// Like ArgumentParser's `main()`, except that bad usage exits 1 (DESIGN.md:
    /// "1 bad usage or bad input") instead of sysexits' 64.
    static func main() {
        raiseOpenFileLimit()
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

    /// Every host in flight holds a socket (and one more per jump host): at
    /// `parallel` near the usual soft limit of 1,024 descriptors, hosts would
    /// fail with "too many open files". The soft limit goes up to the hard
    /// one (at most 65,536); keysync and libssh2 wait with poll(2), never
    /// select(2), so descriptors above 1,024 are safe.
    private static func raiseOpenFileLimit() {
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return }
        let wanted = min(limit.rlim_max, 65_536)
        guard limit.rlim_cur < wanted else { return }
        limit.rlim_cur = wanted
        _ = setrlimit(resource, &limit)
    }
}
