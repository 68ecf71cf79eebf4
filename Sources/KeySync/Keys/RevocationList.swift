import Foundation

/// An OpenSSH key revocation list (KRL, `PROTOCOL.krl`), built in memory and
/// encoded to the bytes sshd reads through `RevokedKeys`.
///
/// A pure value: no clock, no I/O. The same revocations always encode to the
/// same bytes, whatever order they were added in, so the controller can tell
/// whether a host's copy is current by comparing hashes (drift `krl_stale`)
/// and a push that changes nothing writes nothing. For that reason the
/// header's `generated_date` is 0 (a time would change the bytes on every
/// run), and its `krl_version` is derived from the content (the first eight
/// bytes of the SHA-256 of the sections): OpenSSH only prints both
/// (`ssh-keygen -Qlf`), and a version that depends on the content lets an
/// operator see whether two hosts hold the same list.
public struct RevocationList: Hashable, Sendable {
    /// What is revoked among the certificates of one CA.
    public struct CertificateRevocations: Hashable, Sendable {
        /// Revoked serials as disjoint, non-adjacent ranges in ascending order.
        public private(set) var serials: [ClosedRange<UInt64>] = []
        /// Revoked key IDs as bytes: sshd compares them exactly (strcmp), and
        /// Swift's `String` equality would merge two Unicode spellings of one
        /// text, dropping the second's revocation (review s13).
        var keyIDBytes: Set<[UInt8]> = []
        /// Revoked key IDs, in the KRL's (byte) order.
        public var keyIDs: [String] { keyIDBytes.sorted { $0.lexicographicallyPrecedes($1) }.map { String(decoding: $0, as: UTF8.self) } }

        /// Adds `range` (never containing 0, which sshd cannot revoke), merging
        /// it with overlapping and adjacent ranges.
        mutating func insert(_ range: ClosedRange<UInt64>) {
            var low = range.lowerBound, high = range.upperBound
            var kept: [ClosedRange<UInt64>] = []
            for existing in serials {
                // Overlapping or touching (high + 1 == existing.lower, without overflow).
                let touchesBelow = existing.upperBound < low && existing.upperBound + 1 < low
                let touchesAbove = existing.lowerBound > high && existing.lowerBound - 1 > high
                if touchesBelow || touchesAbove {
                    kept.append(existing)
                } else {
                    low = min(low, existing.lowerBound)
                    high = max(high, existing.upperBound)
                }
            }
            kept.append(low...high)
            serials = kept.sorted { $0.lowerBound < $1.lowerBound }
        }
    }

    /// Errors from building a list.
    public enum BuildError: Error, Hashable, Sendable, CustomStringConvertible {
        /// Serial 0 marks a certificate without a serial; sshd refuses a KRL that revokes it.
        case zeroSerial
        /// A hash that is not 32 bytes.
        case badHashLength(Int)
        /// A key ID holding a NUL byte (KRL key IDs are C strings).
        case keyIDWithNUL

        public var description: String {
            switch self {
            case .zeroSerial: return "serial 0 cannot be revoked (OpenSSH ignores it)"
            case .badHashLength(let count): return "a SHA256 key hash has 32 bytes, not \(count)"
            case .keyIDWithNUL: return "a certificate key ID must not hold a NUL byte"
            }
        }
    }

    /// Certificate revocations by the CA's public key blob (wire format).
    public private(set) var certificates: [[UInt8]: CertificateRevocations] = [:]
    /// SHA-256 hashes of revoked plain key blobs (`KRL_SECTION_FINGERPRINT_SHA256`).
    public private(set) var keyHashes: Set<[UInt8]> = []
    /// Revoked plain key blobs (`KRL_SECTION_EXPLICIT_KEY`, understood by every
    /// OpenSSH that reads KRLs; SHA256 sections need OpenSSH 7.9 or later).
    public private(set) var explicitKeys: Set<[UInt8]> = []
    /// The header comment (`ssh-keygen -Qlf` shows it).
    public var comment: String

    /// An empty list.
    public init(comment: String = "keysync") {
        self.comment = comment
    }

    /// Revokes the plain key whose blob hashes to `sha256` (32 bytes), and
    /// with it every certificate of that key.
    public mutating func revokeKey(sha256 hash: [UInt8]) throws(BuildError) {
        guard hash.count == 32 else { throw .badHashLength(hash.count) }
        keyHashes.insert(hash)
    }

    /// Takes the plain key with `fingerprint` (`SHA256:…`) out of the list
    /// again; whether it was in it. The lockout guard spares keysync's own
    /// login key this way (``RootFilesPlan/sparingLoginKey(_:fingerprint:)``).
    public mutating func spare(fingerprint: String) -> Bool {
        guard let hash = Self.hash(ofFingerprint: fingerprint) else { return false }
        return keyHashes.remove(hash) != nil
    }

    /// The SHA-256 a `SHA256:` + 43 unpadded base64 fingerprint names.
    static func hash(ofFingerprint fingerprint: String) -> [UInt8]? {
        guard fingerprint.hasPrefix("SHA256:"), let hash = Data(base64Encoded: String(fingerprint.dropFirst(7)) + "=") else { return nil }
        return [UInt8](hash)
    }

