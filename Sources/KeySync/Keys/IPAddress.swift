import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Numeric IP addresses as sshd's `addr_pton` reads them, for the CIDR
/// checks of `from=` (``FromPattern``) and of `Match Address` (doctor).
enum IPAddress {
    /// The address in network byte order: 4 bytes for IPv4, 16 for IPv6;
    /// nil when `text` is neither (a host name, a pattern, a CIDR block).
    static func bytes(of text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }

    /// The bits of byte `index` that a prefix of `bits` bits covers.
    static func mask(bits: Int, byte index: Int) -> UInt8 {
        let keep = min(max(bits - index * 8, 0), 8)
        return keep == 0 ? 0 : UInt8(0xff) << (8 - keep)
    }
}
