/// What a certificate (`*-cert-v01@openssh.com`) says about itself.
public struct CertificateInfo: Hashable, Sendable {
    /// User (1) or host (2) certificate.
    public enum Kind: UInt32, Hashable, Sendable { case user = 1, host = 2 }
    /// Serial number set by the CA.
    public let serial: UInt64
    /// User or host certificate.
    public let kind: Kind
    /// The key ID the CA recorded (`ssh-keygen -I`).
    public let keyID: String
    /// Empty means "any principal".
    public let principals: [String]
    /// Start of validity, seconds since the epoch.
    public let validAfter: UInt64
    /// End of validity, seconds since the epoch; `UInt64.max` means forever.
    public let validBefore: UInt64
    /// The certified public key, without the certificate.
    public let certifiedKey: PublicKey
    /// The CA key that signed the certificate.
    public let signatureKey: PublicKey
    /// Critical options by name (`force-command`, `source-address`…), each
    /// value the option's inner string (empty for a flag).
    public var criticalOptions: [String: String] = [:]
    /// The algorithm of the CA's signature (`ssh-ed25519`, `rsa-sha2-512`,
    /// `ssh-rsa` for SHA-1, which sshd refuses by default since 8.2).
    public var signatureAlgorithm = ""
}

/// A blob as OpenSSH's `sshkey_from_blob` reads it.
struct DecodedKey: Sendable {
    let type: KeyType
    /// Re-serialised canonically for plain keys (what `ssh-keygen -l` hashes);
    /// the original bytes for certificates, which OpenSSH keeps verbatim.
    let canonicalBlob: [UInt8]
    let bits: Int
    let certificate: CertificateInfo?
}

/// Decoding and validation of SSH public key blobs, following OpenSSH 9.x `sshkey.c`.
enum KeyBlob {
    /// The smallest RSA modulus sshd accepts (`SSH_RSA_MINIMUM_MODULUS_SIZE`).
    static let minimumRSABits = 1024
    private static let maxPrincipals = 256

    static func decode(_ blob: [UInt8], allowCertificate: Bool = true) throws(KeyParseError) -> DecodedKey {
        var reader = SSHWireReader(blob)
        let typeName = String(decoding: try reader.cString(), as: UTF8.self)
        guard let type = KeyType.fromBlobName(typeName) else {
            throw .invalid("unknown key type \(Self.quoted(typeName)) inside the key blob")
        }
        guard allowCertificate || !type.isCertificate else {
            throw .invalid("a certificate cannot sign a certificate")
        }
        if type.isCertificate { _ = try reader.string() }  // nonce
        var writer = SSHWireWriter()
        writer.string(type.plain.name)
        let bits = try readPublicKey(type, from: &reader, into: &writer)
        let plainBlob = writer.bytes
        var certificate: CertificateInfo?
        if type.isCertificate {
            certificate = try readCertificate(from: &reader, certified: PublicKey(type: type.plain.name, blob: plainBlob))
        }
        guard reader.isAtEnd else { throw .invalid("trailing bytes after the key in the blob") }
        return DecodedKey(type: type, canonicalBlob: type.isCertificate ? blob : plainBlob,
                          bits: bits, certificate: certificate)
    }

    /// Reads the public fields of a `type` key, writes them canonically, and returns the key size in bits.
    private static func readPublicKey(_ type: KeyType, from reader: inout SSHWireReader,
                                      into writer: inout SSHWireWriter) throws(KeyParseError) -> Int {
        switch type.family {
        case .rsa:
            let e = try reader.mpint(), n = try reader.mpint()
            let bits = SSHWire.bitCount(n)
            guard bits >= minimumRSABits else {
                throw .invalid("RSA key has \(bits) bits; sshd refuses RSA keys under \(minimumRSABits) bits")
            }
            writer.mpint(e)
            writer.mpint(n)
            return bits
        case .dsa:
            let parts = [try reader.mpint(), try reader.mpint(), try reader.mpint(), try reader.mpint()]
            parts.forEach { writer.mpint($0) }
            return SSHWire.bitCount(parts[0])
        case .ecdsa, .ecdsaSK:
            let curve = type.curve ?? .nistp256
            let curveName = String(decoding: try reader.cString(), as: UTF8.self)
            guard curveName == curve.rawValue else {
                throw .invalid("ECDSA curve \(quoted(curveName)) does not match key type \(type.plain.name)")
            }
            let point = Array(try reader.string())
            guard LibCrypto.isValidPublicPoint(point, on: curve) else {
                throw .invalid("ECDSA public point is not a valid \(curve.rawValue) point")
            }
            writer.string(curveName)
            writer.string(point)
        case .ed25519, .ed25519SK:
            let key = try reader.string()
            guard key.count == 32 else { throw .invalid("Ed25519 public key must be 32 bytes, not \(key.count)") }
            writer.string(key)
        }
        if type.isSecurityKey { writer.string(try reader.cString()) }  // application, e.g. "ssh:"
        return type.fixedBits ?? 0
    }

