/// A certificate authority from `certificate_authorities:`: the CA whose
/// user certificates hosts trust for the roles that list it in `trusted_cas:`.
public struct InventoryCertificateAuthority: Hashable, Sendable {
    /// The authority's name, e.g. `corp-ca`.
    public var name: String
    /// The CA's public key (a plain key, never a certificate).
    public var publicKey: PublicKey
    /// `SHA256:…` fingerprint of `publicKey`.
    public var fingerprint: String
    /// 1-based line of its name in the inventory.
    public var line: Int

    /// Creates an authority; the fingerprint is computed.
    public init(name: String, publicKey: PublicKey, line: Int = 0) {
        self.name = name
        self.publicKey = publicKey
        self.fingerprint = publicKey.fingerprint
        self.line = line
    }
}

/// A certificate revoked in `revoked:`: by serial (or an inclusive serial
/// range) or by key ID, always of one named authority.
public struct RevokedCertificate: Hashable, Sendable {
    /// What the entry matches in certificates of `authority`.
    ///
    /// Equal and hashed byte for byte, as sshd compares key IDs (`String`
    /// equality would merge two Unicode spellings, dropping one revocation).
    public enum Match: Hashable, Sendable {
        /// Serials `lowerBound...upperBound` (one serial: both equal); never 0,
        /// which OpenSSH treats as "no serial" and cannot revoke.
        case serials(ClosedRange<UInt64>)
        /// The certificate's key ID (`ssh-keygen -I`), compared exactly.
        case keyID(String)

        public static func == (a: Match, b: Match) -> Bool {
            switch (a, b) {
            case let (.serials(x), .serials(y)): x == y
            case let (.keyID(x), .keyID(y)): x.utf8.elementsEqual(y.utf8)
            default: false
            }
        }

        public func hash(into hasher: inout Hasher) {
            switch self {
            case .serials(let range): hasher.combine(0); hasher.combine(range)
            case .keyID(let id): hasher.combine(1); hasher.combine(Array(id.utf8))
            }
        }
    }

    /// Name of the issuing authority in `certificate_authorities:`.
    public var authority: String
    public var match: Match
    /// 1-based line of the entry in the inventory.
    public var line: Int

    /// Creates an entry.
    public init(authority: String, match: Match, line: Int = 0) {
        self.authority = authority
        self.match = match
        self.line = line
    }
}
