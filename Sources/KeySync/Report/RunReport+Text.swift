import Foundation

extension RunReport {
    /// What `push` and `check` print without `--json`: one line per changed,
    /// drifting or failed host (with its `--dry-run` diff and its drift
    /// items), then the summary line; ends with a newline.
    ///
    /// Nearly every string here comes from a host: error text (sudo's stderr,
    /// the apply script's messages), changes and drift naming paths and key
    /// comments, diffs of file content. A key comment holding `\e]0;…\a` or a
    /// CR would otherwise retitle or overwrite the operator's terminal, so
    /// everything but keysync's own words goes through ``Swift/String/terminalSafe(keepingNewlines:)``.
    public func text(mode: SyncEngine.Mode, dryRun: Bool) -> String {
        var out = ""
        for host in hosts where host.status != .ok {
            let name = host.host.terminalSafe()
            if host.status == .failed {
                out += "\(name): FAILED: \((host.error ?? "unknown error").terminalSafe())\n"
                continue
            }
            if host.changes.isEmpty {
                out += "\(name): drift\n"
            } else {
                // A host with drift whose changes are refusals (the lockout guard) wrote nothing.
                let verb = host.status != .changed ? "nothing written" : dryRun ? "would change" : "changed"
                out += "\(name): \(verb): \(host.changes.joined(separator: "; ").terminalSafe())\n"
            }
            if let diff = host.diff {
                out += diff.terminalSafe(keepingNewlines: true) + (diff.hasSuffix("\n") ? "" : "\n")
            }
            for item in host.drift {
                let account = item.account.isEmpty ? "" : "\(item.account.terminalSafe()): "
                // A departed host is not contacted: nothing there was for this run to repair.
                let note = mode == .push && !dryRun && !item.repairable && item.kind != .hostDeparted ? " (not repaired)" : ""
                out += "  \(item.kind.rawValue): \(account)\(item.detail.terminalSafe())\(note)\n"
            }
        }
        let s = summary
        let verb = mode == .check ? "checked" : (dryRun ? "planned" : "pushed")
        var line = "\(verb) \(s.hosts.counted("host")) in \(String(format: "%.1f", s.seconds)) s: "
        line += "\(s.changed) \(dryRun ? "would change" : "changed"), \(s.drift) with drift, \(s.failed) failed"
        if let run { line += " (run \(run))" }
        if interrupted {
            let notStarted = hosts.count - s.hosts
            line += " — INTERRUPTED" + (notStarted > 0 ? " (\(notStarted.counted("host")) not started)" : "")
        }
        return out + line + "\n"
    }
}
