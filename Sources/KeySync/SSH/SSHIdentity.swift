import Foundation

/// How keysync authenticates: a private key file or ssh-agent.
public enum SSHIdentitySource: Hashable, Sendable {
    /// A private key file (OpenSSH or PEM format).
    case file(path: String)
    /// The agent at `socketPath`, or `SSH_AUTH_SOCK` when nil.
    case agent(socketPath: String?)
}

/// A loaded identity, read once on the controller and shared read-only by
/// every worker.
///
/// Keys are parsed once into a `KeySigner` that signs for every connection
/// (RSA with rsa-sha2-256: libssh2 1.10 would sign with SHA-1, which
/// OpenSSH ≥ 8.8 refuses). Only passphrase-protected ed25519/ECDSA keys in
/// OpenSSH format still go to libssh2 from memory, which decrypts them (per
/// connection: slower). The agent is spoken to directly, for rsa-sha2 too.
public final class SSHIdentity: @unchecked Sendable {
    enum Material {
        case libssh2(privateKey: [UInt8], passphrase: String?, publicBlob: [UInt8]?)
        case signer(KeySigner)
        case agent(socketPath: String)
    }

    let material: Material
    /// Where the identity came from, for messages (`~/.ssh/id_ed25519`, `ssh-agent`).
    public let label: String

    init(material: Material, label: String) {
        self.material = material
        self.label = label
    }

    /// The public key blob, when known before connecting (not for agent identities).
    var publicBlob: [UInt8]? {
        switch material {
        case .libssh2(_, _, let blob): return blob
        case .signer(let signer): return signer.publicBlob
        case .agent: return nil
        }
    }

    /// Fingerprint of the identity's public key, when known (for the lockout guard).
    public var publicKey: PublicKey? {
        guard let blob = publicBlob, let type = blob.sshBlobKeyType else { return nil }
        return PublicKey(type: type, blob: blob)
    }

