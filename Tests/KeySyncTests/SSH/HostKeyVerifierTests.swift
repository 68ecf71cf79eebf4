import Foundation
import Testing
@testable import KeySync

/// What the verifier does when the known_hosts file itself is the problem:
/// the host fails `known_hosts_failed` (the controller's file), never
/// `auth_failed` (the identity was never tried), and nothing is trusted.
@Suite struct HostKeyVerifierTests {
    static func endpoint(_ policy: HostKeyPolicy) -> SSHEndpoint {
        SSHEndpoint(name: "web-1", address: "10.0.0.11", port: 22, user: "ops", hostKeyPolicy: policy)
    }

    @Test func acceptNewThatCannotAppendTrustsNothing() throws {
        let folder = try TemporaryFolder("keysync-known-hosts")
        defer { folder.remove() }
        let path = folder.file("missing-folder/known_hosts").path
        let key = try SyncKeys.ed25519()
        let verifier = HostKeyVerifier()
        #expect {
            _ = try verifier.verify(Self.endpoint(.acceptNew(path: path)), blob: key.blob)
        } throws: { error in
            guard let error = error as? SSHError, case .knownHosts(path, let reason) = error else { return false }
            return error.kind == .knownHostsFailed && reason.hasPrefix("cannot append the host key: ")
                && error.description.hasSuffix("the host key is not trusted, nothing was sent")
        }
        #expect(verifier.acceptedKey(forHost: "web-1") == nil)
        // Still unknown: the next try appends again (and fails the same way), it never passes.
        #expect(throws: SSHError.self) { try verifier.verify(Self.endpoint(.acceptNew(path: path)), blob: key.blob) }
    }

    @Test func anUnreadableKnownHostsFileIsNotAnIdentityError() throws {
        let folder = try TemporaryFolder("keysync-known-hosts")
        defer { folder.remove() }
        // A folder where the file should be: it exists but cannot be read, even as root.
        let path = folder.file("known_hosts").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let key = try SyncKeys.ed25519()
        #expect {
            _ = try HostKeyVerifier().verify(Self.endpoint(.knownHosts(path: path)), blob: key.blob)
        } throws: { error in
            (error as? SSHError)?.kind == .knownHostsFailed
                && (error as? SSHError)?.description == "known_hosts \(path): the file is not readable (Is a directory); the host key is not trusted, nothing was sent"
        }
    }

    /// A hand-edited known_hosts without a final line break: the accepted
    /// key goes on a line of its own, so neither entry is spoiled and both
    /// hosts verify afterwards (the next run reads the file afresh).
    @Test func acceptNewStartsALineAfterAFileWithoutAFinalBreak() throws {
        let folder = try TemporaryFolder("keysync-known-hosts")
        defer { folder.remove() }
        let path = folder.file("known_hosts").path
        let (old, new) = try (KeyGenerator.generate(.ed25519, comment: "old").publicKey, KeyGenerator.generate(.ed25519, comment: "new").publicKey)
        let oldLine = KnownHosts.line(host: "10.0.0.12", port: 22, keyType: "ssh-ed25519", blob: old.blob)
        try Data(oldLine.trimmingCharacters(in: .newlines).utf8).write(to: URL(fileURLWithPath: path))
        _ = try HostKeyVerifier().verify(Self.endpoint(.acceptNew(path: path)), blob: new.blob)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n").count == 2 && text.hasSuffix("\n"), "\(text)")
        let fresh = HostKeyVerifier()
        _ = try fresh.verify(Self.endpoint(.knownHosts(path: path)), blob: new.blob)
        var other = Self.endpoint(.knownHosts(path: path))
        other.address = "10.0.0.12"
        _ = try fresh.verify(other, blob: old.blob)
    }

    /// The system-wide known_hosts (ssh's GlobalKnownHostsFile) counts as
    /// ssh counts it: a host pinned there is known, a key that differs from
    /// its pin is refused even under accept-new (nothing appended), and a
    /// key it revokes is refused even when the user's file has it.
    @Test func theSystemKnownHostsFileIsReadLikeSsh() throws {
        let folder = try TemporaryFolder("keysync-known-hosts")
        defer { folder.remove() }
        let user = folder.file("known_hosts").path, system = folder.file("ssh_known_hosts").path
        let (pinned, other, revoked) = try (KeyGenerator.generate(.ed25519, comment: "a").publicKey,
                                            KeyGenerator.generate(.ed25519, comment: "b").publicKey,
                                            KeyGenerator.generate(.ed25519, comment: "c").publicKey)
        let web1 = Self.endpoint(.acceptNew(path: user))
        try Data((KnownHosts.line(host: web1.address, port: 22, keyType: "ssh-ed25519", blob: pinned.blob)
                  + "@revoked * ssh-ed25519 \(revoked.base64)\n").utf8).write(to: URL(fileURLWithPath: system))
        try Data("10.0.0.12 ssh-ed25519 \(revoked.base64)\n".utf8).write(to: URL(fileURLWithPath: user))
        let verifier = HostKeyVerifier(globalKnownHosts: [system, folder.file("missing").path])
        #expect(try verifier.verify(Self.endpoint(.knownHosts(path: user)), blob: pinned.blob) == .known)
        #expect(try verifier.verify(web1, blob: pinned.blob) == .known)
        #expect(throws: SSHError.self) { try verifier.verify(web1, blob: other.blob) }
        var revokedHost = Self.endpoint(.knownHosts(path: user))
        revokedHost.address = "10.0.0.12"
        #expect(throws: SSHError.self) { try verifier.verify(revokedHost, blob: revoked.blob) }
        #expect(try String(contentsOfFile: user, encoding: .utf8) == "10.0.0.12 ssh-ed25519 \(revoked.base64)\n", "nothing appended")
        #expect(verifier.acceptedKey(forHost: "web-1") == nil)
    }
}
