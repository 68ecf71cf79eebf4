import ArgumentParser
import KeySync

extension KeySyncCommand {
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Remove old runs and unreferenced snapshots (not implemented yet)"
        )
        func run() throws { throw NotImplemented(command: "prune") }
    }
}
