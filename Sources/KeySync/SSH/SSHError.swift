/// Why talking to one host failed. Every case names the host (as `name (address:port)`)
/// and never carries key material or passphrases.
public indirect enum SSHError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Name resolution failed.
    case resolve(host: String, reason: String)
    /// TCP connect refused or failed.
    case connectFailed(host: String, reason: String)
    /// No TCP connection within the connect timeout.
    case connectTimeout(host: String, seconds: Double)
    /// TCP connected but no SSH banner/handshake within the timeout.
    case handshakeTimeout(host: String, seconds: Double)
    /// The SSH handshake failed (peer closed, no common algorithms…).
    case handshakeFailed(host: String, reason: String)
    /// known_hosts has no key for this host (and accept-new is off).
    case hostKeyUnknown(host: String, keyType: String, fingerprint: String, knownHostsPath: String)
    /// known_hosts has a different key of the same type: possible man-in-the-middle.
    case hostKeyMismatch(host: String, keyType: String, fingerprint: String, knownHostsPath: String)
    /// known_hosts knows this host only by other key types (`knownTypes`), and
    /// the host offered `keyType` although it was asked for those first: the
    /// known key is gone or this is not that host. Refused under
    /// `--accept-new-host-keys` too (nothing is appended).
    case hostKeyTypeChanged(host: String, keyType: String, fingerprint: String, knownTypes: [String], knownHostsPath: String)
    /// The host key is marked `@revoked` in known_hosts.
    case hostKeyRevoked(host: String, fingerprint: String)
    /// The server refused every offered key.
    case authFailed(host: String, user: String, reason: String)
    /// The identity could not be loaded (file missing, encrypted without passphrase…).
    case identity(path: String, reason: String)
    /// The known_hosts file could not be read, or `--accept-new-host-keys`
    /// could not append the host's key to it: the key is not trusted and
    /// nothing is sent. A problem of the controller's file, not of the identity.
    case knownHosts(path: String, reason: String)
    /// Opening a channel or starting a command failed.
    case channelFailed(host: String, reason: String)
    /// The command did not finish before its deadline.
    case commandTimeout(host: String, seconds: Double)
    /// The connection broke during a command.
    case connectionLost(host: String, reason: String)
    /// A jump host (`jump:`) on the way to `host` failed: it could not be
    /// reached, its host key is not trusted, it refused the login or the
    /// forwarding, or its connection broke. `reason` is the jump host's own
    /// error; nothing was sent to `host` through it unless the connection
    /// broke after the handshake.
    case jumpFailed(host: String, reason: SSHError)

    public var description: String {
        switch self {
        case let .resolve(host, reason):
            return "\(host): cannot resolve address: \(reason)"
        case let .connectFailed(host, reason):
            return "\(host): connect failed: \(reason)"
        case let .connectTimeout(host, seconds):
            return "\(host): no TCP connection within \(Self.format(seconds)) s (connect_timeout)"
        case let .handshakeTimeout(host, seconds):
            return "\(host): connected, but no SSH handshake within \(Self.format(seconds)) s (host hangs before its banner?)"
        case let .handshakeFailed(host, reason):
            return "\(host): SSH handshake failed: \(reason)"
        case let .hostKeyUnknown(host, type, fp, path):
            return "\(host): host key \(type) \(fp) is not in \(path); nothing was sent. Verify it out of band and add it, or run once with --accept-new-host-keys"
        case let .hostKeyMismatch(host, type, fp, path):
            return "\(host): HOST KEY CHANGED: server offered \(type) \(fp), which differs from \(path); nothing was sent. If the host was rebuilt, remove the old line (ssh-keygen -R) and verify the new key"
        case let .hostKeyTypeChanged(host, type, fp, known, path):
            return "\(host): HOST KEY CHANGED: \(path) knows this host by \(known.joined(separator: ", ")) only, but it offered \(type) \(fp) (keysync asked for the known type first); nothing was sent and nothing was appended. If the host really dropped that key, verify the new one out of band and replace the old line (ssh-keygen -R)"
        case let .hostKeyRevoked(host, fp):
            return "\(host): host key \(fp) is marked @revoked in known_hosts; nothing was sent"
        case let .authFailed(host, user, reason):
            return "\(host): authentication as \(user) failed: \(reason)"
        case let .identity(path, reason):
            return "identity \(path): \(reason)"
        case let .knownHosts(path, reason):
            return "known_hosts \(path): \(reason); the host key is not trusted, nothing was sent"
        case let .channelFailed(host, reason):
            return "\(host): cannot run command: \(reason)"
        case let .commandTimeout(host, seconds):
            return "\(host): command did not finish within \(Self.format(seconds)) s (command_timeout)"
        case let .connectionLost(host, reason):
            return "\(host): connection lost: \(reason)"
        case let .jumpFailed(host, reason):
            return "\(host): jump host failed: \(reason.description)"
        }
    }

    /// A stable short name for the database and JSON (`error_kind`).
    public var kind: HostFailureKind {
        switch self {
        case .resolve, .connectFailed, .connectTimeout, .handshakeTimeout, .handshakeFailed, .connectionLost:
            return .hostUnreachable
        case .hostKeyUnknown, .hostKeyMismatch, .hostKeyTypeChanged, .hostKeyRevoked:
            return .hostKeyMismatch
        case .authFailed, .identity:
            return .authFailed
        case .knownHosts:
            return .knownHostsFailed
        case .channelFailed:
            return .channelFailed
        case .commandTimeout:
            return .commandTimeout
        case .jumpFailed:
            return .jumpFailed
        }
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
    }
}

import Foundation
