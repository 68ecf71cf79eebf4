import FuzzMain
import KeySyncFuzzChecks

/// One input as an inventory file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInventory(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Violations.fuzz(data, size, "inventory", InventoryChecks.check)
}

runFuzzer(fuzzInventory)
