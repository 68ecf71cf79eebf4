import COpenSSL

/// The few libcrypto calls the Keys module needs, with ownership handled in one place.
enum LibCrypto {
    /// One read-only `EC_GROUP` per curve, created once (libcrypto only reads it afterwards).
    private final class Group: @unchecked Sendable {
        let pointer: OpaquePointer?
        init(_ curve: ECCurve) { pointer = EC_GROUP_new_by_curve_name(curve.nid) }
        deinit { EC_GROUP_free(pointer) }
    }
    private static let groups = Dictionary(uniqueKeysWithValues: ECCurve.allCases.map { ($0, Group($0)) })
    private static func group(_ curve: ECCurve) -> OpaquePointer? { groups[curve]?.pointer }

    /// `sshkey_ec_validate_public`: an uncompressed point on `curve`, not at
    /// infinity, with both coordinates of sensible size and below `order - 1`.
    /// (The NIST curves have cofactor 1, so "on the curve" already implies `nQ = ∞`.)
    static func isValidPublicPoint(_ point: [UInt8], on curve: ECCurve) -> Bool {
        guard point.first == 0x04, point.count <= 133, let group = group(curve) else { return false }
        guard let ecPoint = EC_POINT_new(group) else { return false }
        defer { EC_POINT_free(ecPoint) }
        guard EC_POINT_oct2point(group, ecPoint, point, point.count, nil) == 1,
              EC_POINT_is_at_infinity(group, ecPoint) == 0,
              let order = BN_new(), let x = BN_new(), let y = BN_new() else { return false }
        defer { BN_free(order); BN_free(x); BN_free(y) }
        guard EC_GROUP_get_order(group, order, nil) == 1,
              EC_POINT_get_affine_coordinates(group, ecPoint, x, y, nil) == 1,
              BN_sub_word(order, 1) == 1 else { return false }
        let half = BN_num_bits(order) / 2
        return BN_num_bits(x) > half && BN_num_bits(y) > half && BN_cmp(x, order) < 0 && BN_cmp(y, order) < 0
    }

    /// The uncompressed form of an encoded point (compressed or not) on `curve`.
    static func uncompressedPoint(_ point: [UInt8], on curve: ECCurve) -> [UInt8]? {
        guard let group = group(curve) else { return nil }
        guard let ecPoint = EC_POINT_new(group) else { return nil }
        defer { EC_POINT_free(ecPoint) }
        guard EC_POINT_oct2point(group, ecPoint, point, point.count, nil) == 1 else { return nil }
        let length = EC_POINT_point2oct(group, ecPoint, POINT_CONVERSION_UNCOMPRESSED, nil, 0, nil)
        guard length > 0 else { return nil }
        var out = [UInt8](repeating: 0, count: length)
        guard EC_POINT_point2oct(group, ecPoint, POINT_CONVERSION_UNCOMPRESSED, &out, length, nil) == length else {
            return nil
        }
        return out
    }

    /// The big-endian bytes of the BIGNUM parameter `name` of `pkey` (`"n"`, `"priv"`…), or nil.
    static func bignumParameter(_ pkey: OpaquePointer, _ name: String) -> [UInt8]? {
        var value: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, name, &value) == 1, let value else { return nil }
        defer { BN_clear_free(value) }
        return bytes(of: value)
    }

    /// Big-endian bytes of a BIGNUM.
    static func bytes(of bignum: OpaquePointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int((BN_num_bits(bignum) + 7) / 8))
        _ = BN_bn2bin(bignum, &out)
        return out
    }

    /// Cryptographically random bytes.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        _ = RAND_bytes(&out, Int32(count))
        return out
    }
}
