import ArgumentParser
import Foundation
import Testing
@testable import KeySync
@testable import KeySyncCLI

@Suite struct KeysCLITests {
    @Test func parsesKeysSubcommands() throws {
        let lint = try #require(try KeySyncCommand.parseAsRoot(["keys", "lint", "ak", "--json"]) as? KeySyncCommand.KeysLint)
        #expect(lint.file == "ak" && lint.output.json)
        let fingerprint = try #require(try KeySyncCommand.parseAsRoot(["keys", "fingerprint", "a", "b"])
            as? KeySyncCommand.KeysFingerprint)
        #expect(fingerprint.files == ["a", "b"])
        let generate = try #require(try KeySyncCommand.parseAsRoot(["keys", "generate", "kp", "--out", "/tmp"])
            as? KeySyncCommand.KeysGenerate)
        #expect(generate.type == "ed25519")
        #expect(throws: (any Error).self) { try KeySyncCommand.parseAsRoot(["keys", "generate", "kp", "--type", "dsa", "--out", "/t"]) }
        #expect(throws: (any Error).self) { try KeySyncCommand.parseAsRoot(["keys", "import", "f", "--name", "a b"]) }
    }

    @Test func lintExitsTwoOnProblemsAndZeroWhenClean() throws {
        let clean = try KeySyncCommand.KeysLint.parse([KeyFixtures.path("id_ed25519.pub")])
        try clean.run()
        let dirty = try KeySyncCommand.KeysLint.parse([KeyFixtures.path("id_rsa1024.pub"), "--json"])
        #expect(throws: ExitCode(2)) { try dirty.run() }
        let missing = try KeySyncCommand.KeysLint.parse(["/nonexistent/authorized_keys"])
        #expect(throws: KeyParseError.unreadable(path: "/nonexistent/authorized_keys", reason: "no such file")) {
            try missing.run()
        }
    }

    @Test func lintJSONHasTheDocumentedShape() throws {
        let text = "no-pty " + (try KeyFixtures.text("id_ed25519.pub")) + "# c\n"
        let json = LintReport(file: AuthorizedKeysFile(text: text), now: Date()).json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let lines = try #require(object["lines"] as? [[String: Any]])
        #expect(Set(lines[0].keys) == ["line", "kind", "type", "fingerprint", "comment", "options", "problems"])
        #expect(lines[0]["kind"] as? String == "key")
        #expect((lines[0]["options"] as? [[String: Any]])?.first?["name"] as? String == "no-pty")
        #expect(lines[1]["kind"] as? String == "comment")
        #expect(lines[1]["type"] is NSNull)
    }
}

@Suite struct KeysGeneratorTests {
    static let algorithms: [KeyGenerator.Algorithm] = [.ed25519, .ecdsa(.nistp256), .ecdsa(.nistp521), .rsa(bits: 2048)]

    @Test(arguments: algorithms)
    func generatedKeysAreReadableByKeysyncAndSSHKeygen(_ algorithm: KeyGenerator.Algorithm) throws {
        let pair = try KeyGenerator.generate(algorithm, comment: "kp-new")
        let imported = try KeyImporter.importKey(from: Array(pair.privateKeyFile.utf8), path: "new")
        #expect(imported == pair.publicKey)
        #expect(imported.comment == "kp-new")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keysync-gen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("key").path
        try pair.privateKeyFile.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
        process.arguments = ["-y", "-f", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let derived = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0)
        #expect(try KeyImporter.parsePublicKeyLine(derived.trimmingCharacters(in: .newlines)) == pair.publicKey)
    }
}