    /// Revokes a plain key by its blob (use the plain blob, not a certificate's).
    public mutating func revokeKey(blob: [UInt8]) { explicitKeys.insert(blob) }

    /// Revokes the certificates with serials in `serials` issued by the CA with blob `ca`.
    public mutating func revokeCertificates(ca: [UInt8], serials: ClosedRange<UInt64>) throws(BuildError) {
        guard serials.lowerBound > 0 else { throw .zeroSerial }
        certificates[ca, default: CertificateRevocations()].insert(serials)
    }

    /// Revokes the certificates with key ID `keyID` issued by the CA with blob `ca`.
    public mutating func revokeCertificates(ca: [UInt8], keyID: String) throws(BuildError) {
        guard !keyID.utf8.contains(0) else { throw .keyIDWithNUL }
        certificates[ca, default: CertificateRevocations()].keyIDBytes.insert(Array(keyID.utf8))
    }

    // MARK: Encoding

    static let magic: [UInt8] = Array("SSHKRL\n\0".utf8)
    static let formatVersion: UInt32 = 1

    enum Section: UInt8 {
        case certificates = 1, explicitKey = 2, fingerprintSHA256 = 5
    }

    enum CertificateSection: UInt8 {
        case serialList = 0x20, serialRange = 0x21, keyID = 0x23
    }

    /// A run of this many serials or more is cheaper as a range subsection
    /// (type, length, two uint64: 21 bytes) than as list items (8 bytes each).
    static let shortestRange: UInt64 = 3

    /// The KRL bytes, canonical: CA sections ordered by CA blob, serials and
    /// hashes ascending, key IDs and blobs in byte order.
    public func encoded() -> [UInt8] {
        var sections = SSHWireWriter()
        for ca in certificates.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            sections.raw([Section.certificates.rawValue])
            sections.string(Self.certificateSection(ca: ca, certificates[ca]!))
        }
        if !explicitKeys.isEmpty {
            var body = SSHWireWriter()
            for blob in explicitKeys.sorted(by: { $0.lexicographicallyPrecedes($1) }) { body.string(blob) }
            sections.raw([Section.explicitKey.rawValue])
            sections.string(body.bytes)
        }
        if !keyHashes.isEmpty {
            // PROTOCOL.krl: hashes in numeric order as big-endian integers,
            // which for equal lengths is byte order.
            var body = SSHWireWriter()
            for hash in keyHashes.sorted(by: { $0.lexicographicallyPrecedes($1) }) { body.string(hash) }
            sections.raw([Section.fingerprintSHA256.rawValue])
            sections.string(body.bytes)
        }
        var out = SSHWireWriter()
        out.raw(Self.magic)
        out.uint32(Self.formatVersion)
        out.uint64(Self.version(of: sections.bytes))
        out.uint64(0)             // generated_date: see the type's documentation
        out.uint64(0)             // flags: none defined
        out.string([UInt8]())     // reserved
        out.string(comment)
        out.raw(sections.bytes)
        return out.bytes
    }

    /// `krl_version`: the first eight bytes of SHA-256 of the sections, big-endian.
    static func version(of sections: [UInt8]) -> UInt64 {
        SHA256Digest.hash(sections).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    private static func certificateSection(ca: [UInt8], _ revoked: CertificateRevocations) -> [UInt8] {
        var body = SSHWireWriter()
        body.string(ca)
        body.string([UInt8]())  // reserved
        var list = SSHWireWriter()
        var ranges: [ClosedRange<UInt64>] = []
        for range in revoked.serials {
            if range.upperBound - range.lowerBound + 1 >= shortestRange {
                ranges.append(range)
            } else {
                for serial in range { list.uint64(serial) }
            }
        }
        if !list.bytes.isEmpty {
            body.raw([CertificateSection.serialList.rawValue])
            body.string(list.bytes)
        }
        for range in ranges {
            var item = SSHWireWriter()
            item.uint64(range.lowerBound)
            item.uint64(range.upperBound)
            body.raw([CertificateSection.serialRange.rawValue])
            body.string(item.bytes)
        }
        if !revoked.keyIDBytes.isEmpty {
            var ids = SSHWireWriter()
            for id in revoked.keyIDBytes.sorted(by: { $0.lexicographicallyPrecedes($1) }) { ids.string(id) }
            body.raw([CertificateSection.keyID.rawValue])
            body.string(ids.bytes)
        }
        return body.bytes
    }
}

extension RevocationList {
    /// The list for an inventory: every `revoked:` plain key by its SHA256
    /// hash (which also revokes certificates of that key), every revoked
    /// certificate by serial or key ID under its CA. The same list goes to
    /// every managed host: a revocation holds everywhere.
    public init(inventory: Inventory) {
        self.init()
        for fingerprint in inventory.revokedFingerprints {
            // Validated as `SHA256:` + 43 unpadded base64 characters.
            if let hash = Self.hash(ofFingerprint: fingerprint) { try? revokeKey(sha256: hash) }
        }
        for entry in inventory.revokedCertificates {
            guard let ca = inventory.certificateAuthority(named: entry.authority)?.publicKey.blob else { continue }
            switch entry.match {
            case .serials(let range): try? revokeCertificates(ca: ca, serials: range)
            case .keyID(let keyID): try? revokeCertificates(ca: ca, keyID: keyID)
            }
        }
    }
}
