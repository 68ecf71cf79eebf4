// swift-tools-version: 6.0
// libFuzzer targets for keysync (Linux). A package of its own, so that
// `-sanitize=fuzzer` (which brings libFuzzer's `main`) never meets the
// root package's executables. Build and run with `Scripts/fuzz`, or:
//   swift build -c release -Xswiftc -sanitize=fuzzer,address --product FuzzAuthorizedKeys
import PackageDescription

let package = Package(
    name: "keysync-fuzz",
    dependencies: [
        .package(name: "keysync", path: ".."),
    ],
    targets: [
        // Declares libFuzzer's LLVMFuzzerRunDriver. SwiftPM gives every executable
        // its own `main` (top-level code), so each target's main.swift hands
        // control to libFuzzer's driver instead of relying on libFuzzer's `main`.
        .target(name: "CFuzzDriver"),
        // runFuzzer: what each target's main.swift calls to hand over to the driver.
        .target(name: "FuzzMain", dependencies: ["CFuzzDriver"]),
        // Arbitrary bytes as an authorized_keys file: parse, round trip, lint, block edits.
        .executableTarget(
            name: "FuzzAuthorizedKeys",
            dependencies: ["FuzzMain", .product(name: "KeySyncFuzzChecks", package: "keysync")]
        ),
        // Arbitrary bytes as an inventory: load, diagnostics, selection, rendering.
        .executableTarget(
            name: "FuzzInventory",
            dependencies: ["FuzzMain", .product(name: "KeySyncFuzzChecks", package: "keysync")]
        ),
        // Arbitrary bytes as a host's probe and apply replies: parse, plan, doctor.
        .executableTarget(
            name: "FuzzProbeReply",
            dependencies: ["FuzzMain", .product(name: "KeySyncFuzzChecks", package: "keysync")]
        ),
    ]
)
