/// POSIX shell quoting. Every value from the inventory or a host that goes
/// into a script passes through `quote`.
///
/// The scripts themselves are shell files in `Sources/KeySync/Sync/Scripts/`
/// (checked by shellcheck in Scripts/test), embedded byte for byte at build
/// time by EmbedScriptsPlugin as ``EmbeddedScripts``; the Swift side only
/// fills in values and calls their functions.
public enum Shell {
    /// `value` as one single-quoted shell word; `'` becomes `'\''`.
    public static func quote(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// `name='value'` and a line break: a value the script text reads.
    static func assign(_ name: String, _ value: String) -> String {
        "\(name)=\(quote(value))\n"
    }

    /// `name='value'` and a line break, for a number.
    static func assign(_ name: String, _ value: Int) -> String {
        assign(name, String(value))
    }

    /// Shell functions the probe and apply scripts share (lookup.sh): `lookup DB KEY`
    /// sets `$found` to what `getent DB KEY` prints, reading /etc/passwd,
    /// /etc/group or /etc/shadow with builtins when nsswitch.conf says those
    /// come from files only (no fork, no exec: most of a host's cost per
    /// check is processes started); otherwise it asks getent. `$found` is
    /// always one line: a directory service can return a GECOS field with a
    /// line break in it, which must not become a line of the reply.
    static let lookupFunctions = EmbeddedScripts.lookup
}
