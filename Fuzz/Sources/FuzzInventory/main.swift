import CFuzzDriver
import Foundation
import KeySyncFuzzChecks

/// One input as an inventory file. A broken promise traps, so libFuzzer keeps
/// the input as a crash (the violations are printed above the stack).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInventory(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    let violations = InventoryChecks.check(bytes)
    if !violations.isEmpty { fatalError("inventory invariant broken:\n\(violations)") }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzzInventory($0, $1) })
