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
        let entry = try AuthorizedKeyEntry.parse(line)
        guard entry.options == nil else { throw .invalid("a public key line has no options") }
        return entry.key
    }
}

