import Foundation
import Testing
@testable import KeySync

/// Throwaway local accounts (`kstest*`) with homes under a private folder in
/// /tmp, for running the real probe and apply scripts as root. The accounts
/// exist only in the sandbox's own mount namespace, whose /etc is a copy
/// kept in that folder: the machine's accounts are never read as the test's
/// nor changed, a run killed half way leaves no account behind, and runs at
/// the same time (CI beside a developer's `swift test`) do not meet.
struct LocalSandbox {
    static var isAvailable: Bool {
        getuid() == 0 && ["/usr/sbin/useradd", "/usr/bin/setpriv", "/usr/bin/unshare", "/usr/bin/nsenter"].allSatisfy {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    let base: TemporaryFolder
    /// The shell that holds the namespace open (/etc bound to `base`/etc); it
    /// ends when its input closes, so it goes with the test process too.
    private let holder: Process
    private let holderInput: Pipe

    init() throws {
        base = try TemporaryFolder("keysync-sandbox")
        // The machine's /etc may change while it is copied (another run's
        // useradd): a lock file that vanished is no error, one that was
        // copied would lock the sandbox's own useradd out, and the account
        // files themselves are replaced by rename, so each copy is whole.
        let etc = Shell.quote(base.path + "/etc")
        try Self.sh("chmod 755 \(Shell.quote(base.path)) && { cp -a /etc \(etc) 2>/dev/null || true; }"
                    + " && rm -f \(etc)/*.lock \(etc)/.pwd.lock && test -s \(etc)/passwd && test -s \(etc)/group && test -s \(etc)/shadow")
        holder = Process()
        holderInput = Pipe()
        let ready = Pipe()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        holder.arguments = ["--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                            "mount --bind \"$1\" /etc && echo ready && read -r _", "sandbox", base.path + "/etc"]
        holder.standardInput = holderInput
        holder.standardOutput = ready
        try holder.run()
        let line = String(decoding: ready.fileHandleForReading.availableData, as: UTF8.self)
        guard line.hasPrefix("ready") else {
            tearDown()
            throw SandboxError(message: "no private mount namespace for the sandbox (unshare said \(line.debugDescription))")
        }
    }

    func home(_ user: String) -> String { base.path + "/home-" + user }
    func akPath(_ user: String) -> String { home(user) + "/.ssh/authorized_keys" }

    /// Creates `user` (private group, home under the sandbox). Fails if it exists.
    func addUser(_ user: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (uid: Int, gid: Int) {
        try #require(passwd(user) == nil, "\(user) already exists in the sandbox", sourceLocation: sourceLocation)
        try sh("useradd -m -d \(Shell.quote(home(user))) -s /bin/sh -p '*' -- \(Shell.quote(user))")
        let fields = try #require(passwd(user), sourceLocation: sourceLocation)
        return (Int(fields[2])!, Int(fields[3])!)
    }

    /// Ends the namespace (with every account in it) and removes the folder.
    func tearDown() {
        try? holderInput.fileHandleForWriting.close()
        if holder.isRunning { holder.terminate() }
        holder.waitUntilExit()
        base.remove()
    }

    /// The account's passwd fields as the sandbox sees them, or nil.
    func passwd(_ user: String) -> [String]? {
        guard let line = try? sh("getent passwd -- \(Shell.quote(user))"), !line.isEmpty else { return nil }
        return line.trimmingCharacters(in: .newlines).split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    }

    /// Runs `command` on the machine itself (no sandbox accounts there).
    @discardableResult
    static func sh(_ command: String) throws -> String { try stdout(of: command, LocalShell.run(command + "\n")) }

    /// Runs `command` in the sandbox's namespace (its accounts, the machine's files).
    @discardableResult
    func sh(_ command: String) throws -> String { try Self.stdout(of: command, run(command + "\n")) }

    /// `output`'s stdout, or an error naming `command` and its stderr when it failed.
    private static func stdout(of command: String, _ output: LocalShell.Output) throws -> String {
        guard output.status == 0 else { throw SandboxError(message: "\(command): \(output.stderr)") }
        return output.text
    }

    /// `sh ARGUMENTS` with `script` on stdin, in the sandbox's namespace.
    func run(_ script: String, arguments: [String] = []) throws -> LocalShell.Output {
        try LocalShell.run(script, arguments: arguments, namespaceOf: holder.processIdentifier)
    }

    /// Runs the apply script like the engine does (`sh -s`) and parses its outcomes.
    func apply(_ accounts: [AccountApply], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: ApplyOutcome] {
        let nonce = ProbeScript.makeNonce()
        let output = try run(ApplyScript.render(accounts, nonce: nonce), arguments: ["-s", "--", "127.0.0.1 40000 22"])
        #expect(output.status == 0, "\(output.stderr)", sourceLocation: sourceLocation)
        return try ApplyScript.outcomes(from: output.stdout, nonce: nonce)
    }

    /// Runs the probe for `targets` and then the apply for `accounts` in one
    /// `sh -s`, as a push does in the probe's root shell; returns the probe
    /// (its reply up to the end line) and the apply's outcomes (the rest).
    func probeThenApply(_ targets: [AccountTarget], _ accounts: [AccountApply],
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> (HostProbe, [String: ApplyOutcome]) {
        let requests = targets.map { ProbeRequest(account: $0.name, uid: $0.uid.map(Int.init), gid: $0.gid.map(Int.init), group: $0.groupName) }
        let probeNonce = ProbeScript.makeNonce(), applyNonce = ProbeScript.makeNonce()
        let output = try run(ProbeScript.render(requests, nonce: probeNonce) + ApplyScript.render(accounts, nonce: applyNonce),
                             arguments: ["-s", "--", "127.0.0.1 40000 22"])
        #expect(output.status == 0, "\(output.stderr)", sourceLocation: sourceLocation)
        let end = try #require(output.stdout.firstRange(of: ProbeScript.endMarker(nonce: probeNonce))?.upperBound,
                               sourceLocation: sourceLocation)
        let shell = ExecResult(stdout: output.stdout, stderr: Array(output.stderr.utf8), exitStatus: output.status)
        return (try HostProbe(reply: Array(output.stdout[..<end]), nonce: probeNonce),
                try ApplyScript.outcomes(from: shell, after: end, nonce: applyNonce))
    }

    /// Runs the real probe for `targets` and plans from it.
    func plan(_ targets: [AccountTarget], options: PlanOptions = PlanOptions()) throws -> HostPlan {
        let requests = targets.map { ProbeRequest(account: $0.name, uid: $0.uid.map(Int.init), gid: $0.gid.map(Int.init), group: $0.groupName) }
        let nonce = ProbeScript.makeNonce()
        let output = try run(ProbeScript.render(requests, nonce: nonce), arguments: ["-s", "--", "127.0.0.1 40000 22"])
        return SyncPlanner.plan(probe: try HostProbe(reply: output.stdout, nonce: nonce), accounts: targets, options: options)
    }

    /// lstat: kind, permission bits, owner.
    static func lstatInfo(_ path: String) -> (kind: String, mode: Int, uid: Int, gid: Int)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        let kind: String = switch info.st_mode & S_IFMT {
        case S_IFLNK: "link"
        case S_IFDIR: "dir"
        case S_IFREG: "file"
        default: "other"
        }
        return (kind, Int(info.st_mode & 0o7777), Int(info.st_uid), Int(info.st_gid))
    }

    static func read(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { [UInt8]($0) } }

    static func write(_ path: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
}

struct SandboxError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Executes the real apply (and probe) scripts against throwaway local accounts.
@Suite(.serialized, .enabled(if: LocalSandbox.isAvailable, "needs root, useradd and setpriv"))
struct ApplyScriptExecutionTests {
    let content: [UInt8] = Array("# hand-made\r\nssh-ed25519 AAAA c\r\n".utf8) + [0xff, 0xfe] + Array("\nno final newline".utf8)

    func write(_ path: String, _ content: [UInt8], expected: String) -> AccountApply {
        AccountApply(account: "kstest1", write: FileWrite(path: path, expectedHash: expected, content: content))
    }

    /// Plain ASCII lines travel in the script as they are, anything else as
    /// base64 (ApplyScript.contentWord): both land byte for byte.
    static let asciiContent = Array("# it's \"quoted\" $(x) `y` \\ \r\nssh-ed25519 AAAA c\tx\n\nno final newline'".utf8)

    @Test(arguments: [false, true])
    func writesAsTheAccountWithModes0600And0700(ascii: Bool) throws {
        let content = ascii ? Self.asciiContent : content
        #expect(ApplyScript.contentWord(content).hasPrefix("|") == ascii)
        let box = try LocalSandbox()
        defer { box.tearDown() }
        let (uid, gid) = try box.addUser("kstest1")
        let path = box.akPath("kstest1")

        let outcomes = try box.apply([write(path, content, expected: "absent")])
        #expect(outcomes == ["kstest1": .written(hash: SHA256Digest.hex(content))])
        #expect(LocalSandbox.read(path) == content)
        let file = try #require(LocalSandbox.lstatInfo(path))
        #expect(file.kind == "file" && file.mode == 0o600 && file.uid == uid && file.gid == gid)
        let dir = try #require(LocalSandbox.lstatInfo(box.home("kstest1") + "/.ssh"))
        #expect(dir.kind == "dir" && dir.mode == 0o700 && dir.uid == uid && dir.gid == gid)
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.home("kstest1") + "/.ssh") == ["authorized_keys"])
    }

    @Test func compareAndSwapRefusesAChangedFile() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        _ = try box.addUser("kstest1")
        let path = box.akPath("kstest1")
        #expect(try box.apply([write(path, content, expected: "absent")]) == ["kstest1": .written(hash: SHA256Digest.hex(content))])

        // Planned from other bytes: conflict, file untouched.
        let stale = try box.apply([write(path, Array("new\n".utf8), expected: SHA256Digest.hex(Array("other".utf8)))])
        guard case .conflict(let reason)? = stale["kstest1"] else { Issue.record("expected a conflict, got \(stale)"); return }
        #expect(reason.contains("changed since it was read"))
        #expect(LocalSandbox.read(path) == content)

        // Planned against "absent" but the file exists now: conflict.
        let absent = try box.apply([write(path, Array("new\n".utf8), expected: "absent")])
        #expect(absent["kstest1"].map { if case .conflict = $0 { true } else { false } } == true)
        #expect(LocalSandbox.read(path) == content)

        // Planned from the current bytes: written.
        let fresh = try box.apply([write(path, Array("new\n".utf8), expected: SHA256Digest.hex(content))])
        #expect(fresh == ["kstest1": .written(hash: SHA256Digest.hex(Array("new\n".utf8)))])
        #expect(LocalSandbox.read(path) == Array("new\n".utf8))
    }

