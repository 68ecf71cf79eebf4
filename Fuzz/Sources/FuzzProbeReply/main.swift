import FuzzMain
import KeySyncFuzzChecks

/// One input as a host's reply to the probe and to the apply script (`@N` is
/// the controller's nonce).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProbeReply(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Violations.fuzz(data, size, "probe reply", ProbeReplyChecks.check)
}

runFuzzer(fuzzProbeReply)
