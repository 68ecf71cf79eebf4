import COpenSSL
import Foundation

/// A private key held by libcrypto, parsed once, that signs SSH user
/// authentication requests for every connection of a run.
///
/// Why keysync signs itself instead of handing libssh2 the key file:
/// - RSA: libssh2 1.10 signs only with SHA-1 (`ssh-rsa`), which OpenSSH 8.8
///   and later refuse; keysync signs rsa-sha2-256 and hands libssh2 a blob
///   named `rsa-sha2-256` (see `shared/SSH-NOTES.md`).
/// - ed25519 and ECDSA: `libssh2_userauth_publickey_frommemory` parses the
///   key again for every connection through OpenSSL 3's decoders, which
///   take global locks; at 64 connections in flight that was a third of
///   keysync's CPU (issue 11). One parsed key serves every connection.
final class KeySigner: @unchecked Sendable {
    enum Algorithm: Equatable {
        case rsa
        case ed25519
        /// ECDSA on `curve` (nistp256/384/521), hashed as the curve's SSH name says.
        case ecdsa(curve: String)

        /// The hash SSH pairs with the algorithm (RSA: rsa-sha2-256), nil for ed25519 (no prehash).
        var digest: OpaquePointer? {
            switch self {
            case .rsa: return EVP_sha256()
            case .ed25519: return nil
            case .ecdsa(let curve): return curve == "nistp521" ? EVP_sha512() : curve == "nistp384" ? EVP_sha384() : EVP_sha256()
            }
        }
    }

    // EVP_PKEY is immutable after creation; OpenSSL allows concurrent signing with it.
    private let key: OpaquePointer
    let algorithm: Algorithm
    /// The public key blob (`ssh-rsa` e n, `ssh-ed25519` A, `ecdsa-sha2-*` curve Q).
    let publicBlob: [UInt8]

    private init(key: OpaquePointer, algorithm: Algorithm, publicBlob: [UInt8]) {
        self.key = key
        self.algorithm = algorithm
        self.publicBlob = publicBlob
    }

    /// The algorithm name user authentication announces (`rsa-sha2-256` for RSA keys).
    var authenticationName: String {
        algorithm == .rsa ? "rsa-sha2-256" : publicBlob.sshBlobKeyType ?? "?"
    }

    /// The blob user authentication sends: RSA's renamed to `rsa-sha2-256`.
    var authenticationBlob: [UInt8] {
        algorithm == .rsa ? SSHConnection.renamed(publicBlob, to: "rsa-sha2-256") : publicBlob
    }

    deinit { EVP_PKEY_free(key) }

    /// Builds a key from the components of an OpenSSH `openssh-key-v1` RSA private section.
    static func fromComponents(n: [UInt8], e: [UInt8], d: [UInt8], iqmp: [UInt8], p: [UInt8], q: [UInt8]) -> KeySigner? {
        let ctx = BN_CTX_new()
        defer { BN_CTX_free(ctx) }
        var owned: [OpaquePointer?] = []
        defer { owned.forEach { BN_clear_free($0) } }
        func bn(_ bytes: [UInt8]) -> OpaquePointer? {
            let value = BN_bin2bn(bytes, Int32(bytes.count), nil)
            owned.append(value)
            return value
        }
        let (bnN, bnE, bnD, bnP, bnQ, bnIQMP) = (bn(n), bn(e), bn(d), bn(p), bn(q), bn(iqmp))
        let pMinus1 = bn([]), qMinus1 = bn([]), dmp1 = bn([]), dmq1 = bn([])
        guard BN_sub(pMinus1, bnP, BN_value_one()) == 1, BN_sub(qMinus1, bnQ, BN_value_one()) == 1,
              BN_div(nil, dmp1, bnD, pMinus1, ctx) == 1, BN_div(nil, dmq1, bnD, qMinus1, ctx) == 1
        else { return nil }
        guard let builder = OSSL_PARAM_BLD_new() else { return nil }
        defer { OSSL_PARAM_BLD_free(builder) }
        let fields: [(String, OpaquePointer?)] = [
            ("n", bnN), ("e", bnE), ("d", bnD), ("rsa-factor1", bnP), ("rsa-factor2", bnQ),
            ("rsa-exponent1", dmp1), ("rsa-exponent2", dmq1), ("rsa-coefficient1", bnIQMP),
        ]
        // The builder keeps the name pointers until `to_param`: they must outlive
        // the call, which Swift's temporary String bridging does not guarantee.
        let names = fields.map { strdup($0.0) }
        defer { names.forEach { free($0) } }
        for (name, field) in zip(names, fields) where OSSL_PARAM_BLD_push_BN(builder, name, field.1) != 1 { return nil }
        guard let params = OSSL_PARAM_BLD_to_param(builder) else { return nil }
        defer { OSSL_PARAM_free(params) }
        guard let pkey = keyPair("RSA", from: params) else { return nil }
        return KeySigner(key: pkey, algorithm: .rsa, publicBlob: Self.blob(e: e, n: n))
    }

