import Foundation

/// Policy switches for planning.
public struct PlanOptions: Hashable, Sendable {
    /// Fingerprints removed from every managed account (inventory `revoked` and rotation-retired keys).
    public var revoked: Set<String>
    /// Fingerprint of the key keysync logs in with, protected by the lockout guard.
    public var loginKeyFingerprint: String?
    /// The login user on this host (the guard applies when it is also a managed account).
    public var loginUser: String?
    /// Allow what the lockout guard would refuse.
    public var force: Bool
    /// Repair a home directory StrictModes would refuse.
    public var fixHome: Bool
    /// Every project the inventory defines: a block of any other project is stale.
    public var knownProjects: Set<String> = []
    /// Fingerprints of the inventory's keys: always recorded when seen on a
    /// host (`keysync where`), beyond the cap on other keys per account.
    public var knownFingerprints: Set<String> = []
    /// The moment grants are judged at: one whose `until` is at or before
    /// it has ended. The engine sets it once per run; planning never reads
    /// the clock. Nil: no grant has ended.
    public var now: Date?
    /// How this host's sshd takes `expiry-time`; ``SyncPlanner/plan(probe:accounts:scope:options:)``
    /// sets it from the probe.
    public var expiryTime: ExpiryTimeSyntax = .unsupported

    public init(revoked: Set<String> = [], loginKeyFingerprint: String? = nil, loginUser: String? = nil,
                force: Bool = false, fixHome: Bool = false) {
        self.revoked = revoked
        self.loginKeyFingerprint = loginKeyFingerprint
        self.loginUser = loginUser
        self.force = force
        self.fixHome = fixHome
    }
}
