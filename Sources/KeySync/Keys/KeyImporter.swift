import Foundation

/// Errors from parsing or importing keys. Messages never include key material
/// beyond a type name or fingerprint.
public enum KeyParseError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)
    case encryptedPrivateKey(String)
    case unreadable(path: String, reason: String)

    /// A readable message naming the file where there is one.
    public var description: String {
        switch self {
        case .invalid(let reason): return reason
        case .encryptedPrivateKey(let hint): return hint
        case .unreadable(let path, let reason): return "\(path): \(reason)"
        }
    }
}

/// Imports keys from the formats operators hold.
///
/// Accepted: OpenSSH public keys (`.pub`, `authorized_keys` lines), RFC 4716
/// (`---- BEGIN SSH2 PUBLIC KEY ----`), PuTTY `.ppk` v2/v3 (public lines only,
/// even when encrypted), OpenSSH private keys (`openssh-key-v1`; the public
/// key is in the clear even when the file is encrypted), and unencrypted PEM
/// private keys (PKCS#1 RSA, PKCS#8 RSA/EC/Ed25519/DSA, SEC1 EC) or PEM
/// `PUBLIC KEY` files, whose public key libcrypto derives.
public enum KeyImporter {
    /// The one public key contained in or derivable from `bytes` (the contents of `path`).
    /// A key line with authorized_keys options is refused: its options would
    /// be dropped without a word (the inventory takes them from `options:`),
    /// and a `from=` or `restrict` the operator wrote would not reach a host.
    public static func importKey(from bytes: [UInt8], path: String) throws(KeyParseError) -> PublicKey {
        let keys = try importKeys(from: bytes, path: path, allowingOptions: false)
        guard keys.count == 1, let key = keys.first else {
            throw .invalid("\(path): holds \(keys.count) keys; expected exactly one")
        }
        return key
    }

    /// Every public key in `bytes`: several for an `authorized_keys`-style
    /// file, exactly one for the other formats.
    /// `allowingOptions`: whether an `authorized_keys` line's options may be
    /// skipped (fingerprinting a whole authorized_keys file) or are an error.
    public static func importKeys(from bytes: [UInt8], path: String, allowingOptions: Bool = true) throws(KeyParseError) -> [PublicKey] {
        let text = String(decoding: bytes, as: UTF8.self)
        do throws(KeyParseError) {
            if text.contains("---- BEGIN SSH2 PUBLIC KEY ----") { return [try RFC4716.parse(text)] }
            if text.hasPrefix("PuTTY-User-Key-File-") { return [try PuTTYKey.parse(text)] }
            if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") { return [try OpenSSHPrivateKey.parse(text)] }
            if text.contains("-----BEGIN ") { return [try PEMKey.parse(bytes, text: text, path: path)] }
            return try openSSHPublicKeys(text, allowingOptions: allowingOptions)
        } catch {
            switch error {
            case .invalid(let reason): throw .invalid("\(path): \(reason)")
            default: throw error
            }
        }
    }

    /// Reads `path` and imports its one key.
    public static func importKey(contentsOf path: String) throws(KeyParseError) -> PublicKey {
        try importKey(from: try readFile(path), path: path)
    }

    /// Reads `path` and imports every key in it.
    public static func importKeys(contentsOf path: String) throws(KeyParseError) -> [PublicKey] {
        try importKeys(from: try readFile(path), path: path)
    }

    /// The bytes of `path`, or `.unreadable` naming the file. At most 16 MiB
    /// (a keys file holds at most 4 MiB on a host; a public key is a few
    /// hundred bytes): `/dev/zero` or a runaway `<(…)` ends in an error.
    public static func readFile(_ path: String) throws(KeyParseError) -> [UInt8] {
        switch FileReader.contents(of: path, atMost: 16 << 20) {
        case .success(let bytes): return bytes
        case .failure(let failure) where failure.isMissing: throw .unreadable(path: path, reason: "no such file")
        case .failure(let failure): throw .unreadable(path: path, reason: "cannot read the file (\(failure.reason))")
        }
    }

    /// Parses `type base64 [comment]` (no options); surrounding blanks and line breaks are ignored.
    public static func parsePublicKeyLine(_ line: String) throws(KeyParseError) -> PublicKey {
        let entry = try AuthorizedKeyEntry.parse(line.trimmingCharacters(in: .whitespacesAndNewlines))
        guard entry.options == nil else { throw .invalid("a public key line has no options") }
        return entry.key
    }

    /// Key lines of an OpenSSH public key or `authorized_keys` file; the first invalid line is an error.
    private static func openSSHPublicKeys(_ text: String, allowingOptions: Bool) throws(KeyParseError) -> [PublicKey] {
        var keys: [PublicKey] = []
        for line in AuthorizedKeysFile(text: text).lines {
            switch line.kind {
            case .key(let entry) where !allowingOptions && entry.options != nil:
                throw .invalid("line \(line.number): the key line starts with authorized_keys options \(UnsafeText.quoted(entry.options?.text ?? "")); "
                               + "give the key alone and its options under the key's `options:`")
            case .key(let entry): keys.append(entry.key)
            case .invalid where !line.text.split(whereSeparator: { $0 == " " || $0 == "\t" }).contains(where: { KeyType.named(String($0)) != nil }):
                // No key type on the line at all: it may be private key
                // material (a PEM body without its armour), never shown.
                throw .invalid("line \(line.number): not a public key line (a key type such as ssh-ed25519, then base64); "
                               + "the line is not shown, as it may be private key material")
            case .invalid(let reason): throw .invalid("line \(line.number): \(reason)")
            case .blank, .comment: continue
            }
        }
        guard !keys.isEmpty else { throw .invalid("no public key found (expected an OpenSSH, RFC 4716, PuTTY or PEM key)") }
        return keys
    }
}

