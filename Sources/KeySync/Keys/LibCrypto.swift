import COpenSSL

/// The few libcrypto calls the Keys module needs, with ownership handled in one place.
enum LibCrypto {
    /// One read-only `EC_GROUP` per curve, created once (libcrypto only reads it
    /// afterwards), with `order - 1` as big-endian bytes of the field size.
    private final class Group: @unchecked Sendable {
        let pointer: OpaquePointer?
        let orderMinusOne: [UInt8]
        init(_ curve: ECCurve) {
            pointer = EC_GROUP_new_by_curve_name(curve.nid)
            let fieldBytes = (curve.bits + 7) / 8
            var order = [UInt8](repeating: 0, count: fieldBytes)
            if let pointer, let bignum = BN_new() {
                if EC_GROUP_get_order(pointer, bignum, nil) == 1, BN_sub_word(bignum, 1) == 1 {
                    _ = BN_bn2binpad(bignum, &order, Int32(fieldBytes))
                }
                BN_free(bignum)
            }
            orderMinusOne = order
        }
        deinit { EC_GROUP_free(pointer) }
    }
    private static let groups = Dictionary(uniqueKeysWithValues: ECCurve.allCases.map { ($0, Group($0)) })

    /// `sshkey_ec_validate_public`: an uncompressed point on `curve`, not at
    /// infinity, with both coordinates longer than half the order and below
    /// `order - 1`. (The NIST curves have cofactor 1, so a point on the curve
    /// already has `nQ = ∞`.) The coordinates are read from the encoding itself.
    static func isValidPublicPoint(_ point: [UInt8], on curve: ECCurve) -> Bool {
        guard let group = groups[curve], let pointer = group.pointer else { return false }
        let size = group.orderMinusOne.count
        guard point.count == 1 + 2 * size, point.first == 0x04, let ecPoint = EC_POINT_new(pointer) else { return false }
        defer { EC_POINT_free(ecPoint) }
        guard EC_POINT_oct2point(pointer, ecPoint, point, point.count, nil) == 1,
              EC_POINT_is_at_infinity(pointer, ecPoint) == 0 else { return false }
        let half = SSHWire.bitCount(group.orderMinusOne) / 2
        return [point[1...size], point[(size + 1)...]].allSatisfy { coordinate in
            SSHWire.bitCount(coordinate) > half && coordinate.lexicographicallyPrecedes(group.orderMinusOne)
        }
    }

    /// The uncompressed form of an encoded point (compressed or not) on `curve`.
    static func uncompressedPoint(_ point: [UInt8], on curve: ECCurve) -> [UInt8]? {
        guard let group = groups[curve]?.pointer else { return nil }
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
