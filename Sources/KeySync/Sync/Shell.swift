/// POSIX shell quoting. Every value from the inventory or a host that goes
/// into a script passes through `quote`.
public enum Shell {
    /// `value` as one single-quoted shell word; `'` becomes `'\''`.
    public static func quote(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