    @Test func rootOwnedFileAndLooseDirectoryAreRepaired() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        let (uid, _) = try box.addUser("kstest1")
        let dir = box.home("kstest1") + "/.ssh", path = box.akPath("kstest1")
        try box.sh("mkdir -m 777 \(Shell.quote(dir)) && chmod 777 \(Shell.quote(dir)) && chown kstest1: \(Shell.quote(dir))")
        try LocalSandbox.write(path, content)
        try box.sh("chown root:root \(Shell.quote(path)) && chmod 644 \(Shell.quote(path))")

        let outcomes = try box.apply([write(path, content, expected: SHA256Digest.hex(content))])
        #expect(outcomes == ["kstest1": .written(hash: SHA256Digest.hex(content))])
        #expect(LocalSandbox.lstatInfo(dir).map { $0.mode == 0o700 && $0.uid == uid } == true)
        #expect(LocalSandbox.lstatInfo(path).map { $0.mode == 0o600 && $0.uid == uid } == true)
        #expect(LocalSandbox.read(path) == content)
    }

    /// A key folder owned by root is never chowned (between a check and a
    /// root chown by path the account could swap in a hard link to any file):
    /// a conflict naming the fix, folder and file untouched.
    @Test func aRootOwnedKeyFolderIsLeftAlone() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        _ = try box.addUser("kstest1")
        let dir = box.home("kstest1") + "/.ssh", path = box.akPath("kstest1")
        try box.sh("mkdir -m 755 \(Shell.quote(dir))")
        try LocalSandbox.write(path, content)
        try box.sh("chmod 644 \(Shell.quote(path))")
        let outcomes = try box.apply([write(path, Array("new\n".utf8), expected: SHA256Digest.hex(content))])
        guard case .conflict(let reason)? = outcomes["kstest1"] else {
            Issue.record("want a conflict, got \(outcomes)")
            return
        }
        #expect(reason.contains("never chowns"))
        #expect(LocalSandbox.lstatInfo(dir).map { $0.mode == 0o755 && $0.uid == 0 } == true)
        #expect(LocalSandbox.read(path) == content)
    }

    /// Every folder between home and a nested key folder: a missing one is
    /// made by the account (0700), a symlinked one stops the write.
    @Test func nestedKeyFoldersAreMadeByTheAccountAndNeverFollowed() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        let (uid, _) = try box.addUser("kstest1")
        let home = box.home("kstest1")
        let path = home + "/.config/ssh/authorized_keys"
        let first = try box.apply([write(path, content, expected: "absent")])
        #expect(first == ["kstest1": .written(hash: SHA256Digest.hex(content))])
        for folder in [home + "/.config", home + "/.config/ssh"] {
            #expect(LocalSandbox.lstatInfo(folder).map { $0.kind == "dir" && $0.mode == 0o700 && $0.uid == uid } == true, "\(folder)")
        }
        #expect(LocalSandbox.read(path) == content)

        // .config swapped for a link to a folder root owns: nothing is written there.
        let elsewhere = box.base.path + "/elsewhere"
        try box.sh("mkdir -p \(Shell.quote(elsewhere))/ssh && rm -rf \(Shell.quote(home))/.config && ln -s \(Shell.quote(elsewhere)) \(Shell.quote(home))/.config")
        let second = try box.apply([write(path, Array("x\n".utf8), expected: "absent")])
        guard case .conflict(let reason)? = second["kstest1"] else {
            Issue.record("want a conflict, got \(second)")
            return
        }
        #expect(reason.contains("is a symlink"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere + "/ssh").isEmpty)
    }

    @Test func symlinkedFileIsNotFollowed() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        _ = try box.addUser("kstest1")
        let victim = box.base.path + "/shadow-copy", path = box.akPath("kstest1")
        let secret = Array("root:$6$secret:19000:0:99999:7:::\n".utf8)
        try LocalSandbox.write(victim, secret)
        try box.sh("chmod 640 \(Shell.quote(victim))")
        try box.sh("mkdir -m 700 \(Shell.quote(box.home("kstest1") + "/.ssh")) && chown kstest1: \(Shell.quote(box.home("kstest1") + "/.ssh"))")
        try box.sh("ln -s \(Shell.quote(victim)) \(Shell.quote(path))")

        // Even a plan made from the victim's bytes must not write through the link.
        for expected in [SHA256Digest.hex(secret), "absent", "symlink"] {
            _ = try box.apply([write(path, Array("ssh-ed25519 AAAA attacker\n".utf8), expected: expected)])
            #expect(LocalSandbox.read(victim) == secret, "expected hash \(expected)")
            #expect(LocalSandbox.lstatInfo(victim).map { $0.kind == "file" && $0.mode == 0o640 && $0.uid == 0 } == true)
        }
    }

    @Test func symlinkedDirectoryIsNotFollowed() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        _ = try box.addUser("kstest1")
        let victimDir = box.base.path + "/victim-dir"
        try box.sh("mkdir -m 755 \(Shell.quote(victimDir))")
        try LocalSandbox.write(victimDir + "/authorized_keys", Array("victim\n".utf8))
        try box.sh("ln -s \(Shell.quote(victimDir)) \(Shell.quote(box.home("kstest1") + "/.ssh"))")

        let outcomes = try box.apply([write(box.akPath("kstest1"), content, expected: SHA256Digest.hex(Array("victim\n".utf8)))])
        guard case .conflict(let reason)? = outcomes["kstest1"] else { Issue.record("expected a conflict, got \(outcomes)"); return }
        #expect(reason.contains("symlink"))
        #expect(LocalSandbox.read(victimDir + "/authorized_keys") == Array("victim\n".utf8))
        #expect(LocalSandbox.lstatInfo(victimDir).map { $0.mode == 0o755 && $0.uid == 0 } == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: victimDir) == ["authorized_keys"])
    }

    @Test func symlinkedHomeIsNotFollowed() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        _ = try box.addUser("kstest1")
        let home = box.home("kstest1"), victimDir = box.base.path + "/victim-home"
        try box.sh("mkdir -m 755 \(Shell.quote(victimDir)) && rm -rf \(Shell.quote(home)) && ln -s \(Shell.quote(victimDir)) \(Shell.quote(home))")
        let outcomes = try box.apply([write(box.akPath("kstest1"), content, expected: "absent")])
        #expect(outcomes["kstest1"].map { if case .failed = $0 { true } else { false } } == true, "\(outcomes)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: victimDir).isEmpty)
        try box.sh("rm -f \(Shell.quote(home)) && mkdir \(Shell.quote(home))")  // for userdel -r
    }

    /// A FIFO (or other special file) in place of authorized_keys must not
    /// make root's hash check block forever: the host would hang until the
    /// command timeout. Run under timeout(1) so a regression fails, not hangs.
    @Test func fifoInPlaceOfTheFileIsAConflictNotAHang() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        _ = try box.addUser("kstest1")
        let dir = box.home("kstest1") + "/.ssh", path = box.akPath("kstest1")
        try box.sh("mkdir -m 700 \(Shell.quote(dir)) && mkfifo -m 600 \(Shell.quote(path)) && chown -R kstest1: \(Shell.quote(dir))")
        for expected in ["absent", SHA256Digest.hex([UInt8]())] {
            let script = ApplyScript.render([write(path, content, expected: expected)], nonce: "n0")
            let output = try box.run(script, arguments: ["-c", "exec timeout -s KILL 10 sh -s"])
            let outcomes = try ApplyScript.outcomes(from: output.stdout, nonce: "n0")
            #expect(outcomes["kstest1"].map { if case .conflict = $0 { true } else { false } } == true, "\(outcomes)")
        }
        #expect(LocalSandbox.lstatInfo(path)?.kind == "other")
    }

    @Test func leftoverTempFilesAreRemoved() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        _ = try box.addUser("kstest1")
        let dir = box.home("kstest1") + "/.ssh"
        try box.sh("mkdir -m 700 \(Shell.quote(dir)) && touch \(Shell.quote(dir))/.keysync-AbC123 \(Shell.quote(dir))/.keysync-zzzzzz \(Shell.quote(dir))/keep && chown -R kstest1: \(Shell.quote(dir))")
        #expect(try box.apply([write(box.akPath("kstest1"), content, expected: "absent")]) == ["kstest1": .written(hash: SHA256Digest.hex(content))])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["authorized_keys", "keep"])
    }

    @Test func fixHomeRemovesGroupAndWorldWrite() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        let (uid, _) = try box.addUser("kstest1")
        let home = box.home("kstest1")
        try box.sh("chmod 777 \(Shell.quote(home)) && chown root: \(Shell.quote(home))")
        #expect(try box.apply([AccountApply(account: "kstest1", fixHome: true)]) == ["kstest1": .done])
        // Only chmod: a home root owns stays root's (sshd accepts that).
        #expect(LocalSandbox.lstatInfo(home).map { $0.mode == 0o755 && $0.uid == 0 } == true)
        // The account's own home: chmod as the account.
        try box.sh("chmod 777 \(Shell.quote(home)) && chown kstest1: \(Shell.quote(home))")
        #expect(try box.apply([AccountApply(account: "kstest1", fixHome: true)]) == ["kstest1": .done])
        #expect(LocalSandbox.lstatInfo(home).map { $0.mode == 0o755 && $0.uid == uid } == true)
    }

    /// `--fix-home` never chowns: someone else's home is a conflict, left as it is.
    @Test func fixHomeLeavesSomeoneElsesHomeAlone() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        _ = try box.addUser("kstest1")
        let (other, _) = try box.addUser("kstest2")
        let home = box.home("kstest1")
        try box.sh("chmod 777 \(Shell.quote(home)) && chown kstest2: \(Shell.quote(home))")
        let outcomes = try box.apply([AccountApply(account: "kstest1", fixHome: true)])
        guard case .conflict(let reason)? = outcomes["kstest1"] else {
            Issue.record("want a conflict, got \(outcomes)")
            return
        }
        #expect(reason.contains("never chowns"))
        #expect(LocalSandbox.lstatInfo(home).map { $0.mode == 0o777 && $0.uid == other } == true)
    }

    /// `doctor --fix`: go-w on home without changing its owner (as the
    /// account, or as root under a root-only folder); someone else's home is left alone.
    @Test func restrictHomeRemovesWriteAndKeepsTheOwner() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        let (uid, _) = try box.addUser("kstest1")
        let home = box.home("kstest1")
        try box.sh("chmod 777 \(Shell.quote(home))")
        #expect(try box.apply([AccountApply(account: "kstest1", restrictHome: home)]) == ["kstest1": .done])
        #expect(LocalSandbox.lstatInfo(home).map { $0.mode == 0o755 && $0.uid == uid } == true)
        try box.sh("chown root: \(Shell.quote(home)) && chmod 775 \(Shell.quote(home))")
        #expect(try box.apply([AccountApply(account: "kstest1", restrictHome: home)]) == ["kstest1": .done])
        #expect(LocalSandbox.lstatInfo(home).map { $0.mode == 0o755 && $0.uid == 0 } == true)
        // A root-owned home under a folder others may write in (not sticky): refused, nothing changed.
        let parent = (home as NSString).deletingLastPathComponent
        try box.sh("chmod 775 \(Shell.quote(home)) && chmod 775 \(Shell.quote(parent))")
        guard case .conflict(let unsafe)? = try box.apply([AccountApply(account: "kstest1", restrictHome: home)])["kstest1"] else {
            Issue.record("a root-owned home under a group-writable folder was changed")
            return
        }
        #expect(unsafe.contains("\(parent) is writable by group or others"), "\(unsafe)")
        #expect(LocalSandbox.lstatInfo(home).map { $0.mode == 0o775 } == true)
        // Sticky (as /tmp): only root renames its entries there; changed.
        try box.sh("chmod 1777 \(Shell.quote(parent))")
        #expect(try box.apply([AccountApply(account: "kstest1", restrictHome: home)]) == ["kstest1": .done])
        #expect(LocalSandbox.lstatInfo(home).map { $0.mode == 0o755 } == true)
        try box.sh("chmod 755 \(Shell.quote(parent))")
        try box.sh("chown nobody \(Shell.quote(home)) && chmod 777 \(Shell.quote(home))")
        guard case .conflict(let reason)? = try box.apply([AccountApply(account: "kstest1", restrictHome: home)])["kstest1"] else {
            Issue.record("someone else's home was not refused")
            return
        }
        #expect(reason.contains("neither kstest1 nor root"))
        #expect(LocalSandbox.lstatInfo(home).map { $0.mode == 0o777 } == true)
    }

    /// `doctor --fix`: useradd's `!` and `!!` become `*`; a hash behind the `!`
    /// is never replaced, nor usermod -L's `!*` (a lock set on purpose).
    @Test func unlockReplacesOnlyALockWithoutAPassword() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        _ = try box.addUser("kstest1")
        let field = "getent shadow kstest1 | cut -d: -f2"
        for locked in ["!", "!!"] {
            try box.sh("usermod -p \(Shell.quote(locked)) kstest1")
            #expect(try box.apply([AccountApply(account: "kstest1", unlock: true)]) == ["kstest1": .done])
            #expect(try box.sh(field) == "*\n")
        }
        try box.sh("usermod -p '!*' kstest1")
        guard case .conflict? = try box.apply([AccountApply(account: "kstest1", unlock: true)])["kstest1"] else {
            Issue.record("usermod -L's lock was undone")
            return
        }
        #expect(try box.sh(field) == "!*\n")
        try box.sh("usermod -p '!$6$salt$hash' kstest1")
        guard case .conflict(let reason)? = try box.apply([AccountApply(account: "kstest1", unlock: true)])["kstest1"] else {
            Issue.record("a password hash was replaced")
            return
        }
        #expect(reason.contains("password hash") && !reason.contains("$6$"))
        #expect(try box.sh(field) == "!$6$salt$hash\n")
        try box.sh("usermod -p '*' kstest1")
        guard case .conflict? = try box.apply([AccountApply(account: "kstest1", unlock: true)])["kstest1"] else {
            Issue.record("an unlocked account was not a conflict")
            return
        }
    }

    /// Creation through the planner: group and user with `*` in shadow, the
    /// file written, and a second probe + plan that finds nothing to do.
    @Test func createsTheAccountAndTheSecondPlanIsEmpty() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        let name = "kstest2"
        try #require(box.passwd(name) == nil, "\(name) already exists")
        let id = try #require((47000..<48000).first { id in
            ((try? box.sh("getent passwd \(id) || true; getent group \(id) || true")) ?? "x").isEmpty
        })
        let key = try SyncKeys.ed25519()
        let target = AccountTarget(name: name, uid: UInt32(id), gid: UInt32(id), group: name, shell: "/bin/sh",
                                   home: box.home(name), create: true,
                                   blocks: [DesiredBlock(project: "usersample", role: "deploy", entries: [DesiredEntry(keyName: "k", key: key)])])
        let first = try box.plan([target])
        #expect(first.failure == nil)
        let apply = try #require(first.accounts.first?.apply)
        #expect(apply.create?.createGroup == true)
        let outcomes = try box.apply([apply])
        let expected = Array(SyncKeys.block(project: "usersample", role: "deploy", [key.openSSHLine]).utf8)
        #expect(outcomes == [name: .written(hash: SHA256Digest.hex(expected))])

        let passwd = try #require(box.passwd(name))
        #expect(passwd[2] == String(id) && passwd[3] == String(id) && passwd[5] == box.home(name) && passwd[6] == "/bin/sh")
        #expect(try box.sh("getent shadow \(name) | cut -d: -f2") == "*\n")
        #expect(try box.sh("getent group \(name) | cut -d: -f3") == "\(id)\n")
        #expect(LocalSandbox.read(box.akPath(name)) == expected)
        #expect(LocalSandbox.lstatInfo(box.akPath(name)).map { $0.mode == 0o600 && $0.uid == id } == true)

        let second = try box.plan([target])
        #expect(second.failure == nil)
        let plan = try #require(second.accounts.first)
        #expect(plan.apply == nil)
        #expect(plan.changes.isEmpty)
        #expect(plan.drift.isEmpty, "\(plan.drift)")
    }

    /// The apply runs in the shell the probe ran in (push): whatever the
    /// probe left defined there, it creates the account and writes the file
    /// as in a shell of its own, and the next plan is empty.
    @Test func theApplyInTheProbesShellCreatesAndWrites() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        let name = "kstest4"
        try #require(box.passwd(name) == nil, "\(name) already exists")
        let key = try SyncKeys.ed25519()
        let target = AccountTarget(name: name, group: name, shell: "/bin/sh", home: box.home(name), create: true,
                                   blocks: [DesiredBlock(project: "usersample", role: "deploy", entries: [DesiredEntry(keyName: "k", key: key)])])
        let apply = try #require(try box.plan([target]).accounts.first?.apply)
        let (probe, outcomes) = try box.probeThenApply([target], [apply])
        #expect(SyncPlanner.plan(probe: probe, accounts: [target], options: PlanOptions()).accounts.first?.apply == apply, "the probe's part is the whole probe reply")
        let expected = Array(SyncKeys.block(project: "usersample", role: "deploy", [key.openSSHLine]).utf8)
        #expect(outcomes == [name: .written(hash: SHA256Digest.hex(expected))])
        #expect(LocalSandbox.read(box.akPath(name)) == expected)
        #expect(try box.sh("getent shadow \(name) | cut -d: -f2") == "*\n")
        let uid = try #require(box.passwd(name).flatMap { Int($0[2]) })
        #expect(LocalSandbox.lstatInfo(box.akPath(name)).map { $0.mode == 0o600 && $0.uid == uid } == true)
        #expect(try box.plan([target]).accounts.first?.apply == nil)
    }

    @Test func failedUseraddWritesNothing() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        let name = "kstest3"
        try #require(box.passwd(name) == nil, "\(name) already exists")
        let apply = AccountApply(account: name,
                                 create: AccountCreation(uid: 0, gid: nil, group: "root", createGroup: false, home: box.home(name), shell: "/bin/sh"),
                                 write: FileWrite(path: box.akPath(name), expectedHash: "absent", content: content))
        let outcomes = try box.apply([apply])
        guard case .failed(let reason)? = outcomes[name] else { Issue.record("expected a failure, got \(outcomes)"); return }
        #expect(reason.hasPrefix("useradd failed"))
        #expect(box.passwd(name) == nil)
        #expect(!FileManager.default.fileExists(atPath: box.home(name)))
    }

    /// The whole loop on an existing account: unmanaged bytes survive, the
    /// second plan is empty, and an edit between probe and apply is a conflict
    /// that keeps the other writer's bytes.
    @Test func probePlanApplyLoopAndConcurrentEdit() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        let (uid, gid) = try box.addUser("kstest1")
        let dir = box.home("kstest1") + "/.ssh", path = box.akPath("kstest1")
        let a = try SyncKeys.ed25519(), b = try SyncKeys.ecdsa256(), c = try SyncKeys.rsa2048()
        let unmanaged = "# admin's note\r\n  \(c.openSSHLine)   \r\n"
        try box.sh("mkdir -m 700 \(Shell.quote(dir))")
        try LocalSandbox.write(path, Array(unmanaged.utf8))
        try box.sh("chown -R \(uid):\(gid) \(Shell.quote(dir)) && chmod 600 \(Shell.quote(path))")
        let target = AccountTarget(name: "kstest1", blocks: [DesiredBlock(project: "p", role: "r", entries: [
            DesiredEntry(keyName: "a", key: a), DesiredEntry(keyName: "b", key: b, options: "no-pty")])])

        let first = try box.plan([target])
        let apply = try #require(first.accounts.first?.apply)
        #expect(try box.apply([apply]).values.allSatisfy { if case .written = $0 { true } else { false } })
        let after = try #require(LocalSandbox.read(path))
        #expect(after.starts(with: Array(unmanaged.utf8)))

        let second = try box.plan([target])
        #expect(second.accounts.first?.apply == nil)
        #expect(second.accounts.first?.drift.isEmpty == true)

        // Plan a change, then let another writer edit the file before apply.
        let changed = AccountTarget(name: "kstest1", blocks: [DesiredBlock(project: "p", role: "r", entries: [DesiredEntry(keyName: "a", key: a)])])
        let third = try box.plan([changed])
        let pending = try #require(third.accounts.first?.apply)
        let other = after + Array("# edited by someone else\n".utf8)
        try LocalSandbox.write(path, other)
        let outcome = try box.apply([pending])
        #expect(outcome["kstest1"].map { if case .conflict = $0 { true } else { false } } == true, "\(outcome)")
        #expect(LocalSandbox.read(path) == other)
    }

    /// Root that cannot search the account's home (root-squashed NFS: root is
    /// `nobody` there; here a root shell without CAP_DAC_OVERRIDE and
    /// CAP_DAC_READ_SEARCH in front of a 0700 home) must not take the keys
    /// file for absent: the probe fails the account, and an apply planned
    /// against "absent" is a conflict, so the user's lines are never replaced.
    @Test func aFileRootCannotSeeIsNeverTakenForAbsent() throws {
        let box = try LocalSandbox()
        defer { box.tearDown() }
        _ = try box.addUser("kstest1")
        let home = box.home("kstest1"), path = box.akPath("kstest1")
        let key = try SyncKeys.ed25519()
        let hand = Array("# hand-kept\n\(key.openSSHLine)\n".utf8)
        try box.sh("mkdir -m 700 \(Shell.quote(home + "/.ssh")) && chown kstest1: \(Shell.quote(home + "/.ssh")) && chmod 700 \(Shell.quote(home))")
        try LocalSandbox.write(path, hand)
        try box.sh("chown kstest1: \(Shell.quote(path))")
        // As the engine runs it (`sh -s` with the client address), minus root's
        // power over other users' folders.
        let squashed = ["-c", "exec setpriv --inh-caps=-dac_override,-dac_read_search --bounding-set=-dac_override,-dac_read_search -- /bin/sh -s -- \"$1\"",
                        "sh", "127.0.0.1 40000 22"]

        let nonce = ProbeScript.makeNonce()
        let probed = try box.run(ProbeScript.render([ProbeRequest(account: "kstest1", uid: nil, gid: nil, group: nil)], nonce: nonce), arguments: squashed)
        #expect(probed.status == 0, "\(probed.stderr)")
        let probe = try HostProbe(reply: probed.stdout, nonce: nonce)
        let account = try #require(probe.accounts["kstest1"])
        #expect(account.readError?.contains("root cannot tell whether \(path) exists") == true, "\(String(describing: account.readError))")
        let target = AccountTarget(name: "kstest1", group: "kstest1", shell: "/bin/sh", home: home,
                                   blocks: [DesiredBlock(project: "usersample", role: "deploy", entries: [DesiredEntry(keyName: "k", key: key)])])
        let plan = SyncPlanner.plan(probe: probe, accounts: [target], options: PlanOptions())
        #expect(plan.accounts.first?.drift.contains { $0.kind == .fileUnreadable && $0.detail.contains("root cannot tell") } == true, "\(plan.accounts)")
        #expect(plan.accounts.first?.apply == nil)

        let applyNonce = ProbeScript.makeNonce()
        let output = try box.run(ApplyScript.render([write(path, Array("replaced\n".utf8), expected: "absent")], nonce: applyNonce),
                                 arguments: squashed)
        #expect(output.status == 0, "\(output.stderr)")
        let outcomes = try ApplyScript.outcomes(from: output.stdout, nonce: applyNonce)
        guard case .conflict(let reason)? = outcomes["kstest1"] else { Issue.record("expected a conflict, got \(outcomes)"); return }
        #expect(reason.contains("root cannot tell whether \(home)/.ssh exists"))
        #expect(LocalSandbox.read(path) == hand)

        // A home root can enter, a key folder it cannot: the compare-and-swap
        // token is `hidden`, never `absent`.
        try box.sh("chmod 755 \(Shell.quote(home))")
        let second = try box.run(ApplyScript.render([write(path, Array("replaced\n".utf8), expected: "absent")], nonce: applyNonce),
                                 arguments: squashed)
        let refused = try ApplyScript.outcomes(from: second.stdout, nonce: applyNonce)
        guard case .conflict(let why)? = refused["kstest1"] else { Issue.record("expected a conflict, got \(refused)"); return }
        #expect(why.contains("root cannot tell whether \(path) exists"))
        #expect(LocalSandbox.read(path) == hand)

        // The same root with its full powers sees the file and plans from it.
        let full = try box.plan([target])
        #expect(full.failure == nil)
    }
}
