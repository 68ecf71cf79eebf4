import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The options field of an `authorized_keys` line.
///
/// Parsing follows OpenSSH 9.x `sshauthopt_parse`: names are case-insensitive,
/// flags match as prefixes (`no-` negates the negatable ones), values are
/// double-quoted with `\"` as the only escape, and an unknown option, a bad
/// value or a duplicate `command`/`principals`/`from` makes the whole line invalid.
public struct AuthorizedKeyOptions: Hashable, Sendable {
    /// One option: lower-cased name, and its unescaped value for `name="value"` options.
    public struct Option: Hashable, Sendable {
        /// Lower-cased option name, `no-` prefix included (`no-pty`, `command`).
        public var name: String
        /// The unescaped value of `name="value"` options; nil for flags.
        public var value: String?
        /// An option as written.
        public init(name: String, value: String?) { self.name = name; self.value = value }
    }
    /// The options in the order written.
    public var options: [Option]
    /// The exact original text of the field.
    public var text: String

    /// Options and the text they came from (not validated; use `parse`).
    public init(options: [Option], text: String) { self.options = options; self.text = text }

    /// Parses and validates an options field like `from="10.0.0.0/8",no-pty`.
    /// The whole text must be options: no blanks outside quotes, no trailing comma.
    public static func parse(_ text: String) throws(KeyParseError) -> AuthorizedKeyOptions {
        let bytes = Array(text.utf8)
        guard !bytes.contains(0) else { throw .invalid("options contain a NUL byte") }
        // sshd never sees one inside a line; written out, it would start a new line.
        guard !bytes.contains(0x0a), !bytes.contains(0x0d) else {
            throw .invalid("options contain a line break, which would end the authorized_keys line")
        }
        let (options, end) = try parsePrefix(bytes[...])
        guard end == bytes.endIndex else {
            throw .invalid("unexpected blank in options at column \(end + 1) (a space after a comma, or an unquoted space)")
        }
        guard bytes.last != UInt8(ascii: ",") else { throw .invalid("options end with a comma") }
        return options
    }

    /// Values of every option called `name` (lower-case), in order.
    public func values(_ name: String) -> [String] { options.filter { $0.name == name }.compactMap(\.value) }
    /// True if a flag such as `restrict` or `no-pty` is present.
    public func contains(_ name: String) -> Bool { options.contains { $0.name == name } }
    /// `cert-authority`: the key is a CA for user certificates.
    public var isCertAuthority: Bool { contains("cert-authority") }
    /// The earliest `expiry-time`, as sshd computes it (local time unless suffixed `Z`/`UTC`).
    public var expiry: Date? { values("expiry-time").compactMap(ExpiryTime.parse).min() }

    // MARK: - sshd's algorithm

    private static let flags: [(name: String, negatable: Bool)] = [
        ("restrict", false), ("cert-authority", false), ("port-forwarding", true), ("agent-forwarding", true),
        ("x11-forwarding", true), ("touch-required", true), ("verify-required", true), ("pty", true), ("user-rc", true),
    ]
    private static let valued = ["command", "principals", "from", "expiry-time", "environment",
                                 "permitopen", "permitlisten", "tunnel"]
    private static let singleUse: Set = ["command", "principals", "from"]

    /// Parses options at the start of `bytes` and stops at the first blank
    /// outside an option value, like `sshauthopt_parse`; returns the options
    /// and the index where they stop.
    static func parsePrefix(_ bytes: ArraySlice<UInt8>) throws(KeyParseError) -> (AuthorizedKeyOptions, end: Int) {
        var options: [Option] = []
        var counts: [String: Int] = [:]
        var environmentNames: Set<String> = []
        var i = bytes.startIndex
        func isBlank(_ index: Int) -> Bool { index == bytes.endIndex || bytes[index] == 0x20 || bytes[index] == 0x09 }
        while !isBlank(i) {
            if let (name, next) = matchFlag(bytes, at: i) {
                options.append(Option(name: name, value: nil))
                i = next
            } else if let name = valued.first(where: { hasPrefix(bytes, at: i, $0 + "=") }) {
                i += name.utf8.count + 1
                let value = try dequote(bytes, at: &i, option: name)
                let count = counts[name, default: 0]
                if singleUse.contains(name), count > 0 { throw .invalid("multiple \"\(name)\" options") }
                counts[name] = count + 1
                try validate(name, value, count: count, environmentNames: &environmentNames)
                options.append(Option(name: name, value: value))
            }
            if isBlank(i) { break }
            guard bytes[i] == UInt8(ascii: ",") else {
                let word = bytes[i...].prefix { ![0x20, 0x09, UInt8(ascii: ","), UInt8(ascii: "=")].contains($0) }
                throw .invalid("unknown key option \(KeyBlob.quoted(String(decoding: word, as: UTF8.self)))")
            }
            i += 1
            if i == bytes.endIndex { throw .invalid("options end with a comma") }
        }
        let text = String(decoding: bytes[bytes.startIndex..<i], as: UTF8.self)
        return (AuthorizedKeyOptions(options: options, text: text), i)
    }

