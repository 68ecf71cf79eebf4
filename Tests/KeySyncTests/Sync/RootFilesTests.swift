import Foundation
import Testing
@testable import KeySync

@Suite("Root files: /etc/ssh/keysync content, planning, probe and write scripts")
struct RootFilesTests {
    typealias F = InventoryFixtures
    static let ca = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK7SM2KtoSDsPPRHKV+Iixz0ebybyttPud7ae8PCgxWT ca"

    static func inventory(extraRole: String = "", revoked: String = "") throws -> Inventory {
        try F.load("""
            defaults: {user: ops}
            keys:
              kp-alice: {file: keys/alice.pub}
            certificate_authorities:
              corp-ca: { public: "\(ca)" }
              other-ca: { file: keys/bob.pub }
            \(revoked)
            hosts:
              web-1: {address: 127.77.0.1}
              web-2: {address: 127.77.0.2}
            projects:
              billing:
                hosts: [web-1]
                roles:
                  deploy: { keys: [kp-alice], principals: [billing-deploy, ops], trusted_cas: [corp-ca] }
                  app: { keys: [kp-alice] }
              other:
                hosts: [web-1, web-2]
                roles:
                  deploy: { keys: [kp-alice], principals: [ops, other-deploy], trusted_cas: [other-ca] }
            """)
    }

