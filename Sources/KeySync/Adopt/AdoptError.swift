/// Why `adopt` or `inventory import` refused to start: bad input (exit 1),
/// nothing contacted, nothing written.
public enum AdoptError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file (the `--hosts` list, an Ansible inventory) could not be read.
    case unreadable(path: String, reason: String)
    /// The file has errors, each located (`hosts.txt:3:7: error: …`).
    case invalid([Diagnostic])
    /// There is no host to read (an empty list, an inventory without `hosts:`).
    case noHosts(String)

    /// The located diagnostics, if the file itself is at fault.
    public var diagnostics: [Diagnostic] {
        if case .invalid(let diagnostics) = self { return diagnostics }
        return []
    }

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): error: cannot read: \(reason)"
        case let .invalid(diagnostics): return diagnostics.map(\.description).joined(separator: "\n")
        case let .noHosts(what): return "error: \(what) names no host; nothing was contacted"
        }
    }
}
