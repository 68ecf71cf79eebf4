import CKeySyncVersion

/// keysync's version, printed by `keysync --version`.
///
/// `Scripts/package` and `Scripts/install` bake in the version `Scripts/version`
/// derives from `git describe` (a Debian version such as `0.2+14.gabc1234`);
/// a plain `swift build` has none baked in and reports ``fallback``.
public enum KeySyncVersion {
    /// The version of a plain `swift build`, and the base `Scripts/version`
    /// counts commits from while the repository has no `v*` tag. Raise it
    /// when tagging a release.
    public static let fallback = "0.1.0"

    /// The baked-in version, or ``fallback``.
    public static let string: String = keysync_baked_version().map { String(cString: $0) } ?? fallback
}
