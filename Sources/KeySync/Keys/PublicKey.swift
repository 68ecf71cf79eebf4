import COpenSSL
import Foundation

/// An SSH public key: its type token, canonical wire-format blob and comment.
///
/// Identity is the blob: two keys with the same blob are the same key,
/// whatever their comments say.
public struct PublicKey: Hashable, Sendable {
    /// Key type as written in the blob's first string, e.g. `ssh-ed25519`.
    public let type: String
    /// The canonical SSH wire-format blob (RFC 4253 §6.6).
    public let blob: [UInt8]
    /// Free-form comment; not part of the key's identity.
    public var comment: String

    /// A key from parts already validated (see `init(blob:comment:)` for validation).
    public init(type: String, blob: [UInt8], comment: String = "") {
        self.type = type
        self.blob = blob
        self.comment = comment
    }

    /// `SHA256:` + unpadded base64 of the blob's SHA-256, like `ssh-keygen -l`.
    /// For a certificate that is the certified (plain) key's fingerprint, as
    /// `ssh-keygen -l` prints it; the certificate's identity is still its whole blob.
    public var fingerprint: String {
        Fingerprint.sha256(of: isCertificate ? certificate?.certifiedKey.blob ?? blob : blob)
    }

    /// The base64 blob as it appears in `authorized_keys`.
    public var base64: String { Data(blob).base64EncodedString() }

    /// The OpenSSH one-line form: `type base64 [comment]`.
    public var openSSHLine: String {
        comment.isEmpty ? "\(type) \(base64)" : "\(type) \(base64) \(comment)"
    }

    /// Same blob, whatever the comment.
    public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.blob == rhs.blob }
    /// Hashes the blob only.
    public func hash(into hasher: inout Hasher) { hasher.combine(blob) }
}

/// SSH key fingerprints.
public enum Fingerprint {
    /// `SHA256:<unpadded base64>` of `bytes`, the format of `ssh-keygen -l`.
    public static func sha256(of bytes: [UInt8]) -> String {
        let digest = SHA256Digest.hash(bytes)
        var b64 = Data(digest).base64EncodedString()
        while b64.hasSuffix("=") { b64.removeLast() }
        return "SHA256:" + b64
    }
}

/// SHA-256 through libcrypto.
public enum SHA256Digest {
    /// The 32-byte SHA-256 digest of `bytes`.
    public static func hash<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let contiguous = Array(bytes)
        contiguous.withUnsafeBufferPointer { buf in
            _ = out.withUnsafeMutableBufferPointer { o in
                SHA256(buf.baseAddress, buf.count, o.baseAddress)
            }
        }
        return out
    }

    /// Lower-case hex SHA-256, the format of `sha256sum`.
    public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        lowerHex(hash(bytes))
    }

    /// `bytes` as lower-case hex digits, two per byte (without `String(format:)`,
    /// which costs about a microsecond a byte: every host's plan hashes its file).
    public static func lowerHex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