    /// Loads an identity. `passphrase` is asked only when the key is encrypted.
    public static func load(_ source: SSHIdentitySource, passphrase: () -> String? = { nil }) throws(SSHError) -> SSHIdentity {
        switch source {
        case .agent(let path):
            guard let socket = path ?? ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"], !socket.isEmpty else {
                throw .identity(path: "ssh-agent", reason: "SSH_AUTH_SOCK is not set; start ssh-agent and ssh-add a key, or set identity:")
            }
            return SSHIdentity(material: .agent(socketPath: socket), label: "ssh-agent")
        case .file(let path):
            do {
                return try loadFile(path: path, passphrase: passphrase)
            } catch let error as SSHError {
                throw error
            } catch {
                throw .identity(path: path, reason: "\(error)")
            }
        }
    }

    private static func loadFile(path: String, passphrase: () -> String?) throws -> SSHIdentity {
        // A private key is a few KiB; 1 MiB keeps /dev/zero from filling memory.
        let bytes: [UInt8]
        switch FileReader.contents(of: path, atMost: 1 << 20) {
        case .success(let contents): bytes = contents
        case .failure(let failure) where failure.isMissing: throw SSHError.identity(path: path, reason: "no such file")
        case .failure(let failure): throw SSHError.identity(path: path, reason: "not readable (\(failure.reason))")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
            return try loadOpenSSH(bytes: bytes, text: text, path: path, passphrase: passphrase)
        }
        if text.contains("PRIVATE KEY-----") {
            let encrypted = text.contains("ENCRYPTED")
            let secret = encrypted ? try requirePassphrase(path: path, passphrase) : nil
            if let signer = try KeySigner.fromPEM(bytes, passphrase: secret, path: path) {
                return SSHIdentity(material: .signer(signer), label: path)
            }
            return SSHIdentity(material: .libssh2(privateKey: bytes, passphrase: secret, publicBlob: nil), label: path)
        }
        if text.hasPrefix("PuTTY-User-Key-File") {
            throw SSHError.identity(path: path, reason: "PuTTY .ppk private keys cannot be used to log in; export an OpenSSH key with `puttygen KEY.ppk -O private-openssh -o KEY`")
        }
        throw SSHError.identity(path: path, reason: "not a private key in OpenSSH or PEM format (a .pub file?)")
    }

    private static func loadOpenSSH(bytes: [UInt8], text: String, path: String, passphrase: () -> String?) throws -> SSHIdentity {
        let body = text.components(separatedBy: "\n")
            .filter { !$0.hasPrefix("-----") }
            .joined()
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard let decoded = Data(base64Encoded: body) else {
            throw SSHError.identity(path: path, reason: "malformed OpenSSH private key (bad base64)")
        }
        let magic = Array("openssh-key-v1\0".utf8)
        var reader = SSHWireReader([UInt8](decoded))
        guard reader.bytesIfPresent(magic.count) == magic, let cipher = reader.textIfPresent(), reader.stringIfPresent() != nil,
              reader.stringIfPresent() != nil, let count = reader.uint32IfPresent(), count >= 1, let publicBlob = reader.stringIfPresent(),
              let keyType = publicBlob.sshBlobKeyType
        else { throw SSHError.identity(path: path, reason: "malformed OpenSSH private key") }
        let encrypted = cipher != "none"
        if keyType == "ssh-rsa" && encrypted {
            throw SSHError.identity(path: path, reason: "passphrase-protected RSA keys in OpenSSH format are not supported (libssh2 cannot sign them with rsa-sha2); load the key into ssh-agent (`ssh-add`, then agent: true), or convert it: `ssh-keygen -p -m PEM -f \(path)`")
        }
        // Types keysync does not sign itself (ssh-dss): libssh2 signs them.
        let ownSigner = ["ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"]
        if !encrypted && ownSigner.contains(keyType) {
            for _ in 1..<count { _ = reader.stringIfPresent() }
            guard let privateSection = reader.stringIfPresent(), let signer = signer(fromPrivateSection: privateSection) else {
                throw SSHError.identity(path: path, reason: "malformed \(keyType) private key")
            }
            return SSHIdentity(material: .signer(signer), label: path)
        }
        let secret = encrypted ? try requirePassphrase(path: path, passphrase) : nil
        return SSHIdentity(material: .libssh2(privateKey: bytes, passphrase: secret, publicBlob: publicBlob), label: path)
    }

    /// The first key of an unencrypted `openssh-key-v1` private section.
    private static func signer(fromPrivateSection section: [UInt8]) -> KeySigner? {
        var reader = SSHWireReader(section)
        guard let check1 = reader.uint32IfPresent(), let check2 = reader.uint32IfPresent(), check1 == check2,
              let type = reader.textIfPresent() else { return nil }
        switch type {
        case "ssh-rsa":
            guard let n = reader.stringIfPresent(), let e = reader.stringIfPresent(), let d = reader.stringIfPresent(),
                  let iqmp = reader.stringIfPresent(), let p = reader.stringIfPresent(), let q = reader.stringIfPresent()
            else { return nil }
            return KeySigner.fromComponents(n: n, e: e, d: d, iqmp: iqmp, p: p, q: q)
        case "ssh-ed25519":
            // string A (32 bytes), string seed || A (64 bytes)
            guard let publicKey = reader.stringIfPresent(), let secret = reader.stringIfPresent(), secret.count == 64
            else { return nil }
            return KeySigner.ed25519(seed: Array(secret.prefix(32)), publicKey: publicKey)
        case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
            guard let curve = reader.textIfPresent(), type == "ecdsa-sha2-" + curve, let point = reader.stringIfPresent(),
                  let scalar = reader.stringIfPresent() else { return nil }
            return KeySigner.ecdsa(curve: curve, point: point, scalar: Array(scalar.drop { $0 == 0 }))
        default:
            return nil
        }
    }

    private static func requirePassphrase(path: String, _ provider: () -> String?) throws -> String {
        if let env = ProcessInfo.processInfo.environment["KEYSYNC_PASSPHRASE"] { return env }
        guard let secret = provider() else {
            throw SSHError.identity(path: path, reason: "the key is encrypted; set KEYSYNC_PASSPHRASE or run keysync on a terminal to be asked")
        }
        return secret
    }
}
