import Foundation
import Testing
@testable import KeySync

@Suite("Keys revocation list: OpenSSH KRL encoding, checked with ssh-keygen -Q")
struct KeysRevocationListTests {
    static let caA: [UInt8] = Array("ca-a".utf8)
    static let caB: [UInt8] = Array("ca-b".utf8)

    static func u64(_ value: UInt64) -> [UInt8] { (0..<8).reversed().map { UInt8(value >> (8 * UInt64($0)) & 0xff) } }
    static func u32(_ value: Int) -> [UInt8] { u64(UInt64(value)).suffix(4).map { $0 } }
    static func string(_ bytes: [UInt8]) -> [UInt8] { u32(bytes.count) + bytes }

    /// The exact bytes, assembled by hand from PROTOCOL.krl.
    @Test func theEncodingFollowsProtocolKRL() throws {
        var list = RevocationList(comment: "test")
        // Inserted out of order, overlapping and adjacent: 5,6 stay a list;
        // 10...20 and 21 merge to a range; 100...102 is a range of three.
        try list.revokeCertificates(ca: Self.caA, serials: 21...21)
        try list.revokeCertificates(ca: Self.caA, serials: 6...6)
        try list.revokeCertificates(ca: Self.caA, serials: 10...20)
        try list.revokeCertificates(ca: Self.caA, serials: 5...5)
        try list.revokeCertificates(ca: Self.caA, serials: 15...16)
        try list.revokeCertificates(ca: Self.caA, serials: 100...102)
        try list.revokeCertificates(ca: Self.caA, keyID: "zed")
        try list.revokeCertificates(ca: Self.caA, keyID: "alice@corp")
        try list.revokeCertificates(ca: Self.caB, keyID: "x")
        let high = [UInt8](repeating: 0xff, count: 32), low = [UInt8](repeating: 0x01, count: 32)
        try list.revokeKey(sha256: high)
        try list.revokeKey(sha256: low)
        list.revokeKey(blob: [9, 9])

        #expect(list.certificates[Self.caA]?.serials == [5...6, 10...21, 100...102])

        let certsA = Self.string(Self.caA) + Self.string([])
            + [0x20] + Self.string(Self.u64(5) + Self.u64(6))
            + [0x21] + Self.string(Self.u64(10) + Self.u64(21))
            + [0x21] + Self.string(Self.u64(100) + Self.u64(102))
            + [0x23] + Self.string(Self.string(Array("alice@corp".utf8)) + Self.string(Array("zed".utf8)))
        let certsB = Self.string(Self.caB) + Self.string([]) + [0x23] + Self.string(Self.string([0x78]))
        let sections = [1] + Self.string(certsA) + [1] + Self.string(certsB)
            + [2] + Self.string(Self.string([9, 9]))
            + [5] + Self.string(Self.string(low) + Self.string(high))
        let version = SHA256Digest.hash(sections).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let header = Array("SSHKRL\n\0".utf8) + Self.u32(1) + Self.u64(version) + Self.u64(0) + Self.u64(0)
            + Self.string([]) + Self.string(Array("test".utf8))
        #expect(list.encoded() == header + sections)
    }

    @Test func anEmptyListIsAHeaderOnly() {
        let bytes = RevocationList().encoded()
        #expect(bytes.count == 8 + 4 + 8 + 8 + 8 + 4 + 4 + 7)
        #expect(Array(bytes.prefix(8)) == Array("SSHKRL\n\0".utf8))
    }

    @Test func theSameRevocationsInAnotherOrderGiveTheSameBytes() throws {
        var one = RevocationList(), two = RevocationList()
        try one.revokeCertificates(ca: Self.caA, serials: 1...1)
        try one.revokeCertificates(ca: Self.caB, serials: 7...9)
        try one.revokeCertificates(ca: Self.caA, keyID: "k")
        try two.revokeCertificates(ca: Self.caA, keyID: "k")
        try two.revokeCertificates(ca: Self.caB, serials: 8...9)
        try two.revokeCertificates(ca: Self.caB, serials: 7...7)
        try two.revokeCertificates(ca: Self.caA, serials: 1...1)
        #expect(one.encoded() == two.encoded())
        try two.revokeCertificates(ca: Self.caA, serials: 2...2)
        #expect(one.encoded() != two.encoded())
        // The version follows the content.
        #expect(Array(one.encoded()[12..<20]) != Array(two.encoded()[12..<20]))
    }

