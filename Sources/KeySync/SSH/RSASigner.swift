import COpenSSL
import Foundation

/// An RSA private key held by libcrypto that signs with rsa-sha2-256 or
/// rsa-sha2-512.
///
/// libssh2 1.10 signs RSA user authentication only with SHA-1 (`ssh-rsa`),
/// which OpenSSH 8.8 and later refuse; keysync therefore signs RSA itself and
/// hands libssh2 a blob named `rsa-sha2-256` (see `shared/SSH-NOTES.md`).
final class RSASigner: @unchecked Sendable {
    // EVP_PKEY is immutable after creation; OpenSSL allows concurrent signing with it.
    private let key: OpaquePointer
    /// The `ssh-rsa` public key blob (e, n).
    let publicBlob: [UInt8]

    private init(key: OpaquePointer, publicBlob: [UInt8]) {
        self.key = key
        self.publicBlob = publicBlob
    }

    deinit { EVP_PKEY_free(key) }

    /// Builds a key from the components of an OpenSSH `openssh-key-v1` RSA private section.
    static func fromComponents(n: [UInt8], e: [UInt8], d: [UInt8], iqmp: [UInt8], p: [UInt8], q: [UInt8]) -> RSASigner? {
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
        guard let pctx = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else { return nil }
        defer { EVP_PKEY_CTX_free(pctx) }
        var pkey: OpaquePointer?
        guard EVP_PKEY_fromdata_init(pctx) == 1,
              EVP_PKEY_fromdata(pctx, &pkey, KEYSYNC_EVP_PKEY_KEYPAIR, params) == 1, let pkey else { return nil }
        return RSASigner(key: pkey, publicBlob: Self.blob(e: e, n: n))
    }

    /// Reads a PEM private key (PKCS#1 or PKCS#8, optionally encrypted) if it is RSA.
    /// Returns nil for other key types; throws on a bad passphrase or bad file.
    static func fromPEM(_ pem: [UInt8], passphrase: String?, path: String) throws -> RSASigner? {
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
        guard EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA else {
            EVP_PKEY_free(pkey)
            return nil
        }
        var bnN: OpaquePointer?, bnE: OpaquePointer?
        defer { BN_free(bnN); BN_free(bnE) }
        guard EVP_PKEY_get_bn_param(pkey, "n", &bnN) == 1, EVP_PKEY_get_bn_param(pkey, "e", &bnE) == 1 else {
            EVP_PKEY_free(pkey)
            throw SSHError.identity(path: path, reason: "cannot read the RSA public components")
        }
        return RSASigner(key: pkey, publicBlob: blob(e: bytes(of: bnE), n: bytes(of: bnN)))
    }

    /// A raw RSASSA-PKCS1-v1_5 signature of `data` with SHA-256 or SHA-512.
    func sign(_ data: UnsafeRawBufferPointer, sha512: Bool) -> [UInt8]? {
        guard let mdctx = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(mdctx) }
        guard EVP_DigestSignInit(mdctx, nil, sha512 ? EVP_sha512() : EVP_sha256(), nil, key) == 1 else { return nil }
        var length = 0
        guard EVP_DigestSign(mdctx, nil, &length, data.baseAddress, data.count) == 1 else { return nil }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(mdctx, &signature, &length, data.baseAddress, data.count) == 1 else { return nil }
        return Array(signature.prefix(length))
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
