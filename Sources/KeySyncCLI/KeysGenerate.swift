import ArgumentParser
import Foundation
import KeySync

extension KeySyncCommand {
    /// `keysync keys generate NAME [--type ed25519] --out DIR`
    struct KeysGenerate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Generate a key pair for rotation: DIR/NAME (private, 0600, OpenSSH format) and DIR/NAME.pub."
        )

        @Argument(help: "Key name; also the file name and the key comment.")
        var name: String

        @Option(help: "ed25519, ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-3072 or rsa-4096.")
        var type = "ed25519"

        @Option(help: "Folder to write the two files into (must exist).")
        var out: String

        static let algorithms: [String: KeyGenerator.Algorithm] = [
            "ed25519": .ed25519, "ecdsa-p256": .ecdsa(.nistp256), "ecdsa-p384": .ecdsa(.nistp384),
            "ecdsa-p521": .ecdsa(.nistp521), "rsa-3072": .rsa(bits: 3072), "rsa-4096": .rsa(bits: 4096),
        ]

        func validate() throws {
            guard Self.algorithms[type] != nil else {
                throw ValidationError("Unknown --type \(type); use one of \(Self.algorithms.keys.sorted().joined(separator: ", ")).")
            }
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                throw ValidationError("NAME must be a plain file name.")
            }
        }

        func run() throws {
            let pair = try KeyGenerator.generate(Self.algorithms[type] ?? .ed25519, comment: name)
            let privatePath = URL(fileURLWithPath: out).appendingPathComponent(name).path
            try writeNew(privatePath, pair.privateKeyFile, mode: 0o600)
            try writeNew(privatePath + ".pub", pair.publicKeyFile, mode: 0o644)
            print(pair.publicKey.fingerprintLine)
        }

        /// Creates `path` with `mode`, refusing to overwrite anything.
        private func writeNew(_ path: String, _ contents: String, mode: mode_t) throws {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode)
            guard fd >= 0 else {
                let code = errno
                let why = code == EEXIST ? "; keysync never overwrites a key file" : ""
                throw KeyFileError(message: "\(path): cannot create (\(String(cString: strerror(code))))\(why)")
            }
            defer { close(fd) }
            let bytes = Array(contents.utf8)
            guard write(fd, bytes, bytes.count) == bytes.count, fchmod(fd, mode) == 0, fsync(fd) == 0 else {
                throw KeyFileError(message: "\(path): write failed (\(String(cString: strerror(errno))))")
            }
        }
    }
}

/// A key file that could not be written.
private struct KeyFileError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