    @Test func serialsAtTheTopOfTheRangeDoNotOverflow() throws {
        var list = RevocationList()
        try list.revokeCertificates(ca: Self.caA, serials: UInt64.max...UInt64.max)
        try list.revokeCertificates(ca: Self.caA, serials: (UInt64.max - 1)...(UInt64.max - 1))
        try list.revokeCertificates(ca: Self.caA, serials: 1...1)
        try list.revokeCertificates(ca: Self.caA, serials: 2...2)
        #expect(list.certificates[Self.caA]?.serials == [1...2, (UInt64.max - 1)...UInt64.max])
    }

    @Test func whatOpenSSHCannotReadIsRefused() {
        var list = RevocationList()
        #expect(throws: RevocationList.BuildError.zeroSerial) { try list.revokeCertificates(ca: Self.caA, serials: 0...3) }
        #expect(throws: RevocationList.BuildError.badHashLength(20)) { try list.revokeKey(sha256: [UInt8](repeating: 0, count: 20)) }
        #expect(throws: RevocationList.BuildError.keyIDWithNUL) { try list.revokeCertificates(ca: Self.caA, keyID: "a\u{0}b") }
        #expect(list == RevocationList())
    }

    // MARK: Against ssh-keygen

    /// A folder of keys and certificates made by ssh-keygen for one test.
    struct KeyLab {
        let directory: String

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("krl-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }

        @discardableResult
        func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }

