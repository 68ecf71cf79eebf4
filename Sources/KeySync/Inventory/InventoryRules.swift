import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The syntax rules of inventory values. Each check returns what is wrong, or nil.
enum InventoryRules {
    /// Names of hosts, keys, projects, roles and groups: a letter or digit, then
    /// letters, digits, `.`, `_`, `-` or `@`. They appear in block markers
    /// (`project=P role=R`), in `group:NAME` and in `revoked`, so no spaces,
    /// `=` or `:`.
    static func nameProblem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        func ok(_ b: UInt8) -> Bool { isAlnum(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || b == UInt8(ascii: "@") }
        guard let first = bytes.first, isAlnum(first), bytes.allSatisfy(ok) else {
            return "must start with a letter or digit and hold only letters, digits, '.', '_', '-' and '@'"
        }
        return nil
    }

    /// A Unix user or group name as `useradd` accepts it: `[a-z_][a-z0-9_-]*[$]?`, at most 32 bytes.
    static func unixNameProblem(_ name: String) -> String? {
        var bytes = Array(name.utf8)
        if bytes.last == UInt8(ascii: "$") { bytes.removeLast() }
        let lowerOrUnderscore = { (b: UInt8) in (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || b == UInt8(ascii: "_") }
        guard name.utf8.count <= 32, let first = bytes.first, lowerOrUnderscore(first),
              bytes.allSatisfy({ lowerOrUnderscore($0) || isDigit($0) || $0 == UInt8(ascii: "-") })
        else { return "is not a valid Unix name ([a-z_][a-z0-9_-]*[$]?, at most 32 characters)" }
        return nil
    }

    /// An absolute path that fits in a passwd field: no `:` (the field
    /// separator) and none of the ``Unicode/Scalar/isUnsafeInText`` characters
    /// (a line feed would add a line to /etc/passwd).
    static func passwdPathProblem(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "must be an absolute path" }
        if let (position, scalar) = UnsafeText.first(in: path) {
            return "must not hold ':' or control or line-separator characters; found \(UnsafeText.name(of: scalar)) at character \(position)"
        }
        guard !path.contains(":") else { return "must not hold ':' or control or line-separator characters; found ':'" }
        return nil
    }

    /// A certificate principal as one line of an AuthorizedPrincipalsFile:
    /// sshd skips lines starting with `#`, reads text before the last blank
    /// as options and trims trailing blanks, so a principal with a blank,
    /// a leading `#` or a control character could never match (or would
    /// match something else). `ssh-keygen -n` and Vault split principals at
    /// commas, so a comma could not be issued by them either.
    static func principalProblem(_ principal: String) -> String? {
        if let (position, scalar) = UnsafeText.first(in: principal) {
            return "must not hold control or line-separator characters; found \(UnsafeText.name(of: scalar)) at character \(position)"
        }
        if principal.unicodeScalars.contains(where: { $0.properties.isWhitespace }) {
            return "must not hold blanks (sshd reads the text before a blank as options)"
        }
        if principal.contains("#") {
            return "must not hold '#' (in a principals file sshd reads everything from a '#' on as a comment, so \"ops#prod\" would grant \"ops\")"
        }
        if principal.contains(",") { return "must not hold ',' (ssh-keygen -n and other CAs separate principals with commas)" }
        if principal.utf8.count > 255 { return "is longer than 255 bytes" }
        return nil
    }

    /// A `SHA256:` fingerprint as `ssh-keygen -l` prints it: 43 unpadded base64 characters.
    static func isFingerprint(_ text: String) -> Bool {
        guard text.hasPrefix("SHA256:") else { return false }
        let body = text.utf8.dropFirst(7)
        return body.count == 43 && body.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") }
    }

