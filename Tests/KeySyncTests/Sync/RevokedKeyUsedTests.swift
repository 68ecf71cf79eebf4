import Foundation
import Testing
@testable import KeySync

/// `revoked_key_used`: an accepted login with a revoked key that keysync
/// found nowhere in that account's files (review s15 removal #7).
@Suite struct RevokedKeyUsedTests {
    static let revoked = "SHA256:revokedrevokedrevokedrevokedrevokedrevoked0"
    static let granted = "SHA256:grantedgrantedgrantedgrantedgrantedgranted0"

    func reply(firstScan: Bool = false, _ uses: [LoginUse]) -> LoginScanReply {
        var reply = LoginScanReply()
        reply.firstScan = firstScan
        reply.uses = uses
        return reply
    }

    @Test func aLoginWithARevokedKeyFoundNowhereIsReported() {
        let uses = [LoginUse(account: "stranger", fingerprint: Self.revoked, keyType: "ED25519", count: 2, first: 1_700_000_000,
                             last: 1_700_000_100, address: "127.0.0.9"),
                    LoginUse(account: "deploy", fingerprint: Self.granted, keyType: "ED25519", count: 1)]
        let items = SyncEngine.revokedKeysUsed(reply(uses), revoked: [Self.revoked], found: [])
        #expect(items.map(\.kind) == [.revokedKeyUsed] && items.first?.account == "stranger" && items.first?.fingerprint == Self.revoked)
        #expect(items.first?.detail.contains("2 times from 127.0.0.9 last at") == true, "\(items)")
        #expect(items.first?.repairable == false)
    }

    @Test func aCopyKeysyncFoundInThatAccountExplainsTheLogin() {
        let use = LoginUse(account: "deploy", fingerprint: Self.revoked, keyType: "ED25519", count: 1)
        let inDeploy = DriftItem(account: "deploy", kind: .revokedKey, detail: "", fingerprint: Self.revoked)
        let inOther = DriftItem(account: "other", kind: .revokedKey, detail: "", fingerprint: Self.revoked)
        #expect(SyncEngine.revokedKeysUsed(reply([use]), revoked: [Self.revoked], found: [inDeploy]).isEmpty)
        #expect(SyncEngine.revokedKeysUsed(reply([use]), revoked: [Self.revoked], found: [inOther]).count == 1)
        // Seen there before (a push or offboard removed it since): the login may predate the removal.
        #expect(SyncEngine.revokedKeysUsed(reply([use]), revoked: [Self.revoked], found: [], seen: [["deploy", Self.revoked]]).isEmpty)
        #expect(SyncEngine.revokedKeysUsed(reply([use]), revoked: [Self.revoked], found: [], seen: [["other", Self.revoked]]).count == 1)
    }

    @Test func aSourceReadForTheFirstTimeIsLeftOut() {
        let use = LoginUse(account: "deploy", fingerprint: Self.revoked, keyType: "ED25519", count: 1)
        #expect(SyncEngine.revokedKeysUsed(reply(firstScan: true, [use]), revoked: [Self.revoked], found: []).isEmpty)
    }
}
