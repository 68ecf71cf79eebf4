import Foundation

/// How host keys are trusted. There is deliberately no "accept anything".
public enum HostKeyPolicy: Hashable, Sendable {
    /// Only keys already in the known_hosts file (the default).
    case knownHosts(path: String)
    /// Trust on first use: an unknown host's key is appended to the file;
    /// a *changed* key is still refused.
    case acceptNew(path: String)

    var path: String {
        switch self {
        case .knownHosts(let path), .acceptNew(let path): return path
        }
    }
}

/// Checks offered host keys against known_hosts files, shared by all workers.
/// Files are read once; accept-new appends are serialised.
public final class HostKeyVerifier: @unchecked Sendable {
    /// What a successful check did.
    public enum Outcome: Equatable, Sendable {
        case known
        /// The key was unknown and appended under accept-new.
        case accepted(fingerprint: String)
    }

    private let lock = NSLock()
    private var files: [String: KnownHosts] = [:]

    public init() {}

    /// Host key types known for `host`, to order key-exchange preferences.
    func knownKeyTypes(host: String, port: Int, policy: HostKeyPolicy) throws -> [String] {
        try knownHosts(policy.path).knownKeyTypes(host: host, port: port)
    }

    /// Verifies `blob` for `host`:`port`; throws the typed reason if it is not trusted.
    func verify(label: String, host: String, port: Int, blob: [UInt8], policy: HostKeyPolicy) throws -> Outcome {
        let keyType = blob.sshBlobKeyType ?? "unknown"
        let fingerprint = Fingerprint.sha256(of: blob)
        lock.lock()
        defer { lock.unlock() }
        let known = try knownHosts(policy.path, locked: true)
        switch known.verify(host: host, port: port, keyType: keyType, blob: blob) {
        case .match:
            return .known
        case .revoked:
            throw SSHError.hostKeyRevoked(host: label, fingerprint: fingerprint)
        case .mismatch:
            throw SSHError.hostKeyMismatch(host: label, keyType: keyType, fingerprint: fingerprint, knownHostsPath: policy.path)
        case .unknown:
            guard case .acceptNew(let path) = policy else {
                throw SSHError.hostKeyUnknown(host: label, keyType: keyType, fingerprint: fingerprint, knownHostsPath: policy.path)
            }
            let line = KnownHosts.line(host: host, port: port, keyType: keyType, blob: blob)
            try append(line, to: path)
            var updated = known
            updated.entries += KnownHosts(contents: line).entries
            files[path] = updated
            return .accepted(fingerprint: fingerprint)
        }
    }

    private func knownHosts(_ path: String, locked: Bool = false) throws -> KnownHosts {
        if !locked { lock.lock() }
        defer { if !locked { lock.unlock() } }
        if let cached = files[path] { return cached }
        let loaded = try KnownHosts.load(path: path)
        files[path] = loaded
        return loaded
    }

    private func append(_ line: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SSHError.identity(path: path, reason: "cannot append to known_hosts: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else {
            throw SSHError.identity(path: path, reason: "cannot append to known_hosts")
        }
    }
}
