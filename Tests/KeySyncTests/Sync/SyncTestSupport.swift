import Foundation
import Testing
@testable import KeySync

/// Keys for sync tests, from the fixture folder.
enum SyncKeys {
    static func key(_ fixture: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> PublicKey {
        try KeyFixtures.publicKey(fixture, sourceLocation: sourceLocation)
    }

    static func ed25519() throws -> PublicKey { try key("id_ed25519.pub") }
    static func ecdsa256() throws -> PublicKey { try key("id_ecdsa256.pub") }
    static func ecdsa384() throws -> PublicKey { try key("id_ecdsa384.pub") }
    static func rsa2048() throws -> PublicKey { try key("id_rsa2048.pub") }
    static func rsa3072() throws -> PublicKey { try key("id_rsa3072.pub") }

    /// `key` as an authorized_keys line (no terminator), with optional options.
    static func line(_ key: PublicKey, options: String? = nil) -> String {
        options.map { "\($0) \(key.openSSHLine)" } ?? key.openSSHLine
    }

    /// A managed block as keysync writes it, with `\n` endings.
    static func block(project: String, role: String, _ lines: [String], ending: String = "\n") -> String {
        (["# keysync:begin project=\(project) role=\(role)"] + lines + ["# keysync:end project=\(project) role=\(role)"])
            .map { $0 + ending }.joined()
    }
}

/// One account section of a fake probe reply, in the order the probe script prints it.
struct FakeAccount {
    var name: String
    var exists = true
    var uid = 1001
    var gid = 1001
    var groupName: String?
    var home: String?
    var shell = "/bin/bash"
    /// Printed as `shadow CLASS:lstchg:min:max:warn:inactive:expire`.
    var shadow: String? = "star:19000:0:99999:7::"
    var today = 20000
    var shellValid = true
    var sshd = ["authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2", "strictmodes yes"]
    /// Lines as `stat -c '%F|%a|%u|%g|%s'` prints them, or `absent`.
    var homeStat: String?
    var dirStat: String?
    var fileStat: String?
    var content: [UInt8]?
    var readError: String?
    /// Requested uid/gid/group: the clash lines (empty value = nobody owns it).
    var uidOwner: String?? = nil
    var gidOwner: String?? = nil
    var groupNameGID: Int?? = nil

    init(name: String) { self.name = name }

    var homePath: String { home ?? "/home/\(name)" }
    /// The `path` line; defaults to `~/.ssh/authorized_keys`.
    var pathOverride: String?
    var path: String { pathOverride ?? homePath + "/.ssh/authorized_keys" }

    /// An existing account with a 0600 file holding `content` (or no file when nil).
    static func existing(_ name: String, content: [UInt8]?) -> FakeAccount {
        var account = FakeAccount(name: name)
        account.content = content
        return account
    }

    /// A missing account, with the clash lines the probe prints for the requested ids.
    static func missing(_ name: String) -> FakeAccount {
        var account = FakeAccount(name: name)
        account.exists = false
        account.uidOwner = .some(nil)
        account.gidOwner = .some(nil)
        account.groupNameGID = .some(nil)
        return account
    }

    var bytes: [UInt8] {
        var out = "@account \(name)\n"
        if let owner = uidOwner { out += "uid_owner \(owner ?? "")\n" }
        if let owner = gidOwner { out += "gid_owner \(owner ?? "")\n" }
        for line in sshd { out += "sshd \(line)\n" }
        if let gid = groupNameGID { out += "group_name_gid \(gid.map(String.init) ?? "")\n" }
        guard exists else { return Array((out + "passwd \n").utf8) }
        out += "passwd \(name):x:\(uid):\(gid):Test User,,,:\(homePath):\(shell)\n"
        out += "group \(groupName ?? name)\n"
        if let shadow { out += "shadow \(shadow)\n" }
        out += "today \(today)\n"
        out += "shell_valid \(shellValid ? "yes" : "no")\n"
        out += "path \(path)\n"
        out += "stat_home \(homeStat ?? "directory|755|\(uid)|\(gid)|4096")\n"
        out += "stat_dir \(dirStat ?? "directory|700|\(uid)|\(gid)|4096")\n"
        out += "stat_file \(fileStat ?? (content.map { "regular file|600|\(uid)|\(gid)|\($0.count)" } ?? "absent"))\n"
        if let readError { out += "read_error \(readError)\n" }
        var bytes = Array(out.utf8)
        if let content {
            bytes += Array("content \(content.count)\n".utf8) + content + [0x0a]
        }
        return bytes
    }
}

enum FakeProbe {
    static let header = "KEYSYNC-PROBE 1\neuid 0\nsshd_version OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024\nsetpriv yes\n"

