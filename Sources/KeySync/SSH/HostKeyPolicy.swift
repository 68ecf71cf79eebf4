import Foundation
import Synchronization

/// How host keys are trusted. There is deliberately no "accept anything".
public enum HostKeyPolicy: Hashable, Sendable {
    /// Only keys already in the known_hosts file (the default).
    case knownHosts(path: String)
    /// Trust on first use: an unknown host's key is appended to the file;
    /// a *changed* key is still refused, and so is a key of another type
    /// for a host the file knows by one type (OpenSSH would append it).
    case acceptNew(path: String)
    /// Only this key: the one the database recorded when keysync last
    /// reached the host (`keysync decommission`, for a host that left the
    /// inventory, whose known_hosts line may be gone already).
    case recorded(key: PublicKey)

    /// The known_hosts file that must exist (strict checking only).
    var strictPath: String? {
        if case .knownHosts(let path) = self { return path }
        return nil
    }

    /// The known_hosts file, or what stands for it in messages.
    var path: String {
        switch self {
        case .knownHosts(let path), .acceptNew(let path): return path
        case .recorded: return "the host key keysync recorded"
        }
    }
}

/// A host key that `--accept-new-host-keys` trusted on first use: appended
/// to `knownHosts`, recorded in the database (`host_keys`, account '') and
/// listed in push/check `--json` as `accepted_host_keys`.
public struct AcceptedHostKey: Codable, Hashable, Sendable {
    /// Inventory host name.
    public var host: String
    /// The address and port the key was appended for (`[address]:port` unless 22).
    public var address: String
    public var port: Int
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, …
    public var keyType: String
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    public var fingerprint: String
    /// The known_hosts file the line was appended to.
    public var knownHosts: String

    enum CodingKeys: String, CodingKey {
        case host, address, port, keyType = "key_type", fingerprint, knownHosts = "known_hosts"
    }

    public init(host: String, address: String, port: Int, keyType: String, fingerprint: String, knownHosts: String) {
        (self.host, self.address, self.port) = (host, address, port)
        (self.keyType, self.fingerprint, self.knownHosts) = (keyType, fingerprint, knownHosts)
    }
}

/// Checks offered host keys against known_hosts files, shared by all workers.
/// Files are read once; accept-new appends are serialised.
public final class HostKeyVerifier: Sendable {
    /// What a successful check did.
    public enum Outcome: Equatable, Sendable {
        case known
        /// The key was unknown and appended under accept-new.
        case accepted(AcceptedHostKey)
    }

    /// The files read so far, and the keys appended under accept-new.
    private struct State {
        var files: [String: KnownHosts] = [:]
        /// Keys appended under accept-new, by inventory host name.
        var accepted: [String: AcceptedHostKey] = [:]

        /// The known_hosts file at `path`, read once.
        mutating func knownHosts(_ path: String) throws -> KnownHosts {
            if let cached = files[path] { return cached }
            let loaded = try KnownHosts.load(path: path)
            files[path] = loaded
            return loaded
        }
    }

    private let state = Mutex(State())
    /// The system-wide files ssh reads beside the user's (GlobalKnownHostsFile's default).
    public static let systemKnownHosts = ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"]
    /// What those files say, read once (a missing or unreadable one says nothing, as for ssh).
    private let global: [(path: String, file: KnownHosts)]

    /// `globalKnownHosts`: read beside each policy's file, as ssh does: a host
    /// pinned there is known, a key that differs from its pin or a key it
    /// marks `@revoked` is refused — also under accept-new, which appends
    /// only for a host no file knows.
    public convenience init() { self.init(globalKnownHosts: HostKeyVerifier.systemKnownHosts) }

    public init(globalKnownHosts: [String]) {
        global = globalKnownHosts.compactMap { path in
            guard FileManager.default.isReadableFile(atPath: path), let file = try? KnownHosts.load(path: path) else { return nil }
            return (path, file)
        }
    }

    /// Host key types known for `host`, to order key-exchange preferences.
    func knownKeyTypes(host: String, port: Int, policy: HostKeyPolicy) throws -> [String] {
        if case .recorded(let key) = policy { return [key.type] }
        var types = try state.withLock { try $0.knownHosts(policy.path) }.knownKeyTypes(host: host, port: port)
        for (_, file) in global {
            for type in file.knownKeyTypes(host: host, port: port) where !types.contains(type) { types.append(type) }
        }
        return types
    }