    /// Reads the certificate fields after the public key (`cert_parse`) and
    /// verifies the CA signature (Ed25519, ECDSA and RSA CAs; DSA and sk CAs are not checked).
    private static func readCertificate(from reader: inout SSHWireReader,
                                        certified: PublicKey) throws(KeyParseError) -> CertificateInfo {
        let serial = try reader.uint64()
        let kindValue = try reader.uint32()
        let keyID = String(decoding: try reader.cString(), as: UTF8.self)
        var principalReader = SSHWireReader(try reader.string())
        let validAfter = try reader.uint64(), validBefore = try reader.uint64()
        var criticalOptions: [String: String] = [:]
        for (index, var section) in [SSHWireReader(try reader.string()), SSHWireReader(try reader.string())].enumerated() {
            while !section.isAtEnd {
                let name = String(decoding: try section.string(), as: UTF8.self)
                let data = Array(try section.string())
                guard index == 0, criticalOptions.count < 64 else { continue }  // extensions: not needed
                var inner = SSHWireReader(data)
                criticalOptions[name] = data.isEmpty ? "" : String(decoding: (try? inner.string()).map(Array.init) ?? [], as: UTF8.self)
            }
        }
        _ = try reader.string()  // reserved
        let caBlob = Array(try reader.string())
        let signed = reader.consumed
        let signature = Array(try reader.string())
        guard !signature.isEmpty else { throw .invalid("certificate has an empty signature") }
        guard let kind = CertificateInfo.Kind(rawValue: kindValue) else {
            throw .invalid("certificate type \(kindValue) is neither user nor host")
        }
        var principals: [String] = []
        while !principalReader.isAtEnd {
            guard principals.count < maxPrincipals else { throw .invalid("certificate lists too many principals") }
            principals.append(String(decoding: try principalReader.cString(), as: UTF8.self))
        }
        let ca: DecodedKey
        do { ca = try decode(caBlob, allowCertificate: false) } catch {
            throw .invalid("certificate signature key is invalid: \(error)")
        }
        guard CertificateSignature.verify(signature, by: ca, over: signed) != .invalid else {
            throw .invalid("certificate signature does not verify with its CA key (\(ca.type.name))")
        }
        var signatureReader = SSHWireReader(signature)
        let algorithm = (try? signatureReader.string()).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return CertificateInfo(serial: serial, kind: kind, keyID: keyID, principals: principals,
                               validAfter: validAfter, validBefore: validBefore, certifiedKey: certified,
                               signatureKey: PublicKey(type: ca.type.name, blob: ca.canonicalBlob),
                               criticalOptions: criticalOptions, signatureAlgorithm: algorithm)
    }

    /// `"text"` with anything but printable ASCII replaced, at most 40 characters.
    static func quoted(_ text: String) -> String {
        let clean = text.unicodeScalars.prefix(40).map { (0x20..<0x7f).contains($0.value) ? Character($0) : "?" }
        return "\"" + String(clean) + (text.unicodeScalars.count > 40 ? "…" : "") + "\""
    }
}

extension PublicKey {
    /// Validates `blob` like sshd and builds the key from its canonical form;
    /// `type` becomes the canonical type name (`ssh-rsa` even for an `RSA` blob).
    public init(blob: [UInt8], comment: String = "") throws(KeyParseError) {
        let decoded = try KeyBlob.decode(blob)
        self.init(type: decoded.type.name, blob: decoded.canonicalBlob, comment: comment)
    }

    private var decoded: DecodedKey? { try? KeyBlob.decode(blob) }

    /// The parsed key type, or nil for a type name OpenSSH does not know.
    public var keyType: KeyType? { KeyType.named(type) }
    /// Key size as `ssh-keygen -l` prints it (RSA modulus bits, DSA `p` bits, curve size, 256 for Ed25519).
    public var bits: Int? { decoded?.bits }
    /// True for `*-cert-v01@openssh.com` keys.
    public var isCertificate: Bool { keyType?.isCertificate ?? false }
    /// True for FIDO `sk-…` keys.
    public var isSecurityKey: Bool { keyType?.isSecurityKey ?? false }
    /// Certificate details, for certificate keys.
    public var certificate: CertificateInfo? { decoded?.certificate }

    /// One line like `ssh-keygen -lf`: `256 SHA256:… comment (ED25519)`.
    public var fingerprintLine: String {
        let label = keyType?.shortName ?? type
        return "\(bits ?? 0) \(fingerprint) \(comment.isEmpty ? "no comment" : comment) (\(label))"
    }
}
