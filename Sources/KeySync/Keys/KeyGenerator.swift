import COpenSSL

/// A new key pair: the private key as an unencrypted OpenSSH `openssh-key-v1`
/// file, and its public key.
public struct GeneratedKeyPair: Sendable {
    /// The contents of the private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`…), to be stored with mode 0600.
    public let privateKeyFile: String
    /// The public key, comment included.
    public let publicKey: PublicKey
    /// The contents of the `.pub` file: the OpenSSH line and a newline.
    public var publicKeyFile: String { publicKey.openSSHLine + "\n" }
}

/// Generates key pairs with libcrypto, written in OpenSSH's own private key format.
public enum KeyGenerator {
    /// The key types `generate` makes.
    public enum Algorithm: Hashable, Sendable {
        case ed25519
        case ecdsa(ECCurve)
        case rsa(bits: Int)
    }

    /// Generates a key of `algorithm` with `comment`.
    public static func generate(_ algorithm: Algorithm, comment: String) throws(KeyParseError) -> GeneratedKeyPair {
        let name: String
        switch algorithm {
        case .ed25519: name = "ED25519"
        case .ecdsa: name = "EC"
        case .rsa(let bits):
            guard (2048...16384).contains(bits) else { throw .invalid("RSA keys need 2048 to 16384 bits, not \(bits)") }
            name = "RSA"
        }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, name, nil) else { throw .invalid("libcrypto cannot make \(name) keys") }
        defer { EVP_PKEY_CTX_free(context) }
        var configured = EVP_PKEY_keygen_init(context) == 1
        switch algorithm {
        case .ed25519: break
        case .ecdsa(let curve): configured = configured && EVP_PKEY_CTX_set_group_name(context, "P-\(curve.bits)") == 1
        case .rsa(let bits): configured = configured && EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits)) == 1
        }
        var generated: OpaquePointer?
        guard configured, EVP_PKEY_generate(context, &generated) == 1, let pkey = generated else {
            throw .invalid("libcrypto failed to generate a \(name) key")
        }
        defer { EVP_PKEY_free(pkey) }

        let publicBlob = try PEMKey.publicBlob(of: pkey)
        let publicKey = try PublicKey(blob: publicBlob, comment: comment)
        var privateFields = SSHWireWriter()
        var reader = SSHWireReader(publicBlob)
        _ = try reader.string()  // type name
        switch algorithm {
        case .ed25519:
            let pk = Array(try reader.string())
            var seed = [UInt8](repeating: 0, count: 32)
            var length = seed.count
            guard EVP_PKEY_get_raw_private_key(pkey, &seed, &length) == 1, length == 32 else {
                throw .invalid("libcrypto did not return the Ed25519 seed")
            }
            privateFields.string(pk)
            privateFields.string(seed + pk)
        case .ecdsa:
            privateFields.string(try reader.string())  // curve
            privateFields.string(try reader.string())  // Q
            privateFields.mpint(try bignum(pkey, "priv"))
        case .rsa:
            let e = try reader.mpint(), n = try reader.mpint()
            privateFields.mpint(n)
            privateFields.mpint(e)
            for parameter in ["d", "rsa-coefficient1", "rsa-factor1", "rsa-factor2"] {
                privateFields.mpint(try bignum(pkey, parameter))
            }
        }
        return GeneratedKeyPair(privateKeyFile: privateKeyFile(publicKey: publicKey, privateFields: privateFields.bytes),
                                publicKey: publicKey)
    }

    /// `openssh-key-v1` with cipher and KDF `none` (PROTOCOL.key).
    private static func privateKeyFile(publicKey: PublicKey, privateFields: [UInt8]) -> String {
        let check = LibCrypto.randomBytes(4)
        var section = SSHWireWriter()
        section.raw(check + check)
        section.string(publicKey.type)
        section.raw(privateFields)
        section.string(publicKey.comment)
        var padded = section.bytes
        var pad: UInt8 = 1
        while padded.count % 8 != 0 { padded.append(pad); pad += 1 }

        var file = SSHWireWriter()
        file.raw(OpenSSHPrivateKey.magic)
        file.string("none")
        file.string("none")
        file.string([UInt8]())
        file.uint32(1)
        file.string(publicKey.blob)
        file.string(padded)
        let base64 = SSHBase64.encode(file.bytes)
        let wrapped = stride(from: 0, to: base64.count, by: 70).map { start -> Substring in
            let from = base64.index(base64.startIndex, offsetBy: start)
            return base64[from..<(base64.index(from, offsetBy: 70, limitedBy: base64.endIndex) ?? base64.endIndex)]
        }
        return "-----BEGIN OPENSSH PRIVATE KEY-----\n" + wrapped.joined(separator: "\n") + "\n-----END OPENSSH PRIVATE KEY-----\n"
    }

    private static func bignum(_ pkey: OpaquePointer, _ name: String) throws(KeyParseError) -> [UInt8] {
        guard let value = LibCrypto.bignumParameter(pkey, name) else { throw .invalid("generated key lacks its \(name) parameter") }
        return value
    }
}