    /// `opt_flag`: a case-insensitive prefix match, with an optional `no-`.
    private static func matchFlag(_ bytes: ArraySlice<UInt8>, at index: Int) -> (String, Int)? {
        for flag in flags {
            var start = index
            var prefix = ""
            if flag.negatable, hasPrefix(bytes, at: index, "no-") { start += 3; prefix = "no-" }
            if hasPrefix(bytes, at: start, flag.name) { return (prefix + flag.name, start + flag.name.utf8.count) }
        }
        return nil
    }

    private static func hasPrefix(_ bytes: ArraySlice<UInt8>, at index: Int, _ word: String) -> Bool {
        let word = word.utf8
        guard bytes.endIndex - index >= word.count else { return false }
        return zip(bytes[index...], word).allSatisfy { asciiLower($0) == $1 }
    }

    private static func asciiLower(_ byte: UInt8) -> UInt8 { (0x41...0x5a).contains(byte) ? byte | 0x20 : byte }

    /// `opt_dequote`: a double-quoted value where `\"` is the only escape.
    private static func dequote(_ bytes: ArraySlice<UInt8>, at i: inout Int, option: String) throws(KeyParseError) -> String {
        guard i < bytes.endIndex, bytes[i] == UInt8(ascii: "\"") else {
            throw .invalid("\(option)= value must start with a double quote")
        }
        i += 1
        var value: [UInt8] = []
        while i < bytes.endIndex, bytes[i] != UInt8(ascii: "\"") {
            if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.endIndex, bytes[i + 1] == UInt8(ascii: "\"") { i += 1 }
            value.append(bytes[i])
            i += 1
        }
        guard i < bytes.endIndex else { throw .invalid("\(option)= value is missing its closing quote") }
        i += 1
        return String(decoding: value, as: UTF8.self)
    }

    private static func validate(_ name: String, _ value: String, count: Int,
                                 environmentNames: inout Set<String>) throws(KeyParseError) {
        switch name {
        case "expiry-time":
            guard ExpiryTime.parse(value) != nil else {
                throw .invalid("expiry-time \(KeyBlob.quoted(value)) is not YYYYMMDD[HHMM[SS]] with an optional Z")
            }
        case "environment":
            guard environmentNames.count <= 1024 else { throw .invalid("too many environment options") }
            // The first `=` byte, as sshd's strchr finds it: by Characters, an
            // `=` followed by a combining mark is no `=`, and a line sshd
            // accepts (perhaps with a revoked key) would look invalid.
            guard let equals = value.utf8.firstIndex(of: UInt8(ascii: "=")), isValidEnvironmentName(value[..<equals]) else {
                throw .invalid("environment \(KeyBlob.quoted(value)) is not NAME=value with NAME of letters, digits and _")
            }
            environmentNames.insert(String(value[..<equals]))
        case "permitopen", "permitlisten":
            guard count <= 4096 else { throw .invalid("too many \(name) options") }
            try validatePermit(name, value)
        case "tunnel":
            guard value.caseInsensitiveCompare("any") == .orderedSame
                    || CNumber.strtonum(value, in: 0...Int64(Int32.max - 2)) != nil else {
                throw .invalid("tunnel \(KeyBlob.quoted(value)) is not a tunnel device number or \"any\"")
            }
        default: break
        }
    }

    /// `valid_env_name`: one or more ASCII letters, digits or underscores.
    private static func isValidEnvironmentName(_ name: Substring) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || CNumber.isDigit($0) || (0x61...0x7a).contains(asciiLower($0)) }
    }

    /// `handle_permit`: `host:port` or `host/port`, `[v6]:port`, port `*` or
    /// 1–65535 or a TCP service name; `permitlisten` also takes a bare port.
    private static func validatePermit(_ name: String, _ value: String) throws(KeyParseError) {
        var spec = Array(value.utf8)
        if name == "permitlisten", !spec.contains(UInt8(ascii: ":")) { spec = Array("*:".utf8) + spec }
        let separator: Int?
        if spec.first == UInt8(ascii: "[") {
            separator = spec.firstIndex(of: UInt8(ascii: "]")).map { $0 + 1 }
        } else {
            separator = spec.firstIndex { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "/") } ?? spec.count
        }
        guard let separator, separator < 1025,
              separator == spec.count || spec[separator] == UInt8(ascii: ":") || spec[separator] == UInt8(ascii: "/")
        else { throw .invalid("\(name) \(KeyBlob.quoted(value)) has an invalid host") }
        let port = separator < spec.count ? String(decoding: spec[(separator + 1)...], as: UTF8.self) : nil
        guard let port, port == "*" || CNumber.port(port) != nil else {
            throw .invalid("\(name) \(KeyBlob.quoted(value)) has an invalid port (want 1-65535, * or a service name)")
        }
    }
}

