import COpenSSL

/// The algorithm family of an SSH key, without the certificate wrapper.
public enum KeyFamily: String, Hashable, Sendable, CaseIterable {
    case rsa, dsa, ecdsa, ed25519, ecdsaSK, ed25519SK
}

/// The NIST curves OpenSSH supports for ECDSA keys.
public enum ECCurve: String, Hashable, Sendable, CaseIterable {
    case nistp256, nistp384, nistp521

    /// Key size as `ssh-keygen -l` prints it.
    public var bits: Int {
        switch self {
        case .nistp256: 256
        case .nistp384: 384
        case .nistp521: 521
        }
    }

    /// The libcrypto curve NID.
    var nid: Int32 {
        switch self {
        case .nistp256: NID_X9_62_prime256v1
        case .nistp384: NID_secp384r1
        case .nistp521: NID_secp521r1
        }
    }

    /// The curve libcrypto calls by `name` (`prime256v1`, `P-384`, `secp521r1`…).
    static func libcrypto(name: String) -> ECCurve? {
        switch name.lowercased() {
        case "prime256v1", "p-256", "secp256r1": .nistp256
        case "secp384r1", "p-384": .nistp384
        case "secp521r1", "p-521": .nistp521
        default: nil
        }
    }
}

/// A key type OpenSSH 9.x understands (`sshkey_impl`), plain or certificate.
public struct KeyType: Hashable, Sendable, CustomStringConvertible {
    /// Algorithm family.
    public let family: KeyFamily
    /// Curve for `ecdsa` and `ecdsaSK` (sk keys are always nistp256).
    public let curve: ECCurve?
    /// True for the `*-cert-v01@openssh.com` types.
    public let isCertificate: Bool

    init(_ family: KeyFamily, curve: ECCurve? = nil, certificate: Bool = false) {
        self.family = family
        self.curve = family == .ecdsaSK ? .nistp256 : curve
        self.isCertificate = certificate
    }

    /// Canonical SSH name, e.g. `ssh-ed25519` or `ecdsa-sha2-nistp384-cert-v01@openssh.com`.
    public var name: String {
        let plain: String
        switch family {
        case .rsa: plain = "ssh-rsa"
        case .dsa: plain = "ssh-dss"
        case .ecdsa: plain = "ecdsa-sha2-" + (curve ?? .nistp256).rawValue
        case .ed25519: plain = "ssh-ed25519"
        case .ecdsaSK: plain = "sk-ecdsa-sha2-nistp256@openssh.com"
        case .ed25519SK: plain = "sk-ssh-ed25519@openssh.com"
        }
        guard isCertificate else { return plain }
        return plain.hasSuffix("@openssh.com")
            ? plain.replacingOccurrences(of: "@openssh.com", with: "-cert-v01@openssh.com")
            : plain + "-cert-v01@openssh.com"
    }

    /// The label `ssh-keygen -l` prints in parentheses, e.g. `ED25519-CERT`.
    public var shortName: String {
        let plain: String
        switch family {
        case .rsa: plain = "RSA"
        case .dsa: plain = "DSA"
        case .ecdsa: plain = "ECDSA"
        case .ed25519: plain = "ED25519"
        case .ecdsaSK: plain = "ECDSA-SK"
        case .ed25519SK: plain = "ED25519-SK"
        }
        return isCertificate ? plain + "-CERT" : plain
    }

    /// The canonical name.
    public var description: String { name }

    /// The same type without its certificate wrapper.
    public var plain: KeyType { KeyType(family, curve: curve) }
    /// True for FIDO security-key types (`sk-…`).
    public var isSecurityKey: Bool { family == .ecdsaSK || family == .ed25519SK }
    /// True for RSA keys and certificates.
    public var isRSA: Bool { family == .rsa }
    /// True for DSA keys and certificates.
    public var isDSA: Bool { family == .dsa }
    /// Fixed key size for types that have one (everything but RSA and DSA).
    var fixedBits: Int? {
        switch family {
        case .rsa, .dsa: nil
        case .ecdsa, .ecdsaSK: curve?.bits
        case .ed25519, .ed25519SK: 256
        }
    }

    /// Every plain and certificate type, in OpenSSH's order.
    public static let all: [KeyType] = {
        let plain = [KeyType(.ed25519), KeyType(.ed25519SK)]
            + ECCurve.allCases.map { KeyType(.ecdsa, curve: $0) }
            + [KeyType(.ecdsaSK), KeyType(.dsa), KeyType(.rsa)]
        return plain.flatMap { [$0, KeyType($0.family, curve: $0.curve, certificate: true)] }
    }()

    /// Names that select a type without being its canonical name: the RSA
    /// signature-algorithm names and the webauthn sk-ecdsa name (OpenSSH's `sigonly` impls).
    private static let aliases: [String: KeyType] = [
        "rsa-sha2-256": KeyType(.rsa), "rsa-sha2-512": KeyType(.rsa),
        "rsa-sha2-256-cert-v01@openssh.com": KeyType(.rsa, certificate: true),
        "rsa-sha2-512-cert-v01@openssh.com": KeyType(.rsa, certificate: true),
        "webauthn-sk-ecdsa-sha2-nistp256@openssh.com": KeyType(.ecdsaSK),
    ]
    private static let byName: [String: KeyType] =
        Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) }).merging(aliases) { a, _ in a }

    /// The type an `authorized_keys` type token selects (`peek_type_nid`):
    /// exact, case-sensitive names only, including `rsa-sha2-256`/`-512`.
    public static func named(_ token: String) -> KeyType? { byName[token] }

    /// The type named by a blob's first string (`sshkey_type_from_name`): like
    /// `named(_:)`, plus the case-insensitive short names of plain types.
    /// ECDSA short names carry no curve, so they select nothing usable.
    static func fromBlobName(_ name: String) -> KeyType? {
        if let type = byName[name] { return type }
        switch name.uppercased() {
        case "RSA": return KeyType(.rsa)
        case "DSA": return KeyType(.dsa)
        case "ED25519": return KeyType(.ed25519)
        case "ED25519-SK": return KeyType(.ed25519SK)
        default: return nil
        }
    }
}
