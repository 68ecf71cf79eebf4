import Foundation
import Testing
@testable import KeySync

/// A crafted probe reply with the doctor part: a healthy `usersample`
/// (uid 1001, user-private group, `*` password, 0755 home, 0700 `.ssh`,
/// 0600 file holding the managed key) that each test breaks in one way.
struct DoctorFixture {
    var account = FakeAccount(name: "usersample")
    /// Account lines of the doctor part (appended after the probe's own lines).
    var groups = "usersample"
    var lock = "0 star"
    var shadowFields = "19000:0:99999:7:::"
    var fileAccess = "yes"
    var walk: [String]?
    var extraAccountLines: [String] = []
    var shellListed = true
    /// Host lines (before the accounts).
    var clientAddress = "127.0.0.1"
    var logSources = ["/var/log/auth.log"]
    var config: [String] = []
    /// Lines of /etc/ssh/sshd_config.d/50-local.conf (read only where `config` Includes it).
    var dropIn: [String] = []
    var logLines: [String] = []
    var version = "OpenSSH_9.2, OpenSSL 3.0.19 27 Jan 2026"  // what Debian 12's `sshd -V` prints
    var target: AccountTarget
    var key: PublicKey

    init() throws {
        key = try SyncKeys.ed25519()
        target = try Self.target(keys: [("kp-usersample", key, nil)])
        account.sshd += ["usepam no", "pubkeyauthentication yes",
                         "pubkeyacceptedalgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256"]
        account.shadow = "star:19000:0:99999:7::"
        account.content = Array(SyncKeys.block(project: "usersample", role: "deploy", [SyncKeys.line(key)]).utf8)
    }

    /// The fixture with the account locked; `lock` is the probe's
    /// `shadow_lock` answer (`1 empty`: one `!` and nothing behind it).
    static func locked(_ lock: String) throws -> DoctorFixture {
        var fixture = try DoctorFixture()
        fixture.account.shadow = "locked:19000:0:99999:7::"
        fixture.lock = lock
        return fixture
    }

    /// `sshd -T` says `usepam yes` (the fixture's default is `usepam no`).
    mutating func usePAM() {
        account.sshd = account.sshd.map { $0 == "usepam no" ? "usepam yes" : $0 }
    }

    /// sshd reads the keys from `/etc/ssh/keys/%u`, outside home: the file
    /// has `fileStat`, `/etc/ssh/keys` has `folderStat`, and the walk goes
    /// up to `/` through root-owned 0755 folders.
    mutating func keysFileOutsideHome(fileStat: String, folderStat: String = "directory|755|0|0|4096") {
        account.sshd = account.sshd.map { $0.hasPrefix("authorizedkeysfile") ? "authorizedkeysfile /etc/ssh/keys/%u" : $0 }
        account.pathOverride = "/etc/ssh/keys/usersample"
        account.fileStat = fileStat
        walk = [
            "walk_file \(fileStat)\t/etc/ssh/keys/usersample",
            "walk \(folderStat)\t/etc/ssh/keys",
            "walk directory|755|0|0|4096\t/etc/ssh",
            "walk directory|755|0|0|4096\t/etc",
            "walk directory|755|0|0|4096\t/",
        ]
    }

    /// An account target with one block `usersample/deploy` holding `keys`.
    static func target(keys: [(String, PublicKey, String?)], create: Bool = true) throws -> AccountTarget {
        AccountTarget(name: "usersample", uid: 1001, gid: 1001, create: create, blocks: [
            DesiredBlock(project: "usersample", role: "deploy",
                         entries: keys.map { DesiredEntry(keyName: $0.0, key: $0.1, options: $0.2) }),
        ])
    }

    /// The managed file holding `lines` (authorized_keys lines, without terminators).
    mutating func setContent(_ text: String) { account.content = Array(text.utf8) }

    /// The default walk: file, `.ssh`, home, from the fake's own stat lines.
    var defaultWalk: [String] {
        let a = account
        return [
            "walk_file \(a.fileStat ?? "regular file|600|\(a.uid)|\(a.gid)|100")\t\(a.path)",
            "walk \(a.dirStat ?? "directory|700|\(a.uid)|\(a.gid)|4096")\t\(a.homePath)/.ssh",
            "walk \(a.homeStat ?? "directory|755|\(a.uid)|\(a.gid)|4096")\t\(a.homePath)",
        ]
    }

    var reply: [UInt8] {
        var host = "client_addr \(clientAddress)\nsshd_version \(version)\n"
        host += logSources.map { "log_source \($0)\n" }.joined()
        host += config.enumerated().map { "config \($0.offset + 1)\t/etc/ssh/sshd_config\t\($0.element)\n" }.joined()
        host += dropIn.enumerated().map { "config \($0.offset + 1)\t/etc/ssh/sshd_config.d/50-local.conf\t\($0.element)\n" }.joined()
        // In the order the probe prints them: diagnose_account runs after probe_account.
        var lines: [String] = []
        if account.exists {
            lines += ["groups \(groups) ", "shadow_lock \(lock) \(shadowFields)", "file_access \(fileAccess)"] + (walk ?? defaultWalk)
        }
        lines += extraAccountLines + ["log_checked "] + logLines.map { "log \($0)" }
        var fake = account
        fake.shellListed = shellListed
        return Array((FakeProbe.header + host).utf8) + fake.bytes() + Array(lines.map { $0 + "\n" }.joined().utf8) + Array(FakeProbe.end.utf8)
    }

    func probe(sourceLocation: SourceLocation = #_sourceLocation) throws -> HostProbe {
        try HostProbe(reply: reply, nonce: FakeProbe.nonce)
    }

    /// The findings for the fixture, on day 20000.
    func findings(key filter: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> [DoctorFinding] {
        Doctor.examine(target, probe: try probe(sourceLocation: sourceLocation),
                       context: Doctor.Context(host: "h1", key: filter, now: Date(timeIntervalSince1970: 20000 * 86400)))
    }

    /// The one finding with `code`, required.
    func finding(_ code: DoctorCode, sourceLocation: SourceLocation = #_sourceLocation) throws -> DoctorFinding {
        let all = try findings(sourceLocation: sourceLocation)
        let matching = all.filter { $0.code == code }
        #expect(matching.count == 1, "want one \(code.rawValue) in \(all.map(\.code.rawValue))", sourceLocation: sourceLocation)
        return try #require(matching.first, sourceLocation: sourceLocation)
    }

    /// The one finding with `code`, required, and of `severity`.
    func finding(_ code: DoctorCode, _ severity: DoctorFinding.Severity, sourceLocation: SourceLocation = #_sourceLocation) throws -> DoctorFinding {
        let finding = try finding(code, sourceLocation: sourceLocation)
        #expect(finding.severity == severity, "\(code.rawValue)", sourceLocation: sourceLocation)
        return finding
    }

    /// Codes of findings that are warnings or errors.
    func problems(sourceLocation: SourceLocation = #_sourceLocation) throws -> [DoctorCode] {
        try findings(sourceLocation: sourceLocation).filter { $0.severity != .info }.map(\.code)
    }
}
