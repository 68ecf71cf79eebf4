import Foundation

/// `keysync restore`, the offline part: the files run `run` wrote on `host`
/// and the content each had before, as kept in snapshots.
public struct RestorePlan: Sendable {
    /// The host whose files would be written.
    public var host: String
    /// The run whose writes are undone.
    public var run: Store.Run
    /// From ``Store/snapshots(host:runID:account:)``, by path.
    public var snapshots: [Store.Snapshot]
    /// Fingerprints revoked now (the inventory's `revoked:`, keys retired by
    /// rotations): the restore leaves their lines out, and so does the
    /// content this plan shows (``SyncEngine/restore(_:files:snapshot:)``).
    public var revoked: Set<String>

    /// A plan to put `snapshots` back, without the lines of `revoked` keys.
    public init(host: String, run: Store.Run, snapshots: [Store.Snapshot], revoked: Set<String> = []) {
        (self.host, self.run, self.snapshots, self.revoked) = (host, run, snapshots, revoked)
    }

    /// A heading, then one line per file; with `content`, each file's earlier
    /// content follows as the restore would write it (revoked keys' lines
    /// left out and named), indented by four spaces, control characters made visible.
    /// Root files (`/etc/ssh/keysync/…`, sshd's drop-in:
    /// ``RootFiles/isDerived(path:)``) are listed but not restored: every
    /// byte of them comes from the inventory, so `push` writes them again,
    /// and the drop-in needs `sshd -t`, a reload and a login that only push does.
    public func text(content: Bool) -> String {
        // A file that did not exist before the run is not restored either:
        // keysync never deletes an authorized_keys file (SyncEngine.restore).
        let restored = snapshots.filter { !RootFiles.isDerived(path: $0.ref.path) && !($0.content == nil && $0.ref.hash == nil) }
        var out = "\(content ? "would restore" : "restore") \(restored.count.counted("file")) on "
            + "\(host.terminalSafe()) to the content before run \(run.id) (\(run.command.terminalSafe()), "
            + "\(run.startedAt.reportText)):\n"
        for snapshot in snapshots {
            let ref = snapshot.ref
            guard !RootFiles.isDerived(path: ref.path) else {
                out += "  \(ref.path.terminalSafe()) (root file): not restored; `keysync push --host \(host.terminalSafe())` writes it from the inventory\n"
                continue
            }
            out += "  \(ref.path.terminalSafe()) (account \(ref.account.terminalSafe())): "
            guard let bytes = snapshot.content else {
                out += ref.hash == nil ? "did not exist before; not deleted (keysync never deletes it: remove it by hand if you mean to)\n"
                    : "content missing from the database\n"
                continue
            }
            out += "\(bytes.count.counted("byte")), sha256 \(ref.hash ?? SHA256Digest.hex(bytes))"
            guard content else { out += "\n"; continue }
            // The bytes the restore would write: revoked keys' lines left out, each named.
            let (restoredBytes, keptOut) = SyncEngine.withoutRevoked(bytes, revoked: revoked)
            out += keptOut.isEmpty ? "\n" : "; \(restoredBytes.count.counted("byte")) come back\n"
            for line in keptOut {
                let type = line.entry.map { "\($0.key.type) " } ?? ""
                out += "    not restoring revoked key \(type)\(line.grantingFingerprint ?? "") (line \(line.number) of the snapshot)\n".terminalSafe(keepingNewlines: true)
            }
            // Split bytes, not Characters: "\r\n" is one Character.
            let newline = UInt8(ascii: "\n")
            let lines = restoredBytes.split(separator: newline, omittingEmptySubsequences: false)
            out += lines.dropLast(restoredBytes.last == newline ? 1 : 0)
                .map { "    \(String(decoding: $0, as: UTF8.self).terminalSafe())\n" }.joined()
            if let last = restoredBytes.last, last != newline { out += "    (no newline at end of file)\n" }
        }
        return out
    }
}
