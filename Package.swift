// swift-tools-version: 6.0
import PackageDescription

// The version `keysync --version` prints, baked in by Scripts/package and
// Scripts/install (from Scripts/version, i.e. `git describe`). A plain
// `swift build` leaves it unset and keysync reports KeySyncVersion.fallback.
let bakedVersion = Context.environment["KEYSYNC_BUILD_VERSION"].flatMap { $0.isEmpty ? nil : $0 }
if let bakedVersion, !bakedVersion.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".+~-".contains($0)) }) {
    fatalError("KEYSYNC_BUILD_VERSION=\(bakedVersion): only letters, digits and . + ~ - (a Debian version)")
}

let package = Package(
    name: "keysync",
    // macOS 15: `Mutex` (Synchronization), the one lock keysync uses.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "keysync", targets: ["KeySyncCLI"]),
        .executable(name: "keysync-bench", targets: ["KeySyncBench"]),
        .library(name: "KeySync", targets: ["KeySync"]),
        // The invariants the fuzz targets in Fuzz/ check (also run by KeySyncTests); not for operators.
        .library(name: "KeySyncFuzzChecks", targets: ["KeySyncFuzzChecks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        // 1.16.2: LogHandler.log(event:), which the tests' capturing handler implements.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // libssh2 (OpenSSL backend). Only files in Sources/KeySync/SSH import it.
        .systemLibrary(
            name: "CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]
        ),
        // libcrypto: SHA-256 for fingerprints, public-key derivation from
        // private keys, and rsa-sha2 signatures (libssh2 1.10 signs RSA only with SHA-1).
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // keysync_baked_version(): the version above as a C string (a Swift
        // `-D` cannot carry a value); only its one C file sees the define.
        .target(
            name: "CKeySyncVersion",
            cSettings: bakedVersion.map { [.define("KEYSYNC_VERSION", to: "\"\($0)\"")] } ?? []
        ),
        .target(
            name: "KeySync",
            dependencies: [
                "CKeySyncVersion",
                "CLibSSH2",
                "COpenSSL",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The shell keysync runs on hosts: compiled in at build time by
            // EmbedScriptsPlugin as EmbeddedScripts (no resource bundle to ship).
            exclude: ["Sync/Scripts"],
            plugins: ["EmbedScriptsPlugin"]
        ),
        // Writes Sync/Scripts/*.sh as Swift string constants for KeySync.
        .executableTarget(name: "KeySyncEmbedScripts"),
        .plugin(
            name: "EmbedScriptsPlugin",
            capability: .buildTool(),
            dependencies: ["KeySyncEmbedScripts"]
        ),
        .executableTarget(
            name: "KeySyncCLI",
            dependencies: [
                "KeySync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Measurements for Scripts/bench (not shipped to operators).
        .executableTarget(
            name: "KeySyncBench",
            dependencies: ["KeySync"]
        ),
        // Per-input checks shared by the libFuzzer targets (Fuzz/) and FuzzRegressionTests.
        .target(
            name: "KeySyncFuzzChecks",
            dependencies: ["KeySync"]
        ),
        .testTarget(
            name: "KeySyncTests",
            dependencies: ["KeySync", "KeySyncCLI", "KeySyncFuzzChecks"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["KeySync", .product(name: "GRDB", package: "GRDB.swift")]
        ),
    ]
)
