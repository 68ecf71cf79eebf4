import ArgumentParser
import Foundation
import KeySync
import Synchronization

extension KeySyncCommand {
    /// `keysync rotate KEY --new-key FILE …`: phased rotation of a shared key.
    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Replace a shared project-role key on every host, in phases, without a lockout.",
            discussion: """
                Per host and account: 1 add the new key next to the old one; 2 verify it (a login as the \
                account with --verify-identity, else a re-read of the file); 3 remove the old key, only where \
                2 passed. State lives in the database: --resume ID continues, --status [ID] shows progress. \
                Exit 0 done, 1 bad input (nothing touched), 3 some hosts failed or a canary stopped the \
                rotation, 130 interrupted (resumable).
                """
        )

        @OptionGroup var inventoryOption: InventoryOption
        @OptionGroup var databaseOption: DatabaseOption

        @Argument(help: "The inventory key to rotate, e.g. kp-usersample.")
        var key: String?

        @Option(name: .customLong("new-key"), help: ArgumentHelp("The new key: a .pub or the private key (what `keys import` reads).", valueName: "file"))
        var newKey: String?

        @Option(name: .customLong("verify-identity"), help: ArgumentHelp("The new private key: phase 2 logs in with it as each account and runs `true`.", valueName: "private-key"))
        var verifyIdentity: String?

        @Flag(name: .customLong("accept-key-type"), help: "Rotate to a key of another type with the file re-read only (without --verify-identity this is refused: a re-read cannot show that sshd accepts the new type).")
        var acceptKeyType = false

        @Option(name: .long, help: "Only accounts granted KEY by this project (repeatable).")
        var project: [String] = []

        @Option(name: .long, help: "Hosts that go through all three phases first; a failure there stops the rotation before other hosts are touched.")
        var canary = 0

        @OptionGroup var parallelOption: ParallelOption

        @OptionGroup var output: OutputOptions

        @Option(name: .long, help: ArgumentHelp("Continue rotation ID where it stopped.", valueName: "id"))
        var resume: Int64?

        @Option(name: .long, defaultAsFlag: 0, help: ArgumentHelp("Show the progress of rotation ID and exit; without ID (or 0): the latest.", valueName: "id"))
        var status: Int64? = nil

        func validate() throws {
            if canary < 0 { throw ValidationError("--canary must be 0 or more") }
            if status != nil {
                guard key == nil, newKey == nil, verifyIdentity == nil, project.isEmpty, canary == 0, resume == nil, parallelOption.parallel == nil,
                      !acceptKeyType else {
                    throw ValidationError("--status only shows a rotation; it takes no KEY and no other option but --db and --json")
                }
            } else if resume != nil {
                guard project.isEmpty, canary == 0, !acceptKeyType else {
                    throw ValidationError("--resume continues with the rotation's own projects, canary and key check; leave out --project, --canary and --accept-key-type")
                }
            } else {
                guard key != nil else { throw ValidationError("Missing KEY: the inventory key to rotate (or --resume ID, --status)") }
                guard newKey != nil else { throw ValidationError("Missing --new-key FILE: the new public or private key") }
            }
        }

        func run() throws {
            if let status {
                let report = try exitOnError { try RotationRun.status(of: try databaseOption.openStoreForReading(), id: status == 0 ? nil : status) }
                try output.print(report, text: report.text(verbose: true))
                return
            }
            let inventory = try inventoryOption.loadInventory()
            if resume == nil {
                try databaseOption.withStore { try rotate(inventory: inventory, store: $0) }
            } else {
                try rotate(inventory: inventory, store: try databaseOption.openStore())
            }
        }

        private func rotate(inventory: KeySync.Inventory, store: Store) throws {
            let cancellation = Cancellation()
            let interrupt = InterruptHandler { cancellation.cancel() }
            defer { interrupt.restore() }
            let progress = RotationProgress(enabled: isatty(STDERR_FILENO) != 0 && !output.json)
            let rotation = RotationRun(inventory: inventory, store: store, parallel: parallelOption.parallel, cancellation: cancellation,
                                       passphrase: { Passphrase.prompt($0) }, events: { progress.show($0) })
            let report = try exitOnError {
                if let resume { return try rotation.resume(id: resume, keyName: key, newKeyPath: newKey, verifyIdentity: verifyIdentity) }
                return try rotation.start(.init(keyName: key ?? "", newKeyPath: newKey ?? "", verifyIdentity: verifyIdentity,
                                                projects: project, canary: canary, acceptKeyType: acceptKeyType))
            }
            progress.finish()
            try output.print(report, text: report.text())
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }
}

/// `add 3/5, 1 failed` on stderr, redrawn in place on a terminal.
final class RotationProgress: Sendable {
    /// The step shown and its counts.
    private struct Line {
        var step = "", done = 0, total = 0, failed = 0
        var text: String { "\r\u{1B}[K\(step): \(done)/\(total), \(failed) failed" }
    }

    private let enabled: Bool
    private let line = Mutex(Line())

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ event: RotationEvent) {
        guard enabled else { return }
        line.withLock { line in
            switch event {
            case let .stepStarted(step, wave, count):
                line = Line(step: wave == 0 ? step.rawValue : "\(step.rawValue) (wave \(wave + 1))", total: count)
            case let .pairFinished(_, _, error):
                line.done += 1
                if error != nil { line.failed += 1 }
            case .stepFinished:
                FileHandle.standardError.write(Data((line.text + "\n").utf8))
                return
            }
            FileHandle.standardError.write(Data(line.text.utf8))
        }
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
