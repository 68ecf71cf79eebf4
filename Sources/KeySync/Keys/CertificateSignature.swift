import COpenSSL

/// Verification of a certificate's CA signature (`sshkey_verify` in `cert_parse`)
/// for Ed25519, ECDSA and RSA CAs. DSA and security-key CAs are not verified.
enum CertificateSignature {
    enum Outcome { case valid, invalid, unsupported }

    /// Checks `signature` (an SSH signature blob) by `ca` over `signed`.
    static func verify(_ signature: [UInt8], by ca: DecodedKey, over signed: ArraySlice<UInt8>) -> Outcome {
        guard let (algorithm, data) = try? split(signature) else { return .invalid }
        var key = SSHWireReader(ca.canonicalBlob)
        _ = try? key.string()  // type name
        switch ca.type.family {
        case .ed25519:
            guard algorithm == "ssh-ed25519", data.count == 64, let pk = try? Array(key.string()),
                  let pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, pk, pk.count) else { return .invalid }
            defer { EVP_PKEY_free(pkey) }
            return check(pkey, digest: nil, signature: data, signed: signed)
        case .ecdsa:
            guard let curve = ca.type.curve, algorithm == ca.type.name,
                  (try? key.string()) != nil, let point = try? Array(key.string()),
                  let der = try? ecdsaDER(data),
                  let pkey = publicKey("EC", [("group", .utf8("P-\(curve.bits)")), ("pub", .octets(point))])
            else { return .invalid }
            defer { EVP_PKEY_free(pkey) }
            let digest = curve == .nistp256 ? EVP_sha256() : curve == .nistp384 ? EVP_sha384() : EVP_sha512()
            return check(pkey, digest: digest, signature: der, signed: signed)
        case .rsa:
            let digests = ["ssh-rsa": EVP_sha1(), "rsa-sha2-256": EVP_sha256(), "rsa-sha2-512": EVP_sha512()]
            guard let digest = digests[algorithm], let e = try? key.mpint(), let n = try? key.mpint(),
                  data.count <= n.count,
                  let pkey = publicKey("RSA", [("n", .unsigned(n)), ("e", .unsigned(e))])
            else { return .invalid }
            defer { EVP_PKEY_free(pkey) }
            let padded = [UInt8](repeating: 0, count: n.count - data.count) + data  // OpenSSH allows short signatures
            return check(pkey, digest: digest, signature: padded, signed: signed)
        case .dsa, .ecdsaSK, .ed25519SK:
            return .unsupported
        }
    }

    private static func split(_ signature: [UInt8]) throws(KeyParseError) -> (String, [UInt8]) {
        var reader = SSHWireReader(signature)
        let algorithm = String(decoding: try reader.cString(), as: UTF8.self)
        return (algorithm, Array(try reader.string()))
    }

    private static func check(_ pkey: OpaquePointer, digest: OpaquePointer?, signature: [UInt8],
                              signed: ArraySlice<UInt8>) -> Outcome {
        guard let context = EVP_MD_CTX_new() else { return .invalid }
        defer { EVP_MD_CTX_free(context); ERR_clear_error() }
        let message = Array(signed)
        guard EVP_DigestVerifyInit(context, nil, digest, nil, pkey) == 1,
              EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1 else { return .invalid }
        return .valid
    }

    /// `EVP_PKEY_PUBLIC_KEY`, a macro Swift does not import.
    private static let publicKeySelection = Int32(OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS | OSSL_KEYMGMT_SELECT_OTHER_PARAMETERS
        | OSSL_KEYMGMT_SELECT_PUBLIC_KEY)

    private enum Parameter {
        case utf8(String)
        case octets([UInt8])
        /// A big-endian unsigned number.
        case unsigned([UInt8])
    }

    /// A libcrypto public key of type `name` (`"RSA"`, `"EC"`) from its parameters.
    /// The parameter memory is copied into buffers that outlive `EVP_PKEY_fromdata`.
    private static func publicKey(_ name: String, _ values: [(String, Parameter)]) -> OpaquePointer? {
        var buffers: [UnsafeMutableRawPointer] = []
        defer { buffers.forEach { $0.deallocate() } }
        func stable(_ bytes: [UInt8]) -> UnsafeMutableRawPointer {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
            bytes.withUnsafeBytes { if let base = $0.baseAddress { buffer.copyMemory(from: base, byteCount: bytes.count) } }
            buffers.append(buffer)
            return buffer
        }
        func cString(_ text: String) -> UnsafeMutablePointer<CChar> {
            stable(Array(text.utf8) + [0]).assumingMemoryBound(to: CChar.self)
        }
        var params = values.map { key, value -> OSSL_PARAM in
            switch value {
            case .utf8(let text): return OSSL_PARAM_construct_utf8_string(cString(key), cString(text), 0)
            case .octets(let bytes): return OSSL_PARAM_construct_octet_string(cString(key), stable(bytes), bytes.count)
            case .unsigned(let bigEndian):
                let native = 1.littleEndian == 1 ? Array(bigEndian.reversed()) : bigEndian
                return OSSL_PARAM_construct_BN(cString(key), stable(native).assumingMemoryBound(to: UInt8.self), native.count)
            }
        }
        params.append(OSSL_PARAM_construct_end())
        guard let context = EVP_PKEY_CTX_new_from_name(nil, name, nil) else { return nil }
        defer { EVP_PKEY_CTX_free(context) }
        var pkey: OpaquePointer?
        guard EVP_PKEY_fromdata_init(context) == 1,
              EVP_PKEY_fromdata(context, &pkey, publicKeySelection, &params) == 1 else { return nil }
        return pkey
    }

    /// An SSH ECDSA signature (`mpint r, mpint s`) as DER `SEQUENCE { INTEGER r, INTEGER s }`.
    private static func ecdsaDER(_ data: [UInt8]) throws(KeyParseError) -> [UInt8] {
        var reader = SSHWireReader(data)
        let integers = [try reader.mpint(), try reader.mpint()].map { value -> [UInt8] in
            let body = value.first.map { $0 & 0x80 != 0 } == true ? [0] + value : (value.isEmpty ? [0] : value)
            return [0x02] + derLength(body.count) + body
        }
        guard reader.isAtEnd else { throw .invalid("trailing bytes in ECDSA signature") }
        let content = integers[0] + integers[1]
        return [0x30] + derLength(content.count) + content
    }

    private static func derLength(_ length: Int) -> [UInt8] {
        length < 0x80 ? [UInt8(length)] : length < 0x100 ? [0x81, UInt8(length)] : [0x82, UInt8(length >> 8), UInt8(length & 0xff)]
    }
}