    @Test func theFilesOfAHostMergeEveryProjectThere() throws {
        let inventory = try Self.inventory()
        let files = RootFiles.files(for: "web-1", in: inventory)
        #expect(files.map(\.path) == ["/etc/ssh/keysync/trusted_user_ca_keys", "/etc/ssh/keysync/principals/app",
                                      "/etc/ssh/keysync/principals/deploy", "/etc/ssh/keysync/revoked_keys.krl"])
        let trusted = String(decoding: files[0].content, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(trusted == ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK7SM2KtoSDsPPRHKV+Iixz0ebybyttPud7ae8PCgxWT corp-ca",
                            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOJ7VhfDTf72vO/4wVVnlPMeUxaGBXgq6vJwb1xYPQoi other-ca"])
        // An account without principals gets a file without any: none left over.
        #expect(String(decoding: files[1].content, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") } == [])
        #expect(String(decoding: files[2].content, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }
                == ["billing-deploy", "ops", "other-deploy"])
        #expect(files[3].content == RevocationList(inventory: inventory).encoded())
        // web-2 trusts only other-ca.
        let web2 = RootFiles.files(for: "web-2", in: inventory)
        #expect(String(decoding: web2[0].content, as: UTF8.self).contains("other-ca"))
        #expect(!String(decoding: web2[0].content, as: UTF8.self).contains("corp-ca"))
        #expect(files.map(\.driftKind) == [.caFileChanged, .principalsChanged, .principalsChanged, .krlStale])
    }

    @Test func theKRLSparesTheKeyKeysyncLogsInWithUnlessForced() throws {
        // sshd reads RevokedKeys on every login: revoking keysync's own key there would lock it out of every host at once.
        let login = "SHA256:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"  // an admin key no role grants
        let inventory = try Self.inventory(revoked: "revoked: [\(login), \(F.bobFingerprint)]")
        let files = RootFiles.files(for: "web-1", in: inventory)
        let full = try #require(files.last?.revocations)
        #expect(full.keyHashes.count == 2)
        let (spared, item) = RootFiles.sparingLoginKey(files, fingerprint: login, force: false)
        let krl = try #require(spared.last?.revocations)
        #expect(krl.keyHashes.count == 1 && spared.last?.content == krl.encoded() && spared.last?.content != files.last?.content)
        #expect(item?.kind == .revokedKey && item?.fingerprint == login && item?.detail.contains("lockout guard") == true)
        // The other files are as they were; the KRL still revokes bob.
        #expect(Array(spared.dropLast()) == Array(files.dropLast()))
        var expected = RevocationList()
        try expected.revokeKey(sha256: [UInt8](try #require(Data(base64Encoded: String(F.bobFingerprint.dropFirst(7)) + "="))))
        #expect(krl.keyHashes == expected.keyHashes)
        // --force, another login key, or no login key known: the KRL as the inventory says.
        #expect(RootFiles.sparingLoginKey(files, fingerprint: login, force: true).0 == files)
        #expect(RootFiles.sparingLoginKey(files, fingerprint: "SHA256:" + String(repeating: "A", count: 43), force: false).1 == nil)
        #expect(RootFiles.sparingLoginKey(files, fingerprint: nil, force: false).0 == files)
    }

    @Test func aRevokedCAIsNotTrusted() throws {
        let inventory = try Self.inventory(revoked: "revoked: [\(F.bobFingerprint)]")
        let trusted = String(decoding: RootFiles.files(for: "web-2", in: inventory)[0].content, as: UTF8.self)
        #expect(!trusted.contains("other-ca"))
    }

    /// An inventory with a revoked key and no `certificate_authorities:`.
    static func withoutCertificates() throws -> Inventory {
        try F.load("""
            defaults: {user: ops}
            keys:
              kp-alice: {file: keys/alice.pub}
            revoked: [\(F.bobFingerprint)]
            hosts:
              web-1: {address: 127.77.0.1}
            projects:
              p: { hosts: [web-1], roles: { deploy: { keys: [kp-alice] } } }
            """)
    }

    @Test func withoutCertificateAuthoritiesNothingIsManaged() throws {
        let inventory = try Self.withoutCertificates()
        #expect(RootFiles.files(for: "web-1", in: inventory).isEmpty)
    }

    /// What keysync left under /etc/ssh/keysync and no grant needs is planned
    /// emptied: regular files only, a principals file by its account; the
    /// files the run plans itself and anything else are not touched.
    @Test func theSweepEmptiesWhatNoGrantNeeds() throws {
        let inventory = try Self.withoutCertificates()
        let sweep = RootFiles.sweep(in: inventory)
        var regular = RootFileProbe(), folder = RootFileProbe()
        regular.stat = FileStat(kind: .regular, mode: 0o644, uid: 0, gid: 0)
        regular.content = Array("# keysync\nold-principal\n".utf8)
        folder.stat = FileStat(kind: .directory, mode: 0o755, uid: 0, gid: 0)
        let probe = [RootFiles.trustedCAsPath: regular, RootFiles.principalsPath("deploy"): regular,
                     RootFiles.principalsFolder + "/sub": folder, RootFiles.revocationListPath: regular]
        let planned = [RootFile(path: RootFiles.principalsPath("deploy"), purpose: .principals(account: "deploy"), content: [])]
        let files = sweep.files(found: probe, planned: planned)
        #expect(files.map(\.path) == [RootFiles.revocationListPath, RootFiles.trustedCAsPath])
        #expect(files.first?.content == RevocationList(inventory: inventory).encoded())
        #expect(String(decoding: files[1].content, as: UTF8.self).split(separator: "\n").allSatisfy { $0.hasPrefix("#") })
        let stale = sweep.files(found: [RootFiles.principalsPath("gone"): regular], planned: [])
        #expect(stale.map(\.purpose) == [.principals(account: "gone")])
        let plan = RootFilesPlan.plan(stale, probe: [RootFiles.principalsPath("gone"): regular], leftOver: [RootFiles.principalsPath("gone")])
        #expect(plan.drift.map(\.kind) == [.principalsChanged] && plan.drift.first?.account == "gone")
        #expect(plan.drift.first?.detail.contains("still grants what the inventory no longer does") == true)
        #expect(plan.writes.map(\.path) == [RootFiles.principalsPath("gone")])
    }

    static let file = RootFile(path: "/etc/ssh/keysync/principals/deploy", purpose: .principals(account: "deploy"), content: Array("p\n".utf8))

    static func seen(_ content: String?, mode: Int = 0o644, uid: Int = 0, kind: FileStat.Kind = .regular) -> RootFileProbe {
        var probe = RootFileProbe()
        probe.stat = content == nil && kind == .regular ? .absent : FileStat(kind: kind, mode: mode, uid: uid, gid: 0)
        probe.content = content.map { Array($0.utf8) }
        return probe
    }

    @Test func planningComparesContentOwnerAndMode() {
        let inSync = RootFilesPlan.plan([Self.file], probe: [Self.file.path: Self.seen("p\n")])
        #expect(inSync.drift.isEmpty && inSync.writes.isEmpty)

        let missing = RootFilesPlan.plan([Self.file], probe: [:])
        #expect(missing.drift.map(\.kind) == [.principalsChanged])
        #expect(missing.drift.first?.account == "deploy")
        #expect(missing.writes == [FileWrite(path: Self.file.path, expectedHash: "absent", content: Array("p\n".utf8))])
        // The file did not exist: the snapshot says so (history, restore).
        #expect(missing.snapshots == [Snapshot(account: "deploy", path: Self.file.path, content: nil)])

        let changed = RootFilesPlan.plan([Self.file], probe: [Self.file.path: Self.seen("q\n", mode: 0o666, uid: 1000)])
        #expect(changed.drift.map(\.kind) == [.principalsChanged, .fileOwner, .fileMode])
        #expect(changed.drift.allSatisfy { $0.repairable })
        #expect(changed.writes.map(\.expectedHash) == [SHA256Digest.hex(Array("q\n".utf8))])
        #expect(changed.snapshots.map(\.content) == [Array("q\n".utf8)])
    }

    @Test func aLinkAnUnsafeFolderOrAnUnreadableFileIsNeverWritten() {
        let link = RootFilesPlan.plan([Self.file], probe: [Self.file.path: Self.seen(nil, kind: .symlink)])
        #expect(link.drift.map(\.kind) == [.symlink])
        // A linked revocation list is also krl_stale, unrepairable: push fails the host instead of passing (review s13).
        let krl = RootFile(path: RootFiles.revocationListPath, purpose: .revocationList, content: [1, 2])
        let linkedKRL = RootFilesPlan.plan([krl], probe: [krl.path: Self.seen(nil, kind: .symlink)])
        #expect(linkedKRL.drift.map(\.kind) == [.symlink, .krlStale] && linkedKRL.drift.allSatisfy { !$0.repairable })
        var result = HostResult(host: "h", status: .drift)
        result.drift = linkedKRL.drift
        SyncEngine.failIfRevocationBlocked(&result, label: "h")
        #expect(result.status == .failed && result.errorKind == .revocationBlocked)
        var unsafe = RootFileProbe()
        unsafe.unsafe = "/etc/ssh/keysync is owned by uid 1000, not root"
        let folder = RootFilesPlan.plan([Self.file], probe: [Self.file.path: unsafe])
        #expect(folder.drift.map(\.kind) == [.principalsChanged])
        #expect(folder.drift.first?.detail.contains("owned by uid 1000") == true)
        var unreadable = Self.seen(nil, kind: .regular)
        unreadable.stat = FileStat(kind: .regular, mode: 0o644, uid: 0, gid: 0)
        let large = RootFilesPlan.plan([Self.file], probe: [Self.file.path: unreadable])
        for plan in [link, folder, large] {
            #expect(plan.writes.isEmpty)
            #expect(plan.drift.allSatisfy { !$0.repairable })
        }
    }

    @Test func settingsSSHDLacksAreDriftWithTheFix() throws {
        let files = RootFiles.files(for: "web-1", in: try Self.inventory())
        let inSync = RootFilesPlan.plan([], probe: [:], sshd: [:])
        #expect(inSync.drift.isEmpty)
        let none = RootFilesPlan.plan(files, probe: [:], sshd: ["trustedusercakeys": "none", "authorizedprincipalsfile": "none", "revokedkeys": "none"])
        let item = try #require(none.drift.first { $0.kind == .sshdConfigMissing })
        #expect(!item.repairable)
        #expect(item.detail == "sshd does not use the files keysync writes (TrustedUserCAKeys is none, AuthorizedPrincipalsFile is none, RevokedKeys is none); add to sshd_config: TrustedUserCAKeys /etc/ssh/keysync/trusted_user_ca_keys; AuthorizedPrincipalsFile /etc/ssh/keysync/principals/%u; RevokedKeys /etc/ssh/keysync/revoked_keys.krl")
        let partly = RootFilesPlan.plan(files, probe: [:], sshd: ["trustedusercakeys": "/etc/ssh/keysync/trusted_user_ca_keys",
                                                                 "authorizedprincipalsfile": "/etc/ssh/keysync/principals/%u",
                                                                 "revokedkeys": "/etc/ssh/other.krl"])
        #expect(partly.drift.first { $0.kind == .sshdConfigMissing }?.detail.hasSuffix("(RevokedKeys is /etc/ssh/other.krl); set in sshd_config (edit the line that sets another value: sshd keeps the first one): RevokedKeys /etc/ssh/keysync/revoked_keys.krl") == true)
        let used = RootFilesPlan.plan(files, probe: [:], sshd: ["trustedusercakeys": "/etc/ssh/keysync/trusted_user_ca_keys",
                                                               "authorizedprincipalsfile": "/etc/ssh/keysync/principals/%u",
                                                               "revokedkeys": "/etc/ssh/keysync/revoked_keys.krl"])
        #expect(!used.drift.contains { $0.kind == .sshdConfigMissing })
    }

    @Test func theProbeReplyIsParsedWithTheNonce() throws {
        let reply = """
            KEYSYNC-PROBE 2
            rootfile n1 /etc/ssh/keysync/revoked_keys.krl regular file|644|0|0|3
            rootfile_content-begin n1 base64
            \(Data([1, 2, 3]).base64EncodedString())
            rootfile_content-end n1 0
            rootfile n1 /etc/ssh/keysync/principals/deploy absent
            rootfile_unsafe n1 /etc/ssh/keysync/trusted_user_ca_keys /etc/ssh/keysync is a symlink
            @end n1

            """
        let probe = try HostProbe(reply: Array(reply.utf8), nonce: "n1")
        #expect(probe.rootFiles["/etc/ssh/keysync/revoked_keys.krl"]?.content == [1, 2, 3])
        #expect(probe.rootFiles["/etc/ssh/keysync/revoked_keys.krl"]?.stat == FileStat(kind: .regular, mode: 0o644, uid: 0, gid: 0))
        #expect(probe.rootFiles["/etc/ssh/keysync/principals/deploy"]?.stat.kind == .absent)
        #expect(probe.rootFiles["/etc/ssh/keysync/principals/deploy"]?.hash == "absent")
        #expect(probe.rootFiles["/etc/ssh/keysync/trusted_user_ca_keys"]?.unsafe == "/etc/ssh/keysync is a symlink")
        // A frame with another nonce is refused.
        let forged = reply.replacingOccurrences(of: "rootfile_unsafe n1", with: "rootfile_unsafe n2")
        #expect(throws: ProbeError.self) { try HostProbe(reply: Array(forged.utf8), nonce: "n1") }
    }

    @Test func scriptsCallTheRootFileFunctionsOnlyWhenAsked() {
        #expect(!ProbeScript.render([], nonce: "n").contains("probe_root_file"))
        let probe = ProbeScript.render([], nonce: "n", rootFiles: ["/etc/ssh/keysync/x y"])
        #expect(probe.contains("probe_root_file '/etc/ssh/keysync/x y'\n"))
        #expect(!ApplyScript.render([], nonce: "n").contains("write_root_file"))
        let apply = ApplyScript.render([], nonce: "n", rootFiles: [FileWrite(path: "/etc/ssh/keysync/k", expectedHash: "absent", content: [0, 255])])
        #expect(apply.contains("write_root_file '/etc/ssh/keysync/k' 'absent' '\(SHA256Digest.hex([0, 255]))' 'AP8='\n"))
    }

    // MARK: The shell, run here as root in a folder under /root (root-owned all the way up)

    /// A root-owned 0755 folder under /root, so the folder checks pass; removed afterwards.
    struct RootFolder {
        let path: String
        init() throws {
            path = "/root/keysync-rootfiles-\(UUID().uuidString.prefix(8))"
            try LocalSandbox.sh("mkdir -m 755 \(Shell.quote(path)) && chown 0:0 \(Shell.quote(path))")
        }
        func remove() { _ = try? LocalSandbox.sh("rm -rf -- \(Shell.quote(path))") }
    }

    static func apply(_ writes: [FileWrite]) throws -> [String: ApplyOutcome] {
        let output = try LocalShell.run(ApplyScript.render([], nonce: "n9", rootFiles: writes), arguments: ["-s"])
        return try ApplyScript.outcomes(from: output.stdout, nonce: "n9")
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isWritableFile(atPath: "/root")))
    func theWriteIsRootOwned0644AndComparesAndSwaps() throws {
        let folder = try RootFolder()
        defer { folder.remove() }
        let path = folder.path + "/keysync/principals/deploy"
        let first = try Self.apply([FileWrite(path: path, expectedHash: "absent", content: Array("a\n".utf8))])
        #expect(first[path] == .written(hash: SHA256Digest.hex(Array("a\n".utf8))))
        #expect(try LocalSandbox.sh("stat -c '%U:%G %a' \(path) \(folder.path)/keysync/principals") == "root:root 644\nroot:root 755\n")
        #expect(try LocalSandbox.sh("cat \(path)") == "a\n")
        // The file changed after the plan: conflict, nothing written.
        let stale = try Self.apply([FileWrite(path: path, expectedHash: "absent", content: Array("b\n".utf8))])
        #expect(stale[path] == .conflict("\(path) changed since it was read"))
        #expect(try LocalSandbox.sh("cat \(path)") == "a\n")
        // A link in place of the file is never followed.
        try LocalSandbox.sh("rm \(path) && ln -s /etc/passwd \(path)")
        let link = try Self.apply([FileWrite(path: path, expectedHash: "absent", content: Array("c\n".utf8))])
        #expect(link[path] == .conflict("\(path) is a symlink; left alone"))
        // A folder someone else may write in: refused before anything is made in it.
        try LocalSandbox.sh("rm \(path) && chmod 777 \(folder.path)/keysync/principals")
        let open = try Self.apply([FileWrite(path: path, expectedHash: "absent", content: Array("d\n".utf8))])
        #expect(open[path] == .conflict("\(folder.path)/keysync/principals is writable by group or others; left alone"))
        #expect(try LocalSandbox.sh("ls -A \(folder.path)/keysync/principals") == "")
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isWritableFile(atPath: "/root")))
    func theProbeReadsWithoutFollowingLinksAndReportsUnsafeFolders() throws {
        let folder = try RootFolder()
        defer { folder.remove() }
        try LocalSandbox.sh("mkdir -m 755 \(folder.path)/k && printf 'xy' > \(folder.path)/k/f && chmod 644 \(folder.path)/k/f && ln -s /etc/shadow \(folder.path)/k/l")
        let paths = ["\(folder.path)/k/f", "\(folder.path)/k/l", "\(folder.path)/k/none", "\(folder.path)/new/none"]
        let output = try LocalShell.run(ProbeScript.render([], nonce: "n7", rootFiles: paths), arguments: ["-s"])
        let probe = try HostProbe(reply: output.stdout, nonce: "n7")
        #expect(probe.rootFiles[paths[0]]?.content == Array("xy".utf8))
        #expect(probe.rootFiles[paths[1]]?.stat.kind == .symlink)
        #expect(probe.rootFiles[paths[1]]?.content == nil)
        #expect(probe.rootFiles[paths[2]]?.stat.kind == .absent)
        #expect(probe.rootFiles[paths[3]]?.hash == "absent")
        try LocalSandbox.sh("chown 1:1 \(folder.path)/k")
        let unsafe = try HostProbe(reply: try LocalShell.run(ProbeScript.render([], nonce: "n7", rootFiles: paths), arguments: ["-s"]).stdout, nonce: "n7")
        #expect(unsafe.rootFiles[paths[0]]?.unsafe == "\(folder.path)/k is owned by uid 1, not root")
        #expect(unsafe.rootFiles[paths[0]]?.content == nil)
    }
}
