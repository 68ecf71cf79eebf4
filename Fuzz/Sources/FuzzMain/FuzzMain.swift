import CFuzzDriver
import Foundation

/// Hands the process to libFuzzer's driver, which calls `testOneInput` once
/// per input. SwiftPM gives every executable its own `main` (top-level code),
/// so a fuzz target's main.swift ends here instead of in libFuzzer's `main`.
public func runFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}
