import Foundation
import GRDB

extension Store {
    /// Keeps the content `path` had before run `runID` writes it, and returns
    /// its SHA-256 hex (`nil` for a file that did not exist).
    ///
    /// Identical contents are stored once. Only the first snapshot of a path
    /// in a run is kept: it is the content that run wrote over.
    @discardableResult
    public func recordSnapshot(host: String, account: String, path: String, content: [UInt8]?, runID: Int64, at date: Date = Date()) throws -> String? {
        try write("keep a snapshot of \(host):\(path)") { db in
            try requireRun(db, runID)
            return try insertSnapshot(db, host: host, account: account, path: path, content: content, runID: runID, at: date)
        }
    }

    func insertSnapshot(_ db: Database, host: String, account: String, path: String, content: [UInt8]?, runID: Int64, at date: Date) throws -> String? {
        let hash = content.map { SHA256Digest.hex($0) }
        if let content, let hash {
            try SnapshotContent(hash: hash, content: Data(content), size: content.count).insert(db, onConflict: .ignore)
        }
        try SnapshotRef(runID: runID, host: host, account: account, path: path, hash: hash, takenAt: date)
            .insert(db, onConflict: .ignore)
        return hash
    }

    /// The content `path` on `host` had before run `runID` wrote it, if a
    /// snapshot was taken.
    public func snapshot(host: String, runID: Int64, path: String) throws -> Snapshot? {
        try snapshots(host: host, runID: runID).first { $0.ref.path == path }
    }

    /// Every snapshot run `runID` took on `host` (of one account, if given), by path.
    public func snapshots(host: String, runID: Int64, account: String? = nil) throws -> [Snapshot] {
        try read("read the snapshots of \(host) in run \(runID)") { db in
            var request = SnapshotRef
                .filter(SnapshotRef.Columns.runID == runID && SnapshotRef.Columns.host == host)
                .order(SnapshotRef.Columns.path)
            if let account { request = request.filter(SnapshotRef.Columns.account == account) }
            return try request.fetchAll(db).map { ref in
                let content = try ref.hash.flatMap { try SnapshotContent.fetchOne(db, key: $0) }
                return Snapshot(ref: ref, content: content.map { [UInt8]($0.content) })
            }
        }
    }
}