/// RFC 4716 public keys, as PuTTYgen and `ssh-keygen -e` write them.
enum RFC4716 {
    static func parse(_ text: String) throws(KeyParseError) -> PublicKey {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(of: "---- BEGIN SSH2 PUBLIC KEY ----"),
              let end = lines[begin...].firstIndex(of: "---- END SSH2 PUBLIC KEY ----") else {
            throw .invalid("RFC 4716 key without its END line")
        }
        var comment = ""
        var body = ""
        var index = begin + 1
        while index < end {
            var line = lines[index]
            index += 1
            guard line.contains(":") else { body += line; continue }
            while line.hasSuffix("\\"), index < end {  // continued header
                line = String(line.dropLast()) + lines[index]
                index += 1
            }
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.first?.lowercased() == "comment", parts.count == 2 {
                comment = parts[1].trimmingCharacters(in: .whitespaces)
                if comment.count >= 2, comment.hasPrefix("\""), comment.hasSuffix("\"") {
                    comment = String(comment.dropFirst().dropLast())
                }
            }
        }
        guard let blob = SSHBase64.decode(Array(body.utf8)) else { throw .invalid("RFC 4716 key data is not valid base64") }
        return try PublicKey(blob: blob, comment: comment)
    }
}

/// PuTTY `.ppk` files, versions 2 and 3: the public lines are never encrypted.
enum PuTTYKey {
    static func parse(_ text: String) throws(KeyParseError) -> PublicKey {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        func header(_ name: String) -> (index: Int, value: String)? {
            for (index, line) in lines.enumerated() where line.hasPrefix(name + ":") {
                return (index, line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces))
            }
            return nil
        }
        guard let first = lines.first, let version = ["2", "3"].first(where: { first.hasPrefix("PuTTY-User-Key-File-\($0):") }),
              let algorithm = header("PuTTY-User-Key-File-\(version)")?.value else {
            throw .invalid("unsupported PuTTY key version (only PPK v2 and v3 are read)")
        }
        guard let publicLines = header("Public-Lines"), let count = Int(publicLines.value), count > 0,
              count < lines.count - publicLines.index else { // no overflow for a huge count
            throw .invalid("PuTTY key without a valid Public-Lines section")
        }
        let body = lines[(publicLines.index + 1)...(publicLines.index + count)].joined()
        guard let blob = SSHBase64.decode(Array(body.utf8)) else { throw .invalid("PuTTY public lines are not valid base64") }
        let key = try PublicKey(blob: blob, comment: header("Comment")?.value ?? "")
        guard KeyType.named(algorithm) == key.keyType else {
            throw .invalid("PuTTY key says \(KeyBlob.quoted(algorithm)) but holds a \(key.type) key")
        }
        return key
    }
}

/// OpenSSH private keys (`openssh-key-v1`). The public key sits unencrypted in
/// the header; the comment is read only from unencrypted files.
enum OpenSSHPrivateKey {
    static let magic = Array("openssh-key-v1".utf8) + [0]

    static func parse(_ text: String) throws(KeyParseError) -> PublicKey {
        guard let body = pemBody(text, label: "OPENSSH PRIVATE KEY"), let data = SSHBase64.decode(Array(body.utf8)),
              data.starts(with: magic) else {
            throw .invalid("OpenSSH private key is not valid (bad base64 or missing openssh-key-v1 header)")
        }
        var reader = SSHWireReader(data.dropFirst(magic.count))
        let cipher = String(decoding: try reader.string(), as: UTF8.self)
        _ = try reader.string()  // kdf name
        _ = try reader.string()  // kdf options
        guard try reader.uint32() == 1 else { throw .invalid("OpenSSH private key files with several keys are not supported") }
        let publicBlob = Array(try reader.string())
        let comment = cipher == "none" ? (try? self.comment(in: Array(try reader.string()))) ?? "" : ""
        return try PublicKey(blob: publicBlob, comment: comment)
    }

    /// The comment after the private fields of an unencrypted private section.
    private static func comment(in section: [UInt8]) throws(KeyParseError) -> String {
        var reader = SSHWireReader(section)
        guard try reader.uint32() == (try reader.uint32()) else { throw .invalid("corrupt private section") }
        let type = String(decoding: try reader.cString(), as: UTF8.self)
        guard let keyType = KeyType.named(type), !keyType.isCertificate else { throw .invalid("unsupported type") }
        switch keyType.family {
        case .ed25519: for _ in 0..<2 { _ = try reader.string() }
        case .rsa: for _ in 0..<6 { _ = try reader.mpint() }
        case .dsa: for _ in 0..<5 { _ = try reader.mpint() }
        case .ecdsa: _ = try reader.string(); _ = try reader.string(); _ = try reader.mpint()
        case .ed25519SK: _ = try reader.string(); _ = try reader.string(); _ = try reader.byte()
            _ = try reader.string(); _ = try reader.string()
        case .ecdsaSK: for _ in 0..<3 { _ = try reader.string() }
            _ = try reader.byte(); _ = try reader.string(); _ = try reader.string()
        }
        return String(decoding: try reader.cString(), as: UTF8.self)
    }
}

/// The base64 body between `-----BEGIN label-----` and `-----END label-----`, or nil.
func pemBody(_ text: String, label: String) -> String? {
    guard let begin = text.range(of: "-----BEGIN \(label)-----"),
          let end = text.range(of: "-----END \(label)-----", range: begin.upperBound..<text.endIndex) else { return nil }
    return String(text[begin.upperBound..<end.lowerBound])
}