    static func reply(_ accounts: [FakeAccount]) -> [UInt8] {
        Array(header.utf8) + accounts.flatMap(\.bytes) + Array("@end\n".utf8)
    }

    static func probe(_ accounts: [FakeAccount], sourceLocation: SourceLocation = #_sourceLocation) throws -> HostProbe {
        try HostProbe(reply: reply(accounts))
    }
}

/// Runs `/bin/sh` locally with a script on stdin.
enum LocalShell {
    struct Output {
        var status: Int32
        var stdout: [UInt8]
        var stderr: String
        var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    static func run(_ script: String, arguments: [String] = [], directory cwd: URL? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = arguments
        if let cwd { process.currentDirectoryURL = cwd }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keysync-sh-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let paths = ["in", "out", "err"].map { directory.appendingPathComponent($0) }
        try Data(script.utf8).write(to: paths[0])
        for path in paths.dropFirst() { FileManager.default.createFile(atPath: path.path, contents: nil) }
        let input = try FileHandle(forReadingFrom: paths[0])
        let output = try FileHandle(forWritingTo: paths[1])
        let error = try FileHandle(forWritingTo: paths[2])
        defer { try? input.close(); try? output.close(); try? error.close() }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      stdout: [UInt8](try Data(contentsOf: paths[1])),
                      stderr: String(decoding: try Data(contentsOf: paths[2]), as: UTF8.self))
    }

    /// `sh -n`: the script parses.
    static func syntaxCheck(_ script: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try run(script, arguments: ["-n"])
        #expect(result.status == 0, "sh -n failed: \(result.stderr)", sourceLocation: sourceLocation)
    }
}

extension String {
    /// The part of a rendered script after its fixed prelude (everything `render([])` emits but its end line).
    func droppingPrelude(of empty: String) -> String {
        let prelude = empty.droppingEndLine
        precondition(hasPrefix(prelude))
        return String(dropFirst(prelude.count))
    }

    /// The script without its last line, `echo '@end'` (apply) or `echo "@end $nonce"` (probe).
    var droppingEndLine: String {
        for end in ["echo '@end'\n", "echo \"@end $nonce\"\n"] where hasSuffix(end) { return String(dropLast(end.count)) }
        preconditionFailure("no end line")
    }
}

/// Hostile strings for quoting tests: quotes, substitutions, globs, newlines.
enum Hostile {
    static let values = [
        "a'b", "it's", "$(touch PWNED)", "`touch PWNED`", "x; touch PWNED", "a\nb", "'; touch PWNED; '",
        "$HOME", "*", "-rf", "a\\b", "\"q\"", "${IFS}", "a b\tc", "'", "''", "",
    ]
}

/// A fresh temporary folder, removed by `remove()`.
struct TemporaryFolder {
    let url: URL
    var path: String { url.path }

    init(_ label: String = "keysync-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }
}

/// Shell-script calls recorded by stub functions: each call is its function
/// name and arguments, exactly as the shell passed them.
enum StubCalls {
    /// Stub definitions for `names` that record calls into `file`.
    static func stubs(_ names: [String], recordingInto file: String) -> String {
        var script = "exec 3>\(Shell.quote(file))\nemit() { printf '%s\\0' \"$@\" >&3; printf '\\036' >&3; }\n"
        for name in names { script += "\(name)() { emit \(name) \"$@\"; }\n" }
        return script
    }

    static func calls(in file: URL) throws -> [[String]] {
        let bytes = [UInt8](try Data(contentsOf: file))
        return bytes.split(separator: 0x1e, omittingEmptySubsequences: true).map { record in
            record.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
        }
    }
}

/// What is left of a shell line after removing single-quoted words (and the
/// `\'` that `Shell.quote` puts between them).
func unquotedRemainder(_ line: String) -> String {
    var out = ""
    var quoted = false
    var iterator = line.makeIterator()
    while let c = iterator.next() {
        if quoted {
            if c == "'" { quoted = false }
        } else if c == "'" {
            quoted = true
            out.append("'")
        } else if c == "\\" {
            _ = iterator.next()
            out.append("\\")
        } else {
            out.append(c)
        }
    }
    return out
}
