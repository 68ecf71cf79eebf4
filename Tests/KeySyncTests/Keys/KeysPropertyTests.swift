import Foundation
import Testing
@testable import KeySync

/// SplitMix64: a small deterministic generator, so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct KeysPropertyTests {
    /// A realistic file: every fixture key, options, comments, blanks, CRLF, a managed block.
    static func sampleFile() throws -> [UInt8] {
        var text = "# authorized_keys\n\n"
        for (index, name) in KeyFixtures.names(withSuffix: ".pub").enumerated() {
            let line = try KeyFixtures.text(name).trimmingCharacters(in: .newlines)
            text += index % 3 == 0 ? "from=\"10.0.0.0/8\",command=\"echo \\\"x\\\"\",no-pty \(line)\r\n" : "\(line)\n"
        }
        let id = try ManagedBlockID(project: "p", role: "r")
        let block = AuthorizedKeysFile(text: text)
            .replacingBlock(id, with: [AuthorizedKeyEntry(key: try KeyFixtures.publicKey("id_ed25519.pub"))])
        return block.serialized() + Array("  # trailing comment without newline".utf8)
    }

    static let palette: [[UInt8]] = [
        [0x0a], [0x0d, 0x0a], [0x0d], [0], [0x20], [0x09], [UInt8(ascii: "\"")], [UInt8(ascii: "\\")],
        [UInt8(ascii: ",")], [UInt8(ascii: "=")], [UInt8(ascii: "#")], [0xff], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98, 0x80],
        Array("no-pty,".utf8), Array("# keysync:begin project=p role=r\n".utf8), Array("# keysync:end project=p role=r\n".utf8),
    ]

    static func mutate(_ bytes: inout [UInt8], using rng: inout SeededGenerator) {
        let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: bytes.insert(contentsOf: palette.randomElement(using: &rng) ?? [], at: position)
        case 1 where !bytes.isEmpty: bytes.remove(at: position)
        case 2 where !bytes.isEmpty: bytes[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
        case 3 where !bytes.isEmpty: bytes[position] = UInt8.random(in: 0...255, using: &rng)
        default:
            if let newline = bytes[position...].firstIndex(of: 0x0a) { bytes.insert(0x0d, at: newline) }
        }
    }

    @Test(arguments: [1, 2, 3, 4])
    func randomEditsNeverCrashAndRoundTrip(seed: UInt64) throws {
        var rng = SeededGenerator(state: seed)
        let original = try Self.sampleFile()
        let id = try ManagedBlockID(project: "p", role: "r")
        let ed = try KeyFixtures.publicKey("id_ed25519.pub")
        for _ in 0..<150 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...8, using: &rng) { Self.mutate(&bytes, using: &rng) }
            let file = AuthorizedKeysFile(bytes: bytes)
            #expect(file.serialized() == bytes)
            #expect(file.lines.map(\.number) == file.lines.indices.map { $0 + 1 })
            _ = file.lint(now: Date())
            // Edits keep every unmanaged byte: with no block yet, the old file is a prefix of the new one.
            let edited = file.replacingBlock(id, with: [AuthorizedKeyEntry(key: ed)])
            #expect(AuthorizedKeysFile(bytes: edited.serialized()) == edited)
            #expect(edited.managedBlock(id)?.entries.map(\.key) == [ed])
            if file.managedBlocks.isEmpty {
                #expect(edited.serialized().starts(with: bytes))
            }
            #expect(file.removingKeys(withFingerprints: [ed.fingerprint]).keyLines.allSatisfy { $0.entry?.key != ed })
        }
    }
}
