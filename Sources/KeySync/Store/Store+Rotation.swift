import Foundation
import GRDB

extension Store {
    /// Another rotation of the key name is not finished (`createRotation`
    /// checks in its own transaction).
    public struct RotationInProgress: Error, Equatable, Sendable {
        public var keyName: String
        public var id: Int64
        public var newFingerprint: String
    }

    /// Starts a rotation of `keyName` over `targets` (in order; canaries
    /// first), each `pending`, and returns its id (for `--resume`); throws
    /// ``RotationInProgress`` while another rotation of the name is not finished.
    public func createRotation(
        keyName: String, oldFingerprint: String, newFingerprint: String, canary: Int = 0,
        options: [String: String] = [:], targets: [(host: String, account: String)], startedAt: Date = Date()
    ) throws -> Int64 {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(options), as: UTF8.self)
        return try write("start a rotation of \(keyName)") { db in
            // Checked in the transaction that inserts: two `rotate` started at
            // once cannot both pass a check made before (one sees the other's row).
            if let open = try Rotation.filter(Rotation.Columns.keyName == keyName && Rotation.Columns.status != RotationStatus.completed)
                .fetchOne(db) {
                throw RotationInProgress(keyName: keyName, id: open.id, newFingerprint: open.newFingerprint)
            }
            try db.execute(literal: """
                INSERT INTO rotations (key_name, old_fingerprint, new_fingerprint, started_at, canary, options)
                VALUES (\(keyName), \(oldFingerprint), \(newFingerprint), \(startedAt), \(canary), \(json))
                """)
            let id = db.lastInsertedRowID
            for (position, target) in targets.enumerated() {
                try RotationHost(rotationID: id, host: target.host, account: target.account, position: position,
                                 phase: .pending, completedPhase: .pending, error: nil, updatedAt: startedAt).insert(db)
            }
            return id
        }
    }

    /// Moves one host and account of a rotation to `phase`. A phase other than
    /// `failed` also becomes its `completedPhase`; `error` is stored as given
    /// (pass `nil` to clear it).
    public func setRotationPhase(rotationID: Int64, host: String, account: String, phase: RotationPhase, error: String? = nil, at date: Date = Date()) throws {
        try write("record rotation \(rotationID) phase \(phase.rawValue) on \(host)") { db in
            var assignments = [RotationHost.Columns.phase.set(to: phase), RotationHost.Columns.error.set(to: error),
                               RotationHost.Columns.updatedAt.set(to: date)]
            if phase != .failed { assignments.append(RotationHost.Columns.completedPhase.set(to: phase)) }
            let updated = try RotationHost.filter(key: [
                RotationHost.Columns.rotationID.name: rotationID, RotationHost.Columns.host.name: host,
                RotationHost.Columns.account.name: account,
            ]).updateAll(db, assignments)
            if updated == 0 {
                throw StoreError.unknownRotation(path: path, id: rotationID, host: try Rotation.exists(db, id: rotationID) ? "\(host) (\(account))" : nil)
            }
        }
    }

    /// Ends a rotation with `status`.
    public func finishRotation(id: Int64, status: RotationStatus, finishedAt: Date = Date()) throws {
        try write("finish rotation \(id)") { db in
            let updated = try Rotation.filter(id: id).updateAll(db, [
                Rotation.Columns.status.set(to: status), Rotation.Columns.finishedAt.set(to: finishedAt),
            ])
            if updated == 0 { throw StoreError.unknownRotation(path: path, id: id, host: nil) }
        }
    }

    /// The rotation with this id, if any.
    public func rotation(id: Int64) throws -> Rotation? {
        try read("read rotation \(id)") { try Rotation.fetchOne($0, id: id) }
    }

    /// The most recently started rotation, if any.
    public func latestRotation() throws -> Rotation? {
        try read("read the latest rotation") { try Rotation.order(Rotation.Columns.id.desc).fetchOne($0) }
    }

    /// Rotations, newest first.
    public func rotations(limit: Int? = nil) throws -> [Rotation] {
        try read("list rotations") { db in
            try Rotation.order(Rotation.Columns.id.desc).limit(limit ?? -1).fetchAll(db)
        }
    }

    /// The hosts and accounts of a rotation, in rotation order.
    public func rotationHosts(id: Int64) throws -> [RotationHost] {
        try read("read the hosts of rotation \(id)") { db in
            try RotationHost.filter(RotationHost.Columns.rotationID == id).order(RotationHost.Columns.position).fetchAll(db)
        }
    }

    /// Records `fingerprint` as retired; a later push or check that finds it
    /// reports `revoked_key`. Retiring it again keeps the first record.
    public func recordRetired(fingerprint: String, keyName: String, rotationID: Int64?, at date: Date = Date()) throws {
        try write("record \(fingerprint) as retired") { db in
            try RetiredKey(fingerprint: fingerprint, keyName: keyName, rotationID: rotationID, retiredAt: date)
                .insert(db, onConflict: .ignore)
        }
    }

    /// Every retired key, oldest first.
    public func retiredKeys() throws -> [RetiredKey] {
        try read("read retired keys") { try RetiredKey.order(Column("retired_at"), RetiredKey.Columns.fingerprint).fetchAll($0) }
    }

    /// Fingerprints of every retired key.
    public func retiredFingerprints() throws -> Set<String> {
        try read("read retired keys") { try Set(String.fetchAll($0, RetiredKey.select(RetiredKey.Columns.fingerprint))) }
    }
}
