import Foundation
import Testing
@testable import KeySync

/// The key rules `keysync restore` shares with push, without a network: a
/// revoked key is left out of the restored bytes, and the planner's lockout
/// guard (`SyncPlanner.lockoutRefusal`) decides what may not be written.
@Suite struct RestoreRulesTests {
    @Test func revokedKeysAreLeftOutWhereverTheyAreAndTheRestStaysByteForByte() throws {
        let (a, b, c) = (try SyncKeys.ed25519(), try SyncKeys.ecdsa256(), try SyncKeys.rsa2048())
        let snapshot = "# hand-made\r\n" + SyncKeys.line(b) + "\r\n"
            + SyncKeys.block(project: "p", role: "r", [SyncKeys.line(a), SyncKeys.line(b, options: "no-pty")])
            + SyncKeys.line(c)
        let (bytes, keptOut) = SyncEngine.withoutRevoked(Array(snapshot.utf8), revoked: [b.fingerprint, "SHA256:elsewhere"])
        #expect(keptOut.map(\.number) == [2, 5])
        #expect(keptOut.allSatisfy { $0.entry?.key.fingerprint == b.fingerprint })
        #expect(String(decoding: bytes, as: UTF8.self) == "# hand-made\r\n"
            + SyncKeys.block(project: "p", role: "r", [SyncKeys.line(a)]) + SyncKeys.line(c))
        // Nothing revoked in it: the very same bytes.
        let untouched = SyncEngine.withoutRevoked(Array(snapshot.utf8), revoked: ["SHA256:elsewhere"])
        #expect(untouched.bytes == Array(snapshot.utf8) && untouched.keptOut.isEmpty)
    }

    /// A revoked key behind options keysync reads as invalid (another sshd
    /// may take the line: OpenSSH < 9.1's expiry-time) is left out too.
    @Test func aRevokedKeyOnASuspectLineIsLeftOut() throws {
        let (a, b) = (try SyncKeys.ed25519(), try SyncKeys.ecdsa256())
        let snapshot = SyncKeys.line(a) + "\n" + #"expiry-time="2099011x" "# + SyncKeys.line(b) + "\n"
        let (bytes, keptOut) = SyncEngine.withoutRevoked(Array(snapshot.utf8), revoked: [b.fingerprint])
        #expect(keptOut.map(\.number) == [2] && keptOut.first?.grantingFingerprint == b.fingerprint)
        #expect(String(decoding: bytes, as: UTF8.self) == SyncKeys.line(a) + "\n")
    }

    @Test func lockoutGuardProtectsTheLoginKeyOfTheLoginUserOnly() throws {
        let (a, b) = (try SyncKeys.ed25519(), try SyncKeys.ecdsa256())
        let old = AuthorizedKeysFile(text: SyncKeys.line(a) + "\n" + SyncKeys.line(b) + "\n")
        let withoutA = Array((SyncKeys.line(b) + "\n").utf8)
        let options = PlanOptions(loginKeyFingerprint: a.fingerprint, loginUser: "ops")
        let refusal = try #require(SyncPlanner.lockoutRefusal(account: "ops", old: old, new: withoutA, options: options))
        #expect(refusal.fingerprint == a.fingerprint)
        #expect(refusal.detail == "would remove keysync's own login key \(a.fingerprint) from ops")
        #expect(refusal.change.hasPrefix("refused: this would remove \(a.fingerprint), the key keysync logs in with as ops"))
        // Another account may lose that key; --force lets the login user lose it; keeping it is fine.
        #expect(SyncPlanner.lockoutRefusal(account: "deploy", old: old, new: withoutA, options: options) == nil)
        var forced = options
        forced.force = true
        #expect(SyncPlanner.lockoutRefusal(account: "ops", old: old, new: withoutA, options: forced) == nil)
        #expect(SyncPlanner.lockoutRefusal(account: "ops", old: old, new: Array((SyncKeys.line(a) + "\n").utf8), options: options) == nil)
    }

    @Test func lockoutGuardRefusesEmptyingAnAccountUnlessItsKeysWereRevoked() throws {
        let (a, b) = (try SyncKeys.ed25519(), try SyncKeys.ecdsa256())
        let old = AuthorizedKeysFile(text: SyncKeys.line(a) + "\n" + SyncKeys.line(b) + "\n")
        let empty = Array("# nothing left\n".utf8)
        let refusal = try #require(SyncPlanner.lockoutRefusal(account: "deploy", old: old, new: empty, options: PlanOptions()))
        #expect(refusal.fingerprint == nil && refusal.detail == "would remove every key of deploy")
        #expect(refusal.change == "refused: this would leave deploy with no keys (it has 2); use --force if you really mean it")
        // Both keys revoked: emptying the account is the point.
        #expect(SyncPlanner.lockoutRefusal(account: "deploy", old: old, new: empty,
                                           options: PlanOptions(revoked: [a.fingerprint, b.fingerprint])) == nil)
        #expect(SyncPlanner.lockoutRefusal(account: "deploy", old: old, new: empty, options: PlanOptions(force: true)) == nil)
        // An account that had no keys may stay without.
        #expect(SyncPlanner.lockoutRefusal(account: "deploy", old: AuthorizedKeysFile(text: "# x\n"), new: empty, options: PlanOptions()) == nil)
    }
}
