import COpenSSL

/// PEM keys read through libcrypto: private keys (PKCS#1, PKCS#8, SEC1) and
/// `PUBLIC KEY` (SPKI) files. Only the public key is kept.
enum PEMKey {
    static func parse(_ bytes: [UInt8], text: String, path: String) throws(KeyParseError) -> PublicKey {
        if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || text.contains("Proc-Type: 4,ENCRYPTED") {
            throw .encryptedPrivateKey("""
                \(path): the private key is encrypted and keysync never asks for passphrases; \
                export its public key with `ssh-keygen -y -f \(path) > \(path).pub` and use that file
                """)
        }
        let isPublic = text.contains("-----BEGIN PUBLIC KEY-----")
        guard isPublic || text.contains("PRIVATE KEY-----") else {
            throw .invalid("not a key format keysync reads (PEM with an unknown label)")
        }
        guard let bio = bytes.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw .invalid("libcrypto could not allocate a buffer")
        }
        defer { BIO_free(bio) }
        // A passphrase callback that refuses: libcrypto must never prompt.
        let pkey = isPublic
            ? PEM_read_bio_PUBKEY(bio, nil, { _, _, _, _ in 0 }, nil)
            : PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
        ERR_clear_error()
        guard let pkey else {
            throw .invalid("libcrypto cannot read this PEM key (expected unencrypted PKCS#1, PKCS#8 or SEC1)")
        }
        defer { EVP_PKEY_free(pkey) }
        return try PublicKey(blob: try publicBlob(of: pkey))
    }

    /// The SSH wire blob of the public half of `pkey`.
    static func publicBlob(of pkey: OpaquePointer) throws(KeyParseError) -> [UInt8] {
        var writer = SSHWireWriter()
        switch EVP_PKEY_get_base_id(pkey) {
        case EVP_PKEY_RSA:
            let n = try bignum(pkey, "n"), e = try bignum(pkey, "e")
            writer.string("ssh-rsa"); writer.mpint(e); writer.mpint(n)
        case EVP_PKEY_DSA:
            writer.string("ssh-dss")
            for name in ["p", "q", "g", "pub"] { writer.mpint(try bignum(pkey, name)) }
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 80)
            var nameLength = 0
            guard EVP_PKEY_get_utf8_string_param(pkey, "group", &name, name.count, &nameLength) == 1,
                  let curve = ECCurve.libcrypto(name: String(decoding: name.prefix(nameLength).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            else { throw .invalid("EC key on a curve OpenSSH does not support (only P-256, P-384, P-521)") }
            var point = [UInt8](repeating: 0, count: 200)
            var pointLength = 0
            guard EVP_PKEY_get_octet_string_param(pkey, "pub", &point, point.count, &pointLength) == 1,
                  let uncompressed = LibCrypto.uncompressedPoint(Array(point.prefix(pointLength)), on: curve) else {
                throw .invalid("EC key without a usable public point")
            }
            writer.string("ecdsa-sha2-" + curve.rawValue); writer.string(curve.rawValue); writer.string(uncompressed)
        case EVP_PKEY_ED25519:
            var raw = [UInt8](repeating: 0, count: 32)
            var length = raw.count
            guard EVP_PKEY_get_raw_public_key(pkey, &raw, &length) == 1, length == 32 else {
                throw .invalid("Ed25519 key without a public key")
            }
            writer.string("ssh-ed25519"); writer.string(raw)
        default:
            throw .invalid("key algorithm not supported by OpenSSH (RSA, DSA, ECDSA and Ed25519 are)")
        }
        return writer.bytes
    }

    private static func bignum(_ pkey: OpaquePointer, _ name: String) throws(KeyParseError) -> [UInt8] {
        guard let value = LibCrypto.bignumParameter(pkey, name) else { throw .invalid("key is missing its \(name) parameter") }
        return value
    }
}
