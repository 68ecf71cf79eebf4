import CFuzzDriver
import Foundation
import KeySyncFuzzChecks

/// One input as an `authorized_keys` file. A broken promise traps, so libFuzzer
/// keeps the input as a crash (the violations are printed above the stack).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAuthorizedKeys(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    let violations = AuthorizedKeysChecks.check(bytes)
    if !violations.isEmpty { fatalError("authorized_keys invariant broken:\n\(violations)") }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzzAuthorizedKeys($0, $1) })
