import ArgumentParser
import Foundation
import KeySync

extension AccessReview.Format: ExpressibleByArgument {}

extension KeySyncCommand {
    /// `keysync review`: who has which access, granted since when, last used
    /// when, until when, and where the inventory says so (issue 21).
    struct Review: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "review",
            abstract: "Access review: person or key, role account, hosts, granted since, last used, expires, inventory line.",
            discussion: """
                From the inventory and the database only (no SSH). Last use comes from the logins push and check \
                read in sshd's log. --propose-removals AGE prints a unified diff of the inventory that removes the \
                grants unused in that window (as report --unused names them); nothing is applied. Exit 0; 1 on bad \
                usage or a missing inventory or database.
                """
        )

        @OptionGroup var databaseOption: DatabaseOption
        @OptionGroup var inventoryOption: InventoryOption

        @Option(help: "Only this project (repeatable).")
        var project: [String] = []

        @Option(help: "Output format: markdown, csv, html or json.")
        var format: AccessReview.Format = .markdown

        @Option(help: "Instead of the review: the inventory edit (a unified diff) that removes grants with no login in this window (90d).")
        var proposeRemovals: String?

        @Option(help: "Write to this file atomically (temp file + rename) instead of stdout.")
        var output: String?

        func validate() throws {
            if let proposeRemovals, TimeSpec(proposeRemovals, allowingZero: true) == nil {
                throw ValidationError("--propose-removals: expected \(TimeSpec.expected), got \"\(proposeRemovals)\"")
            }
            if output?.isEmpty == true { throw ValidationError("--output needs a file name") }
        }

        func run() throws {
            try emit(render(), to: output, mode: 0o600)
        }

        /// The review, or the proposed diff; notes about grants to remove by hand go to stderr.
        func render(now: Date = Date(), note: (String) -> Void = { printError($0) }) throws -> String {
            let inventory = try inventoryOption.loadInventory()
            let store = try databaseOption.openStoreForReading()
            let history = try exitOnError { try store.loginHistory() }
            guard let proposeRemovals else {
                return try exitOnError { try AccessReview(inventory: inventory, history: history, projects: project, now: now) }.render(format)
            }
            let unused = try exitOnError {
                try UnusedGrantsReport(inventory: inventory, history: history, within: TimeSpec(proposeRemovals, allowingZero: true)!, projects: project, now: now)
            }
            let text = try exitOnError { try String(contentsOfFile: inventory.path, encoding: .utf8) }
            let removal = GrantRemoval(text: text, removing: unused.unused.map(\.grant), allGrants: inventory.accessGrants())
            for line in removal.notes { note("note: \(line)") }
            let skipped = unused.grants.count - unused.unused.count
            if skipped > 0 {
                note("note: \(skipped) grant\(skipped == 1 ? "" : "s") with no login seen were not watched for the whole window on every host; not proposed (report --unused lists them)")
            }
            // For `patch` as it is; on a terminal, control characters from the
            // YAML (a lone CR, bidi marks) are shown as codes, not obeyed.
            let diff = removal.diff(from: text, path: inventory.path)
            return isatty(STDOUT_FILENO) != 0 && output == nil ? diff.terminalSafe(keepingNewlines: true) : diff
        }
    }
}
