import CFuzzDriver
import Foundation
import KeySyncFuzzChecks

/// One input as a host's reply to the probe and to the apply script (`@N` is
/// the controller's nonce). A broken promise traps, so libFuzzer keeps the
/// input as a crash (the violations are printed above the stack).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProbeReply(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    let violations = ProbeReplyChecks.check(bytes)
    if !violations.isEmpty { fatalError("probe reply invariant broken:\n\(violations)") }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzzProbeReply($0, $1) })
