import Foundation

/// Reads SSH wire-format values (RFC 4251 §5) the way OpenSSH's `sshbuf` does.
struct SSHWireReader {
    private let bytes: [UInt8]
    private(set) var offset: Int

    init<C: Collection<UInt8>>(_ bytes: C) {
        self.bytes = Array(bytes)
        self.offset = 0
    }

    /// Bytes not read yet.
    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }
    /// Everything read so far (the signed part of a certificate, for example).
    var consumed: ArraySlice<UInt8> { bytes[..<offset] }

    private mutating func take(_ count: Int) throws(KeyParseError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw .invalid("truncated key blob") }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func byte() throws(KeyParseError) -> UInt8 { try take(1).first ?? 0 }

    mutating func uint32() throws(KeyParseError) -> UInt32 {
        try take(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func uint64() throws(KeyParseError) -> UInt64 {
        try take(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A length-prefixed byte string.
    mutating func string() throws(KeyParseError) -> ArraySlice<UInt8> {
        let length = try uint32()
        guard length <= UInt32(remaining) else { throw .invalid("truncated key blob") }
        return try take(Int(length))
    }

    /// A string that may hold a NUL only as its last byte (`sshbuf_get_cstring`); the NUL is dropped.
    mutating func cString() throws(KeyParseError) -> [UInt8] {
        var value = Array(try string())
        if let nul = value.firstIndex(of: 0) {
            guard nul == value.count - 1 else { throw .invalid("key blob string contains a NUL byte") }
            value.removeLast()
        }
        return value
    }

    /// A non-negative mpint of at most 16384 bits, leading zero bytes removed (`sshbuf_get_bignum2`).
    mutating func mpint() throws(KeyParseError) -> [UInt8] {
        let value = try string()
        if let first = value.first, first & 0x80 != 0 { throw .invalid("negative number in key blob") }
        guard value.count <= SSHWire.maxBignumBytes + 1,
              value.count < SSHWire.maxBignumBytes + 1 || value.first == 0
        else { throw .invalid("number in key blob is too large") }
        return Array(value.drop { $0 == 0 })
    }
}

/// Writes SSH wire-format values.
struct SSHWireWriter {
    private(set) var bytes: [UInt8] = []

    mutating func uint32(_ value: UInt32) {
        bytes += [UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    mutating func uint64(_ value: UInt64) {
        uint32(UInt32(value >> 32))
        uint32(UInt32(value & 0xffff_ffff))
    }

    mutating func raw<C: Collection<UInt8>>(_ value: C) { bytes += value }

    mutating func string<C: Collection<UInt8>>(_ value: C) {
        uint32(UInt32(value.count))
        bytes += value
    }

    mutating func string(_ value: String) { string(Array(value.utf8)) }

    /// A non-negative mpint from its big-endian magnitude.
    mutating func mpint<C: Collection<UInt8>>(_ magnitude: C) {
        let trimmed = Array(magnitude.drop { $0 == 0 })
        string(trimmed.first.map { $0 & 0x80 != 0 } == true ? [0] + trimmed : trimmed)
    }
}

/// Wire-format helpers shared by the key parsers.
enum SSHWire {
    /// `SSHBUF_MAX_BIGNUM`: 16384 bits.
    static let maxBignumBytes = 16384 / 8

    /// Bits in a big-endian magnitude without leading zeros (`BN_num_bits`).
    static func bitCount<C: Collection<UInt8>>(_ magnitude: C) -> Int {
        guard let first = magnitude.first(where: { $0 != 0 }) else { return 0 }
        let significant = magnitude.drop { $0 == 0 }.count
        return (significant - 1) * 8 + (8 - first.leadingZeroBitCount)
    }
}

/// Base64 exactly as OpenSSH decodes it (`b64_pton`): whitespace is skipped
/// anywhere, padding is required, and the unused bits before the padding
/// must be zero.
enum SSHBase64 {
    private static let table: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (index, char) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(char)] = Int8(index)
        }
        return table
    }()

    /// C `isspace` in the POSIX locale.
    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0d).contains(byte) }

    /// Decodes `input`, or nil where `b64_pton` would fail.
    static func decode<C: Collection<UInt8>>(_ input: C) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(input.count * 3 / 4 + 1)
        var state = 0
        var index = input.startIndex
        while index != input.endIndex {
            let char = input[index]
            input.formIndex(after: &index)
            if char == 0 { break }
            if isSpace(char) { continue }
            if char == UInt8(ascii: "=") {
                return finishPadding(out, state: state, rest: Array(input[index...].prefix { $0 != 0 }))
            }
            let value = table[Int(char)]
            guard value >= 0 else { return nil }
            let bits = UInt8(value)
            switch state {
            case 0: out.append(bits << 2)
            case 1: out[out.count - 1] |= bits >> 4; out.append((bits & 0x0f) << 4)
            case 2: out[out.count - 1] |= bits >> 2; out.append((bits & 0x03) << 6)
            default: out[out.count - 1] |= bits
            }
            state = (state + 1) % 4
        }
        if state == 0 { return out }
        return nil
    }

    private static func finishPadding(_ decoded: [UInt8], state: Int, rest: [UInt8]) -> [UInt8]? {
        var rest = rest[...]
        switch state {
        case 2:
            rest = rest.drop(while: isSpace)
            guard rest.first == UInt8(ascii: "=") else { return nil }
            rest = rest.dropFirst()
        case 3: break
        default: return nil
        }
        guard rest.allSatisfy(isSpace), decoded.last == 0 else { return nil }
        return Array(decoded.dropLast())
    }

    /// Standard padded base64.
    static func encode<C: Collection<UInt8>>(_ bytes: C) -> String { Data(bytes).base64EncodedString() }
}
