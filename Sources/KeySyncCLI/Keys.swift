import ArgumentParser
import KeySync

extension KeySyncCommand {
    /// `keysync keys …`: offline key tools.
    struct Keys: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keys",
            abstract: "Offline key tools: lint, fingerprint, import, generate.",
            subcommands: [KeysLint.self, KeysFingerprint.self, KeysImport.self, KeysGenerate.self]
        )

        /// No subcommand: bad usage (exit 1), not help on stdout with exit 0.
        func run() throws { throw ValidationError("a subcommand is needed; see keysync keys --help") }
    }
}
