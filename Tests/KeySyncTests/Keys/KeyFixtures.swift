import Foundation
import Testing
@testable import KeySync

/// Fixture files under `Tests/KeySyncTests/Fixtures/keys` (made by `make-fixtures.sh`).
enum KeyFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/keys")

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self)
    }

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Every file in the fixture folder with this suffix, sorted.
    static func names(withSuffix suffix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(suffix) }.sorted()
    }

    /// What `ssh-keygen -lf` printed for the fixture, without the newline.
    static func expectedFingerprintLine(_ name: String) throws -> String {
        try text(name).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The first key of a `.pub` fixture.
    static func publicKey(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> PublicKey {
        let entry = try #require(AuthorizedKeysFile(bytes: try bytes(name)).lines.first?.entry,
                                 "\(name) has no key line", sourceLocation: sourceLocation)
        return entry.key
    }
}