    /// The canonical form of a valid host address (for duplicate detection), or what is wrong with it.
    /// Accepts IPv4, IPv6 (without brackets; a `%zone` is allowed) and DNS host names.
    static func canonicalAddress(_ address: String) -> Result<String, AddressProblem> {
        if address.contains(":") {
            if address.hasPrefix("[") { return .failure(.init("write IPv6 addresses without brackets")) }
            let parts = address.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
            guard let ip = canonicalIP(String(parts[0]), family: AF_INET6) else { return .failure(.init("is not a valid IPv6 address")) }
            // The zone is an interface name or number; it also lands in
            // known_hosts lines (accept-new), so nothing that could end one.
            if parts.count == 2, !(1...15).contains(parts[1].utf8.count)
                || !parts[1].utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) {
                return .failure(.init("has an invalid zone after % (an interface name or number: letters, digits, '.', '_', '-')"))
            }
            return .success(parts.count == 2 ? ip + "%" + parts[1] : ip)
        }
        let labels = address.split(separator: ".", omittingEmptySubsequences: false)
        if labels.last.map({ !$0.isEmpty && $0.utf8.allSatisfy(isDigit) }) ?? false {
            guard let ip = canonicalIP(address, family: AF_INET) else { return .failure(.init("is not a valid IPv4 address")) }
            return .success(ip)
        }
        var name = address.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        let valid = !name.isEmpty && name.utf8.count <= 253 && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let b = Array(label.utf8)
            return (1...63).contains(b.count) && b.first != UInt8(ascii: "-") && b.last != UInt8(ascii: "-")
                && b.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
        }
        return valid ? .success(name) : .failure(.init("is not a valid IPv4 address, IPv6 address or host name"))
    }

    /// Why an address was refused.
    struct AddressProblem: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    private static func canonicalIP(_ text: String, family: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 16)
        guard inet_pton(family, text, &buffer) == 1 else { return nil }
        var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(family, buffer, &out, socklen_t(out.count)) != nil else { return nil }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func isDigit(_ b: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) }
    private static func isAlnum(_ b: UInt8) -> Bool {
        isDigit(b) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
    }
}

/// Reading files with the system's reason on failure.
enum FileReader {
    /// The most an inventory may hold: about ten times the largest measured
    /// (50 MB, 950,000 hosts). It is a cap, not a size keysync is fast at.
    static let inventoryLimit = 512 << 20

    /// The bytes of `path`, or `strerror` text such as "No such file or directory".
    ///
    /// - Parameters:
    ///   - regularFileAtMost: anything but a regular file (a FIFO would
    ///     block, /dev/zero never ends) or a file larger than that many bytes
    ///     is refused before reading: for key files named in the inventory,
    ///     which are a few hundred bytes.
    ///   - atMost: any kind of file (the operator's `<(…)` or `/dev/stdin`
    ///     included), read until this many bytes and refused past it, so
    ///     `/dev/zero` or a runaway generator ends in an error, not in memory
    ///     exhaustion.
    static func contents(of path: String, regularFileAtMost limit: Int? = nil, atMost cap: Int = inventoryLimit) -> Result<[UInt8], FileReadError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | (limit == nil ? 0 : O_NONBLOCK))
        guard fd >= 0 else { return .failure(.init(errno: errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.init(errno: errno)) }
        if let limit {
            guard info.st_mode & S_IFMT == S_IFREG else {
                return .failure(FileReadError(reason: "not a regular file (a FIFO, device or folder)"))
            }
            guard info.st_size <= limit else {
                return .failure(FileReadError(reason: "\(info.st_size) bytes: larger than a public key file can be (\(limit >> 10) KiB)"))
            }
        }
        if info.st_mode & S_IFMT == S_IFDIR { return .failure(.init(errno: EISDIR)) }
        let cap = min(cap, limit ?? cap)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(.init(errno: errno))
            }
            if n == 0 { return .success(bytes) }
            guard bytes.count + n <= cap else {
                return .failure(FileReadError(reason: "more than \(cap >> 20) MiB, the most keysync reads from such a file"))
            }
            bytes += chunk[0..<n]
        }
    }
}

/// A failed read: the `strerror` text of its errno.
struct FileReadError: Error {
    let reason: String
    let isMissing: Bool
    init(errno code: Int32) {
        reason = String(cString: strerror(code))
        isMissing = code == ENOENT
    }

    init(reason: String) {
        self.reason = reason
        isMissing = false
    }
}
