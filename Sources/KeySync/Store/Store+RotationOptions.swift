import Foundation
import GRDB

extension Store {
    /// Replaces the options recorded with rotation `id` (a resume with another
    /// `--verify-identity` records it, so `--status` tells how hosts were verified).
    func setRotationOptions(id: Int64, _ options: [String: String]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(options), as: UTF8.self)
        try write("record the options of rotation \(id)") { db in
            try db.execute(literal: "UPDATE rotations SET options = \(json) WHERE id = \(id)")
        }
    }
}
