import Foundation
import Testing
@testable import KeySync
@testable import KeySyncCLI

@Suite("manage_sshd: inventory field, drop-in content, Include check, planning, script reply, canary waves")
struct SSHDDropInPlanTests {
    typealias F = InventoryFixtures

    static func yaml(defaults: String = "manage_sshd: true", host: String = "", authorities: Bool = true) -> String {
        """
        defaults: {user: ops, \(defaults)}
        keys:
          kp-alice: {file: keys/alice.pub}
        \(authorities ? "certificate_authorities:\n  corp-ca: { public: \"\(RootFilesTests.ca)\" }" : "")
        hosts:
          web-1: {address: 127.77.0.1}
          web-2: {address: 127.77.0.2\(host)}
        projects:
          billing:
            hosts: [web-1, web-2]
            roles:
              deploy: { keys: [kp-alice]\(authorities ? ", principals: [billing-deploy], trusted_cas: [corp-ca]" : "") }
        """
    }

    // MARK: - Inventory

    @Test func manageSSHDComesFromDefaultsAndAHostOverridesIt() throws {
        let inventory = try F.load(Self.yaml(host: ", manage_sshd: false"))
        #expect(inventory.host(named: "web-1")?.manageSSHD == true)
        #expect(inventory.host(named: "web-2")?.manageSSHD == false)
        let off = try F.load(Self.yaml(defaults: "port: 22", host: ", manage_sshd: yes"))
        #expect(off.host(named: "web-1")?.manageSSHD == false)
        #expect(off.host(named: "web-2")?.manageSSHD == true)
    }

    @Test func manageSSHDMustBeABool() {
        F.expectError(Self.yaml(host: ", manage_sshd: sometimes"), at: 8, 45, "host \"web-2\": manage_sshd must be true or false")
    }

