import Testing
@testable import KeySync

/// The failure kinds are a public contract (JSON and database `error_kind`):
/// their names never change, and the ones that are also drift kinds list the host.
@Suite struct HostFailureKindTests {
    @Test func rawValuesAreTheContract() {
        #expect(HostFailureKind.allCases.map(\.rawValue) == [
            "host_unreachable", "host_key_mismatch", "auth_failed", "known_hosts_failed", "channel_failed",
            "command_timeout", "sudo_failed", "probe_failed", "plan_failed", "apply_failed", "conflict", "account_stalled",
            "store_failed", "interrupted", "file_too_large", "revocation_blocked", "lockout_refused",
            "restore_failed", "offboard_failed", "jump_failed",
            "sshd_include_missing", "sshd_config_invalid", "sshd_dropin_overridden", "sshd_reload_failed",
        ])
    }

    @Test(arguments: HostFailureKind.allCases)
    func aFailureIsListedAsDriftWhenItsKindIsADriftKind(_ kind: HostFailureKind) {
        let result = HostResult.failed("web-1", kind: kind, error: "web-1: why")
        #expect(result.status == .failed && result.errorKind == kind && result.error == "web-1: why")
        let expected: DriftKind? = [.commandTimeout, .channelFailed, .jumpFailed].contains(kind) ? .hostUnreachable : DriftKind(rawValue: kind.rawValue)
        #expect(result.drift.map(\.kind) == (expected.map { [$0] } ?? []))
        #expect(result.drift.allSatisfy { $0.account == "" && $0.detail == "web-1: why" })
    }
}
