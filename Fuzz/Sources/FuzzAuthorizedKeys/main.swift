import FuzzMain
import KeySyncFuzzChecks

/// One input as an `authorized_keys` file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAuthorizedKeys(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Violations.fuzz(data, size, "authorized_keys", AuthorizedKeysChecks.check)
}

runFuzzer(fuzzAuthorizedKeys)
