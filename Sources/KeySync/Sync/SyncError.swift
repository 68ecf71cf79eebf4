import Foundation

/// Why a `push` or `check` refused to start: inputs every affected host
/// needs before it can even be contacted are broken. Bad input (exit 1):
/// nothing was sent to any host and no run was recorded.
public enum SyncError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The login identity of `hosts` cannot be loaded (missing or unreadable
    /// file, encrypted without a passphrase, agent not running…).
    case identity(SSHError, hosts: [String])
    /// The known_hosts file of `hosts` does not exist: with strict host-key
    /// checking no host in it could be trusted.
    case knownHostsMissing(path: String, hosts: [String])
    /// The known_hosts path names a folder (or another non-file).
    case knownHostsNotAFile(path: String, hosts: [String])
    /// More than one of the above, one per line.
    case several([SyncError])

    public var description: String {
        switch self {
        case let .identity(error, hosts):
            return "\(error.description) (the login identity of \(Self.list(hosts))); nothing was sent to any host"
        case let .knownHostsMissing(path, hosts):
            return "known_hosts file \(path) does not exist (used by \(Self.list(hosts))), so no host key can be verified; nothing was sent to any host. Add the hosts' keys to it (verified out of band), or run once with --accept-new-host-keys"
        case let .knownHostsNotAFile(path, hosts):
            return "known_hosts \(path) is not a file (used by \(Self.list(hosts))), so no host key can be verified; nothing was sent to any host. Name the known_hosts file itself"
        case let .several(errors):
            // One `error:` per line: scripts grep for it.
            return errors.enumerated().map { $0.offset == 0 ? $0.element.description : "error: \($0.element.description)" }
                .joined(separator: "\n")
        }
    }

    /// `h1, h2, h3` or `h1, h2, h3, h4, h5 and 7 more`.
    static func list(_ hosts: [String]) -> String {
        let shown = hosts.prefix(5).joined(separator: ", ")
        return hosts.count > 5 ? "\(shown) and \(hosts.count - 5) more" : shown
    }
}
