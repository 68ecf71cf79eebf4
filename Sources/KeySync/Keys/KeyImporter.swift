import Foundation

/// Errors from parsing or importing keys. Messages never include key material
/// beyond a type name or fingerprint.
public enum KeyParseError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)
    case encryptedPrivateKey(String)
    case unreadable(path: String, reason: String)

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
/// CONTRACT (used by Inventory): `importKey(from:path:)` accepts OpenSSH `.pub`,
/// RFC 4716, PuTTY `.ppk` v2/v3 and unencrypted private keys, and returns the
/// public key. The Keys issue replaces this minimal version.
public enum KeyImporter {
    /// The public key contained in or derivable from `bytes` (the contents of `path`).
    public static func importKey(from bytes: [UInt8], path: String) throws(KeyParseError) -> PublicKey {
        guard let text = String(bytes: bytes, encoding: .utf8) else {
            throw .invalid("\(path): not a text key file")
        }
        return try parsePublicKeyLine(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Parses `type base64 [comment]` (no options).
    public static func parsePublicKeyLine(_ line: String) throws(KeyParseError) -> PublicKey {
        let parts = line.split(maxSplits: 2, whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count >= 2, let data = Data(base64Encoded: String(parts[1])) else {
            throw .invalid("not an OpenSSH public key line")
        }
        return PublicKey(type: String(parts[0]), blob: [UInt8](data),
                         comment: parts.count > 2 ? String(parts[2]) : "")
    }
}

/// The options field of an `authorized_keys` line.
///
/// CONTRACT (used by Inventory to validate `options:`): `parse` throws a
/// `KeyParseError.invalid` naming the problem for anything sshd would reject.
public struct AuthorizedKeyOptions: Hashable, Sendable {
    /// One option: lower-cased name, and its unescaped value for `name="value"` options.
    public struct Option: Hashable, Sendable {
        public var name: String
        public var value: String?
        public init(name: String, value: String?) { self.name = name; self.value = value }
    }
    public var options: [Option]
    /// The exact original text of the field.
    public var text: String

    public init(options: [Option], text: String) { self.options = options; self.text = text }

    /// Parses and validates an options field like `from="10.0.0.0/8",no-pty`.
    public static func parse(_ text: String) throws(KeyParseError) -> AuthorizedKeyOptions {
        AuthorizedKeyOptions(options: [], text: text)
    }
}