    /// A key pair of OpenSSL key type `type` (`RSA`, `EC`) from `params`;
    /// nil when OpenSSL refuses them.
    private static func keyPair(_ type: String, from params: UnsafeMutablePointer<OSSL_PARAM>) -> OpaquePointer? {
        guard let pctx = EVP_PKEY_CTX_new_from_name(nil, type, nil) else { return nil }
        defer { EVP_PKEY_CTX_free(pctx) }
        var pkey: OpaquePointer?
        guard EVP_PKEY_fromdata_init(pctx) == 1, EVP_PKEY_fromdata(pctx, &pkey, KEYSYNC_EVP_PKEY_KEYPAIR, params) == 1 else { return nil }
        return pkey
    }

    /// Builds an ed25519 key from an `openssh-key-v1` private section's 32-byte seed.
    static func ed25519(seed: [UInt8], publicKey: [UInt8]) -> KeySigner? {
        guard seed.count == 32, publicKey.count == 32,
              let pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, seed, 32) else { return nil }
        let signer = KeySigner(key: pkey, algorithm: .ed25519, publicBlob: ed25519Blob(publicKey))
        // A seed that does not give the stated public key is a corrupt file.
        return signer.rawPublicKey() == publicKey ? signer : nil
    }

    /// Builds an ECDSA key from an `openssh-key-v1` private section (curve, Q, d).
    static func ecdsa(curve: String, point: [UInt8], scalar: [UInt8]) -> KeySigner? {
        let groups = ["nistp256": "prime256v1", "nistp384": "secp384r1", "nistp521": "secp521r1"]
        guard let group = groups[curve], let builder = OSSL_PARAM_BLD_new() else { return nil }
        defer { OSSL_PARAM_BLD_free(builder) }
        let d = BN_bin2bn(scalar, Int32(scalar.count), nil)
        defer { BN_clear_free(d) }
        let groupKey = strdup("group"), pubKey = strdup("pub"), privKey = strdup("priv"), groupName = strdup(group)
        defer { free(groupKey); free(pubKey); free(privKey); free(groupName) }
        let pushed = point.withUnsafeBytes { raw in
            OSSL_PARAM_BLD_push_utf8_string(builder, groupKey, groupName, 0) == 1
                && OSSL_PARAM_BLD_push_octet_string(builder, pubKey, raw.baseAddress, raw.count) == 1
                && OSSL_PARAM_BLD_push_BN(builder, privKey, d) == 1
        }
        // The builder copies octet strings only in to_param: call it while `point` is alive.
        guard pushed, let params = point.withUnsafeBytes({ _ in OSSL_PARAM_BLD_to_param(builder) }) else { return nil }
        defer { OSSL_PARAM_free(params) }
        guard let pkey = keyPair("EC", from: params) else { return nil }
        return KeySigner(key: pkey, algorithm: .ecdsa(curve: curve), publicBlob: ecdsaBlob(curve: curve, point: point))
    }

    /// Reads a PEM private key (PKCS#1, SEC1 or PKCS#8, optionally encrypted):
    /// RSA, ed25519 or ECDSA on the NIST curves SSH names. Returns nil for
    /// other key types; throws on a bad passphrase or bad file.
    static func fromPEM(_ pem: [UInt8], passphrase: String?, path: String) throws -> KeySigner? {
        guard let bio = pem.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else { return nil }
        defer { BIO_free(bio) }
        var pass = Array((passphrase ?? "").utf8CString)
        let pkey = pass.withUnsafeMutableBytes { buffer in
            PEM_read_bio_PrivateKey(bio, nil, nil, buffer.baseAddress)
        }
        ERR_clear_error()
        guard let pkey else {
            throw SSHError.identity(path: path, reason: passphrase == nil
                ? "cannot read the private key (encrypted? set KEYSYNC_PASSPHRASE or run on a terminal)"
                : "cannot read the private key: wrong passphrase or unsupported format")
        }
        switch EVP_PKEY_get_base_id(pkey) {
        case EVP_PKEY_RSA:
            var bnN: OpaquePointer?, bnE: OpaquePointer?
            defer { BN_free(bnN); BN_free(bnE) }
            guard EVP_PKEY_get_bn_param(pkey, "n", &bnN) == 1, EVP_PKEY_get_bn_param(pkey, "e", &bnE) == 1 else {
                EVP_PKEY_free(pkey)
                throw SSHError.identity(path: path, reason: "cannot read the RSA public components")
            }
            return KeySigner(key: pkey, algorithm: .rsa, publicBlob: blob(e: bytes(of: bnE), n: bytes(of: bnN)))
        case EVP_PKEY_ED25519:
            var length = 32
            var raw = [UInt8](repeating: 0, count: 32)
            guard EVP_PKEY_get_raw_public_key(pkey, &raw, &length) == 1, length == 32 else { EVP_PKEY_free(pkey); return nil }
            return KeySigner(key: pkey, algorithm: .ed25519, publicBlob: ed25519Blob(raw))
        case EVP_PKEY_EC:
            let curves = ["prime256v1": "nistp256", "secp384r1": "nistp384", "secp521r1": "nistp521"]
            var name = [CChar](repeating: 0, count: 64)
            var nameLength = 0
            var point = [UInt8](repeating: 0, count: 256)
            var pointLength = 0
            guard EVP_PKEY_get_utf8_string_param(pkey, "group", &name, name.count, &nameLength) == 1,
                  let curve = curves[String(cString: name)],
                  EVP_PKEY_get_octet_string_param(pkey, "pub", &point, point.count, &pointLength) == 1 else {
                EVP_PKEY_free(pkey)
                return nil
            }
            return KeySigner(key: pkey, algorithm: .ecdsa(curve: curve),
                             publicBlob: ecdsaBlob(curve: curve, point: Array(point.prefix(pointLength))))
        default:
            EVP_PKEY_free(pkey)
            return nil
        }
    }

    /// The signature user authentication carries inside its `string
    /// algorithm, string signature` wrapper (libssh2 adds the wrapper):
    /// RSASSA-PKCS1-v1_5 with SHA-256, the 64 ed25519 bytes, or ECDSA's
    /// `mpint r, mpint s`.
    func sign(_ data: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let mdctx = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(mdctx) }
        guard EVP_DigestSignInit(mdctx, nil, algorithm.digest, nil, key) == 1 else { return nil }
        var length = 0
        guard EVP_DigestSign(mdctx, nil, &length, data.baseAddress, data.count) == 1 else { return nil }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(mdctx, &signature, &length, data.baseAddress, data.count) == 1 else { return nil }
        signature.removeSubrange(length...)
        guard case .ecdsa = algorithm else { return signature }
        return Self.sshECDSASignature(der: signature)
    }

    /// DER `SEQUENCE { INTEGER r, INTEGER s }` → SSH `mpint r, mpint s`.
    static func sshECDSASignature(der: [UInt8]) -> [UInt8]? {
        var reader = DERReader(der)
        guard reader.expect(tag: 0x30), let body = reader.value(), reader.atEnd else { return nil }
        var sequence = DERReader(body)
        guard sequence.expect(tag: 0x02), let r = sequence.value(),
              sequence.expect(tag: 0x02), let s = sequence.value(), sequence.atEnd else { return nil }
        var writer = SSHWireWriter()
        writer.mpint(r)
        writer.mpint(s)
        return writer.bytes
    }

    /// The raw 32-byte public key of an ed25519 key.
    private func rawPublicKey() -> [UInt8]? {
        var length = 32
        var raw = [UInt8](repeating: 0, count: 32)
        guard EVP_PKEY_get_raw_public_key(key, &raw, &length) == 1 else { return nil }
        return Array(raw.prefix(length))
    }

    /// `string "ssh-ed25519", string A`.
    private static func ed25519Blob(_ publicKey: [UInt8]) -> [UInt8] {
        var writer = SSHWireWriter()
        writer.string("ssh-ed25519")
        writer.string(publicKey)
        return writer.bytes
    }

    /// `string "ecdsa-sha2-CURVE", string CURVE, string Q`.
    private static func ecdsaBlob(curve: String, point: [UInt8]) -> [UInt8] {
        var writer = SSHWireWriter()
        writer.string("ecdsa-sha2-" + curve)
        writer.string(curve)
        writer.string(point)
        return writer.bytes
    }

    private static func blob(e: [UInt8], n: [UInt8]) -> [UInt8] {
        var writer = SSHWireWriter()
        writer.string("ssh-rsa")
        writer.mpint(e)
        writer.mpint(n)
        return writer.bytes
    }

    private static func bytes(of bn: OpaquePointer?) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int((BN_num_bits(bn) + 7) / 8))
        _ = BN_bn2bin(bn, &out)
        return out
    }
}

/// Just enough DER to read an ECDSA signature: short and long lengths, no indefinite form.
private struct DERReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { offset == bytes.count }

    mutating func expect(tag: UInt8) -> Bool {
        guard offset < bytes.count, bytes[offset] == tag else { return false }
        offset += 1
        return true
    }

    /// The contents after a length field.
    mutating func value() -> [UInt8]? {
        guard offset < bytes.count else { return nil }
        var length = Int(bytes[offset])
        offset += 1
        if length & 0x80 != 0 {
            let count = length & 0x7f
            guard count >= 1, count <= 2, offset + count <= bytes.count else { return nil }
            length = bytes[offset..<offset + count].reduce(0) { $0 << 8 | Int($1) }
            offset += count
        }
        guard offset + length <= bytes.count else { return nil }
        defer { offset += length }
        return Array(bytes[offset..<offset + length])
    }
}