    /// The key accept-new appended for inventory host `host` through this
    /// verifier, if any. Kept here, not only on the connection, so that a
    /// host that fails after the handshake (authentication, sudo, probe)
    /// still reports and records the key that is now in known_hosts.
    public func acceptedKey(forHost host: String) -> AcceptedHostKey? {
        state.withLock { $0.accepted[host] }
    }

    /// Verifies the key `blob` that `endpoint` offered; throws the typed reason if it is not trusted.
    func verify(_ endpoint: SSHEndpoint, blob: [UInt8]) throws -> Outcome {
        let (label, host, port, policy) = (endpoint.label, endpoint.address, endpoint.port, endpoint.hostKeyPolicy)
        let keyType = blob.sshBlobKeyType ?? "unknown"
        let fingerprint = Fingerprint.sha256(of: blob)
        if case .recorded(let key) = policy {
            guard blob == key.blob else {
                throw SSHError.hostKeyMismatch(host: label, keyType: keyType, fingerprint: fingerprint,
                                               knownHostsPath: "\(policy.path) (\(key.type) \(key.fingerprint))")
            }
            return .known
        }
        // The system files first: a key they revoke or that differs from their pin is never trusted.
        var pinnedGlobally = false
        for (path, file) in global {
            switch file.verify(host: host, port: port, keyType: keyType, blob: blob) {
            case .match: pinnedGlobally = true
            case .unknown: break
            case .revoked: throw SSHError.hostKeyRevoked(host: label, fingerprint: fingerprint)
            case .mismatch: throw SSHError.hostKeyMismatch(host: label, keyType: keyType, fingerprint: fingerprint, knownHostsPath: path)
            case .otherType(let knownTypes):
                throw SSHError.hostKeyTypeChanged(host: label, keyType: keyType, fingerprint: fingerprint, knownTypes: knownTypes, knownHostsPath: path)
            }
        }
        return try state.withLock { state throws -> Outcome in
            let known = try state.knownHosts(policy.path)
            switch known.verify(host: host, port: port, keyType: keyType, blob: blob) {
            case .unknown where pinnedGlobally:
                return .known
            case .match:
                return .known
            case .revoked:
                throw SSHError.hostKeyRevoked(host: label, fingerprint: fingerprint)
            case .mismatch:
                throw SSHError.hostKeyMismatch(host: label, keyType: keyType, fingerprint: fingerprint, knownHostsPath: policy.path)
            case .otherType(let knownTypes):
                // Known by another type: never trust on first use (see KnownHosts.Verdict.otherType).
                throw SSHError.hostKeyTypeChanged(host: label, keyType: keyType, fingerprint: fingerprint,
                                                  knownTypes: knownTypes, knownHostsPath: policy.path)
            case .unknown:
                guard case .acceptNew(let path) = policy else {
                    throw SSHError.hostKeyUnknown(host: label, keyType: keyType, fingerprint: fingerprint, knownHostsPath: policy.path)
                }
                let line = KnownHosts.line(host: host, port: port, keyType: keyType, blob: blob)
                try Self.append(line, to: path)
                var updated = known
                updated.append(contents: line)
                state.files[path] = updated
                let key = AcceptedHostKey(host: endpoint.name, address: host, port: port, keyType: keyType,
                                          fingerprint: fingerprint, knownHosts: path)
                state.accepted[endpoint.name] = key
                return .accepted(key)
            }
        }
    }

    private static func append(_ line: String, to path: String) throws {
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SSHError.knownHosts(path: path, reason: "cannot append the host key: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        // A file whose last line has no line break (edited by hand) would
        // get the new entry joined onto that line, spoiling both: like ssh,
        // start a line first.
        var info = stat(), last: UInt8 = 0
        let needsBreak = fstat(fd, &info) == 0 && info.st_size > 0 && pread(fd, &last, 1, info.st_size - 1) == 1 && last != 0x0A
        let bytes = (needsBreak ? [0x0A] : []) + Array(line.utf8)
        let written = write(fd, bytes, bytes.count)
        guard written == bytes.count else {
            let reason = written < 0 ? String(cString: strerror(errno)) : "short write"
            throw SSHError.knownHosts(path: path, reason: "cannot append the host key: \(reason)")
        }
    }
}
