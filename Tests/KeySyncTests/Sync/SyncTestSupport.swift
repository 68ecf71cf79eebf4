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

    /// Three keys of three types (ed25519, ECDSA P-256, RSA 2048), the `a`,
    /// `b` and `c` of most sync suites.
    static func three() throws -> (PublicKey, PublicKey, PublicKey) { (try ed25519(), try ecdsa256(), try rsa2048()) }

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

/// One account section of a fake probe reply, byte for byte as the probe
/// script prints it (`ProbeScript`): the same lines in the same order, the
/// same nonce frames, `stat` lines only for paths that exist and none below
/// a path that is not a folder.
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
    var shellListed = true
    var sshd = ["authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2", "strictmodes yes"]
    /// As `stat -c '%F|%a|%u|%g|%s'` prints them, or `absent` (no line).
    /// `group_sole GID:UID yes|no` lines (Debian's group-write rule), by `GID:UID`.
    var groupSole: [String: Bool] = [:]
    var homeStat: String?
    var dirStat: String?
    var fileStat: String?
    /// Folders between home and the key folder (nested AuthorizedKeysFile), by path.
    var folderStats: [String: String] = [:]
    /// Hard links of the key file (`%h`).
    var fileLinks = 1
    var content: [UInt8]?
    /// The read failed: an empty frame with this exit status.
    var readStatus: Int?
    /// The file is larger than the probe reads: `too_large SIZE`, no frame.
    var tooLarge: Int?
    /// Further AuthorizedKeysFile files that exist: path, bytes and the read's exit status.
    var otherFiles: [(path: String, content: [UInt8], status: Int)] = []
    /// `root_keys` for a file outside home: `safe` unless set (a reason, or
    /// `-` for no line, as an older probe sent).
    var rootKeys: String?
    /// The content frame is read_as_root's (base64).
    var readAsRoot = false
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

    /// The `stat` lines, top down, as `probe_paths` prints them.
    var statLines: [String] {
        let paths = AccountProbe.keyPaths(home: homePath, file: path)
        let dir = (path as NSString).deletingLastPathComponent
        var lines: [String] = []
        for (index, component) in paths.enumerated() {
            let isFile = index == paths.count - 1
            let stat: String?
            if isFile {
                stat = fileStat ?? content.map { "regular file|600|\(uid)|\(gid)|\($0.count)" } ?? (readStatus != nil ? "regular file|600|\(uid)|\(gid)|10" : nil)
            } else if component == dir {
                stat = dirStat ?? "directory|700|\(uid)|\(gid)|4096"
            } else if index == 0 {
                stat = homeStat ?? "directory|755|\(uid)|\(gid)|4096"
            } else {
                stat = folderStats[component] ?? "directory|700|\(uid)|\(gid)|4096"
            }
            guard let stat, stat != "absent" else { break }
            let links = isFile ? fileLinks : 2
            lines.append("stat \(stat)|\(links)|\(component)")
            if !isFile && !stat.hasPrefix("directory|") { break }
        }
        return lines
    }

    func bytes(nonce: String = FakeProbe.nonce) -> [UInt8] {
        var out = "@account \(nonce) \(name)\n"
        for line in sshd { out += "sshd \(line)\n" }
        guard exists else {
            out += "passwd \n"
            if let owner = uidOwner { out += "uid_owner \(owner ?? "")\n" }
            if let owner = gidOwner { out += "gid_owner \(owner ?? "")\n" }
            if let gid = groupNameGID { out += "group_name_gid \(gid.map(String.init) ?? "")\n" }
            return Array(out.utf8)
        }
        out += "passwd \(name):x:\(uid):\(gid):Test User,,,:\(homePath):\(shell)\n"
        out += "group \(groupName ?? name)\n"
        if let shadow { out += "shadow \(shadow)\n" }
        out += "today \(today)\n"
        out += "shell_valid \(shellValid ? "yes" : "no")\n"
        out += "shell_listed \(shellListed ? "yes" : "no")\n"
        out += "path \(path)\n"
        if !RootOwnedKeys.isUnder(path, home: homePath), rootKeys != "-" { out += "root_keys \(rootKeys ?? "safe")\n" }
        out += statLines.map { $0 + "\n" }.joined()
        for (ids, sole) in groupSole.sorted(by: { $0.key < $1.key }) { out += "group_sole \(ids) \(sole ? "yes" : "no")\n" }
        if let tooLarge { out += "too_large \(tooLarge)\n" }
        var bytes = Array(out.utf8)
        if tooLarge != nil {
        } else if let content, readAsRoot {
            bytes += Array("content-begin \(nonce) base64\n\(Data(content).base64EncodedString())\ncontent-end \(nonce) 0\n".utf8)
        } else if let content {
            bytes += Array("content-begin \(nonce)\n".utf8) + content + Array("\ncontent-end \(nonce) 0\n".utf8)
        } else if let readStatus {
            bytes += Array("content-begin \(nonce)\n\ncontent-end \(nonce) \(readStatus)\n".utf8)
        }
        for other in otherFiles {
            bytes += Array("other_path \(other.path)\nother_content-begin \(nonce)\n".utf8) + other.content
                + Array("\nother_content-end \(nonce) \(other.status)\n".utf8)
        }
        return bytes
    }
}

enum FakeProbe {
    /// The nonce fake replies are framed with (a real run makes a fresh one).
    static let nonce = "0123456789abcdef0123456789abcdef"
    static let header = "KEYSYNC-PROBE 2\neuid 0\nsetpriv yes\n"
    static let end = "@end \(nonce)\n"

    static func reply(_ accounts: [FakeAccount]) -> [UInt8] {
        Array(header.utf8) + accounts.flatMap { $0.bytes() } + Array(end.utf8)
    }

    /// `scan`: parsed as a scan's reply (offboard, adopt), where an account may have a section per keys file.
    static func probe(_ accounts: [FakeAccount], scan: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws -> HostProbe {
        try HostProbe(reply: reply(accounts), nonce: nonce, scan: scan)
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

    /// `sh ARGUMENTS` with `script` on stdin; in the mount namespace of the
    /// process `namespaceOf` (through nsenter) when given; with
    /// `privateMounts`, in a new mount namespace of its own (unshare, root
    /// only), where the script may bind files over /etc without touching
    /// this machine's.
    static func run(_ script: String, arguments: [String] = [], directory cwd: URL? = nil, namespaceOf pid: Int32? = nil,
                    privateMounts: Bool = false) throws -> Output {
        let process = Process()
        if let pid {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
            process.arguments = ["-t", String(pid), "-m", "--", "/bin/sh"] + arguments
        } else if privateMounts {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            process.arguments = ["--mount", "--propagation", "private", "--", "/bin/sh"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = arguments
        }
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

    /// The script without its last line, `printf '@end %s\n' "$nonce"` (probe and apply).
    var droppingEndLine: String {
        precondition(hasSuffix(ProbeScript.endLine), "no end line")
        return String(dropLast(ProbeScript.endLine.count))
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