        /// A new ed25519 key `name` (and `name.pub`).
        func key(_ name: String) throws -> PublicKey {
            let result = try run(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", name])
            try #require(result.status == 0, "\(result.output)")
            return try publicKey(name + ".pub")
        }

        /// `NAME-cert.pub`: `NAME.pub` signed by `ca` with a key ID, principal and serial.
        func certify(_ name: String, ca: String, keyID: String, serial: UInt64) throws {
            let result = try run(["-q", "-s", ca, "-I", keyID, "-n", "deploy", "-z", String(serial), "-V", "-5m:+1h", name + ".pub"])
            try #require(result.status == 0, "\(result.output)")
        }

        func publicKey(_ file: String) throws -> PublicKey {
            try KeyImporter.importKey(from: Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file))), path: file)
        }

        /// What `ssh-keygen -Q -f krl FILE` says: true for REVOKED, false for ok.
        func isRevoked(_ file: String, by list: RevocationList, sourceLocation: SourceLocation = #_sourceLocation) throws -> Bool {
            try Data(list.encoded()).write(to: URL(fileURLWithPath: directory + "/list.krl"))
            let result = try run(["-Q", "-f", "list.krl", file])
            let line = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.hasSuffix(": REVOKED") && result.status == 1 { return true }
            if line.hasSuffix(": ok") && result.status == 0 { return false }
            Issue.record("ssh-keygen -Q \(file): status \(result.status), \(line)", sourceLocation: sourceLocation)
            return false
        }
    }

    @Test func sshKeygenReportsExactlyTheRevokedCertificatesAndKeys() throws {
        let lab = try KeyLab()
        defer { lab.remove() }
        let ca = try lab.key("ca")
        _ = try lab.key("other-ca")
        for name in ["serial42", "serial43", "ranged", "byid", "fine", "plain", "plainfine", "other"] { _ = try lab.key(name) }
        try lab.certify("serial42", ca: "ca", keyID: "carol@corp", serial: 42)
        try lab.certify("serial43", ca: "ca", keyID: "dan@corp", serial: 43)
        try lab.certify("ranged", ca: "ca", keyID: "erin@corp", serial: 150)
        try lab.certify("byid", ca: "ca", keyID: "alice@corp", serial: 7)
        try lab.certify("fine", ca: "ca", keyID: "frank@corp", serial: 200)
        try lab.certify("plain", ca: "ca", keyID: "gina@corp", serial: 300)
        try lab.certify("other", ca: "other-ca", keyID: "alice@corp", serial: 42)

        var list = RevocationList()
        try list.revokeCertificates(ca: ca.blob, serials: 42...42)
        try list.revokeCertificates(ca: ca.blob, serials: 100...199)
        try list.revokeCertificates(ca: ca.blob, keyID: "alice@corp")
        let plain = try lab.publicKey("plain.pub")
        try list.revokeKey(sha256: SHA256Digest.hash(plain.blob))

        #expect(try lab.isRevoked("serial42-cert.pub", by: list))
        #expect(try !lab.isRevoked("serial43-cert.pub", by: list))
        #expect(try lab.isRevoked("ranged-cert.pub", by: list))
        #expect(try lab.isRevoked("byid-cert.pub", by: list))
        #expect(try !lab.isRevoked("fine-cert.pub", by: list))
        // A plain key revoked by hash, and a certificate of that key.
        #expect(try lab.isRevoked("plain.pub", by: list))
        #expect(try lab.isRevoked("plain-cert.pub", by: list))
        #expect(try !lab.isRevoked("plainfine.pub", by: list))
        // Same serial and key ID from another CA: not revoked.
        #expect(try !lab.isRevoked("other-cert.pub", by: list))

        // The explicit-key section works too.
        var explicit = RevocationList()
        explicit.revokeKey(blob: try lab.publicKey("plainfine.pub").blob)
        #expect(try lab.isRevoked("plainfine.pub", by: explicit))
        #expect(try !lab.isRevoked("plain.pub", by: explicit))
        // Revoking a CA key revokes every certificate it signed.
        var wholeCA = RevocationList()
        try wholeCA.revokeKey(sha256: SHA256Digest.hash(ca.blob))
        #expect(try lab.isRevoked("fine-cert.pub", by: wholeCA))
        #expect(try !lab.isRevoked("other-cert.pub", by: wholeCA))
    }

    @Test func sshKeygenListsTheDecodedContent() throws {
        let lab = try KeyLab()
        defer { lab.remove() }
        let ca = try lab.key("ca")
        var list = RevocationList()
        try list.revokeCertificates(ca: ca.blob, serials: 5...6)
        try list.revokeCertificates(ca: ca.blob, serials: 10...12)
        try list.revokeCertificates(ca: ca.blob, keyID: "alice@corp")
        try Data(list.encoded()).write(to: URL(fileURLWithPath: lab.directory + "/list.krl"))
        let result = try lab.run(["-Qlf", "list.krl"])
        #expect(result.status == 0)
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines.contains("# KRL version \(RevocationList.version(of: Array(list.encoded().dropFirst(8 + 4 + 8 * 3 + 4 + 4 + 7))))"))
        #expect(lines.contains("# Comment: keysync"))
        #expect(lines.contains("# CA key ssh-ed25519 \(ca.fingerprint)"))
        // ssh-keygen prints what it loaded merged: the list item pair 5, 6 as a range.
        #expect(lines.contains("serial: 5-6"))
        #expect(lines.contains("serial: 10-12"))
        #expect(lines.contains("id: alice@corp"))
    }

    @Test func anInventoryCompilesToOneListWhateverTheOrderOfRevoked() throws {
        let ca = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK7SM2KtoSDsPPRHKV+Iixz0ebybyttPud7ae8PCgxWT ca"
        func inventory(_ revoked: [String]) throws -> Inventory {
            try InventoryFixtures.load("""
                defaults: {user: ops}
                certificate_authorities:
                  corp-ca: { public: "\(ca)" }
                revoked:
                \(revoked.map { "  - " + $0 }.joined(separator: "\n"))
                hosts:
                  web-1: {address: 127.77.0.1}
                """)
        }
        let entries = ["{ ca: corp-ca, serial: 42 }", "{ ca: corp-ca, key_id: alice@corp }", InventoryFixtures.bobFingerprint, "{ ca: corp-ca, serial: 40-41 }"]
        let one = RevocationList(inventory: try inventory(entries))
        let two = RevocationList(inventory: try inventory(entries.reversed()))
        #expect(one.encoded() == two.encoded())
        let caBlob = try KeyImporter.importKey(from: Array(ca.utf8), path: "ca").blob
        #expect(one.certificates[caBlob]?.serials == [40...42])
        #expect(one.certificates[caBlob]?.keyIDs == ["alice@corp"])
        let bobHash = try #require(Data(base64Encoded: String(InventoryFixtures.bobFingerprint.dropFirst(7)) + "="))
        #expect(one.keyHashes == [[UInt8](bobHash)])
    }
}