    @Test func manageSSHDWithoutAuthoritiesIsAWarning() throws {
        let inventory = try F.load(Self.yaml(authorities: false))
        #expect(inventory.warnings.map(\.message).contains { $0.contains("manage_sshd: true does nothing without certificate_authorities") },
                "\(inventory.warnings)")
        // And the job carries no drop-in.
        let run = SyncRun(inventory: inventory, targets: try inventory.select(), settings: SyncEngine.Settings(mode: .push))
        #expect(run.jobs.allSatisfy { $0.sshd == nil })
    }

    @Test func onlyHostsWithManageSSHDGetADropInJob() throws {
        let inventory = try F.load(Self.yaml(host: ", manage_sshd: false"))
        let run = SyncRun(inventory: inventory, targets: try inventory.select(), settings: SyncEngine.Settings(mode: .push))
        #expect(run.jobs.map { $0.sshd != nil } == [true, false])
        #expect(run.jobs[0].probedRootFiles.suffix(2) == [SSHDDropIn.path, SSHDDropIn.mainConfig])
        #expect(!run.jobs[1].probedRootFiles.contains(SSHDDropIn.path))
    }

    // MARK: - Content

    @Test func theDropInHoldsTheSettingsTheFilesNeed() throws {
        let files = RootFiles.files(for: "web-1", in: try RootFilesTests.inventory())
        #expect(SSHDDropIn.content(for: files).map { String(decoding: $0, as: UTF8.self) } == """
            # keysync: points sshd at the files under /etc/ssh/keysync (manage_sshd); edits are replaced
            TrustedUserCAKeys /etc/ssh/keysync/trusted_user_ca_keys
            AuthorizedPrincipalsFile /etc/ssh/keysync/principals/%u
            RevokedKeys /etc/ssh/keysync/revoked_keys.krl

            """)
        // Only the KRL: only RevokedKeys.
        let krlOnly = files.filter { $0.purpose == .revocationList }
        #expect(SSHDDropIn.content(for: krlOnly).map { String(decoding: $0, as: UTF8.self) }?.hasSuffix("\nRevokedKeys /etc/ssh/keysync/revoked_keys.krl\n") == true)
        #expect(SSHDDropIn.content(for: []) == nil)
        #expect(SSHDDropIn.effectiveSettings(SSHDDropIn.content(for: files)!) == [
            "trustedusercakeys /etc/ssh/keysync/trusted_user_ca_keys",
            "authorizedprincipalsfile /etc/ssh/keysync/principals/%u",
            "revokedkeys /etc/ssh/keysync/revoked_keys.krl",
        ])
    }

    // MARK: - Include

    @Test(arguments: [
        ("Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n", true),
        ("  include sshd_config.d/*.conf\n", true),
        ("Include=/etc/ssh/sshd_config.d/*\n", true),
        ("Include \"/etc/ssh/sshd_config.d/*.conf\"\n", true),
        ("Include /etc/ssh/other.d/*.conf /etc/ssh/sshd_config.d/50-keysync.conf\n", true),
        ("Include /etc/ssh/*/*.conf\r\n", true),
        ("#Include /etc/ssh/sshd_config.d/*.conf\n", false),
        ("Port 22 # Include /etc/ssh/sshd_config.d/*.conf\n", false),
        ("Include /etc/ssh/sshd_config.d/*.local\n", false),
        ("Include /etc/ssh/*.conf\n", false),
        ("Match User deploy\n  Include /etc/ssh/sshd_config.d/*.conf\n", false),
        ("", false),
    ])
    func anIncludeBeforeAnyMatchMustReachTheDropIn(_ text: String, _ covered: Bool) {
        #expect(SSHDDropIn.mainConfigIncludes(text: text) == covered)
    }

    // MARK: - Planning

    static let content = Array("# keysync\nRevokedKeys /etc/ssh/keysync/revoked_keys.krl\n".utf8)

    static func file(_ content: [UInt8]?, kind: FileStat.Kind = .regular, mode: Int = 0o644, uid: Int = 0) -> RootFileProbe {
        var probe = RootFileProbe()
        probe.stat = content == nil && kind == .regular ? .absent : FileStat(kind: kind, mode: mode, uid: uid, gid: 0)
        probe.content = kind == .regular ? content : nil
        return probe
    }

    static let debianMain = file(Array("Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n".utf8))

    static func plan(dropIn: RootFileProbe, main: RootFileProbe? = debianMain, heldBack: String? = nil) -> SSHDDropInPlan {
        var probe = [SSHDDropIn.path: dropIn]
        probe[SSHDDropIn.mainConfig] = main
        return SSHDDropInPlan.plan(HostJob.SSHDManagement(content: content, heldBack: heldBack), probe: probe)
    }

    @Test func aMissingDropInIsInstalledAndRemovedOnRollback() {
        let plan = Self.plan(dropIn: Self.file(nil))
        #expect(plan.action == .install(write: FileWrite(path: SSHDDropIn.path, expectedHash: "absent", content: Self.content), previous: nil))
        #expect(plan.drift.map(\.kind) == [.sshdDropinChanged] && plan.drift[0].repairable)
        #expect(plan.drift[0].detail == "\(SSHDDropIn.path) is missing")
        #expect(plan.snapshots.isEmpty)
    }

    @Test func aDropInInPlaceIsNoDriftAndNoWork() {
        let plan = Self.plan(dropIn: Self.file(Self.content), main: nil)
        #expect(plan == SSHDDropInPlan())
    }

    @Test func aChangedDropInIsReplacedAndTheOldOneKeptForRollback() {
        let old = Array("RevokedKeys none\n".utf8)
        let plan = Self.plan(dropIn: Self.file(old, mode: 0o666, uid: 1000))
        #expect(plan.action == .install(write: FileWrite(path: SSHDDropIn.path, expectedHash: SHA256Digest.hex(old), content: Self.content),
                                        previous: old))
        #expect(plan.drift.map(\.detail) == ["\(SSHDDropIn.path) differs from what keysync writes; owned by 1000:0, not root:root; mode 666, not 644"])
        #expect(plan.snapshots == [Snapshot(account: "", path: SSHDDropIn.path, content: old)])
        // Only the mode wrong: rewritten too.
        if case .install = Self.plan(dropIn: Self.file(Self.content, mode: 0o600)).action {} else { Issue.record("mode 600 not repaired") }
    }

    @Test func withoutAnIncludeThePushRefusesWithTheFix() {
        for main in [Self.file(Array("UsePAM yes\nMatch all\nInclude /etc/ssh/sshd_config.d/*.conf\n".utf8)), Self.file(nil)] {
            let plan = Self.plan(dropIn: Self.file(nil), main: main)
            guard case .refuse(let kind, let reason) = plan.action else { Issue.record("not refused: \(plan)"); continue }
            #expect(kind == .sshdIncludeMissing)
            #expect(reason.contains("nothing written"))
            #expect(plan.drift.count == 1 && !plan.drift[0].repairable && plan.drift[0].detail.contains(reason))
        }
        let reason = SSHDDropInPlan.includeProblem(Self.file(Array("Port 22\n".utf8)))
        #expect(reason?.contains("Fix: add `Include /etc/ssh/sshd_config.d/*.conf` to /etc/ssh/sshd_config") == true)
    }

    @Test func aHeldBackDropInIsDriftThatSaysWhy() {
        let plan = Self.plan(dropIn: Self.file(nil), heldBack: SSHDCanary.waiting)
        #expect(plan.action == .none)
        #expect(plan.drift.count == 1 && !plan.drift[0].repairable && plan.drift[0].detail.hasSuffix(SSHDCanary.waiting))
    }

    @Test func aLinkOrAnUnsafeFolderIsLeftAlone() {
        let link = Self.plan(dropIn: Self.file(nil, kind: .symlink, mode: 0o777))
        #expect(link.action == .none && link.drift.map(\.kind) == [.symlink])
        var unsafe = RootFileProbe()
        unsafe.unsafe = "/etc/ssh/sshd_config.d is writable by group or others"
        let plan = Self.plan(dropIn: unsafe)
        #expect(plan.action == .none && plan.drift.map(\.kind) == [.sshdDropinChanged] && !plan.drift[0].repairable)
    }

    // MARK: - Script and reply

    @Test func theInstallScriptCarriesEveryValueQuoted() {
        let write = FileWrite(path: SSHDDropIn.path, expectedHash: "absent", content: Self.content)
        let script = SSHDDropInScript.install(write, previous: nil, nonce: "n0")
        #expect(script.hasPrefix("nonce='n0'\n"))
        #expect(script.contains(EmbeddedScripts.rootFiles + EmbeddedScripts.sshdDropin))
        #expect(script.contains("install_dropin '/etc/ssh/sshd_config.d/50-keysync.conf' 'absent' '\(SHA256Digest.hex(Self.content))' '\(Data(Self.content).base64EncodedString())' 'absent' '' 'revokedkeys /etc/ssh/keysync/revoked_keys.krl'\n"))
        let rollback = SSHDDropInScript.rollback(write, previous: Array("old\n".utf8), nonce: "n0")
        #expect(rollback.contains("rollback_dropin '/etc/ssh/sshd_config.d/50-keysync.conf' '\(SHA256Digest.hex(Self.content))' '\(SHA256Digest.hex(Array("old\n".utf8)))' 'b2xkCg=='\n"))
    }

    @Test func theReplyIsReadStepByStepAndNeedsTheNonce() throws {
        let reply = Array("""
            KEYSYNC-APPLY 2
            result n0 /etc/ssh/sshd_config.d/50-keysync.conf ok abc
            sshd n0 restore ok removed it
            sshd n0 test failed line 4: Bad configuration option
            @end n0

            """.utf8)
        let steps = try SSHDDropInScript.steps(from: reply, nonce: "n0")
        #expect(steps == [.init(name: "restore", ok: true, text: "removed it"), .init(name: "test", ok: false, text: "line 4: Bad configuration option")])
        #expect(throws: ProbeError.self) { try SSHDDropInScript.steps(from: reply, nonce: "n1") }
        let forged = Array("KEYSYNC-APPLY 2\nsshd n9 reload ok\n@end n0\n".utf8)
        #expect(throws: ProbeError.self) { try SSHDDropInScript.steps(from: forged, nonce: "n0") }
    }

    @Test(arguments: [
        ("write", HostFailureKind.applyFailed), ("test", .sshdConfigInvalid), ("effective", .sshdDropinOverridden), ("reload", .sshdReloadFailed),
    ])
    func aFailedStepNamesItsKind(_ step: String, _ kind: HostFailureKind) {
        let steps = [SSHDDropInScript.Step(name: "restore", ok: true, text: "put the previous one back"),
                     SSHDDropInScript.Step(name: step, ok: false, text: "why")]
        guard case .failed(let found, let reason)? = SyncEngine.failure(in: steps) else { Issue.record("no failure"); return }
        #expect(found == kind)
        #expect(step == "write" || reason.contains("why") && reason.contains("put the previous one back"))
    }

    @Test func aWriteConflictIsAConflict() {
        let steps = [SSHDDropInScript.Step(name: "write", ok: false, text: "conflict: /etc/ssh/sshd_config.d/50-keysync.conf changed since it was read")]
        guard case .failed(let kind, let reason)? = SyncEngine.failure(in: steps) else { Issue.record("no failure"); return }
        #expect(kind == .conflict)
        #expect(reason == "/etc/ssh/sshd_config.d/50-keysync.conf not written: conflict: /etc/ssh/sshd_config.d/50-keysync.conf changed since it was read; sshd not reloaded")
    }

    @Test func allStepsPassedIsNoFailureAndAMissingReloadIsOne() {
        #expect(SyncEngine.failure(in: [.init(name: "reload", ok: true, text: "SIGHUP")]) == nil)
        if case .failed(.applyFailed, _)? = SyncEngine.failure(in: []) {} else { Issue.record("an empty reply passed") }
    }

    // MARK: - Canary

    static func result(_ host: String, status: HostStatus, waiting: Bool) -> HostResult {
        var result = HostResult(host: host, status: status)
        if waiting { result.drift = [DriftItem(account: "", kind: .sshdDropinChanged, detail: "x is missing; " + SSHDCanary.waiting)] }
        return result
    }

    @Test func theCanariesAreTheFirstHostsWhoseDropInWaits() {
        let results = [Self.result("a", status: .ok, waiting: false), Self.result("b", status: .changed, waiting: true),
                       Self.result("c", status: .failed, waiting: true), Self.result("d", status: .drift, waiting: true),
                       Self.result("e", status: .drift, waiting: true)]
        let due = SSHDCanary.due(results)
        #expect(due == [1, 3, 4])
        #expect(SSHDCanary.waves(due, count: 1) == [[1], [3, 4]])
        #expect(SSHDCanary.waves(due, count: 5) == [[1, 3, 4]])
        #expect(SSHDCanary.waves([], count: 1) == [])
        var stopped = results[3]
        SSHDCanary.stop(&stopped, canaries: ["b"])
        #expect(stopped.drift.map(\.detail) == ["x is missing; not changed: the canary host b failed"])
    }

    @Test func pushTakesACanaryCount() throws {
        #expect(try parseCommand(KeySyncCommand.Push.self, ["push", "--canary", "2"]).canary == 2)
        #expect(try parseCommand(KeySyncCommand.Push.self, ["push"]).canary == 0)
        #expect(parseError(["push", "--canary=-1"]).contains("--canary must be 0 or more"))
    }
}