/// C number parsing as OpenSSH's helpers use it.
enum CNumber {
    static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }

    /// OpenBSD `strtonum`: optional blanks and sign, then decimal digits only, within `range`.
    static func strtonum(_ text: String, in range: ClosedRange<Int64>) -> Int64? {
        var rest = text.utf8.drop(while: SSHBase64.isSpace)
        let negative = rest.first == UInt8(ascii: "-")
        if negative || rest.first == UInt8(ascii: "+") { rest = rest.dropFirst() }
        guard !rest.isEmpty, rest.allSatisfy(isDigit),
              let magnitude = Int64(String(decoding: rest, as: UTF8.self)) else { return nil }
        let value = negative ? -magnitude : magnitude
        return range.contains(value) ? value : nil
    }

    /// `a2port` as far as the controller can tell: a number 1–65535, or a
    /// name sshd looks up in the host's services database. The name is not
    /// looked up here: this machine's /etc/services (a slim container may
    /// have none) says nothing about the host's, and a line taken for
    /// invalid would hide its key (a revoked one included) from a check.
    /// 0 stands for "a service name".
    static func port(_ text: String) -> Int? {
        if let number = strtonum(text, in: 0...65535) { return number > 0 ? Int(number) : nil }
        // A number out of range, signed or not, is no service name either (sshd's getservbyname finds none).
        let unsigned = text.utf8.first == UInt8(ascii: "+") || text.utf8.first == UInt8(ascii: "-") ? text.utf8.dropFirst() : text.utf8[...]
        guard !unsigned.isEmpty, !unsigned.allSatisfy(isDigit), text.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7f }) else { return nil }
        return 0
    }
}

/// `expiry-time` values, parsed like OpenSSH's `parse_absolute_time`.
public enum ExpiryTime {
    /// `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, local time unless
    /// suffixed `Z` or `UTC` (any case). Like `strptime`, a field may start with
    /// blanks, and days past the month's end roll over (`mktime`). Nil when sshd rejects it.
    public static func parse(_ text: String) -> Date? {
        var bytes = Array(text.utf8)
        var utc = false
        if bytes.count > 1, bytes.last.map(asciiUpper) == UInt8(ascii: "Z") {
            utc = true; bytes.removeLast()
        } else if bytes.count > 3, String(decoding: bytes.suffix(3), as: UTF8.self).uppercased() == "UTC" {
            utc = true; bytes.removeLast(3)
        }
        guard [8, 12, 14].contains(bytes.count) else { return nil }
        let widths = [4, 2, 2, 2, 2, 2].prefix(bytes.count == 8 ? 3 : bytes.count == 12 ? 5 : 6)
        let ranges: [ClosedRange<Int>] = [0...9999, 1...12, 1...31, 0...23, 0...59, 0...61]
        var fields: [Int] = []
        var offset = 0
        for (index, width) in widths.enumerated() {
            let field = bytes[offset..<offset + width].drop(while: SSHBase64.isSpace)
            offset += width
            guard !field.isEmpty, field.allSatisfy(CNumber.isDigit),
                  let value = Int(String(decoding: field, as: UTF8.self)), ranges[index].contains(value) else { return nil }
            fields.append(value)
        }
        fields += Array(repeating: 0, count: 6 - fields.count)
        var parts = tm()
        parts.tm_year = Int32(fields[0] - 1900)
        parts.tm_mon = Int32(fields[1] - 1)
        parts.tm_mday = Int32(fields[2])
        parts.tm_hour = Int32(fields[3])
        parts.tm_min = Int32(fields[4])
        parts.tm_sec = Int32(fields[5])
        let seconds = utc ? timegm(&parts) : mktime(&parts)
        guard seconds > 0 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    private static func asciiUpper(_ byte: UInt8) -> UInt8 { (0x61...0x7a).contains(byte) ? byte & ~0x20 : byte }
}
